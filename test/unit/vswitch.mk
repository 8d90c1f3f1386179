UNIT_TESTS += vswitch
UNIT_SRCS_vswitch := devices/vswitch.c lib/printf.c
