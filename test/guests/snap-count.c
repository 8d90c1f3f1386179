/*
 * snap-count: a guest for the console's snapshot and restore.  Every CPU
 * (the MADT's; the APs are started with INIT/STARTUP) runs its local APIC
 * timer, periodic at hz=N (default 100), and counts its interrupts; each
 * waits in `sti; hlt` between them.  Every period=N (default 5) of the
 * BSP's interrupts it prints
 *     snap-count: tick N t=MS aps=A,B,...
 * with MS the guest's TSC time since boot, A, B... the APs' counts, for
 * N = 1..ticks=N (default 40).  N is also kept in XMM0 and XMM15 (SSE on),
 * which must agree with the count in memory at every tick: a restore that
 * brought RAM back but not the FPU state (or the reverse) fails here.  At
 * the end every AP's timer must have fired in the last ten ticks.
 *
 * After a snapshot at tick S and a restore, the count goes on from S+1,
 * and its t from the snapshot's (no jump in the guest's time).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "snap-count";

#define VEC_TIMER       0x40
#define WAIT_US         20000000        /* only a failure waits this long */

static volatile uint64_t count[MAX_CPUS];
static uint32_t timer_icr;
static unsigned ncpu = 1;

static void timer_irq(unsigned vector)
{
	(void)vector;
	__atomic_fetch_add(&count[smp_this_cpu()], 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

static void timer_start(void)
{
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV16);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | VEC_TIMER);
	lapic_write(APIC_TIMER_ICR, timer_icr);
}

static void ap_main(unsigned cpu)
{
	(void)cpu;
	lapic_enable();
	timer_start();
	for (;;)
		irq_wait();
}

static void sse_on(void)
{
	uint64_t cr0, cr4;

	/* CR0.EM off, CR0.MP on; CR4.OSFXSR and OSXMMEXCPT on (SDM vol. 3A §13.1.3). */
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"((cr0 & ~4ull) | 2ull));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ull << 9) | (1ull << 10)));
}

static void xmm_set(uint64_t n)
{
	__asm__ volatile("movq %0, %%xmm0\n\tmovq %0, %%xmm15" : : "r"(n));
}

static void xmm_get(uint64_t *a, uint64_t *b)
{
	__asm__ volatile("movq %%xmm0, %0\n\tmovq %%xmm15, %1" : "=r"(*a), "=r"(*b));
}

void test_main(void)
{
	uint64_t ticks = cmdline_u64("ticks", 40), hz = cmdline_u64("hz", 100);
	uint64_t period = cmdline_u64("period", 5);
	uint64_t ap_before[MAX_CPUS] = { 0 };
	struct madt_info m;

	guest_printf("snap-count: boot\n");
	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (!hz || hz > 1000 || !period || ticks < 11) {
		guest_error("hz=%lu period=%lu ticks=%lu: expected 1-1000, >= 1, >= 11", hz, period,
			    ticks);
		return;
	}
	sse_on();
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);
	irq_set_handler(VEC_TIMER, timer_irq);
	timer_icr = (uint32_t)(lapic_timer_rate(APIC_DCR_DIV16) / hz);
	if (m.nr_cpus > 1)
		ncpu = smp_start_aps(&m, ap_main);
	uint64_t t0 = rdtsc();
	timer_start();
	xmm_set(0);
	for (uint64_t n = 1; n <= ticks; n++) {
		uint64_t start = rdtsc();
		while (count[0] < n * period) {
			irq_wait();
			if (tsc_to_us(rdtsc() - start) > WAIT_US) {
				guest_fail("tick %lu: no timer interrupt for %u s", n, WAIT_US / 1000000);
				return;
			}
		}
		uint64_t x0, x15;
		xmm_get(&x0, &x15);
		if (x0 != n - 1 || x15 != n - 1) {
			guest_fail("tick %lu: XMM0 holds %lu, XMM15 %lu, expected %lu", n, x0, x15, n - 1);
			return;
		}
		xmm_set(n);
		char aps[16 * MAX_CPUS] = "-";
		size_t k = 0;
		for (unsigned c = 1; c < ncpu; c++)
			k += guest_snprintf(aps + k, sizeof(aps) - k, "%s%lu", c > 1 ? "," : "",
					    count[c]);
		guest_printf("snap-count: tick %lu t=%lu aps=%s\n", n, tsc_to_us(rdtsc() - t0) / 1000,
			     aps);
		if (n == ticks - 10)
			for (unsigned c = 1; c < ncpu; c++)
				ap_before[c] = count[c];
	}
	for (unsigned c = 1; c < ncpu; c++)
		if (count[c] <= ap_before[c])
			guest_fail("CPU %u's timer stood still in the last ten ticks (%lu interrupts)",
				   c, count[c]);
}
