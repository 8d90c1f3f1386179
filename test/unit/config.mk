UNIT_TESTS += config
UNIT_SRCS_config := core/config.c core/config_check.c core/cmdline.c lib/parse.c lib/printf.c
