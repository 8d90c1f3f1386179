/*
 * Local APIC access and the timer (SDM vol. 3A ch. 11; register offsets
 * from Table 11-1; x2APIC MSRs are 0x800 + offset/16, §11.12.1.2).
 */
#include "arch/x86/lapic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "kernel/log.h"

#define MSR_APIC_BASE     0x1b
#define APIC_BASE_EN      (1ULL << 11)
#define APIC_BASE_EXTD    (1ULL << 10)

#define LAPIC_ID          0x020
#define LAPIC_TPR         0x080
#define LAPIC_EOI         0x0b0
#define LAPIC_SVR         0x0f0
#define LAPIC_ESR         0x280
#define LAPIC_ICR_LO      0x300
#define LAPIC_ICR_HI      0x310
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_LVT_LINT0   0x350
#define LAPIC_LVT_LINT1   0x360
#define LAPIC_LVT_ERROR   0x370
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_CUR   0x390
#define LAPIC_TIMER_DIV   0x3e0
#define LVT_MASKED        (1u << 16)
#define ICR_PENDING       (1u << 12)

static volatile uint8_t *lapic_mmio;
static bool x2apic;
uint64_t tsc_khz;

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return *(volatile uint32_t *)(lapic_mmio + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		*(volatile uint32_t *)(lapic_mmio + reg) = v;
}

bool lapic_x2apic(void) { return x2apic; }

void lapic_init_bsp(uint64_t base, bool need_x2apic)
{
	bool has_x2apic = cpuid(1, 0).ecx & (1u << 21);

	if (need_x2apic && !has_x2apic)
		pr_warn("lapic: APIC ids above 254 but no x2APIC; those CPUs stay off\n");
	x2apic = need_x2apic && has_x2apic;
	lapic_mmio = map_mmio(base, PAGE_SIZE);
}

void lapic_init_cpu(void)
{
	uint64_t b = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;

	if (x2apic)
		b |= APIC_BASE_EXTD;
	wrmsr(MSR_APIC_BASE, b);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_SVR, 0x100 | 0xff);   /* enabled, spurious vector 0xff */
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);
	return x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_send_ipi(uint32_t dest, uint32_t icr_low)
{
	if (x2apic) {
		wrmsr(0x830, ((uint64_t)dest << 32) | icr_low);
		return;
	}
	uint64_t f = irq_save();
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	for (int i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & ICR_PENDING); i++)
		cpu_relax();
	irq_restore(f);
}

void tsc_calibrate(void (*wait_us)(uint32_t us))
{
	/* Count TSC ticks over 10 ms of the reference clock (the PIT). */
	uint64_t best = ~0ULL;
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = rdtsc();
		wait_us(10000);
		uint64_t d = rdtsc() - t0;
		if (d < best)
			best = d;
	}
	tsc_khz = best / 10;
	if (!tsc_khz)
		tsc_khz = 1000000;      /* never divide by zero below */
}

void udelay(uint64_t us)
{
	uint64_t end = rdtsc() + us * tsc_khz / 1000;
	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}

uint64_t lapic_timer_calibrate(void)
{
	/*
	 * Divide by 16, count down from the maximum for about 10 ms, and
	 * divide the count by the TSC time between the start and the read:
	 * a delay after the wait (an emulator's CPU thread that the host
	 * descheduled) then lengthens both.  Of three rounds the shortest,
	 * the least disturbed, counts.  (Dividing by a nominal 10 ms took
	 * such delays for a faster timer, up to twice as fast under a loaded
	 * QEMU, and every host timer fired that much late.)
	 */
	uint64_t best_tsc = ~0ULL, best_count = 0;

	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = rdtsc();
		lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
		udelay(10000);
		uint32_t left = lapic_read(LAPIC_TIMER_CUR);
		uint64_t t1 = rdtsc();
		lapic_write(LAPIC_TIMER_INIT, 0);
		if (t1 - t0 < best_tsc) {
			best_tsc = t1 - t0;
			best_count = 0xffffffffULL - left;
		}
	}
	uint64_t per_ms = best_tsc ? best_count * tsc_khz / best_tsc : 0;
	return per_ms ? per_ms : 1;
}

void lapic_timer_oneshot(uint64_t ns, uint8_t vector)
{
	/* Rounded up: a timer may fire late by one tick, never early. */
	uint64_t ticks = (ns * this_cpu()->lapic_khz + 999999) / 1000000;

	if (!ns) {
		lapic_write(LAPIC_TIMER_INIT, 0);
		return;
	}
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xffffffffULL)
		ticks = 0xffffffffULL;
	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, vector);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}
