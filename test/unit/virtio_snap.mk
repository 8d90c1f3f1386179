# The virtio devices' snapshot records, and the virtio console's input.
UNIT_TESTS += virtio_snap
UNIT_SRCS_virtio_snap := devices/virtio_console.c devices/virtio_blk.c devices/virtio_rng.c \
	devices/virtio_net.c devices/vswitch.c devices/virtio_pci.c devices/vpci.c devices/iobus.c \
	virtio/virtq.c mm/guest_mem.c lib/printf.c
