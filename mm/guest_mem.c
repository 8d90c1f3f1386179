/* Guest-physical RAM accessors; see guest_mem.h. */
#include "mm/guest_mem.h"
#include "lib/string.h"

static bool range_ok(gpa_t gpa, uint64_t len)
{
	return gpa + len >= gpa;  /* no wrap-around */
}

bool gmem_add(struct guest_mem *m, gpa_t gpa, uint64_t size, void *hva)
{
	if (m->nr >= GMEM_MAX_REGIONS || size == 0 || !range_ok(gpa, size))
		return false;
	for (int i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->region[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return false;
	}
	m->region[m->nr++] = (struct gmem_region){ gpa, size, hva, NULL };
	m->total += size;
	return true;
}

static const struct gmem_region *find(const struct guest_mem *m, gpa_t gpa)
{
	for (int i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->region[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

bool gmem_set_lazy(struct guest_mem *m, gpa_t gpa, uint8_t *state)
{
	for (int i = 0; i < m->nr; i++) {
		struct gmem_region *r = &m->region[i];
		if (r->gpa == gpa) {
			memset(state, GMEM_CHUNK_FRESH, GMEM_CHUNKS(r->size));
			r->chunk = state;
			return true;
		}
	}
	return false;
}

/*
 * Chunk c of r: whoever moves it from fresh to zeroing zeroes it and then
 * publishes it ready (release); everyone else waits for ready (acquire),
 * so no CPU can see the chunk's old contents through a pointer from here.
 */
static void chunk_prepare(const struct gmem_region *r, uint64_t c)
{
	uint8_t *st = &r->chunk[c];
	uint8_t s = __atomic_load_n(st, __ATOMIC_ACQUIRE);

	if (s == GMEM_CHUNK_READY)
		return;
	uint8_t fresh = GMEM_CHUNK_FRESH;
	if (__atomic_compare_exchange_n(st, &fresh, GMEM_CHUNK_ZEROING, false,
					__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
		uint64_t off = c * GMEM_CHUNK;
		memset(r->hva + off, 0, MIN(GMEM_CHUNK, r->size - off));
		__atomic_store_n(st, GMEM_CHUNK_READY, __ATOMIC_RELEASE);
		return;
	}
	/* Another CPU is zeroing it: a memset of at most 2 MiB, never a wait
	 * on anything a guest controls. */
	while (__atomic_load_n(st, __ATOMIC_ACQUIRE) != GMEM_CHUNK_READY)
		__builtin_ia32_pause();
}

/* Prepare the chunks of r that [off, off+len) touches; len >= 1. */
static void region_prepare(const struct gmem_region *r, uint64_t off, uint64_t len)
{
	if (!r->chunk)
		return;
	for (uint64_t c = off / GMEM_CHUNK; c <= (off + len - 1) / GMEM_CHUNK; c++)
		chunk_prepare(r, c);
}

bool gmem_prepare(const struct guest_mem *m, gpa_t gpa, uint64_t len,
		  gpa_t *chunk_gpa, uint64_t *chunk_len)
{
	const struct gmem_region *first = find(m, gpa);

	if (!first || !gmem_is_ram(m, gpa, len ? len : 1))
		return false;
	/* Region by region; gmem_is_ram said each piece is RAM. */
	for (uint64_t left = len ? len : 1, at = gpa; left;) {
		const struct gmem_region *r = find(m, at);
		uint64_t off = at - r->gpa, n = MIN(left, r->size - off);
		region_prepare(r, off, n);
		at += n;
		left -= n;
	}
	if (chunk_gpa || chunk_len) {
		uint64_t off = (gpa - first->gpa) / GMEM_CHUNK * GMEM_CHUNK;
		if (chunk_gpa)
			*chunk_gpa = first->gpa + off;
		if (chunk_len)
			*chunk_len = MIN(GMEM_CHUNK, first->size - off);
	}
	return true;
}

void gmem_prepare_all(const struct guest_mem *m)
{
	for (int i = 0; i < m->nr; i++)
		region_prepare(&m->region[i], 0, m->region[i].size);
}

void *gmem_ptr(const struct guest_mem *m, gpa_t gpa, uint64_t len)
{
	const struct gmem_region *r = find(m, gpa);

	if (!r || !range_ok(gpa, len))
		return NULL;
	if (len > r->size - (gpa - r->gpa))
		return NULL;
	region_prepare(r, gpa - r->gpa, len ? len : 1);
	return r->hva + (gpa - r->gpa);
}

/* Walk [gpa, gpa+len) region by region, calling fn on each piece. */
static bool walk(const struct guest_mem *m, gpa_t gpa, uint8_t *buf,
		 uint64_t len, bool to_guest)
{
	if (!range_ok(gpa, len))
		return false;
	/* Each step consumes at least one whole region, so at most nr steps. */
	for (int steps = 0; len && steps <= GMEM_MAX_REGIONS; steps++) {
		const struct gmem_region *r = find(m, gpa);
		if (!r)
			return false;
		uint64_t off = gpa - r->gpa;
		uint64_t n = MIN(len, r->size - off);
		if (buf) {
			region_prepare(r, off, n);
			if (to_guest)
				memcpy(r->hva + off, buf, n);
			else
				memcpy(buf, r->hva + off, n);
			buf += n;
		}
		gpa += n;
		len -= n;
	}
	return len == 0;
}

bool gmem_is_ram(const struct guest_mem *m, gpa_t gpa, uint64_t len)
{
	return walk(m, gpa, NULL, len, false);
}

bool gmem_read(const struct guest_mem *m, gpa_t gpa, void *dst, uint64_t len)
{
	if (!gmem_is_ram(m, gpa, len))
		return false;
	return walk(m, gpa, dst, len, false);
}

bool gmem_write(const struct guest_mem *m, gpa_t gpa, const void *src, uint64_t len)
{
	if (!gmem_is_ram(m, gpa, len))
		return false;
	return walk(m, gpa, (uint8_t *)src, len, true);
}

bool gmem_read_str(const struct guest_mem *m, gpa_t gpa, char *dst, uint64_t max)
{
	for (uint64_t i = 0; i < max; i++) {
		const char *p = gmem_ptr(m, gpa + i, 1);
		if (!p)
			return false;
		dst[i] = *p;
		if (*p == '\0')
			return true;
	}
	return false;
}
