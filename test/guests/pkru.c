/*
 * pkru: a guest's PKRU is its own.  CPUID hides PKU, but on AMD-V a
 * guest's MOV to CR4 does not exit, so on a host with PKU it can turn on
 * CR4.PKE and use WRPKRU.  Two of these VMs share one CPU and yield to
 * each other: each writes its own value and must read it back after every
 * switch (arch/x86/fpu.c saves and restores PKRU with the vCPU; SDM vol. 3A
 * §4.6.2, vol. 1 §13.5.7).  Where CR4.PKE raises #GP, nothing can leak and
 * the test says so.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"
#include "include/kasane/abi.h"

const char test_name[] = "pkru";

#define CR4_PKE         (1ul << 22)
#define ROUNDS          1000

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

void test_main(void)
{
	long id = vmmcall(HC_GET_VM_ID, 0, 0, 0);
	uint32_t mine = 0x55540000u | ((uint32_t)id << 2);      /* keys 1.. differ per VM */
	unsigned long cr4 = read_cr4();
	int set = 0;

	/* Try CR4.PKE; a #GP skips the store to 'set'. */
	expect_exception(EXC_GP);
	asm volatile("1: mov %1, %%cr4\n\tmovl $1, %0\n2:\n" EXTABLE("1b", "2b")
		     : "+r"(set) : "r"(cr4 | CR4_PKE) : "memory");
	if (set) {
		/* No fault: consume the expectation with a #GP of our own. */
		uint32_t lo = 0, hi = 0;
		asm volatile("1: rdmsr\n2:\n" EXTABLE("1b", "2b")
			     : "+a"(lo), "+d"(hi) : "c"(0x12345678u) : "memory");
	}
	exception_check("mov to CR4 with PKE", EXC_GP, 0, NULL);
	if (!set) {
		guest_printf("pkru: CR4.PKE raises #GP: PKRU is out of reach\n");
		return;
	}
	guest_printf("pkru: CR4.PKE accepted; VM %ld writes PKRU 0x%x\n", id, mine);
	wrpkru(mine);
	for (unsigned i = 0; i < ROUNDS; i++) {
		vmmcall(HC_YIELD, 0, 0, 0);
		uint32_t got = rdpkru();
		if (got != mine)
			guest_fail("round %u: PKRU 0x%x, expected this VM's 0x%x", i, got, mine);
	}
	guest_printf("pkru: PKRU kept across %u switches\n", ROUNDS);
	write_cr4(cr4);
}
