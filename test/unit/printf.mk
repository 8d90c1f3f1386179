UNIT_TESTS += printf
UNIT_SRCS_printf := lib/printf.c lib/parse.c
