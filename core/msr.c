/*
 * The guest's model-specific registers, and their policy for every back
 * end.  MSRs the CPU keeps per guest (EFER, PAT, syscall, sysenter and
 * segment-base MSRs) are stored by the back end, after the checks here;
 * the rest of the virtual CPU's MSRs are modelled here.  Anything else
 * raises #GP, as on hardware (Intel SDM vol. 4; AMD APM vol. 2 App. A).
 */
#include "core/msr.h"
#include "core/vm.h"
#include "core/board.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86_defs.h"

#define MSR_TSC             0x10
#define MSR_PLATFORM_ID     0x17
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_SPEC_CTRL       0x48
#define MSR_PRED_CMD        0x49
#define MSR_BIOS_SIGN       0x8b
#define MSR_MTRRCAP         0xfe
#define MSR_MISC_ENABLE     0x1a0
#define MSR_MTRR_DEF_TYPE   0x2ff
#define MSR_TSC_AUX         0xc0000103
#define MSR_AMD_HWCR        0xc0010015
#define MSR_PAT             0x277
#define MSR_SYSENTER_CS     0x174
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_CSTAR           0xc0000083
#define MSR_SFMASK          0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102

/*
 * MSRs the guest reads and writes without an exit.  Each is switched with
 * the vCPU by the hardware (VMLOAD/VMSAVE on AMD, APM vol. 2 §15.5.2; the
 * VMCS guest-state area on Intel, SDM vol. 3C §24.4) and holds nothing
 * another guest or the host could be hurt by.
 */
static const uint32_t passthrough[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
};

const uint32_t *msr_passthrough_list(unsigned *nr)
{
	*nr = ARRAY_SIZE(passthrough);
	return passthrough;
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/*
 * The architectural checks on a WRMSR to an MSR the back end keeps; false
 * raises #GP.  *val may be adjusted (EFER.LMA is read-only).
 */
static bool vendor_msr_check(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_EFER: {
		/* Writable: SCE, LME, NXE; LMA is read-only (APM vol. 2 §3.1.7). */
		if (*val & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
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
		/* Each entry must be a valid memory type: 0, 1, 4, 5, 6 or 7
		 * (SDM vol. 3A §11.12.2). */
		for (int i = 0; i < 8; i++) {
			uint8_t t = (*val >> (i * 8)) & 0xff;
			if (t > 7 || t == 2 || t == 3)
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


bool msr_guest_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	bool gp;

	if (board_msr_read(v, msr, val, &gp))
		return !gp;
	if (virt->msr_get(&v->hw, msr, val))
		return true;
	switch (msr) {
	case MSR_TSC:
		*val = rdtsc() + (uint64_t)v->vm->tsc_offset;
		return true;
	case MSR_PLATFORM_ID:
	case MSR_BIOS_SIGN:
	case MSR_MTRRCAP:               /* no variable or fixed MTRRs */
	case MSR_SPEC_CTRL:
	case MSR_AMD_HWCR:
		*val = msr == MSR_SPEC_CTRL ? v->msr.spec_ctrl : 0;
		return true;
	case MSR_FEATURE_CONTROL:
		*val = 1;               /* locked, VMX off */
		return true;
	case MSR_MISC_ENABLE:
		*val = 1;               /* fast strings */
		return true;
	case MSR_MTRR_DEF_TYPE:
		*val = v->msr.mtrr_def_type;
		return true;
	case MSR_TSC_AUX:
		*val = v->msr.tsc_aux;
		return true;
	}
	return false;
}

bool msr_guest_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	bool gp;

	if (board_msr_write(v, msr, val, &gp))
		return !gp;
	uint64_t keep = val;
	if (virt->msr_get(&v->hw, msr, &keep))
		return vendor_msr_check(v, msr, &val) && virt->msr_set(&v->hw, msr, val);
	switch (msr) {
	case MSR_TSC:
		/* The VM's vCPUs share one TSC offset so that their clocks agree;
		 * a write from one vCPU is ignored rather than desynchronize them. */
		return true;
	case MSR_BIOS_SIGN:             /* microcode update trigger: nothing to do */
	case MSR_PRED_CMD:
	case MSR_MISC_ENABLE:
	case MSR_AMD_HWCR:
		return true;
	case MSR_SPEC_CTRL:
		v->msr.spec_ctrl = val & 0x7;   /* IBRS, STIBP, SSBD */
		return true;
	case MSR_MTRR_DEF_TYPE:
		/* Type in bits 7:0 must be UC(0), WC(1), WT(4), WP(5) or WB(6);
		 * bits 10 (FE) and 11 (E); others reserved (SDM vol. 3A §12.11.2.1). */
		if ((val & ~0xcffULL) || (val & 0xff) > 6 || (val & 0xff) == 2 ||
		    (val & 0xff) == 3)
			return false;
		v->msr.mtrr_def_type = val;
		return true;
	case MSR_TSC_AUX:
		if (val >> 32)
			return false;
		v->msr.tsc_aux = val;
		v->fpu.tsc_aux = val;
		wrmsr(0xc0000103, val);         /* the CPU's value while v runs here */
		return true;
	}
	return false;
}
