/*
 * Host tests for virtio-blk (devices/virtio_blk.c): the request parser
 * (vblk_plan, vblk_dz_check) case by case, then whole requests through
 * the transport: the test writes descriptor chains into a heap-backed
 * guest RAM, kicks the queue through BAR0 and reads the status bytes,
 * the used ring and the disk.
 */
#include "test/unit/check.h"
#include "devices/virtio_blk.h"

#define MiB_ (1024ULL * 1024)
#define DISK  (1 * MiB_)
#define SECTORS (DISK / 512)

static struct vblk_plan plan(uint32_t type, uint64_t sector, uint32_t out, uint32_t in, bool ro)
{
	struct virtio_blk_req_hdr h = { type, 0, sector };
	struct vblk_plan p;

	vblk_plan(&h, out, in, DISK, ro, &p);
	return p;
}

TEST(parser_reads_and_writes)
{
	struct vblk_plan p = plan(VIRTIO_BLK_T_IN, 8, 16, 4096 + 1, false);
	CHECK_EQ(p.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(p.off, 8 * 512);
	CHECK_EQ(p.len, 4096);
	p = plan(VIRTIO_BLK_T_OUT, 2, 16 + 1024, 1, false);
	CHECK_EQ(p.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(p.off, 1024);
	CHECK_EQ(p.len, 1024);
	/* The last sector, exactly, and one past it. */
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, SECTORS - 1, 16, 513, false).status, VIRTIO_BLK_S_OK);
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, SECTORS - 1, 16, 1025, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_OUT, SECTORS, 16 + 512, 1, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, SECTORS, 16, 1, false).status, VIRTIO_BLK_S_OK);
	/* Sector numbers that overflow when turned into bytes. */
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, 1ULL << 55, 16, 513, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, ~0ULL, 16, 513, false).status, VIRTIO_BLK_S_IOERR);
	/* Not whole sectors; data in the wrong direction; a short header. */
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, 0, 16, 100, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_OUT, 0, 16 + 512, 513, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, 0, 16 + 512, 513, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, 0, 15, 513, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, 0, 0, 1, false).status, VIRTIO_BLK_S_IOERR);
	/* A 4 GiB - 1 chain. */
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, 0, 16, 0xffffffff, false).status, VIRTIO_BLK_S_IOERR);
}

TEST(parser_read_only_and_others)
{
	CHECK_EQ(plan(VIRTIO_BLK_T_OUT, 0, 16 + 512, 1, true).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_IN, 0, 16, 513, true).status, VIRTIO_BLK_S_OK);
	CHECK_EQ(plan(VIRTIO_BLK_T_FLUSH, 0, 16, 1, true).status, VIRTIO_BLK_S_OK);
	struct vblk_plan p = plan(VIRTIO_BLK_T_GET_ID, 0, 16, 21, false);
	CHECK_EQ(p.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(p.len, 20);
	CHECK_EQ(plan(VIRTIO_BLK_T_GET_ID, 0, 16, 9, false).len, 8);
	CHECK_EQ(plan(99, 0, 16, 1, false).status, VIRTIO_BLK_S_UNSUPP);
	/* DISCARD / WRITE_ZEROES: whole segments, bounded, never read-only. */
	p = plan(VIRTIO_BLK_T_DISCARD, 0, 16 + 32, 1, false);
	CHECK_EQ(p.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(p.nseg, 2);
	CHECK_EQ(plan(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16 + 16, 1, true).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16 + 20, 1, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, 1, false).status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(plan(VIRTIO_BLK_T_DISCARD, 0, 16 + 16 * (VIRTIO_BLK_MAX_DZ_SEGS + 1), 1,
		      false).status, VIRTIO_BLK_S_IOERR);

	struct virtio_blk_dz_seg s = { SECTORS - 8, 8, 0 };
	CHECK_EQ(vblk_dz_check(&s, VIRTIO_BLK_T_DISCARD, DISK), VIRTIO_BLK_S_OK);
	s.num_sectors = 9;
	CHECK_EQ(vblk_dz_check(&s, VIRTIO_BLK_T_DISCARD, DISK), VIRTIO_BLK_S_IOERR);
	s = (struct virtio_blk_dz_seg){ 0, 8, VIRTIO_BLK_WZ_F_UNMAP };
	CHECK_EQ(vblk_dz_check(&s, VIRTIO_BLK_T_DISCARD, DISK), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(vblk_dz_check(&s, VIRTIO_BLK_T_WRITE_ZEROES, DISK), VIRTIO_BLK_S_OK);
	s.flags = 4;
	CHECK_EQ(vblk_dz_check(&s, VIRTIO_BLK_T_WRITE_ZEROES, DISK), VIRTIO_BLK_S_UNSUPP);
	s = (struct virtio_blk_dz_seg){ ~0ULL - 2, 8, 0 };
	CHECK_EQ(vblk_dz_check(&s, VIRTIO_BLK_T_WRITE_ZEROES, DISK), VIRTIO_BLK_S_IOERR);
}

/* ---- whole requests through the transport -------------------------------- */

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (256 * 1024)
#define DESC     RAM_BASE
#define AVAIL    (RAM_BASE + 0x1000)
#define USED     (RAM_BASE + 0x2000)
#define HDR      (RAM_BASE + 0x3000)
#define STAT     (RAM_BASE + 0x3100)
#define SEGS     (RAM_BASE + 0x3200)
#define BUF      (RAM_BASE + 0x10000)

struct rig {
	struct iobus iob;
	struct iobus_region pio[4], mmio[4];
	struct vpci_bus bus;
	struct virtio_blk b;
	uint8_t *ram, *disk;
	struct guest_mem gm;
	uint16_t avail;
	unsigned says;
};

static void f_msi(void *ctx, const struct apic_msg *m) {}
static unsigned f_route(void *ctx, unsigned slot, unsigned pin) { return 16; }
static void f_intx(void *ctx, unsigned gsi, bool asserted) {}
static const struct vpci_ops bus_ops = { f_msi, f_route, f_intx, NULL };
static void say(void *ctx, const char *line) { ((struct rig *)ctx)->says++; }

static void *hva(struct rig *r, uint64_t gpa) { return r->ram + (gpa - RAM_BASE); }

static struct rig *rig_new(bool ro)
{
	struct rig *r = calloc(1, sizeof(*r));

	r->ram = calloc(1, RAM_SIZE);
	r->disk = malloc(DISK);
	for (size_t i = 0; i < DISK; i++)
		r->disk[i] = (uint8_t)(i * 7 + i / 512);
	gmem_add(&r->gm, RAM_BASE, RAM_SIZE, r->ram);
	iobus_init(&r->iob, r->pio, 4, r->mmio, 4);
	vpci_init(&r->bus, &r->iob, &bus_ops, r);
	CHECK(virtio_blk_init(&r->b, VPCI_DEVFN(4, 0), &r->gm, r->disk, DISK, ro,
			      "kasane-test-disk-0123456789", say, r));
	CHECK(vpci_add(&r->bus, &r->b.vp.fn));
	vpci_cfg_put(&r->b.vp.fn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* The driver's set-up, done directly: features, queue 0, DRIVER_OK. */
	struct virtio_pci *vp = &r->b.vp;
	vp->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	vp->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		     VIRTIO_STATUS_DRIVER_OK;
	CHECK_EQ(virtq_init(&vp->q[0].vq, &r->gm, 8, DESC, AVAIL, USED), 0);
	vp->q[0].vq.indirect = true;
	vp->q[0].size = 8;
	vp->q[0].enabled = true;
	return r;
}

static void rig_free(struct rig *r)
{
	free(r->ram);
	free(r->disk);
	free(r);
}

static void desc(struct rig *r, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };
	memcpy(hva(r, DESC + 16 * i), &d, 16);
}

/* Make head available (the status byte set to 0xee, "untouched"). */
static void offer(struct rig *r, uint16_t head)
{
	*(uint8_t *)hva(r, STAT) = 0xee;
	uint16_t slot = r->avail & 7;
	memcpy(hva(r, AVAIL + 4 + 2 * slot), &head, 2);
	r->avail++;
	memcpy(hva(r, AVAIL + 2), &r->avail, 2);
}

/* Make head available, kick, return the status byte (0xee if untouched). */
static uint8_t kick(struct rig *r, uint16_t head)
{
	offer(r, head);
	struct io_req q = { .addr = 0, .off = VIRTIO_PCI_NOTIFY_OFF, .size = 2, .write = true };
	virtio_pci_bar_access(&r->b.vp, &q);
	return *(uint8_t *)hva(r, STAT);
}

static uint32_t used_len(struct rig *r)
{
	uint32_t v;
	memcpy(&v, hva(r, USED + 4 + 8 * ((r->avail - 1) & 7) + 4), 4);
	return v;
}

/* header, data, status: a three-descriptor request. */
static uint8_t request(struct rig *r, uint32_t type, uint64_t sector, uint32_t len, bool write)
{
	struct virtio_blk_req_hdr h = { type, 0, sector };
	memcpy(hva(r, HDR), &h, sizeof(h));
	desc(r, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(r, 1, BUF, len, VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE), 2);
	desc(r, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	return kick(r, 0);
}

TEST(requests_end_to_end)
{
	struct rig *r = rig_new(false);

	/* Read sectors 4-11. */
	CHECK_EQ(request(r, VIRTIO_BLK_T_IN, 4, 4096, false), VIRTIO_BLK_S_OK);
	CHECK(memcmp(hva(r, BUF), r->disk + 2048, 4096) == 0);
	CHECK_EQ(used_len(r), 4097);
	/* Write sector 0 with a pattern, read it back from the disk. */
	memset(hva(r, BUF), 0xa5, 512);
	CHECK_EQ(request(r, VIRTIO_BLK_T_OUT, 0, 512, true), VIRTIO_BLK_S_OK);
	CHECK_EQ(r->disk[0], 0xa5);
	CHECK_EQ(r->disk[511], 0xa5);
	CHECK_EQ(r->disk[512], (uint8_t)(512 * 7 + 1));
	CHECK_EQ(used_len(r), 1);
	/* Crossing the end: IOERR, nothing read. */
	memset(hva(r, BUF), 0, 1024);
	CHECK_EQ(request(r, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, false), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(*(uint8_t *)hva(r, BUF), 0);
	/* GET_ID: 20 bytes, not NUL-terminated when 20 long. */
	CHECK_EQ(request(r, VIRTIO_BLK_T_GET_ID, 0, 20, false), VIRTIO_BLK_S_OK);
	CHECK(memcmp(hva(r, BUF), "kasane-test-disk-012", 20) == 0);
	CHECK_EQ(request(r, VIRTIO_BLK_T_FLUSH, 0, 0, true), VIRTIO_BLK_S_OK);
	CHECK_EQ(r->b.flushes, 1);
	/* WRITE_ZEROES of sectors 1-2 through an indirect table. */
	struct virtio_blk_req_hdr h = { VIRTIO_BLK_T_WRITE_ZEROES, 0, 0 };
	struct virtio_blk_dz_seg s = { 1, 2, 0 };
	memcpy(hva(r, HDR), &h, 16);
	memcpy(hva(r, SEGS), &s, 16);
	struct virtq_desc t[3] = {
		{ HDR, 16, VIRTQ_DESC_F_NEXT, 1 }, { SEGS, 16, VIRTQ_DESC_F_NEXT, 2 },
		{ STAT, 1, VIRTQ_DESC_F_WRITE, 0 },
	};
	memcpy(hva(r, BUF + 0x8000), t, sizeof(t));
	desc(r, 3, BUF + 0x8000, sizeof(t), VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(kick(r, 3), VIRTIO_BLK_S_OK);
	CHECK_EQ(r->disk[512], 0);
	CHECK_EQ(r->disk[1535], 0);
	CHECK_EQ(r->disk[1536], (uint8_t)(1536 * 7 + 3));
	CHECK_EQ(r->b.errors, 1);
	CHECK_EQ(r->says, 0);
	rig_free(r);
}

TEST(read_only_and_bad_chains)
{
	struct rig *r = rig_new(true);

	CHECK(r->b.vp.offered & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	memset(hva(r, BUF), 0x5a, 512);
	CHECK_EQ(request(r, VIRTIO_BLK_T_OUT, 0, 512, true), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(r->disk[0], 0);
	CHECK_EQ(request(r, VIRTIO_BLK_T_IN, 0, 512, false), VIRTIO_BLK_S_OK);
	/* A zero-length header: IOERR, the device goes on. */
	desc(r, 0, HDR, 0, VIRTQ_DESC_F_NEXT, 2);
	desc(r, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(kick(r, 0), VIRTIO_BLK_S_IOERR);
	CHECK(!(r->b.vp.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	/* No writable byte for the status: NEEDS_RESET. */
	desc(r, 0, HDR, 16, 0, 0);
	CHECK_EQ(kick(r, 0), 0xee);
	CHECK(r->b.vp.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(r->says, 1);
	rig_free(r);

	/* A buffer outside RAM: NEEDS_RESET, nothing served. */
	r = rig_new(false);
	desc(r, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(r, 1, RAM_BASE + RAM_SIZE - 512, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(r, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(kick(r, 0), 0xee);
	CHECK(r->b.vp.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	rig_free(r);
}

static uint16_t ring16(struct rig *r, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, hva(r, gpa), 2);
	return v;
}

/*
 * Notification suppression (§2.7.10): after a kick the driver's
 * notifications stay off; requests made available without a kick are
 * served at the next looks; a look that finds the queue drained while
 * the guest idles, or the VIRTIO_PCI_EMPTY_POLLS-th empty look in a row,
 * turns notifications back on.  Without that the driver would never kick
 * again: a hung disk.
 */
TEST(notifications_off_while_busy)
{
	for (int event_idx = 0; event_idx < 2; event_idx++) {
		struct rig *r = rig_new(false);
		struct virtio_pci *vp = &r->b.vp;
		vp->q[0].vq.event_idx = event_idx;

		struct virtio_blk_req_hdr h = { VIRTIO_BLK_T_IN, 0, 0 };
		memcpy(hva(r, HDR), &h, sizeof(h));
		desc(r, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
		desc(r, 1, BUF, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		desc(r, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
		CHECK_EQ(kick(r, 0), VIRTIO_BLK_S_OK);
		CHECK(virtio_pci_polling(vp));
		if (!event_idx)
			CHECK_EQ(ring16(r, USED), VIRTQ_USED_F_NO_NOTIFY);
		else    /* avail_event stays behind: the driver kicks no more */
			CHECK_EQ(ring16(r, USED + 4 + 8 * 8), 0);
		/* Requests without a kick, served at the next looks. */
		virtio_blk_poll(&r->b, false);
		offer(r, 0);
		virtio_blk_poll(&r->b, false);
		CHECK_EQ(*(uint8_t *)hva(r, STAT), VIRTIO_BLK_S_OK);
		offer(r, 0);
		virtio_blk_poll(&r->b, false);
		CHECK_EQ(*(uint8_t *)hva(r, STAT), VIRTIO_BLK_S_OK);
		CHECK_EQ(ring16(r, USED + 2), 3);
		CHECK(virtio_pci_polling(vp));
		/* Empty looks while the guest runs: still polling, until the
		 * last of VIRTIO_PCI_EMPTY_POLLS. */
		for (int i = 0; i < VIRTIO_PCI_EMPTY_POLLS - 1; i++)
			virtio_blk_poll(&r->b, false);
		CHECK(virtio_pci_polling(vp));
		virtio_blk_poll(&r->b, false);
		CHECK(!virtio_pci_polling(vp));
		if (!event_idx)
			CHECK_EQ(ring16(r, USED), 0);
		else
			CHECK_EQ(ring16(r, USED + 4 + 8 * 8), 3);
		/* The next request kicks and is served at once; an empty look
		 * at HLT turns notifications on at once. */
		CHECK_EQ(kick(r, 0), VIRTIO_BLK_S_OK);
		CHECK(virtio_pci_polling(vp));
		if (!event_idx)
			CHECK_EQ(ring16(r, USED), VIRTQ_USED_F_NO_NOTIFY);
		virtio_blk_poll(&r->b, true);
		CHECK(!virtio_pci_polling(vp));
		if (!event_idx)
			CHECK_EQ(ring16(r, USED), 0);
		else
			CHECK_EQ(ring16(r, USED + 4 + 8 * 8), 4);
		/* A reset ends polling. */
		CHECK_EQ(kick(r, 0), VIRTIO_BLK_S_OK);
		struct io_req w = { .off = VIRTIO_PCI_COMMON_STATUS, .size = 1, .write = true, .val = 0 };
		virtio_pci_bar_access(vp, &w);
		CHECK(!virtio_pci_polling(vp));
		rig_free(r);
	}
}

TEST(config_space)
{
	struct rig *r = rig_new(false);
	uint64_t v = 0;

	r->b.vp.ops->cfg_read(&r->b, VIRTIO_BLK_CFG_CAPACITY, 8, &v);
	CHECK_EQ(v, SECTORS);
	v = 0;
	r->b.vp.ops->cfg_read(&r->b, VIRTIO_BLK_CFG_SEG_MAX, 4, &v);
	CHECK_EQ(v, VIRTQ_MAX_SEGS - 2);
	CHECK(!(r->b.vp.offered & VIRTIO_BIT(VIRTIO_BLK_F_RO)));
	CHECK(r->b.vp.offered & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	CHECK_EQ(r->b.vp.q[0].max, VIRTIO_BLK_QUEUE_SIZE);
	rig_free(r);
	/* Odd-sized images are refused. */
	struct virtio_blk b;
	struct guest_mem gm = { 0 };
	CHECK(!virtio_blk_init(&b, 0x20, &gm, NULL, 1000, false, "x", NULL, NULL));
}

int main(void)
{
	check_prog = "virtio_blk";
	RUN(parser_reads_and_writes);
	RUN(parser_read_only_and_others);
	RUN(requests_end_to_end);
	RUN(read_only_and_bad_chains);
	RUN(notifications_off_while_busy);
	RUN(config_space);
	return check_finish();
}
