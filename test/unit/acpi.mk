UNIT_TESTS += acpi
UNIT_SRCS_acpi := drivers/acpi.c lib/printf.c
