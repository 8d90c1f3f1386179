/*
 * rtc: the CMOS RTC (Motorola MC146818A data sheet; registers A-D at
 * indexes 0x0A-0x0D through ports 0x70/0x71).
 *  - periodic interrupt: register A rate 6 (1024 Hz), register B PIE,
 *    ISA IRQ 8 through the IOAPIC (the GSI the MADT gives, 8 on a PC),
 *    the 8259s masked; the handler reads register C, which must show PF
 *    and IRQF, to acknowledge.  20 interrupts, not faster than 1024 Hz
 *    (the wait for them is bounded only to catch a timer that stopped:
 *    a busy host may hold the vCPU up for any time); none once PIE is
 *    cleared.
 *  - the clock: register D VRT set, UIP waited out, seconds to year read
 *    twice (equal or one second apart), each in range and, unless
 *    register B says binary (DM), valid BCD.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "rtc";

#define REG_A           0x0a
#define REG_B           0x0b
#define REG_C           0x0c
#define REG_D           0x0d
#define A_UIP           0x80
#define A_RATE_1024HZ   0x06
#define B_PIE           0x40
#define B_DM_BINARY     0x04
#define B_24H           0x02
#define C_IRQF          0x80
#define C_PF            0x40
#define D_VRT           0x80
#define VEC_RTC         0x38
#define WANT            20
#define PERIOD_US       976             /* 1024 Hz */
#define WAIT_US         20000000        /* only a failure waits this long */
#define QUIET_US        20000

static volatile unsigned ticks, bad_c;
static volatile bool pie_on;            /* interrupts now must show PF and IRQF */
static volatile uint8_t last_c;
static volatile uint64_t last_tsc;

static void rtc_irq(unsigned vector)
{
	(void)vector;
	uint8_t c = cmos_read(REG_C);       /* acknowledges: IRQ 8 goes inactive */

	last_c = c;
	if (pie_on && (c & (C_IRQF | C_PF)) != (C_IRQF | C_PF))
		bad_c++;
	last_tsc = rdtsc();
	ticks++;
	lapic_eoi();
}

static bool bcd_ok(uint8_t v)
{
	return (v & 0x0f) <= 9 && (v >> 4) <= 9;
}

static unsigned field(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10u + (v & 0x0f);
}

struct rtc_time {
	uint8_t sec, min, hour, day, mon, year;
};

static bool read_time(struct rtc_time *t)
{
	if (!wait_until(!(cmos_read(REG_A) & A_UIP), 1000000)) {
		guest_fail("register A UIP stays set for 1 s");
		return false;
	}
	*t = (struct rtc_time){ cmos_read(0x00), cmos_read(0x02), cmos_read(0x04),
				cmos_read(0x07), cmos_read(0x08), cmos_read(0x09) };
	return true;
}

static void check_time(void)
{
	struct rtc_time a, b;
	uint8_t regb = cmos_read(REG_B), regd = cmos_read(REG_D);
	bool binary = regb & B_DM_BINARY;

	if (!(regd & D_VRT))
		guest_fail("register D 0x%02x: VRT (valid RAM and time) clear", regd);
	if (!read_time(&a) || !read_time(&b))
		return;
	guest_printf("rtc: register B 0x%02x (%s, %s), time 20%02x-%02x-%02x %02x:%02x:%02x "
		     "(raw), century byte 0x%02x\n", regb, binary ? "binary" : "BCD",
		     regb & B_24H ? "24h" : "12h", a.year, a.mon, a.day, a.hour, a.min, a.sec,
		     cmos_read(0x32));
	const uint8_t raw[] = { a.sec, a.min, a.day, a.mon, a.year };
	const char *const names[] = { "seconds", "minutes", "day", "month", "year" };
	for (unsigned i = 0; i < ARRAY_SIZE(raw) && !binary; i++)
		if (!bcd_ok(raw[i]))
			guest_fail("%s 0x%02x is not BCD", names[i], raw[i]);
	uint8_t hour = regb & B_24H ? a.hour : a.hour & 0x7f;     /* bit 7: PM in 12h mode */
	if (!binary && !bcd_ok(hour))
		guest_fail("hour 0x%02x is not BCD", a.hour);
	unsigned sec = field(a.sec, binary), min = field(a.min, binary), h = field(hour, binary);
	unsigned day = field(a.day, binary), mon = field(a.mon, binary);
	if (sec > 59 || min > 59 || day < 1 || day > 31 || mon < 1 || mon > 12 ||
	    (regb & B_24H ? h > 23 : h < 1 || h > 12))
		guest_fail("time out of range: %02u:%02u:%02u day %u month %u", h, min, sec, day, mon);
	unsigned s1 = field(b.sec, binary);
	if (s1 != sec && s1 != (sec + 1) % 60)
		guest_fail("seconds went from %u to %u between two reads", sec, s1);
}

void test_main(void)
{
	struct madt_info m;

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	check_time();
	if (!m.nr_ioapics) {
		guest_fail("MADT lists no IOAPIC");
		return;
	}
	ioapic_init(m.ioapic_addr);
	uint32_t gsi = m.isa_gsi[8];
	guest_check_eq("GSI of ISA IRQ 8 (RTC)", gsi, 8);
	if (gsi < m.ioapic_gsi_base || gsi - m.ioapic_gsi_base >= ioapic_pins()) {
		guest_fail("GSI %u of IRQ 8 is not on the IOAPIC", gsi);
		return;
	}
	unsigned pin = gsi - m.ioapic_gsi_base;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);
	ioapic_mask_all();
	irq_set_handler(VEC_RTC, rtc_irq);
	ioapic_set_rte(pin, RTE_DEST(lapic_id()) | VEC_RTC);     /* edge, active high */

	cmos_write(REG_A, (cmos_read(REG_A) & 0xf0) | A_RATE_1024HZ);
	cmos_read(REG_C);                       /* drop anything pending */
	uint64_t t0 = rdtsc();
	pie_on = true;
	cmos_write(REG_B, cmos_read(REG_B) | B_PIE);
	irq_enable();
	wait_until(ticks >= WANT, WAIT_US);
	irq_disable();
	unsigned n = ticks;
	uint64_t span = n ? tsc_to_us(last_tsc - t0) : 0;
	cmos_write(REG_B, cmos_read(REG_B) & ~B_PIE);
	pie_on = false;
	cmos_read(REG_C);
	/*
	 * An edge that reached the local APIC before PIE was cleared is still
	 * delivered once interrupts are on again, on hardware as here: let it
	 * in, then expect silence.
	 */
	irq_enable();
	delay_us(2000);
	irq_disable();
	unsigned drained = ticks - n;
	n = ticks;
	irq_enable();
	delay_us(QUIET_US);
	irq_disable();
	if (drained > 1)
		guest_fail("%u RTC interrupts right after PIE was cleared, expected at most 1 already latched",
			   drained);
	ioapic_set_rte(pin, RTE_MASKED);
	outb(CMOS_INDEX, REG_D);                /* leave NMIs enabled, index on a harmless register */

	guest_printf("rtc: %u periodic interrupts in %lu us (%lu Hz; 1024 Hz programmed), "
		     "last register C 0x%02x\n", n, span,
		     span ? (uint64_t)n * 1000000 / span : 0, last_c);
	guest_printf("rtc: %u interrupt(s) after clearing PIE\n", ticks - n);
	if (n < WANT)
		guest_fail("%u RTC interrupts through IOAPIC pin %u in %d s, expected %d",
			   n, pin, WAIT_US / 1000000, WANT);
	else if (span < (n - 1) * PERIOD_US / 2)
		guest_fail("%u RTC interrupts in %lu us: faster than 1024 Hz", n, span);
	if (bad_c)
		guest_fail("register C lacked IRQF|PF in %u of %u interrupts", bad_c, n);
	if (ticks != n)
		guest_fail("%u RTC interrupts after PIE was cleared", ticks - n);
}
