UNIT_TESTS += vnet
UNIT_SRCS_vnet := devices/virtio_net.c devices/vswitch.c devices/virtio_pci.c devices/vpci.c \
	devices/iobus.c virtio/virtq.c mm/guest_mem.c lib/printf.c
