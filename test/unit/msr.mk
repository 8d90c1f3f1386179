UNIT_TESTS += msr
UNIT_SRCS_msr := core/msr.c core/cpuid.c devices/vlapic.c mm/guest_mem.c
