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

struct gmem_region {
	gpa_t gpa;          /* first guest-physical byte */
	uint64_t size;      /* bytes */
	uint8_t *hva;       /* where the hypervisor sees gpa */
};

struct guest_mem {
	struct gmem_region region[GMEM_MAX_REGIONS];
	int nr;
	uint64_t total;     /* sum of region sizes */
};

/* Add a RAM region; regions must not overlap.  Returns false if full or overlapping. */
bool gmem_add(struct guest_mem *m, gpa_t gpa, uint64_t size, void *hva);

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
