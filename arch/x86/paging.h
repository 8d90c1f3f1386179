/* The hypervisor's own page tables. */
#ifndef KASANE_ARCH_X86_PAGING_H
#define KASANE_ARCH_X86_PAGING_H

#include "lib/types.h"
#include "boot/bootinfo.h"

#define PTE_NX (1ULL << 63)

/*
 * Build and load the final page tables: all RAM identity-mapped RW+NX,
 * the image with text RX, rodata R+NX and data RW+NX, page 0 unmapped.
 * Runs on the boot CPU after mm_init().
 */
void paging_init(const struct boot_info *bi);
/* The physical address of the top-level table (below 4 GiB). */
hpa_t paging_root(void);
/* W^X check: the 4 KiB pages mapped writable and executable; *first, the lowest. */
uint64_t paging_count_wx(uint64_t *first);

/* Identity-map [pa, pa+len) for reading (firmware tables) where not yet
 * mapped; NULL if it cannot be (page 0, beyond 64 TiB). */
void *map_phys_ro(hpa_t pa, uint64_t len);

/* Identity-map device registers uncached, RW+NX.  Returns the pointer. */
void *map_mmio(hpa_t pa, uint64_t len);

/*
 * A stack of 'size' bytes in the stack region, with an unmapped guard page
 * below it.  Returns its top (initial RSP), 0 on exhaustion.
 */
uint64_t stack_alloc(uint64_t size);

#endif
