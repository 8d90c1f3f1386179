/*
 * hostile-virtio: a driver that breaks the split ring of a virtio-blk disk
 * (virtio 1.2 §2.7) on purpose, case by case, on the disk at 00:04.0 (a
 * copy of build/linux/disk-ro.img, read-write here).  Each case sets the
 * device up afresh (reset, VERSION_1 and INDIRECT_DESC, one queue of 8),
 * makes one bad chain available, kicks, and expects either
 * DEVICE_NEEDS_RESET in device_status or an error in the request's status
 * byte, never success:
 *   loop          descriptor 0 -> 1 -> 0
 *   outside-ram   a data buffer at 1 GiB (the VM has 16 MiB)
 *   wrap          a buffer at 2^64 - 4 KiB, 8 KiB long
 *   zero-length   a header descriptor of 0 bytes (IOERR)
 *   4gib-length   a data buffer of 0xffffffff bytes
 *   nested        an indirect table holding an indirect descriptor
 *   big-indirect  an indirect table of 9 entries for a queue of 8
 *   avail-jump    avail->idx moved 100 ahead (queue size 8)
 *   past-end      a 2-sector read from the last sector (IOERR)
 *   bad-type      request type 77 (UNSUPP)
 * Last, after a reset, a good read of sector 0 returns the image's first
 * bytes ("1\n2\n3\n"): the device is whole again.  Polled: the device
 * answers within the notify's exit, no interrupt is used.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "hostile-virtio";

#define ECAM_BASE   0xe0000000ul
#define SLOT        4
#define BAR0        0xc0000000ul
#define COMMON      (BAR0 + 0x0000)
#define NOTIFY      (BAR0 + 0x3000)

#define DESC        0x400000ul
#define AVAIL       0x401000ul
#define USED        0x402000ul
#define HDR         0x403000ul
#define STATUS      0x403100ul
#define TABLE       0x404000ul
#define TABLE2      0x405000ul
#define DATA        0x410000ul
#define QSIZE       8

#define F_NEXT      1
#define F_WRITE     2
#define F_INDIRECT  4

#define ST_ACK      1
#define ST_DRIVER   2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 64

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static uint16_t avail_idx;

static volatile uint8_t *reg8(unsigned off) { return (volatile uint8_t *)(COMMON + off); }
static volatile uint16_t *reg16(unsigned off) { return (volatile uint16_t *)(COMMON + off); }
static volatile uint32_t *reg32(unsigned off) { return (volatile uint32_t *)(COMMON + off); }
static volatile uint32_t *ecam(unsigned reg) { return (volatile uint32_t *)(ECAM_BASE | SLOT << 15 | reg); }

static struct desc *desc_tab(uintptr_t table) { return (struct desc *)table; }

/* Reset and bring the device up with queue 0 of QSIZE at the fixed rings. */
static bool device_up(void)
{
	*reg8(0x14) = 0;
	if (*reg8(0x14) != 0)
		return false;
	memset((void *)DESC, 0, 0x6000);
	avail_idx = 0;
	*reg8(0x14) = ST_ACK;
	*reg8(0x14) = ST_ACK | ST_DRIVER;
	*reg32(0x08) = 0;
	*reg32(0x0c) = 1u << 28;                /* INDIRECT_DESC */
	*reg32(0x08) = 1;
	*reg32(0x0c) = 1;                       /* VERSION_1 (bit 32) */
	*reg8(0x14) = ST_ACK | ST_DRIVER | ST_FEATURES_OK;
	if (!(*reg8(0x14) & ST_FEATURES_OK))
		return false;
	*reg16(0x16) = 0;
	*reg16(0x18) = QSIZE;
	*reg32(0x20) = DESC;
	*reg32(0x24) = 0;
	*reg32(0x28) = AVAIL;
	*reg32(0x2c) = 0;
	*reg32(0x30) = USED;
	*reg32(0x34) = 0;
	*reg16(0x1c) = 1;
	*reg8(0x14) = ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK;
	return *reg8(0x14) == (ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

static void set_desc(uintptr_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	desc_tab(table)[i] = (struct desc){ addr, len, flags, next };
}

static void header(uint32_t type, uint64_t sector)
{
	*(volatile struct blk_hdr *)HDR = (struct blk_hdr){ type, 0, sector };
	*(volatile uint8_t *)STATUS = 0xee;
}

/* Make head available (idx moved by `step`) and notify queue 0. */
static void kick(uint16_t head, uint16_t step)
{
	volatile uint16_t *ring = (volatile uint16_t *)(AVAIL + 4);
	ring[avail_idx % QSIZE] = head;
	avail_idx += step;
	asm volatile("" ::: "memory");
	*(volatile uint16_t *)(AVAIL + 2) = avail_idx;
	asm volatile("mfence" ::: "memory");
	*(volatile uint16_t *)NOTIFY = 0;
}

/* The case's outcome: NEEDS_RESET or an error status passes; OK fails. */
static void outcome(const char *name)
{
	uint8_t dev = *reg8(0x14), st = *(volatile uint8_t *)STATUS;

	if (dev & ST_NEEDS_RESET)
		guest_printf("hostile-virtio: %s: device needs reset\n", name);
	else if (st == 1 || st == 2)
		guest_printf("hostile-virtio: %s: request status %s\n", name,
			     st == 1 ? "IOERR" : "UNSUPP");
	else
		guest_fail("%s: device status 0x%x, request status 0x%x: the bad chain was served",
			   name, dev, st);
}

/* header (readable), data (writable, addr/len), status (writable) */
static void three(uint64_t data, uint32_t len)
{
	set_desc(DESC, 0, HDR, 16, F_NEXT, 1);
	set_desc(DESC, 1, data, len, F_NEXT | F_WRITE, 2);
	set_desc(DESC, 2, STATUS, 1, F_WRITE, 0);
}

static void run_case(const char *name, int which)
{
	if (!device_up()) {
		guest_fail("%s: the device did not come up", name);
		return;
	}
	header(0, 0);           /* VIRTIO_BLK_T_IN, sector 0 */
	uint16_t step = 1;
	switch (which) {
	case 0:                 /* loop */
		set_desc(DESC, 0, HDR, 16, F_NEXT, 1);
		set_desc(DESC, 1, DATA, 512, F_NEXT, 0);
		break;
	case 1:
		three(0x40000000ul, 512);
		break;
	case 2:
		three(0xfffffffffffff000ull, 0x2000);
		break;
	case 3:
		set_desc(DESC, 0, HDR, 0, F_NEXT, 2);
		set_desc(DESC, 2, STATUS, 1, F_WRITE, 0);
		break;
	case 4:
		three(DATA, 0xffffffffu);
		break;
	case 5:                 /* nested indirect */
		set_desc(TABLE, 0, HDR, 16, F_NEXT, 1);
		set_desc(TABLE, 1, TABLE2, 16, F_INDIRECT, 0);
		set_desc(TABLE2, 0, STATUS, 1, F_WRITE, 0);
		set_desc(DESC, 0, TABLE, 32, F_INDIRECT, 0);
		break;
	case 6:                 /* an indirect table longer than the queue */
		for (unsigned i = 0; i < 9; i++)
			set_desc(TABLE, i, i ? DATA + 512 * i : HDR, i ? 512 : 16,
				 (i ? F_WRITE : 0) | F_NEXT, (uint16_t)(i + 1));
		set_desc(TABLE, 8, STATUS, 1, F_WRITE, 0);
		set_desc(DESC, 0, TABLE, 9 * 16, F_INDIRECT, 0);
		break;
	case 7:                 /* avail idx jumps by more than the queue size */
		three(DATA, 512);
		step = 100;
		break;
	case 8: {               /* from the last sector, two sectors */
		uint64_t cap = *(volatile uint64_t *)(BAR0 + 0x2000);
		header(0, cap - 1);
		three(DATA, 1024);
		break;
	}
	case 9:
		header(77, 0);
		three(DATA, 512);
		break;
	}
	kick(0, step);
	outcome(name);
}

void test_main(void)
{
	static const char *const names[] = {
		"loop", "outside-ram", "wrap", "zero-length", "4gib-length", "nested",
		"big-indirect", "avail-jump", "past-end", "bad-type",
	};

	pt_init();
	uint32_t id = *ecam(0);
	if (id != 0x10421af4) {
		guest_fail("no virtio-blk at 00:%02x.0 (ID 0x%x)", SLOT, id);
		return;
	}
	*ecam(0x10) = BAR0;                     /* BAR0: 32-bit memory */
	*ecam(0x04) = 0x6;                      /* memory decode, bus master */
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		run_case(names[i], (int)i);

	/* A good read after a reset: the device works again. */
	if (!device_up()) {
		guest_fail("the device did not come up after the bad cases");
		return;
	}
	header(0, 0);
	memset((void *)DATA, 0, 512);
	three(DATA, 512);
	kick(0, 1);
	guest_check_eq("good read status", *(volatile uint8_t *)STATUS, 0);
	guest_check_eq("good read used idx", *(volatile uint16_t *)(USED + 2), 1);
	guest_check_eq("good read used len", *(volatile uint32_t *)(USED + 8), 513);
	if (memcmp((void *)DATA, "1\n2\n3\n", 6) != 0)
		guest_fail("sector 0 reads '%.6s', expected the image's \"1\\n2\\n3\\n\"",
			   (const char *)DATA);
	else
		guest_printf("hostile-virtio: good read after reset: ok\n");
}
