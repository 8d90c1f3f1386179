/*
 * C entry of every test guest, called by crt32.S / crt64.S on our own stack
 * and GDT: install the exception handlers, run the test, report.
 */
#include "test/guests/lib/guest.h"

uintptr_t boot_magic, boot_info;

noreturn void guest_entry(void);

noreturn void guest_entry(void)
{
	trap_init();
	test_main();
	guest_finish();
}
