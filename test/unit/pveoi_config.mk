# The paravirt key of a VM's config (core/config.c): on by default, off,
# and a file:line error for anything else.
UNIT_TESTS += pveoi_config
UNIT_SRCS_pveoi_config := core/config.c core/config_check.c core/cmdline.c lib/parse.c lib/printf.c
