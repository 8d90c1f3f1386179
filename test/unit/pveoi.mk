# Paravirtual EOI: the MSR's checks (core/msr.c), when the flag is set
# before an entry and what its state after the exit does (core/vcpu.c,
# devices/vlapic.c), on the fake back end of test/unit/core_fake.c.
UNIT_TESTS += pveoi
UNIT_SRCS_pveoi = $(UNIT_SRCS_exit)
