/*
 * Deterministic CPU-bound work whose result can be checked cheaply: the
 * 64-bit LCG x' = A x + C (mod 2^64) with Knuth's MMIX constants, run step
 * by step, against its n-th state computed by squaring the affine map
 * (F. Brown, "Random Number Generation with Arbitrary Strides", Trans. Am.
 * Nucl. Soc. 71, 1994).
 */
#include "test/guests/lib/pc.h"

#define LCG_A   6364136223846793005ull
#define LCG_C   1442695040888963407ull

uint64_t work_run(uint64_t seed, uint64_t iters, uint64_t *sum)
{
	uint64_t x = seed, s = *sum;

	for (uint64_t i = 0; i < iters; i++) {
		x = x * LCG_A + LCG_C;
		s += x >> 29;
		/* Keep every step: no closed form, no unrolling into something else. */
		asm volatile("" : "+r"(x), "+r"(s));
	}
	*sum = s;
	return x;
}

uint64_t work_expect(uint64_t seed, uint64_t iters)
{
	uint64_t acc_a = 1, acc_c = 0, a = LCG_A, c = LCG_C;

	for (; iters; iters >>= 1) {
		if (iters & 1) {
			acc_a *= a;
			acc_c = acc_c * a + c;
		}
		c *= a + 1;
		a *= a;
	}
	return acc_a * seed + acc_c;
}

uint64_t cmdline_u64(const char *key, uint64_t def)
{
	char buf[32];
	uint64_t v;

	if (!mb2_valid(boot_info) || !cmdline_get(mb2_cmdline(boot_info), key, buf, sizeof(buf)))
		return def;
	if (!parse_u64(buf, &v)) {
		guest_error("%s=%s on the command line is not a number", key, buf);
		return def;
	}
	return v;
}
