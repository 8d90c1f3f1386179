/*
 * lockmmio: a LOCK prefix on a MOV to device memory raises #UD, as the
 * CPU raises it for LOCK on an instruction that cannot be locked (SDM
 * vol. 2A §2.1.1 and "LOCK"); the VM goes on.  Then a plain MOV to the
 * same place still works.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"
#include "include/kasane/abi.h"

const char test_name[] = "lockmmio";

void test_main(void)
{
	volatile uint32_t *p = (volatile uint32_t *)(unsigned long)GUEST_TEST_MMIO_BASE;

	expect_exception(EXC_UD);
	asm volatile("1: .byte 0xf0\n\tmovl %0, (%1)\n2:\n" EXTABLE("1b", "2b")
		     : : "a"(0x12345678u), "b"(p) : "memory");
	exception_check("lock mov to device memory", EXC_UD, -1, NULL);
	*p = 0xcafe;
	guest_check_eq("plain mov to device memory reads back", *p, 0xcafe);
}
