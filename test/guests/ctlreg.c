/*
 * ctlreg: the writes a hypervisor must check or shadow rather than let
 * through, and an interrupt held back by IF=0.  Under VT-x each one is an
 * exit of its own (Intel SDM vol. 3C §26.1.2-26.1.3): MOV to CR0/CR4 of a
 * bit the host owns, XSETBV always, and interrupt-window exiting.
 *  1. MOV to CR0 clearing, then setting CR0.NE: CR0 reads back each value
 *     written (VT-x keeps NE set in the real CR0; the guest sees its own).
 *  2. MOV to CR4 setting bit 13 (VMXE), reserved because CPUID.1:ECX.VMX
 *     is 0: #GP(0), and CR4 is unchanged (SDM vol. 3A §2.5, vol. 2B MOV).
 *  3. XSETBV (SDM vol. 2C): every valid XCR0 from x87 up to what
 *     CPUID.(EAX=0DH,ECX=0) offers reads back with XGETBV; #GP(0) and XCR0
 *     unchanged for ECX=1, bit 0 clear, AVX without SSE, a state CPUID does
 *     not offer, and (with AVX-512) the three AVX-512 bits not together.
 *  4. A self IPI sent with IF=0 arrives right after STI and the instruction
 *     in its shadow (SDM vol. 3A §6.8.3), before 1000 increments of a
 *     counter that cause no exit: the hypervisor must ask for the moment
 *     IF=1 opens, not wait for the guest's next exit.
 *     ctlreg: IF=0, self IPI, STI: taken after 0 of 1000 increments
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/pc.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "ctlreg";

#define CR0_NE          (1ul << 5)
#define CR4_VMXE        (1ul << 13)
#define CR4_OSXSAVE     (1ul << 18)
#define CPUID1_ECX_XSAVE (1u << 26)
#define VEC_WINDOW      0x60
#define INCS            1000

static inline uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static void test_cr0_ne(void)
{
	unsigned long cr0 = read_cr0();

	write_cr0(cr0 & ~CR0_NE);
	bool ok = guest_check_eq("CR0 after clearing NE", read_cr0(), cr0 & ~CR0_NE);
	write_cr0(cr0 | CR0_NE);
	if (guest_check_eq("CR0 after setting NE", read_cr0(), cr0 | CR0_NE) && ok)
		guest_printf("ctlreg: CR0.NE cleared and set: CR0 0x%lx read back\n", cr0 | CR0_NE);
}

static void test_cr4_vmxe(void)
{
	unsigned long cr4 = read_cr4();

	expect_exception(EXC_GP);
	asm volatile("1: mov %0, %%cr4\n2:\n" EXTABLE("1b", "2b")
		     :: "r"(cr4 | CR4_VMXE) : "memory");
	if (exception_check("MOV to CR4 with VMXE", EXC_GP, 0, NULL))
		guest_printf("ctlreg: MOV to CR4 with VMXE: #GP(0)\n");
	guest_check_eq("CR4 after the refused write", read_cr4(), cr4);
}

static bool xsetbv_ok;

/* XSETBV of ECX and EDX:EAX = val, which must succeed or raise #GP(0). */
static void xsetbv(uint32_t ecx, uint64_t val, bool want_gp)
{
	char what[64];
	uint64_t before = xgetbv0();

	guest_snprintf(what, sizeof(what), "XSETBV ECX=%u 0x%lx", ecx, (unsigned long)val);
	if (want_gp)
		expect_exception(EXC_GP);
	asm volatile("1: xsetbv\n2:\n" EXTABLE("1b", "2b")
		     :: "c"(ecx), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
	if (want_gp)
		xsetbv_ok &= exception_check(what, EXC_GP, 0, NULL) &&
			     guest_check_eq("XCR0 after a refused XSETBV", xgetbv0(), before);
	else
		xsetbv_ok &= guest_check_eq(what, xgetbv0(), val);
}

static void test_xsetbv(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_XSAVE)) {
		guest_printf("ctlreg: no XSAVE offered, XSETBV not tried\n");
		return;
	}
	cpuid(0xd, 0, r);
	uint64_t offered = (uint64_t)r[3] << 32 | r[0];
	write_cr4(read_cr4() | CR4_OSXSAVE);
	xsetbv_ok = true;

	xsetbv(0, 1, false);                            /* x87 alone */
	xsetbv(0, 3, false);                            /* x87, SSE */
	if (offered & 4)
		xsetbv(0, 7, false);                    /* AVX */
	if ((offered & 0xe7) == 0xe7) {
		xsetbv(0, 0xe7, false);                 /* AVX-512 */
		xsetbv(0, 0x27, true);                  /* opmask alone */
		xsetbv(0, 0xe3, true);                  /* AVX-512 without AVX */
	}
	xsetbv(1, 3, true);                             /* XCR1 is not writable */
	xsetbv(0, 2, true);                             /* x87 clear */
	xsetbv(0, 5, true);                             /* AVX without SSE */
	for (unsigned bit = 2; bit < 63; bit++) {
		if (!(offered & (1ull << bit))) {       /* the lowest one not offered */
			xsetbv(0, 3 | (1ull << bit), true);
			break;
		}
	}
	xsetbv(0, 3, false);
	if (xsetbv_ok)
		guest_printf("ctlreg: XSETBV: offered XCR0 0x%lx; the valid values read back, "
			     "the invalid ones #GP(0)\n", (unsigned long)(offered & 0xe7));
}

static volatile uint32_t counter;
static volatile int64_t counter_at_irq = -1;

static void window_irq(unsigned vector)
{
	(void)vector;
	counter_at_irq = counter;
	lapic_eoi();
}

static void test_intr_window(void)
{
	if (!lapic_enable()) {
		guest_fail("no local APIC");
		return;
	}
	irq_set_handler(VEC_WINDOW, window_irq);
	irq_disable();
	counter = 0;
	lapic_send_ipi(0, ICR_SELF | ICR_FIXED | VEC_WINDOW);   /* held: IF = 0 */
	asm volatile("sti\n\t"
		     "nop\n\t"                  /* in STI's shadow */
		     "1: incl %0\n\t"
		     "decl %%ecx\n\t"
		     "jnz 1b\n\t"
		     "cli"
		     : "+m"(counter) : "c"(INCS) : "memory", "cc");
	if (counter_at_irq < 0)
		guest_fail("IF=0, self IPI, STI: no interrupt by the CLI after %u increments", INCS);
	else
		guest_printf("ctlreg: IF=0, self IPI, STI: taken after %ld of %u increments\n",
			     (long)counter_at_irq, INCS);
	guest_check_eq("increments before the interrupt", (uint64_t)counter_at_irq, 0);
}

void test_main(void)
{
	irq_init();
	test_cr0_ne();
	test_cr4_vmxe();
	test_xsetbv();
	test_intr_window();
}
