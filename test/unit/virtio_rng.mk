UNIT_TESTS += virtio_rng
UNIT_SRCS_virtio_rng := devices/virtio_rng.c devices/virtio_console.c devices/virtio_pci.c \
	devices/vpci.c devices/iobus.c virtio/virtq.c mm/guest_mem.c lib/printf.c
