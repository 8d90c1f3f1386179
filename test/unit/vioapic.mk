UNIT_TESTS += vioapic
UNIT_SRCS_vioapic := devices/vioapic.c
