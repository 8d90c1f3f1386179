/*
 * The guest's model-specific registers: one table of policies for every
 * back end, each MSR with the CPUID feature that makes it exist (Intel
 * SDM vol. 4 "Model-Specific Registers"; AMD APM vol. 2 App. A).  An MSR
 * whose feature the guest's CPUID does not show, and every MSR not in the
 * table, raises #GP, as on hardware.  The host test (test/unit/test_msr.c)
 * walks the table against the CPUID model feature by feature.
 */
#include "core/msr.h"
#include "core/vm.h"
#include "core/board.h"
#include "core/pvclock.h"
#include "devices/vlapic.h"
#include "mm/guest_mem.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86_defs.h"
#include "lib/string.h"

#define MSR_TSC             0x10
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_SPEC_CTRL       0x48
#define MSR_PRED_CMD        0x49
#define MSR_FLUSH_CMD       0x10b
#define MSR_MTRRCAP         0xfe
#define MSR_MISC_ENABLE     0x1a0
#define MSR_MTRR_VAR        0x200
#define MSR_MTRR_FIX64K     0x250
#define MSR_MTRR_FIX16K     0x258
#define MSR_MTRR_FIX4K      0x268
#define MSR_PAT             0x277
#define MSR_MTRR_DEF_TYPE   0x2ff
#define MSR_LSTAR           0xc0000082
#define MSR_CSTAR           0xc0000083
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102
#define MSR_TSC_AUX         0xc0000103
#define MSR_PERF_SEL0       0xc0010000
#define MSR_PERF_CTR0       0xc0010004
#define MSR_AMD_HWCR        0xc0010015
#define MSR_VM_CR           0xc0010114
#define MSR_VM_HSAVE_PA     0xc0010117
#define MSR_DE_CFG          0xc0011029

#define SPEC_CTRL_IBRS      (1ull << 0)
#define SPEC_CTRL_STIBP     (1ull << 1)
#define SPEC_CTRL_SSBD      (1ull << 2)
#define PRED_CMD_IBPB       (1ull << 0)
#define FLUSH_CMD_L1D       (1ull << 0)
#define HWCR_TSC_FREQ_SEL   (1ull << 24)        /* TSC counts at the P0 rate (BKDG fam 10h+) */
#define VM_CR_LOCK          (1ull << 3)
#define VM_CR_SVMDIS        (1ull << 4)
#define DE_CFG_LFENCE_SER   (1ull << 1)         /* LFENCE is dispatch-serializing */
#define MTRR_DEF_E          (1ull << 11)
#define MTRR_DEF_FE         (1ull << 10)
#define MTRR_VALID          (1ull << 11)
#define MTRR_UC             0
#define MTRR_WP             5
#define MTRR_WB             6

static const struct msr_rule rules[] = {
	{ 0x10, 0x10, MSR_MODEL, MSRF_TSC, "TSC" },
	{ 0x17, 0x17, MSR_RAZ, MSRF_INTEL, "PLATFORM_ID" },
	{ 0x1b, 0x1b, MSR_BOARD, MSRF_APIC, "APIC_BASE" },
	{ 0x3a, 0x3a, MSR_MODEL, MSRF_INTEL, "FEATURE_CONTROL" },
	{ 0x48, 0x48, MSR_MODEL, MSRF_SPEC_CTRL, "SPEC_CTRL" },
	{ 0x49, 0x49, MSR_MODEL, MSRF_PRED_CMD, "PRED_CMD" },
	/* Intel BIOS_SIGN_ID (Linux writes 0, runs CPUID, reads it back);
	 * AMD PATCH_LEVEL.  No microcode: reads 0. */
	{ 0x8b, 0x8b, MSR_RAZ, MSRF_ALWAYS, "BIOS_SIGN_ID/PATCH_LEVEL" },
	{ 0xfe, 0xfe, MSR_MODEL, MSRF_MTRR, "MTRRcap" },
	{ 0x10b, 0x10b, MSR_MODEL, MSRF_FLUSH_CMD, "FLUSH_CMD" },
	{ 0x174, 0x176, MSR_PASS, MSRF_SEP, "SYSENTER_CS/ESP/EIP" },
	{ 0x1a0, 0x1a0, MSR_MODEL, MSRF_INTEL, "MISC_ENABLE" },
	{ 0x200, 0x20f, MSR_MODEL, MSRF_MTRR, "MTRRphysBase/Mask0-7" },
	{ 0x250, 0x250, MSR_MODEL, MSRF_MTRR, "MTRRfix64K_00000" },
	{ 0x258, 0x259, MSR_MODEL, MSRF_MTRR, "MTRRfix16K_80000/A0000" },
	{ 0x268, 0x26f, MSR_MODEL, MSRF_MTRR, "MTRRfix4K_C0000-F8000" },
	{ 0x277, 0x277, MSR_BACKEND, MSRF_PAT, "PAT" },
	{ 0x2ff, 0x2ff, MSR_MODEL, MSRF_MTRR, "MTRRdefType" },
	{ 0x6e0, 0x6e0, MSR_BOARD, MSRF_TSC_DEADLINE, "TSC_DEADLINE" },
	{ 0x800, 0x8ff, MSR_BOARD, MSRF_X2APIC, "x2APIC registers" },
	{ 0xc0000080, 0xc0000080, MSR_BACKEND, MSRF_EFER, "EFER" },
	{ 0xc0000081, 0xc0000081, MSR_PASS, MSRF_SYSCALL, "STAR" },
	{ 0xc0000082, 0xc0000084, MSR_PASS, MSRF_LM, "LSTAR/CSTAR/SFMASK" },
	{ 0xc0000100, 0xc0000102, MSR_PASS, MSRF_LM, "FS/GS/KERNEL_GS_BASE" },
	{ 0xc0000103, 0xc0000103, MSR_MODEL, MSRF_TSC_AUX, "TSC_AUX" },
	/* The legacy performance counters every AMD64 CPU has (APM vol. 2
	 * §13.2.1).  The event selects keep what is written, enable bit
	 * included; the counters do not count and read 0.  Linux's
	 * check_hw_exists() (arch/x86/events/core.c) then finds a counter
	 * that does not keep a written value and says "PMU not available
	 * due to virtualization, using software events only", instead of
	 * running its perf code on RDPMC, which kasane does not intercept. */
	{ 0xc0010000, 0xc0010003, MSR_MODEL, MSRF_AMD, "PerfEvtSel0-3" },
	{ 0xc0010004, 0xc0010007, MSR_RAZ, MSRF_AMD, "PerfCtr0-3" },
	/* SYSCFG: Linux reads it with a plain RDMSR when it reads the fixed
	 * MTRRs of an AMD CPU (mtrr/generic.c); 0: no TOM2, no DRAM
	 * attribute bits in the fixed MTRRs. */
	{ 0xc0010010, 0xc0010010, MSR_RAZ, MSRF_AMD_MTRR, "SYSCFG" },
	{ 0xc0010015, 0xc0010015, MSR_MODEL, MSRF_AMD, "HWCR" },
	/* NB_CFG: Linux reads it with a plain RDMSR on every AMD CPU of
	 * family 10h and later, and sets EnableCf8ExtCfg (bit 46)
	 * (arch/x86/pci/amd_bus.c); the board keeps that bit on its PCI bus
	 * (BKDG for AMD family 10h, MSRC001_001F). */
	{ 0xc001001f, 0xc001001f, MSR_BOARD, MSRF_AMD, "NB_CFG" },
	/* Interrupt Pending Message: Linux reads it with a plain RDMSR on
	 * K8 and family 10h parts with erratum 400, as QEMU's TCG CPU is
	 * (process.c, arch_post_acpi_subsys_init); 0: C1E is not active. */
	{ 0xc0010055, 0xc0010055, MSR_RAZ, MSRF_AMD, "INT_PENDING_MSG" },
	/* SVM is hidden: VM_CR reads as on a CPU whose firmware disabled
	 * and locked SVM (APM vol. 2 §15.30.1). */
	{ 0xc0010114, 0xc0010114, MSR_MODEL, MSRF_AMD, "VM_CR" },
	{ 0xc0010117, 0xc0010117, MSR_MODEL, MSRF_AMD, "VM_HSAVE_PA" },
	{ 0xc0011029, 0xc0011029, MSR_MODEL, MSRF_AMD, "DE_CFG" },
};

const struct msr_rule *msr_rules(unsigned *nr)
{
	*nr = ARRAY_SIZE(rules);
	return rules;
}

const struct msr_rule *msr_rule_for(const struct msr_cpu *m, uint32_t msr)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (msr >= rules[i].first && msr <= rules[i].last)
			return m->has[rules[i].feature] ? &rules[i] : NULL;
	return NULL;
}

#define BIT(r, n)       (((r) >> (n)) & 1)

void msr_cpu_from_cpuid(struct msr_cpu *m, cpuid_host_fn host)
{
	struct cpuid_ctx c = { .host = host, .nr_vcpus = 1 };
	uint32_t l0[4], l1[4], l7[4], e1[4], e8[4];

	memset(m, 0, sizeof(*m));
	cpuid_guest(&c, 0, 0, l0);
	cpuid_guest(&c, 1, 0, l1);
	cpuid_guest(&c, 7, 0, l7);
	cpuid_guest(&c, 0x80000001, 0, e1);
	cpuid_guest(&c, 0x80000008, 0, e8);
	m->amd = l0[1] == 0x68747541u || l0[1] == 0x6f677948u;        /* Auth, Hygo */
	m->intel = l0[1] == 0x756e6547u;                               /* Genu */
	m->maxphyaddr = e8[0] & 0xff ? (uint8_t)e8[0] : 36;
	m->has[MSRF_ALWAYS] = true;
	m->has[MSRF_AMD] = m->amd;
	m->has[MSRF_INTEL] = m->intel;
	m->has[MSRF_TSC] = BIT(l1[3], 4);
	m->has[MSRF_APIC] = BIT(l1[3], 9);
	m->has[MSRF_SEP] = BIT(l1[3], 11);
	m->has[MSRF_MTRR] = BIT(l1[3], 12);
	m->has[MSRF_AMD_MTRR] = m->amd && BIT(l1[3], 12);
	m->has[MSRF_PAT] = BIT(l1[3], 16);
	m->has[MSRF_X2APIC] = BIT(l1[2], 21);
	m->has[MSRF_TSC_DEADLINE] = BIT(l1[2], 24);
	/* SPEC_CTRL's bits, each with its own feature: IBRS with
	 * CPUID.7.0:EDX[26] or 0x80000008 EBX[14], STIBP with 7.0:EDX[27] or
	 * EBX[15], SSBD with 7.0:EDX[31] or EBX[24]; the MSR exists with any
	 * (SDM vol. 4 Table 2-2; AMD "Indirect Branch Control Extension" and
	 * "Speculative Store Bypass Disable" white papers).  PRED_CMD (IBPB)
	 * with 7.0:EDX[26] or EBX[12]; FLUSH_CMD with 7.0:EDX[28] L1D_FLUSH. */
	m->spec_ctrl_mask = (BIT(l7[3], 26) || BIT(e8[1], 14) ? SPEC_CTRL_IBRS : 0) |
			    (BIT(l7[3], 27) || BIT(e8[1], 15) ? SPEC_CTRL_STIBP : 0) |
			    (BIT(l7[3], 31) || BIT(e8[1], 24) ? SPEC_CTRL_SSBD : 0);
	m->has[MSRF_SPEC_CTRL] = m->spec_ctrl_mask != 0;
	m->has[MSRF_PRED_CMD] = BIT(l7[3], 26) || BIT(e8[1], 12);
	m->has[MSRF_FLUSH_CMD] = BIT(l7[3], 28);
	m->has[MSRF_SYSCALL] = BIT(e1[3], 11);
	m->has[MSRF_LM] = BIT(e1[3], 29);
	m->has[MSRF_EFER] = BIT(e1[3], 11) || BIT(e1[3], 20) || BIT(e1[3], 29);
	m->has[MSRF_TSC_AUX] = BIT(e1[3], 27) || BIT(l7[2], 22);     /* RDTSCP, RDPID */
	/* EFER: SCE with SYSCALL, LME/LMA with long mode, NXE with NX, FFXSR
	 * with FFXSR (APM vol. 2 §3.1.7); SVME, LMSLE, TCE stay reserved. */
	m->efer_mask = (BIT(e1[3], 11) ? EFER_SCE : 0) |
		       (BIT(e1[3], 29) ? EFER_LME | EFER_LMA : 0) |
		       (BIT(e1[3], 20) ? EFER_NXE : 0) |
		       (m->amd && BIT(e1[3], 25) ? (1ull << 14) : 0);
}

/* Every CPU computes the same values, so a race here is harmless. */
static struct msr_cpu guest_cpu;
static volatile bool guest_cpu_ready;

const struct msr_cpu *msr_guest_cpu(void)
{
	if (!guest_cpu_ready) {
		msr_cpu_from_cpuid(&guest_cpu, cpuid_host);
		guest_cpu_ready = true;
	}
	return &guest_cpu;
}

void msr_guest_cpu_set(const struct msr_cpu *m)
{
	guest_cpu = *m;
	guest_cpu_ready = true;
}

/*
 * MSRs the guest reads and writes without an exit.  Each is switched with
 * the vCPU by the hardware (VMLOAD/VMSAVE on AMD, APM vol. 2 §15.5.2; the
 * VMCS guest-state area or MSR areas on Intel, SDM vol. 3C §24.4) and
 * holds nothing another guest or the host could be hurt by.
 */
static uint32_t passthrough[16];

const uint32_t *msr_passthrough_list(unsigned *nr)
{
	const struct msr_cpu *m = msr_guest_cpu();
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		if (rules[i].policy != MSR_PASS || !m->has[rules[i].feature])
			continue;
		for (uint32_t msr = rules[i].first; msr <= rules[i].last; msr++)
			if (n < ARRAY_SIZE(passthrough))
				passthrough[n++] = msr;
	}
	*nr = n;
	return passthrough;
}

/* ---- the modelled MSRs ----------------------------------------------------- */

/* Memory types an MTRR or PAT field may hold: UC 0, WC 1, WT 4, WP 5, WB 6
 * (SDM vol. 3A §12.11.4). */
static bool mtrr_type_ok(uint64_t t)
{
	return t == 0 || t == 1 || (t >= 4 && t <= 6);
}

static uint64_t phys_mask(const struct msr_cpu *m)
{
	return (m->maxphyaddr >= 64 ? ~0ull : (1ull << m->maxphyaddr) - 1) & ~0xfffull;
}

/* Index into mtrr_fixed of a fixed-range MTRR, -1 if msr is not one. */
static int fixed_index(uint32_t msr)
{
	if (msr == MSR_MTRR_FIX64K)
		return 0;
	if (msr >= MSR_MTRR_FIX16K && msr <= MSR_MTRR_FIX16K + 1)
		return 1 + (int)(msr - MSR_MTRR_FIX16K);
	if (msr >= MSR_MTRR_FIX4K && msr <= MSR_MTRR_FIX4K + 7)
		return 3 + (int)(msr - MSR_MTRR_FIX4K);
	return -1;
}

/*
 * What a PC BIOS leaves (as SeaBIOS does): below 640 KiB write-back, the
 * VGA hole 0xa0000-0xbffff uncached, the ROM area 0xc0000-0xfffff
 * write-protected; one variable range makes the 32-bit PCI hole
 * (3 GiB-4 GiB, core/board.h) uncached; the default type is write-back,
 * so all RAM, also above 4 GiB, is WB as Linux's MTRR trimming expects.
 */
void msr_state_init(struct msr_state *s, const struct msr_cpu *m)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 3; i++)
		s->mtrr_fixed[i] = 0x0606060606060606ull;
	s->mtrr_fixed[2] = 0;                           /* 0xa0000-0xbffff */
	for (int i = 3; i < MSR_NR_FIXED_MTRRS; i++)
		s->mtrr_fixed[i] = 0x0505050505050505ull;
	s->mtrr_var[0] = BOARD_LOW_RAM_MAX | MTRR_UC;
	s->mtrr_var[1] = (phys_mask(m) & ~(BOARD_HIGH_RAM_BASE - BOARD_LOW_RAM_MAX - 1)) |
			 MTRR_VALID;
	s->mtrr_def_type = MTRR_DEF_E | MTRR_DEF_FE | MTRR_WB;
	s->hwcr = HWCR_TSC_FREQ_SEL;
	s->de_cfg = DE_CFG_LFENCE_SER;
}

bool msr_model_read(struct msr_state *s, const struct msr_cpu *m, uint32_t msr, uint64_t *val)
{
	const struct msr_rule *r = msr_rule_for(m, msr);
	int fix = fixed_index(msr);

	if (!r)
		return false;
	if (r->policy == MSR_RAZ) {
		*val = 0;
		return true;
	}
	if (fix >= 0) {
		*val = s->mtrr_fixed[fix];
		return true;
	}
	if (msr >= MSR_MTRR_VAR && msr < MSR_MTRR_VAR + 2 * MSR_NR_VAR_MTRRS) {
		*val = s->mtrr_var[msr - MSR_MTRR_VAR];
		return true;
	}
	if (msr >= MSR_PERF_SEL0 && msr < MSR_PERF_SEL0 + MSR_NR_PERF_CTRS) {
		*val = s->perf_sel[msr - MSR_PERF_SEL0];
		return true;
	}
	switch (msr) {
	case MSR_FEATURE_CONTROL:
		*val = 1;               /* locked, VMX off (SDM vol. 3C §23.7) */
		return true;
	case MSR_SPEC_CTRL:
		*val = s->spec_ctrl;
		return true;
	case MSR_MTRRCAP:
		/* VCNT 8, fixed ranges (bit 8), WC (bit 10); no SMRR. */
		*val = MSR_NR_VAR_MTRRS | (1u << 8) | (1u << 10);
		return true;
	case MSR_MISC_ENABLE:
		/* Fast strings (0); BTS (11) and PEBS (12) unavailable. */
		*val = 1 | (1u << 11) | (1u << 12);
		return true;
	case MSR_MTRR_DEF_TYPE:
		*val = s->mtrr_def_type;
		return true;
	case MSR_TSC_AUX:
		*val = s->tsc_aux;
		return true;
	case MSR_AMD_HWCR:
		*val = s->hwcr;
		return true;
	case MSR_VM_CR:
		*val = VM_CR_LOCK | VM_CR_SVMDIS;
		return true;
	case MSR_VM_HSAVE_PA:
		*val = s->hsave_pa;
		return true;
	case MSR_DE_CFG:
		*val = s->de_cfg;
		return true;
	}
	return false;           /* PRED_CMD, FLUSH_CMD are write-only; TSC is the caller's */
}

bool msr_model_write(struct msr_state *s, const struct msr_cpu *m, uint32_t msr, uint64_t val)
{
	const struct msr_rule *r = msr_rule_for(m, msr);
	int fix = fixed_index(msr);

	if (!r)
		return false;
	if (r->policy == MSR_RAZ)
		return true;
	if (fix >= 0) {
		/* Eight type fields, each a valid type (SDM vol. 3A §12.11.2.2). */
		for (int i = 0; i < 8; i++)
			if (!mtrr_type_ok((val >> (i * 8)) & 0xff))
				return false;
		s->mtrr_fixed[fix] = val;
		return true;
	}
	if (msr >= MSR_MTRR_VAR && msr < MSR_MTRR_VAR + 2 * MSR_NR_VAR_MTRRS) {
		/* PhysBase: type 7:0, base 12 and up; PhysMask: valid 11, mask
		 * 12 and up; above MAXPHYADDR reserved (§12.11.2.3). */
		bool mask = (msr - MSR_MTRR_VAR) & 1;
		uint64_t ok = phys_mask(m) | (mask ? MTRR_VALID : 0xff);
		if ((val & ~ok) || (!mask && !mtrr_type_ok(val & 0xff)))
			return false;
		s->mtrr_var[msr - MSR_MTRR_VAR] = val;
		return true;
	}
	if (msr >= MSR_PERF_SEL0 && msr < MSR_PERF_SEL0 + MSR_NR_PERF_CTRS) {
		/* Bits 63:42 reserved (APM vol. 2 §13.2.1.1). */
		if (val >> 42)
			return false;
		s->perf_sel[msr - MSR_PERF_SEL0] = val;
		return true;
	}
	switch (msr) {
	case MSR_SPEC_CTRL:
		/* Only the bits the model has; the others are reserved. */
		if (val & ~m->spec_ctrl_mask)
			return false;
		s->spec_ctrl = val;
		return true;
	case MSR_PRED_CMD:
		/* Bit 0 IBPB, the others reserved (SDM vol. 4 Table 2-2); the
		 * barrier itself is msr_guest_write()'s. */
		return !(val & ~PRED_CMD_IBPB);
	case MSR_FLUSH_CMD:
		/* Bit 0 L1D_FLUSH, the others reserved (same table). */
		return !(val & ~FLUSH_CMD_L1D);
	case MSR_MISC_ENABLE:
		return true;            /* the bits kasane reports are fixed */
	case MSR_MTRR_DEF_TYPE:
		/* Type 7:0, FE 10, E 11; others reserved (§12.11.2.1). */
		if ((val & ~0xcffull) || !mtrr_type_ok(val & 0xff))
			return false;
		s->mtrr_def_type = val;
		return true;
	case MSR_TSC_AUX:
		if (val >> 32)
			return false;
		s->tsc_aux = val;
		return true;
	case MSR_AMD_HWCR:
		s->hwcr = val | HWCR_TSC_FREQ_SEL;      /* read-only 1 */
		return true;
	case MSR_VM_CR:
		return true;            /* LOCK is set: SVMDIS and LOCK ignore writes */
	case MSR_VM_HSAVE_PA:
		/* Page-aligned, below MAXPHYADDR (APM vol. 2 §15.30.4). */
		if (val & ~phys_mask(m))
			return false;
		s->hsave_pa = val;
		return true;
	case MSR_DE_CFG:
		s->de_cfg = val;
		return true;
	}
	return false;           /* MTRRcap, FEATURE_CONTROL (locked): read-only */
}

/* ---- the guest's accesses -------------------------------------------------- */

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/*
 * The architectural checks on a WRMSR to an MSR the back end keeps; false
 * raises #GP.  *val may be adjusted (EFER.LMA is read-only).
 */
static bool backend_msr_check(struct vcpu *v, const struct msr_cpu *m, uint32_t msr,
			      uint64_t *val)
{
	switch (msr) {
	case MSR_EFER: {
		/* Only the bits the CPU model offers; LMA is read-only (APM
		 * vol. 2 §3.1.7). */
		if (*val & ~m->efer_mask)
			return false;
		uint64_t old = virt->get_reg(&v->hw, VIRT_EFER);
		/* LME cannot change while paging is on (SDM vol. 3A §9.8.5). */
		if ((virt->get_reg(&v->hw, VIRT_CR0) & CR0_PG) &&
		    ((*val ^ old) & EFER_LME))
			return false;
		*val = (*val & ~(uint64_t)EFER_LMA) | (old & EFER_LMA);
		return true;
	}
	case MSR_PAT:
		/* Each entry a valid memory type: 0, 1, 4, 5, 6 or 7 (UC-)
		 * (SDM vol. 3A §12.12.2). */
		for (int i = 0; i < 8; i++) {
			uint8_t t = (*val >> (i * 8)) & 0xff;
			if (t != 7 && !mtrr_type_ok(t))
				return false;
		}
		return true;
	case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR: case MSR_CSTAR:
		/* Addresses must be canonical, or WRMSR raises #GP. */
		return canonical(*val);
	}
	return true;
}

/*
 * MSR_KVM_PV_EOI_EN (Linux Documentation/virt/kvm/x86/msr.rst): the VM's
 * paravirtual interface, not the CPU model's, so it is not in the table:
 * it exists exactly when the VM's CPUID shows KVM_FEATURE_PV_EOI
 * (paravirt = on, core/cpuid.c).  A write is 0 (off) or the guest-physical
 * address of a 4-byte-aligned flag in the VM's RAM with bit 0 set; any
 * other value raises #GP.  Reads return what was written.
 */
static bool pv_eoi_enabled(struct vcpu *v)
{
	return v->vm->cfg && v->vm->cfg->paravirt;
}

static bool pv_eoi_msr_write(struct vcpu *v, uint64_t val)
{
	uint64_t gpa = val & ~PV_EOI_ENABLED;

	if (val && (!(val & PV_EOI_ENABLED) || (gpa & 3) || !gmem_is_ram(&v->vm->mem, gpa, 4)))
		return false;
	vlapic_set_pv_eoi_msr(v->vlapic, val);
	return true;
}

/* kvmclock's two MSRs, also the VM's paravirtual interface (pvclock.h). */
static bool is_pvclock_msr(uint32_t msr)
{
	return msr == MSR_KVM_SYSTEM_TIME_NEW || msr == MSR_KVM_WALL_CLOCK_NEW;
}

bool msr_guest_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	if (unlikely(msr == MSR_KVM_PV_EOI_EN)) {
		*val = vlapic_pv_eoi_msr(v->vlapic);
		return pv_eoi_enabled(v);
	}
	if (unlikely(is_pvclock_msr(msr)))
		return pvclock_msr_read(v, msr, val);
	const struct msr_cpu *m = msr_guest_cpu();
	const struct msr_rule *r = msr_rule_for(m, msr);
	bool gp;

	if (!r)
		return false;
	switch (r->policy) {
	case MSR_BOARD:
		return board_msr_read(v, msr, val, &gp) && !gp;
	case MSR_PASS:
	case MSR_BACKEND:
		return virt->msr_get(&v->hw, msr, val);
	}
	if (msr == MSR_TSC) {
		*val = rdtsc() + (uint64_t)v->vm->tsc_offset;
		return true;
	}
	return msr_model_read(&v->msr, m, msr, val);
}

bool msr_guest_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	if (unlikely(msr == MSR_KVM_PV_EOI_EN))
		return pv_eoi_enabled(v) && pv_eoi_msr_write(v, val);
	if (unlikely(is_pvclock_msr(msr)))
		return pvclock_msr_write(v, msr, val);
	const struct msr_cpu *m = msr_guest_cpu();
	const struct msr_rule *r = msr_rule_for(m, msr);
	bool gp;

	if (!r)
		return false;
	switch (r->policy) {
	case MSR_BOARD:
		return board_msr_write(v, msr, val, &gp) && !gp;
	case MSR_PASS:
	case MSR_BACKEND:
		return backend_msr_check(v, m, msr, &val) && virt->msr_set(&v->hw, msr, val);
	}
	if (msr == MSR_TSC)
		/* The VM's vCPUs share one TSC offset so that their clocks agree;
		 * a write from one vCPU is ignored rather than desynchronize them. */
		return true;
	if (!msr_model_write(&v->msr, m, msr, val))
		return false;
	if (msr == MSR_TSC_AUX) {
		v->fpu.tsc_aux = val;
		wrmsr(MSR_TSC_AUX, val);        /* the CPU's value while v runs here */
	}
	/* A command the model shows is carried out on this CPU, where the guest
	 * runs: the host has the feature, since the guest's CPUID shows only
	 * what the host has (core/cpuid.c).  IBPB: predictions trained before
	 * it do not steer the guest's indirect branches after it (Intel
	 * "Speculative Execution Side Channel Mitigations" §2.4.3; AMD
	 * "Software Techniques for Managing Speculation", IBPB); L1D_FLUSH:
	 * write back and invalidate the L1 data cache (Intel "L1 Terminal
	 * Fault", IA32_FLUSH_CMD). */
	if ((msr == MSR_PRED_CMD && (val & PRED_CMD_IBPB)) ||
	    (msr == MSR_FLUSH_CMD && (val & FLUSH_CMD_L1D)))
		wrmsr(msr, val);
	return true;
}
