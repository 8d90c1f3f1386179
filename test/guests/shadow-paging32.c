/*
 * shadow-paging32: legacy-mode paging on the guest's own tables (SDM vol.
 * 3A §4.3, 32-bit paging with CR4.PSE; §4.4, PAE paging), entered from
 * protected mode with paging off and left the same way.  In each mode:
 * accessed and dirty flags, a read-only page with CR0.WP, INVLPG of a 4 KiB
 * page and of a large page (a 4 MiB page spans two of PAE's 2 MiB shadow
 * entries: INVLPG of one half must drop the other), and in PAE mode NX.
 * Runs under nested and shadow paging alike.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "shadow-paging32";

#define E_P     0x001u
#define E_W     0x002u
#define E_A     0x020u
#define E_D     0x040u
#define E_PS    0x080u
#define E_NX    (1ull << 63)
#define CR4_PSE (1ul << 4)
#define EFER_NXE (1u << 11)
#define PF_P    0x01
#define PF_W    0x02
#define PF_ID   0x10

#define TEST_LA 0x40000000u             /* 4 KiB pages here */
#define BIG_LA  0x40800000u             /* a 4 MiB (2 MiB with PAE) page here */
#define R0      0x800000u               /* its frames */
#define R1      0xc00000u

static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd_lo[512] __attribute__((aligned(4096)));
static uint64_t pd_hi[512] __attribute__((aligned(4096)));
static uint64_t pt64[512] __attribute__((aligned(4096)));
static uint8_t frame[3][4096] __attribute__((aligned(4096)));

static uint32_t rd(uint32_t la)
{
	uint32_t v = *(volatile uint32_t *)la;
	asm volatile("" ::: "memory");
	return v;
}

static void wr(uint32_t la, uint32_t v)
{
	*(volatile uint32_t *)la = v;
	asm volatile("" ::: "memory");
}

static uint32_t F(int k) { return (uint32_t)(uintptr_t)frame[k]; }

static void expect_pf(const char *what, uint32_t la, bool write, long err)
{
	struct trap_info ti;

	expect_exception(EXC_PF);
	if (write)
		asm volatile("1: movl $7, (%0)\n2:\n" EXTABLE("1b", "2b") :: "r"(la) : "memory");
	else
		asm volatile("1: movl (%0), %%eax\n2:\n" EXTABLE("1b", "2b") :: "r"(la) : "eax", "memory");
	if (exception_check(what, EXC_PF, err, &ti))
		guest_check_eq(what, ti.cr2, la);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~(CR4_PSE | CR4_PAE));
}

static void fill_frames(void)
{
	for (int k = 0; k < 3; k++)
		*(volatile uint32_t *)frame[k] = 0xf00d0000u + k;
	for (uint32_t off = 0; off < 0x400000; off += 0x1000) {
		wr(R0 + off, 0x1000000 + off);
		wr(R1 + off, 0x2000000 + off);
	}
}

static void test_32bit(void)
{
	for (uint32_t i = 0; i < 4; i++)                /* 16 MiB identity, 4 MiB pages */
		pd32[i] = (i << 22) | E_P | E_W | E_PS;
	pd32[TEST_LA >> 22] = (uint32_t)(uintptr_t)pt32 | E_P | E_W;
	pd32[BIG_LA >> 22] = R0 | E_P | E_W | E_PS;
	pt32[0] = F(0) | E_P | E_W;
	pt32[1] = F(1) | E_P;
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uintptr_t)pd32);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);

	guest_check_eq("32-bit: read through a 4 KiB page", rd(TEST_LA), 0xf00d0000u);
	guest_check_eq("32-bit: A set, D clear", pt32[0] & (E_A | E_D), E_A);
	wr(TEST_LA, 0xf00d0000u);
	guest_check_eq("32-bit: D after a write", pt32[0] & E_D, E_D);
	guest_check_eq("32-bit: read-only page reads", rd(TEST_LA + 0x1000), 0xf00d0001u);
	expect_pf("32-bit: write to a read-only page", TEST_LA + 0x1000, true, PF_P | PF_W);
	pt32[0] = F(2) | E_P | E_W;
	invlpg(TEST_LA);
	guest_check_eq("32-bit: remapped after INVLPG", rd(TEST_LA), 0xf00d0002u);
	/* Both 2 MiB halves of the 4 MiB page in use; INVLPG of the first. */
	guest_check_eq("32-bit: 4 MiB page, low half", rd(BIG_LA + 0x1000), 0x1001000);
	guest_check_eq("32-bit: 4 MiB page, high half", rd(BIG_LA + 0x300000), 0x1300000);
	pd32[BIG_LA >> 22] = R1 | E_P | E_W | E_PS;
	invlpg(BIG_LA);
	guest_check_eq("32-bit: 4 MiB page's high half after INVLPG of its start",
		       rd(BIG_LA + 0x300000), 0x2300000);
	paging_off();
	guest_check_eq("paging off again: identity", rd(F(0)), 0xf00d0000u);
}

static void test_pae(void)
{
	uint32_t r[4];

	for (uint32_t i = 0; i < 8; i++)                /* 16 MiB identity, 2 MiB pages */
		pd_lo[i] = (i << 21) | E_P | E_W | E_PS;
	pd_hi[0] = (uint32_t)(uintptr_t)pt64 | E_P | E_W;
	pd_hi[(BIG_LA >> 21) & 511] = R0 | E_P | E_W | E_PS;
	pdpt[0] = (uint32_t)(uintptr_t)pd_lo | E_P;
	pdpt[1] = (uint32_t)(uintptr_t)pd_hi | E_P;
	pt64[0] = F(0) | E_P | E_W;
	pt64[1] = F(1) | E_P;
	cpuid(0x80000001, 0, r);
	bool nx = r[3] & (1u << 20);
	if (nx) {
		uint64_t efer = rdmsr(MSR_EFER) | EFER_NXE;
		asm volatile("wrmsr" :: "c"(MSR_EFER), "a"((uint32_t)efer), "d"((uint32_t)(efer >> 32)));
		pt64[2] = F(2) | E_P | E_NX;
		frame[2][0] = 0xc3;     /* ret */
	}
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3((uintptr_t)pdpt);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);

	guest_check_eq("PAE: read through a 4 KiB page", rd(TEST_LA), 0xf00d0000u);
	guest_check_eq("PAE: A set, D clear", pt64[0] & (E_A | E_D), E_A);
	wr(TEST_LA, 0xf00d0000u);
	guest_check_eq("PAE: D after a write", pt64[0] & E_D, E_D);
	expect_pf("PAE: write to a read-only page", TEST_LA + 0x1000, true, PF_P | PF_W);
	pt64[0] = F(1) | E_P | E_W;
	invlpg(TEST_LA);
	guest_check_eq("PAE: remapped after INVLPG", rd(TEST_LA), 0xf00d0001u);
	guest_check_eq("PAE: 2 MiB page", rd(BIG_LA + 0x10000), 0x1010000);
	pd_hi[(BIG_LA >> 21) & 511] = R1 | E_P | E_W | E_PS;
	invlpg(BIG_LA + 0x1000);
	guest_check_eq("PAE: 2 MiB page after INVLPG inside it", rd(BIG_LA + 0x10000), 0x2010000);
	if (nx) {
		struct trap_info ti;
		expect_exception(EXC_PF);
		asm volatile(".pushsection .extable, \"a\"\n\t.long 0x40002000, 2f\n\t.popsection\n\t"
			     "call *%0\n\tjmp 3f\n2:\taddl $4, %%esp\n3:\n"
			     :: "r"(TEST_LA + 0x2000) : "memory", "eax", "ecx", "edx");
		if (exception_check("PAE: fetch from an NX page", EXC_PF, PF_P | PF_ID, &ti))
			guest_check_eq("PAE: NX fault address", ti.cr2, TEST_LA + 0x2000);
	}
	paging_off();
}

void test_main(void)
{
	fill_frames();
	test_32bit();
	test_pae();
}
