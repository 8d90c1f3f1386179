/*
 * ioapic-level: a level-triggered IOAPIC pin driven by a device that holds
 * its line up: COM1's interrupt (ISA IRQ 4, on the GSI the MADT gives)
 * through a redirection entry that is fixed, level-triggered, active high.
 * Intel 82093AA data sheet §3.2.4 (Remote IRR: set when the local APIC
 * accepts a level interrupt, cleared by the EOI for its vector; while it
 * is set the pin sends nothing); SDM vol. 3A §11.8.4 (TMR set for a level
 * interrupt) and §11.8.5 (EOI of a level interrupt goes to the IOAPIC).
 * The UART (PC16550D) runs in loopback (MCR bit 4) for the received-data
 * steps, so the bytes sent come back in RBR and nothing reaches the
 * console; no line is printed while a step runs.
 *  1. THR empty (IER bit 1): the line rises at once; the handler reads
 *     IIR, which must say THRI (2) and drops the line, then EOIs: one
 *     interrupt.
 *  2. Re-delivery: a received byte (IER bit 0) holds the line up; the
 *     handler's first run EOIs without reading RBR, so the interrupt must
 *     come again; the second run reads the byte: two runs, no third.
 *  3. None while Remote IRR is set: the handler reads the byte (line
 *     falls) and sends another (line rises) before its EOI: the vector's
 *     IRR bit must stay clear until the EOI, after which the second
 *     byte's interrupt arrives: two runs, bytes in order.
 *  4. Masked while asserted: nothing arrives, Remote IRR stays clear;
 *     unmasking delivers it once.
 * Every run sees Remote IRR and the TMR bit set and its vector in
 * service; at the end Remote IRR, IRR and ISR are clear.  A handler that
 * runs more than MAX_RUNS times in a step masks the pin (a storm).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "ioapic-level";

#define COM1            GUEST_COM1_PORT
#define RBR             (COM1 + 0)
#define THR             (COM1 + 0)
#define IER             (COM1 + 1)
#define IIR             (COM1 + 2)
#define FCR             (COM1 + 2)
#define LCR             (COM1 + 3)
#define MCR             (COM1 + 4)
#define LSR             (COM1 + 5)
#define IER_RX          0x01
#define IER_THRE        0x02
#define IIR_THRI        0x02
#define MCR_LOOP        0x10
#define LSR_DR          0x01
#define APIC_TMR        0x180
#define VEC_UART        0x44
#define MAX_RUNS        8
#define WAIT_US         20000000        /* only a failure waits this long */
#define QUIET_US        20000

enum mode { M_THRE, M_LEAVE_FIRST, M_REARM, M_READ };

struct step {
	enum mode mode;
	unsigned runs, remote_irr, tmr, isr, irr_while_irr;
	uint8_t iir[MAX_RUNS + 1], byte[MAX_RUNS + 1];
	bool storm;
};

static volatile struct step st;
static unsigned pin;

static bool lapic_bit(unsigned base, unsigned vec)
{
	return lapic_read(base + (vec / 32) * 16) >> (vec % 32) & 1;
}

static uint64_t rte(bool masked)
{
	return RTE_DEST(lapic_id()) | RTE_LEVEL | VEC_UART | (masked ? RTE_MASKED : 0);
}

static void uart_irq(unsigned vector)
{
	unsigned n = st.runs++;

	if (ioapic_get_rte(pin) & RTE_REMOTE_IRR)
		st.remote_irr++;
	if (lapic_bit(APIC_TMR, vector))
		st.tmr++;
	if (lapic_in_service(vector))
		st.isr++;
	if (n >= MAX_RUNS) {
		st.storm = true;
		ioapic_set_rte(pin, rte(true));
		lapic_eoi();
		return;
	}
	switch (st.mode) {
	case M_THRE:
		st.iir[n] = inb(IIR);           /* reading IIR clears THRI */
		break;
	case M_LEAVE_FIRST:
		if (n > 0)
			st.byte[n] = inb(RBR);
		break;
	case M_REARM:
		st.byte[n] = inb(RBR);          /* the line falls */
		if (n == 0) {
			outb(THR, 'c');         /* and rises again: Remote IRR holds it */
			if (lapic_bit(APIC_IRR, vector))
				st.irr_while_irr++;
		}
		break;
	case M_READ:
		st.byte[n] = inb(RBR);
		break;
	}
	lapic_eoi();
}

/* Interrupts off: a new step. */
static void step_begin(enum mode mode)
{
	st.mode = mode;
	st.runs = st.remote_irr = st.tmr = st.isr = st.irr_while_irr = 0;
	st.storm = false;
	memset((void *)st.iir, 0, sizeof(st.iir));
	memset((void *)st.byte, 0, sizeof(st.byte));
}

/* Interrupts on until want runs happened, then a quiet window; off again. */
static void step_wait(unsigned want)
{
	irq_enable();
	wait_until(st.runs >= want, WAIT_US);
	delay_us(QUIET_US);
	irq_disable();
}

/* Back to a plain UART (no loopback, no interrupts): printing is safe again. */
static void uart_quiet(void)
{
	outb(IER, 0);
	outb(MCR, 0);
	while (inb(LSR) & LSR_DR)
		inb(RBR);
	inb(IIR);
}

static void step_report(const char *what, unsigned want)
{
	if (st.storm)
		guest_fail("%s: interrupt storm: more than %d handler runs", what, MAX_RUNS);
	if (st.remote_irr != st.runs)
		guest_fail("%s: Remote IRR set in %u of %u handler runs", what, st.remote_irr, st.runs);
	if (st.tmr != st.runs)
		guest_fail("%s: TMR bit of vector 0x%x set in %u of %u handler runs", what, VEC_UART,
			   st.tmr, st.runs);
	if (st.isr != st.runs)
		guest_fail("%s: vector 0x%x in service in %u of %u handler runs", what, VEC_UART,
			   st.isr, st.runs);
	if (ioapic_get_rte(pin) & RTE_REMOTE_IRR)
		guest_fail("%s: Remote IRR still set after the last EOI", what);
	if (lapic_in_service(VEC_UART) || lapic_bit(APIC_IRR, VEC_UART))
		guest_fail("%s: vector 0x%x still in service or requested", what, VEC_UART);
	if (st.runs != want)
		guest_fail("%s: %u handler runs, expected %u", what, st.runs, want);
}

void test_main(void)
{
	struct madt_info m;

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (!m.nr_ioapics) {
		guest_fail("MADT lists no IOAPIC");
		return;
	}
	ioapic_init(m.ioapic_addr);
	uint32_t gsi = m.isa_gsi[4];
	if (gsi < m.ioapic_gsi_base || gsi - m.ioapic_gsi_base >= ioapic_pins()) {
		guest_fail("GSI %u of IRQ 4 (COM1) is not on the IOAPIC", gsi);
		return;
	}
	pin = gsi - m.ioapic_gsi_base;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* every 8259 input masked */
	ioapic_mask_all();
	irq_set_handler(VEC_UART, uart_irq);
	outb(LCR, 0x03);                                /* 8N1, DLAB 0 */
	outb(FCR, 0);                                   /* 16450 mode: one byte holds RBR */
	uart_quiet();
	ioapic_set_rte(pin, rte(false));
	guest_printf("ioapic-level: IRQ 4 -> pin %u, redirection entry 0x%016lx\n", pin,
		     ioapic_get_rte(pin));

	/* 1. THR empty, acknowledged by reading IIR. */
	step_begin(M_THRE);
	outb(IER, IER_THRE);
	step_wait(1);
	outb(IER, 0);
	guest_printf("ioapic-level: THR empty: %u run(s), IIR 0x%02x\n", st.runs, st.iir[0]);
	step_report("THR empty", 1);
	guest_check_eq("IIR in the THR-empty handler", st.iir[0], IIR_THRI);

	/* 2. Re-delivery after an EOI that left the line up. */
	step_begin(M_LEAVE_FIRST);
	outb(MCR, MCR_LOOP);
	outb(IER, IER_RX);
	outb(THR, 'a');
	step_wait(2);
	uart_quiet();
	guest_printf("ioapic-level: EOI with the line still up: %u run(s), byte 0x%02x\n",
		     st.runs, st.byte[1]);
	step_report("EOI with the line still up", 2);
	guest_check_eq("byte read in the second run", st.byte[1], 'a');

	/* 3. Nothing while Remote IRR is set, then the new byte after the EOI. */
	step_begin(M_REARM);
	outb(MCR, MCR_LOOP);
	outb(IER, IER_RX);
	outb(THR, 'b');
	step_wait(2);
	uart_quiet();
	guest_printf("ioapic-level: line fell and rose before the EOI: %u run(s), bytes 0x%02x 0x%02x, "
		     "IRR set before the EOI in %u\n", st.runs, st.byte[0], st.byte[1],
		     st.irr_while_irr);
	step_report("line fell and rose before the EOI", 2);
	guest_check_eq("first byte", st.byte[0], 'b');
	guest_check_eq("second byte", st.byte[1], 'c');
	if (st.irr_while_irr)
		guest_fail("the pin sent again while Remote IRR was set (IRR bit of 0x%x set)", VEC_UART);

	/* 4. Asserted while masked: delivered when unmasked. */
	step_begin(M_READ);
	ioapic_set_rte(pin, rte(true));
	outb(MCR, MCR_LOOP);
	outb(IER, IER_RX);
	outb(THR, 'd');
	delay_us(QUIET_US);
	bool irr_masked = lapic_bit(APIC_IRR, VEC_UART);
	bool rirr_masked = ioapic_get_rte(pin) & RTE_REMOTE_IRR;
	ioapic_set_rte(pin, rte(false));
	step_wait(1);
	uart_quiet();
	guest_printf("ioapic-level: asserted while masked: IRR %u, Remote IRR %u; after unmasking "
		     "%u run(s), byte 0x%02x\n", irr_masked, rirr_masked, st.runs, st.byte[0]);
	guest_check_eq("IRR bit while the entry was masked", irr_masked, 0);
	guest_check_eq("Remote IRR while the entry was masked", rirr_masked, 0);
	step_report("asserted while masked", 1);
	guest_check_eq("byte read after unmasking", st.byte[0], 'd');

	ioapic_set_rte(pin, rte(true));
}
