/*
 * Polled 16550 driver for the hypervisor console.  Register layout from
 * the National Semiconductor PC16550D data sheet: THR/RBR +0, IER +1,
 * FCR +2, LCR +3, MCR +4, LSR +5, SCR +7; DLL/DLM at +0/+1 with LCR.DLAB.
 */
#include "drivers/uart.h"
#include "arch/x86/cpu.h"

#define UART_THR 0
#define UART_RBR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define LSR_DR   0x01   /* data ready */
#define LSR_THRE 0x20   /* transmit holding register empty */
#define LCR_DLAB 0x80
#define LCR_8N1  0x03

bool uart_init(uint16_t base)
{
	/* The scratch register answers only if a UART is there. */
	outb(base + UART_SCR, 0x5a);
	if (inb(base + UART_SCR) != 0x5a)
		return false;
	outb(base + UART_IER, 0);               /* polled: no interrupts */
	outb(base + UART_LCR, LCR_DLAB);
	outb(base + 0, 1);                      /* divisor 1: 115200 baud */
	outb(base + 1, 0);
	outb(base + UART_LCR, LCR_8N1);
	outb(base + UART_FCR, 0x07);            /* enable and clear FIFOs */
	outb(base + UART_MCR, 0x03);            /* DTR, RTS */
	return true;
}

void uart_putc(uint16_t base, char c)
{
	/* Bounded wait: a wedged UART must not hang the hypervisor. */
	for (int i = 0; i < 100000; i++) {
		if (inb(base + UART_LSR) & LSR_THRE)
			break;
		cpu_relax();
	}
	outb(base + UART_THR, (uint8_t)c);
}

int uart_getc(uint16_t base)
{
	if (!(inb(base + UART_LSR) & LSR_DR))
		return -1;
	return inb(base + UART_RBR);
}
