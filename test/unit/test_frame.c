/*
 * Host tests for mm/frame.c.  A per-frame reference model built from the
 * same free/reserved ranges tells which frames may ever be handed out.
 */
#include "test/unit/check.h"
#include "mm/frame.h"

#define SMALL_PAGES   (64 * MiB / PAGE_SIZE)
#define BIG_PAGES     (16 * GiB / PAGE_SIZE)

static uint64_t small_bm[SMALL_PAGES / 64];
static uint64_t big_bm[BIG_PAGES / 64];
static bool model[SMALL_PAGES];   /* true: may be allocated and not yet taken */

struct range { uint64_t pa, len; };

/* A 64 MiB PC-like map: low memory, a hole, RAM with unaligned ends, a hole at the top. */
static const struct range ram[] = {
	{ 0, 640 * KiB },
	{ 1 * MiB, 31 * MiB },
	{ 33 * MiB + 123, 27 * MiB - 128 },   /* [33M+123, 60M-5) */
};
static const struct range reserved[] = {
	{ 1 * MiB, 2 * MiB + 100 },           /* kernel image */
	{ 10 * MiB + 5, 2 * MiB - 5 },        /* boot modules */
	{ 59 * MiB + 10, 100 },               /* ACPI tables */
	{ 0x9f000, 0x1000 },                  /* EBDA */
};

static void setup_small(struct frame_alloc *fa)
{
	CHECK(frame_init(fa, 0, SMALL_PAGES, small_bm, sizeof(small_bm)));
	CHECK_EQ(frame_free_count(fa), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ram); i++)
		frame_add_free(fa, ram[i].pa, ram[i].len);
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		frame_reserve(fa, reserved[i].pa, reserved[i].len);

	/* Model: whole frame inside RAM, no byte reserved, not page 0. */
	for (uint64_t p = 0; p < SMALL_PAGES; p++) {
		uint64_t s = p * PAGE_SIZE, e = s + PAGE_SIZE;
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(ram); i++)
			if (s >= ram[i].pa && e <= ram[i].pa + ram[i].len)
				ok = true;
		for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
			if (s < reserved[i].pa + reserved[i].len && reserved[i].pa < e)
				ok = false;
		model[p] = ok && p != 0;
	}
}

static uint64_t model_free(void)
{
	uint64_t n = 0;
	for (uint64_t p = 0; p < SMALL_PAGES; p++)
		n += model[p];
	return n;
}

/* Check an allocation against the model and take it there. */
static bool take(hpa_t pa, uint64_t n, uint64_t align)
{
	bool ok = pa != 0 && pa % PAGE_SIZE == 0 && pa % align == 0 &&
		  pa / PAGE_SIZE + n <= SMALL_PAGES;
	for (uint64_t i = 0; ok && i < n; i++) {
		ok = model[pa / PAGE_SIZE + i];
		model[pa / PAGE_SIZE + i] = false;
	}
	return ok;
}

TEST(init_counts)
{
	struct frame_alloc fa;

	setup_small(&fa);
	CHECK_EQ(frame_free_count(&fa), model_free());
	CHECK(!frame_is_free(&fa, 0));
	CHECK(frame_is_free(&fa, 0x1000));
	CHECK(!frame_is_free(&fa, 1 * MiB));              /* kernel */
	CHECK(!frame_is_free(&fa, 3 * MiB));              /* kernel end rounded out */
	CHECK(frame_is_free(&fa, 3 * MiB + PAGE_SIZE));
	CHECK(!frame_is_free(&fa, 33 * MiB));             /* rounded in */
	CHECK(frame_is_free(&fa, 33 * MiB + PAGE_SIZE));
	CHECK(!frame_is_free(&fa, 60 * MiB - PAGE_SIZE)); /* rounded in */
	CHECK(!frame_is_free(&fa, 59 * MiB));             /* ACPI */
	CHECK(!frame_is_free(&fa, 64 * MiB));             /* outside */
	CHECK_EQ(frame_largest_free_run(&fa), (59 * MiB - 33 * MiB - PAGE_SIZE) / PAGE_SIZE);
}

TEST(singles_until_exhausted)
{
	struct frame_alloc fa;
	uint64_t n = 0, expect;
	hpa_t pa, prev = 0;
	bool ok = true, ascending = true;

	setup_small(&fa);
	expect = model_free();
	while ((pa = frame_alloc_pages(&fa, 1, PAGE_SIZE)) != 0) {
		ok &= take(pa, 1, PAGE_SIZE);
		ascending &= pa > prev;   /* first fit from the bottom */
		prev = pa;
		n++;
		if (n > SMALL_PAGES)
			break;
	}
	CHECK(ok);
	CHECK(ascending);
	CHECK_EQ(n, expect);
	CHECK_EQ(frame_free_count(&fa), 0);
	CHECK_EQ(model_free(), 0);
	CHECK_EQ(frame_alloc_pages(&fa, 1, 0), 0);
	CHECK_EQ(frame_largest_free_run(&fa), 0);

	/* Free and re-allocate. */
	CHECK(frame_free_pages(&fa, 40 * MiB, 3));
	CHECK_EQ(frame_free_count(&fa), 3);
	CHECK_EQ(frame_alloc_pages(&fa, 3, PAGE_SIZE), 40 * MiB);
	CHECK(frame_free_pages(&fa, 20 * MiB, 1));
	CHECK(frame_free_pages(&fa, 5 * MiB, 1));
	CHECK_EQ(frame_alloc_pages(&fa, 1, PAGE_SIZE), 5 * MiB);
	CHECK_EQ(frame_alloc_pages(&fa, 1, PAGE_SIZE), 20 * MiB);
	CHECK_EQ(frame_alloc_pages(&fa, 1, PAGE_SIZE), 0);
	CHECK_EQ(frame_free_count(&fa), 0);
}

TEST(alignment_and_runs)
{
	static const struct { uint64_t n, align; } req[] = {
		{ 1, 64 * KiB }, { 1, 2 * MiB }, { 16, 64 * KiB }, { 3, PAGE_SIZE },
		{ 512, 2 * MiB }, { 7, 0 }, { 100, 2 * MiB }, { 1, PAGE_SIZE },
		{ 1024, 4 * MiB }, { 33, 128 * KiB },
	};
	struct frame_alloc fa;
	bool ok = true;
	uint64_t total = 0, count = 0, initial;
	hpa_t pa;

	setup_small(&fa);
	initial = frame_free_count(&fa);
	/* Cycle through the mix until nothing of it fits any more. */
	for (int round = 0; round < 10000; round++) {
		bool any = false;
		for (size_t i = 0; i < ARRAY_SIZE(req); i++) {
			uint64_t align = req[i].align ? req[i].align : PAGE_SIZE;
			pa = frame_alloc_pages(&fa, req[i].n, req[i].align);
			if (!pa)
				continue;
			any = true;
			ok &= take(pa, req[i].n, align);
			total += req[i].n;
			count++;
		}
		if (!any)
			break;
	}
	CHECK(ok);
	CHECK(count > 30);
	CHECK_EQ(frame_free_count(&fa), model_free());
	CHECK_EQ(frame_free_count(&fa), initial - total);
	/* Only singles and small runs can be left: single 4K frames still fit. */
	while ((pa = frame_alloc_pages(&fa, 1, PAGE_SIZE)) != 0)
		ok &= take(pa, 1, PAGE_SIZE);
	CHECK(ok);
	CHECK_EQ(model_free(), 0);
	CHECK_EQ(frame_free_count(&fa), 0);

	/* Invalid requests. */
	CHECK_EQ(frame_alloc_pages(&fa, 0, PAGE_SIZE), 0);
	CHECK(frame_free_pages(&fa, 12 * MiB, 1));
	CHECK_EQ(frame_alloc_pages(&fa, 1, 3 * PAGE_SIZE), 0);   /* not a power of two */
	CHECK_EQ(frame_alloc_pages(&fa, SMALL_PAGES + 1, PAGE_SIZE), 0);
	CHECK_EQ(frame_alloc_pages(&fa, UINT64_MAX, PAGE_SIZE), 0);
	CHECK_EQ(frame_alloc_pages(&fa, 1, 1ULL << 63), 0);
	CHECK_EQ(frame_alloc_pages(&fa, 1, PAGE_SIZE), 12 * MiB);
}

/* Alignment is of the physical address, not of the index in the window. */
TEST(alignment_with_offset_base)
{
	struct frame_alloc fa;
	hpa_t base = 1 * MiB + 3 * PAGE_SIZE, pa;

	CHECK(frame_init(&fa, base, 4096, small_bm, sizeof(small_bm)));
	frame_add_free(&fa, 0, UINT64_MAX);
	CHECK_EQ(frame_free_count(&fa), 4096);
	pa = frame_alloc_pages(&fa, 1, 2 * MiB);
	CHECK_EQ(pa, 2 * MiB);
	pa = frame_alloc_pages(&fa, 2, 64 * KiB);
	CHECK(pa >= base && pa % (64 * KiB) == 0);
	CHECK_EQ(frame_alloc_pages(&fa, 1, PAGE_SIZE), base);
	/* The window ends at 17 MiB + 12 KiB: one 8 MiB-aligned 8 MiB run fits. */
	CHECK_EQ(frame_alloc_pages(&fa, 2048, 8 * MiB), 8 * MiB);
	CHECK_EQ(frame_alloc_pages(&fa, 2048, 8 * MiB), 0);
	CHECK(!frame_free_pages(&fa, base - PAGE_SIZE, 1));
	CHECK(!frame_free_pages(&fa, base + 4096 * PAGE_SIZE, 1));
}

TEST(below_limit)
{
	struct frame_alloc fa;
	uint64_t low = 0, n = 0;
	hpa_t pa;
	bool ok = true;

	setup_small(&fa);
	for (uint64_t p = 0; p < 1 * MiB / PAGE_SIZE; p++)
		low += model[p];
	pa = frame_alloc_below(&fa, 2, 2 * PAGE_SIZE, 1 * MiB);
	CHECK(pa != 0 && pa + 2 * PAGE_SIZE <= 1 * MiB);
	ok &= take(pa, 2, 2 * PAGE_SIZE);
	n += 2;
	while ((pa = frame_alloc_below(&fa, 1, PAGE_SIZE, 1 * MiB)) != 0) {
		ok &= pa < 1 * MiB && take(pa, 1, PAGE_SIZE);
		if (++n > low)
			break;
	}
	CHECK(ok);
	CHECK_EQ(n, low);
	/* Nothing below 1 MiB left, but plenty above. */
	CHECK_EQ(frame_alloc_below(&fa, 1, PAGE_SIZE, 1 * MiB), 0);
	CHECK_EQ(frame_alloc_below(&fa, 1, PAGE_SIZE, 0), 0);
	pa = frame_alloc_below(&fa, 4, PAGE_SIZE, 4 * MiB);
	CHECK(pa >= 3 * MiB && pa + 4 * PAGE_SIZE <= 4 * MiB);
	/* A run may not straddle the limit. */
	CHECK_EQ(frame_alloc_below(&fa, 512, 2 * MiB, 5 * MiB), 0);
	CHECK_EQ(frame_alloc_below(&fa, 512, 2 * MiB, 6 * MiB), 4 * MiB);
	CHECK(frame_alloc_pages(&fa, 1, PAGE_SIZE) >= 1 * MiB);
}

TEST(page_zero_never)
{
	struct frame_alloc fa;

	CHECK(frame_init(&fa, 0, 64, small_bm, sizeof(small_bm)));
	frame_add_free(&fa, 0, 64 * PAGE_SIZE);
	CHECK_EQ(frame_free_count(&fa), 63);
	CHECK_EQ(frame_alloc_pages(&fa, 1, PAGE_SIZE), PAGE_SIZE);
	CHECK_EQ(frame_alloc_pages(&fa, 2, 0), 2 * PAGE_SIZE);
	CHECK_EQ(frame_alloc_pages(&fa, 60, PAGE_SIZE), 4 * PAGE_SIZE);
	CHECK_EQ(frame_alloc_pages(&fa, 1, PAGE_SIZE), 0);
	CHECK(!frame_free_pages(&fa, 0, 1));
	CHECK(!frame_is_free(&fa, 0));
	CHECK_EQ(frame_free_count(&fa), 0);
}

TEST(bad_frees)
{
	struct frame_alloc fa;
	uint64_t before;

	setup_small(&fa);
	before = frame_free_count(&fa);
	CHECK(!frame_free_pages(&fa, 5 * MiB, 1));                 /* already free */
	CHECK(!frame_free_pages(&fa, 5 * MiB + 12, 1));            /* unaligned */
	CHECK(!frame_free_pages(&fa, 64 * MiB, 1));                /* past the window */
	CHECK(!frame_free_pages(&fa, 63 * MiB, UINT64_MAX));       /* length wraps */
	CHECK(!frame_free_pages(&fa, 2 * MiB, 0));
	/* Partly free (the kernel's last frame is used, the next one free): no change. */
	CHECK(!frame_free_pages(&fa, 3 * MiB, 2));
	CHECK(!frame_is_free(&fa, 3 * MiB));
	CHECK_EQ(frame_free_count(&fa), before);
	CHECK_EQ(fa.bad_frees, 6);
	/* A reserved frame may be freed once (e.g. boot modules after loading). */
	CHECK(frame_free_pages(&fa, 3 * MiB, 1));
	CHECK(!frame_free_pages(&fa, 3 * MiB, 1));
	CHECK_EQ(frame_free_count(&fa), before + 1);
}

TEST(init_edges)
{
	struct frame_alloc fa;
	uint64_t bm[2];

	CHECK(!frame_init(&fa, 0, 1000, bm, sizeof(bm)));   /* bitmap covers 128 */
	CHECK_EQ(fa.npages, 128);
	frame_add_free(&fa, 0, UINT64_MAX);
	CHECK_EQ(frame_free_count(&fa), 127);
	CHECK_EQ(frame_alloc_pages(&fa, 127, 0), PAGE_SIZE);
	CHECK(!frame_init(&fa, 123, 10, bm, sizeof(bm)));
	CHECK_EQ(frame_alloc_pages(&fa, 1, 0), 0);
	CHECK(frame_init(&fa, 0, 100, bm, sizeof(bm)));
	/* Round inward: only [0x2000, 0x3000) of [0x1800, 0x3800). */
	frame_add_free(&fa, 0x1800, 0x2000);
	CHECK_EQ(frame_free_count(&fa), 1);
	CHECK(frame_is_free(&fa, 0x2000));
	frame_add_free(&fa, 0x1800, 0x100);    /* less than a frame: nothing */
	CHECK_EQ(frame_free_count(&fa), 1);
	frame_add_free(&fa, 0x5000, 0x10000);
	CHECK_EQ(frame_free_count(&fa), 17);
	/* Round outward: one byte reserves its whole frame. */
	frame_reserve(&fa, 0x5fff, 1);
	CHECK(!frame_is_free(&fa, 0x5000));
	frame_reserve(&fa, 0x6fff, 2);
	CHECK(!frame_is_free(&fa, 0x6000) && !frame_is_free(&fa, 0x7000));
	CHECK_EQ(frame_free_count(&fa), 14);
	/* Adding twice counts once; ranges past the window are clipped. */
	frame_add_free(&fa, 0x8000, 0x1000);
	frame_add_free(&fa, 0x60000, UINT64_MAX);
	frame_add_free(&fa, UINT64_MAX - 10, 100);
	CHECK_EQ(frame_free_count(&fa), 14 + 4);
	frame_reserve(&fa, 0x62000, UINT64_MAX);
	CHECK_EQ(frame_free_count(&fa), 14 + 2);
	frame_reserve(&fa, UINT64_MAX - 10, 100);
	frame_reserve(&fa, 0x9000, 0);
	CHECK_EQ(frame_free_count(&fa), 14 + 2);
	CHECK_EQ(frame_alloc_pages(&fa, 2, 0), 0x8000);   /* 0x2000 alone is too short */
}

/*
 * 16 GiB, fragmented: in the low 8 GiB every third 2 MiB block has one
 * used frame.  2 MiB-aligned 512-frame runs until exhaustion, a 1 GiB run,
 * then singles.  Must finish quickly; no timing is asserted.
 */
TEST(big_fragmented)
{
	struct frame_alloc fa;
	uint64_t blocks = BIG_PAGES / 512, broken = 0, got = 0, singles = 0;
	hpa_t pa, gib;
	bool ok = true;

	CHECK(frame_init(&fa, 0, BIG_PAGES, big_bm, sizeof(big_bm)));
	frame_add_free(&fa, 0, 16 * GiB);
	for (uint64_t b = 3; b < blocks / 2; b += 3) {
		frame_reserve(&fa, b * 2 * MiB + (b % 512) * PAGE_SIZE, 1);
		broken++;
	}
	CHECK_EQ(frame_free_count(&fa), BIG_PAGES - 1 - broken);

	gib = frame_alloc_pages(&fa, 1 * GiB / PAGE_SIZE, 1 * GiB);
	CHECK(gib >= 8 * GiB && gib % GiB == 0);
	while ((pa = frame_alloc_pages(&fa, 512, 2 * MiB)) != 0) {
		ok &= pa % (2 * MiB) == 0 && pa != 0 && pa < 16 * GiB;
		ok &= !(pa < gib + GiB && gib < pa + 2 * MiB);
		if (++got > blocks)
			break;
	}
	CHECK(ok);
	/* Block 0 holds page 0; the broken ones cannot be used either. */
	CHECK_EQ(got, blocks - 1 - broken - 512);
	CHECK_EQ(frame_largest_free_run(&fa), 511);
	while (frame_alloc_pages(&fa, 1, 0) != 0)
		if (++singles > BIG_PAGES)
			break;
	CHECK_EQ(singles, (broken + 1) * 511);
	CHECK_EQ(frame_free_count(&fa), 0);
	/* Free everything back in 2 MiB steps and take it all again. */
	CHECK(frame_free_pages(&fa, gib, 1 * GiB / PAGE_SIZE));
	CHECK_EQ(frame_alloc_pages(&fa, 1 * GiB / PAGE_SIZE, 2 * MiB), gib);
}

int main(void)
{
	check_start("frame");
	RUN(init_counts);
	RUN(singles_until_exhausted);
	RUN(alignment_and_runs);
	RUN(alignment_with_offset_base);
	RUN(below_limit);
	RUN(page_zero_never);
	RUN(bad_frees);
	RUN(init_edges);
	RUN(big_fragmented);
	return check_finish();
}
