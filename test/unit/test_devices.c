/*
 * Host tests for devices/: the I/O bus, the 16550A UART, fw_cfg and the
 * scratch MMIO page.  The tests play the guest, going through the bus as
 * the VM layer does where routing matters.
 */
#include <pthread.h>
#include "test/unit/check.h"
#include "devices/iobus.h"
#include "devices/vuart.h"
#include "devices/fwcfg.h"
#include "devices/testmmio.h"
#include "include/kasane/abi.h"

/* ---- iobus ---------------------------------------------------------------- */

/* The vCPU the tests make their accesses as: opaque to devices/, never read. */
static char the_vcpu;
#define VCPU ((struct vcpu *)&the_vcpu)

/* A region table per space, as the board gives the bus. */
struct testbus {
	struct iobus b;
	struct iobus_region pio[16], mmio[16];
};

static struct iobus *testbus_init(struct testbus *t)
{
	iobus_init(&t->b, t->pio, 16, t->mmio, 16);
	return &t->b;
}

/* A port access as the VM layer makes it; *val gets a read's result. */
static int bus_pio(struct iobus *b, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct io_req req = { .vcpu = VCPU, .addr = port, .size = (uint8_t)bytes,
			      .write = !in, .val = in ? 0xdeadbeefcafeULL : *val };
	int r = iobus_pio(b, &req);
	if (r == 0 && in)
		*val = (uint32_t)req.val;
	return r;
}

static int bus_mmio(struct iobus *b, bool write, uint64_t gpa, unsigned bytes, uint64_t *val)
{
	struct io_req req = { .vcpu = VCPU, .addr = gpa, .size = (uint8_t)bytes,
			      .write = write, .val = write ? *val : 0xdeadbeefcafeULL };
	int r = iobus_mmio(b, &req);
	if (r == 0 && !write)
		*val = req.val;
	return r;
}

/* A recording device: port reads return tag + port, MMIO reads a fixed pattern. */
struct rec {
	uint32_t tag;
	int calls;
	bool last_in;
	uint64_t last_addr, last_off, last_val;
	unsigned last_bytes;
	struct vcpu *last_vcpu;
	int fail;
};

static int rec_note(struct rec *r, const struct io_req *req)
{
	r->calls++;
	r->last_in = !req->write;
	r->last_addr = req->addr;
	r->last_off = req->off;
	r->last_bytes = req->size;
	r->last_vcpu = req->vcpu;
	if (req->write)
		r->last_val = req->val;
	return r->fail;
}

static int rec_pio(void *dev, struct io_req *req)
{
	struct rec *r = dev;
	int err = rec_note(r, req);
	if (!err && !req->write)
		req->val = r->tag + req->addr;
	return err;
}

static int rec_mmio(void *dev, struct io_req *req)
{
	struct rec *r = dev;
	int err = rec_note(r, req);
	if (!err && !req->write)
		req->val = 0x1122334455667788ULL;
	return err;
}

TEST(iobus_pio_routing)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct rec a = { .tag = 0x1000 }, c = { .tag = 0x2000 };
	uint32_t v;

	CHECK_EQ(iobus_add(&b->pio, 0x3f8, 8, rec_pio, &a, NULL), 0);
	CHECK_EQ(iobus_add(&b->pio, 0x400, 2, rec_pio, &c, NULL), 0);

	CHECK_EQ(bus_pio(b, true, 0x3fa, 1, &v), 0);
	CHECK_EQ(v, (0x1000 + 0x3fa) & 0xff);           /* masked to the width */
	CHECK_EQ(a.calls, 1);
	CHECK_EQ(a.last_addr, 0x3fa);
	CHECK_EQ(a.last_off, 2);
	CHECK_EQ(bus_pio(b, true, 0x401, 4, &v), 0);
	CHECK_EQ(v, 0x2000 + 0x401);
	CHECK_EQ(c.calls, 1);
	v = 0xabcd1234;
	CHECK_EQ(bus_pio(b, false, 0x3f8, 2, &v), 0);
	CHECK_EQ(a.last_val, 0x1234);                   /* only the written width */
	CHECK_EQ(a.last_bytes, 2);
	CHECK_EQ(a.calls, 2);

	/* Routed by the first port: a 16-bit access at 0x3ff goes to a only. */
	CHECK_EQ(bus_pio(b, true, 0x3ff, 2, &v), 0);
	CHECK_EQ(a.calls, 3);
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(a.last_addr, 0x3ff);

	/* A device error comes back unchanged. */
	c.fail = IOBUS_EINVAL;
	CHECK_EQ(bus_pio(b, false, 0x400, 1, &v), IOBUS_EINVAL);
	/* Bad widths. */
	CHECK_EQ(bus_pio(b, true, 0x3f8, 3, &v), IOBUS_EINVAL);
	CHECK_EQ(bus_pio(b, true, 0x3f8, 8, &v), IOBUS_EINVAL);
	CHECK_EQ(bus_pio(b, true, 0x3f8, 0, &v), IOBUS_EINVAL);
	CHECK_EQ(bus_pio(b, true, 0x3f8, 200, &v), IOBUS_EINVAL);
	/* No region reaches past port 0xffff. */
	struct io_req far = { .addr = 0x103f8, .size = 1 };
	CHECK_EQ(iobus_pio(b, &far), 0);
	CHECK_EQ(far.val, 0xff);
	CHECK_EQ(a.calls, 3);
}

TEST(iobus_pio_overlap)
{
	struct iobus b;
	struct iobus_region slots[16];
	struct rec a = { 0 };

	iobus_init(&b, slots, 16, NULL, 0);
	CHECK_EQ(iobus_add(&b.pio, 0x100, 0x10, rec_pio, &a, NULL), 0);
	CHECK_EQ(iobus_add(&b.pio, 0x10f, 1, rec_pio, &a, NULL), IOBUS_EBUSY);
	CHECK_EQ(iobus_add(&b.pio, 0x0f0, 0x11, rec_pio, &a, NULL), IOBUS_EBUSY);
	CHECK_EQ(iobus_add(&b.pio, 0x0f0, 0x40, rec_pio, &a, NULL), IOBUS_EBUSY);   /* contains it */
	CHECK_EQ(iobus_add(&b.pio, 0x104, 2, rec_pio, &a, NULL), IOBUS_EBUSY);      /* inside it */
	CHECK_EQ(iobus_add(&b.pio, 0x0f0, 0x10, rec_pio, &a, NULL), 0);             /* adjacent below */
	CHECK_EQ(iobus_add(&b.pio, 0x110, 1, rec_pio, &a, NULL), 0);                /* adjacent above */
	CHECK_EQ(iobus_add(&b.pio, 0x200, 0, rec_pio, &a, NULL), IOBUS_EINVAL);
	CHECK_EQ(iobus_add(&b.pio, 0xfff0, 0x11, rec_pio, &a, NULL), IOBUS_EINVAL); /* past 0xffff */
	CHECK_EQ(iobus_add(&b.pio, 0x300, 1, NULL, &a, NULL), IOBUS_EINVAL);        /* no handler */
	CHECK_EQ(iobus_add(&b.pio, 0xfff0, 0x10, rec_pio, &a, NULL), 0);
	CHECK_EQ(b.pio.used, 4);

	/* The table fills up. */
	unsigned added = b.pio.used;
	for (unsigned i = 0; added < 16; i++, added++)
		CHECK_EQ(iobus_add(&b.pio, 0x1000 + 8 * i, 8, rec_pio, &a, NULL), 0);
	CHECK_EQ(iobus_add(&b.pio, 0x8000, 1, rec_pio, &a, NULL), IOBUS_ENOSPC);
	/* The MMIO space has no table at all. */
	CHECK_EQ(iobus_add(&b.mmio, 0x8000, 1, rec_mmio, &a, NULL), IOBUS_ENOSPC);
}

TEST(iobus_pio_unassigned)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct rec a = { 0 };
	uint32_t v;

	CHECK_EQ(iobus_add(&b->pio, 0x60, 1, rec_pio, &a, NULL), 0);
	v = 0;
	CHECK_EQ(bus_pio(b, true, 0x61, 1, &v), 0);
	CHECK_EQ(v, 0xff);
	v = 0;
	CHECK_EQ(bus_pio(b, true, 0x80, 2, &v), 0);
	CHECK_EQ(v, 0xffff);
	v = 0;
	CHECK_EQ(bus_pio(b, true, 0xcf8, 4, &v), 0);
	CHECK_EQ(v, 0xffffffff);
	v = 0x55;
	CHECK_EQ(bus_pio(b, false, 0x61, 1, &v), 0);    /* dropped */
	CHECK_EQ(a.calls, 0);
	CHECK_EQ(b->pio.misses, 4);
}

TEST(iobus_mmio_routing)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct rec a = { 0 }, c = { 0 };
	uint64_t v;

	CHECK_EQ(iobus_add(&b->mmio, 0xfee00000, 0x1000, rec_mmio, &a, NULL), 0);
	CHECK_EQ(iobus_add(&b->mmio, 0xfee01000, 0x1000, rec_mmio, &c, NULL), 0);
	CHECK_EQ(iobus_add(&b->mmio, 0xfee00800, 0x1000, rec_mmio, &c, NULL), IOBUS_EBUSY);
	CHECK_EQ(iobus_add(&b->mmio, 0x1000, 0, rec_mmio, &c, NULL), IOBUS_EINVAL);
	CHECK_EQ(iobus_add(&b->mmio, ~0ULL - 0xfff, 0x2000, rec_mmio, &c, NULL), IOBUS_EINVAL);
	CHECK_EQ(iobus_add(&b->mmio, ~0ULL - 0xfff, 0x1000, rec_mmio, &c, NULL), 0); /* ends at 2^64 */

	CHECK_EQ(bus_mmio(b, false, 0xfee00020, 4, &v), 0);
	CHECK_EQ(v, 0x55667788);                        /* masked to 4 bytes */
	CHECK_EQ(a.calls, 1);
	CHECK_EQ(a.last_addr, 0xfee00020);
	CHECK_EQ(a.last_off, 0x20);
	CHECK_EQ(bus_mmio(b, false, 0xfee00ff8, 8, &v), 0);
	CHECK_EQ(v, 0x1122334455667788ULL);
	v = 0x1234567;
	CHECK_EQ(bus_mmio(b, true, 0xfee01000, 2, &v), 0);
	CHECK_EQ(c.last_val, 0x4567);
	CHECK_EQ(c.calls, 1);

	/* Straddling two devices, a hole, the top of the address space. */
	CHECK_EQ(bus_mmio(b, false, 0xfee00ffc, 8, &v), IOBUS_UNMAPPED);
	CHECK_EQ(bus_mmio(b, true, 0xfee02000, 1, &v), IOBUS_UNMAPPED);
	CHECK_EQ(bus_mmio(b, false, 0xfedfffff, 2, &v), IOBUS_UNMAPPED);
	CHECK_EQ(bus_mmio(b, false, ~0ULL - 3, 8, &v), IOBUS_UNMAPPED);  /* would wrap */
	CHECK_EQ(bus_mmio(b, false, ~0ULL - 7, 8, &v), 0);
	CHECK_EQ(bus_mmio(b, false, 0xfee00000, 3, &v), IOBUS_EINVAL);
	CHECK_EQ(bus_mmio(b, false, 0xfee00000, 16, &v), IOBUS_EINVAL);
	CHECK_EQ(b->mmio.misses, 4);

	CHECK(iobus_mmio_covers(b, 0xfee00000));
	CHECK(iobus_mmio_covers(b, 0xfee01fff));
	CHECK(!iobus_mmio_covers(b, 0xfee02000));
	CHECK(!iobus_mmio_covers(b, 0xfedfffff));

	a.fail = -7;
	CHECK_EQ(bus_mmio(b, true, 0xfee00000, 1, &v), -7);
}

TEST(iobus_counters)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct rec a = { 0 }, c = { 0 };
	struct iobus_region *rtc, *uart, *page;
	uint32_t v = 0;
	uint64_t w = 0;

	CHECK_EQ(iobus_add(&b->pio, 0x70, 2, rec_pio, &a, &rtc), 0);
	CHECK_EQ(iobus_add(&b->pio, 0x3f8, 8, rec_pio, &c, &uart), 0);
	CHECK_EQ(iobus_add(&b->mmio, 0x10000, 0x100, rec_mmio, &a, &page), 0);
	for (int i = 0; i < 5; i++)
		bus_pio(b, false, 0x70, 1, &v);
	for (int i = 0; i < 3; i++)
		bus_pio(b, true, 0x3fd, 1, &v);
	for (int i = 0; i < 2; i++)
		bus_mmio(b, false, 0x10010, 4, &w);
	bus_pio(b, true, 0x71, 1, &v);
	CHECK_EQ(rtc->count, 6);
	CHECK_EQ(uart->count, 3);
	CHECK_EQ(page->count, 2);
	CHECK_EQ(b->pio.misses, 0);
	CHECK_EQ(b->mmio.misses, 0);
}

/* The handler gets the whole request: vCPU, address, offset, width, direction. */
TEST(iobus_request)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct rec a = { .tag = 0x100 }, m = { 0 };
	char other;
	struct vcpu *v2 = (struct vcpu *)&other;

	CHECK_EQ(iobus_add(&b->pio, 0xcf8, 8, rec_pio, &a, NULL), 0);
	CHECK_EQ(iobus_add(&b->mmio, 0xe0000000, 0x10000, rec_mmio, &m, NULL), 0);

	struct io_req req = { .vcpu = VCPU, .addr = 0xcfe, .size = 2 };
	CHECK_EQ(iobus_pio(b, &req), 0);
	CHECK(a.last_vcpu == VCPU);
	CHECK_EQ(a.last_addr, 0xcfe);
	CHECK_EQ(a.last_off, 6);
	CHECK_EQ(a.last_bytes, 2);
	CHECK(a.last_in);
	CHECK_EQ(req.val, (0x100 + 0xcfe) & 0xffff);
	CHECK_EQ(req.off, 6);

	req = (struct io_req){ .vcpu = v2, .addr = 0xe0001234, .size = 8, .write = true,
			       .val = 0x8877665544332211ULL };
	CHECK_EQ(iobus_mmio(b, &req), 0);
	CHECK(m.last_vcpu == v2);
	CHECK_EQ(m.last_off, 0x1234);
	CHECK(!m.last_in);
	CHECK_EQ(m.last_val, 0x8877665544332211ULL);
}

TEST(iobus_move_remove)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct rec a = { .tag = 0xa000 }, c = { .tag = 0xc000 }, d = { .tag = 0xd000 };
	struct iobus_region *ra, *rc, *rd;
	uint32_t v;

	CHECK_EQ(iobus_add(&b->pio, 0x100, 8, rec_pio, &a, &ra), 0);
	CHECK_EQ(iobus_add(&b->pio, 0x200, 8, rec_pio, &c, &rc), 0);
	CHECK_EQ(bus_pio(b, true, 0x104, 1, &v), 0);
	CHECK_EQ(a.last_off, 4);

	/* Moved: the old ports are unassigned, the new ones reach a at the same offsets. */
	CHECK_EQ(iobus_move(ra, 0x300), 0);
	CHECK_EQ(bus_pio(b, true, 0x104, 1, &v), 0);
	CHECK_EQ(v, 0xff);
	CHECK_EQ(bus_pio(b, true, 0x304, 2, &v), 0);
	CHECK_EQ(v, 0xa000 + 0x304);
	CHECK_EQ(a.last_addr, 0x304);
	CHECK_EQ(a.last_off, 4);
	CHECK_EQ(a.calls, 2);
	CHECK_EQ(ra->count, 2);                         /* the count moves along */

	/* Overlaps on move: refused, the region stays where it was. */
	CHECK_EQ(iobus_move(ra, 0x1fc), IOBUS_EBUSY);   /* its end onto c */
	CHECK_EQ(iobus_move(ra, 0x207), IOBUS_EBUSY);   /* its start onto c's end */
	CHECK_EQ(iobus_move(ra, 0xfffc), IOBUS_EINVAL); /* past port 0xffff */
	CHECK_EQ(ra->base, 0x300);
	CHECK_EQ(bus_pio(b, true, 0x300, 1, &v), 0);
	CHECK_EQ(a.calls, 3);
	CHECK_EQ(iobus_move(ra, 0x1f8), 0);             /* adjacent below c */
	CHECK_EQ(iobus_move(ra, 0x1fc), IOBUS_EBUSY);
	CHECK_EQ(iobus_move(ra, 0x1f4), 0);             /* over part of itself */
	CHECK_EQ(iobus_move(ra, 0x1f4), 0);             /* where it is */
	CHECK_EQ(bus_pio(b, true, 0x1fb, 1, &v), 0);
	CHECK_EQ(a.last_off, 7);
	CHECK_EQ(bus_pio(b, true, 0x1fc, 1, &v), 0);
	CHECK_EQ(v, 0xff);
	CHECK_EQ(iobus_move(ra, 0xfff8), 0);            /* up to the last port */

	/* Removed: unassigned, and the handle is dead. */
	CHECK_EQ(iobus_remove(rc), 0);
	CHECK_EQ(bus_pio(b, true, 0x200, 1, &v), 0);
	CHECK_EQ(v, 0xff);
	CHECK_EQ(c.calls, 0);
	CHECK_EQ(iobus_remove(rc), IOBUS_EINVAL);
	CHECK_EQ(iobus_move(rc, 0x400), IOBUS_EINVAL);
	/* Its ports are free again; a new device takes them (and the free slot). */
	CHECK_EQ(iobus_move(ra, 0x200), 0);
	CHECK_EQ(iobus_move(ra, 0xfff8), 0);
	CHECK_EQ(iobus_add(&b->pio, 0x200, 8, rec_pio, &d, &rd), 0);
	CHECK(rd == rc);
	CHECK_EQ(rd->count, 0);
	CHECK_EQ(bus_pio(b, true, 0x203, 1, &v), 0);
	CHECK_EQ(v, (0xd000 + 0x203) & 0xff);
	CHECK_EQ(d.last_off, 3);
	CHECK_EQ(c.calls, 0);

	/* MMIO: the same, with the whole access inside the moved region. */
	struct rec m = { 0 };
	struct iobus_region *rm;
	uint64_t w;
	CHECK_EQ(iobus_add(&b->mmio, 0xfebf0000, 0x1000, rec_mmio, &m, &rm), 0);
	CHECK_EQ(iobus_add(&b->mmio, 0xfebf2000, 0x1000, rec_mmio, &m, NULL), 0);
	CHECK_EQ(iobus_move(rm, 0xfebf1800), IOBUS_EBUSY);
	CHECK_EQ(iobus_move(rm, ~0ULL - 0xffe), IOBUS_EINVAL);  /* would wrap */
	CHECK_EQ(iobus_move(rm, 0xfebf1000), 0);
	CHECK(!iobus_mmio_covers(b, 0xfebf0000));
	CHECK(iobus_mmio_covers(b, 0xfebf1000));
	CHECK_EQ(bus_mmio(b, false, 0xfebf0ffc, 4, &w), IOBUS_UNMAPPED);
	CHECK_EQ(bus_mmio(b, false, 0xfebf1ffc, 8, &w), IOBUS_UNMAPPED);  /* straddles */
	CHECK_EQ(bus_mmio(b, false, 0xfebf1ff8, 8, &w), 0);
	CHECK_EQ(m.last_off, 0xff8);
	CHECK_EQ(iobus_move(rm, ~0ULL - 0xfff), 0);             /* ends at 2^64 */
	CHECK_EQ(bus_mmio(b, false, ~0ULL - 7, 8, &w), 0);
	CHECK_EQ(m.last_off, 0xff8);
	CHECK_EQ(iobus_remove(rm), 0);
	CHECK(!iobus_mmio_covers(b, ~0ULL));
}

TEST(iobus_capacity)
{
	struct iobus b;
	struct iobus_region pio[3], mmio[1];
	struct iobus_region *r[3], *x;
	struct rec a = { 0 };
	uint32_t v;

	iobus_init(&b, pio, 3, mmio, 1);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(iobus_add(&b.pio, 0x10 * i, 4, rec_pio, &a, &r[i]), 0);
	CHECK_EQ(iobus_add(&b.pio, 0x100, 4, rec_pio, &a, &x), IOBUS_ENOSPC);
	CHECK_EQ(iobus_add(&b.mmio, 0x1000, 0x1000, rec_mmio, &a, NULL), 0);
	CHECK_EQ(iobus_add(&b.mmio, 0x3000, 0x1000, rec_mmio, &a, NULL), IOBUS_ENOSPC);

	/* A removed region's slot is taken again. */
	CHECK_EQ(iobus_remove(r[1]), 0);
	CHECK_EQ(b.pio.used, 3);
	CHECK_EQ(iobus_add(&b.pio, 0x100, 4, rec_pio, &a, &x), 0);
	CHECK(x == r[1]);
	CHECK_EQ(iobus_add(&b.pio, 0x200, 4, rec_pio, &a, NULL), IOBUS_ENOSPC);
	CHECK_EQ(bus_pio(&b, true, 0x101, 1, &v), 0);
	CHECK_EQ(a.last_off, 1);

	/* Lookups scan only up to the last live slot. */
	CHECK_EQ(iobus_remove(r[0]), 0);
	CHECK_EQ(b.pio.used, 3);                        /* a hole at slot 0 */
	CHECK_EQ(iobus_remove(r[2]), 0);
	CHECK_EQ(b.pio.used, 2);
	CHECK_EQ(iobus_remove(x), 0);
	CHECK_EQ(b.pio.used, 0);
	CHECK_EQ(bus_pio(&b, true, 0x0, 1, &v), 0);
	CHECK_EQ(v, 0xff);

	/* A bus with no tables: every access misses. */
	iobus_init(&b, NULL, 0, NULL, 0);
	CHECK_EQ(iobus_add(&b.pio, 0x10, 1, rec_pio, &a, NULL), IOBUS_ENOSPC);
	CHECK_EQ(bus_pio(&b, true, 0x10, 1, &v), 0);
	CHECK_EQ(v, 0xff);
}

/* A handler may change the bus itself, as a PCI config write moving a BAR does. */
struct mover {
	struct iobus *b;
	struct iobus_region *target;
	int calls;
};

static int mover_pio(void *dev, struct io_req *req)
{
	struct mover *m = dev;
	m->calls++;
	if (req->write)
		return iobus_move(m->target, req->val);
	return 0;
}

TEST(iobus_handler_moves_region)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct rec bar = { 0 };
	struct mover m = { .b = b };
	uint32_t v;
	uint64_t w;

	CHECK_EQ(iobus_add(&b->pio, 0xcfc, 4, mover_pio, &m, NULL), 0);
	CHECK_EQ(iobus_add(&b->mmio, 0xc0000000, 0x1000, rec_mmio, &bar, &m.target), 0);
	v = 0xc0100000;
	CHECK_EQ(bus_pio(b, false, 0xcfc, 4, &v), 0);
	CHECK_EQ(m.calls, 1);
	CHECK_EQ(bus_mmio(b, false, 0xc0000000, 4, &w), IOBUS_UNMAPPED);
	CHECK_EQ(bus_mmio(b, false, 0xc0100010, 4, &w), 0);
	CHECK_EQ(bar.last_off, 0x10);
	/* Its own port space too: the lock is not held across the handler. */
	struct iobus_region *self;
	CHECK_EQ(iobus_add(&b->pio, 0x100, 4, mover_pio, &m, &self), 0);
	m.target = self;
	v = 0x180;
	CHECK_EQ(bus_pio(b, false, 0x100, 1, &v), 0);
	CHECK_EQ(self->base, 0x80);                     /* 0x180 masked to one byte */
}

/* ---- iobus under concurrent change -------------------------------------------- */

/*
 * One thread moves a region between RACE_A and RACE_B and swaps the device
 * of another (remove, then add with the other device) while readers
 * dispatch: every access must reach the region where it was at one moment,
 * with the offset it had there, or miss; never a torn entry (a base from one
 * place and an end from the other, or one device's handler with another's
 * state).  A move from B to A stores the new base first, so a reader that
 * took a torn copy would see the region span the gap between the places.
 */
#define RACE_A          0x10000ULL
#define RACE_B          0x20000ULL
#define RACE_GAP        0x18000ULL
#define RACE_LEN        0x100
#define RACE_SWAP       0x30000ULL
#define RACE_READERS    2
#define RACE_MOVES      4000000UL         /* at least, and while readers run */
#define RACE_ROUNDS     50000UL         /* per reader, at least */

static struct {
	struct iobus b;
	struct iobus_region mmio[8];
	struct iobus_region *moving, *swap;
	int dev_m, dev_x, dev_y;
	unsigned long moves;            /* made so far */
	unsigned readers_done;
	unsigned long bad, calls_m, hits_m;
} race;

static void race_bad(void)
{
	__atomic_fetch_add(&race.bad, 1, __ATOMIC_RELAXED);
}

/* Reads return the base the access was routed to. */
static int race_moving(void *dev, struct io_req *req)
{
	__atomic_fetch_add(&race.calls_m, 1, __ATOMIC_RELAXED);
	if (dev != &race.dev_m || req->vcpu != VCPU || req->off >= RACE_LEN)
		race_bad();
	req->val = req->addr - req->off;
	return 0;
}

static int race_x(void *dev, struct io_req *req)
{
	if (dev != &race.dev_x)
		race_bad();
	req->val = 'x';
	return 0;
}

static int race_y(void *dev, struct io_req *req)
{
	if (dev != &race.dev_y)
		race_bad();
	req->val = 'y';
	return 0;
}

/* An access that must miss, or hit the moving region at base a or b with reads giving it. */
static void race_probe(uint64_t gpa, unsigned size, bool may_hit)
{
	uint64_t v = 0;
	int r = bus_mmio(&race.b, false, gpa, size, &v);

	if (r == IOBUS_UNMAPPED)
		return;
	if (r != 0 || !may_hit || (v != RACE_A && v != RACE_B) || gpa - v >= RACE_LEN)
		race_bad();
	else
		__atomic_fetch_add(&race.hits_m, 1, __ATOMIC_RELAXED);
}

/* The swapped region: missing, or one device whole. */
static void race_probe_swap(void)
{
	uint64_t v = 0;
	int r = bus_mmio(&race.b, false, RACE_SWAP + 4, 1, &v);

	if (r != IOBUS_UNMAPPED && (r != 0 || (v != 'x' && v != 'y')))
		race_bad();
}

static void *race_reader(void *arg)
{
	(void)arg;
	for (unsigned long i = 0;
	     i < RACE_ROUNDS || __atomic_load_n(&race.moves, __ATOMIC_RELAXED) < RACE_MOVES; i++) {
		/* Mostly where a torn copy would show. */
		race_probe(RACE_GAP, 1, false);
		race_probe_swap();
		race_probe(RACE_A + 0x10, 4, true);
		race_probe(RACE_GAP + 0x800, 2, false);
		race_probe_swap();
		race_probe(RACE_B + RACE_LEN - 8, 8, true);
		if (!(i & 7)) {
			race_probe(RACE_B + RACE_LEN - 4, 8, false);    /* past its end */
			race_probe(RACE_A - 4, 8, false);               /* before its start */
		}
	}
	__atomic_fetch_add(&race.readers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *race_mover(void *arg)
{
	(void)arg;
	for (unsigned long i = 0;
	     i < RACE_MOVES || __atomic_load_n(&race.readers_done, __ATOMIC_ACQUIRE) < RACE_READERS;
	     i++) {
		if (iobus_move(race.moving, (i & 1) ? RACE_A : RACE_B) != 0)
			race_bad();
		{
			bool x = i & 1;
			if (iobus_remove(race.swap) != 0 ||
			    iobus_add(&race.b.mmio, RACE_SWAP, 0x10, x ? race_x : race_y,
				      x ? &race.dev_x : &race.dev_y, &race.swap) != 0)
				race_bad();
		}
		__atomic_store_n(&race.moves, i + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(iobus_concurrent_moves)
{
	pthread_t mover, reader[RACE_READERS];

	iobus_init(&race.b, NULL, 0, race.mmio, 8);
	CHECK_EQ(iobus_add(&race.b.mmio, RACE_A, RACE_LEN, race_moving, &race.dev_m, &race.moving), 0);
	CHECK_EQ(iobus_add(&race.b.mmio, RACE_SWAP, 0x10, race_x, &race.dev_x, &race.swap), 0);
	CHECK_EQ(pthread_create(&mover, NULL, race_mover, NULL), 0);
	for (int i = 0; i < RACE_READERS; i++)
		CHECK_EQ(pthread_create(&reader[i], NULL, race_reader, NULL), 0);
	for (int i = 0; i < RACE_READERS; i++)
		pthread_join(reader[i], NULL);
	pthread_join(mover, NULL);

	CHECK_EQ(race.bad, 0);
	CHECK(race.moves >= RACE_MOVES);
	CHECK_EQ(race.calls_m, race.hits_m);            /* each hit called the handler once */
	CHECK_EQ(race.moving->count, race.hits_m);
	CHECK_EQ(race.moving->base, (race.moves & 1) ? RACE_B : RACE_A);   /* the last move's */
}

/* ---- vuart ---------------------------------------------------------------- */

#define COM1 GUEST_COM1_PORT

/* Collects delivered lines, as the VM layer's console would. */
struct sink {
	const char *name;
	char out[2048];
	int nr_lines;
	size_t last_len;
};

static void sink_line(void *ctx, const char *line, size_t len)
{
	struct sink *s = ctx;
	size_t used = strlen(s->out);

	CHECK_EQ(strlen(line), len);                    /* NUL-terminated too */
	snprintf(s->out + used, sizeof(s->out) - used, "[%s] %.*s\n", s->name, (int)len, line);
	s->nr_lines++;
	s->last_len = len;
}

/* The handler called directly, as the bus would for the UART at COM1. */
static int uart_io(struct vuart *v, bool in, unsigned reg, unsigned bytes, uint32_t *val)
{
	struct io_req req = { .vcpu = VCPU, .addr = COM1 + reg, .off = reg, .size = (uint8_t)bytes,
			      .write = !in, .val = in ? 0xdeadbeef : *val };
	int r = vuart_pio(v, &req);
	if (in)
		*val = (uint32_t)req.val;
	return r;
}

static void uart_out(struct vuart *v, unsigned reg, uint8_t val)
{
	uint32_t x = val;
	CHECK_EQ(uart_io(v, false, reg, 1, &x), 0);
}

static uint8_t uart_in(struct vuart *v, unsigned reg)
{
	uint32_t x = 0xdeadbeef;
	CHECK_EQ(uart_io(v, true, reg, 1, &x), 0);
	CHECK(x <= 0xff);
	return (uint8_t)x;
}

static void uart_puts(struct vuart *v, const char *s)
{
	while (*s)
		uart_out(v, UART_THR, (uint8_t)*s++);
}

TEST(vuart_lines)
{
	struct vuart u1, u2;
	struct sink s = { .name = "vm" };
	struct sink t = { .name = "other" };
	struct testbus tb;
	struct iobus *b = testbus_init(&tb);
	uint32_t x;

	vuart_init(&u1, sink_line, &s);
	vuart_init(&u2, sink_line, &t);
	CHECK_EQ(iobus_add(&b->pio, COM1, VUART_NR_PORTS, vuart_pio, &u1, NULL), 0);
	CHECK_EQ(iobus_add(&b->pio, 0x2f8, VUART_NR_PORTS, vuart_pio, &u2, NULL), 0);

	uart_puts(&u1, "hel");
	uart_puts(&u2, "second ");
	uart_puts(&u1, "lo\r\n");
	CHECK_STR(s.out, "[vm] hello\n");
	CHECK_EQ(t.nr_lines, 0);
	uart_puts(&u2, "uart\n\n");
	CHECK_STR(t.out, "[other] second uart\n[other] \n");    /* empty line kept */
	CHECK_EQ(t.last_len, 0);

	/* Through the bus, with a 16-bit OUT: a byte write of the low byte to THR. */
	x = 0x4121;     /* '!' */
	CHECK_EQ(bus_pio(b, false, COM1, 2, &x), 0);
	x = '\n';
	CHECK_EQ(bus_pio(b, false, COM1, 4, &x), 0);
	CHECK_STR(s.out, "[vm] hello\n[vm] !\n");
	CHECK_EQ(u1.tx_bytes, 9);              /* "hello\r\n!\n" */
	CHECK_EQ(u1.lines, 2);
}

TEST(vuart_sanitize)
{
	struct vuart u;
	struct sink s = { .name = "g" };

	vuart_init(&u, sink_line, &s);
	uart_puts(&u, "a\x1b[2Jb\tc\x7f\x01");
	uart_out(&u, UART_THR, 0x80);
	uart_out(&u, UART_THR, 0xff);
	uart_out(&u, UART_THR, 0);
	uart_puts(&u, "\r\r\rz\n");
	CHECK_STR(s.out, "[g] a.[2Jb\tc.....z\n");
}

TEST(vuart_long_line_and_flush)
{
	struct vuart u;
	struct sink s = { .name = "g" };
	char exp[2048];

	vuart_init(&u, sink_line, &s);
	for (int i = 0; i < VUART_LINE_MAX + 5; i++)
		uart_out(&u, UART_THR, (uint8_t)('a' + i % 26));
	CHECK_EQ(s.nr_lines, 1);
	CHECK_EQ(s.last_len, VUART_LINE_MAX);
	vuart_flush(&u);
	CHECK_EQ(s.nr_lines, 2);
	CHECK_EQ(s.last_len, 5);
	vuart_flush(&u);                                /* nothing pending: no line */
	CHECK_EQ(s.nr_lines, 2);

	/* "[g] " + the first 200 characters, then "[g] " + the last 5. */
	size_t n = 0;
	for (int i = 0; i < VUART_LINE_MAX + 5; i++) {
		if (i == 0 || i == VUART_LINE_MAX)
			n += (size_t)sprintf(exp + n, "%s[g] ", i ? "\n" : "");
		exp[n++] = (char)('a' + i % 26);
	}
	strcpy(exp + n, "\n");
	CHECK_STR(s.out, exp);

	/* Exactly VUART_LINE_MAX characters, "\r\n": one line, no empty one after. */
	s.nr_lines = 0;
	for (int i = 0; i < VUART_LINE_MAX; i++)
		uart_out(&u, UART_THR, 'x');
	uart_puts(&u, "\r\n");
	CHECK_EQ(s.nr_lines, 1);
	CHECK_EQ(s.last_len, VUART_LINE_MAX);
	uart_puts(&u, "\n");                           /* but a second '\n' is a blank line */
	CHECK_EQ(s.nr_lines, 2);
	CHECK_EQ(s.last_len, 0);
	/* A flush does not count as a wrap. */
	uart_puts(&u, "ab");
	vuart_flush(&u);
	uart_puts(&u, "\n");
	CHECK_EQ(s.nr_lines, 4);
	CHECK_EQ(s.last_len, 0);
}

TEST(vuart_registers)
{
	struct vuart u;
	struct sink s = { .name = "g" };
	uint32_t x;

	vuart_init(&u, sink_line, &s);
	/* Reset values. */
	CHECK_EQ(uart_in(&u, UART_IER), 0);
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(uart_in(&u, UART_LCR), 0);
	CHECK_EQ(uart_in(&u, UART_MCR), 0);
	CHECK_EQ(uart_in(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(uart_in(&u, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);

	/* Scratch. */
	uart_out(&u, UART_SCR, 0xa5);
	CHECK_EQ(uart_in(&u, UART_SCR), 0xa5);
	uart_out(&u, UART_SCR, 0x5a);
	CHECK_EQ(uart_in(&u, UART_SCR), 0x5a);

	/* IER keeps 4 bits; MCR 5. */
	uart_out(&u, UART_IER, 0xf0);
	CHECK_EQ(uart_in(&u, UART_IER), 0);
	uart_out(&u, UART_MCR, 0xeb);
	CHECK_EQ(uart_in(&u, UART_MCR), 0x0b);

	/* DLAB: divisor latch at 0/1, IER and THR untouched. */
	uart_out(&u, UART_IER, UART_IER_ERBFI);
	uart_out(&u, UART_LCR, UART_LCR_DLAB | 0x03);
	uart_out(&u, UART_DLL, 0x0c);
	uart_out(&u, UART_DLM, 0x01);
	CHECK_EQ(uart_in(&u, UART_DLL), 0x0c);
	CHECK_EQ(uart_in(&u, UART_DLM), 0x01);
	CHECK_EQ(uart_in(&u, UART_LCR), 0x83);
	CHECK_EQ(s.nr_lines + u.tx_bytes, 0);           /* nothing transmitted */
	uart_out(&u, UART_LCR, 0x03);
	CHECK_EQ(uart_in(&u, UART_IER), UART_IER_ERBFI);
	CHECK_EQ(u.dll, 0x0c);
	CHECK_EQ(u.dlm, 0x01);
	uart_out(&u, UART_THR, 'x');
	CHECK_EQ(u.tx_bytes, 1);
	CHECK_EQ(u.dll, 0x0c);

	/* A 32-bit IN is a byte read of the first register, zero-extended. */
	x = 0xffffffff;
	CHECK_EQ(uart_io(&u, true, UART_LSR, 4, &x), 0);
	CHECK_EQ(x, UART_LSR_THRE | UART_LSR_TEMT);
	/* Outside the UART. */
	CHECK_EQ(uart_io(&u, true, 8, 1, &x), IOBUS_EINVAL);
	CHECK_EQ(uart_io(&u, true, -1u, 1, &x), IOBUS_EINVAL);
}

TEST(vuart_rx_fifo)
{
	struct vuart u;

	vuart_init(&u, NULL, NULL);
	/* 16450 mode: one holding register. */
	CHECK(vuart_rx(&u, 'a'));
	CHECK(!vuart_rx(&u, 'b'));
	CHECK_EQ(uart_in(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	CHECK_EQ(uart_in(&u, UART_RBR), 'a');
	CHECK_EQ(uart_in(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(uart_in(&u, UART_RBR), 0);             /* empty */

	/* FIFO mode: 16 bytes, in order; the 17th is refused, not lost. */
	uart_out(&u, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
	for (int i = 0; i < VUART_FIFO_SIZE; i++)
		CHECK(vuart_rx(&u, (uint8_t)('A' + i)));
	CHECK(!vuart_rx(&u, '!'));
	CHECK_EQ(u.rx_bytes, 1 + VUART_FIFO_SIZE);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(uart_in(&u, UART_RBR), 'A' + i);
	CHECK(vuart_rx(&u, '1'));                       /* wraps around the ring */
	for (int i = 3; i < VUART_FIFO_SIZE; i++)
		CHECK_EQ(uart_in(&u, UART_RBR), 'A' + i);
	CHECK_EQ(uart_in(&u, UART_RBR), '1');
	CHECK(!(uart_in(&u, UART_LSR) & UART_LSR_DR));

	/* FCR bit 1 clears the receiver FIFO. */
	CHECK(vuart_rx(&u, 'x'));
	uart_out(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	CHECK(!(uart_in(&u, UART_LSR) & UART_LSR_DR));
	/* Leaving FIFO mode clears it too. */
	CHECK(vuart_rx(&u, 'y'));
	uart_out(&u, UART_FCR, 0);
	CHECK(!(uart_in(&u, UART_LSR) & UART_LSR_DR));
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_NO_INT);
}

TEST(vuart_iir_priority)
{
	struct vuart u;

	vuart_init(&u, NULL, NULL);
	CHECK(!vuart_irq_pending(&u));
	/* Pending conditions but nothing enabled: no interrupt. */
	CHECK(vuart_rx(&u, 'a'));
	CHECK(!vuart_irq_pending(&u));
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_NO_INT);

	/* Enabling ETBEI raises THRE at once; received data ranks above it. */
	uart_out(&u, UART_IER, UART_IER_ERBFI | UART_IER_ETBEI | UART_IER_EDSSI);
	CHECK(vuart_irq_pending(&u));
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_RDI);  /* not cleared by reading IIR */
	CHECK_EQ(uart_in(&u, UART_RBR), 'a');
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_THRI);
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_NO_INT);       /* reading IIR cleared THRE */
	CHECK(!vuart_irq_pending(&u));
	/* Writing THR: sent at once, THRE again. */
	uart_out(&u, UART_THR, 'z');
	CHECK(vuart_irq_pending(&u));
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_THRI);

	/* Modem status: lowest priority, cleared by reading MSR. */
	uart_out(&u, UART_MCR, UART_MCR_LOOP);          /* CTS, DSR, DCD drop: deltas */
	uart_out(&u, UART_THR, 'q');                    /* THRE, and loops 'q' back */
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(uart_in(&u, UART_RBR), 'q');
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_THRI);
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_MSI);
	CHECK_EQ(uart_in(&u, UART_MSR), UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_NO_INT);

	/* Receiver line status ranks first: overrun in loopback, cleared by LSR. */
	uart_out(&u, UART_IER, 0x0f);
	uart_out(&u, UART_THR, '1');
	uart_out(&u, UART_THR, '2');                    /* 16450 mode: overruns '1' */
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_RLSI);
	CHECK_EQ(uart_in(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR | UART_LSR_OE);
	CHECK_EQ(uart_in(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(uart_in(&u, UART_RBR), '2');

	/* FIFO mode: below the trigger level it is a character timeout. */
	uart_out(&u, UART_MCR, 0);
	(void)uart_in(&u, UART_MSR);
	uart_out(&u, UART_IER, UART_IER_ERBFI);
	uart_out(&u, UART_FCR, UART_FCR_ENABLE | 0x40);  /* trigger level 4 */
	for (int i = 0; i < 3; i++)
		CHECK(vuart_rx(&u, 'r'));
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_CTI);
	CHECK(vuart_rx(&u, 'r'));
	CHECK_EQ(uart_in(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_RDI);
	CHECK(vuart_irq_pending(&u));
}

TEST(vuart_loopback)
{
	struct vuart u;
	struct sink s = { .name = "g" };

	vuart_init(&u, sink_line, &s);
	uart_out(&u, UART_FCR, UART_FCR_ENABLE);
	uart_out(&u, UART_MCR, UART_MCR_LOOP);
	uart_puts(&u, "ping\n");
	vuart_flush(&u);
	CHECK_EQ(s.nr_lines, 0);                        /* nothing reached the line */
	CHECK(!vuart_rx(&u, 'x'));                      /* input disconnected */
	for (const char *p = "ping\n"; *p; p++)
		CHECK_EQ(uart_in(&u, UART_RBR), *p);
	CHECK(!(uart_in(&u, UART_LSR) & UART_LSR_DR));

	/* MSR reflects MCR: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
	(void)uart_in(&u, UART_MSR);
	uart_out(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	CHECK_EQ(uart_in(&u, UART_MSR), UART_MSR_CTS | UART_MSR_DCTS);
	uart_out(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1 | UART_MCR_OUT2);
	CHECK_EQ(uart_in(&u, UART_MSR), UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD |
		 UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	CHECK_EQ(uart_in(&u, UART_MSR), UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD);
	uart_out(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT2);   /* RI falls */
	CHECK_EQ(uart_in(&u, UART_MSR), UART_MSR_DSR | UART_MSR_DCD | UART_MSR_TERI);
	uart_out(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1 | UART_MCR_OUT2);
	CHECK_EQ(uart_in(&u, UART_MSR), UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD);  /* RI rises: no TERI */

	/* FIFO full in loopback: the new byte is lost, OE set. */
	for (int i = 0; i < VUART_FIFO_SIZE + 1; i++)
		uart_out(&u, UART_THR, (uint8_t)('a' + i));
	CHECK(uart_in(&u, UART_LSR) & UART_LSR_OE);
	for (int i = 0; i < VUART_FIFO_SIZE; i++)
		CHECK_EQ(uart_in(&u, UART_RBR), 'a' + i);
	CHECK(!(uart_in(&u, UART_LSR) & UART_LSR_DR));

	/* Out of loopback: output reaches the line again. */
	uart_out(&u, UART_MCR, 0);
	uart_puts(&u, "pong\n");
	CHECK_STR(s.out, "[g] pong\n");
	CHECK(vuart_rx(&u, 'x'));
}

/* ---- fw_cfg --------------------------------------------------------------- */

/* The handler called directly, as the bus would for the ports at FW_CFG_PORT_SEL. */
static int cfg_pio(struct fwcfg *f, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct io_req req = { .vcpu = VCPU, .addr = port, .off = port - FW_CFG_PORT_SEL,
			      .size = (uint8_t)bytes, .write = !in, .val = in ? 0 : *val };
	int r = fwcfg_pio(f, &req);
	if (in)
		*val = (uint32_t)req.val;
	return r;
}

static void cfg_select(struct fwcfg *f, uint16_t key)
{
	uint32_t v = key;
	CHECK_EQ(cfg_pio(f, false, FW_CFG_PORT_SEL, 2, &v), 0);
}

static uint32_t cfg_read(struct fwcfg *f, unsigned bytes)
{
	uint32_t v = 0xdeadbeef;
	CHECK_EQ(cfg_pio(f, true, FW_CFG_PORT_DATA, bytes, &v), 0);
	return v;
}

static void cfg_read_buf(struct fwcfg *f, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)cfg_read(f, 1);
}

static uint64_t cfg_read_le(struct fwcfg *f, unsigned n)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < n; i++)
		x |= (uint64_t)cfg_read(f, 1) << (8 * i);
	return x;
}

TEST(fwcfg_signature_and_items)
{
	struct fwcfg f;
	uint8_t sig[5] = { 0 };

	fwcfg_init(&f, 512 * MiB + 4096, 3);
	/* Selected at reset. */
	cfg_read_buf(&f, sig, 4);
	CHECK_STR((char *)sig, "QEMU");
	cfg_select(&f, FW_CFG_SIGNATURE);
	cfg_read_buf(&f, sig, 4);
	CHECK_STR((char *)sig, "QEMU");

	cfg_select(&f, FW_CFG_ID);
	CHECK_EQ(cfg_read_le(&f, 4), 1);                /* traditional only, no DMA */
	cfg_select(&f, FW_CFG_RAM_SIZE);
	CHECK_EQ(cfg_read_le(&f, 8), 512 * MiB + 4096);
	cfg_select(&f, FW_CFG_NB_CPUS);
	CHECK_EQ(cfg_read_le(&f, 2), 3);
	cfg_select(&f, FW_CFG_MAX_CPUS);
	CHECK_EQ(cfg_read_le(&f, 2), 3);

	/* Big RAM: all 8 bytes matter. */
	fwcfg_init(&f, 0x0123456789abcdefULL, 0x1234);
	cfg_select(&f, FW_CFG_RAM_SIZE);
	CHECK_EQ(cfg_read_le(&f, 8), 0x0123456789abcdefULL);
	cfg_select(&f, FW_CFG_NB_CPUS);
	CHECK_EQ(cfg_read_le(&f, 2), 0x1234);
}

TEST(fwcfg_wide_reads_and_end)
{
	struct fwcfg f;
	uint32_t v;

	fwcfg_init(&f, 0x1122334455667788ULL, 2);
	cfg_select(&f, FW_CFG_SIGNATURE);
	CHECK_EQ(cfg_read(&f, 4), 0x554d4551);          /* "QEMU", first byte low */
	CHECK_EQ(cfg_read(&f, 1), 0);                   /* past the end */
	CHECK_EQ(cfg_read(&f, 4), 0);

	cfg_select(&f, FW_CFG_RAM_SIZE);
	CHECK_EQ(cfg_read(&f, 2), 0x7788);
	CHECK_EQ(cfg_read(&f, 4), 0x33445566);
	CHECK_EQ(cfg_read(&f, 4), 0x1122);              /* 2 bytes left, then zeros */

	/* Reselecting rewinds, even the same item. */
	cfg_select(&f, FW_CFG_RAM_SIZE);
	CHECK_EQ(cfg_read(&f, 1), 0x88);
	cfg_select(&f, FW_CFG_RAM_SIZE);
	CHECK_EQ(cfg_read(&f, 1), 0x88);

	/* Unknown and arch-local keys are empty; the write-channel bit is ignored. */
	cfg_select(&f, 0x0002);
	CHECK_EQ(cfg_read(&f, 4), 0);
	cfg_select(&f, 0x8000);
	CHECK_EQ(cfg_read(&f, 4), 0);
	cfg_select(&f, 0x3fff);
	CHECK_EQ(cfg_read(&f, 1), 0);
	cfg_select(&f, FW_CFG_WRITE_CHANNEL | FW_CFG_NB_CPUS);
	CHECK_EQ(cfg_read(&f, 2), 2);

	/* Selector reads return the selector; 8-bit selector writes and data writes are ignored. */
	cfg_select(&f, FW_CFG_NB_CPUS);
	v = 0;
	CHECK_EQ(cfg_pio(&f, true, FW_CFG_PORT_SEL, 2, &v), 0);
	CHECK_EQ(v, FW_CFG_NB_CPUS);
	v = FW_CFG_SIGNATURE;
	CHECK_EQ(cfg_pio(&f, false, FW_CFG_PORT_SEL, 1, &v), 0);
	v = 0x12345678;
	CHECK_EQ(cfg_pio(&f, false, FW_CFG_PORT_DATA, 4, &v), 0);
	CHECK_EQ(cfg_read(&f, 2), 2);
	/* A 32-bit write selects with its low 16 bits. */
	v = 0xabcd0000 | FW_CFG_ID;
	CHECK_EQ(cfg_pio(&f, false, FW_CFG_PORT_SEL, 4, &v), 0);
	CHECK_EQ(cfg_read(&f, 4), 1);
	v = 0;
	CHECK_EQ(cfg_pio(&f, true, FW_CFG_PORT_SEL, 4, &v), 0);
	CHECK_EQ(v, FW_CFG_ID);
	CHECK_EQ(cfg_pio(&f, true, 0x512, 1, &v), IOBUS_EINVAL);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

TEST(fwcfg_files)
{
	struct fwcfg f;
	static const char hello[] = "hello, guest";
	static const uint8_t blob[300] = { [0] = 1, [299] = 0xee };
	char name[80];
	uint8_t dir[4 + 3 * 64], buf[300];

	fwcfg_init(&f, 64 * MiB, 1);
	/* Empty directory. */
	cfg_select(&f, FW_CFG_FILE_DIR);
	CHECK_EQ(cfg_read(&f, 4), 0);
	CHECK_EQ(cfg_read(&f, 1), 0);

	CHECK_EQ(fwcfg_add_file(&f, "etc/kasane/hello", hello, sizeof(hello) - 1), 0x20);
	CHECK_EQ(fwcfg_add_file(&f, "etc/kasane/blob", blob, sizeof(blob)), 0x21);
	CHECK_EQ(fwcfg_add_file(&f, "etc/kasane/hello", blob, 1), FWCFG_EEXIST);
	CHECK_EQ(fwcfg_add_file(&f, "", blob, 1), FWCFG_EINVAL);
	memset(name, 'n', sizeof(name));
	name[FW_CFG_NAME_SIZE] = '\0';                  /* 56 characters: no room for NUL */
	CHECK_EQ(fwcfg_add_file(&f, name, blob, 1), FWCFG_EINVAL);
	name[FW_CFG_NAME_SIZE - 1] = '\0';              /* 55: fits */
	CHECK_EQ(fwcfg_add_file(&f, name, blob, 0), 0x22);

	cfg_select(&f, FW_CFG_FILE_DIR);
	cfg_read_buf(&f, dir, sizeof(dir));
	CHECK_EQ(cfg_read(&f, 1), 0);                   /* exactly 4 + 3 * 64 bytes */
	CHECK_EQ(be32(dir), 3);
	CHECK_EQ(be32(dir + 4), sizeof(hello) - 1);
	CHECK_EQ(be16(dir + 8), 0x20);
	CHECK_EQ(be16(dir + 10), 0);
	CHECK_STR((char *)dir + 12, "etc/kasane/hello");
	CHECK_EQ(be32(dir + 68), 300);
	CHECK_EQ(be16(dir + 72), 0x21);
	CHECK_STR((char *)dir + 76, "etc/kasane/blob");
	for (int i = 76 + 15; i < 132; i++)
		CHECK_EQ(dir[i], 0);                    /* name padded with NULs */
	CHECK_EQ(be32(dir + 132), 0);
	CHECK_EQ(be16(dir + 136), 0x22);
	CHECK_EQ(strlen((char *)dir + 140), 55);

	/* Wide directory reads: the count comes out byte-swapped, as BE bytes read LE. */
	cfg_select(&f, FW_CFG_FILE_DIR);
	CHECK_EQ(cfg_read(&f, 4), 0x03000000);

	/* File contents. */
	cfg_select(&f, 0x20);
	cfg_read_buf(&f, buf, sizeof(hello) - 1);
	CHECK(memcmp(buf, hello, sizeof(hello) - 1) == 0);
	CHECK_EQ(cfg_read(&f, 1), 0);
	cfg_select(&f, 0x21);
	cfg_read_buf(&f, buf, sizeof(blob));
	CHECK(memcmp(buf, blob, sizeof(blob)) == 0);
	CHECK_EQ(cfg_read(&f, 4), 0);
	cfg_select(&f, 0x22);
	CHECK_EQ(cfg_read(&f, 4), 0);
	cfg_select(&f, 0x23);                           /* no such file */
	CHECK_EQ(cfg_read(&f, 4), 0);

	/* Bounded count. */
	int added = 3;
	for (int i = 0; added < FWCFG_MAX_FILES; i++, added++) {
		snprintf(name, sizeof(name), "etc/f%d", i);
		CHECK_EQ(fwcfg_add_file(&f, name, blob, 1), 0x20 + added);
	}
	CHECK_EQ(fwcfg_add_file(&f, "etc/one-too-many", blob, 1), FWCFG_ENOSPC);
	cfg_select(&f, FW_CFG_FILE_DIR);
	CHECK_EQ(cfg_read_le(&f, 4), (uint32_t)FWCFG_MAX_FILES << 24);
}

TEST(fwcfg_through_bus)
{
	struct testbus t;
	struct iobus *b = testbus_init(&t);
	struct iobus_region *r;
	struct fwcfg f;
	uint32_t v;

	fwcfg_init(&f, 128 * MiB, 2);
	CHECK_EQ(iobus_add(&b->pio, FW_CFG_PORT_SEL, 2, fwcfg_pio, &f, &r), 0);
	v = FW_CFG_SIGNATURE;
	CHECK_EQ(bus_pio(b, false, FW_CFG_PORT_SEL, 2, &v), 0);
	CHECK_EQ(bus_pio(b, true, FW_CFG_PORT_DATA, 4, &v), 0);
	CHECK_EQ(v, 0x554d4551);
	/* An 8-bit read of the selector port: its low byte. */
	v = FW_CFG_FILE_DIR | 0x100;
	CHECK_EQ(bus_pio(b, false, FW_CFG_PORT_SEL, 2, &v), 0);
	CHECK_EQ(bus_pio(b, true, FW_CFG_PORT_SEL, 1, &v), 0);
	CHECK_EQ(v, FW_CFG_FILE_DIR);
	CHECK_EQ(bus_pio(b, true, FW_CFG_PORT_SEL, 2, &v), 0);
	CHECK_EQ(v, FW_CFG_FILE_DIR | 0x100);
	/* Decoded by offset: it works wherever its ports are. */
	CHECK_EQ(iobus_move(r, 0x600), 0);
	v = FW_CFG_SIGNATURE;
	CHECK_EQ(bus_pio(b, false, 0x600, 2, &v), 0);
	CHECK_EQ(bus_pio(b, true, 0x601, 2, &v), 0);
	CHECK_EQ(v, 0x4551);
	CHECK_EQ(bus_pio(b, true, FW_CFG_PORT_DATA, 1, &v), 0);
	CHECK_EQ(v, 0xff);
}

/* ---- testmmio ------------------------------------------------------------- */

/* The handler called directly, as the bus would for the page at GUEST_TEST_MMIO_BASE. */
static int tm_access(struct testmmio *t, bool write, uint64_t gpa, unsigned bytes, uint64_t *val)
{
	struct io_req req = { .vcpu = VCPU, .addr = gpa, .off = gpa - GUEST_TEST_MMIO_BASE,
			      .size = (uint8_t)bytes, .write = write, .val = write ? *val : 0 };
	int r = testmmio_access(t, &req);
	if (!write)
		*val = req.val;
	return r;
}

TEST(testmmio_widths)
{
	static struct testmmio t;
	const gpa_t B = GUEST_TEST_MMIO_BASE;
	uint64_t v;

	testmmio_init(&t);
	for (unsigned off = 0; off < GUEST_TEST_MMIO_SIZE; off += 8) {
		CHECK_EQ(tm_access(&t, false, B + off, 8, &v), 0);
		CHECK_EQ(v, 0);
	}
	v = 0x8877665544332211ULL;
	CHECK_EQ(tm_access(&t, true, B + 0x100, 8, &v), 0);
	CHECK_EQ(tm_access(&t, false, B + 0x100, 1, &v), 0);
	CHECK_EQ(v, 0x11);
	CHECK_EQ(tm_access(&t, false, B + 0x101, 2, &v), 0);   /* unaligned */
	CHECK_EQ(v, 0x3322);
	CHECK_EQ(tm_access(&t, false, B + 0x103, 4, &v), 0);
	CHECK_EQ(v, 0x77665544);
	v = 0xabcd;
	CHECK_EQ(tm_access(&t, true, B + 0x102, 1, &v), 0);    /* only one byte */
	CHECK_EQ(tm_access(&t, false, B + 0x100, 8, &v), 0);
	CHECK_EQ(v, 0x8877665544cd2211ULL);

	/* The last bytes of the page. */
	v = 0x0102030405060708ULL;
	CHECK_EQ(tm_access(&t, true, B + GUEST_TEST_MMIO_SIZE - 8, 8, &v), 0);
	CHECK_EQ(tm_access(&t, false, B + GUEST_TEST_MMIO_SIZE - 1, 1, &v), 0);
	CHECK_EQ(v, 0x01);
}

TEST(testmmio_errors)
{
	static struct testmmio t;
	const gpa_t B = GUEST_TEST_MMIO_BASE;
	uint64_t v = 0;

	testmmio_init(&t);
	CHECK_EQ(tm_access(&t, false, B + GUEST_TEST_MMIO_SIZE - 4, 8, &v), IOBUS_EINVAL);
	CHECK_EQ(tm_access(&t, true, B + GUEST_TEST_MMIO_SIZE - 1, 2, &v), IOBUS_EINVAL);
	CHECK_EQ(tm_access(&t, false, B + GUEST_TEST_MMIO_SIZE, 1, &v), IOBUS_EINVAL);
	CHECK_EQ(tm_access(&t, false, B - 1, 1, &v), IOBUS_EINVAL);
	CHECK_EQ(tm_access(&t, false, B, 3, &v), IOBUS_EINVAL);
	CHECK_EQ(tm_access(&t, false, B, 16, &v), IOBUS_EINVAL);
	CHECK_EQ(tm_access(&t, false, ~0ULL, 8, &v), IOBUS_EINVAL);

	/* Through the bus: a straddle past the page is unmapped there already. */
	struct testbus tb;
	struct iobus *b = testbus_init(&tb);
	struct iobus_region *r;
	CHECK_EQ(iobus_add(&b->mmio, B, GUEST_TEST_MMIO_SIZE, testmmio_access, &t, &r), 0);
	v = 0x5a;
	CHECK_EQ(bus_mmio(b, true, B + 0x10, 1, &v), 0);
	CHECK_EQ(bus_mmio(b, false, B + 0x10, 4, &v), 0);
	CHECK_EQ(v, 0x5a);
	CHECK_EQ(bus_mmio(b, false, B + GUEST_TEST_MMIO_SIZE - 2, 4, &v), IOBUS_UNMAPPED);
	/* Moved, it keeps its contents at the same offsets. */
	CHECK_EQ(iobus_move(r, 0x80000000), 0);
	CHECK_EQ(bus_mmio(b, false, 0x80000010, 1, &v), 0);
	CHECK_EQ(v, 0x5a);
	CHECK_EQ(bus_mmio(b, false, B + 0x10, 1, &v), IOBUS_UNMAPPED);
}

int main(void)
{
	check_start("devices");
	RUN(iobus_pio_routing);
	RUN(iobus_pio_overlap);
	RUN(iobus_pio_unassigned);
	RUN(iobus_mmio_routing);
	RUN(iobus_counters);
	RUN(iobus_request);
	RUN(iobus_move_remove);
	RUN(iobus_capacity);
	RUN(iobus_handler_moves_region);
	RUN(iobus_concurrent_moves);
	RUN(vuart_lines);
	RUN(vuart_sanitize);
	RUN(vuart_long_line_and_flush);
	RUN(vuart_registers);
	RUN(vuart_rx_fifo);
	RUN(vuart_iir_priority);
	RUN(vuart_loopback);
	RUN(fwcfg_signature_and_items);
	RUN(fwcfg_wide_reads_and_end);
	RUN(fwcfg_files);
	RUN(fwcfg_through_bus);
	RUN(testmmio_widths);
	RUN(testmmio_errors);
	return check_finish();
}
