/*
 * pit-ioapic: PIT channel 0 in mode 2 (rate generator) at ~1 kHz,
 * delivered through the IOAPIC the way an APIC-mode OS sets it up: the
 * 8259s fully masked, ISA IRQ 0 found on the GSI the MADT's interrupt
 * source override names (pin 2 on a PC, checked), a redirection entry
 * with our vector, edge, active high, physical destination = our APIC id.
 * Also checks the IOAPIC against the MADT (ID register = MADT id, 24
 * pins), that edge entries never show Remote IRR, and that masking the
 * entry stops the interrupts.  Counts 20 interrupts, not faster than
 * 1 kHz; the wait for them is bounded only to catch a timer that stopped
 * (a busy host may hold the vCPU up for any time).  Intel 82093AA data
 * sheet §3.2.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "pit-ioapic";

#define VEC_PIT         0x30
#define PIT_CH0         0x40
#define PIT_CTRL        0x43
#define PIT_DIVISOR     1193            /* 1193182 / 1193 = 1000.15 Hz */
#define WANT            20
#define PERIOD_US       1000
#define WAIT_US         20000000        /* only a failure waits this long */
#define QUIET_US        20000

static volatile unsigned ticks;
static volatile uint64_t last_tsc;

static void pit_irq(unsigned vector)
{
	(void)vector;
	last_tsc = rdtsc();
	ticks++;
	lapic_eoi();
}

/* The IOAPIC's own registers against what the MADT says. */
static bool check_ioapic(const struct madt_info *m)
{
	if (m->nr_ioapics < 1) {
		guest_fail("MADT lists no IOAPIC");
		return false;
	}
	ioapic_init(m->ioapic_addr);
	uint32_t id = ioapic_read(IOAPIC_REG_ID) >> 24 & 0xf;
	uint32_t ver = ioapic_read(IOAPIC_REG_VER);
	guest_printf("pit-ioapic: IOAPIC at 0x%x: ID register %u, version 0x%x (%u pins)\n",
		     m->ioapic_addr, id, ver, ioapic_pins());
	/* 82093AA §3.2.1: the ID is 4 bits, so the MADT's id must fit in them. */
	guest_check_eq("IOAPIC ID register (bits 27:24) vs MADT IOAPIC id", id, m->ioapic_id);
	guest_check_eq("IOAPIC redirection entries", ioapic_pins(), 24);
	guest_check_eq("GSI base of the IOAPIC", m->ioapic_gsi_base, 0);
	return true;
}

void test_main(void)
{
	struct madt_info m;

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	madt_print(&m);
	if (!check_ioapic(&m))
		return;
	uint32_t gsi = m.isa_gsi[0];
	guest_check_eq("GSI of ISA IRQ 0 (MADT interrupt source override)", gsi, 2);
	if (gsi < m.ioapic_gsi_base || gsi - m.ioapic_gsi_base >= ioapic_pins()) {
		guest_fail("GSI %u of IRQ 0 is not on the IOAPIC", gsi);
		return;
	}
	unsigned pin = gsi - m.ioapic_gsi_base;

	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* all 16 IRQs masked */
	ioapic_mask_all();
	irq_set_handler(VEC_PIT, pit_irq);
	ioapic_set_rte(pin, RTE_DEST(lapic_id()) | VEC_PIT);    /* fixed, physical, edge, high */
	uint64_t rte = ioapic_get_rte(pin);
	guest_printf("pit-ioapic: IRQ 0 -> pin %u, redirection entry 0x%016lx\n", pin, rte);
	guest_check_eq("redirection entry read back", rte & ~(RTE_REMOTE_IRR | (1ull << 12)),
		       RTE_DEST(lapic_id()) | VEC_PIT);

	/* Before the count starts: if the vCPU is held up after it, the
	 * periods that end meanwhile come later as owed ticks
	 * (devices/losttick.h), and the span still holds them. */
	uint64_t t0 = rdtsc();
	outb(PIT_CTRL, 0x34);                   /* channel 0, LSB then MSB, mode 2, binary */
	outb(PIT_CH0, PIT_DIVISOR & 0xff);
	outb(PIT_CH0, PIT_DIVISOR >> 8);
	irq_enable();
	wait_until(ticks >= WANT, WAIT_US);
	ioapic_set_rte(pin, RTE_MASKED | RTE_DEST(lapic_id()) | VEC_PIT);
	unsigned n = ticks;
	uint64_t span = n ? tsc_to_us(last_tsc - t0) : 0;
	delay_us(QUIET_US);
	irq_disable();
	rte = ioapic_get_rte(pin);

	guest_printf("pit-ioapic: %u interrupts in %lu us (%lu Hz; PIT programmed for %u Hz)\n",
		     n, span, span ? (uint64_t)n * 1000000 / span : 0, PIT_HZ / PIT_DIVISOR);
	guest_printf("pit-ioapic: %u interrupt(s) after masking pin %u\n", ticks - n, pin);
	if (n < WANT)
		guest_fail("%u PIT interrupts through IOAPIC pin %u in %d s, expected %d",
			   n, pin, WAIT_US / 1000000, WANT);
	else if (span < n * PERIOD_US / 2)
		guest_fail("%u PIT interrupts in %lu us: faster than the PIT's 1000 Hz", n, span);
	if (ticks != n)
		guest_fail("%u interrupts after the redirection entry was masked", ticks - n);
	if (rte & RTE_REMOTE_IRR)
		guest_fail("Remote IRR set in edge-triggered entry 0x%lx", rte);
	if (lapic_in_service(VEC_PIT))
		guest_fail("vector 0x%x still in service after the EOIs", VEC_PIT);
	outb(PIT_CTRL, 0x30);                   /* channel 0, mode 0, count not written: stopped */
}
