/*
 * Host tests for virtio-net (devices/virtio_net.c) on a switch: the test
 * plays the drivers of NICs in separate "VMs" (each its own PCI bus and
 * RAM), on the modern virtio-pci transport.  It checks the config space,
 * frames from one VM's transmit ring into another's receive ring through
 * the switch, NEEDS_CSUM kept for a GUEST_CSUM driver and the checksum
 * computed otherwise, mergeable receive buffers, frames over the MTU
 * dropped and counted, and that nothing outside a VM's RAM is touched.
 */
#include "test/unit/check.h"
#include "devices/virtio_net.h"

#define ECAM_BASE 0xe0000000ULL
#define ECAM(dev, reg) ((uint32_t)(((dev) << 15) | (reg)))
#define SLOT      16
#define BAR_BASE  0xc0000000ULL
#define MSIX_BASE 0xc0010000ULL
#define RAM_BASE  0x100000ULL
#define RAM_SIZE  (256 * 1024)
#define QN        64                    /* queue size the drivers use */
/* Guest layout: per queue q, rings at RING(q); buffers from BUF. */
#define RING(q)   (RAM_BASE + 0x1000 * (q) * 2)
#define DESC(q)   RING(q)
#define AVAIL(q)  (RING(q) + 0x400)
#define USED(q)   (RING(q) + 0x800)
#define BUF       (RAM_BASE + 0x10000)

struct vm {
	struct iobus iob;
	struct iobus_region pio[8], mmio[8];
	struct vpci_bus bus;
	struct virtio_net net;
	uint8_t *ram;
	struct guest_mem gm;
	unsigned kicks, msgs, says;
	uint16_t avail[2], seen_used[2];
	uint64_t now;
};

static void f_msi(void *ctx, const struct apic_msg *m) { ((struct vm *)ctx)->msgs++; }
static unsigned f_route(void *ctx, unsigned slot, unsigned pin) { return 16; }
static void f_intx(void *ctx, unsigned gsi, bool asserted) { }
static const struct vpci_ops bus_ops = { f_msi, f_route, f_intx, NULL };
static void say(void *ctx, const char *line) { ((struct vm *)ctx)->says++; }
static uint64_t now(void *ctx) { return ((struct vm *)ctx)->now; }
static void kick(void *ctx) { ((struct vm *)ctx)->kicks++; }

static uint64_t mmio(struct vm *v, bool write, uint64_t gpa, unsigned size, uint64_t val)
{
	struct io_req q = { .addr = gpa, .size = (uint8_t)size, .write = write, .val = val };
	CHECK_EQ(iobus_mmio(&v->iob, &q), 0);
	return q.val;
}
static void com_wr(struct vm *v, unsigned off, unsigned size, uint64_t val)
{
	mmio(v, true, BAR_BASE + VIRTIO_PCI_COMMON_OFF + off, size, val);
}
static void *gpa(struct vm *v, uint64_t a) { return v->ram + (a - RAM_BASE); }

/* A VM with a NIC on switch sw, driven up to DRIVER_OK with features feat. */
static struct vm *vm_new(const char *sw, uint8_t id, uint64_t feat)
{
	struct vm *v = calloc(1, sizeof(*v));
	uint8_t mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, id };
	char err[120] = "";

	v->ram = aligned_alloc(4096, RAM_SIZE);
	memset(v->ram, 0, RAM_SIZE);
	gmem_add(&v->gm, RAM_BASE, RAM_SIZE, v->ram);
	iobus_init(&v->iob, v->pio, 8, v->mmio, 8);
	vpci_init(&v->bus, &v->iob, &bus_ops, v);
	iobus_add(&v->iob.mmio, ECAM_BASE, VPCI_ECAM_BUS_SIZE, vpci_ecam_mmio, &v->bus, NULL);
	CHECK_EQ(virtio_net_init(&v->net, VPCI_DEVFN(SLOT, 0), mac, sw, "t", &v->gm, say, now,
				 kick, v, err, sizeof(err)), 0);
	CHECK(vpci_add(&v->bus, &v->net.vp.fn));
	mmio(v, true, ECAM_BASE + ECAM(SLOT, PCI_BAR0), 4, BAR_BASE);
	mmio(v, true, ECAM_BASE + ECAM(SLOT, PCI_BAR0 + 4), 4, MSIX_BASE);
	mmio(v, true, ECAM_BASE + ECAM(SLOT, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	feat |= 1ULL << VIRTIO_F_VERSION_1;
	com_wr(v, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	com_wr(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	com_wr(v, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)feat);
	com_wr(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	com_wr(v, VIRTIO_PCI_COMMON_GF, 4, feat >> 32);
	com_wr(v, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		com_wr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		com_wr(v, VIRTIO_PCI_COMMON_Q_SIZE, 2, QN);
		com_wr(v, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)DESC(q));
		com_wr(v, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)AVAIL(q));
		com_wr(v, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)USED(q));
		com_wr(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	com_wr(v, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return v;
}

static void vm_free(struct vm *v)
{
	virtio_net_fini(&v->net);
	free(v->ram);
	free(v);
}

static uint8_t status(struct vm *v)
{
	return (uint8_t)mmio(v, false, BAR_BASE + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_STATUS, 1, 0);
}

/* Make descriptor chain d[0..n) (each {addr, len}) available on queue q. */
static void post(struct vm *v, unsigned q, unsigned n, const uint64_t *addr, const uint32_t *len,
		 bool write)
{
	struct virtq_desc *desc = gpa(v, DESC(q));
	uint16_t *avail = gpa(v, AVAIL(q));
	uint16_t head = (uint16_t)((v->avail[q] * 4) % QN);

	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % QN);
		desc[d] = (struct virtq_desc){ addr[i], len[i],
			(uint16_t)((write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			(uint16_t)((d + 1) % QN) };
	}
	avail[2 + v->avail[q] % QN] = head;
	v->avail[q]++;
	avail[1] = v->avail[q];
	mmio(v, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF + 4 * q, 2, q);
}

/* Post n receive buffers of len bytes each, buffer i at BUF + 0x1000 * i. */
static void post_rx(struct vm *v, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = BUF + 0x1000 * (v->avail[0] % 8);
		post(v, 0, 1, &a, &len, true);
	}
}

/* Send frame f[0..len) with header h from TX buffer space. */
static void send(struct vm *v, const struct virtio_net_hdr *h, const uint8_t *f, uint32_t len)
{
	uint64_t a[2] = { BUF + 0x8000, BUF + 0x9000 };
	uint32_t l[2] = { sizeof(*h), len };

	memcpy(gpa(v, a[0]), h, sizeof(*h));
	memcpy(gpa(v, a[1]), f, len);
	post(v, 1, 2, a, l, false);
}

/* The next used element of queue q, or false. */
static bool used(struct vm *v, unsigned q, struct virtq_used_elem *e)
{
	uint16_t *u = gpa(v, USED(q));

	if (u[1] == v->seen_used[q])
		return false;
	memcpy(e, (uint8_t *)u + 4 + 8 * (v->seen_used[q] % QN), sizeof(*e));
	v->seen_used[q]++;
	return true;
}

/* A UDP/IPv4 frame, to dst, with its checksum left to the NIC (the
 * pseudo-header sum in the field, as Linux leaves it). */
static uint32_t udp_frame(uint8_t *f, uint8_t dst, unsigned payload)
{
	memset(f, 0, 64 + payload);
	const uint8_t d[6] = { 0x02, 0, 0, 0, 0, dst };
	memcpy(f, d, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	unsigned ulen = 8 + payload;
	f[16] = (uint8_t)((20 + ulen) >> 8);
	f[17] = (uint8_t)(20 + ulen);
	f[23] = 17;
	const uint8_t ips[8] = { 10, 0, 0, 1, 10, 0, 0, 2 };
	memcpy(f + 26, ips, 8);
	f[34] = 0x13;
	f[35] = 0x88;
	f[36] = 0x13;
	f[37] = 0x89;
	f[38] = (uint8_t)(ulen >> 8);
	f[39] = (uint8_t)ulen;
	for (unsigned i = 0; i < payload; i++)
		f[42 + i] = (uint8_t)(i * 31 + 7);
	/* Pseudo-header: addresses, protocol, UDP length. */
	uint32_t s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + ulen;
	s = (s & 0xffff) + (s >> 16);
	f[40] = (uint8_t)(s >> 8);
	f[41] = (uint8_t)s;
	return 42 + payload;
}

/* The one's complement sum over the UDP datagram with its pseudo-header:
 * 0xffff when the checksum in it is right (RFC 768, RFC 1071). */
static uint16_t udp_verify(const uint8_t *f, uint32_t len)
{
	uint32_t s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + (len - 34);
	for (uint32_t i = 34; i < len; i += 2)
		s += (uint32_t)f[i] << 8 | (i + 1 < len ? f[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

TEST(config_space)
{
	struct vm *a = vm_new("cfg", 1, 0);
	uint64_t dev = BAR_BASE + VIRTIO_PCI_DEVICE_OFF;

	CHECK_EQ(mmio(a, false, ECAM_BASE + ECAM(SLOT, PCI_DEVICE_ID), 2, 0), 0x1041);
	CHECK_EQ(mmio(a, false, dev + 0, 4, 0), 0x00000002);
	CHECK_EQ(mmio(a, false, dev + 4, 2, 0), 0x0100);
	CHECK_EQ(mmio(a, false, dev + 6, 2, 0), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(mmio(a, false, dev + 8, 2, 0), 1);
	CHECK_EQ(mmio(a, false, dev + 10, 2, 0), 1500);
	com_wr(a, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	uint32_t f = (uint32_t)mmio(a, false, BAR_BASE + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_DF, 4, 0);
	CHECK_EQ(f & 0x1802b, 0x1802b);   /* CSUM GUEST_CSUM MTU MAC MRG_RXBUF STATUS */
	CHECK_EQ(f & ~0x1802bu & 0xffffff, 0);  /* no offload beyond those */
	vm_free(a);
}

TEST(frame_and_checksums)
{
	uint64_t mrg = 1ULL << VIRTIO_NET_F_MRG_RXBUF, gcs = 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	struct vm *a = vm_new("lan", 1, 1ULL << VIRTIO_NET_F_CSUM | mrg);
	struct vm *b = vm_new("lan", 2, mrg);           /* no GUEST_CSUM: computed for it */
	struct vm *c = vm_new("lan", 3, mrg | gcs);     /* GUEST_CSUM: left to it */
	struct vm *x = vm_new("other", 4, mrg | gcs);   /* another switch */
	static uint8_t f[2048];
	struct virtq_used_elem e;

	post_rx(b, 4, 2048);
	post_rx(c, 4, 2048);
	post_rx(x, 4, 2048);
	uint32_t len = udp_frame(f, 0xff, 101);
	f[0] = 0xff;        /* broadcast */
	memset(f, 0xff, 6);
	struct virtio_net_hdr h = { VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 6, 0 };
	send(a, &h, f, len);
	CHECK(used(a, 1, &e));
	CHECK_EQ(e.len, 0);
	CHECK_EQ(b->kicks, 1);
	CHECK_EQ(c->kicks, 1);
	CHECK_EQ(x->kicks, 0);
	virtio_net_poll(&b->net);
	virtio_net_poll(&c->net);
	virtio_net_poll(&x->net);
	CHECK(!used(x, 0, &e));
	CHECK(used(b, 0, &e));
	CHECK_EQ(e.len, VIRTIO_NET_HDR_LEN + len);
	const struct virtio_net_hdr *hb = gpa(b, BUF);
	CHECK_EQ(hb->flags, 0);
	CHECK_EQ(hb->num_buffers, 1);
	const uint8_t *fb = gpa(b, BUF + VIRTIO_NET_HDR_LEN);
	CHECK_EQ(udp_verify(fb, len), 0xffff);
	CHECK(memcmp(fb + 42, f + 42, 101) == 0);
	CHECK(used(c, 0, &e));
	const struct virtio_net_hdr *hc = gpa(c, BUF);
	CHECK_EQ(hc->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK(hc->csum_start == 34 && hc->csum_offset == 6);
	CHECK(memcmp(gpa(c, BUF + VIRTIO_NET_HDR_LEN), f, len) == 0);  /* untouched */
	CHECK(b->msgs + b->net.vp.interrupts > 0);
	CHECK_EQ(b->net.st.csum_computed, 1);
	vm_free(a);
	vm_free(b);
	vm_free(c);
	vm_free(x);
}

TEST(mergeable_buffers)
{
	struct vm *a = vm_new("lan", 1, 0);
	struct vm *b = vm_new("lan", 2, 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	struct vm *n = vm_new("lan", 3, 0);             /* without MRG_RXBUF */
	static uint8_t f[2048];
	struct virtq_used_elem e;
	struct virtio_net_hdr h = { 0 };

	uint32_t len = udp_frame(f, 0xff, 1400);
	memset(f, 0xff, 6);
	/* b has 512-byte buffers: the frame takes three; no frame yet. */
	send(a, &h, f, len);
	virtio_net_poll(&b->net);
	CHECK(!used(b, 0, &e));
	post_rx(b, 2, 512);
	CHECK(!used(b, 0, &e));         /* two are not enough: it waits */
	post_rx(b, 2, 512);
	uint32_t total = 0;
	for (int i = 0; i < 3; i++) {
		CHECK(used(b, 0, &e));
		total += e.len;
	}
	CHECK(!used(b, 0, &e));
	CHECK_EQ(total, VIRTIO_NET_HDR_LEN + len);
	const struct virtio_net_hdr *hb = gpa(b, BUF);
	CHECK_EQ(hb->num_buffers, 3);
	CHECK(memcmp(gpa(b, BUF + VIRTIO_NET_HDR_LEN), f, 500) == 0);
	CHECK(memcmp(gpa(b, BUF + 0x1000), f + 500, 512) == 0);
	/* Without MRG_RXBUF a frame needs one buffer big enough (n's 512
	 * bytes are not): it is dropped and counted, the buffer kept. */
	post_rx(n, 1, 512);
	virtio_net_poll(&n->net);
	CHECK(!used(n, 0, &e));
	CHECK_EQ(n->net.st.rx_too_big, 1);
	vm_free(a);
	vm_free(b);
	vm_free(n);
}

TEST(mtu_and_bad_frames)
{
	struct vm *a = vm_new("lan", 1, 0);
	struct vm *b = vm_new("lan", 2, 0);
	static uint8_t f[2048];
	struct virtq_used_elem e;
	struct virtio_net_hdr h = { 0 };

	memset(f, 0xff, sizeof(f));
	post_rx(b, 8, 2048);
	send(a, &h, f, VSWITCH_FRAME_MAX + 1);          /* over the MTU */
	send(a, &h, f, ETH_HLEN - 1);                   /* runt */
	h.gso_type = 1;
	send(a, &h, f, 100);                            /* segmentation not offered */
	h = (struct virtio_net_hdr){ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 90, 9, 0 };
	send(a, &h, f, 100);                            /* checksum place past the end */
	for (int i = 0; i < 4; i++)
		CHECK(used(a, 1, &e));
	CHECK_EQ(a->net.st.tx_oversize, 1);
	CHECK_EQ(a->net.st.tx_bad, 3);
	struct vswitch_stats st = vswitch_port_stats(&a->net.port);
	CHECK_EQ(st.tx_drops, 4);
	CHECK_EQ(st.tx_frames, 0);
	virtio_net_poll(&b->net);
	CHECK(!used(b, 0, &e));
	/* The largest frame goes through. */
	h = (struct virtio_net_hdr){ 0 };
	send(a, &h, f, VSWITCH_FRAME_MAX);
	virtio_net_poll(&b->net);
	CHECK(used(b, 0, &e));
	CHECK_EQ(e.len, VIRTIO_NET_HDR_LEN + VSWITCH_FRAME_MAX);
	CHECK_EQ(a->says + b->says, 0);
	vm_free(a);
	vm_free(b);
}

TEST(outside_ram)
{
	struct vm *a = vm_new("lan", 1, 0);
	struct vm *b = vm_new("lan", 2, 0);
	static uint8_t f[128];
	struct virtq_used_elem e;

	/* A receive buffer outside b's RAM: b's device needs a reset, and
	 * nothing is written anywhere. */
	uint64_t out = RAM_BASE + RAM_SIZE - 16;
	uint32_t len = 2048;
	post(b, 0, 1, &out, &len, true);
	memset(f, 0xff, sizeof(f));
	struct virtio_net_hdr h = { 0 };
	send(a, &h, f, sizeof(f));
	virtio_net_poll(&b->net);
	CHECK(!used(b, 0, &e));
	CHECK(status(b) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(b->says, 1);
	/* A transmit buffer outside a's RAM: a needs a reset; b gets nothing. */
	uint64_t t[2] = { BUF, 0xfffffffffffff000ULL };
	uint32_t tl[2] = { 12, 64 };
	post(a, 1, 2, t, tl, false);
	CHECK(status(a) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(vswitch_port_stats(&a->net.port).tx_frames, 1);
	vm_free(a);
	vm_free(b);
}

TEST(fill_csum)
{
	/* RFC 1071 §3's example bytes: the sum is 0xddf2, the checksum its complement. */
	uint8_t d[10] = { 0, 1, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0, 0 };
	CHECK(virtio_net_fill_csum(d, sizeof(d), 0, 8));
	CHECK_EQ(d[8] << 8 | d[9], (uint16_t)~0xddf2);
	CHECK(!virtio_net_fill_csum(d, sizeof(d), 4, 5));
	/* An odd length pads with a zero byte: 0x1234 + 0x5600 + 0x7800. */
	uint8_t o[7] = { 0x12, 0x34, 0x56, 0, 0, 0, 0x78 };
	CHECK(virtio_net_fill_csum(o, sizeof(o), 0, 3 - 0));
	CHECK_EQ(o[3] << 8 | o[4], (uint16_t)~(0x1234 + 0x5600 + 0x7800));
}

int main(void)
{
	check_start("vnet");
	RUN(config_space);
	RUN(frame_and_checksums);
	RUN(mergeable_buffers);
	RUN(mtu_and_bad_frames);
	RUN(outside_ram);
	RUN(fill_csum);
	return check_finish();
}
