UNIT_TESTS += shadow
UNIT_SRCS_shadow := core/shadow_walk.c core/gpt.c mm/spt.c mm/guest_mem.c
