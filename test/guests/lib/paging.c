/*
 * The 64-bit guests' own page tables (AMD APM vol. 2 §5.3, long-mode
 * 4-level paging): identity mapping with 2 MiB pages, and 4 KiB tables made
 * on demand where a test changes one page.  Guests that overwrite RAM or
 * change mappings use these instead of the tables kasane built for entry.
 * All tables live in the image's .bss.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

#define ENTRIES         512
#define NR_PD           16      /* identity map reaches 16 GiB */
#define NR_PT           4       /* 2 MiB pages split into 4 KiB ones */
#define ADDR_MASK       0x000ffffffffff000ull

typedef uint64_t table_t[ENTRIES] __attribute__((aligned(4096)));

static table_t pml4, pdpt, pd[NR_PD], pt[NR_PT];
static unsigned nr_pt_used;
static uint64_t mapped_end;

bool pt_map_upto(uint64_t end)
{
	for (; mapped_end < end; mapped_end += 1ull << 21) {
		uint64_t gib = mapped_end >> 30, slot = (mapped_end >> 21) & (ENTRIES - 1);
		if (gib >= NR_PD)
			return false;
		pdpt[gib] = (uintptr_t)pd[gib] | PTE_P | PTE_W;
		pd[gib][slot] = mapped_end | PTE_P | PTE_W | PTE_PS;
	}
	return true;
}

void pt_init(void)
{
	pml4[0] = (uintptr_t)pdpt | PTE_P | PTE_W;
	pt_map_upto(4ull << 30);
	write_cr0(read_cr0() | CR0_WP);         /* #PF on supervisor writes to read-only pages */
	write_cr3((uintptr_t)pml4);
}

bool pt_set_page(uint64_t va, uint64_t flags)
{
	if (va >= mapped_end)
		return false;
	uint64_t *pde = &pd[va >> 30][(va >> 21) & (ENTRIES - 1)];
	if (*pde & PTE_PS) {
		if (nr_pt_used == NR_PT)
			return false;
		uint64_t *t = pt[nr_pt_used++], base = *pde & ADDR_MASK;
		for (unsigned i = 0; i < ENTRIES; i++)
			t[i] = (base + i * 4096ull) | PTE_P | PTE_W;
		*pde = (uintptr_t)t | PTE_P | PTE_W;
		/* Whole 2 MiB translation replaced: flush it all (APM vol. 2 §5.5.3). */
		write_cr3(read_cr3());
	}
	uint64_t *t = (uint64_t *)(uintptr_t)(*pde & ADDR_MASK);
	t[(va >> 12) & (ENTRIES - 1)] = flags ? ((va & ~0xfffull) | flags) : 0;
	invlpg(va);
	return true;
}
