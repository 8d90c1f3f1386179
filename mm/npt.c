/*
 * Nested page tables.  Both formats are 4-level radix trees of 512
 * entries; they differ in their bits:
 *   AMD NPT: host PTE format; P, W and U must be set at every level for
 *   guest accesses (AMD APM vol. 2 §15.25.5: nested walks are user
 *   accesses), PS for 2 MiB leaves.
 *   EPT: R/W/X in bits 0-2, memory type WB (6) in bits 3-5 of leaves,
 *   PS (bit 7) for 2 MiB leaves (SDM vol. 3C §29.3.2).
 */
#include "mm/npt.h"
#include "mm/mm.h"
#include "lib/string.h"

#define ADDR_MASK   0x000ffffffffff000ULL
#define PS          (1ULL << 7)

static uint64_t table_bits(const struct npt *n)
{
	return n->format == NPT_FORMAT_AMD ? 0x7 /* P|W|U */ : 0x7 /* R|W|X */;
}

static uint64_t leaf_bits(const struct npt *n)
{
	return n->format == NPT_FORMAT_AMD ? 0x7 : 0x7 | (6 << 3);
}

static bool present(uint64_t e)
{
	return e & 0x7;         /* P (AMD) or any of R/W/X (EPT) */
}

bool npt_init(struct npt *n, enum npt_format format)
{
	memset(n, 0, sizeof(*n));
	n->format = format;
	n->root = page_zalloc(1, PAGE_SIZE);
	if (!n->root)
		return false;
	n->tables = 1;
	return true;
}

static uint64_t *walk_alloc(struct npt *n, uint64_t *e)
{
	if (!present(*e)) {
		hpa_t t = page_zalloc(1, PAGE_SIZE);
		if (!t)
			return NULL;
		n->tables++;
		*e = t | table_bits(n);
	}
	return hpa_to_hva(*e & ADDR_MASK);
}

bool npt_map(struct npt *n, gpa_t gpa, hpa_t hpa, uint64_t len)
{
	uint64_t end = gpa + len;

	while (gpa < end) {
		uint64_t *t = hpa_to_hva(n->root);
		t = walk_alloc(n, &t[(gpa >> 39) & 511]);
		if (t)
			t = walk_alloc(n, &t[(gpa >> 30) & 511]);
		if (!t)
			return false;
		uint64_t *pde = &t[(gpa >> 21) & 511];
		if (IS_ALIGNED(gpa, LARGE_PAGE_SIZE) && IS_ALIGNED(hpa, LARGE_PAGE_SIZE) &&
		    end - gpa >= LARGE_PAGE_SIZE && !present(*pde)) {
			*pde = hpa | leaf_bits(n) | PS;
			n->large++;
			gpa += LARGE_PAGE_SIZE;
			hpa += LARGE_PAGE_SIZE;
			continue;
		}
		t = walk_alloc(n, pde);
		if (!t)
			return false;
		t[(gpa >> 12) & 511] = hpa | leaf_bits(n);
		n->small++;
		gpa += PAGE_SIZE;
		hpa += PAGE_SIZE;
	}
	return true;
}

/* The leaf that maps gpa and its size, or NULL if there is none. */
static uint64_t *leaf_of(const struct npt *n, gpa_t gpa, uint64_t *size)
{
	uint64_t *t = hpa_to_hva(n->root);

	for (int shift = 39; shift >= 30; shift -= 9) {
		uint64_t e = t[(gpa >> shift) & 511];
		if (!present(e))
			return NULL;
		t = hpa_to_hva(e & ADDR_MASK);
	}
	uint64_t *pde = &t[(gpa >> 21) & 511];
	if (*pde & PS) {
		*size = LARGE_PAGE_SIZE;
		return pde;
	}
	if (!present(*pde))
		return NULL;
	t = hpa_to_hva(*pde & ADDR_MASK);
	*size = PAGE_SIZE;
	return &t[(gpa >> 12) & 511];
}

uint64_t npt_set_access(struct npt *n, gpa_t gpa, uint64_t len, bool on)
{
	uint64_t changed = 0, end = gpa + len, size = PAGE_SIZE;

	for (; gpa < end; gpa = ALIGN_DOWN(gpa, size) + size) {
		uint64_t *e = leaf_of(n, gpa, &size);
		if (!e || !(*e & ADDR_MASK)) {
			size = PAGE_SIZE;
			continue;
		}
		/* The access bits are bits 0-2 in both formats; A/D and the
		 * EPT memory type are left as they are. */
		uint64_t old = on ? __atomic_fetch_or(e, 0x7, __ATOMIC_RELEASE)
				  : __atomic_fetch_and(e, ~0x7ull, __ATOMIC_RELEASE);
		changed += on != present(old);
	}
	return changed;
}

static void free_level(struct npt *n, hpa_t table, int level)
{
	uint64_t *t = hpa_to_hva(table);

	if (level > 1) {
		for (int i = 0; i < 512; i++) {
			if (!present(t[i]) || (level == 2 && (t[i] & PS)))
				continue;
			free_level(n, t[i] & ADDR_MASK, level - 1);
		}
	}
	page_free(table, 1);
}

void npt_destroy(struct npt *n)
{
	if (n->root)
		free_level(n, n->root, 4);
	n->root = 0;
}
