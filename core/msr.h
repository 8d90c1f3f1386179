/*
 * The guest's MSRs: one table of policies (core/msr.c), checked against
 * the CPUID model the guest sees (core/cpuid.c).  The access functions
 * return false where hardware would raise #GP.
 */
#ifndef KASANE_CORE_MSR_H
#define KASANE_CORE_MSR_H

#include "lib/types.h"
#include "core/cpuid.h"

/* What kasane does with an MSR the guest's CPU model has. */
enum msr_policy {
	MSR_PASS,       /* the guest touches it without an exit; the back end switches it */
	MSR_BACKEND,    /* the back end keeps the guest's copy; core/msr.c checks writes */
	MSR_BOARD,      /* the local APIC's, modelled by the board (core/board.c) */
	MSR_MODEL,      /* modelled here, with per-vCPU state */
	MSR_RAZ,        /* reads as zero, writes ignored */
};

/* The CPUID feature that makes an MSR exist. */
enum msr_feature {
	MSRF_ALWAYS, MSRF_AMD, MSRF_INTEL, MSRF_TSC, MSRF_APIC, MSRF_SEP, MSRF_MTRR,
	MSRF_AMD_MTRR, MSRF_PAT, MSRF_X2APIC, MSRF_TSC_DEADLINE, MSRF_SPEC_CTRL,
	MSRF_PRED_CMD, MSRF_FLUSH_CMD, MSRF_EFER, MSRF_SYSCALL, MSRF_LM, MSRF_TSC_AUX,
	NR_MSR_FEATURES
};

struct msr_rule {
	uint32_t first, last;           /* a range of MSR numbers */
	uint8_t policy;                 /* enum msr_policy */
	uint8_t feature;                /* enum msr_feature */
	const char *name;
};

/* The facts of the guest's CPUID that decide which MSRs exist. */
struct msr_cpu {
	bool amd, intel;
	bool has[NR_MSR_FEATURES];
	uint64_t efer_mask;             /* EFER bits the guest may set */
	uint64_t spec_ctrl_mask;        /* SPEC_CTRL bits the guest may set */
	uint8_t maxphyaddr;
};

#define MSR_NR_VAR_MTRRS        8
#define MSR_NR_FIXED_MTRRS      11
#define MSR_NR_PERF_CTRS        4

/* Per-vCPU state of the MSRs modelled here (struct vcpu's msr). */
struct msr_state {
	uint64_t spec_ctrl, tsc_aux;
	uint64_t mtrr_def_type;
	uint64_t mtrr_var[2 * MSR_NR_VAR_MTRRS];        /* PhysBase0, PhysMask0, ... */
	uint64_t mtrr_fixed[MSR_NR_FIXED_MTRRS];
	uint64_t perf_sel[MSR_NR_PERF_CTRS];
	uint64_t hwcr, de_cfg, hsave_pa;
	uint64_t kvm_system_time, kvm_wall_clock;       /* core/pvclock.c */
};

/* The guest CPU model seen through cpuid_guest() over this host. */
void msr_cpu_from_cpuid(struct msr_cpu *m, cpuid_host_fn host);
/* The rule for msr if the model has it; NULL: #GP. */
const struct msr_rule *msr_rule_for(const struct msr_cpu *m, uint32_t msr);
/* Every rule, for the tests. */
const struct msr_rule *msr_rules(unsigned *nr);
/* A vCPU's MSRs as the firmware leaves them (MTRRs set up as a PC BIOS does). */
void msr_state_init(struct msr_state *s, const struct msr_cpu *m);
/* Reads and writes of the MSRs modelled here (policy MSR_MODEL or MSR_RAZ). */
bool msr_model_read(struct msr_state *s, const struct msr_cpu *m, uint32_t msr, uint64_t *val);
bool msr_model_write(struct msr_state *s, const struct msr_cpu *m, uint32_t msr, uint64_t val);

/* The model of this machine's guests (built from the host's CPUID on first use). */
const struct msr_cpu *msr_guest_cpu(void);
/* Replace that model (host tests run on hosts of any CPUID). */
void msr_guest_cpu_set(const struct msr_cpu *m);

struct vcpu;
bool msr_guest_read(struct vcpu *v, uint32_t msr, uint64_t *val);
bool msr_guest_write(struct vcpu *v, uint32_t msr, uint64_t val);
/* The MSRs a guest may access without an exit (for the back end's bitmaps):
 * the table's MSR_PASS rules that this CPU model has. */
const uint32_t *msr_passthrough_list(unsigned *nr);

#endif
