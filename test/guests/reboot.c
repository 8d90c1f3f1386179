/*
 * reboot: resets its machine the way a PC OS does, and counts its boots in
 * battery-backed CMOS RAM (MC146818A: bytes past register D keep their
 * contents over a reset).  Each boot prints "reboot: boot N".  Until boot
 * boots=N (default 2) it stores N in CMOS byte 0x60 and writes the reset
 * value 6 to the reset control register, port 0xcf9, that the FADT names
 * as its RESET_REG (ACPI 6.5 §4.8.3.6).  The last boot succeeds.  With
 * hang=1 it instead turns interrupts off and spins for ever, a stand-in
 * for a kernel panic, for the hypervisor's watchdog to end.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "reboot";

#define CMOS_BOOTS      0x60
#define RESET_PORT      0xcf9
#define RESET_VALUE     0x06

void test_main(void)
{
	unsigned boot = cmos_read(CMOS_BOOTS) + 1u;
	uint64_t want = cmdline_u64("boots", 2);

	guest_printf("reboot: boot %u\n", boot);
	if (cmdline_u64("hang", 0)) {
		guest_printf("reboot: hanging with interrupts off\n");
		for (;;)
			asm volatile("cli; pause");
	}
	if (boot < want) {
		cmos_write(CMOS_BOOTS, (uint8_t)boot);
		outb(RESET_PORT, RESET_VALUE);
		guest_fail("still running after the reset");
		return;
	}
	if (boot > want)
		guest_fail("boot %u: more boots than the %lu asked for", boot, want);
}
