/*
 * kvmclock; see pvclock.h.
 *
 * The guest's TSC is one clock for the whole VM (host TSC plus the VM's
 * tsc_offset, never written: core/msr.c) that starts at 0 with the VM.
 * So kvmclock is that TSC scaled to ns: every vCPU's record holds the
 * same tsc_timestamp 0, system_time 0 and scale, written once when the
 * guest gives its address, and never needs an update (KVM calls this its
 * "master clock").  Identical records on all vCPUs make the clock
 * monotonic across them wherever the host's TSCs are synchronized, which
 * PVCLOCK_TSC_STABLE_BIT then tells the guest.  A snapshot's restore
 * rebases tsc_offset so that the guest's TSC, and this clock, go on.
 */
#include "core/pvclock.h"
#include "core/vm.h"
#include "core/board.h"
#include "mm/guest_mem.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc_sync.h"
#include "drivers/cmos.h"

#define NSEC_PER_SEC    1000000000ULL
#define barrier()       __asm__ volatile("" ::: "memory")

struct pvclock_scale pvclock_scale_for(uint32_t tsc_khz)
{
	/* ns per tick = 10^6 / tsc_khz = (n / d) * 2^shift, n / d in [0.5, 1). */
	uint64_t n = 1000000ULL, d = tsc_khz ? tsc_khz : 1;
	int shift = 0;

	while (n >= d) {
		d <<= 1;
		shift++;
	}
	while (2 * n < d) {
		n <<= 1;
		shift--;
	}
	return (struct pvclock_scale){ .mul = (uint32_t)((n << 32) / d), .shift = (int8_t)shift };
}

uint64_t pvclock_scale_ticks(uint64_t ticks, struct pvclock_scale s)
{
	if (s.shift < 0)
		ticks >>= -s.shift;
	else
		ticks <<= s.shift;
	return (uint64_t)(((unsigned __int128)ticks * s.mul) >> 32);
}

static struct pvclock_scale vm_scale(void)
{
	return pvclock_scale_for((uint32_t)tsc_khz);
}

static uint64_t guest_tsc(struct vm *vm)
{
	return rdtsc() + (uint64_t)vm->tsc_offset;
}

static bool enabled(struct vcpu *v)
{
	return v->vm->cfg && v->vm->cfg->paravirt;
}

/* The version protocol (msr.rst): odd while the fields change, then even
 * and past the guest's old value, so a reader that raced retries. */
static uint32_t begin_update(struct vm *vm, gpa_t gpa)
{
	uint32_t ver = 0;

	gmem_read(&vm->mem, gpa, &ver, sizeof(ver));
	ver = (ver + 1) | 1;
	gmem_write(&vm->mem, gpa, &ver, sizeof(ver));
	barrier();
	return ver;
}

static void end_update(struct vm *vm, gpa_t gpa, uint32_t ver)
{
	barrier();
	ver++;
	gmem_write(&vm->mem, gpa, &ver, sizeof(ver));
}

/* MSR_KVM_SYSTEM_TIME_NEW: bit 0 enables, the rest is the 4-byte-aligned
 * guest-physical address of the vCPU's 32-byte record, all in RAM. */
static bool system_time_write(struct vcpu *v, uint64_t val)
{
	struct vm *vm = v->vm;
	gpa_t gpa = val & ~1ULL;

	if (val & 1) {
		if ((gpa & 3) || !gmem_is_ram(&vm->mem, gpa, sizeof(struct pvclock_time_info)))
			return false;
		struct pvclock_scale s = vm_scale();
		struct pvclock_time_info t = {
			.tsc_timestamp = 0,
			.system_time = 0,
			.tsc_to_system_mul = s.mul,
			.tsc_shift = s.shift,
			.flags = tsc_synchronized ? PVCLOCK_TSC_STABLE_BIT : 0,
		};
		uint32_t ver = begin_update(vm, gpa);
		gmem_write(&vm->mem, gpa + 4, (const uint8_t *)&t + 4, sizeof(t) - 4);
		end_update(vm, gpa, ver);
	}
	v->msr.kvm_system_time = val;
	return true;
}

/* MSR_KVM_WALL_CLOCK_NEW: the 4-byte-aligned address of a 12-byte record
 * that gets the wall time at kvmclock 0, once, now.  The wall time is the
 * one the VM's RTC started from (drivers/cmos.c's reading at boot) plus
 * the VM's time, as devices/vrtc.c counts it. */
static bool wall_clock_write(struct vcpu *v, uint64_t val)
{
	struct vm *vm = v->vm;
	gpa_t gpa = val;

	if ((gpa & 3) || !gmem_is_ram(&vm->mem, gpa, sizeof(struct pvclock_wall_clock)))
		return false;
	uint64_t now = boot_epoch_seconds * NSEC_PER_SEC + vm_now_ns(vm);
	uint64_t since = pvclock_scale_ticks(guest_tsc(vm), vm_scale());
	uint64_t wall = now > since ? now - since : 0;
	struct pvclock_wall_clock w = {
		.sec = (uint32_t)(wall / NSEC_PER_SEC),
		.nsec = (uint32_t)(wall % NSEC_PER_SEC),
	};
	uint32_t ver = begin_update(vm, gpa);
	gmem_write(&vm->mem, gpa + 4, (const uint8_t *)&w + 4, sizeof(w) - 4);
	end_update(vm, gpa, ver);
	v->msr.kvm_wall_clock = val;
	return true;
}

bool pvclock_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	if (!enabled(v))
		return false;
	*val = msr == MSR_KVM_SYSTEM_TIME_NEW ? v->msr.kvm_system_time : v->msr.kvm_wall_clock;
	return true;
}

bool pvclock_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	if (!enabled(v))
		return false;
	return msr == MSR_KVM_SYSTEM_TIME_NEW ? system_time_write(v, val) : wall_clock_write(v, val);
}

/*
 * The guest's clock ran on while kasane held the VM (an operator's pause,
 * a snapshot, a debugger): to its soft-lockup and RCU-stall detectors the
 * time looks like a CPU that hung.  PVCLOCK_GUEST_STOPPED in each vCPU's
 * record tells it otherwise; the guest clears it when it has reset those
 * detectors (Linux's kvm_check_and_clear_guest_paused, called from its
 * watchdog's timer).  KVM sets the same bit on the ioctl
 * KVM_KVMCLOCK_CTRL, which its user space makes when a stopped VM goes on
 * (Documentation/virt/kvm/api.rst).  No vCPU runs while this writes; a
 * record no longer in RAM (a snapshot of a strange guest) is skipped.
 */
void pvclock_guest_stopped(struct vm *vm)
{
	if (!vm->cfg || !vm->cfg->paravirt)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		uint64_t val = vm->vcpu[i].msr.kvm_system_time;
		gpa_t gpa = val & ~1ULL;
		gpa_t at = gpa + __builtin_offsetof(struct pvclock_time_info, flags);
		uint8_t flags;
		if (!(val & 1) || !gmem_is_ram(&vm->mem, gpa, sizeof(struct pvclock_time_info)) ||
		    !gmem_read(&vm->mem, at, &flags, 1))
			continue;
		uint32_t ver = begin_update(vm, gpa);
		flags |= PVCLOCK_GUEST_STOPPED;
		gmem_write(&vm->mem, at, &flags, 1);
		end_update(vm, gpa, ver);
	}
}
