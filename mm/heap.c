/* Kernel heap: size-class slabs and page-sized blocks; see heap.h. */
#include "mm/heap.h"
#include "lib/string.h"

#define SLAB_MAGIC   0x6b736c62u   /* cleared when the slab page is released */
#define SLAB_HDR     64
#define SLAB_WORDS   4             /* live-block bitmap: up to 256 blocks */

/* Header at the start of every slab page; blocks follow it. */
struct heap_slab {
	uint32_t magic;
	uint16_t cls;
	uint16_t nfree;
	struct heap *owner;
	struct heap_slab *next, *prev;   /* in owner->partial[cls] while nfree > 0 */
	uint64_t live[SLAB_WORDS];       /* bit set: block in use (or past the last block) */
};

_Static_assert(sizeof(struct heap_slab) == SLAB_HDR, "slab header is 64 bytes");

/* A live large block, kept in the heap's address table. */
struct heap_large {
	void *p;
	size_t npages;
	struct heap_large *next;
};

/* Released pages kept when there is no put_pages; lives in the run's first page. */
struct heap_run {
	size_t npages;
	struct heap_run *next;
};

/*
 * Block sizes: for a falling number of blocks per slab, the largest
 * multiple of 16 that fits, so little of each page is wasted.
 */
static const uint16_t class_size[HEAP_NR_CLASSES] = {
	16, 32, 48, 64, 96, 128, 192, 256, 336, 448, 576, 672, 800, 1008, 1344, 2016,
};

_Static_assert(HEAP_MAX_SMALL == 2016 && (PAGE_SIZE - SLAB_HDR) / 16 <= SLAB_WORDS * 64,
	       "classes fit the slab bitmap");

static void report(struct heap *h, const char *msg)
{
	h->bugs++;
	if (h->bug)
		h->bug(msg);
}

static int size_class(size_t size)
{
	for (int c = 0; c < HEAP_NR_CLASSES; c++)
		if (size <= class_size[c])
			return c;
	return -1;
}

static unsigned slab_nblocks(int cls)
{
	return (unsigned)((PAGE_SIZE - SLAB_HDR) / class_size[cls]);
}

/* ---- pages ---------------------------------------------------------------- */

static void *pages_get(struct heap *h, size_t n)
{
	/* First fit from the cache, splitting off the front of a longer run. */
	for (struct heap_run **pp = &h->cache; *pp; pp = &(*pp)->next) {
		struct heap_run *r = *pp;

		if (r->npages < n)
			continue;
		if (r->npages == n) {
			*pp = r->next;
		} else {
			struct heap_run *rest = (struct heap_run *)((char *)r + n * PAGE_SIZE);
			rest->npages = r->npages - n;
			rest->next = r->next;
			*pp = rest;
		}
		h->cached_pages -= n;
		return r;
	}

	void *p = h->get_pages(h->ctx, n);
	if (!p)
		return NULL;
	if (!IS_ALIGNED((uintptr_t)p, PAGE_SIZE)) {
		/* Broken provider: neither slab lookup nor page alignment would hold.  Leak it. */
		report(h, "heap: get_pages returned an unaligned address");
		return NULL;
	}
	h->pages += n;
	return p;
}

static void pages_put(struct heap *h, void *p, size_t n)
{
	struct heap_run *r = p;

	if (h->put_pages) {
		h->put_pages(h->ctx, p, n);
		h->pages -= n;
		return;
	}
	r->npages = n;
	r->next = h->cache;
	h->cache = r;
	h->cached_pages += n;
}

/* ---- slabs ---------------------------------------------------------------- */

static void partial_push(struct heap *h, struct heap_slab *s)
{
	s->prev = NULL;
	s->next = h->partial[s->cls];
	if (s->next)
		s->next->prev = s;
	h->partial[s->cls] = s;
}

static void partial_unlink(struct heap *h, struct heap_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static struct heap_slab *slab_new(struct heap *h, int cls)
{
	struct heap_slab *s = pages_get(h, 1);
	unsigned n = slab_nblocks(cls);

	if (!s)
		return NULL;
	*s = (struct heap_slab){ .magic = SLAB_MAGIC, .cls = (uint16_t)cls,
				 .nfree = (uint16_t)n, .owner = h };
	/* Bits past the last block stay set, so the search never returns them. */
	for (unsigned i = n; i < SLAB_WORDS * 64; i++)
		s->live[i / 64] |= 1ULL << (i % 64);
	partial_push(h, s);
	return s;
}

static void *slab_alloc(struct heap *h, int cls)
{
	struct heap_slab *s = h->partial[cls];

	if (!s && !(s = slab_new(h, cls)))
		return NULL;
	for (unsigned w = 0; w < SLAB_WORDS; w++) {
		if (s->live[w] == ~0ULL)
			continue;
		unsigned i = w * 64 + (unsigned)__builtin_ctzll(~s->live[w]);
		s->live[w] |= 1ULL << (i % 64);
		if (--s->nfree == 0)
			partial_unlink(h, s);
		return (char *)s + SLAB_HDR + (size_t)i * class_size[cls];
	}
	/* A slab on the partial list always has a free block. */
	report(h, "heap: slab on partial list is full");
	return NULL;
}

/* The slab holding small block p, or NULL (reported) if p is not a live block. */
static struct heap_slab *slab_of(struct heap *h, void *p, unsigned *index)
{
	struct heap_slab *s = (struct heap_slab *)ALIGN_DOWN((uintptr_t)p, PAGE_SIZE);
	size_t off = (uintptr_t)p - (uintptr_t)s;
	unsigned i;

	if (s->magic != SLAB_MAGIC || s->owner != h || s->cls >= HEAP_NR_CLASSES) {
		report(h, "heap_free: pointer not from this heap");
		return NULL;
	}
	if (off < SLAB_HDR || (off - SLAB_HDR) % class_size[s->cls] != 0 ||
	    (off - SLAB_HDR) / class_size[s->cls] >= slab_nblocks(s->cls)) {
		report(h, "heap_free: pointer not at the start of a block");
		return NULL;
	}
	i = (unsigned)((off - SLAB_HDR) / class_size[s->cls]);
	if (!(s->live[i / 64] & (1ULL << (i % 64)))) {
		report(h, "heap_free: double free");
		return NULL;
	}
	*index = i;
	return s;
}

static void slab_free(struct heap *h, struct heap_slab *s, unsigned i)
{
	s->live[i / 64] &= ~(1ULL << (i % 64));
	if (s->nfree++ == 0)
		partial_push(h, s);
	/* Keep one empty slab per class so alloc/free pairs do not churn pages. */
	if (s->nfree == slab_nblocks(s->cls) && (h->partial[s->cls] != s || s->next)) {
		partial_unlink(h, s);
		s->magic = 0;
		pages_put(h, s, 1);
	}
}

/* ---- large blocks --------------------------------------------------------- */

static struct heap_large **large_bucket(struct heap *h, const void *p)
{
	return &h->large[((uintptr_t)p >> PAGE_SHIFT) % HEAP_LARGE_BUCKETS];
}

static void *large_alloc(struct heap *h, size_t size)
{
	struct heap_large *rec, **b;
	size_t n;
	void *p;

	if (size > SIZE_MAX - PAGE_SIZE)
		return NULL;
	n = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;
	rec = slab_alloc(h, size_class(sizeof(*rec)));
	if (!rec)
		return NULL;
	p = pages_get(h, n);
	if (!p) {
		unsigned i;
		struct heap_slab *s = slab_of(h, rec, &i);
		if (s)
			slab_free(h, s, i);
		return NULL;
	}
	b = large_bucket(h, p);
	*rec = (struct heap_large){ .p = p, .npages = n, .next = *b };
	*b = rec;
	h->used += n * PAGE_SIZE;
	return p;
}

static void large_free(struct heap *h, void *p)
{
	for (struct heap_large **pp = large_bucket(h, p); *pp; pp = &(*pp)->next) {
		struct heap_large *rec = *pp;
		struct heap_slab *s;
		unsigned i;

		if (rec->p != p)
			continue;
		*pp = rec->next;
		h->used -= rec->npages * PAGE_SIZE;
		pages_put(h, p, rec->npages);
		if ((s = slab_of(h, rec, &i)))
			slab_free(h, s, i);
		return;
	}
	report(h, "heap_free: page-aligned pointer is not a live block (double free?)");
}

/* ---- interface ------------------------------------------------------------ */

void heap_init(struct heap *h, void *(*get_pages)(void *ctx, size_t npages), void *ctx)
{
	*h = (struct heap){ .get_pages = get_pages, .ctx = ctx };
}

void *heap_alloc(struct heap *h, size_t size)
{
	int cls = size_class(size);
	void *p;

	if (cls < 0)
		return large_alloc(h, size);
	p = slab_alloc(h, cls);
	if (p)
		h->used += class_size[cls];
	return p;
}

void *heap_zalloc(struct heap *h, size_t size)
{
	void *p = heap_alloc(h, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void heap_free(struct heap *h, void *p)
{
	struct heap_slab *s;
	unsigned i;

	if (!p)
		return;
	/* Small blocks never start a page: the slab header is there. */
	if (IS_ALIGNED((uintptr_t)p, PAGE_SIZE)) {
		large_free(h, p);
		return;
	}
	if ((s = slab_of(h, p, &i))) {
		h->used -= class_size[s->cls];
		slab_free(h, s, i);
	}
}

size_t heap_used(const struct heap *h)
{
	return h->used;
}
