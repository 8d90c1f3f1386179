/*
 * Shadow paging on VT-x; see vmx_shadow.h.  The guest's CR0, CR3, CR4 and
 * EFER live here; the VMCS holds what the CPU runs with (core/shadow.c's
 * v->shadow_hw), written before each entry where it changed.
 */
#include "arch/x86/vmx/vmx_shadow.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_insn.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/cpu.h"
#include "kernel/log.h"
#include "mm/mm.h"
#include "lib/string.h"

#define CR4_VME         (1ULL << 0)
#define CR4_PVI         (1ULL << 1)
#define RFLAGS_IOPL     (3ULL << 12)
#define RFLAGS_VM       (1ULL << 17)
/* Page-fault error-code mask and match (SDM vol. 3C §25.6.3; App. B.3.1). */
#define PFEC_MASK       0x4006
#define PFEC_MATCH      0x4008
#define VMX_EXIT_INVLPG 14
#define MSR_PAT         0x277

struct vmx_shadow_caps vmx_shadow_caps;

struct vmx_shadow *vmx_shadow_vcpu_init(struct virt_vcpu *v, uint32_t *proc, uint32_t proc2)
{
	struct vmx_shadow *sh = kzalloc(sizeof(*sh));

	if (!sh)
		return NULL;
	/* MOV to and from CR3 exit (the CPU's CR3 is the shadow root; no CR3
	 * target values), and so does INVLPG (§25.1.3, §25.6.7). */
	*proc |= PROC_CR3_LOAD | PROC_CR3_STORE | PROC_INVLPG;
	vmwrite(PROC_CONTROLS, *proc);
	/* No EPT, so no unrestricted guest either (§26.2.1.1); INVPCID would
	 * bypass the shadow tables: #UD (core/shadow.c hides it from CPUID). */
	if (vmx_shadow_caps.secondary)
		vmwrite(PROC2_CONTROLS, proc2 & ~(PROC2_EPT | PROC2_UNRESTRICTED | PROC2_INVPCID));
	/* Every CR0 and CR4 bit is kasane's: writes exit, reads see the read
	 * shadows, which hold the guest's own values (§25.6.6). */
	vmwrite(CR0_MASK, ~0ULL);
	vmwrite(CR4_MASK, ~0ULL);
	/* Every #PF exits: with mask = match = 0 the exception bitmap's bit 14
	 * alone decides (§25.2). */
	vmwrite(EXCEPTION_BITMAP, (uint32_t)vmread(EXCEPTION_BITMAP) | (1u << X86_EXC_PF));
	vmwrite(PFEC_MASK, 0);
	vmwrite(PFEC_MATCH, 0);
	sh->rm.idt.limit = 0xffff;
	return sh;
}

void vmx_shadow_vcpu_free(struct vmx_shadow *sh)
{
	kfree(sh);
}

bool vmx_shadow_get_reg(struct virt_vcpu *v, struct vmx_shadow *sh, enum virt_reg reg,
			uint64_t *val)
{
	switch (reg) {
	case VIRT_CR0: *val = sh->cr0; return true;
	case VIRT_CR3: *val = sh->cr3; return true;
	case VIRT_CR4: *val = sh->cr4; return true;
	case VIRT_EFER: *val = sh->efer; return true;
	case VIRT_CPL:
		if (!sh->rm.active)
			return false;
		*val = 0;               /* real mode */
		return true;
	default: return false;
	}
}

bool vmx_shadow_set_reg(struct virt_vcpu *v, struct vmx_shadow *sh, enum virt_reg reg,
			uint64_t val)
{
	switch (reg) {
	case VIRT_CR0: sh->cr0 = val; return true;
	case VIRT_CR3: sh->cr3 = val; return true;
	case VIRT_CR4: sh->cr4 = val; return true;
	case VIRT_EFER: sh->efer = val; return true;
	default: return false;
	}
}

/*
 * Without the PAT load control (Core 2) the guest's PAT cannot reach the
 * CPU, which keeps the host's: the guest still reads back what it wrote,
 * and only its memory types differ (SDM vol. 3A §11.12.4).
 */
bool vmx_shadow_msr(struct vmx_shadow *sh, uint32_t msr, uint64_t *val, bool write)
{
	uint64_t *p = msr == MSR_EFER ? &sh->efer :
		      msr == MSR_PAT && !vmx_shadow_caps.load_pat ? &sh->pat : NULL;

	if (!p)
		return false;
	if (write)
		*p = *val;
	else
		*val = *p;
	return true;
}

void vmx_shadow_set_state(struct virt_vcpu *v, struct vmx_shadow *sh,
			  const struct x86_vcpu_state *st)
{
	/* set_state wrote the guest's own values into the VMCS as they are:
	 * not the vm86 form, and not the CPU's control registers. */
	if (sh->rm.active)
		vmwrite(EXCEPTION_BITMAP, sh->rm.bitmap);
	sh->rm.active = false;
	sh->rm.fail = NULL;
	sh->rm.triple = false;
	sh->hw_valid = false;
	sh->cr0 = st->sregs.cr0;
	sh->cr3 = st->sregs.cr3;
	sh->cr4 = st->sregs.cr4;
	sh->efer = st->sregs.efer;
	sh->pat = st->sregs.pat;
}

void vmx_shadow_get_sregs(struct virt_vcpu *v, struct vmx_shadow *sh, struct x86_sregs *r)
{
	r->cr0 = sh->cr0;
	r->cr3 = sh->cr3;
	r->cr4 = sh->cr4;
	r->efer = sh->efer;
	if (!vmx_shadow_caps.load_pat)
		r->pat = sh->pat;
	if (sh->rm.active)
		vmx_rm_get_sregs(&sh->rm, r);
}

/*
 * EFER as the CPU runs with it.  With the "load IA32_EFER" entry control
 * the VMCS field; without it (Core 2) VM entry loads only LMA, and LME
 * when CR0.PG = 1, from "IA-32e mode guest" (SDM vol. 3C §27.3.2.1) and
 * keeps the rest of the host's, so NXE and SCE are put in the host's
 * EFER by hand (kasane itself runs with NXE and has no use for SCE).
 */
static void write_efer(uint64_t efer)
{
	uint32_t old = (uint32_t)vmread(ENTRY_CONTROLS);
	uint32_t entry = (efer & EFER_LMA) ? (old | ENTRY_IA32E) : (old & ~ENTRY_IA32E);

	if (entry != old)
		vmwrite(ENTRY_CONTROLS, entry);
	if (vmx_shadow_caps.load_efer) {
		vmwrite(GUEST_EFER, efer);
		return;
	}
	uint64_t host = rdmsr(MSR_EFER);
	uint64_t want = (host & ~(uint64_t)EFER_SCE) | (efer & (EFER_SCE | EFER_NXE));
	if (want != host)
		wrmsr(MSR_EFER, want);
}

/* e becomes an exit of kind k; the event it cut short stays. */
static void set_kind(struct vm_exit *e, enum vm_exit_kind k, uint32_t reason, uint64_t qual)
{
	e->kind = k;
	e->code = reason;
	e->info1 = qual;
	e->info2 = 0;
	e->next_rip = 0;
}

#define SYNC(field, cache, val) \
	do { if (!sh->hw_valid || sh->cache != (val)) vmwrite(field, sh->cache = (val)); } while (0)

bool vmx_shadow_enter(struct virt_vcpu *v, struct vmx_shadow *sh, struct vm_exit *e)
{
	struct vmx_rm *rm = &sh->rm;
	bool real = !(sh->cr0 & CR0_PE);

	if (real != rm->active && !rm->fail && !(real ? vmx_rm_enter(v, rm) : vmx_rm_leave(v, rm)))
		rm->fail = real ? "a segment whose base is not its selector times 16"
				: "CS and SS selectors with different RPLs";
	if (unlikely(rm->fail || rm->triple)) {
		pr_err("vmx: VM %u vCPU %u: %s%s\n", v->vm_id, v->vcpu_id,
		       rm->triple ? "real-mode event delivery failed (IVT limit, or stack or IVT "
				    "outside RAM)" : "real mode without unrestricted guest: ",
		       rm->triple ? "" : rm->fail);
		e->cut.valid = false;
		set_kind(e, rm->triple ? EXIT_TRIPLE_FAULT : EXIT_INVALID, 0, 0);
		return false;
	}
	/* CR0.PE, PG and NE are fixed to 1 without unrestricted guest, CR4.VMXE
	 * always (§24.8, §26.3.1.1); in vm86 CR4.VME and PVI stay 0, so that
	 * INT n goes to the empty IDT and exits (vmx_realmode.c). */
	uint64_t cr0 = (v->shadow_hw.cr0 | vmx_shadow_caps.cr0_fixed0) & vmx_shadow_caps.cr0_fixed1;
	uint64_t cr4 = (v->shadow_hw.cr4 | vmx_shadow_caps.cr4_fixed0) & vmx_shadow_caps.cr4_fixed1;
	if (rm->active)
		cr4 &= ~(CR4_VME | CR4_PVI);
	SYNC(GUEST_CR0, hw_cr0, cr0);
	SYNC(GUEST_CR3, hw_cr3, v->shadow_hw.cr3);
	SYNC(GUEST_CR4, hw_cr4, cr4);
	SYNC(CR0_SHADOW, rd_cr0, sh->cr0);
	SYNC(CR4_SHADOW, rd_cr4, sh->cr4);
	if (!sh->hw_valid || sh->hw_efer != v->shadow_hw.efer || !vmx_shadow_caps.load_efer)
		write_efer(sh->hw_efer = v->shadow_hw.efer);
	sh->hw_valid = true;
	if (rm->active) {
		rm->iopl = v->regs.rflags & RFLAGS_IOPL;
		v->regs.rflags |= RFLAGS_VM | RFLAGS_IOPL;
	}
	return true;
}

/* After the world switch: RFLAGS as the guest sees it. */
void vmx_shadow_left(struct virt_vcpu *v, struct vmx_shadow *sh)
{
	if (sh->rm.active)
		v->regs.rflags = (v->regs.rflags & ~(RFLAGS_VM | RFLAGS_IOPL)) | sh->rm.iopl;
}

bool vmx_shadow_exit(struct virt_vcpu *v, struct vmx_shadow *sh, struct vm_exit *e,
		     uint32_t reason)
{
	uint64_t qual;

	switch (reason) {
	case VMX_EXIT_CR_ACCESS:
		/* Exit qualification (§28.2.1, Table 28-3): CR number, access
		 * type (0 MOV to, 1 MOV from, 2 CLTS, 3 LMSW); core/ decodes the
		 * instruction. */
		qual = vmread(EXIT_QUALIFICATION);
		if ((qual & 0xf) == 8)
			return false;
		set_kind(e, EXIT_CR_ACCESS, reason, qual);
		e->cr.cr = ((qual >> 4) & 3) >= 2 ? 0 : qual & 0xf;
		e->cr.write = ((qual >> 4) & 3) != 1;
		return true;
	case VMX_EXIT_INVLPG:
		/* The exit qualification is the linear address (§28.2.1). */
		qual = vmread(EXIT_QUALIFICATION);
		set_kind(e, EXIT_INVLPG, reason, qual);
		e->invlpg.la = qual;
		e->invlpg.la_known = true;
		return true;
	case VMX_EXIT_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(EXIT_INTR_INFO);
		if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI)
			return false;
		if ((info & 0xff) == X86_EXC_PF) {
			/* CR2 is not written; the exit qualification holds the
			 * linear address (§28.1, §28.2.1). */
			set_kind(e, EXIT_PAGE_FAULT, reason, vmread(EXIT_QUALIFICATION));
			e->pf.la = e->info1;
			e->pf.error = (uint32_t)vmread(EXIT_INTR_ERROR);
			e->info2 = info;
			/* A #PF of an IRET that had unblocked virtual NMIs: the
			 * IRET runs again after the fill, so blocking holds
			 * until it completes (§28.2.3, §26.7.1.2). */
			if ((info & INTR_INFO_NMI_UNBLOCK) && !e->cut.valid)
				v->nmi_blocked = true;
			return true;
		}
		e->code = reason;
		e->info2 = info;
		e->next_rip = 0;
		return sh->rm.active && vmx_rm_exception(v, &sh->rm, e);
	}
	default:
		/* Task switches too: vmx.c's decode_exit reads their selector
		 * and source from the qualification. */
		return false;
	}
}
