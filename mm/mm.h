/*
 * The hypervisor's memory: physical frames and the heap, with locking.
 * All physical memory is identity-mapped, so a frame's address is also
 * its pointer (see arch/x86/paging.c).
 */
#ifndef KASANE_MM_MM_H
#define KASANE_MM_MM_H

#include "lib/types.h"
#include "boot/bootinfo.h"

/* Build the frame allocator from the boot memory map. */
void mm_init(const struct boot_info *bi);

/* Physical frames; 0 on exhaustion.  Safe from any CPU. */
hpa_t page_alloc(uint64_t npages, uint64_t align);
hpa_t page_alloc_below(uint64_t npages, uint64_t align, hpa_t max_pa);
hpa_t page_zalloc(uint64_t npages, uint64_t align);
void page_free(hpa_t pa, uint64_t npages);
/* A page below 1 MiB kept from boot for the AP start-up code; 0 if the
 * memory map had none free. */
hpa_t mm_low_page(void);
uint64_t mm_free_bytes(void);
uint64_t mm_total_bytes(void);

/* The heap: 16-byte aligned blocks; NULL on exhaustion.  Safe from any CPU. */
/*
 * A debug aid, off by default (the command line's poison=on): every run of
 * frames page_alloc hands out is first filled with MM_POISON_BYTE, so
 * memory that reaches a guest or a table without being zeroed shows as a
 * pattern rather than as the zeros an emulator's fresh RAM happens to hold
 * (Xen's debug builds scrub with a pattern for the same reason).
 */
#define MM_POISON_BYTE 0xc2
extern bool mm_poison;

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);

static inline void *hpa_to_hva(hpa_t pa) { return (void *)(uintptr_t)pa; }
static inline hpa_t hva_to_hpa(const void *va) { return (hpa_t)(uintptr_t)va; }

#endif
