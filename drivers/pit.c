/*
 * Busy-waiting on PIT channel 2, whose gate is port 0x61 bit 0 and whose
 * output is readable at port 0x61 bit 5 (Intel 8254 data sheet; the PC/AT
 * wiring of port 0x61).  Mode 0: the output goes high at terminal count.
 */
#include "drivers/pit.h"
#include "arch/x86/cpu.h"

void pit_wait_us(uint32_t us)
{
	uint32_t count = (uint32_t)((uint64_t)us * PIT_HZ / 1000000);

	if (count > 0xffff)
		count = 0xffff;
	if (count == 0)
		count = 1;
	uint8_t p61 = inb(0x61);
	outb(0x61, (p61 & ~0x02) & ~0x01);      /* gate low, speaker off */
	outb(0x43, 0xb0);                       /* channel 2, lobyte/hibyte, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	outb(0x61, (p61 & ~0x02) | 0x01);       /* gate high: start counting */
	/* Bounded: ~50 ms of port reads is far more than any real count. */
	for (uint32_t i = 0; i < 50000000 && !(inb(0x61) & 0x20); i++)
		;
	outb(0x61, p61);
}
