UNIT_TESTS += virtio_blk
UNIT_SRCS_virtio_blk := devices/virtio_blk.c devices/virtio_pci.c devices/vpci.c devices/iobus.c \
	virtio/virtq.c mm/guest_mem.c lib/printf.c
