/*
 * bench-timer: benchmark, not a test of behaviour.  Timer interrupt
 * latency: TSC ticks from a local APIC timer's deadline to the first
 * instruction of the guest's handler.  For each kind, samples=K samples
 * (default 50, at most 200); prints
 *     bench: timer <mode> <wait> min A median B max C (K samples)
 *     bench-timer: <mode> <wait> samples: <each latency>
 * mode  tsc-deadline  IA32_TSC_DEADLINE (SDM vol. 3A §11.5.4.1), if CPUID
 *                     offers it (QEMU's TCG does not);
 *       one-shot      divide 1 (§11.5.4): the deadline is the TSC at the
 *                     initial-count write plus the count converted to TSC
 *                     ticks (the ratio measured first, over 2^24 ticks);
 * wait  spin          a busy loop with IF = 1;
 *       hlt           sti; hlt.
 * The handler is a stub of its own, not irq64.S: its third instruction
 * reads the TSC, after two pushes, which are subtracted.  Under -icount
 * shift=0 the TSC counts instructions, so the latencies are instructions
 * and the runs deterministic.  Each deadline lies LEAD_TICKS plus a
 * varying part after the arming, so the guest is back in its wait loop
 * when the deadline falls, and samples fall at different phases of
 * whatever clock the platform programs underneath.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "bench-timer";

#define VEC_BENCH       0x41
#define DEFAULT_SAMPLES 50
#define MAX_SAMPLES     200
#define LEAD_TICKS      200000ull       /* arming to deadline, at least */
#define STEP_TICKS      1237ull         /* added per sample, modulo PHASE_TICKS */
#define PHASE_TICKS     50000ull
#define TIMEOUT_TICKS   (1ull << 32)    /* no interrupt by then: lost */
#define CAL_TICKS       (1ull << 24)
#define HANDLER_PRE     2               /* handler instructions before its RDTSC */

enum mode { TSC_DEADLINE, ONE_SHOT };
static const char *const mode_name[] = { "tsc-deadline", "one-shot" };

volatile uint64_t bench_irq_tsc;
volatile uint32_t bench_irq_count;
void bench_timer_entry(void);

/* TSC ticks per timer tick at divide 1, as tsc_num / tsc_den. */
static uint64_t tsc_num, tsc_den;
static int64_t lat[MAX_SAMPLES];

_Static_assert(LAPIC_BASE + APIC_EOI == 0xfee000b0, "EOI address in bench_timer_entry");

/* Interrupt gate target: time stamp, xAPIC EOI (§11.8.5), count, return. */
asm(".text\n"
    ".globl bench_timer_entry\n"
    "bench_timer_entry:\n\t"
    "pushq %rax\n\t"
    "pushq %rdx\n\t"
    "rdtsc\n\t"
    "movl %eax, bench_irq_tsc(%rip)\n\t"
    "movl %edx, bench_irq_tsc+4(%rip)\n\t"
    "movl $0xfee000b0, %eax\n\t"
    "movl $0, (%rax)\n\t"
    "incl bench_irq_count(%rip)\n\t"
    "popq %rdx\n\t"
    "popq %rax\n\t"
    "iretq\n");

/* Points vector vec of the IDT irq_init() built at fn (same selector and type). */
static void set_gate(unsigned vec, void (*fn)(void))
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } p;
	uintptr_t a = (uintptr_t)fn;

	asm volatile("sidt %0" : "=m"(p));
	volatile uint32_t *g = (volatile uint32_t *)(uintptr_t)(p.base + vec * 16);
	g[0] = (g[0] & 0xffff0000u) | (uint32_t)(a & 0xffff);
	g[1] = (uint32_t)(a & 0xffff0000u) | (g[1] & 0xffff);
	g[2] = (uint32_t)(a >> 32);
}

/* The timer's rate against the TSC, at divide 1, masked. */
static bool calibrate(void)
{
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_LVT_ONESHOT | VEC_BENCH);
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV1);
	lapic_write(APIC_TIMER_ICR, 0xffffffffu);
	uint64_t t0 = rdtsc();
	uint32_t c0 = lapic_read(APIC_TIMER_CCR);
	while (rdtsc() - t0 < CAL_TICKS)
		;
	uint64_t t1 = rdtsc();
	uint32_t c1 = lapic_read(APIC_TIMER_CCR);
	lapic_write(APIC_TIMER_ICR, 0);
	if (c1 >= c0) {
		guest_error("the local APIC timer does not count down (%u, then %u)", c0, c1);
		return false;
	}
	tsc_num = t1 - t0;
	tsc_den = c0 - c1;
	guest_printf("bench-timer: %lu TSC ticks per %lu timer ticks at divide 1\n",
		     tsc_num, tsc_den);
	return true;
}

static bool wait_irq(bool halt)
{
	uint64_t end = rdtsc() + TIMEOUT_TICKS;

	if (!halt) {
		while (!bench_irq_count)
			if (rdtsc() > end)
				return false;
		return true;
	}
	/* STI's shadow covers HLT: an interrupt cannot slip in before it. */
	irq_disable();
	while (!bench_irq_count && rdtsc() < end)
		asm volatile("sti; hlt; cli" ::: "memory");
	irq_enable();
	return bench_irq_count != 0;
}

/* Arms the timer lead TSC ticks ahead; the deadline in TSC ticks. */
static uint64_t arm(enum mode m, uint64_t lead)
{
	if (m == TSC_DEADLINE) {
		uint64_t deadline = rdtsc() + lead;
		wrmsr(MSR_TSC_DEADLINE, deadline);
		return deadline;
	}
	uint32_t count = (uint32_t)(lead * tsc_den / tsc_num), lo, hi;
	/* The count starts at the write, the instruction after RDTSC. */
	asm volatile("rdtsc\n\tmovl %2, (%3)"
		     : "=&a"(lo), "=&d"(hi)
		     : "r"(count), "r"(LAPIC_BASE + APIC_TIMER_ICR) : "memory");
	return ((uint64_t)hi << 32 | lo) + 1 + count * tsc_num / tsc_den;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static void sort(int64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && cmp_i64(v[j - 1], v[j]) > 0; j--) {
			int64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static void run(enum mode m, bool halt, unsigned n)
{
	const char *wait = halt ? "hlt" : "spin";

	if (m == TSC_DEADLINE) {
		/* §11.5.4.1: select the mode before writing the MSR. */
		lapic_write(APIC_LVT_TIMER, APIC_LVT_TSC_DEADLINE | VEC_BENCH);
		asm volatile("mfence" ::: "memory");
	} else {
		lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV1);
		lapic_write(APIC_LVT_TIMER, APIC_LVT_ONESHOT | VEC_BENCH);
	}
	for (unsigned i = 0; i < n; i++) {
		bench_irq_count = 0;
		uint64_t deadline = arm(m, LEAD_TICKS + i * STEP_TICKS % PHASE_TICKS);
		if (!wait_irq(halt)) {
			guest_error("%s %s: no interrupt within %llu TSC ticks of sample %u",
				    mode_name[m], wait, TIMEOUT_TICKS, i);
			return;
		}
		lat[i] = (int64_t)(bench_irq_tsc - HANDLER_PRE - deadline);
	}
	guest_printf("bench-timer: %s %s samples:", mode_name[m], wait);
	for (unsigned i = 0; i < n; i++)
		guest_printf(" %ld", lat[i]);
	guest_printf("\n");
	sort(lat, n);
	guest_printf("bench: timer %s %s min %ld median %ld max %ld (%u samples)\n",
		     mode_name[m], wait, lat[0], lat[n / 2], lat[n - 1], n);
}

void test_main(void)
{
	uint64_t n = cmdline_u64("samples", DEFAULT_SAMPLES);
	uint32_t r[4];

	if (n < 1 || n > MAX_SAMPLES) {
		guest_error("samples=%lu: 1 to %d", n, MAX_SAMPLES);
		return;
	}
	irq_init();
	if (!lapic_enable())
		return;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* and mask it all */
	set_gate(VEC_BENCH, bench_timer_entry);
	if (!calibrate())
		return;
	cpuid(1, 0, r);
	bool tscdl = r[2] & CPUID1_ECX_TSC_DEADLINE;
	if (!tscdl)
		guest_printf("bench: timer tsc-deadline not offered (CPUID.1:ECX[24] clear)\n");
	irq_enable();
	for (int halt = 0; halt <= 1; halt++) {
		if (tscdl)
			run(TSC_DEADLINE, halt, (unsigned)n);
		run(ONE_SHOT, halt, (unsigned)n);
	}
	irq_disable();
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_BENCH);
}
