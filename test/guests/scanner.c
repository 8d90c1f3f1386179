/*
 * scanner: the measured guest of the performance-isolation benchmark.
 * Does chunks=K (default 20) chunks of chunk_iters=N (default 20 million)
 * LCG steps, timing each with RDTSC (outside the printing), checks every
 * chunk's result, and prints
 *     scanner: tsc <kHz> kHz
 *     scanner: chunk <i> <ticks>                 (one per chunk)
 *     scanner: total <ticks> min <ticks> max <ticks>
 * A noisy neighbour shows as a larger max (and total) than when alone.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "scanner";

#define DEFAULT_CHUNKS  20
#define DEFAULT_ITERS   20000000
#define MAX_CHUNKS      100000

void test_main(void)
{
	uint64_t chunks = cmdline_u64("chunks", DEFAULT_CHUNKS);
	uint64_t iters = cmdline_u64("chunk_iters", DEFAULT_ITERS);
	uint64_t x = cmdline_u64("seed", 1), sum = 0, total = 0, min = ~0ull, max = 0;

	if (!chunks || chunks > MAX_CHUNKS) {
		guest_error("chunks=%lu: expected 1-%d", chunks, MAX_CHUNKS);
		return;
	}
	if (time_init())
		guest_printf("scanner: tsc %lu kHz\n", tsc_khz);
	guest_printf("scanner: %lu chunks of %lu iterations\n", chunks, iters);
	for (uint64_t i = 0; i < chunks; i++) {
		uint64_t want = work_expect(x, iters);
		uint64_t t0 = rdtsc();
		x = work_run(x, iters, &sum);
		uint64_t dt = rdtsc() - t0;
		guest_printf("scanner: chunk %lu %lu\n", i, dt);
		if (x != want) {
			guest_fail("chunk %lu: LCG state 0x%lx, expected 0x%lx", i, x, want);
			return;
		}
		total += dt;
		if (dt < min)
			min = dt;
		if (dt > max)
			max = dt;
	}
	guest_printf("scanner: total %lu min %lu max %lu\n", total, min, max);
}
