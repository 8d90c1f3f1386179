/*
 * reboot: resets its machine the way a PC OS does, and counts its boots in
 * battery-backed CMOS RAM (MC146818A: bytes past register D keep their
 * contents over a reset).  Each boot prints "reboot: boot N".  Until boot
 * boots=N (default 2) it stores N in CMOS byte 0x60 and writes the reset
 * value 6 to the reset control register, port 0xcf9, that the FADT names
 * as its RESET_REG (ACPI 6.5 §4.8.3.6).  The last boot succeeds.  With
 * hang=1 it instead turns interrupts off and spins for ever, a stand-in
 * for a kernel panic, for the hypervisor's watchdog to end.
 *
 * Each boot also checks that its RAM comes zeroed: a window above its
 * image, which the previous boot filled with a pattern before its reset,
 * must read as zeros in the next (a restart frees the VM's RAM and takes
 * it again, most likely the same host frames; kasane zeroes them on the
 * guest's first touch, mm/guest_mem.h).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "reboot";

#define CMOS_BOOTS      0x60
#define RESET_PORT      0xcf9
#define RESET_VALUE     0x06
/* 2 MiB from 4 MiB: above the image (at 1 MiB), below what kasane's
 * loader places at the top of RAM; the VM has 8 MiB. */
#define WINDOW          0x400000ul
#define WINDOW_LEN      0x200000ul

static void check_window_zero_then_fill(void)
{
	volatile uint64_t *w = (volatile uint64_t *)WINDOW;
	unsigned long bad = 0;

	for (unsigned long i = 0; i < WINDOW_LEN / 8; i++)
		if (w[i] != 0 && bad++ == 0)
			guest_printf("reboot: RAM at 0x%lx holds 0x%lx at boot\n",
				     WINDOW + i * 8, (unsigned long)w[i]);
	if (bad)
		guest_fail("%lu of %lu qwords of fresh RAM were not zero", bad, WINDOW_LEN / 8);
	for (unsigned long i = 0; i < WINDOW_LEN / 8; i++)
		w[i] = 0xa5a5a5a5a5a5a5a5ul ^ i;
}

void test_main(void)
{
	unsigned boot = cmos_read(CMOS_BOOTS) + 1u;
	uint64_t want = cmdline_u64("boots", 2);

	guest_printf("reboot: boot %u\n", boot);
	check_window_zero_then_fill();
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
