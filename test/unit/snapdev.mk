# Snapshot records of every device model: save, load, save again.
UNIT_TESTS += snapdev
UNIT_SRCS_snapdev := devices/vuart.c devices/fwcfg.c devices/testmmio.c devices/vioapic.c devices/vpic.c devices/vpit.c devices/vrtc.c devices/vacpi.c devices/vlapic.c devices/vpci.c devices/pci_testdev.c devices/iobus.c
