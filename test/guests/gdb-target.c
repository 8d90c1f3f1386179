/*
 * gdb-target: the guest that Debian's gdb debugs through kasane's stub on
 * COM2 (the gdb tests of test/run-tests.sh), and the guest's own INT3, single step
 * and debug registers, which must work with or without a debugger.
 *
 * With 2 vCPUs: the AP counts in ap_spin() while the BSP
 *   1. checks its own INT3 (#BP after it) and TF (#DB after one
 *      instruction, DR6.BS): a debugger attached meanwhile intercepts
 *      #BP and #DB and must give these back;
 *   2. calls gdb_break_here(1..3) (gdb's breakpoint), then writes
 *      gdb_watched (gdb's watchpoint), then runs gdb_after_sti, the
 *      instruction in an STI's interrupt shadow (gdb breaks there and
 *      single-steps it: on VT-x TF in a shadow needs care, SDM vol. 3C
 *      §26.3.1.5);
 *   3. unless the command line says nodebug, waits for gdb to write 42 to
 *      gdb_poke (gdb writes it before it detaches);
 *   4. checks its own DR0 data and instruction breakpoints (the debugger
 *      has detached and given the debug registers back).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "gdb-target";

volatile uint64_t gdb_counter = 7;      /* gdb reads it at the breakpoint */
volatile uint64_t gdb_watched;          /* gdb watches it */
volatile uint64_t gdb_poke;             /* gdb writes 42 here */
static volatile uint64_t ap_ticks;
static volatile unsigned ap_stop, ap_done;
static volatile uint32_t dr_target;

#define RFLAGS_TF       0x100ul
#define DR6_BS          (1ul << 14)
#define DR6_B0          1ul

__attribute__((noinline)) uint64_t gdb_break_here(uint64_t x)
{
	gdb_counter += x;
	return gdb_counter * 3;
}

/* STI with IF=0 blocks interrupts for one instruction: gdb_after_sti. */
__attribute__((noinline)) static void sti_shadow(void)
{
	asm volatile("pushfq\n\tcli\n\tsti\n"
		     ".globl gdb_after_sti\ngdb_after_sti:\n\tnop\n\tnop\n\tpopfq" ::: "memory", "cc");
}

static void ap_spin(unsigned cpu __attribute__((unused)))
{
	while (!ap_stop)
		ap_ticks++;
	ap_done = 1;
	for (;;)
		asm volatile("cli; hlt");
}

static uint64_t read_dr6(void)
{
	uint64_t v;
	asm volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static void write_dr(unsigned n, uint64_t v)
{
	switch (n) {
	case 0: asm volatile("mov %0, %%dr0" :: "r"(v)); break;
	case 6: asm volatile("mov %0, %%dr6" :: "r"(v)); break;
	default: asm volatile("mov %0, %%dr7" :: "r"(v)); break;
	}
}

/* INT3 traps with the IP after it; TF traps after one instruction (the
 * POPF that clears it still runs with TF set: SDM vol. 3B §18.3.1.4). */
static void check_int3_tf(const char *when)
{
	struct trap_info ti;
	unsigned long ip;

	expect_exception(EXC_BP);
	asm volatile("int3\n1:\n\tleaq 1b(%%rip), %0\n" EXTABLE("1b", "1b") : "=r"(ip) :: "memory");
	if (exception_check("own int3", EXC_BP, 0, &ti))
		guest_check_eq("own #BP ip (after the int3)", ti.ip, ip);

	write_dr(6, 0xffff0ff0ul);
	expect_exception(EXC_DB);
	asm volatile("pushfq\n\tpushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n"
		     "\tpopfq\n1:\n\tleaq 1b(%%rip), %0\n" EXTABLE("1b", "1b")
		     : "=r"(ip) :: "memory", "cc");
	if (exception_check("own single step", EXC_DB, -1, &ti))
		guest_check_eq("own single-step #DB ip", ti.ip, ip);
	guest_check_eq("DR6.BS after the own single step", read_dr6() & DR6_BS, DR6_BS);
	guest_printf("gdb-target: own int3 and single step work (%s)\n", when);
}

/* DR0 as a 4-byte write watchpoint (a trap) and as an instruction
 * breakpoint (a fault, IP on the instruction): SDM vol. 3B §18.2.4. */
static void check_dr(void)
{
	struct trap_info ti;
	unsigned long ip;

	write_dr(6, 0xffff0ff0ul);
	write_dr(0, (uintptr_t)&dr_target);
	write_dr(7, 1ul | (1ul << 16) | (3ul << 18));   /* L0, R/W0 = write, LEN0 = 4 */
	/* CPUID exits to the hypervisor: DR7 must come back from it. */
	uint32_t a = 0, b, c = 0, d;
	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	expect_exception(EXC_DB);
	asm volatile("movl $5, %1\n1:\n\tleaq 1b(%%rip), %0\n" EXTABLE("1b", "1b")
		     : "=r"(ip), "=m"(dr_target) :: "memory");
	if (exception_check("own data watchpoint", EXC_DB, -1, &ti))
		guest_check_eq("own watchpoint #DB ip (after the write)", ti.ip, ip);
	guest_check_eq("DR6.B0 after the own watchpoint", read_dr6() & DR6_B0, DR6_B0);

	write_dr(6, 0xffff0ff0ul);
	asm volatile("leaq 1f(%%rip), %0" : "=r"(ip));
	write_dr(0, ip);
	write_dr(7, 1ul);                               /* L0, execute, LEN0 = 1 */
	expect_exception(EXC_DB);
	asm volatile("1: nop\n2:\n" EXTABLE("1b", "2b") ::: "memory");
	if (exception_check("own instruction breakpoint", EXC_DB, -1, &ti))
		guest_check_eq("own instruction breakpoint #DB ip (on it)", ti.ip, ip);
	write_dr(7, 0);
	guest_check_eq("DR6.B0 after the own instruction breakpoint", read_dr6() & DR6_B0, DR6_B0);
	guest_printf("gdb-target: own debug registers work\n");
}

void test_main(void)
{
	struct madt_info m;
	char flag[8];
	bool debugged = !cmdline_get(mb2_cmdline(boot_info), "nodebug", flag, sizeof(flag));

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (smp_start_aps(&m, ap_spin) != m.nr_cpus)
		return;
	if (!wait_until(ap_ticks > 0, 20000000)) {
		guest_fail("the AP does not count");
		return;
	}
	check_int3_tf(debugged ? "a debugger attached" : "no debugger");
	uint64_t r = 0;
	for (uint64_t i = 1; i <= 3; i++)
		r += gdb_break_here(i);
	guest_check_eq("gdb_counter after the calls", gdb_counter, 13);
	gdb_watched = 0x1234;
	guest_printf("gdb-target: calls done (%lu), watched written\n", (unsigned long)r);
	sti_shadow();
	if (debugged && !wait_until(gdb_poke == 42, 120000000)) {
		guest_fail("gdb did not write 42 to gdb_poke (it is %lu)", (unsigned long)gdb_poke);
		return;
	}
	check_dr();
	ap_stop = 1;
	if (!wait_until(ap_done, 20000000))
		guest_fail("the AP did not stop");
}
