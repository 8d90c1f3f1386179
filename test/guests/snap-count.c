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
 *
 * timer=hpet: the BSP counts the HPET's timer 0 instead, periodic in legacy
 * replacement mode (IA-PC HPET 1.0a §2.3.3), so on ISA IRQ 0 at I/O APIC
 * pin 2.  Behind it the PIT holds its own IRQ 0 output high from tick 2
 * (mode 0 at terminal count).  At tick 15 the guest turns legacy mode
 * off: the line goes back to the PIT, whose high level is a rising edge
 * on pin 2 that must interrupt once; then the PIT is reprogrammed (OUT
 * low) and legacy mode turned on again.  A snapshot before tick 15,
 * restored after it, must bring back the ISA line's PIT level with the
 * rest: else the edge at the second tick 15 does not come.  At every tick
 * the HPET's main counter must keep its distance to the TSC's time, which
 * a restore that left the HPET as it was would break.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "snap-count";

#define VEC_TIMER       0x40
#define WAIT_US         20000000        /* only a failure waits this long */

static volatile uint64_t count[MAX_CPUS];
static uint32_t timer_icr;
static unsigned ncpu = 1;

#define HPET_BASE       0xfed00000ul    /* the ACPI HPET table's */
#define HPET_CAP        0x000
#define HPET_CONFIG     0x010
#define HPET_COUNTER    0x0f0
#define HPET_T0_CONFIG  0x100
#define HPET_T0_CMP     0x108
#define HPET_ENABLE     1ull
#define HPET_LEGACY     2ull
#define HPET_TN_INT_ENB (1ull << 2)
#define HPET_TN_PERIODIC (1ull << 3)
#define HPET_TN_VAL_SET (1ull << 6)
#define PIT_CH0         0x40
#define PIT_CTRL        0x43
#define EDGE_TICK       15

static bool use_hpet;
static unsigned irq0_pin;
static uint64_t hpet_fs;        /* the main counter's period */
static int64_t hpet_skew;       /* its time less the TSC's, us, at tick 1 */

static volatile uint64_t *hpet(unsigned off)
{
	return (volatile uint64_t *)(HPET_BASE + off);
}

/* HPET timer 0 periodic at hz, edge, on IRQ 0 through legacy replacement. */
static bool hpet_start(const struct madt_info *m, uint64_t hz)
{
	uint64_t fs = hpet_fs = *hpet(HPET_CAP) >> 32;

	if (!fs || !m->nr_ioapics) {
		guest_fail("no HPET (period %lu fs) or no I/O APIC", fs);
		return false;
	}
	ioapic_init(m->ioapic_addr);
	ioapic_mask_all();
	irq0_pin = m->isa_gsi[0] - m->ioapic_gsi_base;
	ioapic_set_rte(irq0_pin, RTE_DEST(lapic_id()) | VEC_TIMER);     /* edge, high */
	*hpet(HPET_CONFIG) = 0;
	*hpet(HPET_COUNTER) = 0;
	*hpet(HPET_T0_CONFIG) = HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET;
	*hpet(HPET_T0_CMP) = 1000000000000000ull / fs / hz;   /* comparator and period */
	*hpet(HPET_CONFIG) = HPET_ENABLE | HPET_LEGACY;
	return true;
}

/*
 * The HPET's main counter and the TSC both count the VM's time, so their
 * difference stays put, across a restore too (both go back to the
 * snapshot's instant).  False if it moved by more than 50 ms.
 */
static bool hpet_in_step(uint64_t n, uint64_t tsc)
{
	uint32_t r[4];

	cpuid(0x40000010, 0, r);                /* the TSC's kHz, exact: no calibration error */
	uint64_t tsc_us = r[0] ? tsc * 1000 / r[0] : 0;
	int64_t skew = (int64_t)(*hpet(HPET_COUNTER) * hpet_fs / 1000000000) - (int64_t)tsc_us;

	if (n == 1)
		hpet_skew = skew;
	int64_t d = skew - hpet_skew;
	if (d > 50000 || d < -50000) {
		guest_fail("tick %lu: the HPET counter is %ld us off the TSC's time, %ld us at tick 1",
			   n, skew, hpet_skew);
		return false;
	}
	return true;
}

/* The PIT's channel 0 in mode 0 with a tiny count: its OUT rises and stays high. */
static void pit_hold_high(void)
{
	outb(PIT_CTRL, 0x30);
	outb(PIT_CH0, 2);
	outb(PIT_CH0, 0);
}

/* Tick EDGE_TICK: legacy mode off hands IRQ 0 to the PIT's high output. */
static bool pit_edge_check(void)
{
	uint64_t before = count[0];

	*hpet(HPET_CONFIG) = HPET_ENABLE;
	irq_enable();
	bool edge = wait_until(count[0] > before, 500000);
	irq_disable();
	outb(PIT_CTRL, 0x30);                   /* mode 0, no count: OUT low */
	*hpet(HPET_CONFIG) = HPET_ENABLE | HPET_LEGACY;
	if (!edge) {
		guest_fail("tick %d: no IRQ 0 edge when legacy mode handed the line to the PIT",
			   EDGE_TICK);
		return false;
	}
	guest_printf("snap-count: IRQ 0 edge from the PIT at tick %d\n", EDGE_TICK);
	return true;
}

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
	char buf[8];
	use_hpet = mb2_valid(boot_info) && cmdline_get(mb2_cmdline(boot_info), "timer", buf,
						       sizeof(buf)) && strcmp(buf, "hpet") == 0;
	if (use_hpet && ticks <= EDGE_TICK) {
		guest_error("timer=hpet needs ticks > %d", EDGE_TICK);
		return;
	}
	uint64_t t0 = rdtsc();
	if (!use_hpet)
		timer_start();
	else if (!hpet_start(&m, hz))
		return;
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
		if (use_hpet && !hpet_in_step(n, rdtsc()))
			return;
		if (use_hpet && n == 2)
			pit_hold_high();
		if (use_hpet && n == EDGE_TICK && !pit_edge_check())
			return;
		if (n == ticks - 10)
			for (unsigned c = 1; c < ncpu; c++)
				ap_before[c] = count[c];
	}
	for (unsigned c = 1; c < ncpu; c++)
		if (count[c] <= ap_before[c])
			guest_fail("CPU %u's timer stood still in the last ten ticks (%lu interrupts)",
				   c, count[c]);
}
