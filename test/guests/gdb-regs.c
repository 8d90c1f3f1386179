/*
 * gdb-regs: the guest whose registers Debian's gdb writes through kasane's
 * stub (gdb/regs and gdb/regs-vmx in test/run-tests.sh), and which then
 * reads them itself.
 *
 * It enables SSE, loads ES with the null selector, FS base 0, XMM5 0, and
 * stops (gdb's breakpoint) at gdb_regs_here, where gdb sets RFLAGS.AC,
 * ES = 0x10 (crt64.S's data segment), FS base, CR0.AM, XMM5 and MXCSR,
 * and tries writes the CPU would refuse (a selector past the GDT's limit,
 * CR0.PG without PE, a reserved MXCSR bit), which must leave the registers
 * as they were.  The instructions right after the breakpoint read the
 * registers, and the guest prints what it sees:
 *     gdb-regs: AC 1 ES 10 FSBASE 123456789a0 AM 1 XMM5 1122334455667788:99aabbccddeeff00 MXCSR 3f80
 * Without a debugger it prints its own unchanged values (AC 0, ES 0...).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "gdb-regs";

#define MSR_FS_BASE     0xc0000100u
#define RFLAGS_AC       (1ul << 18)
#define CR0_EM          (1ul << 2)
#define CR0_MP          (1ul << 1)
#define CR0_AM          (1ul << 18)

static uint64_t xmm5[2] __attribute__((aligned(16)));

void test_main(void)
{
	uint64_t flags, zero[2] __attribute__((aligned(16))) = { 0, 0 };
	uint32_t mxcsr = 0x1f80;
	uint16_t es;

	/* SSE on: CR0.EM off, MP on; CR4.OSFXSR, OSXMMEXCPT (SDM vol. 3A §13.1.3). */
	write_cr0((read_cr0() & ~CR0_EM) | CR0_MP);
	write_cr4(read_cr4() | (1ul << 9) | (1ul << 10));
	wrmsr(MSR_FS_BASE, 0);
	asm volatile("ldmxcsr %0\n\tmovdqa %1, %%xmm5" :: "m"(mxcsr), "m"(zero));
	asm volatile("xorl %%eax, %%eax\n\tmovw %%ax, %%es\n"
		     ".globl gdb_regs_here\ngdb_regs_here:\n\tnop\n"
		     "\tpushfq\n\tpopq %0\n"
		     "\tmovw %%es, %1\n"
		     "\tmovdqa %%xmm5, %2\n"
		     "\tstmxcsr %3\n"
		     : "=r"(flags), "=r"(es), "=m"(xmm5), "=m"(mxcsr) :: "rax", "memory");
	uint64_t fsbase = rdmsr(MSR_FS_BASE), cr0 = read_cr0();
	guest_printf("gdb-regs: AC %lu ES %x FSBASE %lx AM %lu XMM5 %016lx:%016lx MXCSR %x\n",
		     (unsigned long)!!(flags & RFLAGS_AC), es, (unsigned long)fsbase,
		     (unsigned long)!!(cr0 & CR0_AM), (unsigned long)xmm5[0],
		     (unsigned long)xmm5[1], mxcsr);
	/* Leave as found: ES, FS base, AC, AM and MXCSR back to the start's. */
	asm volatile("movw %w0, %%es" :: "r"(0x10));
	wrmsr(MSR_FS_BASE, 0);
	write_cr0(read_cr0() & ~CR0_AM);
	mxcsr = 0x1f80;
	asm volatile("ldmxcsr %0\n\tpushfq\n\tandq %1, (%%rsp)\n\tpopfq"
		     :: "m"(mxcsr), "r"(~RFLAGS_AC) : "memory", "cc");
}
