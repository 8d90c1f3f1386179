/*
 * pvclock: kvmclock as stock Linux drives it (Linux Documentation/virt/
 * kvm/x86/cpuid.rst, KVM_FEATURE_CLOCKSOURCE2 and _STABLE_BIT; msr.rst,
 * MSR_KVM_SYSTEM_TIME_NEW and MSR_KVM_WALL_CLOCK_NEW; core/pvclock.c).
 *  1. CPUID 0x40000101 shows CLOCKSOURCE2, and the stable bit exactly
 *     when leaf 0x80000007 shows an invariant TSC.
 *  2. Both MSRs refuse (#GP) a record that is not 4-byte aligned, or not
 *     all RAM (above RAM, in the local APIC's page, across RAM's end).
 *  3. The record: an even version, the stable flag as CPUID says.
 *  4. kvmclock, read as Linux reads it, never goes back over 100000
 *     reads; over 10 ms windows of PIT channel 2 it counts the PIT's
 *     time, and the TSC runs at the frequency the record gives (read with
 *     Linux's own formula, pvclock_tsc_khz), both to 1 %.
 *  5. A second record, written later, is the same clock: the same fields
 *     past the version.
 *  6. The wall-clock record plus kvmclock is the CMOS RTC's time, to 2 s.
 * With paravirt=0 on its command line (the VM's paravirt = off) it checks
 * instead that leaf 0x40000101 is 0 and both MSRs raise #GP.
 */
#include "test/guests/lib/pc.h"
#include "lib/civil.h"

const char test_name[] = "pvclock";

#define MSR_KVM_WALL_CLOCK_NEW  0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define KVM_FEATURES_LEAF       0x40000101u
#define KVM_FEATURE_CLOCKSOURCE2        (1u << 3)
#define KVM_FEATURE_STABLE_BIT          (1u << 24)
#define E7_EDX_INVTSC                   (1u << 8)
#define PVCLOCK_TSC_STABLE_BIT          0x01u

struct pvclock_time_info {
	volatile uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	volatile uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

static struct pvclock_time_info rec[2] __attribute__((aligned(64)));
static struct pvclock_wall_clock wall __attribute__((aligned(16)));

static void wrmsr_gp(const char *what, uint32_t msr, uint64_t val)
{
	expect_exception(EXC_GP);
	asm volatile("1: wrmsr\n2:\n" EXTABLE("1b", "2b")
		     : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
	exception_check(what, EXC_GP, 0, NULL);
}

static void rdmsr_gp(const char *what, uint32_t msr)
{
	uint32_t lo = 0, hi = 0;

	expect_exception(EXC_GP);
	asm volatile("1: rdmsr\n2:\n" EXTABLE("1b", "2b") : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	exception_check(what, EXC_GP, 0, NULL);
}

/* Linux's pvclock_clocksource_read() without its cross-CPU fix-up. */
static uint64_t kvmclock_ns(const struct pvclock_time_info *t)
{
	uint32_t ver;
	uint64_t ns;

	do {
		ver = t->version;
		asm volatile("" ::: "memory");
		uint64_t delta = rdtsc() - t->tsc_timestamp;
		delta = t->shift < 0 ? delta >> -t->shift : delta << t->shift;
		ns = t->system_time + (uint64_t)(((unsigned __int128)delta * t->mul) >> 32);
		asm volatile("" ::: "memory");
	} while ((ver & 1) || ver != t->version);
	return ns;
}

/* Linux's pvclock_tsc_khz(). */
static uint64_t record_khz(const struct pvclock_time_info *t)
{
	uint64_t khz = (1000000ULL << 32) / t->mul;

	return t->shift < 0 ? khz << -t->shift : khz >> t->shift;
}

/* ---- the CMOS RTC's time, as seconds since 1970 ---------------------------- */

static unsigned from_bcd(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 15);
}

static uint64_t rtc_seconds(void)
{
	uint8_t r[7], again[7];
	static const uint8_t reg[7] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32 };

	/* Read until two reads agree outside an update (MC146818 data sheet). */
	for (int tries = 0; tries < 100; tries++) {
		while (cmos_read(0x0a) & 0x80)
			cpu_relax();
		for (int i = 0; i < 7; i++)
			r[i] = cmos_read(reg[i]);
		for (int i = 0; i < 7; i++)
			again[i] = cmos_read(reg[i]);
		if (!memcmp(r, again, sizeof(r)))
			break;
	}
	uint8_t b = cmos_read(0x0b);
	bool bin = b & 0x04;
	unsigned hour = from_bcd(r[2] & 0x7f, bin);
	if (!(b & 0x02) && (r[2] & 0x80))
		hour = hour % 12 + 12;          /* 12-hour mode, PM */
	else if (!(b & 0x02))
		hour %= 12;
	unsigned year = from_bcd(r[6], bin) * 100 + from_bcd(r[5], bin);
	int64_t days = days_from_civil(year, from_bcd(r[4], bin), from_bcd(r[3], bin));
	return (uint64_t)days * 86400 + hour * 3600 + from_bcd(r[1], bin) * 60 + from_bcd(r[0], bin);
}

/* ---- the checks ------------------------------------------------------------- */

static bool check_cpuid(void)
{
	uint32_t r[4], e[4];

	cpuid(KVM_FEATURES_LEAF, 0, r);
	cpuid(0x80000007, 0, e);
	guest_printf("pvclock: leaf 0x40000101 EAX 0x%x; invariant TSC %s\n", r[0],
		     (e[3] & E7_EDX_INVTSC) ? "yes" : "no");
	if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2)) {
		guest_fail("no KVM_FEATURE_CLOCKSOURCE2 in leaf 0x40000101");
		return false;
	}
	guest_check_eq("stable bit as the invariant TSC", !!(r[0] & KVM_FEATURE_STABLE_BIT),
		       !!(e[3] & E7_EDX_INVTSC));
	return true;
}

static void check_refused(void)
{
	uint64_t pa = (uint64_t)(uintptr_t)&rec[0];

	wrmsr_gp("system time record not 4-byte aligned", MSR_KVM_SYSTEM_TIME_NEW, (pa + 2) | 1);
	wrmsr_gp("system time record above RAM", MSR_KVM_SYSTEM_TIME_NEW, (1ull << 40) | 1);
	wrmsr_gp("system time record in the local APIC's page", MSR_KVM_SYSTEM_TIME_NEW, LAPIC_BASE | 1);
	wrmsr_gp("system time record wrapping past 2^64", MSR_KVM_SYSTEM_TIME_NEW, ~0ull);
	wrmsr_gp("wall clock record not 4-byte aligned", MSR_KVM_WALL_CLOCK_NEW, pa + 1);
	wrmsr_gp("wall clock record above RAM", MSR_KVM_WALL_CLOCK_NEW, 1ull << 40);
	guest_check_eq("system time MSR after refused writes", rdmsr(MSR_KVM_SYSTEM_TIME_NEW), 0);
}

static uint64_t check_record(bool stable)
{
	struct pvclock_time_info *t = &rec[0];
	uint64_t pa = (uint64_t)(uintptr_t)t;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, pa | 1);
	guest_check_eq("system time MSR read back", rdmsr(MSR_KVM_SYSTEM_TIME_NEW), pa | 1);
	uint64_t khz = record_khz(t);
	guest_printf("pvclock: record version %u mul 0x%x shift %d flags 0x%x: %lu kHz\n",
		     t->version, t->mul, t->shift, t->flags, khz);
	if (!t->version || (t->version & 1))
		guest_fail("record version %u: expected even, not 0", t->version);
	guest_check_eq("stable flag as CPUID's stable bit", t->flags & PVCLOCK_TSC_STABLE_BIT, stable);
	return khz;
}

/*
 * One 10 ms window of PIT channel 2 (mode 0, as lib/time.c): its length
 * is known only between bounds, in TSC ticks and in kvmclock ns, each
 * from the last reading before an event to the first after the next one,
 * so the bounds hold however long the vCPU was held up.
 */
#define WIN_COUNTS      11932u          /* 10 ms of 1.193182 MHz */
#define WIN_NS          ((uint64_t)WIN_COUNTS * 1000000000u / PIT_HZ)
#define MAX(a, b)       ((a) > (b) ? (a) : (b))
#define MIN(a, b)       ((a) < (b) ? (a) : (b))

struct window { uint64_t tsc_lo, tsc_hi, ns_lo, ns_hi; };

static bool pit_window(const struct pvclock_time_info *t, struct window *w)
{
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);         /* gate on, speaker off */
	outb(0x43, 0xb0);                               /* ch 2, lo/hi, mode 0 */
	outb(0x42, WIN_COUNTS & 0xff);
	uint64_t s0 = rdtsc(), k0 = kvmclock_ns(t);
	outb(0x42, WIN_COUNTS >> 8);                    /* counting starts */
	uint64_t k1 = kvmclock_ns(t), s1 = rdtsc();
	uint64_t e0 = s1, f0 = k1, e1, f1;

	for (;;) {
		uint64_t before = rdtsc(), kb = kvmclock_ns(t);
		bool high = inb(0x61) & 0x20;           /* OUT2 high at terminal count */
		f1 = kvmclock_ns(t);
		e1 = rdtsc();
		if (high)
			break;
		e0 = before;
		f0 = kb;
		if (e1 - s0 > (1ull << 36))
			return false;
	}
	w->tsc_lo = e0 - s1;
	w->tsc_hi = e1 - s0;
	w->ns_lo = f0 - k1;
	w->ns_hi = f1 - k0;
	return true;
}

/* kvmclock never goes back, and over PIT windows it counts the PIT's time
 * and the record's frequency the TSC's rate, to 1 %.  A held-up vCPU only
 * widens the bounds, so a failure is a wrong clock, not a busy host. */
static void check_clock(uint64_t khz)
{
	struct pvclock_time_info *t = &rec[0];
	uint64_t last = kvmclock_ns(t);

	for (unsigned i = 0; i < 100000; i++) {
		uint64_t now = kvmclock_ns(t);
		if (now < last) {
			guest_fail("kvmclock went back from %lu to %lu ns", last, now);
			return;
		}
		last = now;
	}
	struct window best = { 0, ~0ull, 0, ~0ull };
	uint64_t want_tsc = WIN_NS * khz / 1000000;
	for (unsigned i = 0; i < 10; i++) {
		struct window w;
		if (!pit_window(t, &w)) {
			guest_error("PIT channel 2 output (port 0x61 bit 5) never rose");
			return;
		}
		best.tsc_lo = MAX(best.tsc_lo, w.tsc_lo);
		best.tsc_hi = MIN(best.tsc_hi, w.tsc_hi);
		best.ns_lo = MAX(best.ns_lo, w.ns_lo);
		best.ns_hi = MIN(best.ns_hi, w.ns_hi);
	}
	guest_printf("pvclock: a %lu ns PIT window: %lu..%lu ns of kvmclock, %lu..%lu TSC ticks "
		     "(%lu at the record's frequency)\n", WIN_NS, best.ns_lo, best.ns_hi,
		     best.tsc_lo, best.tsc_hi, want_tsc);
	if (best.ns_lo > WIN_NS * 101 / 100 || best.ns_hi < WIN_NS * 99 / 100)
		guest_fail("kvmclock counted %lu..%lu ns in a %lu ns PIT window",
			   best.ns_lo, best.ns_hi, WIN_NS);
	if (best.tsc_lo > want_tsc * 101 / 100 || best.tsc_hi < want_tsc * 99 / 100)
		guest_fail("the TSC counted %lu..%lu ticks in a PIT window, the record's %lu kHz "
			   "makes it %lu", best.tsc_lo, best.tsc_hi, khz, want_tsc);
}

static void check_second_record(void)
{
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&rec[1] | 1);
	if (memcmp((const uint8_t *)&rec[0] + 4, (const uint8_t *)&rec[1] + 4, sizeof(rec[0]) - 4))
		guest_fail("a second record is not the same clock (tsc_timestamp %lu/%lu, "
			   "system_time %lu/%lu)", rec[0].tsc_timestamp, rec[1].tsc_timestamp,
			   rec[0].system_time, rec[1].system_time);
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	guest_check_eq("system time MSR off", rdmsr(MSR_KVM_SYSTEM_TIME_NEW), 0);
}

static void check_wall(void)
{
	uint64_t pa = (uint64_t)(uintptr_t)&wall;

	wrmsr(MSR_KVM_WALL_CLOCK_NEW, pa);
	guest_check_eq("wall clock MSR read back", rdmsr(MSR_KVM_WALL_CLOCK_NEW), pa);
	uint64_t now = wall.sec + (wall.nsec + kvmclock_ns(&rec[0])) / 1000000000ull;
	uint64_t rtc = rtc_seconds();
	guest_printf("pvclock: wall clock %u.%09u + kvmclock = %lu s; the RTC: %lu s\n",
		     wall.sec, wall.nsec, now, rtc);
	if ((wall.version & 1) || !wall.version)
		guest_fail("wall clock version %u: expected even, not 0", wall.version);
	if (now + 2 < rtc || now > rtc + 2)
		guest_fail("wall clock plus kvmclock is %lu s, the RTC says %lu s", now, rtc);
}

static void check_off(void)
{
	uint32_t r[4];

	cpuid(KVM_FEATURES_LEAF, 0, r);
	guest_check_eq("leaf 0x40000101 EAX with paravirt off", r[0], 0);
	wrmsr_gp("system time MSR with paravirt off", MSR_KVM_SYSTEM_TIME_NEW,
		 (uint64_t)(uintptr_t)&rec[0] | 1);
	rdmsr_gp("system time MSR read with paravirt off", MSR_KVM_SYSTEM_TIME_NEW);
	wrmsr_gp("wall clock MSR with paravirt off", MSR_KVM_WALL_CLOCK_NEW, (uint64_t)(uintptr_t)&wall);
	rdmsr_gp("wall clock MSR read with paravirt off", MSR_KVM_WALL_CLOCK_NEW);
	guest_printf("pvclock: paravirt off: no kvmclock, MSRs #GP\n");
}

void test_main(void)
{
	if (!time_init())
		return;
	if (!cmdline_u64("paravirt", 1)) {
		check_off();
		return;
	}
	if (!check_cpuid())
		return;
	uint32_t r[4];
	cpuid(KVM_FEATURES_LEAF, 0, r);
	check_refused();
	check_clock(check_record(!!(r[0] & KVM_FEATURE_STABLE_BIT)));
	check_second_record();
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&rec[0] | 1);
	check_wall();
	guest_printf("pvclock: done\n");
}
