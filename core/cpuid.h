/*
 * The virtual CPU a guest sees through CPUID: the host's values, filtered
 * to the features kasane can give a guest, with the topology, APIC IDs and
 * hypervisor leaves (0x40000000, signature "kasane"; 0x40000010, TSC and
 * local APIC timer frequencies; with paravirt, KVM's at 0x40000100) of the VM.  Pure
 * logic over a host-CPUID callback, so the host tests can feed recorded
 * values.  Intel SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E.
 */
#ifndef KASANE_CORE_CPUID_H
#define KASANE_CORE_CPUID_H

#include "lib/types.h"
#include "arch/x86/cpu.h"

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
	bool paravirt;          /* the VM's paravirt = on: KVM's leaves at 0x40000100 */
};

#define CPUID_SIGNATURE_LEAF    0x40000000u
#define CPUID_TIMING_LEAF       0x40000010u
#define CPUID_HV_MAX_LEAF       CPUID_TIMING_LEAF
/* The KVM-compatible leaves (Linux Documentation/virt/kvm/x86/cpuid.rst),
 * where Linux's kvm_cpuid_base() finds them, scanning 0x40000000 up in
 * steps of 0x100: the signature "KVMKVMKVM\0\0\0" with the highest KVM
 * leaf in EAX, then the features, of which only PV EOI is offered. */
#define CPUID_KVM_SIGNATURE_LEAF 0x40000100u
#define CPUID_KVM_FEATURES_LEAF 0x40000101u
#define KVM_FEATURE_PV_EOI      6

/* This CPU's CPUID, as a cpuid_host_fn. */
void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* Fill out (eax, ebx, ecx, edx) with what the guest's CPUID(leaf, subleaf) returns. */
void cpuid_guest(const struct cpuid_ctx *c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/*
 * One vCPU's CPUID, computed once by cpuid_guest() when the table is made
 * and answered at each CPUID exit by a lookup.  Two inputs change while
 * the guest runs; they are read through the table's callbacks, and only
 * for the leaves that show them: CR4.OSXSAVE (leaf 1 ECX[27]) and XCR0
 * (leaf 0xD subleaves 0 and 1 EBX, computed again when XCR0 differs from
 * the one they were computed for).  A subleaf beyond those kept is
 * computed at the lookup.
 */
#define CPUID_TABLE_BASIC       0x20u   /* leaves 0 .. 0x1f */
#define CPUID_TABLE_EXT         9u      /* leaves 0x80000000 .. 0x80000008 */
#define CPUID_TABLE_SUBS        8u      /* subleaves kept of a leaf indexed by ECX */
#define CPUID_TABLE_INDEXED     5u      /* such leaves: 4, 7, 0xB, 0xD, 0x1F */

struct cpuid_table {
	struct cpuid_ctx ctx;   /* the inputs; guest_cr4 unused, guest_xcr0 as last seen */
	uint64_t (*cr4)(void *arg);     /* the guest's CR4 now */
	uint64_t (*xcr0)(void *arg);    /* the guest's XCR0 now */
	void *arg;
	uint32_t basic[CPUID_TABLE_BASIC][4];           /* subleaf 0 of indexed leaves */
	uint32_t indexed[CPUID_TABLE_INDEXED][CPUID_TABLE_SUBS][4];
	uint32_t ext[CPUID_TABLE_EXT][4];
	uint32_t hv_signature[4], hv_timing[4];         /* 0x40000000, 0x40000010 */
	uint32_t kvm_signature[4], kvm_features[4];     /* 0x40000100, 0x40000101 */
};

/* Compute t from c (its guest_cr4 and guest_xcr0 are not used: the
 * callbacks give them at the lookups).  Runs the host's CPUID often. */
void cpuid_table_init(struct cpuid_table *t, const struct cpuid_ctx *c,
		      uint64_t (*cr4)(void *arg), uint64_t (*xcr0)(void *arg), void *arg);

/* What cpuid_guest() would return now, from t (in registers, not memory). */
struct cpuid_regs cpuid_table_get(struct cpuid_table *t, uint32_t leaf, uint32_t subleaf);

#endif
