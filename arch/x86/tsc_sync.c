/*
 * The TSC warp test: are the TSCs of all CPUs one clock?  Each CPU
 * repeatedly takes a lock, reads its TSC and compares it with the last TSC
 * any CPU read under the same lock.  Reads under one lock are ordered in
 * time, so on synchronized TSCs the values never go down; a CPU whose TSC
 * lags another's by more than the time to pass the lock sees a smaller
 * value sooner or later.  (Intel SDM vol. 3B §18.17 "Time-Stamp Counter":
 * the TSCs of a package run in step; AMD APM vol. 2 §13.2.4.)  kasane gives
 * every vCPU of a VM the same TSC offset, so a guest's TSCs are
 * synchronized exactly when the host's are.
 */
#include "arch/x86/tsc_sync.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/lapic.h"
#include "kernel/spinlock.h"

#define WARP_ROUNDS 5000
#define WARP_MS     20          /* at most this long in all, per CPU */

/* RDTSC that cannot run ahead of the lock taken before it: MFENCE then
 * LFENCE order it after every earlier load and store (SDM vol. 2B RDTSC;
 * APM vol. 3 RDTSC). */
static inline uint64_t rdtsc_ordered(void)
{
	__asm__ volatile("mfence; lfence" ::: "memory");
	return rdtsc();
}

bool tsc_synchronized;

static spinlock_t warp_lock;
static uint64_t warp_last;
static volatile bool warp_seen;
static volatile unsigned warp_ready, warp_done;

static void warp_loop(void *arg)
{
	unsigned n = *(unsigned *)arg;

	/* Start together, so the CPUs' reads interleave. */
	__atomic_fetch_add(&warp_ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&warp_ready, __ATOMIC_ACQUIRE) < n)
		cpu_relax();
	/* Bounded in rounds and in time (but at least 100 rounds): under an
	 * emulator that runs more CPUs than it has host threads, each
	 * hand-over of the lock may wait for the host to schedule its holder. */
	uint64_t end = rdtsc() + tsc_khz * WARP_MS;
	for (int i = 0; i < WARP_ROUNDS && !warp_seen && (i < 100 || rdtsc() < end); i++) {
		spin_lock(&warp_lock);
		uint64_t t = rdtsc_ordered();
		if (t < warp_last)
			warp_seen = true;
		warp_last = t;
		spin_unlock(&warp_lock);
	}
	__atomic_fetch_add(&warp_done, 1, __ATOMIC_ACQ_REL);
}

bool tsc_sync_check(void)
{
	static unsigned n;

	n = nr_cpus_online;
	warp_ready = warp_done = 0;
	warp_seen = false;
	warp_last = 0;
	for (unsigned cpu = 1; cpu < MAX_CPUS; cpu++)
		if (percpu[cpu].online)
			smp_call(cpu, warp_loop, &n, false);
	warp_loop(&n);
	while (__atomic_load_n(&warp_done, __ATOMIC_ACQUIRE) < n)
		cpu_relax();
	tsc_synchronized = !warp_seen;
	return tsc_synchronized;
}
