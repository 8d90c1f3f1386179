UNIT_TESTS += virtq
UNIT_SRCS_virtq := virtio/virtq.c mm/guest_mem.c lib/printf.c
