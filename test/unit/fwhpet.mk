UNIT_TESTS += fwhpet
UNIT_SRCS_fwhpet := guest-loader/fwtables.c guest-loader/aml.c mm/guest_mem.c lib/printf.c
