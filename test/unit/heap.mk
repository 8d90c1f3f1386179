UNIT_TESTS += heap
UNIT_SRCS_heap := mm/heap.c
