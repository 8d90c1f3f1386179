UNIT_TESTS += fwtables
UNIT_SRCS_fwtables := guest-loader/fwtables.c guest-loader/aml.c drivers/acpi.c mm/guest_mem.c lib/printf.c
