UNIT_TESTS += frame
UNIT_SRCS_frame := mm/frame.c
