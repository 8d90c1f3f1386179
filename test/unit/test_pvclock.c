/*
 * Host tests of kvmclock (core/pvclock.c; Linux Documentation/virt/kvm/
 * x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW and MSR_KVM_WALL_CLOCK_NEW): the
 * scale against the guest's own formulas, the MSRs' checks, and what the
 * records in guest RAM hold.
 */
#include "test/unit/core_fake.h"
#include "core/msr.h"
#include "core/pvclock.h"
#include "core/vm_hold.h"
#include "drivers/cmos.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc_sync.h"

#define TIME_GPA        0x3000ULL
#define WALL_GPA        0x4000ULL

/* Linux's pvclock_tsc_khz(): the TSC frequency the guest takes from the record. */
static uint64_t guest_khz(struct pvclock_scale s)
{
	uint64_t khz = (1000000ULL << 32) / s.mul;

	return s.shift < 0 ? khz << -s.shift : khz >> s.shift;
}

TEST(scale_turns_a_second_of_ticks_into_a_second)
{
	static const uint32_t khz[] = { 1, 1000, 999999, 1000000, 1000001, 2096862,
					3000000, 4999999, 100000000, 0xffffffffu };

	for (unsigned i = 0; i < sizeof(khz) / sizeof(khz[0]); i++) {
		struct pvclock_scale s = pvclock_scale_for(khz[i]);
		/* Full precision: mul / 2^32 in [0.5, 1). */
		CHECK(s.mul >= 0x80000000u);
		/* One second of ticks, and a day: within 1 ns per ms. */
		uint64_t sec = pvclock_scale_ticks((uint64_t)khz[i] * 1000, s);
		CHECK(sec <= 1000000000ULL && sec >= 1000000000ULL - 1000);
		uint64_t day = pvclock_scale_ticks((uint64_t)khz[i] * 1000 * 86400, s);
		CHECK(day <= 86400000000000ULL && day >= 86400000000000ULL - 86400000);
		/* The frequency Linux reads back is the one given, to the
		 * step its own formula has (it shifts left by -shift). */
		uint64_t back = guest_khz(s), step = s.shift < 0 ? 1ULL << -s.shift : 1;
		CHECK(back + step >= khz[i] && back <= (uint64_t)khz[i] + step);
	}
	/* 1 GHz: a tick is a ns, exactly. */
	struct pvclock_scale g = pvclock_scale_for(1000000);
	CHECK_EQ(pvclock_scale_ticks(123456789012345ULL, g), 123456789012345ULL);
}

static struct vm *pv_vm(void)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	((struct tvm *)vm)->cfg.paravirt = true;
	/* As vm_create: the guest TSC starts at 0 with the VM's time. */
	vm->tsc_offset = -(int64_t)clock_ns_to_tsc(vm->start_ns);
	return vm;
}

static struct pvclock_time_info *rec(struct vm *vm, uint64_t gpa)
{
	return (struct pvclock_time_info *)(TVM_RAM(vm) + gpa);
}

TEST(system_time_record_is_the_vm_tsc_scaled)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0], *w = &vm->vcpu[1];
	uint64_t val = 0;

	rec(vm, TIME_GPA)->version = 6;         /* what the guest's RAM held */
	CHECK(msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, TIME_GPA | 1));
	struct pvclock_time_info *t = rec(vm, TIME_GPA);
	struct pvclock_scale s = pvclock_scale_for((uint32_t)tsc_khz);
	CHECK_EQ(t->version, 8);                /* past the old one, and even */
	CHECK_EQ(t->tsc_timestamp, 0);
	CHECK_EQ(t->system_time, 0);
	CHECK_EQ(t->tsc_to_system_mul, s.mul);
	CHECK_EQ(t->tsc_shift, s.shift);
	CHECK_EQ(t->flags, PVCLOCK_TSC_STABLE_BIT);
	CHECK(msr_guest_read(v, MSR_KVM_SYSTEM_TIME_NEW, &val));
	CHECK_EQ(val, TIME_GPA | 1);
	/* The guest's clock is the VM's time. */
	uint64_t guest_tsc = rdtsc() + (uint64_t)vm->tsc_offset;
	CHECK_EQ(t->system_time + pvclock_scale_ticks(guest_tsc - t->tsc_timestamp, s),
		 vm_now_ns(vm));
	/* Another vCPU's record is the same clock, byte for byte past the version. */
	CHECK(msr_guest_write(w, MSR_KVM_SYSTEM_TIME_NEW, (TIME_GPA + 32) | 1));
	CHECK(!memcmp((uint8_t *)t + 4, (uint8_t *)rec(vm, TIME_GPA + 32) + 4, 28));
	/* Hosts whose TSCs are not one clock: no stable bit. */
	tsc_synchronized = false;
	CHECK(msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, TIME_GPA | 1));
	CHECK_EQ(t->flags, 0);
	CHECK_EQ(t->version, 10);
	tsc_synchronized = true;
	vm_free(vm);
}

TEST(system_time_msr_refuses_what_is_not_an_aligned_ram_record)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];
	uint64_t val = 0;

	CHECK(msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, TIME_GPA | 1));
	CHECK(!msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, (TIME_GPA + 2) | 1));     /* not 4-aligned */
	CHECK(!msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, RAM_SIZE | 1));           /* not RAM */
	CHECK(!msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, (RAM_SIZE - 16) | 1));    /* crosses the end */
	CHECK(!msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, ~0ULL));
	CHECK(!msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, (~0ULL - 31) | 1));      /* wraps */
	CHECK(msr_guest_read(v, MSR_KVM_SYSTEM_TIME_NEW, &val));
	CHECK_EQ(val, TIME_GPA | 1);            /* a refused write changes nothing */
	/* Bit 0 clear: off; the address is kept but not written to. */
	memset(TVM_RAM(vm) + 0x5000, 0xaa, 32);
	CHECK(msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, 0x5000));
	CHECK(msr_guest_read(v, MSR_KVM_SYSTEM_TIME_NEW, &val));
	CHECK_EQ(val, 0x5000);
	CHECK_EQ(TVM_RAM(vm)[0x5000], 0xaa);
	/* paravirt = off: neither MSR exists. */
	((struct tvm *)vm)->cfg.paravirt = false;
	CHECK(!msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, TIME_GPA | 1));
	CHECK(!msr_guest_read(v, MSR_KVM_SYSTEM_TIME_NEW, &val));
	CHECK(!msr_guest_write(v, MSR_KVM_WALL_CLOCK_NEW, WALL_GPA));
	CHECK(!msr_guest_read(v, MSR_KVM_WALL_CLOCK_NEW, &val));
	vm_free(vm);
}

TEST(wall_clock_plus_kvmclock_is_the_rtc_time)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];
	struct pvclock_wall_clock *w = (struct pvclock_wall_clock *)(TVM_RAM(vm) + WALL_GPA);
	uint64_t val = 0;

	boot_epoch_seconds = 1764806400;        /* 2025-12-04 00:00 UTC */
	fake_tsc_advance(1234567891);           /* time passes: the TSC runs on */
	CHECK(msr_guest_write(v, MSR_KVM_WALL_CLOCK_NEW, WALL_GPA));
	CHECK_EQ(w->version, 2);
	struct pvclock_scale s = pvclock_scale_for((uint32_t)tsc_khz);
	uint64_t kvmclock = pvclock_scale_ticks(rdtsc() + (uint64_t)vm->tsc_offset, s);
	uint64_t wall = (uint64_t)w->sec * 1000000000ULL + w->nsec;
	CHECK(w->nsec < 1000000000u);
	/* What Linux's pvclock_read_wallclock() adds up: the RTC's time now. */
	CHECK_EQ(wall + kvmclock, boot_epoch_seconds * 1000000000ULL + vm_now_ns(vm));
	CHECK(msr_guest_read(v, MSR_KVM_WALL_CLOCK_NEW, &val));
	CHECK_EQ(val, WALL_GPA);
	CHECK(!msr_guest_write(v, MSR_KVM_WALL_CLOCK_NEW, WALL_GPA + 1));           /* not 4-aligned */
	CHECK(!msr_guest_write(v, MSR_KVM_WALL_CLOCK_NEW, RAM_SIZE - 8));           /* crosses the end */
	CHECK(!msr_guest_write(v, MSR_KVM_WALL_CLOCK_NEW, ~0ULL - 3));
	CHECK(msr_guest_read(v, MSR_KVM_WALL_CLOCK_NEW, &val));
	CHECK_EQ(val, WALL_GPA);
	boot_epoch_seconds = 0;
	vm_free(vm);
}

TEST(a_held_vm_goes_on_with_guest_stopped_in_every_record)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0], *w = &vm->vcpu[1];
	struct pvclock_time_info *t0 = rec(vm, TIME_GPA), *t1 = rec(vm, TIME_GPA + 32);

	CHECK(msr_guest_write(v, MSR_KVM_SYSTEM_TIME_NEW, TIME_GPA | 1));
	CHECK(msr_guest_write(w, MSR_KVM_SYSTEM_TIME_NEW, (TIME_GPA + 32) | 1));
	struct pvclock_time_info before = *t0;
	vm->paused = true;
	vm_resume_held(vm);
	CHECK(!vm->paused);
	CHECK_EQ(t0->flags, PVCLOCK_TSC_STABLE_BIT | PVCLOCK_GUEST_STOPPED);
	CHECK_EQ(t1->flags, PVCLOCK_TSC_STABLE_BIT | PVCLOCK_GUEST_STOPPED);
	CHECK_EQ(t0->version, before.version + 2);      /* updated, and even again */
	/* The clock itself is untouched. */
	CHECK(!memcmp((uint8_t *)&before + 4, (uint8_t *)t0 + 4, 25));
	/* The guest clears it (kvm_check_and_clear_guest_paused); the next
	 * hold sets it again. */
	t0->flags &= ~PVCLOCK_GUEST_STOPPED;
	vm_resume_held(vm);
	CHECK_EQ(t0->flags, PVCLOCK_TSC_STABLE_BIT | PVCLOCK_GUEST_STOPPED);
	/* A vCPU with kvmclock off: its old record is not written. */
	CHECK(msr_guest_write(w, MSR_KVM_SYSTEM_TIME_NEW, TIME_GPA + 32));
	t1->flags = 0;
	uint32_t ver = t1->version;
	vm_resume_held(vm);
	CHECK_EQ(t1->flags, 0);
	CHECK_EQ(t1->version, ver);
	/* paravirt = off: nothing written. */
	((struct tvm *)vm)->cfg.paravirt = false;
	t0->flags = 0;
	vm_resume_held(vm);
	CHECK_EQ(t0->flags, 0);
	vm_free(vm);
}

int main(void)
{
	core_fake_init();
	RUN(scale_turns_a_second_of_ticks_into_a_second);
	RUN(system_time_record_is_the_vm_tsc_scaled);
	RUN(system_time_msr_refuses_what_is_not_an_aligned_ram_record);
	RUN(wall_clock_plus_kvmclock_is_the_rtc_time);
	RUN(a_held_vm_goes_on_with_guest_stopped_in_every_record);
	return check_finish();
}
