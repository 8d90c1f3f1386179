/*
 * The virtual CPU a guest sees through CPUID: the host's values, filtered
 * to the features kasane can give a guest, with the topology, APIC IDs and
 * hypervisor leaves (0x40000000, signature "kasane"; 0x40000010, TSC and
 * local APIC timer frequencies) of the VM.  Pure
 * logic over a host-CPUID callback, so the host tests can feed recorded
 * values.  Intel SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E.
 */
#ifndef KASANE_CORE_CPUID_H
#define KASANE_CORE_CPUID_H

#include "lib/types.h"

/* Execute CPUID on the host: out = eax, ebx, ecx, edx. */
typedef void (*cpuid_host_fn)(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

struct cpuid_ctx {
	cpuid_host_fn host;
	uint32_t vcpu_id;       /* index in the VM (for messages; not reported) */
	uint32_t nr_vcpus;      /* vCPUs in the VM; 0 is taken as 1 */
	uint32_t apic_id;       /* this vCPU's (x2)APIC ID, expected < nr_vcpus */
	uint64_t guest_cr4;     /* CR4.OSXSAVE is reflected in leaf 1 ECX[27] */
	uint64_t guest_xcr0;    /* for leaf 0xD's sizes; 0: use the host's (current XCR0) */
	uint32_t tsc_khz;       /* the guest TSC's frequency, for leaf 0x40000010 */
	bool tsc_invariant;     /* the host's TSCs are one constant-rate clock (arch/x86/tsc_sync.c) */
};

#define CPUID_SIGNATURE_LEAF    0x40000000u
#define CPUID_TIMING_LEAF       0x40000010u
#define CPUID_HV_MAX_LEAF       CPUID_TIMING_LEAF

/* This CPU's CPUID, as a cpuid_host_fn. */
void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* Fill out (eax, ebx, ecx, edx) with what the guest's CPUID(leaf, subleaf) returns. */
void cpuid_guest(const struct cpuid_ctx *c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

#endif
