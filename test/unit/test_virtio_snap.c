/*
 * Host tests of the virtio devices' snapshot records (devices/virtio_*.h)
 * and of the virtio console's input.  The driver's set-up is made
 * directly in the transport (features, status, queues), as in
 * test_virtio_blk.c; the rings are in a fake guest RAM.  A record saved
 * from one device and loaded into a fresh one of the same kind must save
 * again byte for byte, and the loaded device must go on where the first
 * one was; records of another device, with a field out of range or with a
 * ring outside RAM are refused, leaving the device as it was.
 */
#include "check.h"
#include "devices/virtio_console.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_rng.h"
#include "devices/virtio_net.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (256 * 1024)
#define Q(n)     (RAM_BASE + 0x4000 * (n))      /* queue n's rings: desc, avail +0x1000, used +0x2000 */
#define BUF      (RAM_BASE + 0x20000)
#define QSIZE    8

struct rig {
	struct iobus iob;
	struct iobus_region pio[4], mmio[4];
	struct vpci_bus bus;
	uint8_t *ram;
	struct guest_mem gm;
	uint16_t avail[2];
};

static void f_msi(void *ctx, const struct apic_msg *m) {}
static unsigned f_route(void *ctx, unsigned slot, unsigned pin) { return 16; }
static void f_intx(void *ctx, unsigned gsi, bool asserted) {}
static const struct vpci_ops bus_ops = { f_msi, f_route, f_intx, NULL };
static void say(void *ctx, const char *line) {}
static void line_fn(void *ctx, const char *line, size_t len) {}
static uint64_t now(void *ctx) { return 0; }
static void kick_fn(void *ctx) {}

static void *hva(struct rig *r, uint64_t gpa) { return r->ram + (gpa - RAM_BASE); }

static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));

	r->ram = calloc(1, RAM_SIZE);
	gmem_add(&r->gm, RAM_BASE, RAM_SIZE, r->ram);
	iobus_init(&r->iob, r->pio, 4, r->mmio, 4);
	vpci_init(&r->bus, &r->iob, &bus_ops, r);
	return r;
}

static void rig_free(struct rig *r)
{
	free(r->ram);
	free(r);
}

/* The driver's set-up of vp, done directly: features, queues, DRIVER_OK. */
static void drive(struct rig *r, struct virtio_pci *vp, uint64_t features)
{
	CHECK(vpci_add(&r->bus, &vp->fn));
	vpci_cfg_put(&vp->fn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vp->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | features;
	vp->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		     VIRTIO_STATUS_DRIVER_OK;
	for (unsigned q = 0; q < vp->nr_queues; q++) {
		CHECK_EQ(virtq_init(&vp->q[q].vq, &r->gm, QSIZE, Q(q), Q(q) + 0x1000, Q(q) + 0x2000), 0);
		vp->q[q].size = QSIZE;
		vp->q[q].desc = Q(q);
		vp->q[q].driver = Q(q) + 0x1000;
		vp->q[q].device = Q(q) + 0x2000;
		vp->q[q].enabled = true;
		vp->q[q].vq.event_idx = virtio_pci_has(vp, VIRTIO_RING_F_EVENT_IDX);
		vp->q[q].vq.indirect = virtio_pci_has(vp, VIRTIO_RING_F_INDIRECT_DESC);
	}
}

/* Post a device-writable buffer of len bytes at addr on queue q, and kick. */
static void post(struct rig *r, struct virtio_pci *vp, unsigned q, uint64_t addr, uint32_t len)
{
	uint16_t head = r->avail[q] & (QSIZE - 1);
	struct virtq_desc d = { addr, len, VIRTQ_DESC_F_WRITE, 0 };

	memcpy(hva(r, Q(q) + 16 * head), &d, 16);
	memcpy(hva(r, Q(q) + 0x1000 + 4 + 2 * head), &head, 2);
	r->avail[q]++;
	memcpy(hva(r, Q(q) + 0x1000 + 2), &r->avail[q], 2);
	struct io_req req = { .off = VIRTIO_PCI_NOTIFY_OFF + 4 * q, .size = 2, .write = true };
	virtio_pci_bar_access(vp, &req);
}

/* The used ring of queue q: its index, and the length of element i. */
static uint16_t used_idx(struct rig *r, unsigned q)
{
	uint16_t v;
	memcpy(&v, hva(r, Q(q) + 0x2000 + 2), 2);
	return v;
}

static uint32_t used_len(struct rig *r, unsigned q, unsigned i)
{
	uint32_t v;
	memcpy(&v, hva(r, Q(q) + 0x2000 + 4 + 8 * (i & (QSIZE - 1)) + 4), 4);
	return v;
}

static void type(struct virtio_console *vc, const char *s)
{
	while (*s)
		CHECK(virtio_console_input(vc, (uint8_t)*s++));
}

static uint8_t rec[64 * 1024], rec2[64 * 1024];

TEST(console_input)
{
	struct rig *r = rig_new();
	static struct virtio_console vc;

	CHECK(virtio_console_init(&vc, VPCI_DEVFN(8, 0), &r->gm, line_fn, NULL, say, NULL));
	/* Before the driver: bytes wait, and a full buffer drops the rest. */
	for (unsigned i = 0; i < VIRTIO_CONSOLE_RX_BUF + 5; i++)
		CHECK(virtio_console_input(&vc, (uint8_t)('a' + i % 26)));
	CHECK_EQ(vc.rx_n, VIRTIO_CONSOLE_RX_BUF);
	CHECK_EQ(vc.rx_dropped, 5);
	vc.rx_n = 0;
	vc.rx_dropped = 0;
	type(&vc, "hello");
	drive(r, &vc.vp, 0);
	/* A 3-byte buffer takes 3, the next one the rest, in order. */
	post(r, &vc.vp, VIRTIO_CONSOLE_RX, BUF, 3);
	CHECK_EQ(used_idx(r, 0), 1);
	CHECK_EQ(used_len(r, 0, 0), 3);
	CHECK(memcmp(hva(r, BUF), "hel", 3) == 0);
	post(r, &vc.vp, VIRTIO_CONSOLE_RX, BUF + 0x100, 64);
	CHECK_EQ(used_idx(r, 0), 2);
	CHECK_EQ(used_len(r, 0, 1), 2);
	CHECK(memcmp(hva(r, BUF + 0x100), "lo", 2) == 0);
	/* A buffer waiting: a typed byte goes straight in. */
	post(r, &vc.vp, VIRTIO_CONSOLE_RX, BUF + 0x200, 64);
	CHECK_EQ(used_idx(r, 0), 2);
	type(&vc, "x");
	CHECK_EQ(used_idx(r, 0), 3);
	CHECK_EQ(*(uint8_t *)hva(r, BUF + 0x200), 'x');
	/* The driver live, no buffer: a full buffer refuses (the caller holds). */
	for (unsigned i = 0; i < VIRTIO_CONSOLE_RX_BUF; i++)
		CHECK(virtio_console_input(&vc, (uint8_t)i));
	CHECK(!virtio_console_input(&vc, 'z'));
	CHECK_EQ(vc.rx_dropped, 0);
	rig_free(r);
}

TEST(console_round_trip)
{
	struct rig *r = rig_new();
	static struct virtio_console a, b;
	static struct virtio_rng other;
	uint8_t seed[32] = { 1 };

	CHECK(virtio_console_init(&a, VPCI_DEVFN(8, 0), &r->gm, line_fn, NULL, say, NULL));
	drive(r, &a.vp, VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	post(r, &a.vp, VIRTIO_CONSOLE_RX, BUF, 2);
	type(&a, "abcdef");     /* "a" delivered as it is typed, "bcdef" waits */
	CHECK_EQ(used_len(r, 0, 0), 1);
	a.len = 3;
	memcpy(a.line, "hal", 3);
	size_t n = virtio_console_save(&a, rec, sizeof(rec));
	CHECK_EQ(n, VIRTIO_CONSOLE_SNAP_SIZE);
	CHECK_EQ(virtio_console_save(&a, rec, n - 1), 0);

	struct rig *r2 = rig_new();             /* a fresh VM: the same RAM's contents */
	memcpy(r2->ram, r->ram, RAM_SIZE);
	r2->avail[0] = r->avail[0];
	CHECK(virtio_console_init(&b, VPCI_DEVFN(8, 0), &r2->gm, line_fn, NULL, say, NULL));
	CHECK(vpci_add(&r2->bus, &b.vp.fn));
	vpci_cfg_put(&b.vp.fn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK(!virtio_console_load(&b, rec, n - 1));
	CHECK(virtio_console_rec_matches(&b, rec, n));
	CHECK(virtio_console_load(&b, rec, n));
	CHECK_EQ(virtio_console_save(&b, rec2, sizeof(rec2)), n);
	CHECK(memcmp(rec, rec2, n) == 0);
	CHECK(b.vp.q[0].vq.event_idx);
	CHECK_EQ(b.vp.q[0].vq.last_avail, 1);
	/* b goes on where a was: the next buffer gets "bcdef". */
	post(r2, &b.vp, VIRTIO_CONSOLE_RX, BUF + 0x100, 16);
	CHECK_EQ(used_idx(r2, 0), 2);
	CHECK_EQ(used_len(r2, 0, 1), 5);
	CHECK(memcmp(hva(r2, BUF + 0x100), "bcdef", 5) == 0);

	/* Refused, b unchanged: another device's record, a queue size that
	 * is no power of two, rings outside RAM, a status out of order. */
	CHECK(virtio_rng_init(&other, VPCI_DEVFN(8, 0), &r2->gm, NULL, seed, say, NULL));
	CHECK_EQ(virtio_rng_save(&other, rec2, sizeof(rec2)), VIRTIO_RNG_SNAP_SIZE);
	CHECK(!virtio_console_load(&b, rec2, VIRTIO_RNG_SNAP_SIZE));
	struct virtio_console_rec *cr = (struct virtio_console_rec *)rec2;
	memcpy(rec2, rec, n);
	cr->t.device_id++;
	CHECK(!virtio_console_rec_matches(&b, rec2, n));
	CHECK(!virtio_console_load(&b, rec2, n));
	memcpy(rec2, rec, n);
	cr->t.q[1].size = 6;
	CHECK(!virtio_console_load(&b, rec2, n));
	memcpy(rec2, rec, n);
	cr->t.q[0].device = RAM_BASE + RAM_SIZE - 8;
	CHECK(!virtio_console_load(&b, rec2, n));
	memcpy(rec2, rec, n);
	cr->t.status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	CHECK(!virtio_console_load(&b, rec2, n));
	memcpy(rec2, rec, n);
	cr->rx_n = VIRTIO_CONSOLE_RX_BUF + 1;
	CHECK(!virtio_console_load(&b, rec2, n));
	CHECK_EQ(virtio_console_save(&b, rec2, sizeof(rec2)), n);
	CHECK_EQ(b.vp.q[0].vq.last_avail, 2);
	CHECK_EQ(b.rx_n, 0);
	rig_free(r);
	rig_free(r2);
}

TEST(blk_record_and_contents)
{
	struct rig *r = rig_new();
	static struct virtio_blk a, b, c;
	static uint8_t disk_a[3 << 20], disk_b[3 << 20];

	memset(disk_a, 0x5a, sizeof(disk_a));
	CHECK(virtio_blk_init(&a, VPCI_DEVFN(4, 0), &r->gm, disk_a, sizeof(disk_a), false, "d0",
			      say, NULL));
	drive(r, &a.vp, 0);
	a.vp.q[0].vq.last_avail = a.vp.q[0].vq.used_idx = 7;
	a.writes = 3;
	CHECK(virtio_blk_init(&b, VPCI_DEVFN(4, 0), &r->gm, disk_b, sizeof(disk_b), false, "d0",
			      say, NULL));
	size_t n = virtio_blk_save(&a, rec, sizeof(rec));
	CHECK_EQ(n, VIRTIO_BLK_SNAP_SIZE);
	CHECK(virtio_blk_load(&b, rec, n));
	CHECK_EQ(virtio_blk_save(&b, rec2, sizeof(rec2)), n);
	CHECK(memcmp(rec, rec2, n) == 0);
	CHECK_EQ(b.vp.q[0].vq.used_idx, 7);
	/* Contents: two chunks, the second 1 MiB. */
	CHECK_EQ(virtio_blk_chunks(&a), 2);
	CHECK_EQ(virtio_blk_chunk_size(&a, 1), 1 << 20);
	CHECK_EQ(virtio_blk_chunk_size(&a, 2), 0);
	static uint8_t chunk[2 << 20];
	CHECK_EQ(virtio_blk_chunk_save(&a, 1, chunk, sizeof(chunk)), 1 << 20);
	CHECK(!virtio_blk_chunk_load(&b, 1, chunk, 2 << 20));
	CHECK(virtio_blk_chunk_load(&b, 1, chunk, 1 << 20));
	CHECK(memcmp(disk_b + (2 << 20), disk_a + (2 << 20), 1 << 20) == 0);
	CHECK_EQ(disk_b[0], 0);
	/* Another size, read-only, another slot: not this disk. */
	CHECK(virtio_blk_init(&c, VPCI_DEVFN(4, 0), &r->gm, disk_b, 2 << 20, false, "d0", say, NULL));
	CHECK(!virtio_blk_rec_matches(&c, rec, n));
	CHECK(!virtio_blk_load(&c, rec, n));
	CHECK(virtio_blk_init(&c, VPCI_DEVFN(4, 0), &r->gm, disk_b, sizeof(disk_b), true, "d0", say,
			      NULL));
	CHECK(!virtio_blk_load(&c, rec, n));
	CHECK(!virtio_blk_chunk_load(&c, 0, chunk, 2 << 20));
	CHECK(virtio_blk_init(&c, VPCI_DEVFN(5, 0), &r->gm, disk_b, sizeof(disk_b), false, "d0", say,
			      NULL));
	CHECK(!virtio_blk_load(&c, rec, n));
	rig_free(r);
}

TEST(rng_round_trip)
{
	struct rig *r = rig_new();
	static struct virtio_rng a, b;
	uint8_t seed_a[32] = { 7 }, seed_b[32] = { 9 }, x[40], y[40];

	CHECK(virtio_rng_init(&a, VPCI_DEVFN(9, 0), &r->gm, NULL, seed_a, say, NULL));
	CHECK(virtio_rng_init(&b, VPCI_DEVFN(9, 0), &r->gm, NULL, seed_b, say, NULL));
	chacha20_fill(&a.prng, x, 10);
	size_t n = virtio_rng_save(&a, rec, sizeof(rec));
	CHECK(virtio_rng_load(&b, rec, n));
	CHECK_EQ(virtio_rng_save(&b, rec2, sizeof(rec2)), n);
	CHECK(memcmp(rec, rec2, n) == 0);
	chacha20_fill(&a.prng, x, sizeof(x));
	chacha20_fill(&b.prng, y, sizeof(y));
	CHECK(memcmp(x, y, sizeof(x)) == 0);
	((struct virtio_rng_rec *)rec)->prng.used = 65;
	CHECK(!virtio_rng_load(&b, rec, n));
	rig_free(r);
}

TEST(net_record)
{
	struct rig *r = rig_new();
	static struct virtio_net a, b;
	const uint8_t mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 }, mac2[ETH_ALEN] = { 2, 0, 0, 0, 0, 2 };
	char err[120];

	CHECK_EQ(virtio_net_init(&a, VPCI_DEVFN(16, 0), mac, "snap-a", "a net0", &r->gm, say, now,
				 kick_fn, NULL, err, sizeof(err)), 0);
	drive(r, &a.vp, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* Two receive chains held, a frame waiting for more. */
	post(r, &a.vp, VIRTIO_NET_RXQ, BUF, 100);
	post(r, &a.vp, VIRTIO_NET_RXQ, BUF + 0x100, 100);
	CHECK_EQ(virtio_pci_pop(&a.vp, VIRTIO_NET_RXQ, &a.held[0]), 1);
	CHECK_EQ(virtio_pci_pop(&a.vp, VIRTIO_NET_RXQ, &a.held[1]), 1);
	a.nr_held = 2;
	a.have_frame = true;
	a.frame.len = 60;
	memset(a.frame.data, 0xab, 60);
	size_t n = virtio_net_save(&a, rec, sizeof(rec));
	CHECK_EQ(n, VIRTIO_NET_SNAP_SIZE);

	CHECK_EQ(virtio_net_init(&b, VPCI_DEVFN(16, 0), mac2, "snap-b", "b net0", &r->gm, say, now,
				 kick_fn, NULL, err, sizeof(err)), 0);
	CHECK(!virtio_net_rec_matches(&b, rec, n));     /* another MAC */
	CHECK(!virtio_net_load(&b, rec, n));
	virtio_net_fini(&b);
	CHECK_EQ(virtio_net_init(&b, VPCI_DEVFN(16, 0), mac, "snap-b", "b net0", &r->gm, say, now,
				 kick_fn, NULL, err, sizeof(err)), 0);
	struct virtio_net_rec *nr = (struct virtio_net_rec *)rec2;
	memcpy(rec2, rec, n);
	nr->held[1].seg[0].addr = RAM_BASE + RAM_SIZE - 10;     /* outside RAM */
	CHECK(!virtio_net_load(&b, rec2, n));
	memcpy(rec2, rec, n);
	nr->held[0].in_len = 1000;                      /* not its segments' */
	CHECK(!virtio_net_load(&b, rec2, n));
	memcpy(rec2, rec, n);
	nr->nr_held = VIRTIO_NET_MAX_BUFS + 1;
	CHECK(!virtio_net_load(&b, rec2, n));
	memcpy(rec2, rec, n);
	nr->frame.len = VSWITCH_FRAME_MAX + 1;
	CHECK(!virtio_net_load(&b, rec2, n));
	CHECK_EQ(b.nr_held, 0);
	CHECK(virtio_net_load(&b, rec, n));
	CHECK_EQ(virtio_net_save(&b, rec2, sizeof(rec2)), n);
	CHECK(memcmp(rec, rec2, n) == 0);
	CHECK_EQ(b.nr_held, 2);
	CHECK(b.have_frame);
	CHECK(b.rx_waiting);
	virtio_net_fini(&a);
	virtio_net_fini(&b);
	rig_free(r);
}

int main(void)
{
	check_prog = "virtio_snap";
	RUN(console_input);
	RUN(console_round_trip);
	RUN(blk_record_and_contents);
	RUN(rng_round_trip);
	RUN(net_record);
	return check_finish();
}
