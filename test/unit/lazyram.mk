UNIT_TESTS += lazyram
UNIT_SRCS_lazyram := mm/guest_mem.c mm/npt.c test/unit/shadow_fake.c
