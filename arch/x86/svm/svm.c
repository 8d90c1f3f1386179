/*
 * AMD-V (SVM) back end: one VMCB per vCPU, a VMRUN loop, and exits turned
 * into vendor-neutral struct vm_exit for core/ to handle.
 * AMD APM vol. 2 ch. 15 (Secure Virtual Machine).
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "boot/boot.h"
#include "kernel/log.h"
#include "core/vm.h"
#include "mm/mm.h"
#include "lib/string.h"

#define MSR_VM_CR       0xc0010114
#define VM_CR_SVMDIS    (1u << 4)
#define MSR_VM_HSAVE_PA 0xc0010117

struct svm_cpu {
	hpa_t hsave;            /* VM_HSAVE_PA area */
	hpa_t host_save;        /* VMSAVE area for the host's hidden state */
	struct vcpu *last;      /* vCPU that ran here last, for TLB flushes */
};

/* What svm_entry.S answers by itself (offsets used there). */
struct svm_fast {
	uint64_t vm_id, vcpu_id;
	uint64_t hits;          /* fast hypercalls since the last slow exit */
};

struct svm_vcpu {
	struct vmcb *vmcb;
	hpa_t vmcb_pa;
	unsigned last_cpu;
	struct svm_fast fast;
};

static struct svm_cpu svm_cpus[MAX_CPUS];
static hpa_t iopm_pa, msrpm_pa;         /* shared by all vCPUs */
static bool has_nrips;
static uint32_t nr_asids;

void svm_vmrun(uint64_t *gpr, hpa_t vmcb, hpa_t host_save, struct svm_fast *fast);

static inline void clgi(void) { __asm__ volatile("clgi" ::: "memory"); }
static inline void stgi(void) { __asm__ volatile("stgi" ::: "memory"); }
static inline void vmsave(hpa_t pa) { __asm__ volatile("vmsave %%rax" : : "a"(pa) : "memory"); }

/* Guest MSRs that VMLOAD/VMSAVE switch, so the guest may touch them directly. */
static const uint32_t passthrough_msrs[] = {
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,     /* STAR, LSTAR, CSTAR, SFMASK */
	0xc0000100, 0xc0000101, 0xc0000102,                 /* FS/GS/KERNEL_GS base */
	0x174, 0x175, 0x176,                                /* SYSENTER_CS/ESP/EIP */
};

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

static bool svm_global_init(void)
{
	/* IOPM 12 KiB, MSRPM 8 KiB: every port and MSR intercepted by default. */
	iopm_pa = page_alloc(3, PAGE_SIZE);
	msrpm_pa = page_alloc(2, PAGE_SIZE);
	if (!iopm_pa || !msrpm_pa)
		return false;
	memset(hpa_to_hva(iopm_pa), 0xff, 3 * PAGE_SIZE);
	memset(hpa_to_hva(msrpm_pa), 0xff, 2 * PAGE_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msrpm_allow(hpa_to_hva(msrpm_pa), passthrough_msrs[i]);
	return true;
}

static spinlock_t init_lock = SPINLOCK_INIT;
static bool global_done;

static bool svm_cpu_init(void)
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
	if (!(f.edx & 1)) {
		pr_err("svm: CPU %u has no nested paging; no VMs run there\n", id);
		return false;
	}
	uint64_t flags = spin_lock_irqsave(&init_lock);
	if (!global_done) {
		global_done = svm_global_init();
		has_nrips = f.edx & (1u << 3);
		nr_asids = f.ebx;
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
		pr_info("svm: AMD-V with nested paging, %u ASIDs%s\n", nr_asids,
			has_nrips ? ", next-RIP saving" : ", no next-RIP (software decode)");
	return true;
}

static struct vmcb *vmcb_of(struct vcpu *v)
{
	return ((struct svm_vcpu *)v->vendor)->vmcb;
}

static bool svm_vcpu_init(struct vcpu *v)
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
	sv->fast.vm_id = v->vm->id;
	sv->fast.vcpu_id = v->id;
	v->vendor = sv;

	struct vmcb_control *c = &sv->vmcb->ctl;
	c->intercept3 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_CPUID | INTERCEPT_INVD |
			INTERCEPT_HLT | INTERCEPT_INVLPGA | INTERCEPT_IOIO_PROT |
			INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN;
	c->intercept4 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
			INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI |
			INTERCEPT_SKINIT | INTERCEPT_MONITOR | INTERCEPT_MWAIT |
			INTERCEPT_MWAIT_COND;
	/* #DB and #AC are intercepted and reflected: a guest could otherwise
	 * wedge the physical CPU in an endless delivery loop (CVE-2015-8104,
	 * CVE-2015-5307; APM vol. 2 §15.12). */
	c->intercept_exceptions = (1u << 1) | (1u << 17);
	c->iopm_base_pa = iopm_pa;
	c->msrpm_base_pa = msrpm_pa;
	/* ASIDs 1..nr_asids-1 (0 is the host's).  VMs share them when there
	 * are more VMs than ASIDs: svm_vcpu_run flushes whenever a CPU switches
	 * between vCPUs, so a shared ASID never exposes stale translations. */
	c->asid = 1 + v->vm->asid % (nr_asids > 1 ? nr_asids - 1 : 1);
	c->tlb_control = TLB_CONTROL_FLUSH_ALL;
	c->vintr = V_INTR_MASKING;      /* host IF governs physical interrupts */
	c->np_enable = 1;
	c->n_cr3 = v->vm->npt.root;
	c->tsc_offset = (uint64_t)v->vm->tsc_offset;
	return true;
}

static void svm_vcpu_free(struct vcpu *v)
{
	struct svm_vcpu *sv = v->vendor;

	if (!sv)
		return;
	page_free(sv->vmcb_pa, 1);
	kfree(sv);
	v->vendor = NULL;
}

static void set_seg(struct vmcb_seg *s, uint16_t sel, uint16_t attrib, uint32_t limit, uint64_t base)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = base;
}

/* Boot state: flat 32-bit protected mode, or 64-bit long mode. */
static void svm_vcpu_set_state(struct vcpu *v, const struct vcpu_sregs *sr, bool long_mode,
			       uint64_t gdt_base, uint16_t gdt_limit)
{
	struct vmcb_save *s = &vmcb_of(v)->save;

	/* Packed attributes (EMULATORS.md): 64-bit code 0x0a9b, 32-bit code
	 * 0x0c9b, data 0x0c93, busy TSS 0x008b, LDT 0x0082. */
	set_seg(&s->cs, 0x08, long_mode ? 0x0a9b : 0x0c9b, 0xffffffff, 0);
	set_seg(&s->ds, 0x10, 0x0c93, 0xffffffff, 0);
	s->es = s->ss = s->fs = s->gs = s->ds;
	set_seg(&s->gdtr, 0, 0, gdt_limit, gdt_base);
	set_seg(&s->idtr, 0, 0, 0, 0);
	set_seg(&s->ldtr, 0, 0x0082, 0, 0);
	set_seg(&s->tr, 0, 0x008b, 0xffff, 0);
	s->cpl = 0;
	s->cr0 = sr->cr0;
	s->cr3 = sr->cr3;
	s->cr4 = sr->cr4;
	s->efer = sr->efer | EFER_SVME;  /* VMRUN requires it; hidden from the guest */
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->g_pat = 0x0007040600070406ULL;      /* the reset value of PAT */
	s->rflags = 2;
}

static void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *r)
{
	struct vmcb_save *s = &vmcb_of(v)->save;

	r->cr0 = s->cr0;
	r->cr2 = s->cr2;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->efer = s->efer & ~(uint64_t)EFER_SVME;
	r->seg_base[SEG_ES] = s->es.base;
	r->seg_base[SEG_CS] = s->cs.base;
	r->seg_base[SEG_SS] = s->ss.base;
	r->seg_base[SEG_DS] = s->ds.base;
	r->seg_base[SEG_FS] = s->fs.base;
	r->seg_base[SEG_GS] = s->gs.base;
	r->cs_attr = s->cs.attrib;
	/* The CPL is SS.DPL (APM vol. 2 §15.5.1; QEMU ignores the CPL field). */
	r->cpl = (s->ss.attrib >> 5) & 3;
}

static void svm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	uint64_t ev = vector | EVENTINJ_TYPE_EXCEPTION | EVENTINJ_VALID;

	if (has_error)
		ev |= EVENTINJ_EV | ((uint64_t)error << 32);
	vmcb_of(v)->ctl.eventinj = ev;
}

static void svm_set_cr2(struct vcpu *v, uint64_t cr2)
{
	vmcb_of(v)->save.cr2 = cr2;
}

static bool svm_can_inject_intr(struct vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);

	/* IF=1, no STI/MOV SS shadow, no event already queued (APM vol. 2 §15.20). */
	return (v->regs.rflags & RFLAGS_IF) && !(vmcb->ctl.interrupt_shadow & 1) &&
	       !(vmcb->ctl.eventinj & EVENTINJ_VALID);
}

static void svm_inject_intr(struct vcpu *v, uint8_t vector)
{
	vmcb_of(v)->ctl.eventinj = vector | EVENTINJ_TYPE_INTR | EVENTINJ_VALID;
}

static bool svm_inject_nmi(struct vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);

	if (vmcb->ctl.eventinj & EVENTINJ_VALID)
		return false;   /* an event is being re-delivered: NMI next time */
	vmcb->ctl.eventinj = 2 | EVENTINJ_TYPE_NMI | EVENTINJ_VALID;
	return true;
}

/*
 * Interrupt window: a virtual interrupt (V_IRQ, priority 15, ignoring
 * V_TPR) plus the VINTR intercept makes the CPU exit as soon as the guest
 * could take an interrupt (APM vol. 2 §15.21.4).
 */
static void svm_request_intr_window(struct vcpu *v, bool on)
{
	struct vmcb_control *c = &vmcb_of(v)->ctl;

	if (on) {
		c->vintr |= V_IRQ | V_IGN_TPR | (0xfULL << 16);
		c->intercept3 |= INTERCEPT_VINTR;
	} else {
		c->vintr &= ~(V_IRQ | V_IGN_TPR | (0xfULL << 16));
		c->intercept3 &= ~INTERCEPT_VINTR;
	}
}

/* INIT: the state of SDM vol. 3A Table 9-1 / APM vol. 2 Table 14-1. */
static void svm_vcpu_reset(struct vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);
	struct vmcb_save *s = &vmcb->save;

	set_seg(&s->cs, 0xf000, 0x009b, 0xffff, 0xffff0000);
	set_seg(&s->ds, 0, 0x0093, 0xffff, 0);
	s->es = s->ss = s->fs = s->gs = s->ds;
	set_seg(&s->gdtr, 0, 0, 0xffff, 0);
	set_seg(&s->idtr, 0, 0, 0xffff, 0);
	set_seg(&s->ldtr, 0, 0x0082, 0xffff, 0);
	set_seg(&s->tr, 0, 0x008b, 0xffff, 0);
	s->cpl = 0;
	/* CD and NW are set at reset; QEMU rejects NW without CD only, so
	 * ET alone (caches on) is used, which no real-mode code can tell apart. */
	s->cr0 = CR0_ET;
	s->cr2 = s->cr3 = s->cr4 = 0;
	s->efer = EFER_SVME;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->g_pat = 0x0007040600070406ULL;
	memset(v->regs.gpr, 0, sizeof(v->regs.gpr));
	v->regs.gpr[REG_RDX] = 0x600;   /* processor signature, family 6 */
	v->regs.rip = 0xfff0;
	v->regs.rflags = 2;
	vmcb->ctl.eventinj = 0;
	vmcb->ctl.interrupt_shadow = 0;
	svm_request_intr_window(v, false);
	v->window_open = false;
}

/* STARTUP: real mode at vector << 12 (SDM vol. 3A §8.4.4.1). */
static void svm_vcpu_sipi(struct vcpu *v, uint8_t vector)
{
	struct vmcb_save *s = &vmcb_of(v)->save;

	set_seg(&s->cs, (uint16_t)vector << 8, 0x009b, 0xffff, (uint64_t)vector << 12);
	v->regs.rip = 0;
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

static bool svm_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
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

static bool svm_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vmcb_save *s = &vmcb_of(v)->save;
	uint64_t *p;

	if (msr == MSR_EFER) {
		/* Allowed: SCE, LME, NXE (and LMA is read-only).  APM vol. 2 §3.1.7. */
		if (val & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return false;
		s->efer = (val & ~(uint64_t)EFER_LMA) | (s->efer & EFER_LMA) | EFER_SVME;
		return true;
	}
	if (msr == 0x277) {
		/* Each PAT entry must be a valid memory type (0,1,4,5,6,7). */
		for (int i = 0; i < 8; i++) {
			uint8_t t = (val >> (i * 8)) & 0xff;
			if (t > 7 || t == 2 || t == 3)
				return false;
		}
	}
	if (msr == 0xc0000100 || msr == 0xc0000101 || msr == 0xc0000102 ||
	    msr == 0xc0000082 || msr == 0xc0000083) {
		/* Addresses must be canonical, or WRMSR raises #GP. */
		if ((uint64_t)((int64_t)(val << 16) >> 16) != val)
			return false;
	}
	p = vmcb_msr(s, msr);
	if (!p)
		return false;
	*p = val;
	return true;
}

static void decode_exit(struct vcpu *v, struct vmcb *vmcb, struct vm_exit *e)
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
	case VMEXIT_CPUID:
		e->kind = EXIT_CPUID;
		e->next_rip = rip + 2;
		break;
	case VMEXIT_HLT:
		e->kind = EXIT_HLT;
		e->next_rip = rip + 1;
		break;
	case VMEXIT_INVD:
		/* INVD would drop the host's dirty lines: treat it as WBINVD,
		 * whose effect the guest cannot tell apart. */
		e->kind = EXIT_NONE;
		v->regs.rip = rip + 2;
		break;
	case VMEXIT_IOIO:
		e->kind = EXIT_IO;
		e->io.in = i1 & IOIO_TYPE_IN;
		e->io.string = i1 & IOIO_STR;
		e->io.rep = i1 & IOIO_REP;
		e->io.size = (i1 & IOIO_SZ32) ? 4 : (i1 & IOIO_SZ16) ? 2 : 1;
		e->io.addr_size = (i1 & IOIO_A64) ? 8 : (i1 & IOIO_A32) ? 4 : (i1 & IOIO_A16) ? 2 : 0;
		e->io.seg = (i1 >> IOIO_SEG_SHIFT) & 7;
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
	case VMEXIT_EXCP_BASE + 1:     /* #DB */
	case VMEXIT_EXCP_BASE + 17:    /* #AC */
		e->kind = EXIT_REFLECT;
		e->reflect.vector = code - VMEXIT_EXCP_BASE;
		e->reflect.error = (uint32_t)i1;
		e->reflect.has_error = code == VMEXIT_EXCP_BASE + 17;
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

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
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

	/* GIF=0 holds host interrupts; IF=1 lets them exit the guest
	 * (V_INTR_MASKING: the host's IF masks physical interrupts, APM vol. 2
	 * §15.21.1). */
	clgi();
	irq_enable();
	svm_vmrun(v->regs.gpr, sv->vmcb_pa, sc->host_save, &sv->fast);
	stgi();     /* a pending host interrupt is taken here */
	if (sv->fast.hits) {
		v->exits[EXIT_HYPERCALL] += sv->fast.hits;
		v->nr_exits += sv->fast.hits;
		sv->fast.hits = 0;
	}

	v->regs.gpr[REG_RAX] = vmcb->save.rax;
	v->regs.gpr[REG_RSP] = vmcb->save.rsp;
	v->regs.rip = vmcb->save.rip;
	v->regs.rflags = vmcb->save.rflags;
	vmcb->ctl.tlb_control = 0;
	/* An event that was being delivered when the exit came is re-injected
	 * (APM vol. 2 §15.7.2), unless core/ injects something else. */
	uint64_t ii = vmcb->ctl.exitintinfo;
	vmcb->ctl.eventinj = (ii & EVENTINJ_VALID) ? ii : 0;
	decode_exit(v, vmcb, e);
}

const struct virt_ops svm_ops = {
	.name = "AMD-V (SVM)",
	.cpu_init = svm_cpu_init,
	.vcpu_init = svm_vcpu_init,
	.vcpu_free = svm_vcpu_free,
	.vcpu_set_state = svm_vcpu_set_state,
	.vcpu_run = svm_vcpu_run,
	.get_sregs = svm_get_sregs,
	.inject_exception = svm_inject_exception,
	.set_cr2 = svm_set_cr2,
	.can_inject_intr = svm_can_inject_intr,
	.inject_intr = svm_inject_intr,
	.inject_nmi = svm_inject_nmi,
	.request_intr_window = svm_request_intr_window,
	.vcpu_reset = svm_vcpu_reset,
	.vcpu_sipi = svm_vcpu_sipi,
	.msr_read = svm_msr_read,
	.msr_write = svm_msr_write,
	.nested_paging = true,
};

bool svm_supported(void)
{
	/* CPUID Fn8000_0001 ECX bit 2, and leaf 0x8000000A for its features. */
	return (cpuid(0x80000000, 0).eax >= 0x8000000a) &&
	       (cpuid(0x80000001, 0).ecx & (1u << 2));
}
