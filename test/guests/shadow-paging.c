/*
 * shadow-paging: the guest-visible rules of long-mode paging, on tables
 * the guest builds and edits itself (AMD APM vol. 2 §5.3-5.6, Intel SDM
 * vol. 3A ch. 4).  Runs under nested and under shadow paging alike:
 *   accessed/dirty flags at every level; CR0.WP on and off (supervisor
 *   writes to read-only supervisor and user pages); NX; U/S through SMEP
 *   and SMAP (and SMAP with WP off); global pages across CR3 switches and their flush by
 *   CR4.PGE; INVLPG of a 4 KiB and of a 2 MiB page; MOV to CR3 with the
 *   same value; CR3 with PCIDs and INVPCID's four types (or its #UD where
 *   CPUID hides it); a guest editing its live tables through a
 *   recursive (looping) PML4 entry; not-present entries made present
 *   without a flush.  5-level paging is test/guests/shadow-la57.c's.
 * With "tlb" on the command line it also checks what only a TLB that
 * keeps everything (kasane's shadow tables) guarantees: a global page
 * survives a CR3 switch, and a changed entry is not seen before INVLPG.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "shadow-paging";

#define E_P     0x001ull
#define E_W     0x002ull
#define E_U     0x004ull
#define E_A     0x020ull
#define E_D     0x040ull
#define E_PS    0x080ull
#define E_G     0x100ull
#define E_NX    (1ull << 63)
#define PF_P    0x01
#define PF_W    0x02
#define PF_ID   0x10
#define CR4_PGE         (1ul << 7)
#define CR4_PCIDE       (1ul << 17)
#define CR4_SMEP        (1ul << 20)
#define CR4_SMAP        (1ul << 21)
#define EFER_NXE        (1u << 11)

#define BASE    0x8000000000ull                 /* PML4 slot 1 */
#define T(i)    (BASE + (uint64_t)(i) * 4096)
#define BIG     (BASE + 0x200000)               /* pd_t[1]: a 2 MiB page */
#define R0      0x800000ull                     /* its two 2 MiB frames */
#define R1      0xa00000ull
/* pt_t through the recursive slot 511: PML4 511, PDPT 1, PD 0, PT 0. */
#define PT_T_VIA_SELF   ((volatile uint64_t *)0xffffff8040000000ull)

typedef uint64_t table_t[512] __attribute__((aligned(4096)));
static table_t pml4a, pml4b, pdpt_id, pd_id, pdpt_t, pd_t, pt_t, pdpt_tb, pd_tb, pt_tb;
static uint8_t frame[6][4096] __attribute__((aligned(4096)));
static bool tlb;

static uint64_t F(int k) { return (uintptr_t)frame[k]; }
static uint64_t magic(int k) { return 0xf00d0000ull + k; }
/* Accesses that the compiler must not move across the tables' reads: the
 * CPU writes A and D behind its back. */
static uint64_t rd(uint64_t la)
{
	uint64_t v = *(volatile uint64_t *)la;
	asm volatile("" ::: "memory");
	return v;
}

static void wr(uint64_t la, uint64_t v)
{
	*(volatile uint64_t *)la = v;
	asm volatile("" ::: "memory");
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static void build(void)
{
	for (int i = 0; i < 512; i++)
		pd_id[i] = (uint64_t)i << 21 | E_P | E_W | E_PS;
	pdpt_id[0] = (uintptr_t)pd_id | E_P | E_W;
	pml4a[0] = pml4b[0] = (uintptr_t)pdpt_id | E_P | E_W;
	pml4a[1] = (uintptr_t)pdpt_t | E_P | E_W | E_U;
	pdpt_t[0] = (uintptr_t)pd_t | E_P | E_W | E_U;
	pd_t[0] = (uintptr_t)pt_t | E_P | E_W | E_U;
	pd_t[1] = R0 | E_P | E_W | E_PS;
	pml4a[511] = (uintptr_t)pml4a | E_P | E_W;     /* the loop */
	pml4b[1] = (uintptr_t)pdpt_tb | E_P | E_W | E_U;
	pdpt_tb[0] = (uintptr_t)pd_tb | E_P | E_W | E_U;
	pd_tb[0] = (uintptr_t)pt_tb | E_P | E_W | E_U;
	for (int k = 0; k < 6; k++)
		*(volatile uint64_t *)frame[k] = magic(k);
	for (uint64_t off = 0; off < 0x200000; off += 0x1000) {
		wr(R0 + off, 0x1000000 + off);
		wr(R1 + off, 0x2000000 + off);
	}
	write_cr3((uintptr_t)pml4a);
}

/* One access that must raise #PF with err at la. */
static void expect_pf(const char *what, uint64_t la, bool write, unsigned long err)
{
	struct trap_info ti;

	expect_exception(EXC_PF);
	if (write)
		asm volatile("1: movq $7, (%0)\n2:\n" EXTABLE("1b", "2b") :: "r"(la) : "memory");
	else
		asm volatile("1: movq (%0), %%rax\n2:\n" EXTABLE("1b", "2b") :: "r"(la) : "rax", "memory");
	if (exception_check(what, EXC_PF, (long)err, &ti))
		guest_check_eq(what, ti.cr2, la);
}

static void test_ad(void)
{
	pt_t[0] = F(0) | E_P | E_W;
	pml4a[1] &= ~E_A;
	pdpt_t[0] &= ~E_A;
	pd_t[0] &= ~E_A;
	write_cr3(read_cr3());
	guest_check_eq("read through a fresh entry", rd(T(0)), magic(0));
	guest_check_eq("A after a read (PTE)", pt_t[0] & (E_A | E_D), E_A);
	guest_check_eq("A after a read (PDE, PDPTE, PML4E)",
		       (pd_t[0] & pdpt_t[0] & pml4a[1]) & E_A, E_A);
	wr(T(0), magic(0));
	guest_check_eq("D after a write", pt_t[0] & (E_A | E_D), E_A | E_D);
	pt_t[0] &= ~(E_A | E_D);
	invlpg(T(0));
	rd(T(0));
	guest_check_eq("A again, D clear, after clearing both and INVLPG", pt_t[0] & (E_A | E_D), E_A);
	wr(T(0), magic(0));
	guest_check_eq("D again after a write", pt_t[0] & E_D, E_D);
}

static void test_wp(void)
{
	unsigned long cr0 = read_cr0();

	pt_t[1] = F(1) | E_P;                   /* read-only, supervisor */
	pt_t[2] = F(2) | E_P | E_U;             /* read-only, user */
	invlpg(T(1));
	invlpg(T(2));
	guest_check_eq("read of a read-only page", rd(T(1)), magic(1));
	expect_pf("write to a read-only page with WP=1", T(1), true, PF_P | PF_W);
	write_cr0(cr0 & ~CR0_WP);
	wr(T(1), 0x1111);
	wr(T(2), 0x2222);
	guest_check_eq("WP=0: supervisor write to a read-only page", rd(F(1)), 0x1111);
	guest_check_eq("WP=0: supervisor write to a read-only user page", rd(F(2)), 0x2222);
	guest_check_eq("WP=0: the write set D", pt_t[1] & E_D, E_D);
	write_cr0(cr0 | CR0_WP);
	expect_pf("write to a read-only page with WP=1 again", T(1), true, PF_P | PF_W);
	expect_pf("write to a read-only user page with WP=1", T(2), true, PF_P | PF_W);
	wr(F(1), magic(1));
	wr(F(2), magic(2));
}

/* Call the code at la (mov $0x42, %eax; ret); ~0 when it faulted with err. */
static unsigned long call_at(const char *what, uint64_t la, long err)
{
	unsigned long ret = 0;
	struct trap_info ti;

	if (err >= 0)
		expect_exception(EXC_PF);
	/* A fault at la itself resumes at 2 with the return address pushed. */
	asm volatile(".pushsection .extable, \"a\"\n\t.quad 0x8000003000, 2f\n\t"
		     ".quad 0x8000004000, 2f\n\t.popsection\n\t"
		     "call *%1\n\tjmp 3f\n2:\taddq $8, %%rsp\n\tmovq $-1, %%rax\n3:\n"
		     : "=a"(ret) : "r"(la) : "memory", "rcx", "rdx");
	if (err >= 0 && exception_check(what, EXC_PF, err, &ti))
		guest_check_eq(what, ti.cr2, la);
	return ret;
}

/*
 * CR0.WP = 0 with SMAP on: the supervisor may write a read-only user page
 * with RFLAGS.AC = 1, and that write leaves no way past SMAP behind: with
 * AC = 0 a read or write of the page still faults (SDM vol. 3A §4.6.1).
 */
static void test_wp_smap(void)
{
	unsigned long cr0 = read_cr0();

	pt_t[6] = F(5) | E_P | E_U;             /* read-only, user: frame 5 again */
	invlpg(T(6));
	write_cr0(cr0 & ~CR0_WP);
	asm volatile("stac" ::: "memory");
	wr(T(6), 0x5a5a);
	asm volatile("clac" ::: "memory");
	expect_pf("WP=0, SMAP: supervisor read of the user page it wrote", T(6), false, PF_P);
	expect_pf("WP=0, SMAP: supervisor write of it with AC=0", T(6), true, PF_P | PF_W);
	asm volatile("stac" ::: "memory");
	guest_check_eq("WP=0, SMAP with AC=1: the write went through", rd(T(6)), 0x5a5a);
	guest_check_eq("WP=0, SMAP: the write set D", pt_t[6] & E_D, E_D);
	wr(T(5), magic(5));
	asm volatile("clac" ::: "memory");
	write_cr0(cr0);
}

static void test_nx_smep_smap(void)
{
	static const uint8_t code[] = { 0xb8, 0x42, 0, 0, 0, 0xc3 };
	uint32_t r[4];

	memcpy(frame[3], code, sizeof(code));
	memcpy(frame[4], code, sizeof(code));
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	pt_t[3] = F(3) | E_P | E_NX;
	invlpg(T(3));
	call_at("fetch from an NX page", T(3), PF_P | PF_ID);
	pt_t[3] = F(3) | E_P;
	invlpg(T(3));
	guest_check_eq("fetch once NX is cleared", call_at("", T(3), -1), 0x42);

	cpuid(7, 0, r);
	pt_t[4] = F(4) | E_P | E_U;
	pt_t[5] = F(5) | E_P | E_W | E_U;
	invlpg(T(4));
	invlpg(T(5));
	if (r[1] & (1u << 7)) {
		write_cr4(read_cr4() | CR4_SMEP);
		call_at("SMEP: supervisor fetch from a user page", T(4), PF_P | PF_ID);
		write_cr4(read_cr4() & ~CR4_SMEP);
		guest_check_eq("fetch from a user page without SMEP", call_at("", T(4), -1), 0x42);
	} else {
		guest_printf("shadow-paging: no SMEP: U/S not checked by fetch\n");
	}
	if (r[1] & (1u << 20)) {
		write_cr4(read_cr4() | CR4_SMAP);
		expect_pf("SMAP: supervisor read of a user page", T(5), false, PF_P);
		asm volatile("stac" ::: "memory");
		guest_check_eq("SMAP with AC=1: the read goes through", rd(T(5)), magic(5));
		asm volatile("clac" ::: "memory");
		guest_check_eq("SMAP: a supervisor page reads", rd(T(0)), magic(0));
		test_wp_smap();
		write_cr4(read_cr4() & ~CR4_SMAP);
	} else {
		guest_printf("shadow-paging: no SMAP: U/S not checked by data access\n");
	}
}

static void test_global(void)
{
	write_cr4(read_cr4() | CR4_PGE);
	pt_t[7] = F(0) | E_P | E_W | E_G;
	pt_t[8] = F(0) | E_P | E_W;
	pt_tb[7] = F(1) | E_P | E_W | E_G;
	pt_tb[8] = F(1) | E_P | E_W;
	invlpg(T(7));
	invlpg(T(8));
	rd(T(7));
	rd(T(8));
	write_cr3((uintptr_t)pml4b);
	guest_check_eq("non-global page after a CR3 switch", rd(T(8)), magic(1));
	if (tlb)
		guest_check_eq("global page kept across the CR3 switch", rd(T(7)), magic(0));
	write_cr4(read_cr4() & ~CR4_PGE);
	write_cr4(read_cr4() | CR4_PGE);
	guest_check_eq("global page after CR4.PGE off and on", rd(T(7)), magic(1));
	write_cr3((uintptr_t)pml4a);
	guest_check_eq("non-global page back in the first space", rd(T(8)), magic(0));
	write_cr4(read_cr4() & ~CR4_PGE);
	guest_check_eq("global page once PGE is off", rd(T(7)), magic(0));
}

static void test_invlpg(void)
{
	pt_t[9] = F(0) | E_P | E_W;
	invlpg(T(9));
	rd(T(9));
	pt_t[9] = F(1) | E_P | E_W;
	if (tlb)
		guest_check_eq("changed entry not seen before INVLPG", rd(T(9)), magic(0));
	invlpg(T(9));
	guest_check_eq("changed entry seen after INVLPG", rd(T(9)), magic(1));

	pt_t[11] = F(0) | E_P | E_W;
	invlpg(T(11));
	rd(T(11));
	pt_t[11] = F(2) | E_P | E_W;
	write_cr3(read_cr3());
	guest_check_eq("changed entry seen after MOV CR3 of the same value", rd(T(11)), magic(2));

	guest_check_eq("2 MiB page, first 4 KiB", rd(BIG + 0x1000), 0x1001000);
	guest_check_eq("2 MiB page, another 4 KiB", rd(BIG + 0x10000), 0x1010000);
	pd_t[1] = R1 | E_P | E_W | E_PS;
	invlpg(BIG);
	guest_check_eq("2 MiB page after INVLPG of its start", rd(BIG + 0x10000), 0x2010000);
}

static void test_live_edit(void)
{
	guest_check_eq("the loop: PT entry 0 through the recursive slot", PT_T_VIA_SELF[0], pt_t[0]);
	pt_t[10] = 0;
	invlpg(T(10));
	expect_pf("read of a not-present page", T(10), false, 0);
	/* Not present to present needs no flush (SDM vol. 3A §4.10.4.3). */
	PT_T_VIA_SELF[10] = F(2) | E_P | E_W;
	guest_check_eq("page made present through the live tables", rd(T(10)), magic(2));
	PT_T_VIA_SELF[10] = F(0) | E_P | E_W;
	invlpg(T(10));
	guest_check_eq("page remapped through the live tables", rd(T(10)), magic(0));
}

static void invpcid(unsigned long type, uint64_t pcid, uint64_t la)
{
	struct { uint64_t pcid, la; } d = { pcid, la };

	asm volatile("invpcid %0, %1" :: "m"(d), "r"(type) : "memory");
}

/* INVPCID of type with this descriptor must raise #GP(0) (SDM vol. 2A "INVPCID"). */
static void invpcid_gp(const char *what, unsigned long type, uint64_t pcid, uint64_t la)
{
	struct { uint64_t pcid, la; } d = { pcid, la };

	expect_exception(EXC_GP);
	asm volatile("1: invpcid %0, %1\n2:\n" EXTABLE("1b", "2b") :: "m"(d), "r"(type) : "memory");
	exception_check(what, EXC_GP, 0, NULL);
}

/*
 * INVPCID's four types, with PCIDE on and CR3 on PCID 1 (SDM vol. 2A
 * "INVPCID", vol. 3A §4.10.4.1): after each, the changed entry it covers
 * is seen; and its #GP cases.  Without INVPCID in CPUID it must be #UD
 * (kasane hides it under shadow paging; SDM vol. 3C §25.3: with "enable
 * INVPCID" clear a VT-x guest gets #UD).
 */
static void test_invpcid(bool pcid)
{
	uint32_t r[4];

	cpuid(7, 0, r);
	if (!(r[1] & (1u << 10))) {
		expect_exception(EXC_UD);
		asm volatile("1: invpcid %0, %1\n2:\n" EXTABLE("1b", "2b")
			     :: "m"(*(volatile uint64_t (*)[2])frame[0]), "r"(2ul) : "memory");
		exception_check("INVPCID hidden by CPUID", EXC_UD, -1, NULL);
		guest_printf("shadow-paging: no INVPCID: #UD checked\n");
		return;
	}
	if (!pcid) {
		guest_fail("INVPCID shown without PCID");
		return;
	}
	pt_t[12] = F(0) | E_P | E_W;
	pt_t[13] = F(0) | E_P | E_W | E_G;
	invlpg(T(12));
	invlpg(T(13));
	write_cr4(read_cr4() | CR4_PGE);
	write_cr4(read_cr4() | CR4_PCIDE);
	write_cr3((uintptr_t)pml4a | 1);
	rd(T(12));
	rd(T(13));
	pt_t[12] = F(1) | E_P | E_W;
	invpcid(0, 1, T(12));
	guest_check_eq("INVPCID type 0 (one address of PCID 1)", rd(T(12)), magic(1));
	pt_t[12] = F(2) | E_P | E_W;
	invpcid(1, 1, 0);
	guest_check_eq("INVPCID type 1 (all of PCID 1)", rd(T(12)), magic(2));
	pt_t[13] = F(1) | E_P | E_W | E_G;
	invpcid(2, 0, 0);
	guest_check_eq("INVPCID type 2 (everything, global pages too)", rd(T(13)), magic(1));
	pt_t[12] = F(0) | E_P | E_W;
	invpcid(3, 0, 0);
	guest_check_eq("INVPCID type 3 (all but global pages)", rd(T(12)), magic(0));
	invpcid_gp("INVPCID type 4", 4, 0, 0);
	invpcid_gp("INVPCID with descriptor bits 63:12 set", 1, 1ull << 12 | 1, 0);
	invpcid_gp("INVPCID type 0 at a non-canonical address", 0, 1, 0x0000800000000000ull);
	write_cr3((uintptr_t)pml4a);
	write_cr4(read_cr4() & ~CR4_PCIDE);
	invpcid_gp("INVPCID type 1 of PCID 1 with PCIDE off", 1, 1, 0);
	invpcid(1, 0, 0);
	write_cr4(read_cr4() & ~CR4_PGE);
	guest_printf("shadow-paging: INVPCID: four types checked\n");
}

static bool test_pcid(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[2] & (1u << 17))) {
		guest_printf("shadow-paging: no PCID\n");
		return false;
	}
	pt_t[8] = F(0) | E_P | E_W;
	pt_tb[8] = F(1) | E_P | E_W;
	write_cr3((uintptr_t)pml4a);
	write_cr4(read_cr4() | CR4_PCIDE);
	rd(T(8));
	write_cr3((uintptr_t)pml4b | 1);
	guest_check_eq("PCID 1: the second space", rd(T(8)), magic(1));
	guest_check_eq("CR3 reads back with its PCID", read_cr3(), (uintptr_t)pml4b | 1);
	write_cr3((uintptr_t)pml4a | 2 | (1ul << 63));
	guest_check_eq("PCID 2, no-flush write: the first space", rd(T(8)), magic(0));
	guest_check_eq("CR3 without bit 63", read_cr3(), (uintptr_t)pml4a | 2);
	pt_t[8] = F(2) | E_P | E_W;
	write_cr3((uintptr_t)pml4a | 2);
	guest_check_eq("PCID 2, flushing write: the changed entry", rd(T(8)), magic(2));
	write_cr3((uintptr_t)pml4a);
	write_cr4(read_cr4() & ~CR4_PCIDE);
	guest_printf("shadow-paging: PCID: CR3 with PCIDs checked\n");
	return true;
}

void test_main(void)
{
	char v[8];

	tlb = cmdline_get(mb2_cmdline(boot_info), "tlb", v, sizeof(v));
	build();
	test_ad();
	test_wp();
	test_nx_smep_smap();
	test_global();
	test_invlpg();
	test_live_edit();
	test_invpcid(test_pcid());
}
