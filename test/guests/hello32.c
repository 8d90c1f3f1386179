/*
 * hello32: the smallest Multiboot1 guest.  Entered in 32-bit protected mode
 * with EAX = 0x2BADB002 and EBX = the information GPA (Multiboot 0.6.96
 * §3.2); checks the magic and the protected-mode state, prints a greeting.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "hello32";

void test_main(void)
{
	guest_printf("hello from a 32-bit Multiboot guest\n");
	guest_check_eq("EAX at entry", boot_magic, MB1_BOOT_MAGIC);
	if (!boot_info)
		guest_fail("EBX (Multiboot information GPA) is 0");
	unsigned long cr0 = read_cr0();
	if (!(cr0 & CR0_PE) || (cr0 & CR0_PG))
		guest_fail("CR0 0x%lx: expected PE set, PG clear", cr0);
}
