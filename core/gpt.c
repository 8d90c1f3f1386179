/*
 * Guest page-table walker; see gpt.h.  One loop serves every paging mode:
 * a level is described by its index width and entry size, and the checks
 * that differ per mode (reserved bits, large pages) are in gpt_rsvd().
 */
#include "core/gpt.h"

#define CR0_WP_BIT      (1ULL << 16)
#define CR0_PG_BIT      (1ULL << 31)
#define CR4_PSE_BIT     (1ULL << 4)
#define CR4_PAE_BIT     (1ULL << 5)
#define CR4_LA57_BIT    (1ULL << 12)
#define CR4_SMEP_BIT    (1ULL << 20)
#define CR4_SMAP_BIT    (1ULL << 21)
#define EFER_LMA_BIT    (1ULL << 10)
#define EFER_NXE_BIT    (1ULL << 11)
#define RFLAGS_AC_BIT   (1ULL << 18)

/* Paging-structure entry flags, SDM vol. 3A §4.3-4.5, APM vol. 2 §5.4. */
#define E_P             (1ULL << 0)
#define E_RW            (1ULL << 1)
#define E_US            (1ULL << 2)
#define E_A             (1ULL << 5)
#define E_D             (1ULL << 6)
#define E_PS            (1ULL << 7)
#define E_XD            (1ULL << 63)

#define GPT_MAX_LEVELS  5
#define GPT_WALK_TRIES  8       /* walks restarted when an A/D update races */

/* What stays fixed for one walk. */
struct walk {
	int levels;             /* 2: 32-bit paging, 3: PAE, 4 or 5: long mode */
	bool wide;              /* 8-byte entries (all but 32-bit paging) */
	bool nxe;
	unsigned maxpa;         /* MAXPHYADDR */
	uint64_t addr;          /* address bits of a wide entry: maxpa-1..12 */
};

/* One entry used by the walk, for the A/D update. */
struct used {
	void *p;                /* host pointer into guest RAM */
	uint64_t val;           /* value the walk saw */
	bool has_a;             /* entry has an accessed flag (not a PAE PDPTE) */
};

/* Bits hi..lo inclusive; empty when hi < lo. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	if (hi < lo)
		return 0;
	return (~0ULL >> (63 - hi)) & ~((1ULL << lo) - 1);
}

/* Bit position of the lowest linear-address bit indexing this level. */
static unsigned level_shift(const struct walk *w, int level)
{
	return w->wide ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
}

/* Does present entry e at this level map a page rather than a table? */
static bool gpt_is_leaf(const struct walk *w, const struct gpt_mode *mode,
			int level, uint64_t e)
{
	if (level == 1)
		return true;
	if (!(e & E_PS))
		return false;
	if (!w->wide)           /* 4 MiB pages only with CR4.PSE, SDM §4.3 */
		return level == 2 && (mode->cr4 & CR4_PSE_BIT);
	if (w->levels == 3)     /* PAE: 2 MiB at the PDE; PDPTE bit 7 is reserved */
		return level == 2;
	return level <= 3;      /* long mode: 1 GiB and 2 MiB; PS reserved higher */
}

/* Reserved bits of an entry at this level; leaf: it maps a page. */
static uint64_t gpt_rsvd(const struct walk *w, int level, bool leaf)
{
	uint64_t r;

	if (!w->wide) {
		/* 32-bit paging: only a 4 MiB PDE has reserved bits, 21 and
		 * those above PSE-36's address bits (M-20):13, M <= 40
		 * (SDM vol. 3A Table 4-4). */
		if (!leaf || level != 2)
			return 0;
		return bits(21, MIN(w->maxpa, 40u) - 19);
	}
	if (w->levels == 3) {
		/* PAE, SDM vol. 3A Tables 4-8..4-11: bits 62:M are reserved
		 * (not ignored as in long mode); a PDPTE also reserves 63 and
		 * 2:1.  Its bits 8:5 are taken as ignored, not reserved: under
		 * nested paging a CPU walks the PDPTEs from memory (APM vol. 2
		 * §15.25), and QEMU's walk sets the accessed flag (bit 5) in
		 * them, which a guest's later walk here must not refuse. */
		if (level == 3)
			return E_XD | bits(62, w->maxpa) | bits(2, 1);
		r = bits(62, w->maxpa);
	} else {
		/* Long mode, SDM vol. 3A Tables 4-15..4-20, APM vol. 2 §5.3.3. */
		r = bits(51, w->maxpa);
		if (level >= 4)
			r |= E_PS;
	}
	if (!w->nxe)
		r |= E_XD;
	if (leaf && level == 2)
		r |= bits(20, 13);      /* 2 MiB page: between PAT (12) and the address */
	if (leaf && level == 3)
		r |= bits(29, 13);      /* 1 GiB page */
	return r;
}

/* Read the entry at gpa with one atomic load; NULL if not in RAM. */
static void *gpt_entry(const struct guest_mem *m, const struct walk *w, gpa_t gpa,
		       uint64_t *val)
{
	unsigned size = w->wide ? 8 : 4;
	void *p = gmem_ptr(m, gpa, size);

	/* RAM regions are page-aligned in guest and host address space, so an
	 * entry is naturally aligned in the host too; check it anyway before
	 * the atomic access. */
	if (!p || ((uintptr_t)p & (size - 1)))
		return NULL;
	if (w->wide)
		*val = __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
	else
		*val = __atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE);
	return p;
}

/*
 * Set the accessed flags (and dirty in the leaf for a write) the way the
 * processor's locked update does (SDM vol. 3A §4.8): compare-and-exchange
 * against the value the walk used, so a concurrent change by another vCPU
 * is not overwritten.  False if an entry changed: walk again.
 */
static bool gpt_set_ad(const struct walk *w, struct used *u, int n, bool write)
{
	for (int i = 0; i < n; i++) {
		uint64_t set = u[i].has_a ? E_A : 0;
		if (i == n - 1 && write)
			set |= E_D;
		if ((u[i].val & set) == set)
			continue;
		if (w->wide) {
			uint64_t old = u[i].val;
			if (!__atomic_compare_exchange_n((uint64_t *)u[i].p, &old, old | set, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return false;
		} else {
			uint32_t old = (uint32_t)u[i].val;
			if (!__atomic_compare_exchange_n((uint32_t *)u[i].p, &old, old | (uint32_t)set,
							 false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return false;
		}
	}
	return true;
}

/*
 * Access rights over the whole walk, SDM vol. 3A §4.6, APM vol. 2 §5.6.
 * rw, us: R/W and U/S set at every level; xd: XD set at some level.
 */
static bool gpt_allowed(const struct gpt_mode *mode, bool write, bool fetch, bool user,
			bool rw, bool us, bool xd)
{
	if (fetch && xd)
		return false;
	if (user)
		return us && (!write || rw);
	/* Supervisor: writes to read-only pages only with CR0.WP = 0;
	 * SMEP forbids fetching from user pages, SMAP reading or writing
	 * them unless RFLAGS.AC (explicit accesses). */
	if (write && !rw && (mode->cr0 & CR0_WP_BIT))
		return false;
	if (us && fetch && (mode->cr4 & CR4_SMEP_BIT))
		return false;
	if (us && !fetch && (mode->cr4 & CR4_SMAP_BIT) && !(mode->rflags & RFLAGS_AC_BIT))
		return false;
	return true;
}

static int gpt_walk(const struct guest_mem *m, const struct gpt_mode *mode,
		    const struct walk *w, uint64_t la, int access, bool user,
		    gpa_t *gpa, uint32_t *pf_error)
{
	bool write = access == GPT_WRITE, fetch = access == GPT_FETCH;
	bool rw = true, us = true, xd = false;
	struct used u[GPT_MAX_LEVELS];
	int n = 0;
	uint32_t err = (write ? GPT_PF_W : 0) | (user ? GPT_PF_U : 0);
	gpa_t table;

	/* I/D is reported with NXE under PAE/long mode, or with SMEP (SDM §4.7). */
	if (fetch && ((w->wide && w->nxe) || (mode->cr4 & CR4_SMEP_BIT)))
		err |= GPT_PF_ID;

	if (!w->wide)
		table = mode->cr3 & 0xfffff000ULL;
	else if (w->levels == 3)
		table = mode->cr3 & 0xffffffe0ULL;      /* PDPT: CR3 bits 31:5 */
	else
		table = mode->cr3 & w->addr;

	for (int level = w->levels; level >= 1; level--) {
		unsigned shift = level_shift(w, level);
		uint64_t idx = (la >> shift) & (w->wide ? 0x1ff : 0x3ff);
		uint64_t e;
		void *p = gpt_entry(m, w, table + idx * (w->wide ? 8 : 4), &e);

		if (!p)
			return GPT_BAD_TABLE;
		if (!(e & E_P)) {
			*pf_error = err;
			return GPT_FAULT;
		}
		bool pdpte = w->levels == 3 && level == 3;
		bool leaf = gpt_is_leaf(w, mode, level, e);
		if (e & gpt_rsvd(w, level, leaf)) {
			*pf_error = err | GPT_PF_P | GPT_PF_RSVD;
			return GPT_FAULT;
		}
		u[n++] = (struct used){ p, e, !pdpte };
		if (!pdpte) {   /* a PAE PDPTE carries no access rights */
			rw = rw && (e & E_RW);
			us = us && (e & E_US);
			xd = xd || (w->nxe && (e & E_XD));
		}
		if (!leaf) {
			table = w->wide ? (e & w->addr) : (e & 0xfffff000ULL);
			continue;
		}

		if (!gpt_allowed(mode, write, fetch, user, rw, us, xd)) {
			*pf_error = err | GPT_PF_P;
			return GPT_FAULT;
		}
		uint64_t off = bits(shift - 1, 0);
		uint64_t pa;
		if (w->wide)
			pa = e & w->addr & ~off;
		else    /* 4 MiB: bits 31:22, PSE-36 bits 39:32 from PDE 20:13 */
			pa = (e & 0xfffff000ULL & ~off) |
			     (level == 2 ? ((e >> 13) & 0xff) << 32 : 0);
		if (!gpt_set_ad(w, u, n, write))
			return GPT_RETRY;
		*gpa = pa | (la & off);
		return 0;
	}
	return GPT_BAD_TABLE;   /* not reached: level 1 is always a leaf */
}

int gpt_translate(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		  int access, bool user, gpa_t *gpa, uint32_t *pf_error)
{
	struct walk w;

	*pf_error = 0;
	if (!(mode->cr0 & CR0_PG_BIT)) {
		*gpa = la & 0xffffffffULL;      /* no long mode without paging */
		return 0;
	}

	w.maxpa = mode->maxphyaddr ? mode->maxphyaddr : 48;
	w.maxpa = MAX(32u, MIN(w.maxpa, 52u));
	w.addr = bits(w.maxpa - 1, 12);
	w.nxe = (mode->efer & EFER_NXE_BIT) != 0;
	if (mode->efer & EFER_LMA_BIT) {
		/* Canonical: bits 63:47 (63:56 with LA57) equal, APM vol. 2 §5.3.1. */
		unsigned vbits = (mode->cr4 & CR4_LA57_BIT) ? 57 : 48;
		uint64_t ext = la >> (vbits - 1);
		if (ext != 0 && ext != (~0ULL >> (vbits - 1)))
			return GPT_NONCANON;
		w.levels = vbits == 57 ? 5 : 4;
		w.wide = true;
	} else {
		la &= 0xffffffffULL;
		w.wide = (mode->cr4 & CR4_PAE_BIT) != 0;
		w.levels = w.wide ? 3 : 2;
		if (!w.wide)
			w.nxe = false;  /* 32-bit entries have no XD bit */
	}

	for (int tries = 0; tries < GPT_WALK_TRIES; tries++) {
		int r = gpt_walk(m, mode, &w, la, access, user, gpa, pf_error);
		if (r != GPT_RETRY)
			return r;
	}
	return GPT_RETRY;
}

/*
 * Shared body of gpt_copy_from/to.  Two passes: translate every page,
 * then translate again and copy (the second pass finds the A/D flags set).
 */
static int gpt_copy(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		    uint8_t *buf, size_t len, int access, bool user, bool to_guest,
		    struct gpt_fault *f)
{
	struct gpt_fault dummy;
	gpa_t gpa;
	int r;

	if (!f)
		f = &dummy;
	*f = (struct gpt_fault){ 0 };
	for (int pass = 0; pass < 2; pass++) {
		size_t done = 0;
		while (done < len) {
			uint64_t cur = la + done;
			size_t n = MIN(len - done, (size_t)(PAGE_SIZE - (cur & (PAGE_SIZE - 1))));

			f->la = cur;
			r = gpt_translate(m, mode, cur, access, user, &gpa, &f->error);
			if (r != 0) {
				f->done = pass ? done : 0;
				return r;
			}
			if (pass == 1) {
				bool ok = to_guest ? gmem_write(m, gpa, buf + done, n)
						   : gmem_read(m, gpa, buf + done, n);
				if (!ok) {
					f->gpa = gpa;
					f->done = done;
					return GPT_NOT_RAM;
				}
			}
			done += n;
		}
	}
	*f = (struct gpt_fault){ .done = len };
	return 0;
}

int gpt_copy_from(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		  void *dst, size_t len, int access, bool user, struct gpt_fault *f)
{
	return gpt_copy(m, mode, la, dst, len, access, user, false, f);
}

int gpt_copy_to(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		const void *src, size_t len, bool user, struct gpt_fault *f)
{
	return gpt_copy(m, mode, la, (uint8_t *)src, len, GPT_WRITE, user, true, f);
}
