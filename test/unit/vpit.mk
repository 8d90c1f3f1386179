UNIT_TESTS += vpit
UNIT_SRCS_vpit := devices/vpit.c
