/*
 * noisy: the disturbing neighbour of the performance-isolation benchmark.
 * Command line mode= and iters=:
 *   mode=spin   iters LCG steps, no exits (default 1000 million);
 *   mode=exits  iters OUTs to port 0x80, each an I/O exit (default 1 million);
 *   mode=cpuid  iters CPUIDs, each an exit (default 1 million);
 *   mode=ipi    iters self-IPIs through the local APIC's ICR (shorthand
 *               "self"), each awaited in its handler (default 200000).
 * delay_ms=N (default 0) first spins N ms of the guest's own clock, so that
 * the timed work runs while a neighbour's noise, which takes a while to
 * start, is under way (the isolation benchmark's neighbour).
 * Prints
 *     noisy: mode <mode>, <iters> iterations in <ticks> TSC ticks (<ticks> each)
 * and exits 0.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "noisy";

#define VEC_SELF        0x40
#define IPI_WAIT_US     1000000
#define MAX_DELAY_MS    60000

static volatile uint64_t received;

static void self_irq(unsigned vector)
{
	(void)vector;
	received++;
	lapic_eoi();
}

static void run_spin(uint64_t iters)
{
	uint64_t sum = 0, x = work_run(1, iters, &sum);

	guest_check_eq("LCG state after the loop vs jump-ahead", x, work_expect(1, iters));
}

static void run_exits(uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		outb(0x80, (uint8_t)i);
}

static void run_cpuid(uint64_t iters)
{
	uint32_t r[4];

	for (uint64_t i = 0; i < iters; i++)
		cpuid(0, 0, r);
}

static void run_ipi(uint64_t iters)
{
	irq_init();
	if (!time_init() || !lapic_enable())
		return;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);
	irq_set_handler(VEC_SELF, self_irq);
	irq_enable();
	for (uint64_t i = 0; i < iters; i++) {
		if (!lapic_send_ipi(0, ICR_SELF | ICR_FIXED | VEC_SELF) ||
		    !wait_until(received == i + 1, IPI_WAIT_US)) {
			guest_fail("self-IPI %lu: %lu received", i, received);
			break;
		}
	}
	irq_disable();
	guest_printf("noisy: %lu self-IPIs received\n", received);
}

static const struct {
	const char *name;
	void (*run)(uint64_t iters);
	uint64_t iters;
} modes[] = {
	{ "spin", run_spin, 1000000000 },
	{ "exits", run_exits, 1000000 },
	{ "cpuid", run_cpuid, 1000000 },
	{ "ipi", run_ipi, 200000 },
};

/* Spins ms milliseconds of the guest's clock (the TSC, calibrated). */
static bool delay(uint64_t ms)
{
	if (ms > MAX_DELAY_MS) {
		guest_error("delay_ms=%lu: expected at most %d", ms, MAX_DELAY_MS);
		return false;
	}
	if (!ms)
		return true;
	if (!tsc_khz && !time_init())
		return false;
	uint64_t end = rdtsc() + us_to_tsc(ms * 1000);
	while (rdtsc() < end)
		;
	return true;
}

void test_main(void)
{
	char mode[16] = "spin";

	if (mb2_valid(boot_info))
		cmdline_get(mb2_cmdline(boot_info), "mode", mode, sizeof(mode));
	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
		if (strcmp(mode, modes[i].name))
			continue;
		uint64_t iters = cmdline_u64("iters", modes[i].iters);
		if (!delay(cmdline_u64("delay_ms", 0)))
			return;
		uint64_t t0 = rdtsc();
		modes[i].run(iters);
		uint64_t ticks = rdtsc() - t0;
		guest_printf("noisy: mode %s, %lu iterations in %lu TSC ticks (%lu each)\n", mode,
			     iters, ticks, iters ? ticks / iters : 0);
		return;
	}
	guest_error("mode=%s: expected spin, exits, cpuid or ipi", mode);
}
