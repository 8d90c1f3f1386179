UNIT_TESTS += config
UNIT_SRCS_config := core/config.c core/cmdline.c lib/parse.c lib/printf.c
