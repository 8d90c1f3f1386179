# kvmclock (core/pvclock.c): the TSC-to-ns scale, the MSRs' checks, the
# records written into the guest, on the fake machine of core_fake.h.
UNIT_TESTS += pvclock
UNIT_SRCS_pvclock = $(UNIT_SRCS_exit) core/vm_hold.c
