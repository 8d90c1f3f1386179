UNIT_TESTS += devices
UNIT_SRCS_devices := devices/iobus.c devices/vuart.c devices/fwcfg.c devices/testmmio.c
