/*
 * The physical 8259A PIC pair, which kasane does not use: it is moved off
 * the exception vectors (ICW2 = 0x20/0x28) and fully masked, so that a
 * firmware-programmed timer cannot arrive as a bogus "exception" once
 * interrupts are on (Intel 8259A data sheet, ICW1-ICW4 and OCW1).
 */
#include "drivers/i8259.h"
#include "arch/x86/cpu.h"

void i8259_disable(void)
{
	outb(0x20, 0x11);       /* ICW1: edge, cascade, ICW4 follows */
	outb(0xa0, 0x11);
	outb(0x21, 0x20);       /* ICW2: vector bases */
	outb(0xa1, 0x28);
	outb(0x21, 0x04);       /* ICW3: slave on IR2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01);       /* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);       /* OCW1: mask everything */
	outb(0xa1, 0xff);
}
