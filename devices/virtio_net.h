/*
 * virtio-net (virtio 1.2 §5.1) on the virtio-pci transport, with its
 * frames going through an inter-VM switch (devices/vswitch.h).
 *
 * One receive and one transmit queue (§5.1.2: receiveq1 = 0,
 * transmitq1 = 1), no control queue.  Offered: MAC, STATUS (the link is
 * always up), MTU (1500), MRG_RXBUF, CSUM and GUEST_CSUM; no segmentation
 * offloads, so no frame is ever longer than VSWITCH_FRAME_MAX.
 *
 * Transmit: each chain is a struct virtio_net_hdr and one frame, read
 * from the VM's RAM through the transport's checked chain (virtq.h).  A
 * frame over the MTU (plus its header and one VLAN tag), shorter than an
 * Ethernet header, asking for segmentation, or with a checksum place
 * outside it is dropped and counted.  A frame with NEEDS_CSUM keeps the
 * flag and its place on its way through the switch.
 *
 * Receive: frames wait in the port's queue until the VM's own CPU calls
 * virtio_net_poll() (the switch's notify only tells the board, on any
 * CPU, through the kick callback).  A frame goes into one chain, or with
 * MRG_RXBUF into as many as it needs (num_buffers).  A frame that still
 * needs its checksum keeps NEEDS_CSUM if the driver took GUEST_CSUM;
 * otherwise the checksum is computed here, as the sender's NIC would have
 * (RFC 1071, from csum_start to the end, stored at csum_start +
 * csum_offset).
 *
 * Locking: the transport's lock guards the device; it is taken before the
 * switch's (vswitch.h).  Guest memory is touched only through the
 * transport's checked accesses to the VM's RAM.
 */
#ifndef KASANE_DEVICES_VIRTIO_NET_H
#define KASANE_DEVICES_VIRTIO_NET_H

#include "lib/types.h"
#include "devices/virtio_pci.h"
#include "devices/vswitch.h"

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM        0
#define VIRTIO_NET_F_GUEST_CSUM  1
#define VIRTIO_NET_F_MTU         3
#define VIRTIO_NET_F_MAC         5
#define VIRTIO_NET_F_MRG_RXBUF   15
#define VIRTIO_NET_F_STATUS      16

#define VIRTIO_NET_S_LINK_UP     1       /* config status (§5.1.4) */

/* struct virtio_net_hdr (§5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_LEN          12

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

#define VIRTIO_NET_RXQ           0
#define VIRTIO_NET_TXQ           1
#define VIRTIO_NET_QUEUE_SIZE    256
#define VIRTIO_NET_CFG_SIZE      12      /* mac, status, max_virtqueue_pairs, mtu */
#define VIRTIO_NET_MAX_BUFS      16      /* receive chains one frame may take */

/* What the device counts besides the switch. */
struct virtio_net_stats {
	uint64_t tx_oversize;           /* over the MTU */
	uint64_t tx_bad;                /* runt, segmentation asked, bad checksum place */
	uint64_t rx_too_big;            /* no room for a frame in VIRTIO_NET_MAX_BUFS chains */
	uint64_t csum_computed;         /* checksums filled in for a driver without GUEST_CSUM */
};

struct virtio_net {
	struct virtio_pci vp;
	uint8_t mac[ETH_ALEN];
	/* The board's: host time for the switch's ageing; ask the VM's CPU to
	 * call virtio_net_poll() soon (any CPU, switch lock held). */
	uint64_t (*now_ns)(void *ctx);
	void (*kick)(void *ctx);
	void *ctx;
	volatile bool rx_waiting;       /* the switch queued frames since the last poll */
	/* Under vp.lock. */
	bool have_frame;                /* frame holds one taken off the port, not delivered */
	struct vswitch_frame frame;
	unsigned nr_held;               /* receive chains popped, not yet used */
	struct virtq_chain held[VIRTIO_NET_MAX_BUFS];
	struct vswitch_frame txbuf;
	struct virtio_net_stats st;
	struct vswitch_port port;       /* last: large */
};

/*
 * Set up net as PCI function devfn with address mac, on switch sw_name
 * (the port is attached; owner names it in reports).  Fails with a reason
 * in err (switch full, MAC taken, transport refused).  Returns 0 or -1.
 */
int virtio_net_init(struct virtio_net *net, uint8_t devfn, const uint8_t mac[ETH_ALEN],
		    const char *sw_name, const char *owner, const struct guest_mem *mem,
		    virtio_say_fn say, uint64_t (*now_ns)(void *), void (*kick)(void *),
		    void *ctx, char *err, size_t errlen);

/* Take frames from the switch into the receive queue (the VM's CPU). */
void virtio_net_poll(struct virtio_net *net);

/* Detach from the switch; after it no kick comes. */
void virtio_net_fini(struct virtio_net *net);

/* RFC 1071 Internet checksum of the frame's bytes from start to its end,
 * stored at start + off (NEEDS_CSUM, §5.1.6.2).  False if it does not fit. */
bool virtio_net_fill_csum(uint8_t *data, size_t len, uint16_t start, uint16_t off);

/*
 * Snapshot records (devices/devsnap.h): the transport's, the NIC's MAC
 * (its identity), the frame taken off the port and not yet delivered, the
 * receive chains popped and not yet used (the driver's ring counts them
 * as the device's, so they are part of the state), and the counters.
 *
 * The switch is not part of a VM: a restore neither saves nor rewinds it.
 * Frames queued on the port at the snapshot were for the VM as it went on
 * (a restore loses them, as a network may lose frames); frames queued at
 * the restore are delivered to the restored guest, and the port's
 * counters and the switch's learning table go on as they are.
 */
#define VIRTIO_NET_SNAP_VERSION 1

struct virtio_net_rec {
	struct virtio_pci_rec t;
	uint8_t mac[ETH_ALEN];
	uint8_t have_frame, pad;
	uint32_t nr_held;
	struct vswitch_frame frame;
	struct virtio_net_stats st;
	struct virtq_chain held[VIRTIO_NET_MAX_BUFS];
};
#define VIRTIO_NET_SNAP_SIZE sizeof(struct virtio_net_rec)

size_t virtio_net_save(const struct virtio_net *net, void *buf, size_t len);
bool virtio_net_load(struct virtio_net *net, const void *buf, size_t len);
bool virtio_net_rec_matches(const struct virtio_net *net, const void *buf, size_t len);

#endif
