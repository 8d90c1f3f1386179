/*
 * Physical frame allocator; see frame.h.
 *
 * Searches move 64 frames at a time over fully used words.  Single 4 KiB
 * frames are taken first-fit from low_free, the lowest index that may be
 * free, which keeps page-table and heap pages packed at the bottom and
 * leaves large aligned runs intact.  Multi-frame and aligned requests are
 * next-fit from where the previous one ended, wrapping once, and only try
 * aligned candidates: after a used frame stops a candidate, the search
 * resumes at the next free frame rounded up to the alignment.
 */
#include "mm/frame.h"

/*
 * Bit count without __builtin_popcountll, which needs libgcc unless the
 * compiler may assume the POPCNT instruction.
 */
static uint64_t popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/* First index in [from, to) whose bit is 'used', or to. */
static uint64_t bm_find(const uint64_t *bm, uint64_t from, uint64_t to, bool used)
{
	while (from < to) {
		uint64_t w = bm[from / 64];

		if (!used)
			w = ~w;
		w &= ~0ULL << (from % 64);
		if (w) {
			uint64_t i = (from & ~63ULL) + (uint64_t)__builtin_ctzll(w);
			return i < to ? i : to;
		}
		from = (from | 63) + 1;
	}
	return to;
}

/* Set bits [from, to) to 'used'; returns how many bits changed. */
static uint64_t bm_set(uint64_t *bm, uint64_t from, uint64_t to, bool used)
{
	uint64_t changed = 0;

	while (from < to) {
		uint64_t *w = &bm[from / 64];
		uint64_t word_end = (from | 63) + 1;
		uint64_t m = ~0ULL << (from % 64);

		if (to < word_end)
			m &= ~(~0ULL << (to % 64));
		if (used) {
			changed += popcount64(~*w & m);
			*w |= m;
		} else {
			changed += popcount64(*w & m);
			*w &= ~m;
		}
		from = word_end;
	}
	return changed;
}

/* One past the last byte of the window; page-aligned and not wrapped (see frame_init). */
static hpa_t window_end(const struct frame_alloc *fa)
{
	return fa->base + fa->npages * PAGE_SIZE;
}

/* Clip the frame-aligned range [start, end) to the window, as frame indices. */
static bool clip(const struct frame_alloc *fa, hpa_t start, hpa_t end,
		 uint64_t *lo, uint64_t *hi)
{
	start = MAX(start, fa->base);
	end = MIN(end, window_end(fa));
	if (start >= end)
		return false;
	*lo = (start - fa->base) >> PAGE_SHIFT;
	*hi = (end - fa->base) >> PAGE_SHIFT;
	return true;
}

bool frame_init(struct frame_alloc *fa, hpa_t base, uint64_t npages,
		uint64_t *bitmap, size_t bitmap_bytes)
{
	uint64_t cap = (uint64_t)(bitmap_bytes / 8) * 64;
	uint64_t lim = (UINT64_MAX - base) >> PAGE_SHIFT;  /* window end must not wrap */
	bool ok = true;

	*fa = (struct frame_alloc){ .base = base, .bitmap = bitmap };
	if (!IS_ALIGNED(base, PAGE_SIZE) || !bitmap)
		return false;
	if (npages > cap || npages > lim) {
		npages = MIN(cap, lim);
		ok = false;
	}
	fa->npages = npages;
	/* Also marks the tail bits of the last word used, so no search finds them. */
	for (uint64_t i = 0; i < (npages + 63) / 64; i++)
		bitmap[i] = ~0ULL;
	return ok;
}

void frame_add_free(struct frame_alloc *fa, hpa_t pa, uint64_t len)
{
	hpa_t wend = window_end(fa);
	hpa_t end = pa + len;
	uint64_t lo, hi;

	if (pa >= wend)
		return;
	if (end < pa || end > wend)
		end = wend;
	pa = MAX(ALIGN_UP(pa, PAGE_SIZE), PAGE_SIZE);  /* never page 0 */
	if (!clip(fa, pa, ALIGN_DOWN(end, PAGE_SIZE), &lo, &hi))
		return;
	fa->nfree += bm_set(fa->bitmap, lo, hi, false);
	fa->low_free = MIN(fa->low_free, lo);
}

void frame_reserve(struct frame_alloc *fa, hpa_t pa, uint64_t len)
{
	hpa_t wend = window_end(fa);
	hpa_t end = pa + len;
	uint64_t lo, hi;

	if (len == 0)
		return;
	if (end < pa || end > wend)
		end = wend;
	if (!clip(fa, ALIGN_DOWN(pa, PAGE_SIZE), ALIGN_UP(end, PAGE_SIZE), &lo, &hi))
		return;
	fa->nfree -= bm_set(fa->bitmap, lo, hi, true);
}

/*
 * Find n free frames in [lo, hi) whose first physical frame number is a
 * multiple of align_pfn.  Every step either succeeds or moves past a used
 * frame, so the walk is linear in the bitmap words between lo and hi.
 */
static bool find_run(const struct frame_alloc *fa, uint64_t n, uint64_t align_pfn,
		     uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t base_pfn = fa->base >> PAGE_SHIFT;
	uint64_t pos = lo;

	while (pos < hi && hi - pos >= n) {
		uint64_t f = bm_find(fa->bitmap, pos, hi, false);
		uint64_t c, u;

		if (f >= hi)
			return false;
		/* base_pfn + f < 2^52 and align_pfn <= 2^51: no overflow. */
		c = ALIGN_UP(base_pfn + f, align_pfn) - base_pfn;
		if (c >= hi || hi - c < n)
			return false;
		u = bm_find(fa->bitmap, c, c + n, true);
		if (u == c + n) {
			*out = c;
			return true;
		}
		pos = u + 1;
	}
	return false;
}

/* Allocate n frames aligned to align bytes, entirely below frame index hi. */
static hpa_t alloc_range(struct frame_alloc *fa, uint64_t n, uint64_t align, uint64_t hi)
{
	uint64_t align_pfn = align > PAGE_SIZE ? align >> PAGE_SHIFT : 1;
	uint64_t lo, start, c;
	bool found;

	if (n == 0 || n > hi || (align & (align - 1)) != 0)
		return 0;
	fa->low_free = bm_find(fa->bitmap, fa->low_free, fa->npages, false);
	lo = fa->low_free;
	if (n == 1 && align_pfn == 1) {
		/* The lowest free frame is the first fit. */
		found = lo < hi;
		c = lo;
	} else {
		start = fa->next_fit;
		if (start < lo || start >= hi)
			start = lo;
		found = find_run(fa, n, align_pfn, start, hi, &c) ||
			(start > lo && find_run(fa, n, align_pfn, lo, hi, &c));
		if (found)
			fa->next_fit = c + n;
	}
	if (!found)
		return 0;
	fa->nfree -= bm_set(fa->bitmap, c, c + n, true);
	return fa->base + c * PAGE_SIZE;
}

hpa_t frame_alloc_pages(struct frame_alloc *fa, uint64_t npages, uint64_t align)
{
	return alloc_range(fa, npages, align, fa->npages);
}

hpa_t frame_alloc_below(struct frame_alloc *fa, uint64_t npages, uint64_t align,
			hpa_t max_pa)
{
	if (max_pa <= fa->base)
		return 0;
	return alloc_range(fa, npages, align,
			   MIN(fa->npages, (max_pa - fa->base) >> PAGE_SHIFT));
}

bool frame_free_pages(struct frame_alloc *fa, hpa_t pa, uint64_t npages)
{
	uint64_t i;

	if (pa == 0 || !IS_ALIGNED(pa, PAGE_SIZE) || pa < fa->base || npages == 0)
		goto bad;
	i = (pa - fa->base) >> PAGE_SHIFT;
	if (i >= fa->npages || npages > fa->npages - i)
		goto bad;
	if (bm_find(fa->bitmap, i, i + npages, false) != i + npages)
		goto bad;  /* part of it is already free */
	fa->nfree += bm_set(fa->bitmap, i, i + npages, false);
	fa->low_free = MIN(fa->low_free, i);
	return true;
bad:
	fa->bad_frees++;
	return false;
}

bool frame_is_free(const struct frame_alloc *fa, hpa_t pa)
{
	uint64_t i;

	if (pa < fa->base)
		return false;
	i = (pa - fa->base) >> PAGE_SHIFT;
	return i < fa->npages && !(fa->bitmap[i / 64] & (1ULL << (i % 64)));
}

uint64_t frame_free_count(const struct frame_alloc *fa)
{
	return fa->nfree;
}

uint64_t frame_largest_free_run(const struct frame_alloc *fa)
{
	uint64_t best = 0, pos = 0;

	while (pos < fa->npages) {
		uint64_t s = bm_find(fa->bitmap, pos, fa->npages, false);
		uint64_t e;

		if (s >= fa->npages)
			break;
		e = bm_find(fa->bitmap, s, fa->npages, true);
		best = MAX(best, e - s);
		pos = e;
	}
	return best;
}
