/* Host time; see clock.h. */
#include "core/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"

uint64_t clock_now_ns(void)
{
	/* TSC ticks to ns without overflow for centuries of uptime. */
	uint64_t t = rdtsc();
	return (t / tsc_khz) * 1000000ULL + (t % tsc_khz) * 1000000ULL / tsc_khz;
}

uint64_t clock_ns_to_tsc(uint64_t ns)
{
	return (ns / 1000000ULL) * tsc_khz + (ns % 1000000ULL) * tsc_khz / 1000000ULL;
}

uint64_t clock_tsc_to_ns(uint64_t ticks)
{
	return ticks * 1000 / tsc_khz * 1000 + (ticks * 1000 % tsc_khz) * 1000 / tsc_khz;
}
