UNIT_TESTS += spec
UNIT_SRCS_spec := arch/x86/spec.c kernel/log.c lib/printf.c
