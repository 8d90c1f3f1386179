/*
 * hostclock: the test runner's look at the machine it runs on.  QEMU's
 * TCG hands the host's own TSC to the guest (kasane's clock, and every
 * guest's), while QEMU's timers (the PIT, HPET and LAPIC timer kasane
 * programs) run on CLOCK_MONOTONIC.  On a real machine the two keep one
 * rate.  On a virtual one that is paused, snapshotted or moved (a CI
 * sandbox: such a kernel boots with tsc=unstable and kvm-clock), the TSC
 * can jump against CLOCK_MONOTONIC, and every OS inside sees time leap:
 * no test of timing can hold across that.
 *
 * Prints, for each online CPU (the process moves there first):
 *     cpu N tsc T mono M
 * with M the CLOCK_MONOTONIC nanosecond midway between two reads around
 * the RDTSC, then the machine's steal time so far (the "cpu" line of
 * /proc/stat, its 8th field, in USER_HZ ticks):
 *     steal S
 * The runner takes one such look before and one after a QEMU run, and
 * compares (test/run-tests.sh, host_clock_verdict).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	for (long c = 0; c < n && c < 1024; c++) {
		cpu_set_t s;
		CPU_ZERO(&s);
		CPU_SET(c, &s);
		if (sched_setaffinity(0, sizeof(s), &s))
			continue;
		/* The tightest of a few reads: a preemption between the clock
		 * reads widens only that one. */
		uint64_t best_w = UINT64_MAX, tsc = 0, mid = 0;
		for (int i = 0; i < 8; i++) {
			uint64_t a = mono_ns(), t = __rdtsc(), b = mono_ns();
			if (b - a < best_w) {
				best_w = b - a;
				tsc = t;
				mid = a + (b - a) / 2;
			}
		}
		printf("cpu %ld tsc %llu mono %llu\n", c, (unsigned long long)tsc,
		       (unsigned long long)mid);
	}
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = { 0 };
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			&v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		printf("steal %llu\n", v[7]);
	if (f)
		fclose(f);
	return 0;
}
