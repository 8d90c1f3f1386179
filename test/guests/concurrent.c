/*
 * concurrent: one of several VMs that must run at the same time.  It
 * prints a first line at once, keeps running for ms=N (default 300) of its
 * own clock (the TSC, calibrated with the PIT), then prints a last line.
 * The harness checks that every such VM's first line comes before every
 * one's last: VMs run one after another could not interleave that way.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "concurrent";

void test_main(void)
{
	uint64_t ms = cmdline_u64("ms", 300);

	guest_printf("concurrent: started, running for %lu ms\n", ms);
	if (!time_init())
		return;
	uint64_t t0 = rdtsc();
	delay_us(ms * 1000);
	guest_printf("concurrent: done after %lu us\n", tsc_to_us(rdtsc() - t0));
}
