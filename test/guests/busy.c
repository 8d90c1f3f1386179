/*
 * busy: CPU-bound and nothing else, for "more VMs than CPUs" and the
 * performance-isolation benchmark.  Runs iters=N (default 1000 million, ~1.2 s under QEMU TCG)
 * steps of a 64-bit LCG without exits, checks the final state against
 * the jump-ahead formula (so the work cannot be skipped or corrupted),
 * and prints
 *     busy: <iters> iterations, state 0x..., checksum 0x..., <ticks> TSC ticks
 * The checksum depends only on iters and seed=N (default 1).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "busy";

#define DEFAULT_ITERS   1000000000ull

void test_main(void)
{
	uint64_t iters = cmdline_u64("iters", DEFAULT_ITERS), seed = cmdline_u64("seed", 1);
	uint64_t sum = 0;

	uint64_t t0 = rdtsc();
	uint64_t x = work_run(seed, iters, &sum);
	uint64_t ticks = rdtsc() - t0;

	guest_printf("busy: %lu iterations, state 0x%016lx, checksum 0x%016lx, %lu TSC ticks\n",
		     iters, x, sum, ticks);
	guest_check_eq("LCG state after the loop vs jump-ahead", x, work_expect(seed, iters));
}
