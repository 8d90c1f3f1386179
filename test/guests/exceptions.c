/*
 * exceptions: the guest's own exception delivery under kasane, each
 * exception declared up front and resumed through the extable fixup:
 *  #DE  DIV by zero                              (no error code)
 *  #UD  UD2                                      (no error code)
 *  #BP  INT3, a trap: the IP is after it         (no error code)
 *  #GP  load through a non-canonical address     (error code 0)
 *  #GP  WRMSR to an MSR kasane does not know     (error code 0)
 *  #GP  loading DS with a selector past the GDT  (error code = selector)
 *  #PF  read and write of a page unmapped in its own page tables, write
 *       to a read-only page: error code P/W bits, CR2 = the address
 * (AMD APM vol. 2 §8.2 and §8.4.2 for the error codes.)
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "exceptions";

#define PF_P    0x1     /* page present: a protection fault */
#define PF_W    0x2     /* write access */

static uint8_t victim[4096] __attribute__((aligned(4096)));

static void test_simple(void)
{
	struct trap_info ti;
	unsigned long ip;

	expect_exception(EXC_DE);
	asm volatile("xorl %%ecx, %%ecx\n\tmovl $1, %%eax\n\txorl %%edx, %%edx\n"
		     "1: divl %%ecx\n2:\n" EXTABLE("1b", "2b")
		     ::: "rax", "rcx", "rdx", "memory");
	exception_check("divl by zero", EXC_DE, 0, NULL);

	expect_exception(EXC_UD);
	asm volatile("leaq 1f(%%rip), %0\n1: ud2\n2:\n" EXTABLE("1b", "2b")
		     : "=r"(ip) :: "memory");
	if (exception_check("ud2", EXC_UD, 0, &ti))
		guest_check_eq("#UD ip (the ud2 itself)", ti.ip, ip);

	expect_exception(EXC_BP);
	asm volatile("int3\n1:\n\tleaq 1b(%%rip), %0\n" EXTABLE("1b", "1b")
		     : "=r"(ip) :: "memory");
	if (exception_check("int3", EXC_BP, 0, &ti))
		guest_check_eq("#BP ip (after int3)", ti.ip, ip);
}

static void test_gp(void)
{
	unsigned long v = 0;

	expect_exception(EXC_GP);
	asm volatile("1: movq (%1), %0\n2:\n" EXTABLE("1b", "2b")
		     : "+r"(v) : "r"(0x8000000000000000ull) : "memory");
	exception_check("load from non-canonical 0x8000000000000000", EXC_GP, 0, NULL);

	expect_exception(EXC_GP);
	asm volatile("1: wrmsr\n2:\n" EXTABLE("1b", "2b")
		     :: "c"(0x12345678u), "a"(0), "d"(0) : "memory");
	exception_check("wrmsr 0x12345678", EXC_GP, 0, NULL);

	/* SDM vol. 3A §6.13: a selector error code is the selector, RPL cleared. */
	expect_exception(EXC_GP);
	asm volatile("1: movw %w0, %%ds\n2:\n" EXTABLE("1b", "2b")
		     :: "r"(0x1233) : "memory");
	exception_check("mov 0x1233 to DS (beyond the GDT)", EXC_GP, 0x1230, NULL);
	asm volatile("movw %w0, %%ds" :: "r"(0x10));
}

static void pf_access(const char *what, bool write, unsigned long err)
{
	volatile uint8_t *p = victim + 0x123;
	struct trap_info ti;

	expect_exception(EXC_PF);
	if (write)
		asm volatile("1: movb $0x5a, (%0)\n2:\n" EXTABLE("1b", "2b") :: "r"(p) : "memory");
	else
		asm volatile("1: movb (%0), %%al\n2:\n" EXTABLE("1b", "2b") :: "r"(p) : "rax", "memory");
	if (exception_check(what, EXC_PF, (long)err, &ti))
		guest_check_eq("CR2 of the #PF", ti.cr2, (uintptr_t)p);
}

static void test_pf(void)
{
	uintptr_t va = (uintptr_t)victim;

	victim[0x123] = 0x77;
	pt_init();
	if (!pt_set_page(va, 0)) {
		guest_error("cannot unmap 0x%lx in the guest's page tables", va);
		return;
	}
	pf_access("read of an unmapped page", false, 0);
	pf_access("write to an unmapped page", true, PF_W);
	pt_set_page(va, PTE_P);
	pf_access("write to a read-only page", true, PF_P | PF_W);
	guest_check_eq("byte in the read-only page", victim[0x123], 0x77);
	pt_set_page(va, PTE_P | PTE_W);
	victim[0x123] = 0x78;
	guest_check_eq("byte in the remapped page", victim[0x123], 0x78);
}

void test_main(void)
{
	test_simple();
	test_gp();
	test_pf();
}
