/*
 * Split virtqueue, device side (virtio 1.2 §2.7); see virtq.h.
 *
 * Memory ordering.  The driver publishes descriptors and ring entries before
 * avail->idx (§2.7.13.3) and reads used elements after used->idx.  We load
 * avail->idx, then an acquire fence, then the ring entry and descriptors;
 * we store the used element, then a release fence, then used->idx
 * (§2.7.8.2).  On x86 (TSO) loads are not reordered with loads nor stores
 * with stores, so these two fences compile to compiler barriers only.
 * Where a store must be visible before a later load (publishing used->idx
 * before reading used_event or flags, publishing avail_event before
 * re-checking avail->idx) TSO does reorder, so a full fence (mfence or a
 * locked instruction) is used.
 *
 * Guest-shared fields are read with relaxed atomic loads into locals: each
 * field is fetched exactly once, and checks are made on the local copy.
 */
#include "virtio/virtq.h"
#include "lib/printf.h"

/* Byte offsets inside the available and used rings (§2.7.6, §2.7.8). */
#define AVAIL_FLAGS         0
#define AVAIL_IDX           2
#define AVAIL_RING(i)       (4 + 2 * (size_t)(i))   /* ring[size] is used_event */
#define USED_FLAGS          0
#define USED_IDX            2
#define USED_RING(i)        (4 + 8 * (size_t)(i))   /* ring[size] is avail_event */

/* Host views of the three rings, looked up afresh on each call. */
struct rings {
	uint8_t *desc, *avail, *used;
};

static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

static bool size_ok(uint16_t size)
{
	return size != 0 && (size & (size - 1)) == 0 && size <= VIRTQ_MAX_SIZE;
}

/*
 * Each ring must be one piece of one RAM region, and its host address as
 * aligned as the guest address (regions are mapped page-aligned, so this
 * holds unless the RAM map itself is odd).
 */
static bool rings_get(const struct virtq *q, const struct guest_mem *m,
		      struct rings *r)
{
	if (!size_ok(q->size))
		return false;
	r->desc = gmem_ptr(m, q->desc, VIRTQ_DESC_BYTES(q->size));
	r->avail = gmem_ptr(m, q->avail, VIRTQ_AVAIL_BYTES(q->size));
	r->used = gmem_ptr(m, q->used, VIRTQ_USED_BYTES(q->size));
	return r->desc && r->avail && r->used &&
	       IS_ALIGNED((uintptr_t)r->desc, 16) &&
	       IS_ALIGNED((uintptr_t)r->avail, 2) &&
	       IS_ALIGNED((uintptr_t)r->used, 4);
}

/* The driver broke the ring: mark q broken until reset and say why;
 * -1 for the caller to pass on. */
#define fail(q, err, errlen, ...) ((q)->broken = true, errf((err), (errlen), __VA_ARGS__))

/*
 * Read one descriptor, each field once.  Indirect tables have no alignment
 * requirement in the spec, so an unaligned one is read byte by byte.
 */
static void desc_load(const uint8_t *p, struct virtq_desc *d)
{
	if (IS_ALIGNED((uintptr_t)p, 8)) {
		d->addr = __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
		d->len = __atomic_load_n((const uint32_t *)(p + 8), __ATOMIC_RELAXED);
		d->flags = load16(p + 12);
		d->next = load16(p + 14);
		return;
	}
	uint8_t b[16];
	for (int i = 0; i < 16; i++)
		b[i] = __atomic_load_n(p + i, __ATOMIC_RELAXED);
	d->addr = 0;
	for (int i = 7; i >= 0; i--)
		d->addr = (d->addr << 8) | b[i];
	d->len = (uint32_t)b[8] | (uint32_t)b[9] << 8 |
		 (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
	d->flags = (uint16_t)(b[12] | b[13] << 8);
	d->next = (uint16_t)(b[14] | b[15] << 8);
}

int virtq_init(struct virtq *q, const struct guest_mem *m, uint16_t size,
	       gpa_t desc, gpa_t avail, gpa_t used)
{
	struct rings r;

	*q = (struct virtq){ .size = size, .desc = desc, .avail = avail, .used = used };
	/* §2.7.1: desc 16-, avail 2-, used 4-byte aligned. */
	if (!IS_ALIGNED(desc, 16) || !IS_ALIGNED(avail, 2) || !IS_ALIGNED(used, 4) ||
	    !rings_get(q, m, &r)) {
		q->broken = true;
		return -1;
	}
	return 0;
}

/*
 * Follow the chain starting at c->head and fill c.  The main table is
 * walked at most size steps and an indirect table at most len/16 steps, so
 * any loop ends in an error; at most one indirect table is entered, and it
 * must be the last descriptor of the main chain (§2.7.5.3.1, §2.7.5.3.2).
 */
static int chain_walk(struct virtq *q, const struct guest_mem *m,
		      const uint8_t *desc, struct virtq_chain *c,
		      char *err, size_t errlen)
{
	const uint8_t *table = desc;
	uint32_t entries = q->size;   /* entries in the current table */
	uint32_t steps = 0;           /* descriptors visited in it */
	uint32_t total = 0;           /* in the whole chain: at most size (§2.7.5.3.1) */
	bool in_indirect = false, seen_write = false;
	uint64_t out = 0, in = 0;
	uint32_t i = c->head;

	for (;;) {
		struct virtq_desc d;

		if (i >= entries)
			return fail(q, err, errlen, "descriptor index %u beyond %s table of %u",
				    i, in_indirect ? "indirect" : "descriptor", entries);
		if (++steps > entries)
			return fail(q, err, errlen, "descriptor loop: chain longer than its table of %u",
				    entries);

		desc_load(table + 16 * (size_t)i, &d);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return fail(q, err, errlen, "indirect descriptor but INDIRECT_DESC not negotiated");
			if (in_indirect)
				return fail(q, err, errlen, "nested indirect descriptor");
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return fail(q, err, errlen, "descriptor has both INDIRECT and NEXT");
			if (d.len == 0 || d.len % 16 != 0)
				return fail(q, err, errlen, "indirect table length %u not a multiple of 16",
					    d.len);
			/* §2.7.5.3.1: a chain, its indirect table included,
			 * is at most the queue size long. */
			if (d.len / 16 > q->size)
				return fail(q, err, errlen, "indirect table of %u entries, more than the "
					    "queue size %u", d.len / 16, q->size);
			table = gmem_ptr(m, d.addr, d.len);
			if (!table)
				return fail(q, err, errlen, "indirect table 0x%llx+%u outside guest RAM",
					    (unsigned long long)d.addr, d.len);
			/* §2.7.5.3.2: the WRITE flag of this descriptor is ignored. */
			entries = d.len / 16;
			steps = 0;
			i = 0;
			in_indirect = true;
			continue;
		}

		if (++total > q->size)
			return fail(q, err, errlen, "chain of more than %u buffers (the queue size)",
				    q->size);
		if (c->nr >= VIRTQ_MAX_SEGS)
			return fail(q, err, errlen, "chain longer than %d descriptors", VIRTQ_MAX_SEGS);
		if (!gmem_is_ram(m, d.addr, d.len))
			return fail(q, err, errlen, "buffer 0x%llx+%u outside guest RAM",
				    (unsigned long long)d.addr, d.len);
		bool write = d.flags & VIRTQ_DESC_F_WRITE;
		if (write) {
			seen_write = true;
			in += d.len;
		} else {
			/* §2.7.4.2: device-writable descriptors come last. */
			if (seen_write)
				return fail(q, err, errlen, "device-readable descriptor after a writable one");
			out += d.len;
		}
		c->seg[c->nr++] = (struct virtq_buf){ .addr = d.addr, .len = d.len, .write = write };
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
	}
	/* §2.7.5.2: a chain is at most 2^32 bytes; our totals are 32-bit. */
	if (out > UINT32_MAX || in > UINT32_MAX)
		return fail(q, err, errlen, "chain longer than 4 GiB");
	c->out_len = (uint32_t)out;
	c->in_len = (uint32_t)in;
	return 0;
}

int virtq_pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c,
	      char *err, size_t errlen)
{
	struct rings r;

	if (q->broken)
		return fail(q, err, errlen, "queue is broken");
	if (!rings_get(q, m, &r))
		return fail(q, err, errlen, "rings not in guest RAM");

	uint16_t avail_idx = load16(r.avail + AVAIL_IDX);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	/* §2.7.13: at most size chains can be outstanding; idx never goes back. */
	if (pending > q->size)
		return fail(q, err, errlen, "avail idx %u is %u ahead of %u (queue size %u)",
			    avail_idx, pending, q->last_avail, q->size);
	/* Read the ring entry and descriptors only after seeing idx. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	c->head = load16(r.avail + AVAIL_RING(q->last_avail & (q->size - 1)));
	c->nr = 0;
	c->out_len = c->in_len = 0;
	if (chain_walk(q, m, r.desc, c, err, errlen) < 0)
		return -1;
	q->last_avail++;
	return 1;
}

bool virtq_pending(struct virtq *q, const struct guest_mem *m)
{
	struct rings r;

	if (q->broken || !rings_get(q, m, &r))
		return false;
	return load16(r.avail + AVAIL_IDX) != q->last_avail;
}

/* Copy between buf and the segments with the given direction, from byte off. */
static size_t chain_copy(const struct guest_mem *m, const struct virtq_chain *c,
			 bool write, size_t off, uint8_t *dst, const uint8_t *src,
			 size_t len)
{
	size_t done = 0;
	int nr = c->nr < 0 ? 0 : MIN(c->nr, VIRTQ_MAX_SEGS);

	for (int k = 0; k < nr && done < len; k++) {
		const struct virtq_buf *s = &c->seg[k];

		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = MIN((size_t)s->len - off, len - done);
		bool ok = write ? gmem_write(m, s->addr + off, src + done, n)
				: gmem_read(m, s->addr + off, dst + done, n);
		if (!ok)
			break;
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct guest_mem *m, const struct virtq_chain *c,
			size_t off, void *dst, size_t len)
{
	return chain_copy(m, c, false, off, dst, NULL, len);
}

size_t virtq_chain_write(const struct guest_mem *m, const struct virtq_chain *c,
			 size_t off, const void *src, size_t len)
{
	return chain_copy(m, c, true, off, NULL, src, len);
}

int virtq_push(struct virtq *q, const struct guest_mem *m, uint16_t head,
	       uint32_t written)
{
	struct rings r;

	if (q->broken || head >= q->size)
		return -1;
	if (!rings_get(q, m, &r)) {
		q->broken = true;
		return -1;
	}
	uint8_t *e = r.used + USED_RING(q->used_idx & (q->size - 1));
	store32(e, head);
	store32(e + 4, written);
	/* §2.7.8.2: the element (and the data written) before idx. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx++;
	store16(r.used + USED_IDX, q->used_idx);
	return 0;
}

bool virtq_should_notify(struct virtq *q, const struct guest_mem *m,
			 uint16_t old_used_idx)
{
	struct rings r;
	uint16_t new_idx = q->used_idx;

	if (q->broken || new_idx == old_used_idx || !rings_get(q, m, &r))
		return false;
	/* used->idx must be visible before we read the driver's wish (StoreLoad). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		/*
		 * §2.7.7.2: notify if some push in this batch was made at
		 * used idx == used_event, i.e. used_event in [old, new).
		 */
		uint16_t event = load16(r.avail + AVAIL_RING(q->size));
		return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_used_idx);
	}
	return !(load16(r.avail + AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void virtq_set_notify(struct virtq *q, const struct guest_mem *m, bool enable)
{
	struct rings r;

	if (q->broken || !rings_get(q, m, &r))
		return;
	if (q->event_idx) {
		/* §2.7.10.2: flags stay 0; the driver kicks when it fills entry avail_event. */
		if (enable)
			store16(r.used + USED_RING(q->size), q->last_avail);
	} else {
		store16(r.used + USED_FLAGS, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	/* The caller re-checks avail->idx next: that load must follow this store. */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
