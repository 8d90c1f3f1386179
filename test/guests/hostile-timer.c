/*
 * hostile-timer: a guest that tries to keep its CPU busy while it sleeps,
 * with a timer that fires as fast as the guest can ask.  The manifest pins
 * a well-behaved neighbour to the same CPU, which must finish long before
 * this guest does.  storm= picks the timer:
 *  - lapic: local APIC timer periodic, divide by 1, initial count 1;
 *  - pit: PIT channel 0 in mode 2 (rate generator) with count 1;
 *  - rtc: the RTC's periodic interrupt at its fastest rate (register A
 *    rate 3, 8192 Hz).
 * masked=1 masks the source: the LVT entry (lapic), or both of IRQ 0's
 * pins, the 8259A's and the I/O APIC's (pit), or IRQ 8's I/O APIC pin with
 * the 8259As masked (rtc).  Unmasked, the handler acknowledges each
 * interrupt and counts it.
 * The guest then sits in `sti; hlt` for secs=N seconds (default 10) of
 * its own clock, woken by a slow clock of another source (the RTC at
 * 2 Hz, or for storm=rtc the local APIC timer at 10 Hz), and ends SUCCESS.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "hostile-timer";

#define VEC_STORM       0x40
#define VEC_CLOCK       0x48
#define REG_A           0x0a
#define REG_B           0x0b
#define REG_C           0x0c
#define A_DIV_32K       0x20            /* divider 010: the 32.768 kHz time base */
#define A_RATE_8192HZ   0x03
#define A_RATE_2HZ      0x0f
#define B_PIE           0x40
#define PIT_CH0         0x40
#define PIT_CTRL        0x43

enum storm { STORM_LAPIC, STORM_PIT, STORM_RTC };

static volatile uint64_t storm_irqs, clock_irqs;

static void rtc_periodic(uint8_t rate)
{
	cmos_write(REG_A, A_DIV_32K | rate);
	cmos_write(REG_B, cmos_read(REG_B) | B_PIE);
	(void)cmos_read(REG_C);
}

static void storm_irq(unsigned vector)
{
	(void)vector;
	storm_irqs++;
	lapic_eoi();
}

static void rtc_storm_irq(unsigned vector)
{
	(void)vector;
	(void)cmos_read(REG_C);         /* acknowledges: IRQ 8 may rise again */
	storm_irqs++;
	lapic_eoi();
}

static void rtc_clock_irq(unsigned vector)
{
	(void)vector;
	(void)cmos_read(REG_C);
	clock_irqs++;
	lapic_eoi();
}

static void lapic_clock_irq(unsigned vector)
{
	(void)vector;
	clock_irqs++;
	lapic_eoi();
}

static bool parse_storm(enum storm *s)
{
	char buf[16];

	if (!mb2_valid(boot_info) || !cmdline_get(mb2_cmdline(boot_info), "storm", buf, sizeof(buf)))
		buf[0] = 0;
	if (!strcmp(buf, "lapic"))
		*s = STORM_LAPIC;
	else if (!strcmp(buf, "pit"))
		*s = STORM_PIT;
	else if (!strcmp(buf, "rtc"))
		*s = STORM_RTC;
	else {
		guest_error("storm='%s': expected lapic, pit or rtc", buf);
		return false;
	}
	return true;
}

void test_main(void)
{
	struct madt_info m;
	enum storm storm;
	bool masked = cmdline_u64("masked", 0) != 0;
	uint64_t secs = cmdline_u64("secs", 10);

	if (!parse_storm(&storm))
		return;
	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (!m.nr_ioapics) {
		guest_fail("MADT lists no IOAPIC");
		return;
	}
	ioapic_init(m.ioapic_addr);
	ioapic_mask_all();
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* every IRQ masked */
	irq_set_handler(VEC_STORM, storm == STORM_RTC ? rtc_storm_irq : storm_irq);
	uint32_t dest = lapic_id();

	/* The slow clock that ends the sleep. */
	if (storm == STORM_RTC) {
		uint64_t rate = lapic_timer_rate(APIC_DCR_DIV16);
		irq_set_handler(VEC_CLOCK, lapic_clock_irq);
		lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV16);
		lapic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | VEC_CLOCK);
		lapic_write(APIC_TIMER_ICR, (uint32_t)(rate / 10));
	} else {
		irq_set_handler(VEC_CLOCK, rtc_clock_irq);
		ioapic_set_rte(m.isa_gsi[8], RTE_DEST(dest) | VEC_CLOCK);
		rtc_periodic(A_RATE_2HZ);
	}

	/* The storm. */
	switch (storm) {
	case STORM_LAPIC:
		lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV1);
		lapic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | (masked ? APIC_LVT_MASKED : 0) |
			    VEC_STORM);
		lapic_write(APIC_TIMER_ICR, 1);
		break;
	case STORM_PIT:
		outb(PIT_CTRL, 0x34);           /* channel 0, LSB then MSB, mode 2, binary */
		outb(PIT_CH0, 1);
		outb(PIT_CH0, 0);
		ioapic_set_rte(m.isa_gsi[0], (masked ? RTE_MASKED : 0) | RTE_DEST(dest) | VEC_STORM);
		break;
	case STORM_RTC:
		ioapic_set_rte(m.isa_gsi[8], (masked ? RTE_MASKED : 0) | RTE_DEST(dest) | VEC_STORM);
		rtc_periodic(A_RATE_8192HZ);
		break;
	}
	guest_printf("hostile-timer: storm %s%s, sleeping %lu s\n",
		     storm == STORM_LAPIC ? "lapic" : storm == STORM_PIT ? "pit" : "rtc",
		     masked ? " (masked)" : "", secs);

	uint64_t end = rdtsc() + us_to_tsc(secs * 1000000);
	unsigned halts = 0;
	irq_disable();
	while (rdtsc() < end) {
		irq_wait();
		halts++;
	}
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	lapic_write(APIC_TIMER_ICR, 0);
	ioapic_mask_all();
	cmos_write(REG_B, cmos_read(REG_B) & ~B_PIE);
	outb(PIT_CTRL, 0x30);                   /* channel 0, mode 0, no count: stopped */
	guest_printf("hostile-timer: %lu storm interrupts, %lu clock interrupts, %u halts\n",
		     storm_irqs, clock_irqs, halts);
	if (masked && storm_irqs)
		guest_fail("%lu interrupts from a masked source", storm_irqs);
	if (!masked && !storm_irqs)
		guest_fail("no interrupt from the unmasked storm");
}
