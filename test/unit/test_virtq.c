/*
 * Host tests for virtio/virtq.c: the test plays the guest driver, writing
 * descriptor tables and rings into a guest_mem backed by a heap buffer
 * (ASan catches any access outside it), and checks what the device side
 * pops, pushes and reports.
 */
#include "test/unit/check.h"
#include "virtio/virtq.h"
#include "virtio/virtio.h"

#define RAM_BASE   0x100000ULL
#define RAM_SIZE   (256 * KiB)
#define RAM_END    (RAM_BASE + RAM_SIZE)
#define DESC       (RAM_BASE)
#define AVAIL      (RAM_BASE + 0x8000)
#define USED       (RAM_BASE + 0xa000)
#define DATA       (RAM_BASE + 0x10000)   /* buffers and indirect tables */

static uint8_t *ram;
static struct guest_mem gm;
static char err[128];

/* The guest driver's side of one queue. */
struct drv {
	uint16_t size;
	uint16_t avail_idx;
};

static void *hva(gpa_t gpa)
{
	return ram + (gpa - RAM_BASE);
}

/* Fresh zeroed RAM; a queue of `size` entries, set up as the driver would. */
static void setup(struct virtq *q, struct drv *d, uint16_t size)
{
	free(ram);
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(&gm, 0, sizeof(gm));
	gmem_add(&gm, RAM_BASE, RAM_SIZE, ram);
	memset(err, 0, sizeof(err));
	d->size = size;
	d->avail_idx = 0;
	CHECK_EQ(virtq_init(q, &gm, size, DESC, AVAIL, USED), 0);
}

static void wr16(gpa_t gpa, uint16_t v) { memcpy(hva(gpa), &v, 2); }
static uint16_t rd16(gpa_t gpa) { uint16_t v; memcpy(&v, hva(gpa), 2); return v; }
static uint32_t rd32(gpa_t gpa) { uint32_t v; memcpy(&v, hva(gpa), 4); return v; }

static void put_desc(gpa_t table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc dsc = { addr, len, flags, next };
	memcpy(hva(table + 16ULL * i), &dsc, sizeof(dsc));
}

static void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(DESC, i, addr, len, flags, next);
}

/* Make chain `head` available and publish the new avail->idx. */
static void avail_add(struct drv *d, uint16_t head)
{
	wr16(AVAIL + 4 + 2ULL * (d->avail_idx & (d->size - 1)), head);
	d->avail_idx++;
	wr16(AVAIL + 2, d->avail_idx);
}

static uint16_t used_idx(void) { return rd16(USED + 2); }
static uint32_t used_id(struct drv *d, uint16_t i) { return rd32(USED + 4 + 8ULL * (i & (d->size - 1))); }
static uint32_t used_len(struct drv *d, uint16_t i) { return rd32(USED + 8 + 8ULL * (i & (d->size - 1))); }

/* Pop must fail with a reason containing `why`, and the queue stays broken. */
static void expect_bad(struct virtq *q, const char *why)
{
	struct virtq_chain c;

	err[0] = '\0';
	CHECK_EQ(virtq_pop(q, &gm, &c, err, sizeof(err)), -1);
	CHECK(q->broken);
	if (!strstr(err, why))
		printf("    reason \"%s\" lacks \"%s\"\n", err, why);
	CHECK(strstr(err, why) != NULL);
	CHECK_EQ(virtq_pop(q, &gm, &c, err, sizeof(err)), -1);
	CHECK_EQ(virtq_push(q, &gm, 0, 0), -1);
}

TEST(init_checks)
{
	struct virtq q;
	struct drv d;

	setup(&q, &d, 256);
	CHECK(!q.broken);
	CHECK_EQ(q.last_avail, 0);
	CHECK_EQ(q.used_idx, 0);
	CHECK_EQ(virtq_init(&q, &gm, 0, DESC, AVAIL, USED), -1);
	CHECK(q.broken);
	CHECK_EQ(virtq_init(&q, &gm, 48, DESC, AVAIL, USED), -1);
	CHECK_EQ(virtq_init(&q, &gm, 65535, DESC, AVAIL, USED), -1);
	CHECK_EQ(virtq_init(&q, &gm, 1, DESC, AVAIL, USED), 0);
	CHECK_EQ(virtq_init(&q, &gm, 256, DESC + 8, AVAIL, USED), -1);
	CHECK_EQ(virtq_init(&q, &gm, 256, DESC, AVAIL + 1, USED), -1);
	CHECK_EQ(virtq_init(&q, &gm, 256, DESC, AVAIL, USED + 2), -1);
	CHECK_EQ(virtq_init(&q, &gm, 256, 0x1000, AVAIL, USED), -1);
	/* Each ring must end inside RAM: the used ring of 256 is 2054 bytes. */
	CHECK_EQ(virtq_init(&q, &gm, 256, DESC, AVAIL, RAM_END - 2052), -1);
	CHECK_EQ(virtq_init(&q, &gm, 256, DESC, AVAIL, RAM_END - 2056), 0);
	CHECK_EQ(virtq_init(&q, &gm, 256, RAM_END - 4080, AVAIL, USED), -1);
	CHECK_EQ(virtq_init(&q, &gm, 256, DESC, RAM_END - 516, USED), -1);
	/* 32768 entries need 512 KiB of descriptors: more than this RAM. */
	CHECK_EQ(virtq_init(&q, &gm, 32768, DESC, AVAIL, USED), -1);
	CHECK(q.broken);
}

TEST(uninitialised_queue)
{
	struct virtq q;
	struct virtq_chain c;

	memset(&q, 0, sizeof(q));
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), -1);
	CHECK(q.broken);
	CHECK_EQ(virtq_push(&q, &gm, 0, 0), -1);
	CHECK(!virtq_pending(&q, &gm));
}

TEST(single_descriptor)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;
	char buf[16] = { 0 };

	setup(&q, &d, 8);
	memcpy(hva(DATA), "hello, device", 14);
	set_desc(3, DATA, 14, 0, 0);
	CHECK(!virtq_pending(&q, &gm));
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 0);
	avail_add(&d, 3);
	CHECK(virtq_pending(&q, &gm));
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.head, 3);
	CHECK_EQ(c.nr, 1);
	CHECK_EQ(c.seg[0].addr, DATA);
	CHECK_EQ(c.seg[0].len, 14);
	CHECK(!c.seg[0].write);
	CHECK_EQ(c.out_len, 14);
	CHECK_EQ(c.in_len, 0);
	CHECK_EQ(virtq_chain_read(&gm, &c, 0, buf, sizeof(buf)), 14);
	CHECK_STR(buf, "hello, device");
	CHECK_EQ(virtq_chain_write(&gm, &c, 0, "x", 1), 0);
	CHECK_EQ(q.last_avail, 1);
	CHECK(!virtq_pending(&q, &gm));
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 0);
	CHECK(!q.broken);
}

TEST(multi_descriptor_read_write)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;
	char buf[32] = { 0 };

	setup(&q, &d, 16);
	memcpy(hva(DATA), "abcd", 4);
	memcpy(hva(DATA + 0x100), "efghij", 6);
	set_desc(5, DATA, 4, VIRTQ_DESC_F_NEXT, 9);
	set_desc(9, DATA + 0x100, 6, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, DATA + 0x200, 3, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	set_desc(0, DATA + 0x300, 5, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&d, 5);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.head, 5);
	CHECK_EQ(c.nr, 4);
	CHECK_EQ(c.out_len, 10);
	CHECK_EQ(c.in_len, 8);
	CHECK(!c.seg[1].write);
	CHECK(c.seg[2].write);
	CHECK(c.seg[3].write);

	/* Reads span segments and honour the offset; they stop at the end. */
	CHECK_EQ(virtq_chain_read(&gm, &c, 2, buf, 5), 5);
	CHECK_STR(buf, "cdefg");
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(virtq_chain_read(&gm, &c, 0, buf, sizeof(buf)), 10);
	CHECK_STR(buf, "abcdefghij");
	CHECK_EQ(virtq_chain_read(&gm, &c, 10, buf, 4), 0);
	CHECK_EQ(virtq_chain_read(&gm, &c, 1000, buf, 4), 0);

	/* Writes go only to the writable segments, in order. */
	CHECK_EQ(virtq_chain_write(&gm, &c, 1, "WXYZ", 4), 4);
	CHECK(memcmp(hva(DATA + 0x200), "\0WX", 3) == 0);
	CHECK(memcmp(hva(DATA + 0x300), "YZ\0", 3) == 0);
	CHECK_EQ(virtq_chain_write(&gm, &c, 0, "0123456789", 10), 8);
	CHECK(memcmp(hva(DATA + 0x200), "012", 3) == 0);
	CHECK(memcmp(hva(DATA + 0x300), "34567", 5) == 0);
	CHECK_EQ(rd16(DATA + 0x305), 0);     /* nothing past the segment */
	CHECK(memcmp(hva(DATA), "abcd", 4) == 0);   /* readable part untouched */
}

TEST(zero_length_and_all_writable)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;

	setup(&q, &d, 4);
	set_desc(0, DATA, 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 2, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&d, 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.nr, 2);
	CHECK_EQ(c.out_len, 0);
	CHECK_EQ(c.in_len, 2);
	CHECK_EQ(virtq_chain_write(&gm, &c, 0, "ok!", 3), 2);
	CHECK(memcmp(hva(DATA), "ok", 2) == 0);
}

TEST(indirect_descriptors)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;
	char buf[8] = { 0 };
	const gpa_t tbl = DATA + 0x1000;

	setup(&q, &d, 8);
	q.indirect = true;
	memcpy(hva(DATA), "req", 3);
	put_desc(tbl, 0, DATA, 3, VIRTQ_DESC_F_NEXT, 2);
	put_desc(tbl, 2, DATA + 0x10, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(tbl, 1, DATA + 0x20, 1, VIRTQ_DESC_F_WRITE, 0);
	/* §2.7.5.3.2: the WRITE flag on the table's own descriptor is ignored. */
	set_desc(6, tbl, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	avail_add(&d, 6);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.head, 6);
	CHECK_EQ(c.nr, 3);
	CHECK_EQ(c.seg[0].addr, DATA);
	CHECK_EQ(c.seg[1].addr, DATA + 0x10);
	CHECK_EQ(c.seg[2].addr, DATA + 0x20);
	CHECK_EQ(c.out_len, 3);
	CHECK_EQ(c.in_len, 5);
	CHECK_EQ(virtq_chain_read(&gm, &c, 0, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "req");

	/* Direct descriptors followed by one indirect, in an unaligned table. */
	const gpa_t odd = DATA + 0x2001;
	put_desc(odd, 0, DATA + 0x40, 7, VIRTQ_DESC_F_NEXT, 1);
	put_desc(odd, 1, DATA + 0x50, 9, VIRTQ_DESC_F_WRITE, 0);
	set_desc(1, DATA + 0x30, 2, VIRTQ_DESC_F_NEXT, 4);
	set_desc(4, odd, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 1);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.head, 1);
	CHECK_EQ(c.nr, 3);
	CHECK_EQ(c.seg[0].addr, DATA + 0x30);
	CHECK_EQ(c.seg[1].addr, DATA + 0x40);
	CHECK_EQ(c.seg[1].len, 7);
	CHECK_EQ(c.seg[2].addr, DATA + 0x50);
	CHECK_EQ(c.seg[2].len, 9);
	CHECK(c.seg[2].write);
	CHECK_EQ(c.out_len, 9);
	CHECK_EQ(c.in_len, 9);
	CHECK(!q.broken);
}

TEST(push_and_used_ring)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;

	setup(&q, &d, 4);
	set_desc(2, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	set_desc(3, DATA + 8, 8, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&d, 2);
	avail_add(&d, 3);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.head, 2);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.head, 3);
	/* Completion order is the device's choice. */
	CHECK_EQ(virtq_push(&q, &gm, 3, 5), 0);
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(used_id(&d, 0), 3);
	CHECK_EQ(used_len(&d, 0), 5);
	CHECK_EQ(virtq_push(&q, &gm, 2, 8), 0);
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(used_id(&d, 1), 2);
	CHECK_EQ(used_len(&d, 1), 8);
	CHECK_EQ(q.used_idx, 2);
	/* A head out of range is a device bug: refused, queue not broken. */
	CHECK_EQ(virtq_push(&q, &gm, 4, 0), -1);
	CHECK(!q.broken);
	CHECK_EQ(used_idx(), 2);
}

TEST(index_wraparound)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;

	setup(&q, &d, 4);
	q.last_avail = q.used_idx = 65533;
	d.avail_idx = 65533;
	wr16(AVAIL + 2, 65533);
	wr16(USED + 2, 65533);
	for (uint16_t i = 0; i < 4; i++)
		set_desc(i, DATA + 16 * i, 16, VIRTQ_DESC_F_WRITE, 0);

	/* A full ring across the 16-bit wrap: idx 65533 .. 1. */
	for (uint16_t i = 0; i < 4; i++)
		avail_add(&d, i);
	CHECK_EQ(rd16(AVAIL + 2), 1);
	for (uint16_t i = 0; i < 4; i++) {
		CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
		CHECK_EQ(c.head, i);
		CHECK_EQ(virtq_push(&q, &gm, c.head, 100 + i), 0);
	}
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 0);
	CHECK_EQ(q.last_avail, 1);
	CHECK_EQ(used_idx(), 1);
	for (uint16_t i = 0; i < 4; i++) {
		uint16_t idx = (uint16_t)(65533 + i);
		CHECK_EQ(used_id(&d, idx), i);
		CHECK_EQ(used_len(&d, idx), 100 + i);
	}
	/* One more after the wrap, in slot 1. */
	avail_add(&d, 2);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.head, 2);
	CHECK_EQ(virtq_push(&q, &gm, 2, 7), 0);
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(used_len(&d, 1), 7);
	CHECK(!q.broken);
}

TEST(notify_flags)
{
	struct virtq q;
	struct drv d;

	setup(&q, &d, 8);
	CHECK(!virtq_should_notify(&q, &gm, q.used_idx));   /* nothing pushed */
	CHECK_EQ(virtq_push(&q, &gm, 0, 0), 0);
	CHECK(virtq_should_notify(&q, &gm, 0));
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(!virtq_should_notify(&q, &gm, 0));
	wr16(AVAIL, 0);
	CHECK(virtq_should_notify(&q, &gm, 0));

	/* Device side: used->flags NO_NOTIFY. */
	virtq_set_notify(&q, &gm, false);
	CHECK_EQ(rd16(USED), VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notify(&q, &gm, true);
	CHECK_EQ(rd16(USED), 0);
	CHECK_EQ(rd16(USED + 4 + 8 * 8), 0);   /* avail_event untouched */
}

TEST(notify_event_idx)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;
	const gpa_t used_event = AVAIL + 4 + 2 * 8;
	const gpa_t avail_event = USED + 4 + 8 * 8;

	setup(&q, &d, 8);
	q.event_idx = true;
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);   /* ignored with EVENT_IDX */
	wr16(used_event, 0);
	CHECK_EQ(virtq_push(&q, &gm, 0, 0), 0);
	CHECK(virtq_should_notify(&q, &gm, 0));    /* first push at idx 0 */
	CHECK_EQ(virtq_push(&q, &gm, 1, 0), 0);
	CHECK_EQ(virtq_push(&q, &gm, 2, 0), 0);
	/* Batch of pushes at idx 1 and 2. */
	wr16(used_event, 0);
	CHECK(!virtq_should_notify(&q, &gm, 1));
	wr16(used_event, 1);
	CHECK(virtq_should_notify(&q, &gm, 1));
	wr16(used_event, 2);
	CHECK(virtq_should_notify(&q, &gm, 1));
	wr16(used_event, 3);
	CHECK(!virtq_should_notify(&q, &gm, 1));

	/* Across the wrap: pushes at 65535 and 0. */
	q.used_idx = 65535;
	CHECK_EQ(virtq_push(&q, &gm, 0, 0), 0);
	CHECK_EQ(virtq_push(&q, &gm, 0, 0), 0);
	CHECK_EQ(q.used_idx, 1);
	wr16(used_event, 65535);
	CHECK(virtq_should_notify(&q, &gm, 65535));
	wr16(used_event, 0);
	CHECK(virtq_should_notify(&q, &gm, 65535));
	wr16(used_event, 1);
	CHECK(!virtq_should_notify(&q, &gm, 65535));
	wr16(used_event, 65534);
	CHECK(!virtq_should_notify(&q, &gm, 65535));

	/* Device side: avail_event follows last_avail, flags stay 0. */
	set_desc(0, DATA, 4, 0, 0);
	avail_add(&d, 0);
	avail_add(&d, 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	virtq_set_notify(&q, &gm, true);
	CHECK_EQ(rd16(avail_event), 1);
	CHECK(virtq_pending(&q, &gm));             /* re-check finds the second */
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	virtq_set_notify(&q, &gm, false);
	CHECK_EQ(rd16(avail_event), 1);            /* left behind */
	CHECK_EQ(rd16(USED), 0);
	virtq_set_notify(&q, &gm, true);
	CHECK_EQ(rd16(avail_event), 2);
	CHECK_EQ(rd16(USED), 0);
}

TEST(bad_loop)
{
	struct virtq q;
	struct drv d;

	setup(&q, &d, 8);
	set_desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "loop");

	setup(&q, &d, 8);
	set_desc(5, DATA, 4, VIRTQ_DESC_F_NEXT, 5);
	avail_add(&d, 5);
	expect_bad(&q, "loop");
	CHECK_EQ(q.last_avail, 0);
}

TEST(bad_index)
{
	struct virtq q;
	struct drv d;

	setup(&q, &d, 8);
	avail_add(&d, 8);                      /* head == size */
	expect_bad(&q, "index 8");

	setup(&q, &d, 8);
	set_desc(1, DATA, 4, VIRTQ_DESC_F_NEXT, 0xffff);
	avail_add(&d, 1);
	expect_bad(&q, "index 65535");

	/* Table flush with the end of RAM: an unchecked index would overrun. */
	setup(&q, &d, 8);
	CHECK_EQ(virtq_init(&q, &gm, 8, RAM_END - 128, AVAIL, USED), 0);
	put_desc(RAM_END - 128, 7, DATA, 4, VIRTQ_DESC_F_NEXT, 8);
	avail_add(&d, 7);
	expect_bad(&q, "index 8");
}

TEST(bad_buffer_outside_ram)
{
	struct virtq q;
	struct drv d;

	setup(&q, &d, 8);
	set_desc(0, 0x1000, 16, 0, 0);         /* below RAM */
	avail_add(&d, 0);
	expect_bad(&q, "outside guest RAM");

	setup(&q, &d, 8);
	set_desc(0, RAM_END - 8, 16, VIRTQ_DESC_F_WRITE, 0);   /* straddles the end */
	avail_add(&d, 0);
	expect_bad(&q, "outside guest RAM");

	setup(&q, &d, 8);
	set_desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, 0xfffffffffffffff0ULL, 0x20, VIRTQ_DESC_F_WRITE, 0);   /* wraps */
	avail_add(&d, 0);
	expect_bad(&q, "outside guest RAM");

	/* Exactly up to the end is fine. */
	struct virtq_chain c;
	setup(&q, &d, 8);
	set_desc(0, RAM_END - 16, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&d, 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(virtq_chain_write(&gm, &c, 0, "0123456789abcdefXYZ", 19), 16);
}

TEST(two_regions)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;
	uint8_t *hi = calloc(1, 64 * KiB);
	char buf[4] = { 0 };

	setup(&q, &d, 8);
	CHECK(gmem_add(&gm, 0x200000, 64 * KiB, hi));
	memcpy(hi + 0x10, "hi", 3);
	set_desc(0, 0x200010, 3, 0, 0);
	avail_add(&d, 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(virtq_chain_read(&gm, &c, 0, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "hi");

	set_desc(1, RAM_END - 4, 8, 0, 0);     /* runs into the hole */
	avail_add(&d, 1);
	expect_bad(&q, "outside guest RAM");
	free(hi);
}

TEST(bad_indirect)
{
	struct virtq q;
	struct drv d;
	const gpa_t tbl = DATA + 0x1000;

	setup(&q, &d, 8);                      /* feature not negotiated */
	put_desc(tbl, 0, DATA, 4, 0, 0);
	set_desc(0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "not negotiated");

	setup(&q, &d, 8);
	q.indirect = true;
	put_desc(tbl, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(tbl, 1, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "nested");

	setup(&q, &d, 8);
	q.indirect = true;
	set_desc(0, tbl, 24, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "multiple of 16");

	setup(&q, &d, 8);
	q.indirect = true;
	set_desc(0, tbl, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "multiple of 16");

	setup(&q, &d, 8);
	q.indirect = true;
	set_desc(0, RAM_END - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "indirect table");

	setup(&q, &d, 8);
	q.indirect = true;
	set_desc(0, 0x10, 0xfffffff0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "indirect table");

	setup(&q, &d, 8);
	q.indirect = true;
	put_desc(tbl, 0, DATA, 4, 0, 0);
	set_desc(0, tbl, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 4, 0, 0);
	avail_add(&d, 0);
	expect_bad(&q, "INDIRECT and NEXT");

	setup(&q, &d, 8);
	q.indirect = true;
	put_desc(tbl, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(tbl, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	set_desc(0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "loop");

	setup(&q, &d, 8);
	q.indirect = true;
	put_desc(tbl, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 2);   /* table has 2 entries */
	set_desc(0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "indirect table of 2");
}

TEST(bad_avail_jump)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;

	setup(&q, &d, 8);
	set_desc(0, DATA, 4, 0, 0);
	wr16(AVAIL + 2, 8);                    /* exactly size ahead: fine */
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(q.last_avail, 1);
	wr16(AVAIL + 2, 10);                   /* 9 ahead of 1 */
	expect_bad(&q, "ahead");

	setup(&q, &d, 8);
	q.last_avail = 65530;
	wr16(AVAIL + 2, (uint16_t)(65530 + 9));
	expect_bad(&q, "ahead");

	setup(&q, &d, 8);
	q.last_avail = 5;
	wr16(AVAIL + 2, 4);                    /* went backwards */
	expect_bad(&q, "ahead");
}

TEST(bad_write_then_read)
{
	struct virtq q;
	struct drv d;
	const gpa_t tbl = DATA + 0x1000;

	setup(&q, &d, 8);
	set_desc(0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA + 4, 4, 0, 0);
	avail_add(&d, 0);
	expect_bad(&q, "after a writable");

	/* The order holds across the step into an indirect table. */
	setup(&q, &d, 8);
	q.indirect = true;
	put_desc(tbl, 0, DATA, 4, 0, 0);
	set_desc(0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "after a writable");
}

TEST(too_many_segments)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;

	setup(&q, &d, 128);
	for (uint16_t i = 0; i < VIRTQ_MAX_SEGS; i++)
		set_desc(i, DATA, 1, i + 1 < VIRTQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	avail_add(&d, 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.nr, VIRTQ_MAX_SEGS);
	CHECK_EQ(c.out_len, VIRTQ_MAX_SEGS);

	set_desc(VIRTQ_MAX_SEGS - 1, DATA, 1, VIRTQ_DESC_F_NEXT, VIRTQ_MAX_SEGS);
	set_desc(VIRTQ_MAX_SEGS, DATA, 1, 0, 0);
	avail_add(&d, 0);
	expect_bad(&q, "longer than 64");
}

TEST(chain_over_4gib)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;

	/* A large fake region: pop checks the map only, never touches it. */
	setup(&q, &d, 8);
	CHECK(gmem_add(&gm, 0x100000000ULL, 16 * GiB, ram));
	set_desc(0, 0x100000000ULL, 0xffffffff, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, 0x200000000ULL, 1, 0, 0);
	avail_add(&d, 0);
	expect_bad(&q, "4 GiB");

	setup(&q, &d, 8);
	CHECK(gmem_add(&gm, 0x100000000ULL, 16 * GiB, ram));
	set_desc(0, 0x100000000ULL, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&d, 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.in_len, 0xffffffffU);
}

TEST(chain_bounded_by_queue_size)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;
	const gpa_t tbl = DATA + 0x1000;

	/* An indirect table with more entries than the queue has. */
	setup(&q, &d, 8);
	q.indirect = true;
	for (uint16_t i = 0; i < 9; i++)
		put_desc(tbl, i, DATA, 1, i < 8 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	set_desc(0, tbl, 9 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "more than the queue size 8");

	/* Three in the main table and six in an indirect one: nine buffers. */
	setup(&q, &d, 8);
	q.indirect = true;
	for (uint16_t i = 0; i < 6; i++)
		put_desc(tbl, i, DATA, 1, i < 5 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	set_desc(0, DATA, 1, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 1, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, DATA, 1, VIRTQ_DESC_F_NEXT, 3);
	set_desc(3, tbl, 6 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	expect_bad(&q, "more than 8 buffers");

	/* Two and six: eight, the most a queue of 8 takes. */
	setup(&q, &d, 8);
	q.indirect = true;
	for (uint16_t i = 0; i < 6; i++)
		put_desc(tbl, i, DATA, 1, i < 5 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	set_desc(0, DATA, 1, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 1, VIRTQ_DESC_F_NEXT, 3);
	set_desc(3, tbl, 6 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&d, 0);
	CHECK_EQ(virtq_pop(&q, &gm, &c, err, sizeof(err)), 1);
	CHECK_EQ(c.nr, 8);

	/* A buffer whose end wraps past 2^64. */
	setup(&q, &d, 8);
	set_desc(0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	avail_add(&d, 0);
	expect_bad(&q, "outside guest RAM");
}

TEST(error_text_truncated)
{
	struct virtq q;
	struct drv d;
	struct virtq_chain c;
	char small[8];

	setup(&q, &d, 8);
	avail_add(&d, 200);
	memset(small, 'x', sizeof(small));
	CHECK_EQ(virtq_pop(&q, &gm, &c, small, sizeof(small)), -1);
	CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	CHECK_EQ(virtq_pop(&q, &gm, &c, NULL, 0), -1);
	CHECK(!virtq_should_notify(&q, &gm, 0xffff));
	CHECK(!virtq_pending(&q, &gm));
}

int main(void)
{
	check_start("virtq");
	RUN(init_checks);
	RUN(uninitialised_queue);
	RUN(single_descriptor);
	RUN(multi_descriptor_read_write);
	RUN(zero_length_and_all_writable);
	RUN(indirect_descriptors);
	RUN(push_and_used_ring);
	RUN(index_wraparound);
	RUN(notify_flags);
	RUN(notify_event_idx);
	RUN(bad_loop);
	RUN(bad_index);
	RUN(bad_buffer_outside_ram);
	RUN(two_regions);
	RUN(bad_indirect);
	RUN(bad_avail_jump);
	RUN(bad_write_then_read);
	RUN(too_many_segments);
	RUN(chain_over_4gib);
	RUN(chain_bounded_by_queue_size);
	RUN(error_text_truncated);
	free(ram);
	return check_finish();
}
