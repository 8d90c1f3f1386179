/*
 * pit-lost: PIT channel 0 in mode 2 at 100 Hz while this vCPU shares its
 * CPU with busy neighbours, so it is not running for whole scheduler
 * slices.  A guest that keeps time in timer interrupts (Linux's jiffies
 * before it has a clocksource; its check_timer() counting ticks over a
 * fixed wait) must get one interrupt per PIT period all the same: the
 * periods that end while it does not run are delivered late, one per
 * acknowledge, not merged into one.
 *
 * route=pic takes IRQ 0 through the 8259 (virtual wire, LINT0 ExtINT),
 * route=ioapic through I/O APIC pin 2 (the MADT's override); timer=hpet
 * makes the HPET's timer 0 the source instead of the PIT (below).  After ms=N
 * milliseconds of spinning with interrupts on, the guest waits, bounded,
 * until its interrupts are within a small slack of the periods the PIT
 * has ended since it was loaded (by the TSC at the frequency leaf
 * 0x40000010 gives: it runs on the same VM time as the PIT), and checks
 * it never had more interrupts than that.  With lost ticks merged the
 * count falls behind by a tick or more per slice spent waiting, and never
 * catches up.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "pit-lost";

#define VEC_PIT         0x30
#define PIT_CH0         0x40
#define PIT_CTRL        0x43
#define PIT_DIVISOR     11932           /* 1193182 / 11932 = 100.0 Hz */
#define CATCH_UP_US     3000000         /* only a failure waits this long */

static volatile uint64_t ticks;
static bool via_pic, via_hpet;

static void pit_irq(unsigned vector)
{
	(void)vector;
	ticks++;
	if (via_pic)
		pic_eoi(0);
	else
		lapic_eoi();
}

static uint64_t khz;    /* the TSC's, as the hypervisor leaf 0x40000010 gives it */

/* How far the count may be off the PIT's periods: the edges of the window,
 * a slice or two off the CPU, and 1 % for the two clocks' calibrations. */
static uint64_t slack(uint64_t periods)
{
	return periods / 100 + 3;
}

/* Periods ended in `tsc` TSC ticks since the timer was started (the
 * HPET's: exactly 10 ms). */
static uint64_t periods(uint64_t tsc)
{
	uint64_t us = tsc * 1000 / khz;

	return via_hpet ? us / 10000 : us * PIT_HZ / 1000000 / PIT_DIVISOR;
}

#define HPET_BASE       0xfed00000ul    /* the ACPI HPET table's */
#define HPET_CONFIG     0x010
#define HPET_COUNTER    0x0f0
#define HPET_T0_CONFIG  0x100
#define HPET_T0_CMP     0x108

static volatile uint64_t *hpet(unsigned off)
{
	return (volatile uint64_t *)(HPET_BASE + off);
}

/*
 * timer=hpet: the HPET's timer 0 at 100 Hz, periodic and edge-triggered
 * in legacy replacement mode, so on ISA IRQ 0 (IA-PC HPET 1.0a §2.3.3),
 * as Linux runs it through check_timer().  Its counter period is read
 * from the capabilities register (bits 63:32, in fs).
 */
static void timer_start(void)
{
	if (!via_hpet) {
		outb(PIT_CTRL, 0x34);           /* channel 0, LSB then MSB, mode 2, binary */
		outb(PIT_CH0, PIT_DIVISOR & 0xff);
		outb(PIT_CH0, PIT_DIVISOR >> 8);
		return;
	}
	uint64_t fs = *hpet(0) >> 32;
	*hpet(HPET_CONFIG) = 0;
	*hpet(HPET_COUNTER) = 0;
	*hpet(HPET_T0_CONFIG) = (1u << 2) | (1u << 3) | (1u << 6);     /* INT_ENB, PERIODIC, VAL_SET */
	*hpet(HPET_T0_CMP) = 10000000000000ull / fs;                    /* 10 ms */
	*hpet(HPET_CONFIG) = 3;                                         /* ENABLE, LEGACY */
}

static bool route_irq0(void)
{
	struct madt_info m;
	char buf[16];

	if (!madt_read(&m))
		return false;
	via_pic = mb2_valid(boot_info) && cmdline_get(mb2_cmdline(boot_info), "route", buf,
						      sizeof(buf)) && strcmp(buf, "pic") == 0;
	via_hpet = mb2_valid(boot_info) && cmdline_get(mb2_cmdline(boot_info), "timer", buf,
						       sizeof(buf)) && strcmp(buf, "hpet") == 0;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* all 16 IRQs masked */
	if (m.nr_ioapics) {
		ioapic_init(m.ioapic_addr);
		ioapic_mask_all();
	}
	if (via_pic) {
		irq_set_handler(PIC_VEC_MASTER + 0, pit_irq);
		lapic_write(APIC_LVT_LINT0, APIC_DM_EXTINT);
		pic_set_mask((uint16_t)~1u);            /* IRQ 0 only */
	} else {
		if (!m.nr_ioapics) {
			guest_fail("MADT lists no I/O APIC");
			return false;
		}
		unsigned pin = m.isa_gsi[0] - m.ioapic_gsi_base;
		irq_set_handler(VEC_PIT, pit_irq);
		ioapic_set_rte(pin, RTE_DEST(lapic_id()) | VEC_PIT);    /* fixed, edge, high */
	}
	guest_printf("pit-lost: IRQ 0 from the %s through the %s\n", via_hpet ? "HPET" : "PIT",
		     via_pic ? "8259" : "I/O APIC");
	return true;
}

void test_main(void)
{
	irq_init();
	if (!time_init() || !lapic_enable() || !route_irq0())
		return;
	uint64_t run_us = cmdline_u64("ms", 1500) * 1000;
	uint32_t r[4];
	cpuid(0x40000010, 0, r);
	khz = r[0];
	guest_printf("pit-lost: TSC %lu kHz (leaf 0x40000010)\n", khz);
	if (!khz) {
		guest_fail("leaf 0x40000010 gives no TSC frequency");
		return;
	}

	timer_start();
	uint64_t t0 = rdtsc();
	irq_enable();
	while ((rdtsc() - t0) * 1000 / khz < run_us)
		cpu_relax();
	uint64_t at_end = ticks, want = periods(rdtsc() - t0);
	/* Late ticks come one per interrupt taken: the count must get within
	 * the slack of the PIT's periods. */
	bool caught = wait_until(ticks + slack(periods(rdtsc() - t0)) >= periods(rdtsc() - t0),
				 CATCH_UP_US);
	uint64_t got = ticks, made = periods(rdtsc() - t0);
	irq_disable();
	outb(PIT_CTRL, 0x30);                   /* channel 0 stopped until a count is written */
	*hpet(HPET_CONFIG) = 0;

	guest_printf("pit-lost: %lu periods in %lu ms, %lu interrupts; then %lu interrupts "
		     "for %lu periods\n", want, run_us / 1000, at_end, got, made);
	if (!caught)
		guest_fail("%lu timer interrupts for %lu periods: ticks were lost", got, made);
	if (got > made + slack(made))
		guest_fail("%lu timer interrupts, more than the %lu periods the timer made", got, made);
}
