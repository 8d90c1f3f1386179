/*
 * counter: counts and prints, for the management console's tests (pause,
 * resume, destroy, restart).  Prints
 *     counter: boot
 * then every period_ms=N milliseconds (default 100, measured with the
 * TSC) one line
 *     counter: tick N
 * for N = 1..ticks=N (default 50), and exits 0.  A pause stops the lines;
 * after it the count goes on from where it stopped (the TSC ran on, so the
 * next tick comes at once).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "counter";

void test_main(void)
{
	uint64_t ticks = cmdline_u64("ticks", 50), period = cmdline_u64("period_ms", 100);

	guest_printf("counter: boot\n");
	if (!time_init())
		return;
	if (!period || period > 60000) {
		guest_error("period_ms=%lu: expected 1-60000", period);
		return;
	}
	uint64_t next = rdtsc();
	for (uint64_t n = 1; n <= ticks; n++) {
		next += us_to_tsc(period * 1000);
		while (rdtsc() < next)
			cpu_relax();
		guest_printf("counter: tick %lu\n", n);
	}
}
