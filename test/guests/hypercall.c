/*
 * hypercall: kasane's VMMCALL interface (core/abi.h).  HC_GET_VM_ID gives a
 * small id; HC_CONSOLE_WRITE prints "hypercall: console write ok" (the
 * harness looks for it) and refuses a buffer outside RAM or longer than
 * 4096 bytes with HC_EINVAL; an unknown function gives HC_ENOSYS; HC_YIELD
 * gives 0.  The guest ends through HC_EXIT(0), after its TEST line.
 * At the end of RAM (its size from fw_cfg): a buffer whose last byte is
 * RAM's last byte is printed; one that starts in RAM and runs past its end
 * is refused with HC_EINVAL and prints nothing (the harness rejects the
 * word PAST-RAM, which only that buffer holds).  That buffer begins 300
 * bytes before the end with the word, so that a check of only its first
 * bytes would let the hypervisor print a whole first chunk of it.
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

/* Buffers at the end of RAM, which the boot page tables identity-map. */
static void end_of_ram(void)
{
	static const char last[] = "hypercall: console write ending at the end of RAM ok\n";
	static const char past[] = "PAST-RAM must not be printed\n";
	uint64_t ram = fwcfg_read_le(FW_CFG_RAM_SIZE, 8);
	size_t n = sizeof(last) - 1;

	if (ram < 1ull << 20 || ram > 3ull << 30) {
		guest_fail("fw_cfg RAM size 0x%lx: not one region of RAM below 3 GiB", (unsigned long)ram);
		return;
	}
	char *end = (char *)(uintptr_t)ram;
	memcpy(end - n, last, n);
	long r = vmmcall(HC_CONSOLE_WRITE, (uintptr_t)(end - n), n, 0);
	check_ret("HC_CONSOLE_WRITE of a buffer ending at the end of RAM", r, (long)n);

	/* 300 bytes in RAM starting with "PAST-RAM", 64 more beyond it. */
	memset(end - 300, '.', 300);
	memcpy(end - 300, past, 8);
	r = vmmcall(HC_CONSOLE_WRITE, (uintptr_t)(end - 300), 364, 0);
	check_ret("HC_CONSOLE_WRITE of a buffer running past the end of RAM", r, HC_EINVAL);
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

	end_of_ram();

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
