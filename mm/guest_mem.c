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
	m->region[m->nr++] = (struct gmem_region){ gpa, size, hva };
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

void *gmem_ptr(const struct guest_mem *m, gpa_t gpa, uint64_t len)
{
	const struct gmem_region *r = find(m, gpa);

	if (!r || !range_ok(gpa, len))
		return NULL;
	if (len > r->size - (gpa - r->gpa))
		return NULL;
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
