UNIT_TESTS += gpt
UNIT_SRCS_gpt := core/gpt.c mm/guest_mem.c
