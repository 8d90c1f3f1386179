/*
 * ipi: inter-processor interrupts between the VM's CPUs (Intel SDM vol. 3A
 * §11.6), run with 4 vCPUs (at least 2).  The BSP finds the APs in the
 * MADT and starts them (INIT, STARTUP, STARTUP); each AP enables its local
 * APIC, loads the shared IDT and waits in `sti; hlt`.  Then, counting per
 * CPU which one took each interrupt:
 *   1. a fixed IPI to each AP by APIC id: only that AP counts it;
 *   2. shorthand "all excluding self": every AP, not the BSP;
 *   3. shorthand "all including self": every CPU;
 *   4. every AP sends a fixed IPI back to the BSP's APIC id, each with
 *      its own vector (IPIs of one vector may merge in the IRR, §11.8.4);
 *   5. shorthand "self" on the BSP; ESR must stay 0;
 *   6. if CPUID.1:ECX[21]: the BSP switches to x2APIC mode (SDM §11.12),
 *      reads its x2APIC id (MSR 0x802: the same id), version and logical
 *      id (LDR, §11.12.10.2), sends itself an IPI through the SELF IPI
 *      MSR 0x83F and one to an xAPIC-mode AP through the ICR MSR 0x830.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "ipi";

#define VEC_COUNT       0x50    /* counted per CPU */
#define VEC_KICK        0x51    /* only wakes an AP up */
#define VEC_REPLY       0x60    /* AP -> BSP: 0x60 + AP's CPU index */
#define WAIT_US         20000000        /* only a failure waits this long */
#define SETTLE_US       10000

static volatile unsigned count[MAX_CPUS], ready[MAX_CPUS], reply_req[MAX_CPUS];
static volatile uint32_t seen_id[MAX_CPUS];
static volatile uint32_t replies;       /* bit i: CPU i's reply reached the BSP */
static volatile unsigned replies_elsewhere;
static unsigned ncpu;

static void count_irq(unsigned vector)
{
	(void)vector;
	__atomic_fetch_add(&count[smp_this_cpu()], 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

static void kick_irq(unsigned vector)
{
	(void)vector;
	lapic_eoi();
}

static void reply_irq(unsigned vector)
{
	if (smp_this_cpu() == 0)
		__atomic_fetch_or(&replies, 1u << (vector - VEC_REPLY), __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&replies_elsewhere, 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

static void ap_main(unsigned cpu)
{
	lapic_enable();
	seen_id[cpu] = lapic_id();
	__atomic_store_n(&ready[cpu], 1, __ATOMIC_RELEASE);
	irq_disable();
	for (;;) {
		if (__atomic_exchange_n(&reply_req[cpu], 0, __ATOMIC_ACQ_REL))
			lapic_send_ipi(smp_apic_ids[0], ICR_FIXED | (VEC_REPLY + cpu));
		irq_wait();
	}
}

static bool counts_are(const unsigned *want)
{
	for (unsigned i = 0; i < ncpu; i++)
		if (count[i] != want[i])
			return false;
	return true;
}

/* Waits for the counts to reach want, then a little longer; FAILURE if they differ. */
static void expect_counts(const char *what, const unsigned *want)
{
	char got[8 * MAX_CPUS + 1], exp[8 * MAX_CPUS + 1];
	size_t g = 0, e = 0;

	wait_until(counts_are(want), WAIT_US);
	delay_us(SETTLE_US);
	for (unsigned i = 0; i < ncpu; i++) {
		g += guest_snprintf(got + g, sizeof(got) - g, " %u", count[i]);
		e += guest_snprintf(exp + e, sizeof(exp) - e, " %u", want[i]);
	}
	guest_printf("ipi: %s: counts per CPU%s\n", what, got);
	if (!counts_are(want))
		guest_fail("%s: counts per CPU%s, expected%s", what, got, exp);
}

static void send(const char *what, uint32_t dest, uint32_t icr)
{
	if (!lapic_send_ipi(dest, icr))
		guest_fail("%s: ICR 0x%x to %u stays pending", what, icr, dest);
}

static void test_x2apic(unsigned *want)
{
	if (!lapic_x2apic_supported()) {
		guest_skip("CPUID.1:ECX[21] clear: no x2APIC mode to test");
		return;
	}
	uint32_t xid = lapic_id(), ver = lapic_read(APIC_VERSION);
	lapic_x2apic_enable();
	uint64_t base = rdmsr(MSR_APIC_BASE);
	uint32_t x2id = (uint32_t)rdmsr(MSR_X2APIC(APIC_ID));
	uint32_t x2ver = (uint32_t)rdmsr(MSR_X2APIC(APIC_VERSION));
	uint32_t ldr = (uint32_t)rdmsr(MSR_X2APIC(APIC_LDR));
	guest_printf("ipi: x2APIC: IA32_APIC_BASE 0x%lx, id %u (xAPIC id %u), version 0x%x, "
		     "LDR 0x%x\n", base, x2id, xid, x2ver, ldr);
	if (!(base & APIC_BASE_EXTD)) {
		guest_fail("IA32_APIC_BASE 0x%lx: EXTD did not stick", base);
		return;
	}
	guest_check_eq("x2APIC id (MSR 0x802) vs xAPIC id", x2id, xid);
	guest_check_eq("x2APIC version (MSR 0x803) vs xAPIC version", x2ver, ver);
	guest_check_eq("x2APIC LDR (MSR 0x80D)", ldr, (x2id >> 4) << 16 | 1u << (x2id & 15));

	wrmsr(MSR_X2APIC(APIC_SELF_IPI), VEC_COUNT);
	want[0]++;
	expect_counts("x2APIC SELF IPI MSR", want);
	send("x2APIC ICR to CPU 1", smp_apic_ids[1], ICR_FIXED | VEC_COUNT);
	want[1]++;
	expect_counts("x2APIC ICR MSR to CPU 1", want);
	guest_check_eq("ESR in x2APIC mode", lapic_esr(), 0);
}

void test_main(void)
{
	struct madt_info m;
	unsigned want[MAX_CPUS] = { 0 };

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	madt_print(&m);
	if (m.nr_cpus < 2) {
		guest_error("needs at least 2 CPUs (run with 4), the MADT lists %u", m.nr_cpus);
		return;
	}
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);
	irq_set_handler(VEC_COUNT, count_irq);
	irq_set_handler(VEC_KICK, kick_irq);
	for (unsigned i = 1; i < MAX_CPUS; i++)
		irq_set_handler(VEC_REPLY + i, reply_irq);

	ncpu = smp_start_aps(&m, ap_main);
	guest_printf("ipi: %u of %u CPUs running\n", ncpu, m.nr_cpus);
	if (ncpu < 2)
		return;
	for (unsigned i = 1; i < ncpu; i++) {
		if (!wait_until(__atomic_load_n(&ready[i], __ATOMIC_ACQUIRE), WAIT_US))
			guest_fail("CPU %u did not enable its local APIC", i);
		else
			guest_check_eq("APIC id read by the AP vs the MADT", seen_id[i],
				       smp_apic_ids[i]);
	}
	irq_enable();

	for (unsigned i = 1; i < ncpu; i++) {
		send("fixed IPI", smp_apic_ids[i], ICR_FIXED | VEC_COUNT);
		want[i]++;
		wait_until(count[i] == want[i], WAIT_US);
	}
	expect_counts("fixed IPI to each AP", want);

	send("all excluding self", 0, ICR_ALL_EXCL | ICR_FIXED | VEC_COUNT);
	for (unsigned i = 1; i < ncpu; i++)
		want[i]++;
	expect_counts("all excluding self", want);

	send("all including self", 0, ICR_ALL_INCL | ICR_FIXED | VEC_COUNT);
	for (unsigned i = 0; i < ncpu; i++)
		want[i]++;
	expect_counts("all including self", want);

	for (unsigned i = 1; i < ncpu; i++)
		__atomic_store_n(&reply_req[i], 1, __ATOMIC_RELEASE);
	send("kick", 0, ICR_ALL_EXCL | ICR_FIXED | VEC_KICK);
	uint32_t all = ((1u << ncpu) - 1) & ~1u;
	wait_until(replies == all, WAIT_US);
	delay_us(SETTLE_US);
	guest_printf("ipi: AP -> BSP: CPUs 0x%x replied (bit = CPU), %u IPIs elsewhere\n",
		     replies, replies_elsewhere);
	guest_check_eq("set of APs whose IPI reached the BSP", replies, all);
	guest_check_eq("IPIs for the BSP received elsewhere", replies_elsewhere, 0);

	send("self", 0, ICR_SELF | ICR_FIXED | VEC_COUNT);
	want[0]++;
	expect_counts("self shorthand", want);
	guest_check_eq("ESR after the xAPIC IPIs", lapic_esr(), 0);

	test_x2apic(want);
	irq_disable();
}
