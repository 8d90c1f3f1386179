/*
 * pkru: a guest's PKRU is its own.  CPUID hides PKU, but a guest may reach
 * PKRU two ways where the CPU has it: CR4.PKE and WRPKRU, or XCR0[9] and
 * XRSTOR, which loads PKRU whatever CR4.PKE says (SDM vol. 1 §13.5.7).
 * kasane refuses both on AMD-V hardware (CR4 and XSETBV intercepts), but
 * QEMU's TCG never takes SVM's XSETBV intercept (docs/emulators.md), so
 * there XCR0[9] is accepted.  Two of these VMs share one CPU and yield to
 * each other: each writes its own PKRU by whichever way is open and must
 * read it back after every switch (arch/x86/fpu.c switches every XSAVE
 * component the host has with the vCPU; SDM vol. 3A §4.6.2).  Where both
 * ways raise #GP, nothing can leak and the test says so.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"
#include "include/kasane/abi.h"

const char test_name[] = "pkru";

#define CR4_OSXSAVE     (1ul << 18)
#define CR4_PKE         (1ul << 22)
#define XCR0_PKRU       (1ul << 9)
#define XSAVE_HDR       512             /* the XSAVE header's offset */
#define XSAVE_EXT       576             /* the first extended component's lowest offset */
#define ROUNDS          1000

static uint8_t area[4096] __attribute__((aligned(64)));

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;
	asm volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static void wrpkru(uint32_t v)
{
	asm volatile("wrpkru" : : "a"(v), "c"(0), "d"(0) : "memory");
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* An expected #GP did not come: consume the expectation with one of our own. */
static void gp_of_our_own(void)
{
	uint32_t lo = 0, hi = 0;
	asm volatile("1: rdmsr\n2:\n" EXTABLE("1b", "2b")
		     : "+a"(lo), "+d"(hi) : "c"(0x12345678u) : "memory");
}

/* PKRU alone (RFBM = XCR0[9]) to and from the area.  Its offset is
 * CPUID.(0DH,9):EBX, which kasane hides with PKU: XRSTOR takes v from
 * every dword past the legacy area and header, XSAVE shows it at one. */
static void xrstor_pkru(uint32_t v)
{
	for (unsigned off = 0; off < sizeof(area); off += 4)
		*(uint32_t *)(area + off) = off >= XSAVE_EXT ? v : 0;
	*(uint64_t *)(area + XSAVE_HDR) = XCR0_PKRU;           /* XSTATE_BV */
	asm volatile("xrstor64 %0" : : "m"(area), "a"((uint32_t)XCR0_PKRU), "d"(0) : "memory");
}

static void xsave_pkru(void)
{
	for (unsigned off = 0; off < sizeof(area); off += 4)
		*(uint32_t *)(area + off) = 0;
	asm volatile("xsave64 %0" : "+m"(area) : "a"((uint32_t)XCR0_PKRU), "d"(0) : "memory");
}

/* After each yield PKRU must still be mine; the first round where it is not fails. */
static bool check_round(unsigned i, uint32_t got, uint32_t mine)
{
	if (got == mine)
		return true;
	guest_fail("round %u: PKRU 0x%x, expected this VM's 0x%x", i, got, mine);
	return false;
}

static bool rounds_wrpkru(uint32_t mine)
{
	wrpkru(mine);
	for (unsigned i = 0; i < ROUNDS; i++) {
		vmmcall(HC_YIELD, 0, 0, 0);
		if (!check_round(i, rdpkru(), mine))
			return false;
	}
	return true;
}

static bool rounds_xrstor(uint32_t mine)
{
	unsigned at = 0;

	xrstor_pkru(mine);
	xsave_pkru();
	for (unsigned off = XSAVE_EXT; off < sizeof(area) && !at; off += 4)
		if (*(uint32_t *)(area + off) == mine)
			at = off;
	if (!at) {
		guest_fail("XSAVE of XCR0[9] did not show PKRU 0x%x after XRSTOR", mine);
		return false;
	}
	guest_printf("pkru: PKRU at offset 0x%x of the XSAVE area\n", at);
	for (unsigned i = 0; i < ROUNDS; i++) {
		vmmcall(HC_YIELD, 0, 0, 0);
		xsave_pkru();
		if (!check_round(i, *(uint32_t *)(area + at), mine))
			return false;
	}
	return true;
}

void test_main(void)
{
	long id = vmmcall(HC_GET_VM_ID, 0, 0, 0);
	uint32_t mine = 0x55540000u | ((uint32_t)id << 2);      /* keys 1.. differ per VM */
	unsigned long cr4 = read_cr4();
	uint32_t l1[4];
	int set = 0;

	/* Try CR4.PKE; a #GP skips the store to 'set'. */
	expect_exception(EXC_GP);
	asm volatile("1: mov %1, %%cr4\n\tmovl $1, %0\n2:\n" EXTABLE("1b", "2b")
		     : "+r"(set) : "r"(cr4 | CR4_PKE) : "memory");
	if (set)
		gp_of_our_own();
	exception_check(set ? "mov to CR4 with PKE accepted (then a #GP of our own)" :
		"mov to CR4 with PKE", EXC_GP, 0, NULL);
	if (set) {
		guest_printf("pkru: CR4.PKE accepted; VM %ld writes PKRU 0x%x\n", id, mine);
		if (rounds_wrpkru(mine))
			guest_printf("pkru: PKRU kept across %u switches\n", ROUNDS);
		write_cr4(cr4);
		return;
	}

	/* Then XCR0[9], with XSAVE enabled. */
	cpuid(1, 0, l1);
	if (!(l1[2] & (1u << 26))) {
		guest_printf("pkru: CR4.PKE raises #GP, no XSAVE: PKRU is out of reach\n");
		return;
	}
	write_cr4(cr4 | CR4_OSXSAVE);
	uint64_t xcr0 = xgetbv0(), want = xcr0 | XCR0_PKRU;
	expect_exception(EXC_GP);
	asm volatile("1: xsetbv\n\tmovl $1, %0\n2:\n" EXTABLE("1b", "2b")
		     : "+r"(set) : "c"(0), "a"((uint32_t)want), "d"((uint32_t)(want >> 32))
		     : "memory");
	if (set)
		gp_of_our_own();
	exception_check(set ? "XSETBV with XCR0[9] accepted (then a #GP of our own)" :
		"XSETBV with XCR0[9]", EXC_GP, 0, NULL);
	if (!set) {
		guest_printf("pkru: CR4.PKE and XCR0[9] raise #GP: PKRU is out of reach\n");
		return;
	}
	guest_printf("pkru: XCR0[9] accepted; VM %ld writes PKRU 0x%x with XRSTOR\n", id, mine);
	if (rounds_xrstor(mine))
		guest_printf("pkru: PKRU kept across %u switches\n", ROUNDS);
	asm volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
}
