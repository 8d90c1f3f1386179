/*
 * Physical frame allocator: one bit per 4 KiB frame over a contiguous
 * physical window [base, base + npages * 4 KiB), 1 = used.  Pure logic: it
 * only ever touches the bitmap storage the caller hands to frame_init, so
 * it is also built into the host unit tests.
 *
 * Boot sequence: frame_init (everything used), frame_add_free for each
 * usable RAM range of the firmware memory map, then frame_reserve for what
 * must stay untouched (the hypervisor image, the bitmap itself, boot
 * modules, ACPI tables).  Reserve after adding: a later frame_add_free over
 * a reserved range would free it again.
 *
 * Physical page 0 is never handed out: frame_add_free skips it.
 *
 * No locking inside: the caller serializes every call on one allocator.
 */
#ifndef KASANE_MM_FRAME_H
#define KASANE_MM_FRAME_H

#include "lib/types.h"

struct frame_alloc {
	hpa_t base;          /* physical address of frame 0, page-aligned */
	uint64_t npages;     /* frames managed */
	uint64_t *bitmap;    /* caller's storage, (npages + 63) / 64 words used */
	uint64_t nfree;      /* frames currently free */
	uint64_t low_free;   /* every frame below this index is used */
	uint64_t next_fit;   /* where multi-page / aligned searches resume */
	uint64_t bad_frees;  /* rejected frame_free_pages calls */
};

/*
 * Manage npages frames from base (page-aligned), with bitmap_bytes of
 * storage at bitmap (8-byte aligned).  All frames start used.  If the
 * storage is too small, only the frames it covers are managed and false
 * is returned; an unaligned base manages nothing and returns false.
 */
bool frame_init(struct frame_alloc *fa, hpa_t base, uint64_t npages,
		uint64_t *bitmap, size_t bitmap_bytes);

/* Mark [pa, pa + len) free, rounded inward to whole frames; clipped to the window. */
void frame_add_free(struct frame_alloc *fa, hpa_t pa, uint64_t len);

/* Mark [pa, pa + len) used, rounded outward to whole frames; clipped to the window. */
void frame_reserve(struct frame_alloc *fa, hpa_t pa, uint64_t len);

/*
 * Allocate npages contiguous frames whose first address is a multiple of
 * align (a power of two; anything below 4 KiB means 4 KiB).  Returns the
 * physical address, or 0 if no such run exists or the request is invalid.
 */
hpa_t frame_alloc_pages(struct frame_alloc *fa, uint64_t npages, uint64_t align);

/* As frame_alloc_pages, but the whole run lies below max_pa (e.g. 1 MiB, 4 GiB). */
hpa_t frame_alloc_below(struct frame_alloc *fa, uint64_t npages, uint64_t align,
			hpa_t max_pa);

/*
 * Free npages frames from pa.  Returns false, changing nothing, if the
 * range is unaligned, outside the window, includes page 0, or has a frame
 * that is already free: each of those is a hypervisor bug for the caller
 * to report.
 */
bool frame_free_pages(struct frame_alloc *fa, hpa_t pa, uint64_t npages);

/* True if the frame holding pa is inside the window and free. */
bool frame_is_free(const struct frame_alloc *fa, hpa_t pa);

uint64_t frame_free_count(const struct frame_alloc *fa);

/* Length in frames of the longest run of free frames (linear scan, for diagnostics). */
uint64_t frame_largest_free_run(const struct frame_alloc *fa);

#endif
