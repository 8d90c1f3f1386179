/*
 * lapic-timer: the local APIC timer (Intel SDM vol. 3A §11.5.4) with the
 * guest's own IDT and interrupts on.  Nothing assumes the timer's input
 * clock: it is measured against the TSC (itself calibrated with the PIT),
 * and every check is relative to what was measured:
 *  - the divide configuration: divide-by-16 counts 12-20 times slower
 *    than divide-by-1;
 *  - one-shot: exactly one interrupt, not before half the programmed
 *    time, current count 0 afterwards;
 *  - periodic: 10 interrupts at a 1 ms period, not faster than that,
 *    none once the timer is stopped;
 *  - masked LVT: no interrupt, no IRR bit;
 *  - TSC-deadline (if CPUID.1:ECX[24]): fires once, with RDTSC in the
 *    handler >= the deadline, IA32_TSC_DEADLINE reads 0 afterwards;
 *    the MSR reads back all 64 bits of a far deadline; writing 0 before
 *    the deadline disarms it; a deadline in the past fires at once.
 * Waits for an interrupt are bounded only to catch one that never comes
 * (WAIT_US): a busy host may hold the vCPU up for any time, so no check
 * asks for a number of interrupts within a time.
 * The handler also checks that its vector is in service (ISR) and sends
 * the EOI; after it the ISR bit must be clear.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "lapic-timer";

#define VEC_TIMER       0x40
#define QUIET_US        20000   /* "no more interrupts" window */
#define WAIT_US         20000000        /* only a failure waits this long */

static volatile unsigned fired, in_service;
static volatile uint64_t fire_tsc;

static void timer_irq(unsigned vector)
{
	fire_tsc = rdtsc();
	if (lapic_in_service(vector))
		in_service++;
	fired++;
	lapic_eoi();
}

static void reset_counts(void)
{
	irq_disable();
	fired = 0;
	in_service = 0;
	fire_tsc = 0;
	irq_enable();
}

static void stop_timer(void)
{
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_TIMER);
	lapic_write(APIC_TIMER_ICR, 0);
}

static void check_isr(const char *mode)
{
	if (in_service != fired)
		guest_fail("%s: vector 0x%x in service in %u of %u handler runs", mode,
			   VEC_TIMER, in_service, fired);
	if (lapic_in_service(VEC_TIMER))
		guest_fail("%s: ISR bit of vector 0x%x still set after the EOI", mode, VEC_TIMER);
}

/* Timer ticks per second at divide 1 and 16; false if they make no sense. */
static bool measure(uint64_t *rate1, uint64_t *rate16)
{
	*rate1 = lapic_timer_rate(APIC_DCR_DIV1);
	*rate16 = lapic_timer_rate(APIC_DCR_DIV16);
	guest_printf("lapic-timer: timer clock %lu Hz at divide 1, %lu Hz at divide 16\n",
		     *rate1, *rate16);
	if (*rate1 < 1000 * 1000 || !*rate16) {
		guest_fail("timer current count barely moves: %lu Hz at divide 1", *rate1);
		return false;
	}
	if (*rate1 < 12 * *rate16 || *rate1 > 20 * *rate16)
		guest_fail("divide-by-16 rate %lu Hz is not 1/16 of the divide-by-1 rate %lu Hz",
			   *rate16, *rate1);
	return true;
}

static void test_oneshot(uint64_t rate1)
{
	uint32_t count = (uint32_t)(rate1 / 1000);      /* 1 ms */

	reset_counts();
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV1);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_ONESHOT | VEC_TIMER);
	uint64_t t0 = rdtsc();
	lapic_write(APIC_TIMER_ICR, count);
	wait_until(fired, WAIT_US);
	delay_us(QUIET_US);
	uint32_t ccr = lapic_read(APIC_TIMER_CCR);
	uint64_t after = fire_tsc ? tsc_to_us(fire_tsc - t0) : 0;
	stop_timer();

	guest_printf("lapic-timer: one-shot: %u interrupt(s), after %lu us (1000 us programmed), "
		     "current count %u\n", fired, after, ccr);
	guest_check_eq("one-shot interrupts", fired, 1);
	guest_check_eq("one-shot current count after expiry", ccr, 0);
	if (fired && after < 500)
		guest_fail("one-shot fired after %lu us, before half of the 1000 us programmed", after);
	check_isr("one-shot");
}

static void test_periodic(uint64_t rate16)
{
	uint32_t count = (uint32_t)(rate16 / 1000);     /* 1 ms at divide 16 */

	reset_counts();
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV16);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | VEC_TIMER);
	uint64_t t0 = rdtsc();
	lapic_write(APIC_TIMER_ICR, count);
	wait_until(fired >= 10, WAIT_US);
	uint32_t ccr = lapic_read(APIC_TIMER_CCR);
	stop_timer();
	unsigned n = fired;
	uint64_t span = fire_tsc ? tsc_to_us(fire_tsc - t0) : 0;
	delay_us(QUIET_US);

	guest_printf("lapic-timer: periodic: %u interrupts in %lu us (1000 us period), "
		     "current count while running %u; %u after stopping\n",
		     n, span, ccr, fired - n);
	if (n < 10)
		guest_fail("periodic timer: %u interrupts in %d s, expected 10", n,
			   WAIT_US / 1000000);
	else if (span < n * 500ull)
		guest_fail("periodic timer: %u interrupts in %lu us, faster than the 1 ms period",
			   n, span);
	if (fired != n)
		guest_fail("periodic timer: %u interrupts after ICR = 0 and mask", fired - n);
	check_isr("periodic");
}

static void test_masked(uint64_t rate1)
{
	reset_counts();
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV1);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_LVT_ONESHOT | VEC_TIMER);
	lapic_write(APIC_TIMER_ICR, (uint32_t)(rate1 / 1000));
	delay_us(QUIET_US);
	uint32_t ccr = lapic_read(APIC_TIMER_CCR);
	bool irr = lapic_read(APIC_IRR + (VEC_TIMER / 32) * 16) >> (VEC_TIMER % 32) & 1;
	stop_timer();

	guest_printf("lapic-timer: masked: %u interrupt(s), IRR bit %u, current count %u\n",
		     fired, irr, ccr);
	guest_check_eq("interrupts from a masked timer", fired, 0);
	guest_check_eq("IRR bit of a masked timer", irr, 0);
}

/*
 * Writing 0 disarms (§11.5.4.1), but only a write that lands before the
 * deadline can: one after it finds the interrupt already sent.  However
 * long the margin, a busy host can hold the vCPU up between the two
 * writes for longer, so: interrupts off, arm, disarm, and make sure by
 * the TSC read after the disarm that it came in time; if not, let the
 * interrupt that rightly fired in, and try again with twice the margin.
 */
static void test_tsc_disarm(void)
{
	unsigned tries = 0;

	for (uint64_t us = 2000; us <= 1024000; us *= 2) {
		tries++;
		irq_disable();
		fired = 0;
		uint64_t deadline = rdtsc() + us_to_tsc(us);
		wrmsr(MSR_TSC_DEADLINE, deadline);
		wrmsr(MSR_TSC_DEADLINE, 0);
		bool in_time = rdtsc() < deadline;
		irq_enable();
		if (!in_time) {
			delay_us(QUIET_US);     /* the interrupt that fired, if any */
			continue;
		}
		/* Wait out the deadline and a quiet window after it. */
		uint64_t until = deadline + us_to_tsc(QUIET_US);
		while (rdtsc() < until)
			cpu_relax();
		guest_printf("lapic-timer: tsc-deadline disarmed by 0 %lu us before the deadline "
			     "(try %u): %u interrupt(s)\n", us, tries, fired);
		guest_check_eq("interrupts after IA32_TSC_DEADLINE = 0 (written before the deadline)",
			       fired, 0);
		return;
	}
	guest_error("tsc-deadline disarm: in %u tries the 0 never landed before the deadline",
		    tries);
}

static void test_tsc_deadline(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_TSC_DEADLINE)) {
		guest_skip("CPUID.1:ECX[24] clear: no TSC-deadline mode to test");
		return;
	}
	/* §11.5.4.1: select the mode first; the MSR is ignored in other modes. */
	lapic_write(APIC_LVT_TIMER, APIC_LVT_TSC_DEADLINE | VEC_TIMER);
	asm volatile("mfence" ::: "memory");

	reset_counts();
	uint64_t t0 = rdtsc(), deadline = t0 + us_to_tsc(2000);
	wrmsr(MSR_TSC_DEADLINE, deadline);
	wait_until(fired, WAIT_US);
	delay_us(QUIET_US);
	uint64_t msr = rdmsr(MSR_TSC_DEADLINE), at = fire_tsc;
	guest_printf("lapic-timer: tsc-deadline: %u interrupt(s), %lu us after arming "
		     "(2000 us programmed), %ld TSC ticks past the deadline; MSR now 0x%lx\n",
		     fired, at ? tsc_to_us(at - t0) : 0, at ? (long)(at - deadline) : 0, msr);
	guest_check_eq("TSC-deadline interrupts", fired, 1);
	if (fired && at < deadline)
		guest_fail("TSC-deadline interrupt at TSC 0x%lx, before the deadline 0x%lx",
			   at, deadline);
	guest_check_eq("IA32_TSC_DEADLINE after it fired", msr, 0);
	check_isr("tsc-deadline");

	/* The MSR holds all 64 bits: a deadline 2^40 ticks (minutes) away. */
	reset_counts();
	deadline = rdtsc() + (1ull << 40);
	wrmsr(MSR_TSC_DEADLINE, deadline);
	msr = rdmsr(MSR_TSC_DEADLINE);
	wrmsr(MSR_TSC_DEADLINE, 0);
	guest_check_eq("IA32_TSC_DEADLINE read back (a deadline 2^40 ticks away)", msr, deadline);
	guest_check_eq("interrupts from a deadline 2^40 ticks away", fired, 0);

	test_tsc_disarm();

	reset_counts();
	deadline = rdtsc() - 1;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	wait_until(fired, WAIT_US);
	guest_printf("lapic-timer: tsc-deadline in the past: %u interrupt(s)\n", fired);
	guest_check_eq("interrupts for a deadline in the past", fired, 1);
	stop_timer();
}

void test_main(void)
{
	uint64_t rate1, rate16;

	irq_init();
	if (!time_init() || !lapic_enable())
		return;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* and mask it all */
	irq_set_handler(VEC_TIMER, timer_irq);
	stop_timer();
	guest_printf("lapic-timer: TSC %lu kHz, APIC id %u, version 0x%x\n", tsc_khz,
		     lapic_id(), lapic_read(APIC_VERSION));
	if (!measure(&rate1, &rate16))
		return;
	irq_enable();
	test_oneshot(rate1);
	test_periodic(rate16);
	test_masked(rate1);
	test_tsc_deadline();
	irq_disable();
	if (irq_spurious_count())
		guest_printf("lapic-timer: %lu spurious interrupt(s)\n", irq_spurious_count());
}
