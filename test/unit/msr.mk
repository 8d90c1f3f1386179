UNIT_TESTS += msr
UNIT_SRCS_msr := core/msr.c core/cpuid.c
