/*
 * kvmclock, KVM's paravirtual clock, which stock Linux uses when KVM's
 * CPUID leaves show it (Linux Documentation/virt/kvm/x86/msr.rst,
 * MSR_KVM_SYSTEM_TIME_NEW and MSR_KVM_WALL_CLOCK_NEW; cpuid.rst,
 * KVM_FEATURE_CLOCKSOURCE2 and KVM_FEATURE_CLOCKSOURCE_STABLE_BIT).  It
 * hands the guest its TSC's frequency, so the guest need not measure it
 * against the PIT or the HPET through exits (which a loaded host can
 * stretch past Linux's limits), and a clock it reads without an exit.
 */
#ifndef KASANE_CORE_PVCLOCK_H
#define KASANE_CORE_PVCLOCK_H

#include "lib/types.h"

#define MSR_KVM_WALL_CLOCK_NEW  0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

#define KVM_FEATURE_CLOCKSOURCE2            3
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT  24

/* struct pvclock_vcpu_time_info's flags: the clock agrees across vCPUs;
 * the host held the VM, set by the host and cleared by the guest. */
#define PVCLOCK_TSC_STABLE_BIT  0x01u
#define PVCLOCK_GUEST_STOPPED   0x02u

/* The guest's layout (Linux arch/x86/include/asm/pvclock-abi.h):
 * time_ns = system_time + scale(tsc - tsc_timestamp), where scale shifts
 * by tsc_shift (left if positive) and multiplies by mul / 2^32. */
struct pvclock_time_info {
	uint32_t version;               /* odd while the host writes */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct pvclock_time_info) == 32, "pvclock_vcpu_time_info");

struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;                   /* wall time at kvmclock 0 */
	uint32_t nsec;
} __attribute__((packed));
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "pvclock_wall_clock");

struct pvclock_scale {
	uint32_t mul;
	int8_t shift;
};

/* The (mul, shift) that turn ticks of a tsc_khz clock into ns, with the
 * most precision: mul / 2^32 in [0.5, 1).  tsc_khz must not be 0. */
struct pvclock_scale pvclock_scale_for(uint32_t tsc_khz);
/* ticks scaled as the guest does (pvclock_scale_delta in Linux). */
uint64_t pvclock_scale_ticks(uint64_t ticks, struct pvclock_scale s);

struct vcpu;
/* The two MSRs, for paravirt = on only (core/msr.c routes them here).
 * False: #GP. */
bool pvclock_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
bool pvclock_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);

struct vm;
/* vm goes on after kasane held it (no vCPU of it runs now): every record
 * gets PVCLOCK_GUEST_STOPPED, so the guest's lockup detectors do not take
 * the time it stood for their own. */
void pvclock_guest_stopped(struct vm *vm);

#endif
