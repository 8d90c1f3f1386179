# core/sched.c's pause and resume of a VM (the console's), on the fake
# machine of test/unit/core_fake.c.
UNIT_TESTS += pause
UNIT_SRCS_pause := $(UNIT_SRCS_exit)
