/*
 * Host tests for core/gpt.c: the test plays the guest kernel, building page
 * tables for each paging mode in a heap-backed guest RAM (ASan catches any
 * access outside it), and checks translations, #PF error codes, A/D
 * updates and the page-by-page copies.
 */
#include "test/unit/check.h"
#include "core/gpt.h"

#define RAM_SIZE   (4 * MiB)            /* guest RAM at GPA 0 */
#define TABLES     0x100000ULL          /* page tables are allocated from here */

#define T_CR0_PE   (1ULL << 0)
#define T_CR0_WP   (1ULL << 16)
#define T_CR0_PG   (1ULL << 31)
#define T_CR4_PSE  (1ULL << 4)
#define T_CR4_PAE  (1ULL << 5)
#define T_CR4_LA57 (1ULL << 12)
#define T_CR4_SMEP (1ULL << 20)
#define T_CR4_SMAP (1ULL << 21)
#define T_EFER_LME (1ULL << 8)
#define T_EFER_LMA (1ULL << 10)
#define T_EFER_NXE (1ULL << 11)
#define T_AC       (1ULL << 18)

#include "test/unit/fake_gmem.h"

#define ALL (P | RW | US)

/* The entry for la at 'level' of a long-mode hierarchy; missing tables are
 * created with P|RW|US. */
static uint64_t *lm_entry(gpa_t root, int levels, uint64_t la, int level)
{
	gpa_t t = root;

	for (int l = levels;; l--) {
		uint64_t *e = e64(t + ((la >> (12 + 9 * (l - 1))) & 0x1ff) * 8);
		if (l == level)
			return e;
		if (!(*e & P))
			*e = alloc_page() | ALL;
		t = *e & ADDR_MASK;
	}
}

static uint64_t *lm_map(gpa_t root, uint64_t la, uint64_t pa, int level, uint64_t flags)
{
	uint64_t *e = lm_entry(root, 4, la, level);
	*e = pa | flags | (level > 1 ? PS : 0);
	return e;
}

static struct gpt_mode lm_mode(gpa_t root)
{
	return (struct gpt_mode){ .cr0 = T_CR0_PE | T_CR0_PG | T_CR0_WP, .cr3 = root,
				  .cr4 = T_CR4_PAE, .efer = T_EFER_LME | T_EFER_LMA | T_EFER_NXE };
}

/* Translate and return the result; *gpa and *err get the outputs. */
static int tr(const struct gpt_mode *md, uint64_t la, int access, bool user,
	      gpa_t *gpa, uint32_t *err)
{
	*gpa = 0xdead;
	*err = 0xdead;
	return gpt_translate(&gm, md, la, access, user, gpa, err);
}

TEST(paging_off)
{
	struct gpt_mode md = { .cr0 = T_CR0_PE };
	gpa_t gpa;
	uint32_t err;

	setup();
	CHECK_EQ(tr(&md, 0x123456789ULL, GPT_WRITE, true, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x23456789);
	CHECK_EQ(tr(&md, 0xfee00000ULL, GPT_FETCH, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0xfee00000);
}

TEST(long_4k_and_ad_bits)
{
	gpa_t root, gpa;
	uint32_t err;
	uint64_t la = 0x00007f0000001000ULL;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	lm_map(root, la, 0x200000, 1, ALL);

	CHECK_EQ(tr(&md, la + 0x123, GPT_READ, true, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x200123);
	CHECK_EQ(err, 0);
	for (int l = 4; l >= 1; l--) {
		CHECK(*lm_entry(root, 4, la, l) & A);
		CHECK(!(*lm_entry(root, 4, la, l) & D));
	}
	CHECK_EQ(tr(&md, la + 0xfff, GPT_WRITE, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x200fff);
	CHECK(*lm_entry(root, 4, la, 1) & D);
	CHECK(!(*lm_entry(root, 4, la, 2) & D));
	CHECK_EQ(*lm_entry(root, 4, la, 1), 0x200000 | ALL | A | D);
}

TEST(long_large_pages)
{
	gpa_t root, gpa;
	uint32_t err;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	lm_map(root, 0x40600000ULL, 0x600000, 2, ALL);          /* 2 MiB */
	lm_map(root, 0x8000000000ULL, 0x140000000ULL, 3, ALL);  /* 1 GiB */

	CHECK_EQ(tr(&md, 0x40612345ULL, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x612345);
	CHECK_EQ(tr(&md, 0x8003456789ULL, GPT_WRITE, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x143456789ULL);
	CHECK(*lm_entry(root, 4, 0x8000000000ULL, 3) & D);
	CHECK(*lm_entry(root, 4, 0x8000000000ULL, 4) & A);
	/* PAT (bit 12) of a large page is not an address bit. */
	lm_map(root, 0x40800000ULL, 0x800000 | 0x1000, 2, ALL);
	CHECK_EQ(tr(&md, 0x40800010ULL, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x800010);
}

TEST(long_not_present)
{
	gpa_t root, gpa;
	uint32_t err;
	uint64_t la = 0x1000;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);

	/* Empty PML4. */
	CHECK_EQ(tr(&md, la, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, 0);
	CHECK_EQ(tr(&md, la, GPT_WRITE, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_W | GPT_PF_U);
	CHECK_EQ(tr(&md, la, GPT_FETCH, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_ID);

	/* Present down to the PDE, PTE not present: no A bit set on a fault. */
	uint64_t *pte = lm_map(root, la, 0x5000, 1, ALL);
	*pte &= ~P;
	CHECK_EQ(tr(&md, la, GPT_READ, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_U);
	CHECK(!(*lm_entry(root, 4, la, 4) & A));
	/* Without NXE, a fetch fault has no I/D bit (SDM §4.7). */
	md.efer &= ~T_EFER_NXE;
	CHECK_EQ(tr(&md, la, GPT_FETCH, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, 0);
}

TEST(long_write_protect)
{
	gpa_t root, gpa;
	uint32_t err;
	uint64_t la = 0x2000;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	uint64_t *pte = lm_map(root, la, 0x5000, 1, P | US);

	CHECK_EQ(tr(&md, la, GPT_READ, true, &gpa, &err), 0);
	CHECK_EQ(tr(&md, la, GPT_WRITE, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_W);
	CHECK(!(*pte & D));
	CHECK_EQ(tr(&md, la, GPT_WRITE, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_W | GPT_PF_U);
	md.cr0 &= ~T_CR0_WP;            /* supervisor may write read-only pages */
	CHECK_EQ(tr(&md, la, GPT_WRITE, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x5000);
	CHECK(*pte & D);
	CHECK_EQ(tr(&md, la, GPT_WRITE, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_W | GPT_PF_U);

	/* Read-only at an upper level (PDPTE) denies writes below it too. */
	*pte |= RW;
	*lm_entry(root, 4, la, 3) &= ~RW;
	md.cr0 |= T_CR0_WP;
	CHECK_EQ(tr(&md, la, GPT_WRITE, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_W);
	CHECK_EQ(tr(&md, la, GPT_READ, true, &gpa, &err), 0);
}

TEST(long_user_supervisor)
{
	gpa_t root, gpa;
	uint32_t err;
	uint64_t la = 0x3000;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	lm_map(root, la, 0x5000, 1, ALL);
	*lm_entry(root, 4, la, 2) &= ~US;       /* supervisor-only PDE */

	CHECK_EQ(tr(&md, la, GPT_READ, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_U);
	CHECK_EQ(tr(&md, la, GPT_FETCH, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_U | GPT_PF_ID);
	CHECK_EQ(tr(&md, la, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(tr(&md, la, GPT_FETCH, false, &gpa, &err), 0);
}

TEST(long_nx)
{
	gpa_t root, gpa;
	uint32_t err;
	uint64_t la = 0x4000;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	lm_map(root, la, 0x5000, 1, ALL);
	*lm_entry(root, 4, la, 2) |= XD;

	CHECK_EQ(tr(&md, la, GPT_READ, true, &gpa, &err), 0);
	CHECK_EQ(tr(&md, la, GPT_FETCH, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_ID);
	CHECK_EQ(tr(&md, la, GPT_FETCH, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_U | GPT_PF_ID);
	/* With EFER.NXE = 0, bit 63 is reserved. */
	md.efer &= ~T_EFER_NXE;
	CHECK_EQ(tr(&md, la, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
}

TEST(long_reserved_bits)
{
	gpa_t root, gpa;
	uint32_t err;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);

	/* Address bits up to MAXPHYADDR-1 are fine, above are reserved. */
	uint64_t *pte = lm_map(root, 0x1000, 1ULL << 47, 1, ALL);
	CHECK_EQ(tr(&md, 0x1008, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, (1ULL << 47) | 8);
	*pte = (1ULL << 48) | ALL;
	CHECK_EQ(tr(&md, 0x1008, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
	md.maxphyaddr = 36;
	*pte = (1ULL << 40) | ALL;
	CHECK_EQ(tr(&md, 0x1008, GPT_WRITE, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD | GPT_PF_W | GPT_PF_U);
	*pte = (1ULL << 35) | ALL;
	CHECK_EQ(tr(&md, 0x1008, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, (1ULL << 35) | 8);
	md.maxphyaddr = 0;

	/* A reserved bit wins over a permission violation. */
	*pte = (1ULL << 51) | P;
	CHECK_EQ(tr(&md, 0x1008, GPT_WRITE, true, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD | GPT_PF_W | GPT_PF_U);

	/* PS in a PML4E. */
	*pte = 0x5000 | ALL;
	CHECK_EQ(tr(&md, 0x1008, GPT_READ, false, &gpa, &err), 0);
	uint64_t *pml4e = lm_entry(root, 4, 0x1000, 4);
	*pml4e |= PS;
	CHECK_EQ(tr(&md, 0x1008, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
	*pml4e &= ~PS;

	/* Bits 20:13 of a 2 MiB PDE, 29:13 of a 1 GiB PDPTE. */
	lm_map(root, 0x40200000ULL, 0x200000 | (1ULL << 13), 2, ALL);
	CHECK_EQ(tr(&md, 0x40200000ULL, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
	lm_map(root, 0x8000000000ULL, 0x40000000ULL | (1ULL << 20), 3, ALL);
	CHECK_EQ(tr(&md, 0x8000000000ULL, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
}

TEST(smep_smap)
{
	gpa_t root, gpa;
	uint32_t err;
	uint64_t la = 0x6000;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);
	lm_map(root, la, 0x5000, 1, ALL);       /* a user page */

	md.cr4 |= T_CR4_SMEP;
	CHECK_EQ(tr(&md, la, GPT_FETCH, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_ID);
	CHECK_EQ(tr(&md, la, GPT_FETCH, true, &gpa, &err), 0);
	CHECK_EQ(tr(&md, la, GPT_READ, false, &gpa, &err), 0);

	md.cr4 |= T_CR4_SMAP;
	CHECK_EQ(tr(&md, la, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P);
	CHECK_EQ(tr(&md, la, GPT_WRITE, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_W);
	md.rflags = T_AC;
	CHECK_EQ(tr(&md, la, GPT_WRITE, false, &gpa, &err), 0);
	CHECK_EQ(tr(&md, la, GPT_READ, true, &gpa, &err), 0);
	/* Supervisor pages are unaffected. */
	md.rflags = 0;
	*lm_entry(root, 4, la, 1) &= ~US;
	CHECK_EQ(tr(&md, la, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(tr(&md, la, GPT_FETCH, false, &gpa, &err), 0);
}

TEST(canonical_and_la57)
{
	gpa_t root, gpa;
	uint32_t err;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);

	CHECK_EQ(tr(&md, 0x0000800000000000ULL, GPT_READ, false, &gpa, &err), GPT_NONCANON);
	CHECK_EQ(tr(&md, 0xfff0000000000000ULL, GPT_READ, false, &gpa, &err), GPT_NONCANON);
	CHECK_EQ(tr(&md, 0xffff800000000000ULL, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(tr(&md, 0x00007fffffffffffULL, GPT_READ, false, &gpa, &err), GPT_FAULT);

	/* 5-level paging: 57-bit addresses. */
	uint64_t la = 0x00ff000000001000ULL;
	CHECK_EQ(tr(&md, la, GPT_READ, false, &gpa, &err), GPT_NONCANON);
	md.cr4 |= T_CR4_LA57;
	*lm_entry(root, 5, la, 1) = 0x7000 | ALL;
	CHECK_EQ(tr(&md, la + 4, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x7004);
	CHECK(*lm_entry(root, 5, la, 5) & A);
	CHECK_EQ(tr(&md, 0x0100000000000000ULL, GPT_READ, false, &gpa, &err), GPT_NONCANON);
}

TEST(table_outside_ram)
{
	gpa_t root, gpa;
	uint32_t err;

	setup();
	root = alloc_page();
	struct gpt_mode md = lm_mode(root);

	*lm_entry(root, 4, 0x1000, 4) = 0x80000000ULL | ALL;   /* PDPT beyond RAM */
	CHECK_EQ(tr(&md, 0x1000, GPT_READ, false, &gpa, &err), GPT_BAD_TABLE);
	md.cr3 = 0xfffff000ULL;
	CHECK_EQ(tr(&md, 0x1000, GPT_READ, false, &gpa, &err), GPT_BAD_TABLE);
	md.cr3 = RAM_SIZE - 4096;                               /* last page: fine */
	CHECK_EQ(tr(&md, 0x1000, GPT_READ, false, &gpa, &err), GPT_FAULT);

	/* 32-bit paging: a PDE pointing past RAM. */
	struct gpt_mode m32 = { .cr0 = T_CR0_PE | T_CR0_PG, .cr3 = root };
	*e32(root + 4 * 1) = 0xc0000000u | ALL;
	CHECK_EQ(tr(&m32, 0x400000, GPT_READ, false, &gpa, &err), GPT_BAD_TABLE);
}

TEST(paging_32bit)
{
	gpa_t pd, pt, gpa;
	uint32_t err;

	setup();
	pd = alloc_page();
	pt = alloc_page();
	struct gpt_mode md = { .cr0 = T_CR0_PE | T_CR0_PG | T_CR0_WP, .cr3 = pd | 0x18,
			       .efer = T_EFER_NXE };

	/* 4 KiB: la 0x00401000 -> PDE 1, PTE 1. */
	*e32(pd + 4 * 1) = (uint32_t)(pt | ALL);
	*e32(pt + 4 * 1) = 0x300000u | ALL;
	CHECK_EQ(tr(&md, 0xabc00401234ULL, GPT_WRITE, true, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x300234);                /* la truncated to 32 bits */
	CHECK_EQ(*e32(pt + 4), 0x300000u | ALL | A | D);
	CHECK_EQ(*e32(pd + 4) & (A | D), A);

	/* 32-bit entries have no XD bit and fetch faults no I/D bit. */
	CHECK_EQ(tr(&md, 0x00402000, GPT_FETCH, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, 0);
	*e32(pt + 4) &= ~(uint32_t)RW;
	CHECK_EQ(tr(&md, 0x00401000, GPT_WRITE, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_W);

	/* PS without CR4.PSE is ignored: the PDE points to a page table. */
	*e32(pd + 4 * 0x200) = (uint32_t)(pt | ALL | PS);
	CHECK_EQ(tr(&md, 0x80001010, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x300010);

	/* 4 MiB pages with CR4.PSE, PSE-36 high address bits. */
	md.cr4 = T_CR4_PSE;
	*e32(pd + 4 * 0x200) = 0x00c00000u | ALL | PS;
	CHECK_EQ(tr(&md, 0x80012345, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0xc12345);
	*e32(pd + 4 * 0x200) = 0x00c00000u | (0x05u << 13) | ALL | PS;
	CHECK_EQ(tr(&md, 0x80012345, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x500c12345ULL);
	*e32(pd + 4 * 0x200) = 0x00c00000u | (1u << 21) | ALL | PS;     /* always reserved */
	CHECK_EQ(tr(&md, 0x80012345, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
	md.maxphyaddr = 36;                     /* PDE bits 21:17 reserved */
	*e32(pd + 4 * 0x200) = 0x00c00000u | (0x10u << 13) | ALL | PS;
	CHECK_EQ(tr(&md, 0x80012345, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
	*e32(pd + 4 * 0x200) = 0x00c00000u | (0x08u << 13) | ALL | PS;
	CHECK_EQ(tr(&md, 0x80012345, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x800c12345ULL);
}

TEST(paging_pae)
{
	gpa_t pdpt = TABLES + 0x20, pd, pt, gpa;
	uint32_t err;

	setup();
	alloc_page();                           /* the page holding the PDPT */
	pd = alloc_page();
	pt = alloc_page();
	struct gpt_mode md = { .cr0 = T_CR0_PE | T_CR0_PG | T_CR0_WP, .cr3 = pdpt | 0x18,
			       .cr4 = T_CR4_PAE, .efer = T_EFER_NXE };

	/* la 0x80201000: PDPTE 2, PDE 1, PTE 1.  PDPTEs carry only P. */
	*e64(pdpt + 8 * 2) = pd | P;
	*e64(pd + 8 * 1) = pt | ALL;
	*e64(pt + 8 * 1) = 0x345000 | ALL;
	CHECK_EQ(tr(&md, 0x80201abcULL, GPT_WRITE, true, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x345abc);
	CHECK_EQ(*e64(pdpt + 16), pd | P);      /* no A bit in a PDPTE */
	CHECK(*e64(pd + 8) & A);
	CHECK(*e64(pt + 8) & D);

	/* 2 MiB page at PDE 3. */
	*e64(pd + 8 * 3) = 0x1400000 | ALL | PS;
	CHECK_EQ(tr(&md, 0x80612345ULL, GPT_READ, false, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x1412345);

	/* XD on fetch, I/D bit set. */
	*e64(pt + 8) |= XD;
	CHECK_EQ(tr(&md, 0x80201000ULL, GPT_FETCH, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_ID);

	/* PAE reserves bits 62:MAXPHYADDR (long mode ignores 62:52). */
	*e64(pt + 8) = 0x345000 | ALL | (1ULL << 55);
	CHECK_EQ(tr(&md, 0x80201000ULL, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);

	/* PDPTE: R/W is reserved; not present. */
	*e64(pt + 8) = 0x345000 | ALL;
	CHECK_EQ(tr(&md, 0x80201000ULL, GPT_READ, false, &gpa, &err), 0);
	*e64(pdpt + 16) = pd | P | RW;
	CHECK_EQ(tr(&md, 0x80201000ULL, GPT_READ, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_P | GPT_PF_RSVD);
	CHECK_EQ(tr(&md, 0xc0000000ULL, GPT_WRITE, false, &gpa, &err), GPT_FAULT);
	CHECK_EQ(err, GPT_PF_W);
}

/* Two virtual pages 0x7000, 0x8000 on physical pages far apart; 0x9000 on MMIO. */
static struct gpt_mode copy_setup(void)
{
	setup();
	gpa_t root = alloc_page();
	lm_map(root, 0x7000, 0x210000, 1, ALL);
	lm_map(root, 0x8000, 0x205000, 1, ALL);
	lm_map(root, 0x9000, 0xfee00000ULL, 1, ALL);
	return lm_mode(root);
}

TEST(copy_across_pages)
{
	struct gpt_mode md = copy_setup();
	struct gpt_fault f;
	char buf[9] = { 0 };

	CHECK_EQ(gpt_copy_to(&gm, &md, 0x7ffc, "ABCDEFGH", 8, true, &f), 0);
	CHECK_EQ(f.done, 8);
	CHECK(memcmp(ram + 0x210ffc, "ABCD", 4) == 0);
	CHECK(memcmp(ram + 0x205000, "EFGH", 4) == 0);
	CHECK_EQ(gpt_copy_from(&gm, &md, 0x7ffe, buf, 4, GPT_READ, false, &f), 0);
	CHECK_STR(buf, "CDEF");
	CHECK(*lm_entry(md.cr3, 4, 0x8000, 1) & D);
	CHECK_EQ(gpt_copy_from(&gm, &md, 0x7000, buf, 0, GPT_FETCH, false, NULL), 0);
}

TEST(copy_fault_copies_nothing)
{
	struct gpt_mode md = copy_setup();
	struct gpt_fault f;
	char buf[8];

	*lm_entry(md.cr3, 4, 0x8000, 1) &= ~RW;
	CHECK_EQ(gpt_copy_to(&gm, &md, 0x7ffc, "ABCDEFGH", 8, false, &f), GPT_FAULT);
	CHECK_EQ(f.la, 0x8000);
	CHECK_EQ(f.error, GPT_PF_P | GPT_PF_W);
	CHECK_EQ(f.done, 0);
	CHECK_EQ(ram[0x210ffc], 0);             /* first page untouched */

	*lm_entry(md.cr3, 4, 0x8000, 1) &= ~P;
	CHECK_EQ(gpt_copy_from(&gm, &md, 0x7ffc, buf, 8, GPT_FETCH, true, &f), GPT_FAULT);
	CHECK_EQ(f.la, 0x8000);
	CHECK_EQ(f.error, GPT_PF_U | GPT_PF_ID);
}

TEST(copy_hits_mmio)
{
	struct gpt_mode md = copy_setup();
	struct gpt_fault f;
	char buf[8] = { 0 };

	memcpy(ram + 0x205ffc, "wxyz", 4);
	CHECK_EQ(gpt_copy_from(&gm, &md, 0x8ffc, buf, 8, GPT_READ, false, &f), GPT_NOT_RAM);
	CHECK_EQ(f.la, 0x9000);
	CHECK_EQ(f.gpa, 0xfee00000ULL);
	CHECK_EQ(f.done, 4);
	CHECK(memcmp(buf, "wxyz", 4) == 0);

	CHECK_EQ(gpt_copy_to(&gm, &md, 0x9010, "ab", 2, false, &f), GPT_NOT_RAM);
	CHECK_EQ(f.la, 0x9010);
	CHECK_EQ(f.gpa, 0xfee00010ULL);
	CHECK_EQ(f.done, 0);

	/* A fault after the MMIO page wins: nothing reaches the device. */
	CHECK_EQ(gpt_copy_from(&gm, &md, 0x9ffc, buf, 8, GPT_READ, false, &f), GPT_FAULT);
	CHECK_EQ(f.la, 0xa000);
}

int main(void)
{
	check_start("gpt");
	RUN(paging_off);
	RUN(long_4k_and_ad_bits);
	RUN(long_large_pages);
	RUN(long_not_present);
	RUN(long_write_protect);
	RUN(long_user_supervisor);
	RUN(long_nx);
	RUN(long_reserved_bits);
	RUN(smep_smap);
	RUN(canonical_and_la57);
	RUN(table_outside_ram);
	RUN(paging_32bit);
	RUN(paging_pae);
	RUN(copy_across_pages);
	RUN(copy_fault_copies_nothing);
	RUN(copy_hits_mmio);
	free(ram);
	return check_finish();
}
