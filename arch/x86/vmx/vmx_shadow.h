/*
 * Shadow paging on VT-x (core/shadow.c holds the policy): the VMCS runs
 * with EPT and unrestricted guest off, CR3 on the vCPU's shadow tables,
 * every CR0/CR4 bit owned by kasane (the guest reads its own values from
 * the read shadows, SDM vol. 3C §25.6.6), CR3 loads and stores, INVLPG and
 * #PF exiting (§25.1.3, §25.2).  Without unrestricted guest the CPU
 * cannot run real mode, so a guest with CR0.PE = 0 runs in virtual-8086
 * mode and vmx_realmode.c does what vm86 cannot (docs/architecture.md).
 *
 * Private to arch/x86/vmx: vmx.c calls these hooks with v's VMCS current
 * on this CPU and interrupts off, unless a hook says otherwise.
 */
#ifndef KASANE_ARCH_X86_VMX_VMX_SHADOW_H
#define KASANE_ARCH_X86_VMX_VMX_SHADOW_H

#include "lib/types.h"
#include "arch/x86/virt_ops.h"

/* What vmx.c found in the capability MSRs, for these files. */
struct vmx_shadow_caps {
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool secondary;         /* secondary processor-based controls exist */
	bool load_efer;         /* the "load IA32_EFER" entry control exists */
	bool load_pat;          /* likewise "load IA32_PAT" */
};
extern struct vmx_shadow_caps vmx_shadow_caps;

/* A real-mode guest run in virtual-8086 mode (vmx_realmode.c). */
struct vmx_rm {
	bool active;            /* the VMCS holds the vm86 form of the guest */
	const char *fail;       /* a state vm86 cannot run: ends the VM */
	bool triple;            /* a real-mode event could not be delivered */
	uint64_t iopl;          /* the guest's RFLAGS.IOPL (vm86 runs with 3) */
	uint32_t bitmap;        /* the exception bitmap outside vm86 */
	struct x86_seg tr, ldtr;        /* the guest's, replaced in vm86 */
	struct x86_dtable idt;
};

struct vmx_shadow {
	uint64_t cr0, cr3, cr4, efer;   /* the guest's own */
	uint64_t pat;                   /* the guest's, where the CPU cannot load it */
	/* What the VMCS holds; hw_valid false after set_state wrote it. */
	bool hw_valid;
	uint64_t hw_cr0, hw_cr3, hw_cr4, hw_efer, rd_cr0, rd_cr4;
	struct vmx_rm rm;
};

/* vmx_shadow.c */
struct vmx_shadow *vmx_shadow_vcpu_init(struct virt_vcpu *v, uint32_t *proc, uint32_t proc2);
void vmx_shadow_vcpu_free(struct vmx_shadow *sh);
bool vmx_shadow_enter(struct virt_vcpu *v, struct vmx_shadow *sh, struct vm_exit *e);
void vmx_shadow_left(struct virt_vcpu *v, struct vmx_shadow *sh);
bool vmx_shadow_exit(struct virt_vcpu *v, struct vmx_shadow *sh, struct vm_exit *e,
		     uint32_t reason);
void vmx_shadow_set_state(struct virt_vcpu *v, struct vmx_shadow *sh,
			  const struct x86_vcpu_state *st);
void vmx_shadow_get_sregs(struct virt_vcpu *v, struct vmx_shadow *sh, struct x86_sregs *r);
/* No VMCS needed: may run anywhere.  vmx_shadow_msr: the guest's EFER,
 * and its PAT without the PAT controls; false for other MSRs. */
bool vmx_shadow_msr(struct vmx_shadow *sh, uint32_t msr, uint64_t *val, bool write);
bool vmx_shadow_get_reg(struct virt_vcpu *v, struct vmx_shadow *sh, enum virt_reg reg,
			uint64_t *val);
bool vmx_shadow_set_reg(struct virt_vcpu *v, struct vmx_shadow *sh, enum virt_reg reg,
			uint64_t val);

/* vmx_realmode.c */
bool vmx_rm_enter(struct virt_vcpu *v, struct vmx_rm *rm);
bool vmx_rm_leave(struct virt_vcpu *v, struct vmx_rm *rm);
void vmx_rm_get_sregs(struct vmx_rm *rm, struct x86_sregs *r);
/* An event for a vCPU in vm86: delivered through the real-mode IVT here
 * (true), or false when not in vm86. */
bool vmx_rm_inject(struct virt_vcpu *v, struct vmx_rm *rm, uint8_t vector);
/* An exception exit in vm86: true if e now describes it. */
bool vmx_rm_exception(struct virt_vcpu *v, struct vmx_rm *rm, struct vm_exit *e);

#endif
