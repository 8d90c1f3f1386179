/* virtio-net on the switch; see virtio_net.h. */
#include "devices/virtio_net.h"
#include "devices/devsnap.h"
#include "lib/string.h"
#include "lib/printf.h"

/* PCI class: network controller, Ethernet (PCI Code and ID Assignment 1.11). */
#define PCI_CLASS_ETHERNET 0x020000

static uint64_t net_features(void *dev)
{
	(void)dev;
	return VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	       VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
	       VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
}

/* struct virtio_net_config (§5.1.4): mac[6], status, max_virtqueue_pairs, mtu. */
static void net_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
	struct virtio_net *net = dev;
	uint8_t cfg[VIRTIO_NET_CFG_SIZE];

	memcpy(cfg, net->mac, ETH_ALEN);
	cfg[6] = VIRTIO_NET_S_LINK_UP;
	cfg[7] = 0;
	cfg[8] = 1;             /* one queue pair */
	cfg[9] = 0;
	cfg[10] = VSWITCH_MTU & 0xff;
	cfg[11] = VSWITCH_MTU >> 8;
	*val = 0;
	if (off < sizeof(cfg) && size <= sizeof(*val) && off + size <= sizeof(cfg))
		memcpy(val, cfg + off, size);
}

/* ---- transmit ----------------------------------------------------------- */

/* One transmit chain: its header, its frame, to the switch.  Vp lock held. */
static int64_t net_tx(void *dev, unsigned q, struct virtq_chain *c)
{
	struct virtio_net *net = dev;
	const struct guest_mem *m = net->vp.mem;
	struct virtio_net_hdr h;
	struct vswitch_meta meta = { 0 };
	struct vswitch_frame *f = &net->txbuf;
	uint32_t len;

	(void)q;
	if (c->out_len < sizeof(h) || virtq_chain_read(m, c, 0, &h, sizeof(h)) != sizeof(h)) {
		net->st.tx_bad++;
		vswitch_count_tx_drop(&net->port);
		return 0;
	}
	len = c->out_len - (uint32_t)sizeof(h);
	if (len > VSWITCH_FRAME_MAX) {
		net->st.tx_oversize++;
		vswitch_count_tx_drop(&net->port);
		return 0;
	}
	if (len < ETH_HLEN || h.gso_type != VIRTIO_NET_HDR_GSO_NONE ||
	    ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	     (uint32_t)h.csum_start + h.csum_offset + 2 > len)) {
		net->st.tx_bad++;
		vswitch_count_tx_drop(&net->port);
		return 0;
	}
	if (virtq_chain_read(m, c, sizeof(h), f->data, len) != len) {
		net->st.tx_bad++;
		vswitch_count_tx_drop(&net->port);
		return 0;
	}
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		meta = (struct vswitch_meta){ true, h.csum_start, h.csum_offset };
	vswitch_send(&net->port, f->data, len, &meta, net->now_ns(net->ctx));
	return 0;
}

/* ---- receive ------------------------------------------------------------ */

bool virtio_net_fill_csum(uint8_t *data, size_t len, uint16_t start, uint16_t off)
{
	size_t at = (size_t)start + off;
	uint32_t sum = 0;

	if (at + 2 > len)
		return false;
	/* RFC 1071 §4.1: 16-bit big-endian words, an odd byte padded with zero,
	 * carries folded back; the field holds the pseudo-header sum already. */
	for (size_t i = start; i < len; i += 2)
		sum += (uint32_t)data[i] << 8 | (i + 1 < len ? data[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t cs = (uint16_t)~sum;
	data[at] = (uint8_t)(cs >> 8);
	data[at + 1] = (uint8_t)cs;
	return true;
}

/* Room in the held receive chains. */
static uint64_t held_room(const struct virtio_net *net)
{
	uint64_t room = 0;

	for (unsigned i = 0; i < net->nr_held; i++)
		room += net->held[i].in_len;
	return room;
}

/*
 * Deliver net->frame if the driver has given room for it (vp lock held).
 * Returns true if the frame is gone (delivered or dropped), false if it
 * waits for more receive buffers.
 */
static bool rx_one(struct virtio_net *net)
{
	struct virtio_pci *vp = &net->vp;
	struct vswitch_frame *f = &net->frame;
	bool mrg = virtio_pci_has(vp, VIRTIO_NET_F_MRG_RXBUF);
	uint64_t need = VIRTIO_NET_HDR_LEN + (uint64_t)f->len;
	unsigned used = 0;

	/* Without MRG_RXBUF a frame takes one chain (§5.1.6.3.1). */
	while (net->nr_held < (mrg ? VIRTIO_NET_MAX_BUFS : 1) && held_room(net) < need) {
		int r = virtio_pci_pop(vp, VIRTIO_NET_RXQ, &net->held[net->nr_held]);
		if (r == 0) {
			/* Out of buffers: ask the driver to kick when it adds one
			 * (avail_event with EVENT_IDX, §2.7.10), then look again
			 * for one added before it saw that. */
			virtq_set_notify(&vp->q[VIRTIO_NET_RXQ].vq, vp->mem, true);
			r = virtio_pci_pop(vp, VIRTIO_NET_RXQ, &net->held[net->nr_held]);
		}
		if (r <= 0)
			return r < 0;   /* no room yet, or the ring broke (device reset needed) */
		net->nr_held++;
	}
	if (held_room(net) < need) {
		/* More chains than we hold for one frame: the driver's buffers are
		 * too small for it; drop it, keep the chains for smaller frames. */
		net->st.rx_too_big++;
		return true;
	}

	struct virtio_net_hdr h = { 0 };
	if (f->meta.needs_csum) {
		if (virtio_pci_has(vp, VIRTIO_NET_F_GUEST_CSUM)) {
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.csum_start = f->meta.csum_start;
			h.csum_offset = f->meta.csum_offset;
		} else {
			virtio_net_fill_csum(f->data, f->len, f->meta.csum_start, f->meta.csum_offset);
			net->st.csum_computed++;
		}
	}
	/* The chains the frame fills, in order; the header first (§5.1.6.4). */
	uint64_t left = need, done = 0;
	while (left) {
		uint64_t n = MIN(left, (uint64_t)net->held[used].in_len);
		used++;
		left -= n;
	}
	h.num_buffers = (uint16_t)used;
	for (unsigned i = 0; i < used; i++) {
		const struct virtq_chain *c = &net->held[i];
		uint64_t n = MIN(need - done, (uint64_t)c->in_len), o = 0;

		if (done < VIRTIO_NET_HDR_LEN) {
			uint64_t hn = MIN(n, VIRTIO_NET_HDR_LEN - done);
			virtq_chain_write(vp->mem, c, 0, (const uint8_t *)&h + done, hn);
			o = hn;
		}
		if (n > o)
			virtq_chain_write(vp->mem, c, o, f->data + (done + o - VIRTIO_NET_HDR_LEN), n - o);
		virtio_pci_push(vp, VIRTIO_NET_RXQ, c->head, (uint32_t)n);
		done += n;
	}
	net->nr_held -= used;
	memmove(&net->held[0], &net->held[used], net->nr_held * sizeof(net->held[0]));
	return true;
}

/* Frames from the switch into the receive queue, while there is room. */
static void net_rx(struct virtio_net *net)
{
	struct virtio_pci *vp = &net->vp;
	bool any = false;

	__atomic_store_n(&net->rx_waiting, false, __ATOMIC_RELAXED);
	if (!virtio_pci_queue_live(vp, VIRTIO_NET_RXQ))
		return;
	/* Bounded by the port's queue: each round takes one frame off it. */
	for (unsigned i = 0; i <= VSWITCH_QUEUE_LEN; i++) {
		if (!net->have_frame && !vswitch_port_recv(&net->port, &net->frame))
			break;
		net->have_frame = true;
		if (!rx_one(net))
			break;
		net->have_frame = false;
		any = true;
	}
	if (any)
		virtio_pci_interrupt(vp, VIRTIO_NET_RXQ);
}

/* ---- transport hooks ---------------------------------------------------- */

static void net_notify(void *dev, unsigned q)
{
	struct virtio_net *net = dev;

	if (q == VIRTIO_NET_TXQ)
		virtio_pci_serve(&net->vp, q, net_tx);
	else if (q == VIRTIO_NET_RXQ)
		net_rx(net);
}

static void net_reset(void *dev)
{
	struct virtio_net *net = dev;

	/* The held chains belong to the old rings. */
	net->nr_held = 0;
}

static void net_driver_ok(void *dev)
{
	net_rx(dev);
}

static const struct virtio_dev_ops net_ops = {
	.features = net_features,
	.cfg_read = net_cfg_read,
	.notify = net_notify,
	.reset = net_reset,
	.driver_ok = net_driver_ok,
};

/* The switch queued frames for us (switch lock held, any CPU). */
static void port_notify(void *ctx)
{
	struct virtio_net *net = ctx;

	if (!__atomic_exchange_n(&net->rx_waiting, true, __ATOMIC_ACQ_REL))
		net->kick(net->ctx);
}

static const struct vswitch_port_ops port_ops = { port_notify };

int virtio_net_init(struct virtio_net *net, uint8_t devfn, const uint8_t mac[ETH_ALEN],
		    const char *sw_name, const char *owner, const struct guest_mem *mem,
		    virtio_say_fn say, uint64_t (*now_ns)(void *), void (*kick)(void *),
		    void *ctx, char *err, size_t errlen)
{
	memcpy(net->mac, mac, ETH_ALEN);
	net->now_ns = now_ns;
	net->kick = kick;
	net->ctx = ctx;
	if (!virtio_pci_init(&net->vp, devfn, VIRTIO_ID_NET, PCI_CLASS_ETHERNET, 2,
			     VIRTIO_NET_QUEUE_SIZE, VIRTIO_NET_CFG_SIZE, &net_ops, net, mem,
			     "virtio-net", say, ctx)) {
		ksnprintf(err, errlen, "cannot set up its virtio-net function");
		return -1;
	}
	return vswitch_attach(&net->port, sw_name, mac, owner, &port_ops, net, err, errlen);
}

void virtio_net_poll(struct virtio_net *net)
{
	if (!__atomic_load_n(&net->rx_waiting, __ATOMIC_ACQUIRE))
		return;
	virtio_pci_lock(&net->vp);
	net_rx(net);
	virtio_pci_unlock(&net->vp);
}

void virtio_net_fini(struct virtio_net *net)
{
	vswitch_detach(&net->port);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t virtio_net_save(const struct virtio_net *net, void *buf, size_t len)
{
	static struct virtio_net_rec r;         /* large; the VM is paused, one at a time */

	memset(&r, 0, sizeof(r));
	virtio_pci_save(&net->vp, &r.t);
	memcpy(r.mac, net->mac, ETH_ALEN);
	r.have_frame = net->have_frame;
	if (net->have_frame) {
		r.frame.len = net->frame.len;
		r.frame.meta = net->frame.meta;
		memcpy(r.frame.data, net->frame.data, net->frame.len);
	}
	r.st = net->st;
	r.nr_held = net->nr_held;
	memcpy(r.held, net->held, net->nr_held * sizeof(r.held[0]));
	return devsnap_put(buf, len, &r, sizeof(r));
}

bool virtio_net_rec_matches(const struct virtio_net *net, const void *buf, size_t len)
{
	const struct virtio_net_rec *r = buf;

	return len == sizeof(*r) && virtio_pci_rec_matches(&net->vp, &r->t) &&
	       !memcmp(r->mac, net->mac, ETH_ALEN);
}

/* A held receive chain as virtq_pop() could have made it (queue set up as in t). */
static bool held_ok(const struct virtio_net *net, const struct virtio_net_rec *r,
		    const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;

	if (!r->t.q[VIRTIO_NET_RXQ].enabled || c->head >= r->t.q[VIRTIO_NET_RXQ].size ||
	    c->nr < 1 || c->nr > VIRTQ_MAX_SEGS)
		return false;
	for (int k = 0; k < c->nr; k++) {
		const struct virtq_buf *s = &c->seg[k];
		uint8_t w;
		memcpy(&w, &s->write, 1);       /* a bool, from a record: 0 or 1 only */
		if (w > 1 || !gmem_is_ram(net->vp.mem, s->addr, s->len))
			return false;
		*(s->write ? &in : &out) += s->len;
	}
	return in == c->in_len && out == c->out_len;
}

bool virtio_net_load(struct virtio_net *net, const void *buf, size_t len)
{
	static struct virtio_net_rec r;

	if (!virtio_net_rec_matches(net, buf, len))
		return false;
	memcpy(&r, buf, sizeof(r));
	if (!virtio_pci_rec_ok(&net->vp, &r.t) || r.have_frame > 1 ||
	    r.nr_held > VIRTIO_NET_MAX_BUFS || r.frame.len > VSWITCH_FRAME_MAX ||
	    (r.frame.meta.needs_csum &&
	     (uint32_t)r.frame.meta.csum_start + r.frame.meta.csum_offset + 2 > r.frame.len))
		return false;
	for (unsigned i = 0; i < r.nr_held; i++)
		if (!held_ok(net, &r, &r.held[i]))
			return false;
	virtio_pci_load(&net->vp, &r.t);
	net->have_frame = r.have_frame;
	net->frame = r.frame;
	net->st = r.st;
	net->nr_held = r.nr_held;
	memcpy(net->held, r.held, r.nr_held * sizeof(r.held[0]));
	/* Frames the switch holds for the port now go to the restored guest:
	 * vCPU 0 looks at its next timer service (virtio_net_poll). */
	__atomic_store_n(&net->rx_waiting, true, __ATOMIC_RELEASE);
	return true;
}
