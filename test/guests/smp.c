/*
 * smp: all the VM's CPUs doing one job (run with 4 and 8 vCPUs).
 *  - the CPU count agrees everywhere: MADT enabled local APICs, the MP
 *    table's enabled processor entries (same APIC ids, its BSP = us),
 *    fw_cfg FW_CFG_NB_CPUS, and expect_cpus=N if the command line has it;
 *  - every AP starts (INIT, STARTUP, STARTUP) and reads its own APIC id,
 *    which must be the MADT's;
 *  - after a start barrier, each CPU takes a disjoint slice of [0, N):
 *    counts the primes and sums a 64-bit mix of each number; the BSP adds
 *    the slices up and compares with the same computation done by itself
 *    alone.  Per-CPU times are printed.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "smp";

#define N               300000u
#define START_US        20000000        /* only a failure waits this long */
#define WORK_US         60000000        /* TCG with 8 vCPUs on few host CPUs is slow */

struct slice {
	uint64_t sum, primes, tsc;
	uint32_t apic_id;
} __attribute__((aligned(64)));

static struct slice slices[MAX_CPUS];
static volatile unsigned arrived, done, go;
static unsigned ncpu;

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static uint64_t mix(uint64_t x)        /* SplitMix64's finalizer */
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void compute(uint32_t lo, uint32_t hi, struct slice *s)
{
	uint64_t t0 = rdtsc(), sum = 0, primes = 0;

	for (uint32_t i = lo; i < hi; i++) {
		sum += mix(i);
		primes += is_prime(i);
	}
	s->sum = sum;
	s->primes = primes;
	s->tsc = rdtsc() - t0;
}

static void run_slice(unsigned cpu)
{
	compute((uint32_t)((uint64_t)N * cpu / ncpu), (uint32_t)((uint64_t)N * (cpu + 1) / ncpu),
		&slices[cpu]);
}

static void ap_main(unsigned cpu)
{
	slices[cpu].apic_id = lapic_id();
	__atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		cpu_relax();
	run_slice(cpu);
	__atomic_fetch_add(&done, 1, __ATOMIC_ACQ_REL);
}

static bool in_list(uint32_t id, const uint32_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void check_counts(const struct madt_info *m)
{
	struct mp_info mp;
	uint64_t fw = fwcfg_read_le(FW_CFG_NB_CPUS, 2), want;
	char buf[32];

	if (mp_read(&mp)) {
		guest_printf("smp: MP table: %u CPUs, BSP APIC id %d, IOAPIC id %u at 0x%x\n",
			     mp.nr_cpus, mp.bsp_apic_id, mp.ioapic_id, mp.ioapic_addr);
		guest_check_eq("MP table CPUs vs MADT CPUs", mp.nr_cpus, m->nr_cpus);
		for (unsigned i = 0; i < mp.nr_cpus && i < MAX_CPUS; i++)
			if (!in_list(mp.apic_ids[i], m->apic_ids, m->nr_cpus))
				guest_fail("MP table CPU with APIC id %u is not in the MADT",
					   mp.apic_ids[i]);
		guest_check_eq("MP table BSP APIC id vs ours", (uint64_t)mp.bsp_apic_id, lapic_id());
	}
	guest_printf("smp: fw_cfg: %lu CPUs\n", fw);
	guest_check_eq("FW_CFG_NB_CPUS vs MADT CPUs", fw, m->nr_cpus);
	if (mb2_valid(boot_info) && cmdline_get(mb2_cmdline(boot_info), "expect_cpus", buf,
						sizeof(buf))) {
		if (parse_u64(buf, &want))
			guest_check_eq("MADT CPUs vs expect_cpus=", m->nr_cpus, want);
		else
			guest_error("expect_cpus=%s is not a number", buf);
	}
}

void test_main(void)
{
	struct madt_info m;
	struct slice all = { 0 }, alone;

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	madt_print(&m);
	check_counts(&m);

	ncpu = m.nr_cpus;       /* read by the APs: fixed before they start */
	unsigned started = smp_start_aps(&m, ap_main);
	if (started != m.nr_cpus) {
		/* Some AP did not come up (already a FAILURE): the slices would not cover [0, N). */
		guest_printf("smp: only %u of %u CPUs started\n", started, m.nr_cpus);
		return;
	}
	if (!wait_until(arrived == ncpu - 1, START_US)) {
		guest_fail("%u of %u APs reached the start barrier", arrived, ncpu - 1);
		return;
	}
	slices[0].apic_id = lapic_id();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	run_slice(0);
	if (!wait_until(done == ncpu - 1, WORK_US)) {
		guest_fail("%u of %u APs finished their slice in %d s", done, ncpu - 1,
			   WORK_US / 1000000);
		return;
	}
	for (unsigned i = 0; i < ncpu; i++) {
		guest_printf("smp: CPU %u (APIC id %u): %lu primes, sum 0x%016lx, %lu us\n", i,
			     slices[i].apic_id, slices[i].primes, slices[i].sum,
			     tsc_to_us(slices[i].tsc));
		guest_check_eq("APIC id read on the CPU vs the MADT", slices[i].apic_id,
			       smp_apic_ids[i]);
		all.sum += slices[i].sum;
		all.primes += slices[i].primes;
	}
	compute(0, N, &alone);
	guest_printf("smp: %u CPUs took part: %lu primes below %u, sum 0x%016lx; "
		     "one CPU alone: %lu primes, sum 0x%016lx, %lu us\n", ncpu, all.primes, N,
		     all.sum, alone.primes, alone.sum, tsc_to_us(alone.tsc));
	guest_check_eq("primes counted in parallel vs alone", all.primes, alone.primes);
	guest_check_eq("sum computed in parallel vs alone", all.sum, alone.sum);
}
