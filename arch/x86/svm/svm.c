/*
 * AMD-V (SVM) back end: one VMCB per vCPU, a VMRUN loop, and exits turned
 * into vendor-neutral struct vm_exit for core/ to handle.
 * AMD APM vol. 2 ch. 15 (Secure Virtual Machine).
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/svm/vmcb_setup.h"
#include "arch/x86/virt_ops.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/trap.h"
#include "kernel/spinlock.h"
#include "arch/x86/x86_defs.h"
#include "kernel/log.h"
#include "mm/mm.h"

#define MSR_VM_CR       0xc0010114
#define VM_CR_SVMDIS    (1u << 4)
#define MSR_VM_HSAVE_PA 0xc0010117

struct svm_cpu {
	hpa_t hsave;            /* VM_HSAVE_PA area */
	hpa_t host_save;        /* VMSAVE area for the host's hidden state */
	struct virt_vcpu *last; /* vCPU that ran here last, for TLB flushes */
};

struct svm_vcpu {
	struct vmcb *vmcb;
	hpa_t vmcb_pa;
	unsigned last_cpu;
	/* Event windows core/ asked for (applied at each entry). */
	bool intr_window, nmi_window;
	/*
	 * NMI blocking without vNMI (APM vol. 2 §15.21.4 leaves it to us):
	 * while v->nmi_blocked, IRET is intercepted; at that exit we let the
	 * guest run the IRET again with TF set, and NMI blocking ends when it
	 * completes (the single-step #DB) or faults (one of IRET_FAULTS,
	 * intercepted for that one instruction).
	 */
	bool iret_seen;
	/* A one-instruction step of this entry: the guest's own TF and RF,
	 * and DR6.BS, to restore afterwards. */
	uint64_t step_flags, step_dr6_bs;
	bool last_cut;          /* the last exit cut an event short */
	bool entry_shadow;      /* this entry began in an interrupt shadow */
	/* An interrupt posted through V_IRQ (svm_post_intr): its vector, or
	 * -1; and whether this entry armed it. */
	int post_vec;
	bool post_armed;
	/* Shadow paging: the guest's own CR0, CR3, CR4 and EFER, kept here
	 * while the VMCB holds the values the CPU runs with (v->shadow_hw). */
	uint64_t guest_cr0, guest_cr3, guest_cr4, guest_efer;
};

/* Exceptions intercepted always: #DB and #AC, reflected (a guest could
 * otherwise wedge the physical CPU in an endless delivery loop,
 * CVE-2015-8104, CVE-2015-5307; APM vol. 2 §15.12). */
#define ALWAYS_EXCEPTIONS ((1u << X86_EXC_DB) | (1u << X86_EXC_AC))
/* What an IRET can raise (SDM vol. 2A, IRET: protected-mode exceptions). */
#define IRET_FAULTS ((1u << X86_EXC_TS) | (1u << X86_EXC_NP) | (1u << X86_EXC_SS) | \
		     (1u << X86_EXC_GP) | (1u << X86_EXC_PF) | (1u << X86_EXC_AC))
/*
 * Under shadow paging: #PF (the shadow's own faults), and the contributory
 * faults, so that one raised while delivering a #PF kasane injected comes
 * back as an exit with that #PF in EXITINTINFO and core/event.c combines
 * the two into #DF (SDM vol. 3A Table 6-5); QEMU 7.2 delivers the second
 * fault of an injected event alone.
 */
#define SHADOW_EXCEPTIONS ((1u << X86_EXC_PF) | (1u << X86_EXC_TS) | (1u << X86_EXC_NP) | \
			   (1u << X86_EXC_SS) | (1u << X86_EXC_GP))
#define RFLAGS_RF       (1ULL << 16)
#define DR6_BS          (1ULL << 14)    /* single-step (SDM vol. 3B §18.2.3) */

static struct svm_cpu svm_cpus[MAX_CPUS];
static hpa_t iopm_pa, msrpm_pa;         /* shared by all vCPUs */
static bool has_nrips, has_vnmi, has_npt, has_flush_asid, has_decode_assists;
static uint32_t nr_asids;

void svm_vmrun(uint64_t *gpr, hpa_t vmcb, hpa_t host_save);

static inline void clgi(void) { __asm__ volatile("clgi" ::: "memory"); }
static inline void stgi(void) { __asm__ volatile("stgi" ::: "memory"); }
static inline void vmsave(hpa_t pa) { __asm__ volatile("vmsave %%rax" : : "a"(pa) : "memory"); }

static bool svm_global_init(const uint32_t *pass, unsigned nr_pass)
{
	/* IOPM and MSRPM, shared by all vCPUs. */
	iopm_pa = page_alloc(SVM_IOPM_SIZE / PAGE_SIZE, PAGE_SIZE);
	msrpm_pa = page_alloc(SVM_MSRPM_SIZE / PAGE_SIZE, PAGE_SIZE);
	if (!iopm_pa || !msrpm_pa)
		return false;
	svm_permission_maps_init(hpa_to_hva(iopm_pa), hpa_to_hva(msrpm_pa), pass, nr_pass);
	return true;
}

static spinlock_t init_lock = SPINLOCK_INIT;
static bool global_done;

static bool svm_cpu_init(const uint32_t *pass, unsigned nr_pass)
{
	struct svm_cpu *sc = &svm_cpus[this_cpu_id()];
	unsigned id = this_cpu_id();

	/* CPUID Fn8000_0001 ECX bit 2: SVM; Fn8000_000A: revision, ASIDs, features. */
	if (!(cpuid(0x80000001, 0).ecx & (1u << 2))) {
		pr_err("svm: CPU %u has no SVM; no VMs run there\n", id);
		return false;
	}
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		pr_err("svm: CPU %u: SVM disabled by firmware (VM_CR.SVMDIS); no VMs run there\n", id);
		return false;
	}
	struct cpuid_regs f = cpuid(0x8000000a, 0);
	uint64_t flags = spin_lock_irqsave(&init_lock);
	if (!global_done) {
		global_done = svm_global_init(pass, nr_pass);
		has_nrips = f.edx & (1u << 3);
		has_vnmi = f.edx & (1u << 25);  /* virtual NMI (APM vol. 2 §15.21.10) */
		nr_asids = f.ebx;
		has_npt = f.edx & 1;
		has_flush_asid = f.edx & (1u << 6);
		has_decode_assists = f.edx & (1u << 7);
	}
	spin_unlock_irqrestore(&init_lock, flags);
	if (!global_done)
		return false;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	sc->hsave = page_zalloc(1, PAGE_SIZE);
	sc->host_save = page_zalloc(1, PAGE_SIZE);
	if (!sc->hsave || !sc->host_save)
		return false;
	wrmsr(MSR_VM_HSAVE_PA, sc->hsave);
	vmsave(sc->host_save);
	if (id == 0)
		pr_info("svm: AMD-V %s, %u ASIDs%s%s\n",
			has_npt ? "with nested paging" : "without nested paging (shadow paging only)",
			nr_asids,
			has_nrips ? ", next-RIP saving" : ", no next-RIP (software decode)",
			has_vnmi ? ", virtual NMI" : "");
	return true;
}

static struct vmcb *vmcb_of(struct virt_vcpu *v)
{
	return ((struct svm_vcpu *)v->vendor)->vmcb;
}

static bool svm_vcpu_init(struct virt_vcpu *v)
{
	struct svm_vcpu *sv = kzalloc(sizeof(*sv));

	if (!sv)
		return false;
	sv->vmcb_pa = page_zalloc(1, PAGE_SIZE);
	if (!sv->vmcb_pa) {
		kfree(sv);
		return false;
	}
	sv->vmcb = hpa_to_hva(sv->vmcb_pa);
	sv->last_cpu = ~0u;
	sv->post_vec = -1;
	v->vendor = sv;

	svm_vmcb_control_init(&sv->vmcb->ctl, v, iopm_pa, msrpm_pa, nr_asids);
	if (has_vnmi)
		sv->vmcb->ctl.vintr |= V_NMI_ENABLE;    /* the CPU tracks NMI blocking */
	return true;
}

static void svm_vcpu_free(struct virt_vcpu *v)
{
	struct svm_vcpu *sv = v->vendor;

	if (!sv)
		return;
	page_free(sv->vmcb_pa, 1);
	kfree(sv);
	v->vendor = NULL;
}

static void seg_to_vmcb(struct vmcb_seg *d, const struct x86_seg *s)
{
	d->selector = s->selector;
	d->attrib = svm_attr_to_vmcb(s->attr);
	d->limit = s->limit;
	d->base = s->base;
}

static void seg_from_vmcb(struct x86_seg *d, const struct vmcb_seg *s)
{
	d->selector = s->selector;
	d->attr = svm_attr_from_vmcb(s->attrib);
	d->limit = s->limit;
	d->base = s->base;
}

static struct vmcb_seg *vmcb_segs(struct vmcb_save *s, int i)
{
	switch (i) {
	case SEG_ES: return &s->es;
	case SEG_CS: return &s->cs;
	case SEG_SS: return &s->ss;
	case SEG_DS: return &s->ds;
	case SEG_FS: return &s->fs;
	default: return &s->gs;
	}
}

static void svm_request_intr_window(struct virt_vcpu *v, bool on);

static void svm_set_state(struct virt_vcpu *v, const struct x86_vcpu_state *st)
{
	struct vmcb *vmcb = vmcb_of(v);
	struct vmcb_save *s = &vmcb->save;
	const struct x86_sregs *r = &st->sregs;

	for (int i = 0; i < NR_SEGS; i++)
		seg_to_vmcb(vmcb_segs(s, i), &r->seg[i]);
	seg_to_vmcb(&s->tr, &r->tr);
	seg_to_vmcb(&s->ldtr, &r->ldtr);
	s->gdtr = (struct vmcb_seg){ .limit = r->gdt.limit, .base = r->gdt.base };
	s->idtr = (struct vmcb_seg){ .limit = r->idt.limit, .base = r->idt.base };
	s->cpl = (uint8_t)x86_cpl(r);
	s->cr0 = r->cr0;
	s->cr2 = r->cr2;
	s->cr3 = r->cr3;
	s->cr4 = r->cr4;
	s->efer = r->efer | EFER_SVME;  /* VMRUN requires it; hidden from the guest */
	s->g_pat = r->pat;
	s->dr6 = r->dr6;
	s->dr7 = r->dr7;
	v->regs = st->regs;
	s->rflags = st->regs.rflags;
	vmcb->ctl.eventinj = 0;
	vmcb->ctl.interrupt_shadow = 0;
	vmcb->ctl.vintr &= ~(0xfULL | V_NMI_PENDING | V_NMI_BLOCKING);     /* V_TPR = 0 */
	vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
	svm_request_intr_window(v, false);
	struct svm_vcpu *sv = v->vendor;
	sv->nmi_window = false;
	sv->iret_seen = false;
	sv->post_vec = -1;
	v->nmi_blocked = false;
}

static void svm_get_sregs(struct virt_vcpu *v, struct x86_sregs *r)
{
	struct vmcb_save *s = &vmcb_of(v)->save;

	for (int i = 0; i < NR_SEGS; i++)
		seg_from_vmcb(&r->seg[i], vmcb_segs(s, i));
	seg_from_vmcb(&r->tr, &s->tr);
	seg_from_vmcb(&r->ldtr, &s->ldtr);
	r->gdt = (struct x86_dtable){ s->gdtr.base, (uint16_t)s->gdtr.limit };
	r->idt = (struct x86_dtable){ s->idtr.base, (uint16_t)s->idtr.limit };
	r->cr0 = s->cr0;
	r->cr2 = s->cr2;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->efer = s->efer & ~(uint64_t)EFER_SVME;
	r->pat = s->g_pat;
	r->dr6 = s->dr6;
	r->dr7 = s->dr7;
}

static uint64_t svm_get_reg(struct virt_vcpu *v, enum virt_reg reg)
{
	struct vmcb *vmcb = vmcb_of(v);

	switch (reg) {
	case VIRT_CR0: return vmcb->save.cr0;
	case VIRT_CR2: return vmcb->save.cr2;
	case VIRT_CR3: return vmcb->save.cr3;
	case VIRT_CR4: return vmcb->save.cr4;
	case VIRT_EFER: return vmcb->save.efer & ~(uint64_t)EFER_SVME;
	/* With V_INTR_MASKING, guest CR8 accesses go to V_TPR (APM vol. 2 §15.21.1). */
	case VIRT_CR8: return vmcb->ctl.vintr & 0xf;
	/* The CPL is SS.DPL (APM vol. 2 §15.5.1; QEMU ignores the CPL field). */
	case VIRT_CPL: return (vmcb->save.ss.attrib >> 5) & 3;
	/* DR6 and DR7 are in the VMCB; a #DB intercept has written DR6. */
	case VIRT_DR6: return vmcb->save.dr6;
	case VIRT_DR7: return vmcb->save.dr7;
	/* Nested paging walks the guest's PDPTEs from memory (APM vol. 2 §15.25.10). */
	case VIRT_PDPTE0: case VIRT_PDPTE1: case VIRT_PDPTE2: case VIRT_PDPTE3: return 0;
	}
	return 0;
}

static void svm_set_reg(struct virt_vcpu *v, enum virt_reg reg, uint64_t val)
{
	struct vmcb *vmcb = vmcb_of(v);

	switch (reg) {
	/* A paging control written for the guest flushes its translations, as
	 * the MOV would have (APM vol. 2 §15.16). */
	case VIRT_CR0: vmcb->save.cr0 = val; vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL; break;
	case VIRT_CR2: vmcb->save.cr2 = val; break;
	case VIRT_CR3: vmcb->save.cr3 = val; vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL; break;
	case VIRT_CR4: vmcb->save.cr4 = val; vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL; break;
	case VIRT_EFER: vmcb->save.efer = val | EFER_SVME; break;
	case VIRT_CR8: vmcb->ctl.vintr = (vmcb->ctl.vintr & ~0xfULL) | (val & 0xf); break;
	case VIRT_CPL: break;           /* follows SS */
	/* VMRUN refuses set bits 63:32 in either (APM vol. 2 §15.5.1). */
	case VIRT_DR6: vmcb->save.dr6 = (uint32_t)val; break;
	case VIRT_DR7: vmcb->save.dr7 = (uint32_t)val; break;
	case VIRT_PDPTE0: case VIRT_PDPTE1: case VIRT_PDPTE2: case VIRT_PDPTE3: break;
	}
}

/*
 * The debugger's #BP intercept (APM vol. 2 §15.12), with INTn's (§15.14.2,
 * intercept word 3 bit 21): QEMU raises INT3 as a software interrupt, so
 * only the INTn intercept sees it there; on a CPU, #BP's does.  Both exit
 * with RIP on the instruction, before the guest's IDT is used.
 */
static void svm_set_bp_intercept(struct virt_vcpu *v, bool on)
{
	struct vmcb_control *c = &vmcb_of(v)->ctl;

	if (on) {
		c->intercept_exceptions |= 1u << X86_EXC_BP;
		c->intercept3 |= INTERCEPT_INTN;
	} else {
		c->intercept_exceptions &= ~(1u << X86_EXC_BP);
		c->intercept3 &= ~INTERCEPT_INTN;
	}
}

static void svm_inject_exception(struct virt_vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	uint64_t ev = vector | EVENTINJ_TYPE_EXCEPTION | EVENTINJ_VALID;

	if (has_error)
		ev |= EVENTINJ_EV | ((uint64_t)error << 32);
	vmcb_of(v)->ctl.eventinj = ev;
}

static bool svm_can_inject_intr(struct virt_vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);

	/* IF=1, no STI/MOV SS shadow, no event already queued (APM vol. 2 §15.20). */
	return (v->regs.rflags & RFLAGS_IF) && !(vmcb->ctl.interrupt_shadow & INTERRUPT_SHADOW) &&
	       !(vmcb->ctl.eventinj & EVENTINJ_VALID);
}

static void svm_inject_intr(struct virt_vcpu *v, uint8_t vector)
{
	vmcb_of(v)->ctl.eventinj = vector | EVENTINJ_TYPE_INTR | EVENTINJ_VALID;
}

static bool svm_can_inject_nmi(struct virt_vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);

	/* With vNMI the CPU holds the NMI while NMIs are blocked. */
	if (has_vnmi)
		return true;
	/* No NMI in the interrupt shadow either, as KVM does: some CPUs
	 * hold NMIs for the instruction after STI (SDM vol. 2B, STI). */
	return !v->nmi_blocked && !(vmcb->ctl.interrupt_shadow & INTERRUPT_SHADOW) &&
	       !(vmcb->ctl.eventinj & EVENTINJ_VALID);
}

static void svm_inject_nmi(struct virt_vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);

	if (has_vnmi) {
		vmcb->ctl.vintr |= V_NMI_PENDING;       /* taken when not blocked */
		return;
	}
	vmcb->ctl.eventinj = X86_EXC_NMI | EVENTINJ_TYPE_NMI | EVENTINJ_VALID;
	/* NMI blocking starts with the delivery (SDM vol. 3A §6.7.1). */
	v->nmi_blocked = true;
}

/*
 * Interrupt window: a virtual interrupt (V_IRQ, priority 15, ignoring
 * V_TPR) plus the VINTR intercept makes the CPU exit as soon as the guest
 * could take an interrupt (APM vol. 2 §15.21.4).  svm_vcpu_run sets it at
 * each entry.
 */
static void svm_request_intr_window(struct virt_vcpu *v, bool on)
{
	((struct svm_vcpu *)v->vendor)->intr_window = on;
}

/*
 * A posted interrupt (virt_ops.h, post_intr): V_IRQ with the real vector
 * and its priority class, V_TPR honoured (V_IGN_TPR clear) and no VINTR
 * intercept.  The CPU takes such a virtual interrupt through the guest's
 * IDT as soon as RFLAGS.IF=1 and V_INTR_PRIO > V_TPR (APM vol. 2 §15.21.4),
 * and clears V_IRQ when it does: no interrupt-window exit for an
 * interrupt that waits only for the guest's STI, POPF or IRET.  Only with
 * IF=0 outside a shadow and with no event loaded: a shadow is left to the
 * window's single step (QEMU 7.2 ignores the VMCB's shadow at VMRUN), and
 * an event in EVENTINJ goes first anyway.  QEMU 7.2 compares the priority
 * with >= instead of >: it differs only for a guest that raises CR8 to the
 * vector's own class after the post without an exit.
 */
static bool svm_post_intr(struct virt_vcpu *v, uint8_t vector)
{
	struct svm_vcpu *sv = v->vendor;
	struct vmcb *vmcb = vmcb_of(v);

	if ((v->regs.rflags & RFLAGS_IF) || (vmcb->ctl.interrupt_shadow & INTERRUPT_SHADOW) ||
	    (vmcb->ctl.eventinj & EVENTINJ_VALID) || vector < 16)
		return false;
	sv->post_vec = vector;
	return true;
}

static void decode_cut(uint64_t ii, struct virt_event *ev);

/*
 * After the exit: was the posted interrupt taken?  The CPU clears V_IRQ
 * when it takes it; an exit that cut its delivery short names it in
 * EXITINTINFO (§15.7.2), which core/ delivers again: taken too.  QEMU 7.2
 * leaves V_IRQ set in that case.  With no event loaded at entry, an
 * external interrupt there can only be the posted one.
 */
static int svm_post_settle(struct virt_vcpu *v, bool *posted)
{
	struct svm_vcpu *sv = v->vendor;
	struct vmcb_control *c = &vmcb_of(v)->ctl;
	int vec = sv->post_vec;
	struct virt_event ev;

	/* Decoded as decode_cut does: QEMU 7.2 names an interrupt the CPU
	 * took on its own an exception (docs/emulators.md). */
	decode_cut(c->exitintinfo, &ev);
	bool cut = ev.valid && ev.type == VIRT_EV_INTR && (int)ev.vector == vec;
	bool taken = sv->post_armed && (!(c->vintr & V_IRQ) || cut);

	*posted = vec >= 0;
	if (sv->post_armed)
		c->vintr &= ~(V_IRQ | V_INTR_PRIO_MASK | V_INTR_VECTOR_MASK);
	sv->post_vec = -1;
	sv->post_armed = false;
	return taken ? vec : -1;
}

static void svm_request_nmi_window(struct virt_vcpu *v, bool on)
{
	((struct svm_vcpu *)v->vendor)->nmi_window = on;
}

static void svm_set_intr_shadow(struct virt_vcpu *v, unsigned shadow)
{
	struct vmcb_control *c = &vmcb_of(v)->ctl;

	/* One bit for both kinds (APM vol. 2 §15.21.5). */
	c->interrupt_shadow = (c->interrupt_shadow & ~INTERRUPT_SHADOW) |
			      (shadow ? INTERRUPT_SHADOW : 0);
}

/* MSRs whose guest copy lives in the VMCB. */
static uint64_t *vmcb_msr(struct vmcb_save *s, uint32_t msr)
{
	switch (msr) {
	case 0x277: return &s->g_pat;
	case 0xc0000081: return &s->star;
	case 0xc0000082: return &s->lstar;
	case 0xc0000083: return &s->cstar;
	case 0xc0000084: return &s->sfmask;
	case 0xc0000100: return &s->fs.base;
	case 0xc0000101: return &s->gs.base;
	case 0xc0000102: return &s->kernel_gs_base;
	case 0x174: return &s->sysenter_cs;
	case 0x175: return &s->sysenter_esp;
	case 0x176: return &s->sysenter_eip;
	default: return NULL;
	}
}

static bool svm_msr_get(struct virt_vcpu *v, uint32_t msr, uint64_t *val)
{
	struct vmcb_save *s = &vmcb_of(v)->save;
	uint64_t *p;

	if (msr == MSR_EFER) {
		*val = s->efer & ~(uint64_t)EFER_SVME;
		return true;
	}
	p = vmcb_msr(s, msr);
	if (!p)
		return false;
	*val = *p;
	return true;
}

static bool svm_msr_set(struct virt_vcpu *v, uint32_t msr, uint64_t val)
{
	struct vmcb_save *s = &vmcb_of(v)->save;
	uint64_t *p;

	if (msr == MSR_EFER) {
		s->efer = val | EFER_SVME;
		return true;
	}
	p = vmcb_msr(s, msr);
	if (!p)
		return false;
	*p = val;
	return true;
}

static void decode_exit(struct virt_vcpu *v, struct vmcb *vmcb, struct vm_exit *e)
{
	uint32_t code = (uint32_t)vmcb->ctl.exitcode;
	uint64_t i1 = vmcb->ctl.exitinfo1, i2 = vmcb->ctl.exitinfo2;
	uint64_t rip = vmcb->save.rip;

	/* Field by field: a memset is a byte loop, which counts in the exit path. */
	e->next_rip = 0;
	e->code = code;
	e->info1 = i1;
	e->info2 = i2;
	switch (code) {
	case VMEXIT_INTR:
	case VMEXIT_NMI:
		e->kind = EXIT_INTR;
		break;
	case VMEXIT_VINTR:
		e->kind = EXIT_INTR_WINDOW;
		break;
	case VMEXIT_IRET:               /* svm_vcpu_run steps over it */
		e->kind = EXIT_NMI_WINDOW;
		break;
	case VMEXIT_CPUID:
		e->kind = EXIT_CPUID;
		e->next_rip = rip + 2;
		break;
	case VMEXIT_HLT:
		e->kind = EXIT_HLT;
		e->next_rip = rip + 1;
		break;
	case VMEXIT_INVD:
		e->kind = EXIT_INVD;
		e->next_rip = rip + 2;
		break;
	case VMEXIT_IOIO:
		e->kind = EXIT_IO;
		e->io.in = i1 & IOIO_TYPE_IN;
		e->io.string = i1 & IOIO_STR;
		e->io.rep = i1 & IOIO_REP;
		e->io.size = (i1 & IOIO_SZ32) ? 4 : (i1 & IOIO_SZ16) ? 2 : 1;
		e->io.addr_size = (i1 & IOIO_A64) ? 8 : (i1 & IOIO_A32) ? 4 : (i1 & IOIO_A16) ? 2 : 0;
		e->io.port = i1 >> 16;
		e->next_rip = i2;       /* IOIO stores the next RIP in EXITINFO2 */
		break;
	case VMEXIT_MSR:
		e->kind = i1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->msr.msr = (uint32_t)v->regs.gpr[REG_RCX];
		e->next_rip = rip + 2;
		break;
	case VMEXIT_SHUTDOWN:
		e->kind = EXIT_TRIPLE_FAULT;
		break;
	case VMEXIT_VMMCALL:
		e->kind = EXIT_HYPERCALL;
		e->hypercall.cpl = (vmcb->save.ss.attrib >> 5) & 3;     /* as svm_get_reg */
		e->next_rip = rip + 3;
		break;
	case VMEXIT_VMRUN: case VMEXIT_VMLOAD: case VMEXIT_VMSAVE:
	case VMEXIT_STGI: case VMEXIT_CLGI: case VMEXIT_SKINIT:
	case VMEXIT_INVLPGA: case VMEXIT_MONITOR: case VMEXIT_MWAIT:
	case VMEXIT_MWAIT_COND:
		e->kind = EXIT_UD;      /* the guest's CPU has no SVM or MONITOR */
		break;
	case VMEXIT_NPF:
		e->kind = EXIT_MMIO;
		e->mmio.gpa = i2;
		e->mmio.write = i1 & NPF_WRITE;
		e->mmio.fetch = i1 & NPF_FETCH;
		break;
	case VMEXIT_CR_READ_BASE + 0: case VMEXIT_CR_READ_BASE + 3: case VMEXIT_CR_READ_BASE + 4:
	case VMEXIT_CR_WRITE_BASE + 0: case VMEXIT_CR_WRITE_BASE + 3: case VMEXIT_CR_WRITE_BASE + 4:
		/* Under shadow paging every access to CR0/3/4 (core/ decodes the
		 * instruction: without decode assists EXITINFO1 says nothing);
		 * otherwise writes of CR0 and CR4 only. */
		e->cr.cr = code & 0xf;
		if (!v->shadow) {
			/* CR0 and CR4 writes (nested paging): core/ checks them
			 * against the CPU model and decodes the source, since QEMU
			 * offers no decode assists. */
			e->kind = EXIT_CR_WRITE;
			e->cr.gpr = CR_GPR_DECODE;
			break;
		}
		e->kind = EXIT_CR_ACCESS;
		e->cr.write = code >= VMEXIT_CR_WRITE_BASE;
		break;
	case VMEXIT_INVLPG:
		/* With decode assists EXITINFO1 is the linear address (APM vol. 2 §15.33.2). */
		e->kind = EXIT_INVLPG;
		e->invlpg.la = i1;
		e->invlpg.la_known = has_decode_assists;
		break;
	case VMEXIT_TASK_SWITCH:
		/* The task-switch intercept (APM vol. 2 §15.14): EXITINFO1[15:0]
		 * is the new TSS selector; EXITINFO2 bit 36: by IRET, bit 38: by
		 * a far JMP, bit 44: an error code (bits 31:0) to push.
		 * Otherwise an event in EXITINTINFO went through a task gate,
		 * or it is a CALL. */
		e->kind = EXIT_TASK_SWITCH;
		e->task.sel = (uint16_t)i1;
		e->task.source = (i2 >> 36) & 1 ? VIRT_TASK_IRET : (i2 >> 38) & 1 ? VIRT_TASK_JMP :
				 (vmcb->ctl.exitintinfo & EVENTINJ_VALID) ? VIRT_TASK_GATE :
				 VIRT_TASK_CALL;
		e->task.has_error = (i2 >> 44) & 1;
		e->task.error = (uint32_t)i2;
		break;
	case VMEXIT_EXCP_BASE + X86_EXC_PF:
		if (v->shadow) {
			/* A fault in the shadow tables: core/ fills, reflects
			 * (setting CR2) or emulates.  APM vol. 2 §15.12: EXITINFO1
			 * is the error code, EXITINFO2 the faulting address. */
			e->kind = EXIT_PAGE_FAULT;
			e->pf.error = (uint32_t)i1;
			e->pf.la = i2;
			break;
		}
		/* The fault happened: CR2 holds its address from now on, though
		 * the intercept kept the CPU from writing it (APM vol. 2 §15.12). */
		vmcb->save.cr2 = i2;
		/* fall through */
	case VMEXIT_EXCP_BASE + X86_EXC_DB:
	case VMEXIT_EXCP_BASE + X86_EXC_TS:
	case VMEXIT_EXCP_BASE + X86_EXC_NP:
	case VMEXIT_EXCP_BASE + X86_EXC_SS:
	case VMEXIT_EXCP_BASE + X86_EXC_GP:
	case VMEXIT_EXCP_BASE + X86_EXC_AC:
		e->kind = EXIT_REFLECT;
		e->reflect.vector = code - VMEXIT_EXCP_BASE;
		e->reflect.error = (uint32_t)i1;        /* EXITINFO1: the error code */
		e->reflect.has_error = code != VMEXIT_EXCP_BASE + X86_EXC_DB;
		break;
	case VMEXIT_XSETBV:
		e->kind = EXIT_XSETBV;
		e->next_rip = rip + 3;
		break;
	case VMEXIT_EXCP_BASE + X86_EXC_BP:
	case VMEXIT_SWINT:
		/* RIP is on the INT3 or INT n; core/ reads which (no NRIPS on QEMU). */
		e->kind = EXIT_BREAKPOINT;
		break;
	case VMEXIT_INVALID:
		e->kind = EXIT_INVALID;
		break;
	default:
		e->kind = EXIT_UNHANDLED;
		break;
	}
	if (has_nrips && e->next_rip && vmcb->ctl.nrip && code != VMEXIT_IOIO)
		e->next_rip = vmcb->ctl.nrip;
}

/* EXITINTINFO (APM vol. 2 §15.7.2) as a vendor-neutral event. */
static void decode_cut(uint64_t ii, struct virt_event *ev)
{
	ev->valid = ii & EVENTINJ_VALID;
	if (!ev->valid)
		return;
	switch (ii & EVENTINJ_TYPE_MASK) {
	case EVENTINJ_TYPE_NMI: ev->type = VIRT_EV_NMI; break;
	case EVENTINJ_TYPE_EXCEPTION: ev->type = VIRT_EV_EXCEPTION; break;
	case EVENTINJ_TYPE_SOFT: ev->type = VIRT_EV_SOFT_INT; break;
	default: ev->type = VIRT_EV_INTR; break;
	}
	ev->vector = ii & EVENTINJ_VECTOR;
	ev->has_error = ii & EVENTINJ_EV;
	ev->error = (uint32_t)(ii >> 32);
	/*
	 * A CPU reports an NMI as type 2 and an external interrupt as type 0
	 * (APM vol. 2 §15.7.2); QEMU 7.2 reports both as exceptions, and then
	 * refuses them as such at VMRUN (exception type with vector 2 or
	 * >= 32 is illegal, §15.20).  No exception has such a vector.
	 */
	if (ev->type == VIRT_EV_EXCEPTION && (ev->vector == X86_EXC_NMI || ev->vector >= 32)) {
		ev->type = ev->vector == X86_EXC_NMI ? VIRT_EV_NMI : VIRT_EV_INTR;
		ev->has_error = false;
		ev->error = 0;
	}
}

/*
 * The event controls of one entry, from the windows core/ asked for.
 * Returns whether the guest runs one instruction with TF set: over the
 * IRET that ends NMI blocking, or over the instruction in an interrupt
 * shadow that holds back a waiting NMI (as KVM does) or interrupt.  The
 * latter rather than V_IRQ because QEMU 7.2 ignores the VMCB's shadow at
 * VMRUN: its V_IRQ would be taken inside the shadow.  Nothing is stepped
 * while an event goes in: its delivery would push our TF.
 */
static bool prepare_events(struct virt_vcpu *v, struct svm_vcpu *sv, struct vmcb *vmcb)
{
	struct vmcb_control *c = &vmcb->ctl;
	bool loaded = c->eventinj & EVENTINJ_VALID;
	bool shadow = c->interrupt_shadow & INTERRUPT_SHADOW;
	bool step;

	if (has_vnmi) {
		c->vintr = (c->vintr & ~V_NMI_BLOCKING) | (v->nmi_blocked ? V_NMI_BLOCKING : 0);
	} else {
		if (loaded)
			sv->iret_seen = false;  /* the IRET will exit again */
		if (v->nmi_blocked && !sv->iret_seen)
			c->intercept3 |= INTERCEPT_IRET;
		else
			c->intercept3 &= ~INTERCEPT_IRET;
		/*
		 * An NMI waits only for the event going in now: exit right
		 * after its delivery.  A host interrupt pending at VMRUN is
		 * taken once the injected event is delivered (APM vol. 2
		 * §15.20), so a self-IPI does it (KVM's immediate exit).  Not
		 * if that event did not get in last time: no livelock.
		 */
		if (sv->nmi_window && loaded && !v->nmi_blocked && !sv->last_cut)
			lapic_send_ipi(this_cpu()->apic_id, ICR_FIXED | VEC_KICK);
	}
	sv->entry_shadow = shadow && !loaded;
	step = !loaded && (sv->iret_seen ||
			   (shadow && sv->nmi_window && !v->nmi_blocked && !has_vnmi) ||
			   (shadow && sv->intr_window && (v->regs.rflags & RFLAGS_IF)));
	/* The IRET's faults, for the stepped IRET only; the others as set up. */
	c->intercept_exceptions &= ~(IRET_FAULTS & ~ALWAYS_EXCEPTIONS);
	if (step && sv->iret_seen)
		c->intercept_exceptions |= IRET_FAULTS;
	if (v->shadow)
		c->intercept_exceptions |= SHADOW_EXCEPTIONS;
	c->vintr &= ~(V_IRQ | V_IGN_TPR | V_INTR_PRIO_MASK | V_INTR_VECTOR_MASK);
	c->intercept3 &= ~INTERCEPT_VINTR;
	sv->post_armed = false;
	if (sv->intr_window && !step) {
		c->vintr |= V_IRQ | V_IGN_TPR | V_INTR_PRIO_MASK;
		c->intercept3 |= INTERCEPT_VINTR;
	} else if (sv->post_vec >= 0 && !step && !loaded) {
		/* A posted interrupt (svm_post_intr): the CPU delivers it. */
		c->vintr |= V_IRQ | ((uint64_t)sv->post_vec >> 4) << 16 |
			    (uint64_t)sv->post_vec << 32;
		sv->post_armed = true;
	}
	if (step) {
		sv->step_flags = v->regs.rflags & (RFLAGS_TF | RFLAGS_RF);
		sv->step_dr6_bs = vmcb->save.dr6 & DR6_BS;
		/* RF too: an instruction breakpoint on it does not fire again. */
		vmcb->save.rflags |= RFLAGS_TF | RFLAGS_RF;
	}
	return step;
}

/*
 * After a stepped entry: give the guest its own TF and RF back, and see
 * whether the IRET we stepped over completed or faulted.  Returns whether
 * the exit is our own single-step #DB, which the guest must not see.
 */
static bool finish_step(struct virt_vcpu *v, struct svm_vcpu *sv, struct vmcb *vmcb,
			uint64_t entry_rip)
{
	uint32_t code = (uint32_t)vmcb->ctl.exitcode;
	bool db = code == VMEXIT_EXCP_BASE + X86_EXC_DB;
	bool ours = db && !(sv->step_flags & RFLAGS_TF);
	bool moved = vmcb->save.rip != entry_rip;
	uint64_t *fl = &v->regs.rflags;

	/* Not run, or faulted: the flags are still ours.  Run: IRET or POPF
	 * may have loaded the guest's own; KVM's rule, keep TF only if the
	 * guest had set it. */
	if (!moved)
		*fl = (*fl & ~(RFLAGS_TF | RFLAGS_RF)) | sv->step_flags;
	else if (!(sv->step_flags & RFLAGS_TF))
		*fl &= ~(RFLAGS_TF | RFLAGS_RF);
	if (ours)
		vmcb->save.dr6 = (vmcb->save.dr6 & ~DR6_BS) | sv->step_dr6_bs;
	if (sv->iret_seen) {
		/* An intercepted exception at the IRET is the IRET faulting: NMI
		 * blocking ends all the same (SDM vol. 3C §27.2.3, "NMI
		 * unblocking due to IRET"). */
		bool faulted = code >= VMEXIT_EXCP_BASE && code < VMEXIT_EXCP_BASE + 32 &&
			       ((IRET_FAULTS >> (code - VMEXIT_EXCP_BASE)) & 1);
		/* Under shadow paging a #PF is most often a shadow fill, after
		 * which the IRET runs again: NMI blocking holds until it does. */
		if (v->shadow && code == VMEXIT_EXCP_BASE + X86_EXC_PF)
			faulted = false;
		if (db || faulted || moved) {
			v->nmi_blocked = false;
			sv->iret_seen = false;
		}
	}
	return ours;
}

/*
 * Shadow paging: the VMCB's CR0, CR3, CR4 and EFER are what the CPU runs
 * with only from VMRUN to #VMEXIT; the rest of the time they hold the
 * guest's own values, which every other function here reads and writes.
 * The intercepts keep the guest from changing them meanwhile.
 */
static void shadow_enter(struct virt_vcpu *v, struct svm_vcpu *sv, struct vmcb *vmcb)
{
	sv->guest_cr0 = vmcb->save.cr0;
	sv->guest_cr3 = vmcb->save.cr3;
	sv->guest_cr4 = vmcb->save.cr4;
	sv->guest_efer = vmcb->save.efer;
	vmcb->save.cr0 = v->shadow_hw.cr0;
	vmcb->save.cr3 = v->shadow_hw.cr3;
	vmcb->save.cr4 = v->shadow_hw.cr4;
	vmcb->save.efer = v->shadow_hw.efer | EFER_SVME;
	if (v->tlb_flush) {
		if (!vmcb->ctl.tlb_control)     /* a FLUSH_ALL asked already covers it */
			vmcb->ctl.tlb_control = has_flush_asid ? TLB_CONTROL_FLUSH_ASID
							       : TLB_CONTROL_FLUSH_ALL;
		v->tlb_flush = false;
	}
}

static void shadow_leave(struct svm_vcpu *sv, struct vmcb *vmcb)
{
	vmcb->save.cr0 = sv->guest_cr0;
	vmcb->save.cr3 = sv->guest_cr3;
	vmcb->save.cr4 = sv->guest_cr4;
	vmcb->save.efer = sv->guest_efer;
}

static void svm_vcpu_run(struct virt_vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *sv = v->vendor;
	struct vmcb *vmcb = sv->vmcb;
	unsigned cpu = this_cpu_id();
	struct svm_cpu *sc = &svm_cpus[cpu];

	/* A vCPU new to this CPU, or another vCPU ran here: flush its ASID. */
	if (unlikely(sv->last_cpu != cpu || sc->last != v)) {
		vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
		sv->last_cpu = cpu;
		sc->last = v;
	}
	vmcb->save.rax = v->regs.gpr[REG_RAX];
	vmcb->save.rsp = v->regs.gpr[REG_RSP];
	vmcb->save.rip = v->regs.rip;
	vmcb->save.rflags = v->regs.rflags;
	bool step = prepare_events(v, sv, vmcb);
	if (v->shadow)
		shadow_enter(v, sv, vmcb);

	/* GIF=0 holds host interrupts; IF=1 lets them exit the guest
	 * (V_INTR_MASKING: the host's IF masks physical interrupts, APM vol. 2
	 * §15.21.1). */
	clgi();
	irq_enable();
	/*
	 * While a debugger is attached (the #BP intercept is its sign), the
	 * breakpoints its DR7 enables (core/gdbstub.c) are also put in the
	 * host's DR7 for the VMRUN, with GIF=0: VMRUN loads DR7 from the VMCB
	 * (APM vol. 2 §15.5.1), but QEMU 7.2's VMRUN copies the value without
	 * arming its breakpoints, which only a MOV to DR7 does there.  The
	 * host's DR7 is back at its reset value (0x400, nothing enabled)
	 * before GIF=1.  Not for the guest's own DR7: it armed that itself
	 * with a MOV, and arming it twice corrupts QEMU's breakpoint lists.
	 */
	bool dr_armed = (vmcb->ctl.intercept_exceptions & (1u << X86_EXC_BP)) &&
			(vmcb->save.dr7 & 0xff);
	if (unlikely(dr_armed))
		__asm__ volatile("mov %0, %%dr7" : : "r"(vmcb->save.dr7));
	svm_vmrun(v->regs.gpr, sv->vmcb_pa, sc->host_save);
	if (unlikely(dr_armed))
		__asm__ volatile("mov %0, %%dr7" : : "r"(0x400ULL));
	stgi();     /* a pending host interrupt is taken here */
	if (v->shadow)
		shadow_leave(sv, vmcb);

	v->regs.gpr[REG_RAX] = vmcb->save.rax;
	v->regs.gpr[REG_RSP] = vmcb->save.rsp;
	v->regs.rflags = vmcb->save.rflags;
	vmcb->ctl.tlb_control = 0;
	/* An event that was being delivered when the exit came: core/ queues
	 * it again (APM vol. 2 §15.7.2).  EVENTINJ is spent either way. */
	uint64_t ii = vmcb->ctl.exitintinfo;
	decode_cut(ii, &e->cut);
	sv->last_cut = e->cut.valid;
	vmcb->ctl.eventinj = 0;
	if (has_vnmi) {
		/* An NMI the CPU still holds stays pending in core/'s state; one
		 * whose delivery was cut short has not blocked anything yet. */
		v->nmi_blocked = (vmcb->ctl.vintr & V_NMI_BLOCKING) &&
				 !(e->cut.valid && e->cut.type == VIRT_EV_NMI);
		if (vmcb->ctl.vintr & V_NMI_PENDING) {
			v->nmi_pending = true;
			vmcb->ctl.vintr &= ~V_NMI_PENDING;
		}
	}
	bool own_db = step && finish_step(v, sv, vmcb, v->regs.rip);
	/*
	 * No instruction ran (same RIP, no event went in, not our step): the
	 * shadow still holds.  QEMU 7.2 drops it at VMRUN and then reports it
	 * clear; on a CPU this changes nothing.
	 */
	if (sv->entry_shadow && vmcb->save.rip == v->regs.rip && !own_db)
		vmcb->ctl.interrupt_shadow |= INTERRUPT_SHADOW;
	v->regs.rip = vmcb->save.rip;
	e->intr_shadow = vmcb->ctl.interrupt_shadow & INTERRUPT_SHADOW;
	decode_exit(v, vmcb, e);
	if ((uint32_t)vmcb->ctl.exitcode == VMEXIT_IRET)
		sv->iret_seen = true;   /* RIP stays at the IRET: it runs again, stepped */
	if (own_db)
		e->kind = EXIT_NMI_WINDOW;
}

/*
 * Snapshots: EVENTINJ has EXITINTINFO's layout (APM vol. 2 §15.20), and
 * the one interrupt-shadow bit covers STI and MOV SS alike (§15.21.5).
 */
static void svm_get_cpu_state(struct virt_vcpu *v, struct virt_cpu_state *s)
{
	struct vmcb *vmcb = vmcb_of(v);

	*s = (struct virt_cpu_state){ 0 };
	s->arch.regs = v->regs;
	svm_get_sregs(v, &s->arch.sregs);
	decode_cut(vmcb->ctl.eventinj, &s->pending);
	s->shadow = (vmcb->ctl.interrupt_shadow & INTERRUPT_SHADOW) ? VIRT_SHADOW_STI : 0;
	s->nmi_blocked = v->nmi_blocked;
}

static void svm_set_cpu_state(struct virt_vcpu *v, const struct virt_cpu_state *s)
{
	const struct virt_event *ev = &s->pending;

	svm_set_state(v, &s->arch);
	if (ev->valid && ev->type == VIRT_EV_INTR)
		svm_inject_intr(v, ev->vector);
	else if (ev->valid && ev->type == VIRT_EV_NMI)
		svm_inject_nmi(v);
	else if (ev->valid && ev->type == VIRT_EV_EXCEPTION)
		svm_inject_exception(v, ev->vector, ev->has_error, ev->error);
	svm_set_intr_shadow(v, s->shadow);
	v->nmi_blocked = s->nmi_blocked;
	vmcb_of(v)->ctl.tsc_offset = (uint64_t)v->tsc_offset;
}

static bool svm_probe(void)
{
	/* CPUID Fn8000_0001 ECX bit 2: SVM (nested paging or not: VMs
	 * without it run on shadow paging). */
	return cpuid(0x80000000, 0).eax >= 0x8000000a &&
	       (cpuid(0x80000001, 0).ecx & (1u << 2));
}

static bool svm_nested_paging(void)
{
	/* CPUID Fn8000_000A EDX bit 0: nested paging (APM vol. 2 §15.25). */
	return cpuid(0x8000000a, 0).edx & 1;
}

const struct virt_ops svm_ops = {
	.name = "AMD-V (SVM)",
	.paging_format = NPT_FORMAT_AMD,
	.probe = svm_probe,
	.shadow_paging = true,
	.nested_paging = svm_nested_paging,
	.cpu_init = svm_cpu_init,
	.vcpu_init = svm_vcpu_init,
	.vcpu_free = svm_vcpu_free,
	.set_state = svm_set_state,
	.get_sregs = svm_get_sregs,
	.get_reg = svm_get_reg,
	.set_reg = svm_set_reg,
	.vcpu_run = svm_vcpu_run,
	.inject_exception = svm_inject_exception,
	.can_inject_intr = svm_can_inject_intr,
	.inject_intr = svm_inject_intr,
	.can_inject_nmi = svm_can_inject_nmi,
	.inject_nmi = svm_inject_nmi,
	.request_intr_window = svm_request_intr_window,
	.post_intr = svm_post_intr,
	.post_settle = svm_post_settle,
	.request_nmi_window = svm_request_nmi_window,
	.set_intr_shadow = svm_set_intr_shadow,
	.msr_get = svm_msr_get,
	.msr_set = svm_msr_set,
	.set_bp_intercept = svm_set_bp_intercept,
	.get_cpu_state = svm_get_cpu_state,
	.set_cpu_state = svm_set_cpu_state,
};
