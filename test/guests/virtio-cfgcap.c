/*
 * virtio-cfgcap: the virtio PCI configuration access capability (virtio
 * 1.2 §4.1.4.9) of the virtio-blk disk at 00:04.0.  The guest finds its
 * vendor capabilities (common configuration, device configuration,
 * PCI_CFG), then:
 *   - reads every field of the common configuration through the window
 *     (ECAM, and once through 0xcf8/0xcfc), at 1, 2 and 4 bytes, and
 *     compares each with the same read of BAR0;
 *   - reads the disk's capacity (device configuration) through it;
 *   - writes queue_select through it and reads it back through BAR0;
 *   - points the window where §4.1.4.9.2 forbids (another BAR, lengths 0,
 *     3, 8 and 2^32-1, an unaligned offset, past the device configuration,
 *     past the BAR, offsets that wrap): each read gives 0, and a write
 *     through such a window changes nothing.
 * Last, BAR0 still reads as before: the device and the VM go on.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "virtio-cfgcap";

#define ECAM_BASE   0xe0000000ul
#define SLOT        4
#define BAR0        0xc0000000ul

#define CAP_VNDR        0x09
#define CFG_COMMON      1
#define CFG_DEVICE      4
#define CFG_PCI         5
#define Q_SELECT        0x16

static volatile uint8_t *ecam8(unsigned reg) { return (volatile uint8_t *)(ECAM_BASE | SLOT << 15 | reg); }
static volatile uint16_t *ecam16(unsigned reg) { return (volatile uint16_t *)(ECAM_BASE | SLOT << 15 | reg); }
static volatile uint32_t *ecam32(unsigned reg) { return (volatile uint32_t *)(ECAM_BASE | SLOT << 15 | reg); }

static unsigned cap_pci;        /* the PCI_CFG capability's offset */

static uint32_t bar_read(uint32_t off, unsigned len)
{
	switch (len) {
	case 1: return *(volatile uint8_t *)(BAR0 + off);
	case 2: return *(volatile uint16_t *)(BAR0 + off);
	default: return *(volatile uint32_t *)(BAR0 + off);
	}
}

static void window(uint8_t bar, uint32_t off, uint32_t len)
{
	*ecam8(cap_pci + 4) = bar;
	*ecam32(cap_pci + 8) = off;
	*ecam32(cap_pci + 12) = len;
}

/* A read of pci_cfg_data of len bytes (ECAM). */
static uint32_t data_read(unsigned len)
{
	unsigned d = cap_pci + 16;
	switch (len) {
	case 1: return *ecam8(d);
	case 2: return *ecam16(d);
	default: return *ecam32(d);
	}
}

static uint32_t window_read(uint32_t off, unsigned len)
{
	window(0, off, len);
	return data_read(len);
}

/* The capability of cfg_type `type`: its offset, 0 if none; its structure's offset in *off. */
static unsigned find_cap(uint8_t type, uint32_t *off)
{
	unsigned c = *ecam8(0x34) & 0xfc;

	for (int n = 0; c >= 0x40 && n < 48; n++, c = *ecam8(c + 1) & 0xfc)
		if (*ecam8(c) == CAP_VNDR && *ecam8(c + 3) == type) {
			*off = *ecam32(c + 8);
			return c;
		}
	return 0;
}

void test_main(void)
{
	uint32_t common, device, unused;

	pt_init();
	if (*ecam32(0) != 0x10421af4) {
		guest_fail("no virtio-blk at 00:%02x.0 (ID 0x%x)", SLOT, *ecam32(0));
		return;
	}
	*ecam32(0x10) = BAR0;                   /* BAR0: 32-bit memory */
	*ecam32(0x04) = 0x2;                    /* memory decode */
	cap_pci = find_cap(CFG_PCI, &unused);
	if (!find_cap(CFG_COMMON, &common) || !find_cap(CFG_DEVICE, &device) || !cap_pci) {
		guest_fail("capabilities: common %s, device %s, pci_cfg at 0x%x",
			   find_cap(CFG_COMMON, &unused) ? "yes" : "no",
			   find_cap(CFG_DEVICE, &unused) ? "yes" : "no", cap_pci);
		return;
	}
	guest_check_eq("PCI_CFG cap_len", *ecam8(cap_pci + 2), 20);

	/* The common configuration, field by field, at every width that fits. */
	unsigned same = 0, differ = 0;
	for (uint32_t off = 0; off < 0x38; off++)
		for (unsigned len = 1; len <= 4; len *= 2) {
			if (off % len)
				continue;
			uint32_t w = window_read(common + off, len), b = bar_read(common + off, len);
			if (w == b) {
				same++;
			} else {
				differ++;
				guest_printf("virtio-cfgcap: common +0x%x/%u: window 0x%x, BAR 0x%x\n",
					     off, len, w, b);
			}
		}
	guest_printf("virtio-cfgcap: common configuration: %u reads agree, %u differ\n", same, differ);
	if (differ || same == 0)
		guest_fail("the window and BAR0 disagree");
	/* num_queues through 0xcf8/0xcfc too. */
	window(0, common + 0x12, 2);
	outl(0xcf8, 0x80000000u | SLOT << 11 | ((cap_pci + 16) & 0xfc));
	guest_check_eq("num_queues by 0xcf8", inw(0xcfc), 1);
	/* The capacity, in the device configuration. */
	uint32_t lo = window_read(device, 4), hi = window_read(device + 4, 4);
	guest_check_eq("capacity by the window", (uint64_t)hi << 32 | lo,
		       *(volatile uint64_t *)(BAR0 + device));
	guest_printf("virtio-cfgcap: capacity %u sectors through the window\n", lo);
	/* A write: queue_select. */
	window(0, common + Q_SELECT, 2);
	*ecam16(cap_pci + 16) = 0x7;
	guest_check_eq("queue_select written through the window", bar_read(common + Q_SELECT, 2), 7);
	*(volatile uint16_t *)(BAR0 + common + Q_SELECT) = 0;

	/* Windows the spec forbids. */
	static const struct { uint8_t bar; uint32_t off, len; const char *what; } bad[] = {
		{ 1, 0x12, 2, "BAR1" }, { 5, 0x12, 2, "BAR5" }, { 0xff, 0x12, 2, "BAR 255" },
		{ 0, 0x12, 0, "length 0" }, { 0, 0x12, 3, "length 3" }, { 0, 0x10, 8, "length 8" },
		{ 0, 0x12, 0xffffffffu, "length 2^32-1" }, { 0, 0x13, 2, "unaligned" },
		{ 0, 0x2000 + 0x800, 4, "past the device configuration" },
		{ 0, 0x4000, 4, "past the BAR" }, { 0, 0xfffffffcu, 4, "offset 2^32-4" },
		{ 0, 0xffffffffu, 1, "offset 2^32-1" },
	};
	unsigned refused = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		window(bad[i].bar, bad[i].off, bad[i].len);
		*ecam32(cap_pci + 16) = 0x00010016;     /* would select queue 1 if written */
		uint32_t v = data_read(4);
		if (v != 0)
			guest_fail("window %s: data reads 0x%x, expected 0", bad[i].what, v);
		else
			refused++;
	}
	/* Writes through a bad window reached nothing: queue_select is 0. */
	guest_check_eq("queue_select after the bad windows", bar_read(common + Q_SELECT, 2), 0);
	guest_check_eq("num_queues after the bad windows", bar_read(common + 0x12, 2), 1);
	guest_printf("virtio-cfgcap: %u forbidden windows made no access\n", refused);
}
