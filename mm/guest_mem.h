/*
 * A VM's guest-physical RAM: a short list of regions, each backed by
 * host memory that the hypervisor can address directly.  Every access the
 * hypervisor makes to guest memory goes through these helpers, which check
 * the range against the VM's own map first.  Pure logic: also built into
 * the host unit tests.
 */
#ifndef KASANE_MM_GUEST_MEM_H
#define KASANE_MM_GUEST_MEM_H

#include "lib/types.h"

#define GMEM_MAX_REGIONS 8

/*
 * Demand-zero RAM.  A region may carry one state byte per GMEM_CHUNK of
 * it: the chunk is zeroed the first time anything asks for it (every
 * accessor below does so before it hands out a pointer or copies), so a
 * VM's creation does not have to zero RAM its guest never touches.  The
 * owner keeps the guest's own accesses out of a chunk that is not ready
 * (core maps it in the nested page tables only after gmem_prepare).
 */
#define GMEM_CHUNK          (2ull << 20)
#define GMEM_CHUNK_READY    0
#define GMEM_CHUNK_FRESH    1   /* still holds what the host left there */
#define GMEM_CHUNK_ZEROING  2   /* being zeroed by one CPU; others wait */

struct gmem_region {
	gpa_t gpa;          /* first guest-physical byte */
	uint64_t size;      /* bytes */
	uint8_t *hva;       /* where the hypervisor sees gpa */
	uint8_t *chunk;     /* NULL, or one GMEM_CHUNK_* per GMEM_CHUNK */
};

struct guest_mem {
	struct gmem_region region[GMEM_MAX_REGIONS];
	int nr;
	uint64_t total;     /* sum of region sizes */
};

/* Add a RAM region; regions must not overlap.  Returns false if full or overlapping. */
bool gmem_add(struct guest_mem *m, gpa_t gpa, uint64_t size, void *hva);

/* Chunks (GMEM_CHUNK each) that a region of size bytes has. */
#define GMEM_CHUNKS(size)   (((size) + GMEM_CHUNK - 1) / GMEM_CHUNK)

/*
 * Make the region that starts at gpa demand-zero: state must hold
 * GMEM_CHUNKS(size) bytes and live as long as the region.  Every chunk
 * starts fresh.  False if no region starts at gpa.
 */
bool gmem_set_lazy(struct guest_mem *m, gpa_t gpa, uint8_t *state);

/*
 * Zero each fresh chunk that [gpa, gpa+len) touches (exactly once, even
 * with several CPUs asking at the same time).  False if any byte is not
 * RAM.  On true, *chunk_gpa and *chunk_len (if not NULL) give the chunk
 * that holds gpa, clipped to its region: the unit the caller may map.
 */
bool gmem_prepare(const struct guest_mem *m, gpa_t gpa, uint64_t len,
		  gpa_t *chunk_gpa, uint64_t *chunk_len);

/* Zero every fresh chunk of every region (before the RAM is read whole). */
void gmem_prepare_all(const struct guest_mem *m);

/*
 * Host pointer for [gpa, gpa+len) if the whole range lies inside one RAM
 * region, else NULL.  len may be 0 (then gpa itself must be inside RAM).
 */
void *gmem_ptr(const struct guest_mem *m, gpa_t gpa, uint64_t len);

/* True if [gpa, gpa+len) is entirely guest RAM (possibly across regions). */
bool gmem_is_ram(const struct guest_mem *m, gpa_t gpa, uint64_t len);

/* Copy to/from guest RAM; ranges may span regions.  False if any byte is not RAM. */
bool gmem_read(const struct guest_mem *m, gpa_t gpa, void *dst, uint64_t len);
bool gmem_write(const struct guest_mem *m, gpa_t gpa, const void *src, uint64_t len);

/*
 * Copy a NUL-terminated string of at most max bytes (including the NUL)
 * from guest RAM.  False if it is not RAM or not terminated within max.
 */
bool gmem_read_str(const struct guest_mem *m, gpa_t gpa, char *dst, uint64_t max);

#endif
