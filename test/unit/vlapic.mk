UNIT_TESTS += vlapic
UNIT_SRCS_vlapic := devices/vlapic.c
