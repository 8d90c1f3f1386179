/*
 * idle: a guest that does nothing but wait for its timer.  The local APIC
 * timer runs periodic at hz=F (default 100; its clock measured against
 * the TSC), and the guest sits in `sti; hlt` until ticks=N (default 100)
 * interrupts have come, N/F seconds, then exits 0.  The harness checks through
 * kasane's accounting that the vCPU used almost no CPU while halted.
 * The first interrupt is awaited by polling, with a 20 s limit, so that a
 * timer that never fires fails the test instead of halting forever (only
 * a failure waits that long: a busy host may hold the vCPU up a while).
 * Prints the wall time the ticks took and how many HLTs ended.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "idle";

#define VEC_TIMER       0x40
#define HZ              100     /* default of hz=N */
#define TICKS           100     /* default of ticks=N */

static volatile unsigned ticks;

static void timer_irq(unsigned vector)
{
	(void)vector;
	ticks++;
	lapic_eoi();
}

void test_main(void)
{
	unsigned halts = 0;
	uint64_t want = cmdline_u64("ticks", TICKS), hz = cmdline_u64("hz", HZ);

	irq_init();
	if (!time_init() || !lapic_enable())
		return;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);
	irq_set_handler(VEC_TIMER, timer_irq);
	uint64_t rate = lapic_timer_rate(APIC_DCR_DIV16);
	if (!hz || hz > 10000) {
		guest_error("hz=%lu: expected 1-10000", hz);
		return;
	}
	if (rate < hz) {
		guest_fail("local APIC timer clock %lu Hz at divide 16: too slow or stopped", rate);
		return;
	}
	guest_printf("idle: timer clock %lu Hz at divide 16, period %lu ticks; halting\n", rate,
		     rate / hz);
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV16);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | VEC_TIMER);
	uint64_t t0 = rdtsc();
	lapic_write(APIC_TIMER_ICR, (uint32_t)(rate / hz));
	irq_enable();
	if (!wait_until(ticks, 20000000)) {
		guest_fail("no timer interrupt within 20 s at %lu Hz", hz);
		return;
	}
	irq_disable();
	while (ticks < want) {
		irq_wait();
		halts++;
	}
	uint64_t us = tsc_to_us(rdtsc() - t0);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_TIMER);
	lapic_write(APIC_TIMER_ICR, 0);

	guest_printf("idle: %u timer interrupts in %lu us, %u halts\n", ticks, us, halts);
	if (us < want * (1000000 / hz) / 2)
		guest_fail("%lu interrupts at %lu Hz took only %lu us", want, hz, us);
}
