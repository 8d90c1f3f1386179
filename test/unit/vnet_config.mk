UNIT_TESTS += vnet_config
UNIT_SRCS_vnet_config := core/config.c core/config_check.c core/cmdline.c lib/parse.c lib/printf.c
