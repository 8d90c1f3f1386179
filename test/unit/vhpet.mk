UNIT_TESTS += vhpet
UNIT_SRCS_vhpet := devices/vhpet.c
