/*
 * The hypervisor's kernel heap, on top of whole pages from a callback.
 *
 * Small blocks (up to HEAP_MAX_SMALL bytes) come from one-page slabs, one
 * size class per slab, with a 64-byte header at the start of the page and
 * a bitmap of live blocks.  Larger requests get whole pages straight from
 * get_pages; their sizes live in a small table keyed by address, not in
 * the pages.  Small blocks are 16-byte aligned, large ones page-aligned.
 *
 * heap_free checks every pointer: a double free, a pointer that is not
 * the start of a live block or a block of another heap is reported
 * through the bug hook and otherwise ignored, never corrupting the heap.
 * (A pointer whose page is not mapped still faults on the check.)
 *
 * Pure logic apart from the callbacks: also built into the host unit tests.
 * No locking inside: the caller serializes every call on one heap.
 */
#ifndef KASANE_MM_HEAP_H
#define KASANE_MM_HEAP_H

#include "lib/types.h"

#define HEAP_NR_CLASSES     16
#define HEAP_MAX_SMALL      2016   /* largest class: two blocks per slab */
#define HEAP_LARGE_BUCKETS  64

struct heap_slab;
struct heap_large;
struct heap_run;

struct heap {
	/* Returns npages contiguous, page-aligned, mapped pages or NULL. */
	void *(*get_pages)(void *ctx, size_t npages);
	/*
	 * Optional, set after heap_init: takes back pages from get_pages.
	 * Without it, released pages are kept and reused by later requests.
	 */
	void (*put_pages)(void *ctx, void *p, size_t npages);
	/* Optional, set after heap_init: told about each bad heap_free. */
	void (*bug)(const char *msg);
	void *ctx;

	struct heap_slab *partial[HEAP_NR_CLASSES];    /* slabs with a free block */
	struct heap_large *large[HEAP_LARGE_BUCKETS];  /* live large blocks by address */
	struct heap_run *cache;   /* released pages, when put_pages is NULL */
	size_t used;              /* bytes in live blocks, rounded up to class / page size */
	size_t pages;             /* pages held: from get_pages, not yet put back */
	size_t cached_pages;      /* of which idle in cache */
	uint64_t bugs;            /* bad heap_free calls seen */
};

void heap_init(struct heap *h, void *(*get_pages)(void *ctx, size_t npages), void *ctx);

/* A block of at least size bytes (size 0 gives a minimal block), or NULL. */
void *heap_alloc(struct heap *h, size_t size);

/* As heap_alloc, zero-filled. */
void *heap_zalloc(struct heap *h, size_t size);

/* Free a block from heap_alloc/heap_zalloc of this heap; NULL is ignored. */
void heap_free(struct heap *h, void *p);

/* Bytes in live blocks, each rounded up to its class or page size. */
size_t heap_used(const struct heap *h);

#endif
