UNIT_TESTS += virtio_config
UNIT_SRCS_virtio_config := core/config.c core/config_check.c core/cmdline.c lib/parse.c lib/printf.c
