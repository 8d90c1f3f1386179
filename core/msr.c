/*
 * The guest's model-specific registers.  MSRs the CPU keeps per guest
 * (EFER, PAT, syscall and segment-base MSRs) are the back end's; the rest
 * of the virtual CPU's MSRs are modelled here.  Anything else raises #GP,
 * as on hardware (Intel SDM vol. 4; AMD APM vol. 2 App. A).
 */
#include "core/msr.h"
#include "core/vm.h"
#include "core/board.h"
#include "arch/x86/cpu.h"

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


bool msr_guest_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	bool gp;

	if (platform_msr_read(v, msr, val, &gp))
		return !gp;
	if (virt->msr_read(v, msr, val))
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

	if (platform_msr_write(v, msr, val, &gp))
		return !gp;
	if (virt->msr_write(v, msr, val))
		return true;
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
