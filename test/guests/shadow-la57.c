/*
 * shadow-la57: 5-level paging (SDM vol. 3A §4.5, AMD APM vol. 2 §5.3.1),
 * under nested and under shadow paging.  CR4.LA57 can change only with
 * paging off (SDM vol. 2B "MOV--Move to/from Control Registers": a write
 * that changes LA57 in IA-32e mode is #GP), so the guest leaves long mode
 * through compatibility mode (SDM vol. 3A §10.8.5.4), sets LA57, loads a
 * PML5 table and turns paging back on.  Then, on its own 5-level tables:
 * addresses above 2^47 on both halves of the 57-bit space, 2 MiB and
 * 1 GiB pages there, accessed and dirty flags at all five levels, #PF
 * error codes and a 57-bit CR2 (not present at the PTE and at the PML5E,
 * write to a read-only page, a reserved bit in a PML5E), #GP for an
 * address that is not canonical with 57 bits, and INVLPG.  With "tlb" it also checks that
 * a changed entry is not seen before INVLPG (kasane's shadow tables keep
 * every translation, as a TLB may).  A CPU model without LA57 fails.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "shadow-la57";

#define E_P     0x001ull
#define E_W     0x002ull
#define E_A     0x020ull
#define E_D     0x040ull
#define E_PS    0x080ull
#define PF_P    0x01
#define PF_W    0x02
#define PF_RSVD 0x08
#define CR4_LA57        (1ul << 12)

/* Above 2^47 in the lower half: PML5 1, PML4 2, PDPT 3, PD 4. */
#define HI      (1ull << 48 | 2ull << 39 | 3ull << 30 | 4ull << 21)
/* The upper half: PML5 256 (bit 56 set, 63:57 copy it), PML4 0, PDPT 3, PD 4. */
#define NEG     (0xff00000000000000ull | 3ull << 30 | 4ull << 21)
#define H(i)    (HI + (uint64_t)(i) * 4096)
#define BIG     (HI + 0x200000)                 /* pd_h[5]: a 2 MiB page */
#define R0      0x800000ull                     /* its 2 MiB frame */
#define GIG     (1ull << 48 | 2ull << 39 | 4ull << 30)  /* pdpt_h[4]: 1 GiB at 0 */
#define NOPML5  (2ull << 48 | 0x1234000)        /* PML5 entry 2: not present */
#define RSVPML5 (3ull << 48 | 0x5678000)        /* PML5 entry 3: PS set, reserved */

typedef uint64_t table_t[512] __attribute__((aligned(4096)));
static table_t pml5, pml4_id, pdpt_id, pd_id, pml4_h, pml4_n, pdpt_h, pd_h, pt_h;
static uint8_t frame[4][4096] __attribute__((aligned(4096)));
static bool tlb, rsvd_any_p;

static uint64_t F(int k) { return (uintptr_t)frame[k]; }
static uint64_t magic(int k) { return 0x57570000ull + k; }

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

/*
 * Reload paging with CR4 = cr4 and CR3 = cr3 (both below 4 GiB): far
 * return to the 32-bit code segment 0x18 (compatibility mode), clear
 * CR0.PG (EFER.LMA drops), write CR4 then CR3, set CR0.PG (EFER.LME is
 * still set, so IA-32e mode comes back with the new depth) and far jump
 * to the 64-bit segment 0x08 (SDM vol. 3A §10.8.5).  The code and stack
 * run identity-mapped below 4 GiB; RSP is kept in memory because the
 * upper halves of the registers are undefined across compatibility mode
 * (SDM vol. 1 §3.4.1.1).
 */
void repage(uint32_t cr3, uint32_t cr4);
asm(".text\n"
    ".globl repage\n"
    "repage:\n\t"
    "pushq %rbx\n\tpushq %rbp\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n\t"
    "movq %rsp, repage_rsp(%rip)\n\t"
    "pushq $0x18\n\t"
    "leaq 1f(%rip), %rax\n\t"
    "pushq %rax\n\t"
    "lretq\n"
    ".code32\n"
    "1:\tmovl %cr0, %eax\n\t"
    "andl $0x7fffffff, %eax\n\t"
    "movl %eax, %cr0\n\t"
    "movl %esi, %cr4\n\t"
    "movl %edi, %cr3\n\t"
    "orl $0x80000000, %eax\n\t"
    "movl %eax, %cr0\n\t"
    "ljmp $0x08, $2f\n"
    ".code64\n"
    "2:\tmovq repage_rsp(%rip), %rsp\n\t"
    "popq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\tpopq %rbp\n\tpopq %rbx\n\t"
    "ret\n"
    ".bss\n.align 8\nrepage_rsp: .quad 0\n.text\n");

/* crt64.S's GDT (0x08 64-bit code, 0x10 data) plus 32-bit code at 0x18. */
static const uint64_t gdt[4] __attribute__((aligned(16))) = {
	0, 0x00af9a000000ffffull, 0x00cf92000000ffffull, 0x00cf9a000000ffffull,
};

static void load_gdt(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } p =
		{ sizeof(gdt) - 1, (uintptr_t)gdt };

	asm volatile("lgdt %0" :: "m"(p));
}

static void build(void)
{
	for (int i = 0; i < 512; i++)
		pd_id[i] = (uint64_t)i << 21 | E_P | E_W | E_PS;
	pdpt_id[0] = (uintptr_t)pd_id | E_P | E_W;
	pml4_id[0] = (uintptr_t)pdpt_id | E_P | E_W;
	pml5[0] = (uintptr_t)pml4_id | E_P | E_W;
	pml5[1] = (uintptr_t)pml4_h | E_P | E_W;
	pml5[3] = (uintptr_t)pml4_h | E_P | E_W | E_PS;        /* PS: reserved in a PML5E */
	pml5[256] = (uintptr_t)pml4_n | E_P | E_W;
	pml4_h[2] = (uintptr_t)pdpt_h | E_P | E_W;
	pml4_n[0] = (uintptr_t)pdpt_h | E_P | E_W;
	pdpt_h[3] = (uintptr_t)pd_h | E_P | E_W;
	pd_h[4] = (uintptr_t)pt_h | E_P | E_W;
	pd_h[5] = R0 | E_P | E_W | E_PS;
	pdpt_h[4] = 0 | E_P | E_W | E_PS;
	for (int k = 0; k < 4; k++)
		wr(F(k), magic(k));
	for (uint64_t off = 0; off < 0x200000; off += 0x1000)
		wr(R0 + off, 0x3000000 + off);
	for (int i = 0; i < 4; i++)
		pt_h[i] = F(i) | E_P | E_W;
}

static void access(uint64_t la, bool write)
{
	if (write)
		asm volatile("1: movq $7, (%0)\n2:\n" EXTABLE("1b", "2b") :: "r"(la) : "memory");
	else
		asm volatile("1: movq (%0), %%rax\n2:\n" EXTABLE("1b", "2b") :: "r"(la) : "rax", "memory");
}

static void expect_pf(const char *what, uint64_t la, bool write, unsigned long err)
{
	struct trap_info ti;

	expect_exception(EXC_PF);
	access(la, write);
	if (exception_check(what, EXC_PF, (long)err, &ti))
		guest_check_eq(what, ti.cr2, la);
}

static void expect_gp(const char *what, uint64_t la)
{
	expect_exception(EXC_GP);
	access(la, false);
	exception_check(what, EXC_GP, 0, NULL);
}

static void test_translate(void)
{
	guest_check_eq("read above 2^47 (PML5 entry 1)", rd(H(0)), magic(0));
	guest_check_eq("read in the upper half (PML5 entry 256)", rd(NEG + 4096), magic(1));
	guest_check_eq("2 MiB page above 2^47", rd(BIG + 0x15000), 0x3015000);
	guest_check_eq("1 GiB page above 2^47", rd(GIG + F(1)), magic(1));
	wr(NEG + 2 * 4096, 0x5757);
	guest_check_eq("write through the upper half, read above 2^47", rd(H(2)), 0x5757);
	wr(H(2), magic(2));
}

static void test_ad(void)
{
	pml5[1] &= ~E_A;
	pml4_h[2] &= ~E_A;
	pdpt_h[3] &= ~E_A;
	pd_h[4] &= ~E_A;
	pt_h[3] &= ~(E_A | E_D);
	write_cr3(read_cr3());
	guest_check_eq("read through cleared flags", rd(H(3)), magic(3));
	guest_check_eq("A after a read (PTE), no D", pt_h[3] & (E_A | E_D), E_A);
	guest_check_eq("A after a read (PDE, PDPTE, PML4E, PML5E)",
		       pml5[1] & pml4_h[2] & pdpt_h[3] & pd_h[4] & E_A, E_A);
	wr(H(3), magic(3));
	guest_check_eq("D after a write", pt_h[3] & (E_A | E_D), E_A | E_D);
}

static void test_faults(void)
{
	pt_h[6] = 0;
	invlpg(H(6));
	expect_pf("read of a not-present page above 2^47", H(6) + 8, false, 0);
	pt_h[7] = F(0) | E_P;
	invlpg(H(7));
	expect_pf("write to a read-only page above 2^47", H(7) + 16, true, PF_P | PF_W);
	expect_pf("write through a not-present PML5 entry", NOPML5, true, PF_W);
	if (rsvd_any_p) {
		/* QEMU 7.2 TCG's own walk (nested paging) reports a reserved
		 * bit without P; SDM vol. 3A §4.7 and real CPUs set both. */
		struct trap_info ti;
		expect_exception(EXC_PF);
		access(RSVPML5, false);
		if (exception_check("read through a PML5 entry with PS set", EXC_PF, -1, &ti)) {
			guest_check_eq("its error code, P aside", ti.error_code & ~PF_P, PF_RSVD);
			guest_check_eq("its CR2", ti.cr2, RSVPML5);
		}
	} else {
		expect_pf("read through a PML5 entry with PS set", RSVPML5, false, PF_P | PF_RSVD);
	}
	/* Bit 56 set, bits 63:57 clear: not canonical with 57 bits. */
	expect_gp("read of a non-canonical 57-bit address", 0x0100000000000000ull);
}

static void test_invlpg(void)
{
	pt_h[9] = F(0) | E_P | E_W;
	invlpg(H(9));
	rd(H(9));
	pt_h[9] = F(1) | E_P | E_W;
	if (tlb)
		guest_check_eq("changed entry not seen before INVLPG", rd(H(9)), magic(0));
	invlpg(H(9));
	guest_check_eq("changed entry seen after INVLPG", rd(H(9)), magic(1));
	pt_h[9] = F(2) | E_P | E_W;
	invlpg(NEG + 9 * 4096);
	guest_check_eq("INVLPG through the other half's alias", rd(NEG + 9 * 4096), magic(2));
	pt_h[9] = 0;
	invlpg(H(9));
	expect_pf("page unmapped with INVLPG", H(9), false, 0);
}

void test_main(void)
{
	uint32_t r[4];
	char v[8];
	unsigned long cr3 = read_cr3(), cr4 = read_cr4();

	tlb = cmdline_get(mb2_cmdline(boot_info), "tlb", v, sizeof(v));
	rsvd_any_p = cmdline_get(mb2_cmdline(boot_info), "rsvd_any_p", v, sizeof(v));
	cpuid(7, 0, r);
	if (!(r[2] & (1u << 16))) {
		guest_fail("the CPU model shows no LA57 (CPUID.7.0:ECX[16])");
		return;
	}
	cpuid(0x80000001, 0, r);
	if (!(r[3] & (1u << 26))) {
		guest_fail("the CPU model shows no 1 GiB pages (CPUID.80000001H:EDX[26])");
		return;
	}
	build();
	load_gdt();
	/* 4-level paging first: the same address is not canonical there. */
	expect_gp("48-bit paging: 2^48 is not canonical", HI);
	expect_exception(EXC_GP);
	asm volatile("1: mov %0, %%cr4\n2:\n" EXTABLE("1b", "2b") :: "r"(cr4 | CR4_LA57));
	exception_check("MOV to CR4 setting LA57 in long mode", EXC_GP, 0, NULL);

	repage((uint32_t)(uintptr_t)pml5, (uint32_t)(cr4 | CR4_LA57));
	guest_check_eq("CR4.LA57 on", read_cr4() & CR4_LA57, CR4_LA57);
	guest_check_eq("CR3 on the PML5 table", read_cr3(), (uintptr_t)pml5);
	guest_printf("shadow-la57: 5-level paging on\n");
	test_translate();
	test_ad();
	test_faults();
	test_invlpg();

	repage((uint32_t)cr3, (uint32_t)cr4);
	guest_check_eq("back to 4-level paging", read_cr4() & CR4_LA57, 0);
	expect_gp("48-bit paging again: 2^48 is not canonical", HI);
}
