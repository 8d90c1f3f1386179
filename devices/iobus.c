/*
 * The I/O dispatch bus: region tables routing port and MMIO accesses, with
 * a sequence count so lookups run without a lock; see iobus.h.
 *
 * Every field a lookup reads is accessed with atomics (relaxed ones: plain
 * moves on x86), so the optimistic read is race-free in the C11 model; the
 * fences order it against the sequence count as in Boehm, "Can seqlocks
 * get along with programming language memory models?" (MSPC 2012).
 */
#include "devices/iobus.h"
#include "lib/string.h"

#define LOAD(x)         __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v)     __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Optimistic tries before a lookup takes the lock instead. */
#define LOOKUP_TRIES    4

/* The exit path's pieces are inlined into it; the rare ones kept out. */
#define FAST            __attribute__((always_inline)) inline
#define SLOW            __attribute__((noinline))

/* A free slot matches no access: base > last. */
#define FREE_BASE       (~0ULL)
#define FREE_LAST       0ULL

void iobus_init(struct iobus *b, struct iobus_region *pio, unsigned nr_pio,
		struct iobus_region *mmio, unsigned nr_mmio)
{
	memset(b, 0, sizeof(*b));
	b->pio = (struct iobus_space){ .cap = nr_pio, .limit = 0xffff, .slot = pio };
	b->mmio = (struct iobus_space){ .cap = nr_mmio, .limit = ~0ULL, .slot = mmio };
	if (nr_pio)
		memset(pio, 0, nr_pio * sizeof(*pio));
	if (nr_mmio)
		memset(mmio, 0, nr_mmio * sizeof(*mmio));
}

/* ---- writers: under s->lock, the change itself inside an odd count ---------- */

static void change_begin(struct iobus_space *s)
{
	STORE(s->seq, s->seq + 1);
	/* The odd count is visible before any store to the table. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void change_end(struct iobus_space *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

/* The last address of [base, base + len) in s; false if it is not all in s. */
static bool range_end(const struct iobus_space *s, uint64_t base, uint64_t len, uint64_t *last)
{
	*last = base + len - 1;
	return len != 0 && *last >= base && *last <= s->limit;
}

/* Does [base, last] overlap a live region of s other than skip? */
static bool overlaps(const struct iobus_space *s, uint64_t base, uint64_t last,
		     const struct iobus_region *skip)
{
	for (unsigned i = 0; i < s->used; i++) {
		const struct iobus_region *r = &s->slot[i];
		if (r != skip && r->handler && base <= r->last && last >= r->base)
			return true;
	}
	return false;
}

int iobus_add(struct iobus_space *s, uint64_t base, uint64_t len, io_handler_t h, void *dev,
	      struct iobus_region **out)
{
	uint64_t last;
	int err = 0;

	if (!h || !range_end(s, base, len, &last))
		return IOBUS_EINVAL;
	spin_lock(&s->lock);
	unsigned i = 0;
	while (i < s->used && s->slot[i].handler)
		i++;
	if (overlaps(s, base, last, NULL)) {
		err = IOBUS_EBUSY;
	} else if (i == s->cap) {
		err = IOBUS_ENOSPC;
	} else {
		struct iobus_region *r = &s->slot[i];
		change_begin(s);
		STORE(r->handler, h);
		STORE(r->dev, dev);
		STORE(r->count, 0);
		r->space = s;
		STORE(r->base, base);
		STORE(r->last, last);
		if (i == s->used)
			STORE(s->used, i + 1);
		change_end(s);
		if (out)
			*out = r;
	}
	spin_unlock(&s->lock);
	return err;
}

int iobus_move(struct iobus_region *r, uint64_t base)
{
	struct iobus_space *s = r->space;
	uint64_t last;
	int err = 0;

	spin_lock(&s->lock);
	if (!r->handler || !range_end(s, base, r->last - r->base + 1, &last)) {
		err = IOBUS_EINVAL;
	} else if (overlaps(s, base, last, r)) {
		err = IOBUS_EBUSY;
	} else {
		change_begin(s);
		STORE(r->base, base);
		STORE(r->last, last);
		change_end(s);
	}
	spin_unlock(&s->lock);
	return err;
}

int iobus_remove(struct iobus_region *r)
{
	struct iobus_space *s = r->space;
	int err = 0;

	spin_lock(&s->lock);
	if (!r->handler) {
		err = IOBUS_EINVAL;
	} else {
		change_begin(s);
		STORE(r->base, FREE_BASE);
		STORE(r->last, FREE_LAST);
		STORE(r->handler, (io_handler_t)NULL);
		STORE(r->dev, NULL);
		unsigned used = s->used;
		while (used && !s->slot[used - 1].handler)
			used--;
		STORE(s->used, used);
		change_end(s);
	}
	spin_unlock(&s->lock);
	return err;
}

/* ---- readers ---------------------------------------------------------------- */

/* What a lookup copies out of the table. */
struct hit {
	struct iobus_region *r;
	io_handler_t handler;
	void *dev;
	uint64_t base;
};

/* The region holding all of [first, last]: a copy, torn if a writer was at work. */
static FAST bool scan(struct iobus_space *s, uint64_t first, uint64_t last, struct hit *h)
{
	unsigned n = LOAD(s->used);

	for (unsigned i = 0; i < n; i++) {
		struct iobus_region *r = &s->slot[i];
		uint64_t base = LOAD(r->base);
		if (first < base || last > LOAD(r->last))
			continue;
		*h = (struct hit){ r, LOAD(r->handler), LOAD(r->dev), base };
		return true;
	}
	return false;
}

/*
 * A lookup that met a writer: more optimistic tries, then under the lock.
 * Returns the copy by value, so that the fast path's stays in registers.
 */
static SLOW struct hit lookup_slow(struct iobus_space *s, uint64_t first, uint64_t last)
{
	struct hit h;

	for (unsigned t = 1; t < LOOKUP_TRIES; t++) {
		cpu_relax();
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (!scan(s, first, last, &h))
			h.r = NULL;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(seq & 1) && LOAD(s->seq) == seq)
			return h;
	}
	spin_lock(&s->lock);
	if (!scan(s, first, last, &h))
		h.r = NULL;
	spin_unlock(&s->lock);
	return h;
}

/*
 * Find the region holding all of [first, last]: optimistically, valid only
 * if no writer was at work (the count was even and did not change), else
 * lookup_slow().  Any CPU; never blocks on another reader.  Inlined, so
 * that the copy stays in registers on the exit path.
 */
static FAST bool lookup(struct iobus_space *s, uint64_t first, uint64_t last, struct hit *h)
{
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	bool found = scan(s, first, last, h);

	/* The table loads complete before the count is read again. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (likely(!(seq & 1) && LOAD(s->seq) == seq))
		return found;
	*h = lookup_slow(s, first, last);
	return h->r != NULL;
}

static void count_access(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* The value mask of an access of `size` bytes (0: no such width). */
static const uint64_t size_mask[9] = {
	[1] = 0xff, [2] = 0xffff, [4] = 0xffffffff, [8] = ~0ULL,
};

/* Hand req to the region h found, outside any bus protection. */
static FAST int call(const struct hit *h, struct io_req *req, uint64_t mask)
{
	count_access(&h->r->count);
	req->off = req->addr - h->base;
	if (req->write)
		req->val &= mask;
	else
		req->val = 0;
	int err = h->handler(h->dev, req);
	if (err < 0)
		return err;
	if (!req->write)
		req->val &= mask;
	return 0;
}

int iobus_pio(struct iobus *b, struct io_req *req)
{
	uint64_t mask = req->size <= 4 ? size_mask[req->size] : 0;
	struct hit h;

	if (!mask)
		return IOBUS_EINVAL;
	if (lookup(&b->pio, req->addr, req->addr, &h))
		return call(&h, req, mask);
	count_access(&b->pio.misses);
	if (!req->write)
		req->val = mask;
	return 0;
}

int iobus_mmio(struct iobus *b, struct io_req *req)
{
	uint64_t mask = req->size <= 8 ? size_mask[req->size] : 0;
	uint64_t last = req->addr + req->size - 1;
	struct hit h;

	if (!mask)
		return IOBUS_EINVAL;
	if (last >= req->addr && lookup(&b->mmio, req->addr, last, &h))
		return call(&h, req, mask);
	count_access(&b->mmio.misses);
	return IOBUS_UNMAPPED;
}

bool iobus_mmio_covers(struct iobus *b, uint64_t gpa)
{
	struct hit h;

	return lookup(&b->mmio, gpa, gpa, &h);
}
