UNIT_TESTS += vpci
UNIT_SRCS_vpci := devices/vpci.c devices/pci_testdev.c devices/iobus.c
