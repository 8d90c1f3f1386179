/*
 * Host tests for shadow paging's pure parts: the shadow walker
 * (core/shadow_walk.c: the leaf one guest access makes, with the guest's
 * rights, dirty-flag tracking, page size and global flag) over guest tables
 * in heap-backed RAM, and the shadow tree (mm/spt.c: maps, INVLPG of large
 * guest pages, flushes with and without global pages, the page bound).
 */
#include "test/unit/check.h"
#include "core/shadow_walk.h"
#include "mm/spt.h"

#define RAM_SIZE   (8 * MiB)
#define TABLES     0x100000ULL

#define CR0_PE_    (1ULL << 0)
#define CR0_WP_    (1ULL << 16)
#define CR0_PG_    (1ULL << 31)
#define CR4_PSE_   (1ULL << 4)
#define CR4_PAE_   (1ULL << 5)
#define CR4_PGE_   (1ULL << 7)
#define CR4_LA57_  (1ULL << 12)
#define CR4_SMEP_  (1ULL << 20)
#define CR4_SMAP_  (1ULL << 21)
#define EFER_LME_  (1ULL << 8)
#define EFER_LMA_  (1ULL << 10)
#define EFER_NXE_  (1ULL << 11)

#include "test/unit/fake_gmem.h"

#define G   0x100ULL              /* global */

/* Long mode with 'levels' (4, or 5 with LA57): the entry for la at
 * 'level'; missing tables made with P|RW|US. */
static uint64_t *lmn_entry(gpa_t root, int levels, uint64_t la, int level)
{
	gpa_t t = root;

	for (int l = levels;; l--) {
		uint64_t *e = e64(t + ((la >> (12 + 9 * (l - 1))) & 0x1ff) * 8);
		if (l == level)
			return e;
		if (!(*e & P))
			*e = alloc_page() | P | RW | US;
		t = *e & ADDR_MASK;
	}
}

static uint64_t *lm_entry(gpa_t root, uint64_t la, int level)
{
	return lmn_entry(root, 4, la, level);
}

static struct gpt_mode lm_mode(gpa_t root)
{
	return (struct gpt_mode){ .cr0 = CR0_PE_ | CR0_PG_ | CR0_WP_, .cr3 = root,
				  .cr4 = CR4_PAE_ | CR4_PGE_,
				  .efer = EFER_LME_ | EFER_LMA_ | EFER_NXE_ };
}

static int walk(const struct gpt_mode *md, uint64_t la, int access, bool user,
		struct shadow_leaf *l, uint32_t *err)
{
	memset(l, 0xaa, sizeof(*l));
	return shadow_walk(&gm, md, la, access, user, l, err);
}

TEST(walk_dirty_tracking)
{
	struct shadow_leaf l;
	uint32_t err;
	uint64_t la = 0x7f0000001000ULL;

	setup();
	gpa_t root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	uint64_t *pte = lm_entry(root, la, 1);
	*pte = 0x400000 | P | RW | US;
	/* A read: accessed set, dirty not; the leaf is read-only until a write. */
	CHECK_EQ(walk(&md, la + 8, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x400008);
	CHECK_EQ(l.flags, SPT_US);
	CHECK_EQ(l.page_shift, 12);
	CHECK_EQ(*pte & (A | D), A);
	/* A write: dirty set, leaf writable. */
	CHECK_EQ(walk(&md, la, GPT_WRITE, true, &l, &err), 0);
	CHECK_EQ(l.flags, SPT_US | SPT_RW);
	CHECK_EQ(*pte & (A | D), A | D);
}

TEST(walk_rights)
{
	struct shadow_leaf l;
	uint32_t err;
	uint64_t la = 0x40000000ULL;

	setup();
	gpa_t root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	uint64_t *pte = lm_entry(root, la, 1);
	/* Supervisor, read-only, NX, global. */
	*pte = 0x400000 | P | XD | G;
	CHECK_EQ(walk(&md, la, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.flags, SPT_NX | SPT_G);
	CHECK_EQ(walk(&md, la, GPT_WRITE, false, &l, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_W);
	CHECK_EQ(walk(&md, la, GPT_READ, true, &l, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_U);
	/* Global only with CR4.PGE. */
	md.cr4 &= ~CR4_PGE_;
	CHECK_EQ(walk(&md, la, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.flags, SPT_NX);
	/* A U/S=0 upper level makes the page supervisor-only. */
	*pte = 0x400000 | P | RW | US;
	*lm_entry(root, la, 2) &= ~US;
	CHECK_EQ(walk(&md, la, GPT_FETCH, false, &l, &err), 0);
	CHECK_EQ(l.flags, 0);
}

TEST(walk_wp0_user_page)
{
	struct shadow_leaf l;
	uint32_t err;
	uint64_t la = 0x40000000ULL;

	setup();
	gpa_t root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	*lm_entry(root, la, 1) = 0x400000 | P | US;     /* user, read-only */
	md.cr0 &= ~CR0_WP_;
	md.cr4 |= CR4_SMEP_;
	/* The supervisor may write it: mapped for the supervisor alone, and
	 * not executable (SMEP would have forbidden supervisor fetches). */
	CHECK_EQ(walk(&md, la, GPT_WRITE, false, &l, &err), 0);
	CHECK_EQ(l.flags, SPT_RW | SPT_NX);
	/* CPL 3 still may not write it, and reads map it user, read-only. */
	CHECK_EQ(walk(&md, la, GPT_WRITE, true, &l, &err), GPT_FAULT);
	CHECK_EQ(walk(&md, la, GPT_READ, true, &l, &err), 0);
	CHECK_EQ(l.flags, SPT_US);
	CHECK(!l.emulate);
	/* With SMAP the supervisor-only leaf would let it past SMAP later:
	 * the write is to be emulated (with AC = 1; with AC = 0 it faults). */
	md.cr4 |= CR4_SMAP_;
	CHECK_EQ(walk(&md, la, GPT_WRITE, false, &l, &err), GPT_FAULT);
	md.rflags |= 1ULL << 18;
	CHECK_EQ(walk(&md, la, GPT_WRITE, false, &l, &err), 0);
	CHECK(l.emulate);
}

TEST(walk_page_sizes)
{
	struct shadow_leaf l;
	uint32_t err;

	setup();
	gpa_t root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	*lm_entry(root, 0x40200000ULL, 2) = 0x200000 | P | RW | PS;
	*lm_entry(root, 0x80000000ULL, 3) = 0x40000000 | P | RW | PS;
	CHECK_EQ(walk(&md, 0x40212345ULL, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x212345);
	CHECK_EQ(l.page_shift, 21);
	CHECK_EQ(l.flags, SPT_LARGE);
	/* A 1 GiB page (to a GPA outside RAM: the walker does not care). */
	CHECK_EQ(walk(&md, 0x80001000ULL, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x40001000);
	CHECK_EQ(l.page_shift, 30);
	CHECK_EQ(l.flags, SPT_LARGE | SPT_HUGE);

	/* 32-bit paging: 4 MiB with CR4.PSE, a plain table without. */
	gpa_t pd = alloc_page();
	struct gpt_mode m32 = { .cr0 = CR0_PE_ | CR0_PG_ | CR0_WP_, .cr3 = pd, .cr4 = CR4_PSE_ };
	*e32(pd + 4 * 4) = 0x400000 | P | RW | PS;              /* la 16 MiB */
	CHECK_EQ(walk(&m32, 0x01234567ULL, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x634567);
	CHECK_EQ(l.page_shift, 22);
	gpa_t pt = alloc_page();
	*e32(pd + 5 * 4) = (uint32_t)pt | P | RW;
	*e32(pt + 3 * 4) = 0x300000 | P | RW;
	CHECK_EQ(walk(&m32, 0x01403abcULL, GPT_WRITE, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x300abc);
	CHECK_EQ(l.page_shift, 12);
	CHECK_EQ(l.flags, SPT_RW);
	CHECK_EQ(*e32(pt + 3 * 4) & (A | D), A | D);

	/* PAE: a 2 MiB page behind PDPTE 1. */
	gpa_t pdpt = alloc_page(), pd2 = alloc_page();
	struct gpt_mode pae = { .cr0 = CR0_PE_ | CR0_PG_, .cr3 = pdpt, .cr4 = CR4_PAE_,
				.efer = EFER_NXE_ };
	*e64(pdpt + 8) = pd2 | P;
	*e64(pd2 + 2 * 8) = 0x600000 | P | RW | US | PS;        /* la 1 GiB + 4 MiB */
	CHECK_EQ(walk(&pae, 0x40412345ULL, GPT_FETCH, true, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x612345);
	CHECK_EQ(l.page_shift, 21);
	CHECK_EQ(l.flags, SPT_US | SPT_LARGE);
}

TEST(walk_paging_off_and_bad_table)
{
	struct shadow_leaf l;
	uint32_t err;

	setup();
	struct gpt_mode off = { .cr0 = CR0_PE_ };
	CHECK_EQ(walk(&off, 0x1234567ULL, GPT_WRITE, true, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x1234567);
	CHECK_EQ(l.flags, SPT_RW | SPT_US | SPT_LARGE);

	gpa_t root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	*lm_entry(root, 0x1000, 2) = 0x40000000ULL | P | RW;   /* a table past RAM */
	CHECK_EQ(walk(&md, 0x1000, GPT_READ, false, &l, &err), GPT_BAD_TABLE);
}

/* 5-level paging (SDM vol. 3A §4.5): the PML5 entry's flags, its reserved
 * PS bit, 57-bit canonical addresses, large pages under a PML5 entry. */
TEST(walk_five_levels)
{
	struct shadow_leaf l;
	uint32_t err;
	uint64_t hi = 0x0001234567801000ULL;            /* PML5 index 0x12 */
	uint64_t neg = 0xff00000040200000ULL;           /* PML5 index 0x100 */

	setup();
	gpa_t root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	md.cr4 |= CR4_LA57_;
	uint64_t *pte = lmn_entry(root, 5, hi, 1);
	*pte = 0x300000 | P | RW | G;
	uint64_t *pml5e = lmn_entry(root, 5, hi, 5);
	CHECK_EQ(walk(&md, hi + 0x10, GPT_WRITE, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x300010);
	CHECK_EQ(l.page_shift, 12);
	CHECK_EQ(l.flags, SPT_RW | SPT_G);
	CHECK_EQ(*pte & (A | D), A | D);
	CHECK_EQ(*pml5e & A, A);
	/* U/S clear in the PML5 entry alone takes CPL 3 out. */
	*pte |= US;
	*pml5e &= ~US;
	CHECK_EQ(walk(&md, hi, GPT_READ, true, &l, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_U);
	*pml5e |= US;
	CHECK_EQ(walk(&md, hi, GPT_READ, true, &l, &err), 0);
	CHECK_EQ(l.flags & SPT_US, SPT_US);
	/* PS is reserved in a PML5 entry. */
	*pml5e |= PS;
	CHECK_EQ(walk(&md, hi, GPT_READ, false, &l, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
	*pml5e &= ~PS;
	/* Bit 56 set and 63:57 clear: not canonical with 57 bits; with 48
	 * bits, hi itself is not. */
	CHECK_EQ(walk(&md, 0x0100000000001000ULL, GPT_READ, false, &l, &err), GPT_NONCANON);
	struct gpt_mode m4 = lm_mode(root);
	CHECK_EQ(walk(&m4, hi, GPT_READ, false, &l, &err), GPT_NONCANON);
	/* The upper half: a 2 MiB and a 1 GiB page below PML5 entry 256. */
	*lmn_entry(root, 5, neg, 2) = 0x400000 | P | RW | PS;
	*lmn_entry(root, 5, neg + 0x40000000ULL, 3) = 0x40000000 | P | RW | PS;
	CHECK_EQ(walk(&md, neg + 0x1234, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x401234);
	CHECK_EQ(l.page_shift, 21);
	CHECK_EQ(walk(&md, neg + 0x40005000ULL, GPT_READ, false, &l, &err), 0);
	CHECK_EQ(l.gpa, 0x40205000);            /* neg lies 2 MiB into that GiB */
	CHECK_EQ(l.page_shift, 30);
	CHECK_EQ(l.flags, SPT_LARGE | SPT_HUGE);
	/* A missing PML5 entry: not present, CR2 is the caller's. */
	CHECK_EQ(walk(&md, 0x00fe000000000000ULL, GPT_WRITE, false, &l, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_W);
}

/* ---- the shadow tree ---------------------------------------------------- */

static unsigned pages_out;

static hpa_t t_alloc(void *ctx)
{
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	pages_out++;
	return (hpa_t)(uintptr_t)p;
}

static void t_free(void *ctx, hpa_t p)
{
	free((void *)(uintptr_t)p);
	pages_out--;
}

static const struct spt_pages tpages = { t_alloc, t_free, NULL };

TEST(spt_map_lookup_invlpg)
{
	struct spt s;

	spt_init(&s, &tpages, 64);
	CHECK(spt_reset(&s, 4));
	CHECK(spt_map(&s, 0x7f0000001000ULL, 0xabc000, SPT_RW | SPT_US, false));
	CHECK_EQ(spt_lookup(&s, 0x7f0000001000ULL),
		 0xabc000 | SPT_RW | SPT_US | SPT_P | SPT_A | SPT_D);
	CHECK_EQ(s.used, 4u);                   /* PML4, PDPT, PD, PT */
	/* A 2 MiB piece of a large guest page, and a 4 KiB piece of another. */
	CHECK(spt_map(&s, 0x40200000ULL, 0x600000, SPT_LARGE, true));
	CHECK(spt_map(&s, 0x40401000ULL, 0x801000, SPT_LARGE, false));
	CHECK_EQ(spt_lookup(&s, 0x40200000ULL) & (SPT_PS | SPT_ADDR), SPT_PS | 0x600000);
	/* INVLPG anywhere in a large guest page drops every piece of it. */
	spt_invlpg(&s, 0x40400000ULL, false);
	CHECK_EQ(spt_lookup(&s, 0x40401000ULL), 0);
	spt_invlpg(&s, 0x403ff000ULL, false);
	CHECK_EQ(spt_lookup(&s, 0x40200000ULL), 0);
	/* A 4 KiB page goes alone. */
	CHECK(spt_map(&s, 0x7f0000002000ULL, 0xabd000, 0, false));
	spt_invlpg(&s, 0x7f0000001000ULL, false);
	CHECK_EQ(spt_lookup(&s, 0x7f0000001000ULL), 0);
	CHECK(spt_lookup(&s, 0x7f0000002000ULL) != 0);
	/* 32-bit guests: a 4 MiB page's other half goes too (pair). */
	CHECK(spt_map(&s, 0x00600000ULL, 0xa00000, SPT_LARGE, true));
	spt_invlpg(&s, 0x00400000ULL, true);
	CHECK_EQ(spt_lookup(&s, 0x00600000ULL), 0);
	/* Pieces of a 1 GiB page: INVLPG anywhere in it drops the lot. */
	CHECK(spt_map(&s, 0x80000000ULL, 0x200000, SPT_LARGE | SPT_HUGE, true));
	CHECK(spt_map(&s, 0xbfe00000ULL, 0x400000, SPT_LARGE | SPT_HUGE, true));
	spt_invlpg(&s, 0x80001000ULL, false);
	CHECK_EQ(spt_lookup(&s, 0xbfe00000ULL), 0);
	spt_destroy(&s);
	CHECK_EQ(pages_out, 0u);
}

/* A 5-level shadow tree: addresses above 2^47 in both halves. */
TEST(spt_five_levels)
{
	struct spt s;

	spt_init(&s, &tpages, 64);
	CHECK(spt_reset(&s, 5));
	CHECK(spt_map(&s, 0x0001234567801000ULL, 0xabc000, SPT_RW, false));
	CHECK_EQ(s.used, 5u);                   /* PML5, PML4, PDPT, PD, PT */
	CHECK(spt_map(&s, 0xff00000040200000ULL, 0x600000, SPT_LARGE, true));
	CHECK_EQ(spt_lookup(&s, 0x0001234567801000ULL) & SPT_ADDR, 0xabc000);
	CHECK_EQ(spt_lookup(&s, 0xff00000040200000ULL) & (SPT_PS | SPT_ADDR), SPT_PS | 0x600000);
	/* The same low 48 bits under another PML5 entry are another page. */
	CHECK_EQ(spt_lookup(&s, 0x0000234567801000ULL), 0);
	spt_invlpg(&s, 0xff00000040212000ULL, false);
	CHECK_EQ(spt_lookup(&s, 0xff00000040200000ULL), 0);
	CHECK(spt_lookup(&s, 0x0001234567801000ULL) != 0);
	spt_destroy(&s);
	CHECK_EQ(pages_out, 0u);
}

TEST(spt_flush_global_and_bound)
{
	struct spt s;

	spt_init(&s, &tpages, 8);
	CHECK(spt_reset(&s, 3));                /* PAE: PDPT and four PDs */
	CHECK_EQ(s.used, 5u);
	CHECK(spt_map(&s, 0x1000, 0x5000, SPT_G, false));
	CHECK(spt_map(&s, 0x40001000ULL, 0x6000, 0, false));
	CHECK(spt_map(&s, 0x80001000ULL, 0x7000, 0, false));
	/* The bound: a fourth PT does not fit, and nothing is mapped. */
	CHECK(!spt_map(&s, 0xc0001000ULL, 0x8000, 0, false));
	CHECK_EQ(spt_lookup(&s, 0xc0001000ULL), 0);
	CHECK_EQ(s.used, 8u);
	/* Non-global flush: the global page and its table stay. */
	spt_flush(&s, true);
	CHECK(spt_lookup(&s, 0x1000) != 0);
	CHECK_EQ(spt_lookup(&s, 0x40001000ULL), 0);
	CHECK_EQ(s.used, 6u);
	spt_flush(&s, false);
	CHECK_EQ(spt_lookup(&s, 0x1000), 0);
	CHECK_EQ(s.used, 5u);
	CHECK(spt_map(&s, 0xc0001000ULL, 0x8000, 0, false));
	/* A PAE PDPTE has P alone (reserved R/W, U/S). */
	CHECK_EQ(((uint64_t *)(uintptr_t)s.root)[3] & 0xfff, SPT_P);
	spt_destroy(&s);
	CHECK_EQ(pages_out, 0u);
}

int main(void)
{
	check_start("shadow");
	RUN(walk_dirty_tracking);
	RUN(walk_rights);
	RUN(walk_wp0_user_page);
	RUN(walk_page_sizes);
	RUN(walk_paging_off_and_bad_table);
	RUN(walk_five_levels);
	RUN(spt_map_lookup_invlpg);
	RUN(spt_five_levels);
	RUN(spt_flush_global_and_bound);
	free(ram);
	return check_finish();
}
