UNIT_TESTS += cpuid
UNIT_SRCS_cpuid := core/cpuid.c core/ctlreg.c
