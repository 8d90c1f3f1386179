UNIT_TESTS += vpic
UNIT_SRCS_vpic := devices/vpic.c
