/* Host stand-ins for the frame allocator that core/shadow.c takes its
 * shadow-table pages from, and mm/npt.c its tables (the core tests link
 * it; pointers are addresses). */
#include <stdlib.h>
#include <string.h>
#include "mm/mm.h"

hpa_t page_alloc_below(uint64_t npages, uint64_t align, hpa_t max_pa)
{
	void *p = aligned_alloc(align, npages * PAGE_SIZE);

	return (hpa_t)(uintptr_t)p;
}

void page_free(hpa_t pa, uint64_t npages)
{
	free((void *)(uintptr_t)pa);
}

hpa_t page_zalloc(uint64_t npages, uint64_t align)
{
	hpa_t pa = page_alloc_below(npages, align, ~0ull);

	if (pa)
		memset((void *)(uintptr_t)pa, 0, npages * PAGE_SIZE);
	return pa;
}
