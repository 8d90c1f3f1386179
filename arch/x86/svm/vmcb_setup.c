/* The SVM back end's pure set-up; see vmcb_setup.h.  AMD APM vol. 2 ch. 15. */
#include "arch/x86/svm/vmcb_setup.h"
#include "lib/string.h"

/* MSRPM: 2 bits per MSR in three 2 KiB ranges (APM vol. 2 §15.11). */
static void msrpm_allow(uint8_t *pm, uint32_t msr)
{
	uint32_t base;

	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x800, msr -= 0xc0000000;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		base = 0x1000, msr -= 0xc0010000;
	else
		return;
	pm[base + msr / 4] &= ~(3u << ((msr % 4) * 2));
}

void svm_permission_maps_init(uint8_t *iopm, uint8_t *msrpm, const uint32_t *pass, unsigned nr_pass)
{
	memset(iopm, 0xff, SVM_IOPM_SIZE);
	memset(msrpm, 0xff, SVM_MSRPM_SIZE);
	/* Only MSRs whose guest value VMLOAD/VMSAVE or the VMCB switch may
	 * pass (APM vol. 2 §15.5.2): core/msr.c's list is of those. */
	for (unsigned i = 0; i < nr_pass; i++)
		msrpm_allow(msrpm, pass[i]);
}

void svm_vmcb_control_init(struct vmcb_control *c, const struct virt_vcpu *v,
			   hpa_t iopm_pa, hpa_t msrpm_pa, uint32_t nr_asids)
{
	c->intercept3 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_CPUID | INTERCEPT_INVD |
			INTERCEPT_HLT | INTERCEPT_INVLPGA | INTERCEPT_IOIO_PROT |
			INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN;
	c->intercept4 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
			INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI |
			INTERCEPT_SKINIT | INTERCEPT_MONITOR | INTERCEPT_MWAIT |
			INTERCEPT_MWAIT_COND | INTERCEPT_XSETBV;
	/* CR0 and CR4 writes, and XSETBV: core/ checks them against the guest's
	 * CPU model (a CR4 bit CPUID hides raises #GP, CR0 and EFER
	 * combinations hardware refuses too; APM vol. 2 §15.9, §15.11). */
	c->intercept_cr = INTERCEPT_CR_WRITE(0) | INTERCEPT_CR_WRITE(4);
	/* #DB and #AC are intercepted and reflected: a guest could otherwise
	 * wedge the physical CPU in an endless delivery loop (CVE-2015-8104,
	 * CVE-2015-5307; APM vol. 2 §15.12). */
	c->intercept_exceptions = (1u << 1) | (1u << 17);
	c->iopm_base_pa = iopm_pa;
	c->msrpm_base_pa = msrpm_pa;
	/* ASIDs 1..nr_asids-1 (0 is the host's).  VMs share them when there
	 * are more VMs than ASIDs: svm_vcpu_run flushes whenever a CPU switches
	 * between vCPUs, so a shared ASID never exposes stale translations. */
	c->asid = 1 + v->vm_id % (nr_asids > 1 ? nr_asids - 1 : 1);
	c->tlb_control = TLB_CONTROL_FLUSH_ALL;
	c->vintr = V_INTR_MASKING;      /* host IF governs physical interrupts */
	if (v->shadow) {
		/* Shadow paging (APM vol. 2 §15.9-15.14): nested paging off;
		 * the guest's CR0/CR3/CR4 live apart from the CPU's, so every
		 * access to them exits, and so do INVLPG, #PF and task switches
		 * (a task switch would load CR3 from the TSS). */
		c->intercept_cr = INTERCEPT_CR_READ(0) | INTERCEPT_CR_READ(3) | INTERCEPT_CR_READ(4) |
				  INTERCEPT_CR_WRITE(0) | INTERCEPT_CR_WRITE(3) | INTERCEPT_CR_WRITE(4);
		c->intercept3 |= INTERCEPT_INVLPG | INTERCEPT_TASK_SWITCH;
		/* #PF, and #TS #NP #SS #GP (see SHADOW_EXCEPTIONS in svm.c). */
		c->intercept_exceptions |= (1u << 14) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13);
	} else {
		c->np_enable = 1;
		c->n_cr3 = v->paging_root;
	}
	c->tsc_offset = (uint64_t)v->tsc_offset;
}

/*
 * The VMCB packs descriptor bits 52-55 (AVL, L, D/B, G) into attribute
 * bits 8-11 (APM vol. 2 §15.5.1, "Segment State"); core/ keeps the
 * architectural layout, with them at bits 12-15.
 */
uint16_t svm_attr_to_vmcb(uint32_t a)
{
	return (uint16_t)((a & 0xff) | ((a >> 4) & 0xf00));
}

uint32_t svm_attr_from_vmcb(uint16_t a)
{
	return (a & 0xff) | ((uint32_t)(a & 0xf00) << 4);
}
