/*
 * Inter-VM Ethernet switches: named L2 learning switches inside kasane
 * (IEEE 802.1D §7: learning, ageing, forwarding by the filtering database,
 * flooding of unknown, broadcast and multicast destinations).  A switch
 * exists while any port is attached to it; it is created by the first
 * attach of its name and freed by the last detach.
 *
 * A port is owned by its user (a virtio-net device) and is opaque to the
 * switch except for its callback: the switch never knows a VM.  A frame
 * sent on one port is copied into the bounded receive queue of each port
 * it goes to, on the same switch only; a full queue drops the frame and
 * counts it on that port alone, so one port flooding the switch cannot
 * keep another port's frames out of a third port's queue for longer than
 * that third port takes to drain.  The receiving port's owner is told by
 * ops->notify and takes the frames with vswitch_port_recv().
 *
 * Locking: a registry lock (attach, detach, the report) and one lock per
 * switch (its table, its ports' queues and counters).  ops->notify is
 * called with the switch lock held: it must not call into the switch.
 * The owner of a port may hold its own lock around vswitch_send() and
 * vswitch_port_recv() (lock order: the owner's, then the switch's).  No
 * guest memory is touched here.  Never called from an interrupt handler.
 * Pure logic: also built into the host unit tests.
 */
#ifndef KASANE_DEVICES_VSWITCH_H
#define KASANE_DEVICES_VSWITCH_H

#include "lib/types.h"
#include "kernel/spinlock.h"

#define VSWITCH_MAX          16          /* switches at a time */
#define VSWITCH_NAME_MAX     32          /* with the NUL */
#define VSWITCH_MAX_PORTS    32          /* ports per switch */
#define VSWITCH_TABLE_SIZE   256         /* learned addresses per switch */
#define VSWITCH_AGE_NS       (300ULL * 1000000000ULL) /* 802.1D §7.9.2 default ageing time */
#define VSWITCH_QUEUE_LEN    256         /* frames waiting per port */
#define ETH_ALEN             6
#define ETH_HLEN             14          /* destination, source, EtherType */
#define ETH_VLAN_HLEN        4           /* an 802.1Q tag */
#define VSWITCH_MTU          1500
/* Largest frame a port may send: MTU plus the header and one VLAN tag. */
#define VSWITCH_FRAME_MAX    (VSWITCH_MTU + ETH_HLEN + ETH_VLAN_HLEN)

/* What travels with a frame: a checksum the sender left for the receiver
 * (virtio 1.2 §5.1.6.2, VIRTIO_NET_HDR_F_NEEDS_CSUM) and where it goes. */
struct vswitch_meta {
	bool needs_csum;
	uint16_t csum_start;            /* checksum bytes from here to the end */
	uint16_t csum_offset;           /* stored at csum_start + csum_offset */
};

struct vswitch_frame {
	uint16_t len;
	struct vswitch_meta meta;
	uint8_t data[VSWITCH_FRAME_MAX];
};

struct vswitch_port_ops {
	/* Frames wait in the port's queue (switch lock held; any CPU). */
	void (*notify)(void *ctx);
};

/* Per-port counters.  tx: frames the port's owner sent and the switch took;
 * tx_drops: frames the owner dropped before switching (vswitch_count_tx_drop:
 * over the MTU, too short); rx: frames queued for the port; rx_drops:
 * frames for it that found its queue full. */
struct vswitch_stats {
	uint64_t tx_frames, tx_bytes, tx_drops;
	uint64_t rx_frames, rx_bytes, rx_drops;
};

struct vswitch;

struct vswitch_port {
	/* Set by vswitch_attach(); read-only to the owner. */
	struct vswitch *sw;
	const struct vswitch_port_ops *ops;
	void *ctx;
	char owner[40];                 /* who it belongs to, for reports: "web net0" */
	uint8_t mac[ETH_ALEN];          /* the address configured for its NIC */
	/* Under the switch lock. */
	struct vswitch_stats st;
	unsigned q_head, q_count;
	struct vswitch_frame q[VSWITCH_QUEUE_LEN];
};

/*
 * Attach p to switch `name` (created if it has no port yet).  Fails with
 * a reason in err if the name is empty or too long, the switch has
 * VSWITCH_MAX_PORTS ports, VSWITCH_MAX switches exist, or another port of
 * that switch has the same MAC.  p is zeroed first.  Returns 0 or -1.
 */
int vswitch_attach(struct vswitch_port *p, const char *name, const uint8_t mac[ETH_ALEN],
		   const char *owner, const struct vswitch_port_ops *ops, void *ctx,
		   char *err, size_t errlen);
/* Detach p (attached) and drop its queue; the last port frees the switch.
 * When it returns, ops->notify is not running for p and is never called again. */
void vswitch_detach(struct vswitch_port *p);

/*
 * Send one frame from port p at host time now_ns: learn its source,
 * forward to the learned port of its destination (not back to p), or
 * flood it to every other port when the destination is a group address
 * (broadcast, multicast), unknown, or aged out.  Frames shorter than an
 * Ethernet header or longer than VSWITCH_FRAME_MAX are the caller's to
 * drop.  Returns the number of ports the frame was queued for.
 */
unsigned vswitch_send(struct vswitch_port *p, const uint8_t *frame, size_t len,
		      const struct vswitch_meta *meta, uint64_t now_ns);

/* Count a frame p's owner dropped before switching. */
void vswitch_count_tx_drop(struct vswitch_port *p);

/* Take the oldest frame queued for p into *out.  False if there is none. */
bool vswitch_port_recv(struct vswitch_port *p, struct vswitch_frame *out);

/* A copy of p's counters. */
struct vswitch_stats vswitch_port_stats(struct vswitch_port *p);

/*
 * Every switch and its ports, one line each, as text through out():
 *   switch lan: 2 ports, 3 addresses learned
 *     web net0 52:54:00:12:34:56  tx 10 frames 980 bytes 0 drops  rx 9 frames 900 bytes 0 drops
 */
void vswitch_report(void (*out)(void *ctx, const char *line), void *ctx);

/* The number of switches that exist now. */
unsigned vswitch_count(void);

/* "52:54:00:12:34:56" into buf (at least 18 bytes). */
void vswitch_format_mac(char *buf, const uint8_t mac[ETH_ALEN]);

#endif
