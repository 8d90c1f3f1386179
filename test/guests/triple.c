/*
 * triple: a triple fault must end only this VM ("triple fault").  With an
 * IDT of limit 0, INT3 cannot be delivered (#GP), neither can the #GP
 * (#DF), nor the #DF: shutdown (APM vol. 2 §8.2.9).  Returning here is a
 * FAILURE.
 */
#include "test/guests/lib/guest.h"

const char test_name[] = "triple";

void test_main(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } empty = { 0, 0 };

	guest_printf("triple: about to triple-fault\n");
	asm volatile("lidt %0\n\tint3\n\tud2" :: "m"(empty) : "memory");
	guest_fail("still running after int3 and ud2 with an empty IDT");
}
