UNIT_TESTS += event
UNIT_SRCS_event := core/event.c
