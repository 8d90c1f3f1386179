UNIT_TESTS += svm_vmcb
UNIT_SRCS_svm_vmcb := arch/x86/svm/vmcb_setup.c core/msr.c core/cpuid.c devices/vlapic.c mm/guest_mem.c
