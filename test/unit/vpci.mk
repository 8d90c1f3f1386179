UNIT_TESTS += vpci
UNIT_SRCS_vpci := devices/vpci.c devices/iobus.c
