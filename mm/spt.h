/*
 * Shadow page tables: hardware page tables (PAE, 4- or 5-level long
 * mode; AMD APM vol. 2 §5.3-5.4, Intel SDM vol. 3A §4.4-4.5) that the
 * hypervisor fills one translation at a time, from linear addresses to host
 * frames.  This file knows nothing of guests: it keeps the tree, its page
 * budget and the invalidations a TLB knows (one page, all non-global, all).
 * core/shadow.c decides what goes in.
 *
 * Pure logic over the page callbacks it is given (pointers are physical
 * addresses, as in kasane's identity map): also built into the host unit
 * tests.  One struct spt per vCPU; no locking (its vCPU's CPU only).
 */
#ifndef KASANE_MM_SPT_H
#define KASANE_MM_SPT_H

#include "lib/types.h"

/* Entry bits (APM vol. 2 §5.4.1; SDM vol. 3A Table 4-19). */
#define SPT_P           (1ULL << 0)
#define SPT_RW          (1ULL << 1)
#define SPT_US          (1ULL << 2)
#define SPT_A           (1ULL << 5)
#define SPT_D           (1ULL << 6)
#define SPT_PS          (1ULL << 7)
#define SPT_G           (1ULL << 8)     /* kept for spt_flush(keep_global); CR4.PGE stays 0 */
#define SPT_NX          (1ULL << 63)
/* Software bits 9-11, ignored by the CPU: what the guest's own page was. */
#define SPT_LARGE       (1ULL << 9)     /* from a 2 MiB or 4 MiB guest page (or holds pieces of one) */
#define SPT_HUGE        (1ULL << 10)    /* holds pieces of a 1 GiB guest page */
#define SPT_ADDR        0x000ffffffffff000ULL

/* Where pages come from: alloc returns a zeroed page (0 when none), its
 * address both physical and usable as a pointer. */
struct spt_pages {
	hpa_t (*alloc)(void *ctx);
	void (*free)(void *ctx, hpa_t page);
	void *ctx;
};

struct spt {
	struct spt_pages pages;
	int levels;             /* 3: PAE, 4, 5: long mode; 0 before spt_reset */
	hpa_t root;             /* PDPT (PAE, below 4 GiB) or PML4/PML5 */
	hpa_t pae_pd[4];        /* PAE: the four page directories, always present */
	unsigned used, max;     /* table pages in use (root included) and the budget */
	unsigned globals;       /* global leaves in the tree (an upper bound) */
	/* Counters, for the end report. */
	uint64_t maps, flushes, full;
	unsigned peak;
};

/* Bind the page source and the budget (>= 8 pages); no page is taken yet. */
void spt_init(struct spt *s, const struct spt_pages *pages, unsigned max_pages);
/* Drop every table and start an empty tree of 'levels' (3, 4, 5); false
 * if the root cannot be had (no page left: the tree stays empty, levels 0). */
bool spt_reset(struct spt *s, int levels);
/* Free every page; the tree is empty (levels 0) afterwards. */
void spt_destroy(struct spt *s);

/*
 * Map the page at linear address la (4 KiB, or 2 MiB with large) to hpa
 * with the leaf bits 'flags' (SPT_RW, SPT_US, SPT_NX, SPT_G, SPT_LARGE,
 * SPT_HUGE; P, A and D are added).  SPT_HUGE is also noted on the
 * level-3 entry above, SPT_LARGE on the level-2 entry, so spt_invlpg finds
 * every piece of a large guest page.  Returns false when the budget is
 * spent (nothing changed): the caller flushes and maps again.
 */
bool spt_map(struct spt *s, uint64_t la, hpa_t hpa, uint64_t flags, bool large);
/* The leaf entry for la, or 0 if none (for tests and spurious faults). */
uint64_t spt_lookup(const struct spt *s, uint64_t la);

/*
 * What INVLPG la does to a TLB (SDM vol. 3A §4.10.4.1): drop the page
 * holding la, every piece of a large guest page holding it included.
 * pair: 32-bit guest paging, whose 4 MiB pages span two 2 MiB entries.
 */
void spt_invlpg(struct spt *s, uint64_t la, bool pair);
/* Drop every leaf (keep_global: but the global ones) and the tables left empty. */
void spt_flush(struct spt *s, bool keep_global);

#endif
