/*
 * hypercall: kasane's VMMCALL interface (core/abi.h).  HC_GET_VM_ID gives a
 * small id; HC_CONSOLE_WRITE prints "hypercall: console write ok" (the
 * harness looks for it) and refuses a buffer outside RAM or longer than
 * 4096 bytes with HC_EINVAL; an unknown function gives HC_ENOSYS; HC_YIELD
 * gives 0.  The guest ends through HC_EXIT(0), after its TEST line.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "hypercall";

#define MAX_VM_ID       64
#define BAD_GPA         0xffffffff0000ull
#define HC_UNKNOWN      0x4b41u

static const char line[] = "hypercall: console write ok\n";
static char big[4097];

static void check_ret(const char *what, long got, long want)
{
	if (got != want)
		guest_fail("%s returned %ld, expected %ld", what, got, want);
}

void test_main(void)
{
	long r = vmmcall(HC_GET_VM_ID, 0, 0, 0);
	guest_printf("hypercall: HC_GET_VM_ID returned %ld\n", r);
	if (r < 0 || r >= MAX_VM_ID)
		guest_fail("HC_GET_VM_ID returned %ld, expected 0..%d", r, MAX_VM_ID - 1);

	r = vmmcall(HC_CONSOLE_WRITE, (uintptr_t)line, sizeof(line) - 1, 0);
	if (r < 0)
		guest_fail("HC_CONSOLE_WRITE of %lu bytes at 0x%lx returned %ld",
			   (unsigned long)sizeof(line) - 1, (uintptr_t)line, r);

	r = vmmcall(HC_CONSOLE_WRITE, BAD_GPA, 16, 0);
	check_ret("HC_CONSOLE_WRITE with buffer GPA 0xffffffff0000", r, HC_EINVAL);
	memset(big, 'x', sizeof(big));
	r = vmmcall(HC_CONSOLE_WRITE, (uintptr_t)big, sizeof(big), 0);
	check_ret("HC_CONSOLE_WRITE of 4097 bytes", r, HC_EINVAL);

	r = vmmcall(HC_UNKNOWN, 1, 2, 3);
	check_ret("unknown hypercall 0x4b41", r, HC_ENOSYS);

	r = vmmcall(HC_YIELD, 0, 0, 0);
	check_ret("HC_YIELD", r, HC_OK);

	if (guest_result() != RESULT_SUCCESS)
		return;         /* guest_finish() reports and exits through the port */
	guest_printf("TEST %s: SUCCESS\n", test_name);
	vmmcall(HC_EXIT, 0, 0, 0);
	guest_fail("HC_EXIT returned");
	guest_finish();
}
