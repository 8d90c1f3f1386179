UNIT_TESTS += cmdline
UNIT_SRCS_cmdline := core/cmdline.c lib/parse.c lib/printf.c
