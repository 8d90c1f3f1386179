UNIT_TESTS += aml
UNIT_SRCS_aml := guest-loader/aml.c lib/printf.c
