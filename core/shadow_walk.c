/*
 * The shadow walker; see shadow_walk.h.  Rights come from gpt_translate
 * itself, asked about other kinds of access on the same address once the
 * faulting one passed (those asks set no flag the first one did not), so
 * the permission rules (U/S, R/W, CR0.WP, NX, SMEP, SMAP, reserved bits)
 * live in one place.  The page size and global flag come from reading the
 * entries on la's path.
 */
#include "core/shadow_walk.h"
#include "mm/spt.h"

#define CR0_PG_BIT      (1ULL << 31)
#define CR4_PSE_BIT     (1ULL << 4)
#define CR4_PAE_BIT     (1ULL << 5)
#define CR4_PGE_BIT     (1ULL << 7)
#define CR4_LA57_BIT    (1ULL << 12)
#define CR4_SMEP_BIT    (1ULL << 20)
#define CR4_SMAP_BIT    (1ULL << 21)
#define EFER_LMA_BIT    (1ULL << 10)
#define E_PS            (1ULL << 7)
#define E_G             (1ULL << 8)
#define ADDR52          0x000ffffffffff000ULL

/* Entry i of the table at gpa (4- or 8-byte entries); 0 if not RAM. */
static uint64_t entry(const struct guest_mem *m, gpa_t table, uint64_t i, bool wide)
{
	uint64_t v = 0;

	if (wide)
		gmem_read(m, table + i * 8, &v, 8);
	else
		gmem_read(m, table + i * 4, &v, 4);
	return v;
}

/*
 * The guest's page size (log2) and leaf for la, after gpt_translate
 * succeeded: every entry on the path is present and in RAM, unless the
 * guest changed it meanwhile (then the worst is a page taken for smaller
 * or non-global, which only makes the shadow drop it sooner).
 */
static unsigned leaf_of(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
			uint64_t *leaf)
{
	if (!(mode->efer & EFER_LMA_BIT) && !(mode->cr4 & CR4_PAE_BIT)) {
		/* 32-bit paging: PDE, then PTE; 4 MiB pages with CR4.PSE (SDM vol. 3A §4.3). */
		uint64_t pde = entry(m, mode->cr3 & 0xfffff000ULL, (la >> 22) & 0x3ff, false);
		if ((pde & E_PS) && (mode->cr4 & CR4_PSE_BIT)) {
			*leaf = pde;
			return 22;
		}
		*leaf = entry(m, pde & 0xfffff000ULL, (la >> 12) & 0x3ff, false);
		return 12;
	}
	int levels;
	gpa_t table;
	if (mode->efer & EFER_LMA_BIT) {
		levels = (mode->cr4 & CR4_LA57_BIT) ? 5 : 4;
		table = mode->cr3 & ADDR52;
	} else {
		/* PAE: CR3 bits 31:5 hold the four PDPTEs (SDM vol. 3A §4.4.1). */
		levels = 3;
		table = mode->cr3 & 0xffffffe0ULL;
	}
	for (int level = levels; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t idx = levels == 3 && level == 3 ? (la >> 30) & 3 : (la >> shift) & 511;
		uint64_t e = entry(m, table, idx, true);
		bool pdpte = levels == 3 && level == 3;
		if (level == 1 || (!pdpte && level <= 3 && (e & E_PS))) {
			*leaf = e;
			return shift;
		}
		table = e & ADDR52;
	}
	*leaf = 0;
	return 12;
}

int shadow_walk(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		int access, bool user, struct shadow_leaf *out, uint32_t *pf_error)
{
	gpa_t gpa, other;
	uint32_t err;
	uint64_t leaf;

	*pf_error = 0;
	if (!(mode->cr0 & CR0_PG_BIT)) {
		/* Paging off: linear is physical (32 bits), every access allowed;
		 * the shadow may map it with 2 MiB pages (SPT_LARGE). */
		*out = (struct shadow_leaf){ la & 0xffffffffULL, SPT_RW | SPT_US | SPT_LARGE, 22, false };
		return 0;
	}
	int r = gpt_translate(m, mode, la, access, user, &gpa, pf_error);
	if (r)
		return r;
	out->gpa = gpa;
	out->flags = 0;
	out->emulate = false;
	/* U/S: may CPL 3 read it?  Then the CPU checks SMEP and SMAP itself. */
	if (gpt_translate(m, mode, la, GPT_READ, true, &other, &err) == 0)
		out->flags |= SPT_US;
	/* R/W only for a write, which has set the dirty flag (SDM vol. 3A §4.8). */
	if (access == GPT_WRITE) {
		out->flags |= SPT_RW;
		if (!user && (out->flags & SPT_US) &&
		    gpt_translate(m, mode, la, GPT_WRITE, true, &other, &err) != 0) {
			/* CR0.WP = 0: the supervisor may write a page CPL 3 may
			 * only read.  Mapped for the supervisor alone; a CPL 3
			 * access faults and is walked again.  Not executable with
			 * SMEP on, which would otherwise stop guarding it.  With
			 * SMAP on, such a leaf would also let the supervisor read
			 * and write it with RFLAGS.AC = 0, which SMAP forbids for
			 * a user page (SDM vol. 3A §4.6.1): then the caller
			 * emulates the write rather than map the leaf. */
			out->flags &= ~SPT_US;
			if (mode->cr4 & CR4_SMEP_BIT)
				out->flags |= SPT_NX;
			out->emulate = (mode->cr4 & CR4_SMAP_BIT) != 0;
		}
	}
	if (gpt_translate(m, mode, la, GPT_FETCH, (out->flags & SPT_US) != 0, &other, &err) != 0)
		out->flags |= SPT_NX;
	out->page_shift = leaf_of(m, mode, la, &leaf);
	if ((mode->cr4 & CR4_PGE_BIT) && (leaf & E_G))
		out->flags |= SPT_G;
	if (out->page_shift >= 21)
		out->flags |= SPT_LARGE;
	if (out->page_shift >= 30)
		out->flags |= SPT_HUGE;
	return 0;
}
