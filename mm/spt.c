/*
 * Shadow page-table tree; see spt.h.  Every table is one page of 512
 * 8-byte entries; the PAE root is a 4-entry PDPT whose four page
 * directories stay allocated, so its entries (which the CPU loads with CR3,
 * APM vol. 2 §5.3.2) never change.  Intermediate entries allow everything
 * (P, R/W, U/S, A); the leaf alone carries the guest's rights, as the
 * final result of its walk.
 */
#include "mm/spt.h"
#include "lib/string.h"

#define ENTRIES         512
#define TABLE_BITS      (SPT_P | SPT_RW | SPT_US | SPT_A)

static uint64_t *tab(hpa_t pa)
{
	return (uint64_t *)(uintptr_t)pa;
}

static unsigned index_of(const struct spt *s, uint64_t la, int level)
{
	if (s->levels == 3 && level == 3)
		return (la >> 30) & 3;
	return (la >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

static hpa_t get_page(struct spt *s)
{
	if (s->used >= s->max)
		return 0;
	hpa_t p = s->pages.alloc(s->pages.ctx);
	if (!p)
		return 0;
	s->used++;
	s->peak = MAX(s->peak, s->used);
	return p;
}

static void put_page(struct spt *s, hpa_t p)
{
	s->pages.free(s->pages.ctx, p);
	s->used--;
}

/* Is e, present at 'level', a pointer to a lower table? */
static bool is_table(uint64_t e, int level)
{
	return (e & SPT_P) && level > 1 && !(e & SPT_PS);
}

/* Free the tables under entry e of 'level' (not a leaf's frame). */
static void drop_below(struct spt *s, uint64_t e, int level)
{
	if (!is_table(e, level))
		return;
	uint64_t *t = tab(e & SPT_ADDR);
	for (int i = 0; i < ENTRIES; i++)
		drop_below(s, t[i], level - 1);
	put_page(s, e & SPT_ADDR);
}

static void zap(struct spt *s, uint64_t *e, int level)
{
	drop_below(s, *e, level);
	*e = 0;
}

void spt_init(struct spt *s, const struct spt_pages *pages, unsigned max_pages)
{
	memset(s, 0, sizeof(*s));
	s->pages = *pages;
	s->max = MAX(max_pages, 8u);
}

/* Free everything below the root; the root (and PAE directories) stay. */
static void clear_all(struct spt *s)
{
	if (!s->levels)
		return;
	if (s->levels == 3) {
		for (int i = 0; i < 4; i++) {
			uint64_t *pd = tab(s->pae_pd[i]);
			for (int j = 0; j < ENTRIES; j++)
				zap(s, &pd[j], 2);
		}
	} else {
		uint64_t *r = tab(s->root);
		for (int i = 0; i < ENTRIES; i++)
			zap(s, &r[i], s->levels);
	}
	s->globals = 0;
}

void spt_destroy(struct spt *s)
{
	clear_all(s);
	if (s->levels == 3)
		for (int i = 0; i < 4; i++)
			put_page(s, s->pae_pd[i]);
	if (s->root)
		put_page(s, s->root);
	s->root = 0;
	s->levels = 0;
}

bool spt_reset(struct spt *s, int levels)
{
	spt_destroy(s);
	s->root = get_page(s);
	if (!s->root)
		return false;
	if (levels == 3) {
		for (int i = 0; i < 4; i++) {
			s->pae_pd[i] = get_page(s);
			if (!s->pae_pd[i]) {
				while (i--)
					put_page(s, s->pae_pd[i]);
				put_page(s, s->root);
				s->root = 0;
				return false;
			}
			/* A PAE PDPTE has P and the cache bits only (APM vol. 2 §5.3.3). */
			tab(s->root)[i] = s->pae_pd[i] | SPT_P;
		}
	}
	s->levels = levels;
	return true;
}

bool spt_map(struct spt *s, uint64_t la, hpa_t hpa, uint64_t flags, bool large)
{
	int target = large ? 2 : 1;
	uint64_t *t = tab(s->root);

	if (!s->levels)
		return false;
	for (int level = s->levels; level > target; level--) {
		uint64_t *e = &t[index_of(s, la, level)];
		if (s->levels == 3 && level == 3) {
			t = tab(*e & SPT_ADDR);
			continue;
		}
		if (!is_table(*e, level)) {
			hpa_t n = get_page(s);
			if (!n)
				return false;
			*e = n | TABLE_BITS;    /* replaces a larger leaf, if any */
		}
		if (level == 3 && (flags & SPT_HUGE))
			*e |= SPT_HUGE;
		if (level == 2 && (flags & SPT_LARGE))
			*e |= SPT_LARGE;
		t = tab(*e & SPT_ADDR);
	}
	uint64_t *e = &t[index_of(s, la, target)];
	zap(s, e, target);
	*e = (hpa & SPT_ADDR & ~(large ? LARGE_PAGE_SIZE - 1 : 0)) | flags |
	     SPT_P | SPT_A | SPT_D | (large ? SPT_PS : 0);
	if (flags & SPT_G)
		s->globals++;
	s->maps++;
	return true;
}

uint64_t spt_lookup(const struct spt *s, uint64_t la)
{
	const uint64_t *t = tab(s->root);

	if (!s->levels)
		return 0;
	for (int level = s->levels; level >= 1; level--) {
		uint64_t e = t[index_of(s, la, level)];
		if (!(e & SPT_P))
			return 0;
		if (!is_table(e, level) && !(s->levels == 3 && level == 3))
			return e;
		t = tab(e & SPT_ADDR);
	}
	return 0;
}

void spt_invlpg(struct spt *s, uint64_t la, bool pair)
{
	uint64_t *t = tab(s->root);

	if (!s->levels)
		return;
	for (int level = s->levels; level > 2; level--) {
		uint64_t *e = &t[index_of(s, la, level)];
		if (!(*e & SPT_P))
			return;
		if (s->levels != 3 && (*e & SPT_HUGE)) {
			zap(s, e, level);       /* every piece of a 1 GiB page */
			return;
		}
		t = tab(*e & SPT_ADDR);
	}
	unsigned i = index_of(s, la, 2);
	bool gone = false;
	for (unsigned k = 0; k < (pair ? 2u : 1u); k++) {
		uint64_t *e = &t[k ? i ^ 1 : i];
		if ((*e & SPT_P) && (*e & (SPT_PS | SPT_LARGE))) {
			zap(s, e, 2);
			gone = gone || k == 0;
		}
	}
	if (!gone && is_table(t[i], 2))
		tab(t[i] & SPT_ADDR)[index_of(s, la, 1)] = 0;
}

/* Drop non-global leaves under table t of 'level'; returns entries left. */
static unsigned prune(struct spt *s, uint64_t *t, int level)
{
	unsigned left = 0;

	for (int i = 0; i < ENTRIES; i++) {
		uint64_t *e = &t[i];
		if (!(*e & SPT_P))
			continue;
		if (is_table(*e, level)) {
			if (prune(s, tab(*e & SPT_ADDR), level - 1) == 0)
				zap(s, e, level);
			else
				left++;
		} else if (*e & SPT_G) {
			left++;
			s->globals++;
		} else {
			*e = 0;
		}
	}
	return left;
}

void spt_flush(struct spt *s, bool keep_global)
{
	s->flushes++;
	if (!keep_global || !s->globals) {
		clear_all(s);
		return;
	}
	s->globals = 0;
	if (s->levels == 3)
		for (int i = 0; i < 4; i++)
			prune(s, tab(s->pae_pd[i]), 2);
	else
		prune(s, tab(s->root), s->levels);
}
