/*
 * Host tests for mm/heap.c.  Pages come from aligned_alloc through a
 * provider that counts them and can be told to run dry.
 */
#include "test/unit/check.h"
#include "mm/heap.h"
#include <stdint.h>

#define OWNED_MAX 65536

struct provider {
	size_t out;        /* pages handed out and not returned */
	size_t budget;     /* pages left before get_pages fails */
	size_t calls;
	bool misalign;     /* hand out a pointer that is not page-aligned */
	void **owned;      /* every region handed out, released at the end */
	size_t nowned;
};

static void *get_pages(void *ctx, size_t n)
{
	struct provider *pv = ctx;
	char *p;

	pv->calls++;
	if (n > pv->budget || pv->nowned == OWNED_MAX)
		return NULL;
	p = aligned_alloc(PAGE_SIZE, n * PAGE_SIZE);
	if (!p)
		return NULL;
	memset(p, 0xa5, n * PAGE_SIZE);   /* dirty, like recycled frames */
	pv->owned[pv->nowned++] = p;
	pv->budget -= n;
	pv->out += n;
	return pv->misalign ? p + 16 : p;
}

static void put_pages(void *ctx, void *p, size_t n)
{
	struct provider *pv = ctx;

	for (size_t i = 0; i < pv->nowned; i++) {
		if (pv->owned[i] == p) {
			free(p);
			pv->owned[i] = pv->owned[--pv->nowned];
			pv->out -= n;
			return;
		}
	}
	printf("    put_pages: %p was not handed out\n", p);
	abort();
}

static void provider_release(struct provider *pv)
{
	while (pv->nowned)
		free(pv->owned[--pv->nowned]);
	free(pv->owned);
	pv->owned = NULL;
}

static void provider_init(struct provider *pv)
{
	memset(pv, 0, sizeof(*pv));
	pv->budget = SIZE_MAX;
	pv->owned = malloc(OWNED_MAX * sizeof(void *));
}

static char last_bug[128];
static int nbugs;

static void bug_hook(const char *msg)
{
	nbugs++;
	snprintf(last_bug, sizeof(last_bug), "%s", msg);
}

static void setup(struct heap *h, struct provider *pv, bool with_put)
{
	provider_init(pv);
	heap_init(h, get_pages, pv);
	if (with_put)
		h->put_pages = put_pages;
	h->bug = bug_hook;
	nbugs = 0;
	last_bug[0] = 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define NBLK 3000

struct blk { unsigned char *p; size_t size; unsigned char fill; };

static bool fill_ok(const struct blk *b)
{
	for (size_t i = 0; i < b->size; i++)
		if (b->p[i] != b->fill)
			return false;
	return true;
}

static bool place(struct heap *h, struct blk *b, size_t size, unsigned char fill)
{
	b->p = heap_alloc(h, size);
	b->size = size;
	b->fill = fill;
	if (!b->p)
		return false;
	memset(b->p, fill, size);
	if ((uintptr_t)b->p % 16)
		return false;
	if (size > HEAP_MAX_SMALL && (uintptr_t)b->p % PAGE_SIZE)
		return false;
	return true;
}

/* Random sizes, every block filled with its own byte: no block may overlap another. */
static void churn(bool with_put)
{
	static struct blk b[NBLK];
	struct heap h;
	struct provider pv;
	bool ok = true;
	size_t used = 0;

	setup(&h, &pv, with_put);
	for (int i = 0; i < NBLK; i++) {
		size_t size = next_rand() % 8 == 0 ? next_rand() % 20000 : next_rand() % 2100;
		ok &= place(&h, &b[i], size, (unsigned char)(i * 7 + 1));
	}
	CHECK(ok);
	for (int i = 0; i < NBLK; i++)
		ok &= fill_ok(&b[i]);
	CHECK(ok);
	/* Free a random half, refill with new sizes, several rounds. */
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < NBLK; i++) {
			if (next_rand() % 2)
				continue;
			ok &= fill_ok(&b[i]);
			heap_free(&h, b[i].p);
			size_t size = next_rand() % 4 == 0 ? next_rand() % 9000 : next_rand() % 600;
			ok &= place(&h, &b[i], size, (unsigned char)(round * 31 + i));
		}
		for (int i = 0; i < NBLK; i++)
			ok &= fill_ok(&b[i]);
	}
	CHECK(ok);
	for (int i = 0; i < NBLK; i++) {
		size_t s = b[i].size;
		used += s > HEAP_MAX_SMALL ? ALIGN_UP(s, PAGE_SIZE) : MAX(ALIGN_UP(s, 16), 16);
	}
	/* Class rounding only adds. */
	CHECK(heap_used(&h) >= used);
	for (int i = 0; i < NBLK; i++)
		heap_free(&h, b[i].p);
	CHECK_EQ(heap_used(&h), 0);
	CHECK_EQ(nbugs, 0);
	CHECK_EQ(h.bugs, 0);
	/* All that stays is at most one empty slab per class. */
	CHECK(h.pages - h.cached_pages <= HEAP_NR_CLASSES);
	if (with_put)
		CHECK_EQ(pv.out, h.pages);
	provider_release(&pv);
}

TEST(churn_with_put_pages) { churn(true); }
TEST(churn_with_page_cache) { churn(false); }

TEST(sizes_and_alignment)
{
	struct heap h;
	struct provider pv;
	void *p[5000];
	bool ok = true;

	setup(&h, &pv, true);
	for (size_t s = 0; s < 5000; s++) {
		p[s] = heap_alloc(&h, s);
		ok &= p[s] != NULL && (uintptr_t)p[s] % 16 == 0;
		if (s > HEAP_MAX_SMALL)
			ok &= (uintptr_t)p[s] % PAGE_SIZE == 0;
		else
			ok &= (uintptr_t)p[s] % PAGE_SIZE != 0;
		if (p[s])
			memset(p[s], (int)s, s);
	}
	CHECK(ok);
	for (size_t s = 0; s < 5000; s++)
		for (size_t i = 0; i < s; i++)
			ok &= ((unsigned char *)p[s])[i] == (unsigned char)s;
	CHECK(ok);
	CHECK_EQ(heap_used(&h) % 16, 0);
	for (size_t s = 0; s < 5000; s++)
		heap_free(&h, p[s]);
	CHECK_EQ(heap_used(&h), 0);
	CHECK_EQ(nbugs, 0);
	provider_release(&pv);
}

TEST(reuse)
{
	struct heap h;
	struct provider pv;
	void *a, *b, *c;

	setup(&h, &pv, true);
	a = heap_alloc(&h, 64);
	b = heap_alloc(&h, 64);
	CHECK(a && b && a != b);
	CHECK_EQ(heap_used(&h), 128);
	heap_free(&h, a);
	CHECK_EQ(heap_used(&h), 64);
	c = heap_alloc(&h, 50);   /* same class */
	CHECK(c == a);
	heap_free(&h, b);
	heap_free(&h, c);
	CHECK_EQ(heap_used(&h), 0);
	/* Empty slab kept for its class: no new pages for the next block. */
	size_t calls = pv.calls;
	a = heap_alloc(&h, 64);
	CHECK_EQ(pv.calls, calls);
	heap_free(&h, a);
	heap_free(&h, NULL);
	CHECK_EQ(nbugs, 0);
	provider_release(&pv);
}

TEST(zalloc_zeroes_reused_blocks)
{
	struct heap h;
	struct provider pv;
	unsigned char *p, *q;
	bool zero = true;

	setup(&h, &pv, false);
	p = heap_alloc(&h, 300);
	memset(p, 0xff, 300);
	heap_free(&h, p);
	q = heap_zalloc(&h, 300);
	CHECK(q == p);
	for (int i = 0; i < 300; i++)
		zero &= q[i] == 0;
	p = heap_zalloc(&h, 3 * PAGE_SIZE + 5);   /* large, from dirty pages */
	for (size_t i = 0; p && i < 3 * PAGE_SIZE + 5; i++)
		zero &= p[i] == 0;
	CHECK(zero);
	heap_free(&h, p);
	heap_free(&h, q);
	provider_release(&pv);
}

TEST(large_blocks)
{
	struct heap h;
	struct provider pv;
	void *a, *b, *c;

	setup(&h, &pv, true);
	a = heap_alloc(&h, 10000);
	CHECK(a && (uintptr_t)a % PAGE_SIZE == 0);
	CHECK_EQ(heap_used(&h), 3 * PAGE_SIZE);
	b = heap_alloc(&h, HEAP_MAX_SMALL + 1);
	CHECK(b && (uintptr_t)b % PAGE_SIZE == 0);
	CHECK_EQ(heap_used(&h), 4 * PAGE_SIZE);
	size_t out = pv.out;
	heap_free(&h, a);
	CHECK_EQ(pv.out, out - 3);        /* pages go straight back */
	heap_free(&h, b);
	CHECK_EQ(pv.out, out - 4);
	CHECK_EQ(heap_used(&h), 0);
	CHECK(heap_alloc(&h, SIZE_MAX) == NULL);
	CHECK(heap_alloc(&h, SIZE_MAX - PAGE_SIZE + 2) == NULL);
	provider_release(&pv);

	/* Without put_pages, freed runs are reused, split if longer. */
	setup(&h, &pv, false);
	a = heap_alloc(&h, 5 * PAGE_SIZE);
	heap_free(&h, a);
	CHECK_EQ(h.cached_pages, 5);
	size_t calls = pv.calls;
	b = heap_alloc(&h, 2 * PAGE_SIZE);
	c = heap_alloc(&h, 3 * PAGE_SIZE);
	CHECK_EQ(pv.calls, calls);
	CHECK(b == a);
	CHECK(c == (char *)a + 2 * PAGE_SIZE);
	CHECK_EQ(h.cached_pages, 0);
	memset(b, 1, 2 * PAGE_SIZE);
	memset(c, 2, 3 * PAGE_SIZE);
	heap_free(&h, b);
	heap_free(&h, c);
	CHECK_EQ(h.cached_pages, 5);
	CHECK_EQ(nbugs, 0);
	provider_release(&pv);
}

TEST(slabs_released)
{
	struct heap h;
	struct provider pv;
	static void *p[1000];

	setup(&h, &pv, true);
	for (int i = 0; i < 1000; i++)
		p[i] = heap_alloc(&h, 16);
	CHECK(pv.out >= 1000 / 252 + 1);
	for (int i = 0; i < 1000; i++)
		heap_free(&h, p[i]);
	CHECK_EQ(pv.out, 1);      /* one empty slab kept */
	CHECK_EQ(h.pages, 1);
	CHECK_EQ(nbugs, 0);
	provider_release(&pv);
}

TEST(bad_frees_reported)
{
	struct heap h, other;
	struct provider pv, pv2;
	char *a, *b, *big, *x;
	static char page[2 * 4096] __attribute__((aligned(4096)));

	setup(&h, &pv, true);
	a = heap_alloc(&h, 100);
	b = heap_alloc(&h, 100);
	big = heap_alloc(&h, 3 * PAGE_SIZE);
	memset(b, 0x5b, 100);

	heap_free(&h, a);
	heap_free(&h, a);
	CHECK_EQ(nbugs, 1);
	CHECK_STR(last_bug, "heap_free: double free");

	heap_free(&h, b + 16);                 /* inside a block */
	CHECK_EQ(nbugs, 2);
	CHECK_STR(last_bug, "heap_free: pointer not at the start of a block");

	heap_free(&h, page + 64);              /* never from a heap */
	CHECK_EQ(nbugs, 3);
	CHECK_STR(last_bug, "heap_free: pointer not from this heap");

	heap_free(&h, page + 4096);            /* page-aligned, unknown */
	CHECK_EQ(nbugs, 4);

	heap_free(&h, big);
	heap_free(&h, big);                    /* large double free */
	CHECK_EQ(nbugs, 5);

	/* A block of another heap. */
	heap_init(&other, get_pages, &pv2);
	provider_init(&pv2);
	x = heap_alloc(&other, 40);
	heap_free(&h, x);
	CHECK_EQ(nbugs, 6);
	CHECK_STR(last_bug, "heap_free: pointer not from this heap");
	heap_free(&other, x);
	CHECK_EQ(other.bugs, 0);
	provider_release(&pv2);

	/* The heap is intact: b still holds its data, new blocks are distinct. */
	CHECK_EQ(h.bugs, 6);
	for (int i = 0; i < 100; i++)
		CHECK(b[i] == 0x5b);
	a = heap_alloc(&h, 100);
	x = heap_alloc(&h, 100);
	CHECK(a && x && a != b && x != b && a != x);
	heap_free(&h, a);
	heap_free(&h, x);
	heap_free(&h, b);
	CHECK_EQ(heap_used(&h), 0);
	CHECK_EQ(nbugs, 6);
	provider_release(&pv);
}

TEST(page_source_failures)
{
	struct heap h;
	struct provider pv;
	void *p[200];
	int n = 0;

	setup(&h, &pv, true);
	pv.budget = 2;
	CHECK(heap_alloc(&h, 3 * PAGE_SIZE) == NULL);  /* the record slab takes one page */
	CHECK(heap_alloc(&h, PAGE_SIZE) != NULL);      /* one page left, used here */
	CHECK(heap_alloc(&h, PAGE_SIZE) == NULL);
	CHECK(heap_alloc(&h, 2000) == NULL);
	/* The record slab (32-byte class) has room for 126 blocks, one taken. */
	while (n < 200 && (p[n] = heap_alloc(&h, 32)) != NULL)
		n++;
	CHECK_EQ(n, 125);
	while (n > 0)
		heap_free(&h, p[--n]);
	CHECK_EQ(heap_used(&h), PAGE_SIZE);
	CHECK_EQ(nbugs, 0);
	provider_release(&pv);

	setup(&h, &pv, false);
	pv.misalign = true;
	CHECK(heap_alloc(&h, 64) == NULL);
	CHECK_EQ(nbugs, 1);
	CHECK_STR(last_bug, "heap: get_pages returned an unaligned address");
	provider_release(&pv);
}

int main(void)
{
	check_start("heap");
	RUN(churn_with_put_pages);
	RUN(churn_with_page_cache);
	RUN(sizes_and_alignment);
	RUN(reuse);
	RUN(zalloc_zeroes_reused_blocks);
	RUN(large_blocks);
	RUN(slabs_released);
	RUN(bad_frees_reported);
	RUN(page_source_failures);
	return check_finish();
}
