/*
 * conin: keys typed on kasane's console reach this VM's COM1 when the
 * operator has moved the console input here.  The guest takes COM1's
 * received-data interrupt (PC16550D IER bit 0) on ISA IRQ 4 through the
 * IOAPIC pin the MADT gives, edge-triggered as a PC's ISA line, reads
 * every byte the interrupt announces, and collects one line (up to CR or
 * LF).  It prints "conin: ready" first, so the operator (the harness)
 * knows when to type, then "conin: line '...'" with bytes outside
 * printable ASCII as \xNN, and succeeds.  A line that does not come
 * within 60 s of the guest's own clock is a failure.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "conin";

#define COM1            GUEST_COM1_PORT
#define RBR             (COM1 + 0)
#define IER             (COM1 + 1)
#define FCR             (COM1 + 2)
#define LCR             (COM1 + 3)
#define LSR             (COM1 + 5)
#define LSR_DR          0x01
#define IER_RDI         0x01
#define VEC_UART        0x44
#define LINE_MAX        64
#define WAIT_S          60

static volatile char line[LINE_MAX + 1];
static volatile unsigned len, irqs;
static volatile bool done;

static void uart_irq(unsigned vector)
{
	(void)vector;
	irqs++;
	/* Drain the FIFO: each byte read clears "data ready" for it. */
	for (int i = 0; i < 16 && (inb(LSR) & LSR_DR); i++) {
		char c = (char)inb(RBR);
		if (done)
			continue;
		if (c == '\r' || c == '\n') {
			done = len > 0;
			continue;
		}
		if (len < LINE_MAX)
			line[len++] = c;
	}
	lapic_eoi();
}

void test_main(void)
{
	struct madt_info m;
	char shown[LINE_MAX * 4 + 1];
	size_t n = 0;

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (!m.nr_ioapics) {
		guest_fail("MADT lists no IOAPIC");
		return;
	}
	ioapic_init(m.ioapic_addr);
	unsigned pin = m.isa_gsi[4] - m.ioapic_gsi_base;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* every 8259 input masked */
	ioapic_mask_all();
	irq_set_handler(VEC_UART, uart_irq);
	outb(LCR, 0x03);                                /* 8N1, DLAB 0 */
	outb(FCR, 0x01);                                /* FIFOs on */
	while (inb(LSR) & LSR_DR)
		(void)inb(RBR);
	ioapic_set_rte(pin, RTE_DEST(lapic_id()) | VEC_UART);
	outb(IER, IER_RDI);
	asm volatile("sti");
	guest_printf("conin: ready\n");

	uint64_t end = rdtsc() + us_to_tsc(WAIT_S * 1000000ull);
	while (!done && rdtsc() < end)
		asm volatile("pause");
	asm volatile("cli");
	outb(IER, 0);
	for (unsigned i = 0; i < len; i++) {
		char c = line[i];
		if (c >= 0x20 && c < 0x7f)
			shown[n++] = c;
		else
			n += (size_t)guest_snprintf(shown + n, sizeof(shown) - n, "\\x%02x",
						    (unsigned char)c);
	}
	shown[n] = '\0';
	if (!done) {
		guest_fail("no line typed within %d s (%u bytes: '%s')", WAIT_S, len, shown);
		return;
	}
	guest_printf("conin: line '%s' (%u interrupts)\n", shown, irqs);
	if (!irqs)
		guest_fail("the bytes came without an interrupt");
}
