/*
 * hostile-console: prints as fast as it can for secs=N seconds (default 6)
 * of its own clock: 4096-byte buffers of 64-byte lines through the console
 * hypercall, and a line through COM1 after each.  kasane's per-VM rate
 * limit must drop most of it (and say how much), while the neighbour
 * pinned to the same CPU finishes first.  The guest then stays quiet for
 * 2 s, long enough for the limit to let its result line through, and
 * reports how much it sent.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "hostile-console";

#define LINE    64
#define BUF     4096

static char buf[BUF];

void test_main(void)
{
	uint64_t secs = cmdline_u64("secs", 6), sent = 0, calls = 0;

	if (!time_init())
		return;
	for (unsigned i = 0; i < BUF; i++)
		buf[i] = i % LINE == LINE - 1 ? '\n' : (char)('a' + i % 26);
	uint64_t end = rdtsc() + us_to_tsc(secs * 1000000);
	while (rdtsc() < end) {
		long r = vmmcall(HC_CONSOLE_WRITE, (uintptr_t)buf, BUF, 0);
		if (r != BUF) {
			guest_fail("console write hypercall returned %ld", r);
			return;
		}
		guest_puts("hostile-console: flood line through COM1\n");
		sent += BUF + 41;
		calls++;
	}
	delay_us(2000000);
	guest_printf("hostile-console: sent %lu bytes in %lu hypercalls\n", sent, calls);
}
