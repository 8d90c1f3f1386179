/*
 * hostile-vnet: drives kasane's virtio-net (devices/virtio_net.h) with bad
 * rings.  The VM has two NICs on one switch: NIC 0 at 00:10.0 sends,
 * NIC 1 at 00:11.0 receives.  Each case resets NIC 0 (or 1), sets its
 * queues up again (virtio 1.2 §3.1.1) and does one wrong thing:
 *   loop         two transmit descriptors that chain to each other;
 *   outside      a buffer past the end of RAM;
 *   wrap         a buffer whose end wraps past 2^64;
 *   len4g        a buffer of 0xffffffff bytes;
 *   nested       an indirect table holding an indirect descriptor;
 *   avail-jump   avail->idx more than the queue size ahead;
 *   rx-outside   a receive buffer outside RAM, filled by NIC 0's frame;
 * and each must leave the device in DEVICE_NEEDS_RESET (§2.1.1).  Two more
 * are dropped and counted, the queue going on: a zero-length buffer (no
 * room for the header) and a frame over the MTU.  Last, after a reset, a
 * good broadcast frame goes from NIC 0 to NIC 1 intact: the device and
 * the switch go on.  Polled; no interrupts.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "hostile-vnet";

#define ECAM_BASE       0xe0000000ul
#define NIC_SLOT        16
#define BAR_BASE(n)     (0xc0000000ul + 0x100000ul * (n))
#define MSIX_BASE(n)    (0xc0800000ul + 0x100000ul * (n))
#define COMMON          0x0000
#define DEVCFG          0x2000
#define NOTIFY          0x3000

/* struct virtio_pci_common_cfg offsets (§4.1.4.3). */
#define C_DFSELECT      0x00
#define C_DF            0x04
#define C_GFSELECT      0x08
#define C_GF            0x0c
#define C_STATUS        0x14
#define C_Q_SELECT      0x16
#define C_Q_SIZE        0x18
#define C_Q_ENABLE      0x1c
#define C_Q_DESC        0x20
#define C_Q_AVAIL       0x28
#define C_Q_USED        0x30

#define S_ACK           1
#define S_DRIVER        2
#define S_DRIVER_OK     4
#define S_FEATURES_OK   8
#define S_NEEDS_RESET   64

#define F_INDIRECT      28
#define F_VERSION_1     32
#define D_NEXT          1
#define D_WRITE         2
#define D_INDIRECT      4

#define QN              16
#define HDR_LEN         12
#define RAM_AREA        0x800000ul      /* rings and buffers: 8 MiB up, in 16 MiB of RAM */
#define WAIT_US         5000000         /* only a failure waits this long */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct nic {
	unsigned n;
	volatile uint8_t *bar;
	struct desc *desc[2];
	volatile uint16_t *avail[2], *used[2];
	uint16_t next_avail[2];
	uint8_t *buf;
};

static struct nic nics[2];

static volatile uint32_t *ecam(unsigned slot, unsigned reg)
{
	return (volatile uint32_t *)(ECAM_BASE | slot << 15 | reg);
}

static void w8(struct nic *c, unsigned off, uint8_t v) { *(volatile uint8_t *)(c->bar + off) = v; }
static void w16(struct nic *c, unsigned off, uint16_t v) { *(volatile uint16_t *)(c->bar + off) = v; }
static void w32(struct nic *c, unsigned off, uint32_t v) { *(volatile uint32_t *)(c->bar + off) = v; }
static void w64(struct nic *c, unsigned off, uint64_t v)
{
	w32(c, off, (uint32_t)v);
	w32(c, off + 4, (uint32_t)(v >> 32));
}
static uint8_t status(struct nic *c) { return *(volatile uint8_t *)(c->bar + COMMON + C_STATUS); }

/* Reset, negotiate VERSION_1 (+ INDIRECT_DESC), set both queues up, DRIVER_OK. */
static bool nic_start(struct nic *c)
{
	uintptr_t area = RAM_AREA + 0x100000ul * c->n;

	w8(c, COMMON + C_STATUS, 0);
	if (status(c) != 0)
		return false;
	w8(c, COMMON + C_STATUS, S_ACK | S_DRIVER);
	w32(c, COMMON + C_GFSELECT, 0);
	w32(c, COMMON + C_GF, 1u << F_INDIRECT);
	w32(c, COMMON + C_GFSELECT, 1);
	w32(c, COMMON + C_GF, 1u << (F_VERSION_1 - 32));
	w8(c, COMMON + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(status(c) & S_FEATURES_OK))
		return false;
	for (unsigned q = 0; q < 2; q++) {
		uintptr_t r = area + 0x4000 * q;
		memset((void *)r, 0, 0x4000);
		c->desc[q] = (struct desc *)r;
		c->avail[q] = (volatile uint16_t *)(r + 0x1000);
		c->used[q] = (volatile uint16_t *)(r + 0x2000);
		c->next_avail[q] = 0;
		w16(c, COMMON + C_Q_SELECT, (uint16_t)q);
		w16(c, COMMON + C_Q_SIZE, QN);
		w64(c, COMMON + C_Q_DESC, r);
		w64(c, COMMON + C_Q_AVAIL, r + 0x1000);
		w64(c, COMMON + C_Q_USED, r + 0x2000);
		w16(c, COMMON + C_Q_ENABLE, 1);
	}
	c->buf = (uint8_t *)(area + 0x8000);
	w8(c, COMMON + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return status(c) == (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Make the chain at descriptor head available on queue q and notify. */
static void kick(struct nic *c, unsigned q, uint16_t head)
{
	c->avail[q][2 + c->next_avail[q] % QN] = head;
	c->next_avail[q]++;
	asm volatile("" ::: "memory");
	c->avail[q][1] = c->next_avail[q];
	w16(c, NOTIFY + 4 * q, (uint16_t)q);
}

/* Wait until status has NEEDS_RESET, or used->idx reaches want; true if so. */
static bool wait_for(struct nic *c, unsigned q, uint16_t want, bool needs_reset)
{
	uint64_t end = rdtsc() + us_to_tsc(WAIT_US);

	while (rdtsc() < end) {
		if (needs_reset ? (status(c) & S_NEEDS_RESET) != 0 : c->used[q][1] == want)
			return true;
		cpu_relax();
	}
	return false;
}

/* One case: a chain built by fill() on queue q of NIC c must bring NEEDS_RESET. */
static void expect_reset(const char *name, struct nic *c, unsigned q,
			 void (*fill)(struct nic *c, struct desc *d))
{
	if (!nic_start(c)) {
		guest_fail("%s: NIC %u did not start", name, c->n);
		return;
	}
	fill(c, c->desc[q]);
	kick(c, q, 0);
	if (q == 0) {
		/* The receive ring is used when a frame comes: NIC 0 sends one. */
		struct nic *s = &nics[0];
		if (!nic_start(s)) {
			guest_fail("%s: NIC 0 did not start", name);
			return;
		}
		memset(s->buf, 0, HDR_LEN);
		memset(s->buf + HDR_LEN, 0xff, 6);
		s->desc[1][0] = (struct desc){ (uintptr_t)s->buf, HDR_LEN + 60, 0, 0 };
		kick(s, 1, 0);
	}
	if (wait_for(c, q, 0, true))
		guest_printf("hostile-vnet: %s: NEEDS_RESET\n", name);
	else
		guest_fail("%s: status 0x%x, used idx %u: no NEEDS_RESET", name, status(c),
			   c->used[q][1]);
}

static void fill_loop(struct nic *c, struct desc *d)
{
	d[0] = (struct desc){ (uintptr_t)c->buf, 64, D_NEXT, 1 };
	d[1] = (struct desc){ (uintptr_t)c->buf + 64, 64, D_NEXT, 0 };
}

static void fill_outside(struct nic *c, struct desc *d)
{
	d[0] = (struct desc){ (uintptr_t)c->buf, HDR_LEN, D_NEXT, 1 };
	d[1] = (struct desc){ 0x40000000ul, 64, 0, 0 };         /* RAM is 16 MiB */
}

static void fill_wrap(struct nic *c __attribute__((unused)), struct desc *d)
{
	d[0] = (struct desc){ 0xfffffffffffff000ull, 0x2000, 0, 0 };
}

static void fill_len4g(struct nic *c, struct desc *d)
{
	d[0] = (struct desc){ (uintptr_t)c->buf, 0xffffffffu, 0, 0 };
}

static void fill_nested(struct nic *c, struct desc *d)
{
	struct desc *t = (struct desc *)(c->buf + 0x1000), *t2 = t + 4;
	t2[0] = (struct desc){ (uintptr_t)c->buf, 64, 0, 0 };
	t[0] = (struct desc){ (uintptr_t)t2, sizeof(*t2), D_INDIRECT, 0 };
	d[0] = (struct desc){ (uintptr_t)t, sizeof(*t), D_INDIRECT, 0 };
}

static void fill_avail_jump(struct nic *c, struct desc *d)
{
	d[0] = (struct desc){ (uintptr_t)c->buf, 64, 0, 0 };
	c->next_avail[1] += QN + 1;     /* kick() adds the one more */
}

static void fill_rx_outside(struct nic *c __attribute__((unused)), struct desc *d)
{
	d[0] = (struct desc){ 0x40000000ul, 2048, D_WRITE, 0 };
}

/* A chain the device must take and drop, the queue going on. */
static void expect_dropped(const char *name, struct desc d)
{
	struct nic *c = &nics[0];

	if (!nic_start(c)) {
		guest_fail("%s: NIC 0 did not start", name);
		return;
	}
	c->desc[1][0] = d;
	kick(c, 1, 0);
	if (wait_for(c, 1, 1, false) && !(status(c) & S_NEEDS_RESET))
		guest_printf("hostile-vnet: %s: dropped, queue goes on\n", name);
	else
		guest_fail("%s: status 0x%x, used idx %u", name, status(c), c->used[1][1]);
}

static bool nic_find(struct nic *c, unsigned n)
{
	unsigned slot = NIC_SLOT + n;

	c->n = n;
	if (*ecam(slot, 0) != (0x1041u << 16 | 0x1af4)) {
		guest_fail("no virtio-net at 00:%02x.0 (id 0x%x)", slot, *ecam(slot, 0));
		return false;
	}
	*ecam(slot, 0x10) = (uint32_t)BAR_BASE(n);
	*ecam(slot, 0x14) = (uint32_t)MSIX_BASE(n);
	*(volatile uint16_t *)ecam(slot, 0x04) = 0x6;   /* memory decode, bus master */
	c->bar = (volatile uint8_t *)BAR_BASE(n);
	return true;
}

void test_main(void)
{
	if (!time_init() || !nic_find(&nics[0], 0) || !nic_find(&nics[1], 1))
		return;
	expect_reset("loop", &nics[0], 1, fill_loop);
	expect_reset("outside", &nics[0], 1, fill_outside);
	expect_reset("wrap", &nics[0], 1, fill_wrap);
	expect_reset("len4g", &nics[0], 1, fill_len4g);
	expect_reset("nested", &nics[0], 1, fill_nested);
	expect_reset("avail-jump", &nics[0], 1, fill_avail_jump);
	expect_reset("rx-outside", &nics[1], 0, fill_rx_outside);
	expect_dropped("zero-length", (struct desc){ (uintptr_t)nics[0].buf, 0, 0, 0 });
	memset(nics[0].buf, 0, HDR_LEN + 1600);
	expect_dropped("over-mtu", (struct desc){ (uintptr_t)nics[0].buf, HDR_LEN + 1600, 0, 0 });

	/* After all that, a good frame from NIC 0 reaches NIC 1 intact. */
	struct nic *s = &nics[0], *r = &nics[1];
	if (!nic_start(r) || !nic_start(s)) {
		guest_fail("NICs did not start again");
		return;
	}
	r->desc[0][0] = (struct desc){ (uintptr_t)r->buf, 2048, D_WRITE, 0 };
	kick(r, 0, 0);
	memset(s->buf, 0, HDR_LEN);
	for (unsigned i = 0; i < 100; i++)
		s->buf[HDR_LEN + i] = (uint8_t)(i < 6 ? 0xff : i * 3);
	s->desc[1][0] = (struct desc){ (uintptr_t)s->buf, HDR_LEN + 100, 0, 0 };
	kick(s, 1, 0);
	if (!wait_for(r, 0, 1, false)) {
		guest_fail("the good frame did not arrive (status 0x%x)", status(r));
		return;
	}
	uint32_t len = *(volatile uint32_t *)((uintptr_t)r->used[0] + 4 + 4);
	guest_check_eq("received length", len, HDR_LEN + 100);
	guest_check_eq("frame intact", memcmp(r->buf + HDR_LEN, s->buf + HDR_LEN, 100), 0);
	guest_printf("hostile-vnet: good frame after all: %u bytes\n", len);
}
