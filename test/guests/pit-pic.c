/*
 * pit-pic: PIT channel 0 (mode 2, ~1 kHz) through the legacy 8259A pair
 * in "virtual wire" mode: ICW1 0x11, ICW2 0x20/0x28, ICW3 4/2, ICW4 1,
 * only IRQ 0 unmasked, the local APIC's LVT LINT0 = ExtINT, unmasked
 * (MP spec 1.4 §3.6.2.2), every IOAPIC pin masked so that the PIC is the
 * only path.  The handler checks the master's ISR (OCW3) shows IR0 in
 * service and ends it with a non-specific EOI (OCW2), no local APIC EOI:
 * ExtINT interrupts do not enter the APIC's ISR (Intel SDM vol. 3A
 * §11.6.1).  Also checks ELCR says IRQ 0 is edge-triggered, and that
 * masking IRQ 0 in the IMR stops the interrupts.  Counts 20 interrupts,
 * not faster than 1 kHz; the wait for them is bounded only to catch a
 * timer that stopped (a busy host may hold the vCPU up for any time).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "pit-pic";

#define PIT_CH0         0x40
#define PIT_CTRL        0x43
#define PIT_DIVISOR     1193            /* ~1000 Hz */
#define ELCR1           0x4d0
#define ELCR2           0x4d1
#define WANT            20
#define PERIOD_US       1000
#define WAIT_US         20000000        /* only a failure waits this long */
#define QUIET_US        20000

static volatile unsigned ticks, isr_ok, lapic_isr;
static volatile uint64_t last_tsc;

static void pit_irq(unsigned vector)
{
	last_tsc = rdtsc();
	if (pic_isr() & 1)
		isr_ok++;
	if (lapic_in_service(vector))
		lapic_isr++;
	ticks++;
	pic_eoi(0);
}

/* IR7 with nothing behind it: the 8259's spurious interrupt, no EOI (8259A data sheet). */
static void pic_spurious(unsigned vector)
{
	(void)vector;
	guest_printf("pit-pic: spurious IRQ 7 (master ISR 0x%x)\n", pic_isr() & 0xff);
}

void test_main(void)
{
	struct madt_info m;

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (!(m.flags & 1))
		guest_fail("MADT flags 0x%x: PCAT_COMPAT clear, yet this PC has 8259s", m.flags);
	if (m.nr_ioapics) {
		ioapic_init(m.ioapic_addr);
		ioapic_mask_all();
	}
	irq_set_handler(PIC_VEC_MASTER + 0, pit_irq);
	irq_set_handler(PIC_VEC_MASTER + 7, pic_spurious);
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);
	uint8_t elcr1 = inb(ELCR1), elcr2 = inb(ELCR2);
	guest_printf("pit-pic: ELCR 0x%02x 0x%02x\n", elcr1, elcr2);
	if (elcr1 & 1)
		guest_fail("ELCR 0x%02x: IRQ 0 is level-triggered", elcr1);
	lapic_write(APIC_LVT_LINT0, APIC_DM_EXTINT);
	guest_printf("pit-pic: LVT LINT0 0x%x\n", lapic_read(APIC_LVT_LINT0));
	pic_set_mask((uint16_t)~1u);            /* IRQ 0 only */

	/* Before the count starts: if the vCPU is held up after it, the
	 * periods that end meanwhile come later as owed ticks
	 * (devices/losttick.h), and the span still holds them. */
	uint64_t t0 = rdtsc();
	outb(PIT_CTRL, 0x34);                   /* channel 0, LSB then MSB, mode 2, binary */
	outb(PIT_CH0, PIT_DIVISOR & 0xff);
	outb(PIT_CH0, PIT_DIVISOR >> 8);
	irq_enable();
	wait_until(ticks >= WANT, WAIT_US);
	pic_set_mask(0xffff);
	unsigned n = ticks;
	uint64_t span = n ? tsc_to_us(last_tsc - t0) : 0;
	delay_us(QUIET_US);
	irq_disable();

	guest_printf("pit-pic: %u interrupts in %lu us (%lu Hz; PIT programmed for %u Hz), "
		     "IR0 in service in %u, local APIC ISR in %u\n", n, span,
		     span ? (uint64_t)n * 1000000 / span : 0, PIT_HZ / PIT_DIVISOR, isr_ok, lapic_isr);
	guest_printf("pit-pic: %u interrupt(s) after masking IRQ 0; PIC ISR now 0x%x\n",
		     ticks - n, pic_isr());
	if (n < WANT)
		guest_fail("%u PIT interrupts through the 8259 in %d s, expected %d", n,
			   WAIT_US / 1000000, WANT);
	else if (span < n * PERIOD_US / 2)
		guest_fail("%u PIT interrupts in %lu us: faster than the PIT's 1000 Hz", n, span);
	if (isr_ok != n)
		guest_fail("master ISR bit 0 set in %u of %u handler runs", isr_ok, n);
	if (lapic_isr)
		guest_fail("ExtINT vector 0x%x showed in the local APIC's ISR %u times",
			   PIC_VEC_MASTER, lapic_isr);
	if (ticks != n)
		guest_fail("%u interrupts after IRQ 0 was masked", ticks - n);
	if (pic_isr())
		guest_fail("PIC ISR 0x%x after the EOIs", pic_isr());
	outb(PIT_CTRL, 0x30);                   /* channel 0 stopped until a count is written */
}
