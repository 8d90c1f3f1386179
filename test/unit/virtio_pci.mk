UNIT_TESTS += virtio_pci
UNIT_SRCS_virtio_pci := devices/virtio_pci.c devices/vpci.c devices/iobus.c virtio/virtq.c \
	mm/guest_mem.c lib/printf.c
