/*
 * memory: every page of guest RAM is distinct, writable RAM, and RAM ends
 * where the memory map says.
 *
 * Reads the Multiboot2 memory map (§3.6.8) from RDI's information, switches
 * to its own page tables (kasane's entry tables may lie in the RAM tested),
 * writes a pattern unique to each 4 KiB page into three qwords of every
 * page of RAM above its own image, then verifies them all, which catches
 * pages aliased by nested paging.  Finally it reads the first byte past the
 * end of RAM: kasane must end the VM there ("memory access out of range"),
 * so a normal exit of this guest is itself a FAILURE.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "memory";

#define MAX_MMAP        64
#define PAGE            4096ull
#define MAX_REPORTS     4

static struct mb2_mmap_entry mmap[MAX_MMAP];
static int nr_mmap;

static uint64_t mid_offset(uint64_t page)
{
	return 8 + ((page >> 12) * 37 % 510) * 8;  /* in [8, 4080], never 0 or 4088 */
}

static uint64_t value(uint64_t page, unsigned k)
{
	return (page + k) ^ 0xa5c3a5c35a3c5a3cull;
}

/* Page range of RAM entry e that is free to overwrite: above the image. */
static bool test_range(const struct mb2_mmap_entry *e, uint64_t *lo, uint64_t *hi)
{
	uint64_t floor = (uintptr_t)__image_end;

	if (e->type != MB2_MEM_RAM || e->len == 0)
		return false;
	*lo = ((e->base > floor ? e->base : floor) + PAGE - 1) & ~(PAGE - 1);
	*hi = (e->base + e->len) & ~(PAGE - 1);
	return *lo < *hi;
}

static void write_pages(uint64_t lo, uint64_t hi)
{
	for (uint64_t p = lo; p < hi; p += PAGE) {
		volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)p;
		q[0] = value(p, 0);
		q[mid_offset(p) / 8] = value(p, 1);
		q[(PAGE - 8) / 8] = value(p, 2);
	}
}

static uint64_t verify_pages(uint64_t lo, uint64_t hi, unsigned *reports)
{
	uint64_t bad = 0;

	for (uint64_t p = lo; p < hi; p += PAGE) {
		const volatile uint64_t *q = (const volatile uint64_t *)(uintptr_t)p;
		uint64_t offs[3] = { 0, mid_offset(p), PAGE - 8 };
		for (unsigned k = 0; k < 3; k++) {
			uint64_t got = q[offs[k] / 8];
			if (got == value(p, k))
				continue;
			bad++;
			if ((*reports)++ < MAX_REPORTS)
				guest_fail("RAM at 0x%lx reads 0x%lx, expected 0x%lx (aliased "
					   "or lost page?)", p + offs[k], got, value(p, k));
			break;
		}
	}
	return bad;
}

void test_main(void)
{
	uint64_t ram_end = 0, pages = 0, bad = 0, lo, hi;
	unsigned reports = 0;

	if (!mb2_valid(boot_info)) {
		guest_error("RDI 0x%lx is not a valid Multiboot2 information structure", boot_info);
		return;
	}
	nr_mmap = mb2_mmap(boot_info, mmap, MAX_MMAP);
	if (nr_mmap > MAX_MMAP) {
		guest_error("memory map has %d entries, more than %d", nr_mmap, MAX_MMAP);
		return;
	}
	for (int i = 0; i < nr_mmap; i++) {
		const struct mb2_mmap_entry *e = &mmap[i];
		guest_printf("memory: map 0x%016lx-0x%016lx type %u\n", e->base,
			     e->base + e->len, e->type);
		if (e->type == MB2_MEM_RAM && e->base + e->len > ram_end)
			ram_end = e->base + e->len;
	}
	guest_printf("memory: fw_cfg RAM size 0x%lx, RAM ends at 0x%lx, image ends at 0x%lx\n",
		     fwcfg_read_le(FW_CFG_RAM_SIZE, 8), ram_end, (uintptr_t)__image_end);
	if (!ram_end) {
		guest_error("the memory map has no RAM");
		return;
	}

	pt_init();
	if (!pt_map_upto(ram_end + 1)) {
		guest_error("RAM end 0x%lx is beyond what this guest can map", ram_end);
		return;
	}
	for (int i = 0; i < nr_mmap; i++)
		if (test_range(&mmap[i], &lo, &hi))
			write_pages(lo, hi);
	for (int i = 0; i < nr_mmap; i++) {
		if (test_range(&mmap[i], &lo, &hi)) {
			bad += verify_pages(lo, hi, &reports);
			pages += (hi - lo) / PAGE;
		}
	}
	if (!pages) {
		guest_error("no RAM above the image to test");
		return;
	}
	if (bad) {
		guest_fail("%lu of %lu pages lost their pattern", bad, pages);
		return;
	}
	guest_printf("memory: %lu pages ok\n", pages);

	guest_printf("memory: touching beyond RAM at 0x%lx\n", ram_end);
	uint8_t v = *(volatile uint8_t *)(uintptr_t)ram_end;
	guest_fail("read beyond RAM at 0x%lx returned 0x%x: the VM should have been ended",
		   ram_end, v);
}
