/*
 * The hypervisor's page tables: 4-level long-mode paging, AMD APM vol. 2
 * §5.3.  All physical RAM is identity-mapped (2 MiB pages where possible),
 * writable and NX; the image itself is split into 4 KiB pages with W^X
 * permissions; stacks live in their own region with unmapped guard pages.
 */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "kernel/spinlock.h"
#include "boot/boot.h"
#include "arch/x86/x86_defs.h"
#include "mm/mm.h"
#include "kernel/panic.h"
#include "lib/string.h"

#define PTE_ADDR      0x000ffffffffff000ULL
#define STACK_REGION  0xffffc00000000000ULL
#define STACK_REGION_SIZE (64 * GiB)

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __image_end[];

static uint64_t *pml4;
static uint64_t nx_bit;
static spinlock_t map_lock = SPINLOCK_INIT;
static uint64_t stack_next = STACK_REGION;

static uint64_t *table_alloc(void)
{
	/* Below 4 GiB so that the root can be loaded from 32-bit code. */
	hpa_t pa = page_alloc_below(1, PAGE_SIZE, 4 * GiB);

	if (!pa)
		panic("paging: out of memory for page tables");
	memset(hpa_to_hva(pa), 0, PAGE_SIZE);
	return hpa_to_hva(pa);
}

/* The table one level down from entry e, created (or split from a large page) as needed. */
static uint64_t *next_level(uint64_t *e, int level)
{
	if (*e & PTE_P) {
		if (!(*e & PTE_PS))
			return hpa_to_hva(*e & PTE_ADDR);
		/* Split a 2 MiB page into 512 4 KiB pages with the same rights. */
		uint64_t *t = table_alloc();
		uint64_t base = *e & PTE_ADDR & ~(LARGE_PAGE_SIZE - 1);
		uint64_t flags = (*e & ~PTE_ADDR) & ~PTE_PS;
		for (int i = 0; i < 512; i++)
			t[i] = (base + i * PAGE_SIZE) | flags;
		*e = hva_to_hpa(t) | PTE_P | PTE_W;
		return t;
	}
	uint64_t *t = table_alloc();
	*e = hva_to_hpa(t) | PTE_P | PTE_W;
	return t;
}

/* Map one page of 'size' (4 KiB or 2 MiB); flags 0 unmaps. */
static void map_one(uint64_t va, uint64_t pa, uint64_t flags, uint64_t size)
{
	uint64_t *t = pml4;

	t = next_level(&t[(va >> 39) & 511], 4);
	t = next_level(&t[(va >> 30) & 511], 3);
	if (size == LARGE_PAGE_SIZE) {
		uint64_t *e = &t[(va >> 21) & 511];
		/* Replacing a 4 KiB table with a large page would leak it; callers
		 * map large pages first, so this does not happen. */
		*e = flags ? (pa | flags | PTE_PS) : 0;
		return;
	}
	t = next_level(&t[(va >> 21) & 511], 2);
	t[(va >> 12) & 511] = flags ? (pa | flags) : 0;
}

static void map_range(uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
	uint64_t end = va + len;

	while (va < end) {
		if (IS_ALIGNED(va, LARGE_PAGE_SIZE) && IS_ALIGNED(pa, LARGE_PAGE_SIZE) &&
		    end - va >= LARGE_PAGE_SIZE) {
			map_one(va, pa, flags, LARGE_PAGE_SIZE);
			va += LARGE_PAGE_SIZE;
			pa += LARGE_PAGE_SIZE;
		} else {
			map_one(va, pa, flags, PAGE_SIZE);
			va += PAGE_SIZE;
			pa += PAGE_SIZE;
		}
	}
}

static void enable_nx(void)
{
	if (nx_bit)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
}

void paging_init(const struct boot_info *bi)
{
	/* CPUID 0x80000001 EDX bit 20: no-execute (AMD APM vol. 3 App. E). */
	if (cpuid(0x80000001, 0).edx & (1u << 20))
		nx_bit = PTE_NX;
	enable_nx();
	pml4 = table_alloc();

	/* Everything below 1 MiB (BIOS data, EBDA, ROM: the ACPI RSDP scan
	 * reads it), then all RAM and ACPI ranges of the memory map. */
	map_range(0, 0, 1 * MiB, PTE_P | PTE_W | nx_bit);
	for (int i = 0; i < bi->nr_mmap; i++) {
		const struct boot_mmap *m = &bi->mmap[i];
		if (m->type != MMAP_RAM && m->type != MMAP_ACPI && m->type != MMAP_NVS)
			continue;
		uint64_t start = ALIGN_DOWN(m->base, PAGE_SIZE);
		uint64_t end = ALIGN_UP(m->base + m->len, PAGE_SIZE);
		if (start < 1 * MiB)
			start = 1 * MiB;
		if (end > start)
			map_range(start, start, end - start, PTE_P | PTE_W | nx_bit);
	}
	/* The image: W^X. */
	uint64_t ts = (uintptr_t)__text_start, te = (uintptr_t)__text_end;
	uint64_t rs = (uintptr_t)__rodata_start, re = (uintptr_t)__rodata_end;
	uint64_t ds = (uintptr_t)__data_start, de = ALIGN_UP((uintptr_t)__image_end, PAGE_SIZE);
	for (uint64_t a = ts; a < te; a += PAGE_SIZE)
		map_one(a, a, PTE_P, PAGE_SIZE);
	for (uint64_t a = rs; a < re; a += PAGE_SIZE)
		map_one(a, a, PTE_P | nx_bit, PAGE_SIZE);
	for (uint64_t a = ds; a < de; a += PAGE_SIZE)
		map_one(a, a, PTE_P | PTE_W | nx_bit, PAGE_SIZE);
	/* Page 0 stays unmapped: a NULL dereference faults. */
	map_one(0, 0, 0, PAGE_SIZE);

	write_cr3(hva_to_hpa(pml4));
	write_cr0(read_cr0() | CR0_WP);
}

/*
 * Counts the 4 KiB pages mapped both writable and executable (NX clear,
 * or no NX at all) in the hypervisor's tables; *first gets the lowest.
 * Walks every present entry; a large page counts as its 4 KiB pages.
 */
uint64_t paging_count_wx(uint64_t *first)
{
	static const uint64_t span[4] = { 512 * GiB, 1 * GiB, LARGE_PAGE_SIZE, PAGE_SIZE };
	const uint64_t *tables[4] = { pml4 };
	unsigned idx[4] = { 0 };
	uint64_t va[4] = { 0 }, n = 0;
	/* Rights combine over the levels (AMD APM vol. 2 §5.6): writable only
	 * if every level allows it, executable only if no level sets NX. */
	bool w[4] = { true }, x[4] = { true };
	int l = 0;

	*first = 0;
	while (l >= 0) {
		if (idx[l] == 512) {
			if (--l >= 0)
				idx[l]++;
			continue;
		}
		uint64_t e = tables[l][idx[l]];
		uint64_t a = va[l] + idx[l] * span[l];
		if (l == 0 && idx[0] >= 256)
			a |= 0xffff000000000000ULL;     /* canonical upper half */
		bool ew = w[l] && (e & PTE_W), ex = x[l] && !(nx_bit && (e & PTE_NX));
		if (!(e & PTE_P)) {
			idx[l]++;
		} else if (l == 3 || (l > 0 && (e & PTE_PS))) {
			if (ew && ex) {
				if (!n)
					*first = a;
				n += span[l] / PAGE_SIZE;
			}
			idx[l]++;
		} else {
			tables[l + 1] = hpa_to_hva(e & PTE_ADDR);
			va[l + 1] = a;
			w[l + 1] = ew;
			x[l + 1] = ex;
			idx[++l] = 0;
		}
	}
	return n;
}

hpa_t paging_root(void)
{
	return hva_to_hpa(pml4);
}

/* Changes to shared mappings: every CPU uses the same tables, and the
 * callers here only add mappings or change a page no CPU is using yet,
 * so a local invlpg is enough. */
void *map_mmio(hpa_t pa, uint64_t len)
{
	uint64_t start = ALIGN_DOWN(pa, PAGE_SIZE);
	uint64_t end = ALIGN_UP(pa + len, PAGE_SIZE);
	uint64_t f = spin_lock_irqsave(&map_lock);

	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		map_one(a, a, PTE_P | PTE_W | PTE_PCD | PTE_PWT | nx_bit, PAGE_SIZE);
		invlpg(a);
	}
	spin_unlock_irqrestore(&map_lock, f);
	return hpa_to_hva(pa);
}

uint64_t stack_alloc(uint64_t size)
{
	uint64_t npages = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;
	uint64_t f = spin_lock_irqsave(&map_lock);
	uint64_t va = stack_next + PAGE_SIZE;   /* the guard page stays unmapped */

	if (va + npages * PAGE_SIZE > STACK_REGION + STACK_REGION_SIZE) {
		spin_unlock_irqrestore(&map_lock, f);
		return 0;
	}
	stack_next = va + npages * PAGE_SIZE;
	for (uint64_t i = 0; i < npages; i++) {
		hpa_t pa = page_alloc(1, PAGE_SIZE);
		if (!pa) {
			spin_unlock_irqrestore(&map_lock, f);
			return 0;
		}
		memset(hpa_to_hva(pa), 0, PAGE_SIZE);
		map_one(va + i * PAGE_SIZE, pa, PTE_P | PTE_W | nx_bit, PAGE_SIZE);
	}
	spin_unlock_irqrestore(&map_lock, f);
	return va + npages * PAGE_SIZE;
}

/* Is va mapped in the hypervisor's tables? */
static bool is_mapped(uint64_t va)
{
	uint64_t *t = pml4;
	int shifts[4] = { 39, 30, 21, 12 };

	for (int l = 0; l < 4; l++) {
		uint64_t e = t[(va >> shifts[l]) & 511];
		if (!(e & PTE_P))
			return false;
		if (l == 3 || (l > 0 && (e & PTE_PS)))
			return true;
		t = hpa_to_hva(e & PTE_ADDR);
	}
	return true;
}

void *map_phys_ro(hpa_t pa, uint64_t len)
{
	uint64_t start = ALIGN_DOWN(pa, PAGE_SIZE);
	uint64_t end = ALIGN_UP(pa + len, PAGE_SIZE);
	uint64_t f;

	if (pa + len < pa || end > (1ULL << 46))
		return NULL;
	f = spin_lock_irqsave(&map_lock);
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		if (a == 0)
			continue;       /* page 0 stays unmapped */
		if (!is_mapped(a)) {
			map_one(a, a, PTE_P | nx_bit, PAGE_SIZE);
			invlpg(a);
		}
	}
	spin_unlock_irqrestore(&map_lock, f);
	if (start == 0)
		return NULL;
	return hpa_to_hva(pa);
}
