/*
 * hello32-aout: a Multiboot1 kernel loaded through the a.out kludge
 * (Multiboot 0.6.96 §3.1.3, header in lib/mb1_aout_header.S).  The file
 * carries a page of 0xaa bytes right after load_end_addr (lib/guest32-aout.ld):
 * the loader must not copy it and must zero everything up to bss_end_addr.
 */
#include "test/guests/lib/guest.h"

const char test_name[] = "hello32-aout";

extern const uint8_t __trailer_start[], __trailer_end[], __load_end[], __bss_end[];
static uint8_t bss_probe[4096];

static void check_zero(const char *what, const volatile uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i]) {
			guest_fail("%s byte at 0x%lx is 0x%x, expected 0 (bss not zeroed)",
				   what, (unsigned long)(uintptr_t)&p[i], p[i]);
			return;
		}
	}
}

void test_main(void)
{
	guest_printf("hello from a 32-bit Multiboot a.out-kludge guest\n");
	guest_check_eq("EAX at entry", boot_magic, MB1_BOOT_MAGIC);
	guest_printf("hello32-aout: load_end 0x%lx bss_end 0x%lx\n",
		     (unsigned long)(uintptr_t)__load_end, (unsigned long)(uintptr_t)__bss_end);
	check_zero("trailer", __trailer_start, (size_t)(__trailer_end - __trailer_start));
	check_zero("bss_probe", bss_probe, sizeof(bss_probe));
}

/* In the file, but in the bss range: see lib/guest32-aout.ld. */
__attribute__((section(".trailer"), used))
static const uint8_t trailer[4096] = { [0 ... 4095] = 0xaa };
