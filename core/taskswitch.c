/*
 * Hardware task switches; see taskswitch.h.  The steps and their checks
 * follow Intel SDM vol. 3A §7.3 "Task Switching" and Table 7-1 ("Exception
 * Conditions Checked During a Task Switch"); the TSS layouts are Figures
 * 7-2 (32-bit) and 7-11 (16-bit).  Nothing of the vCPU changes until the
 * new TSS has been read and checked and the old task's state saved; from
 * then on a fault belongs to the new task (§7.3, step 12).
 */
#include "core/taskswitch.h"
#include "core/vm.h"
#include "core/vcpu_raise.h"
#include "core/gpt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86_defs.h"
#include "lib/string.h"

#define RFLAGS_NT       (1ULL << 14)
#define RFLAGS_VM       (1ULL << 17)
/* The flags a TSS may load: CF PF AF ZF SF TF IF DF OF IOPL NT RF VM AC
 * VIF VIP ID (bit 1 is always set). */
#define RFLAGS_LOADABLE 0x3f7fd5ULL
#define CR0_TS_BIT      (1ULL << 3)
#define DR6_BT          (1ULL << 15)    /* debug trap of a TSS (SDM vol. 3B §18.2.3) */
#define DR7_LOCAL       0x155ULL        /* L0-L3 and LE: cleared by a task switch */

/* Descriptor bits (SDM vol. 3A §3.4.5, §7.2.2), in the high dword. */
#define D_TYPE(hi)      (((hi) >> 8) & 0xf)
#define D_S             (1u << 12)
#define D_DPL(hi)       (((hi) >> 13) & 3)
#define D_P             (1u << 15)
#define D_G             (1u << 23)
#define D_BUSY          (1u << 9)       /* type bit 1 of a TSS descriptor */
#define T_CODE          0x8u            /* code/data type bits */
#define T_CONFORMING    0x4u            /* code */
#define T_EXPAND_DOWN   0x4u            /* data */
#define T_WRITABLE      0x2u            /* data */
#define T_READABLE      0x2u            /* code */
#define T_ACCESSED      0x1u
#define SYS_LDT         0x2u

/* The dynamic fields of each TSS (Figures 7-2, 7-11). */
struct tss_layout {
	unsigned min_limit;     /* the new TSS's limit at least (Table 7-1) */
	unsigned save_limit;    /* the old one's, for the fields saved */
	unsigned width;         /* 4 or 2 */
	unsigned ip, flags, gpr, seg, nr_segs, ldt;
};

static const struct tss_layout tss32 = { 0x67, 0x5f, 4, 0x20, 0x24, 0x28, 0x48, 6, 0x60 };
static const struct tss_layout tss16 = { 0x2b, 0x29, 2, 0x0e, 0x10, 0x12, 0x22, 4, 0x2a };

#define TSS32_CR3       0x1c
#define TSS32_T         0x64

struct ts {
	struct vcpu *v;
	struct x86_sregs *sr;
	struct gpt_mode mode;
	bool ext;               /* error codes carry EXT: an event from outside caused it */
};

enum { TS_OK = 0, TS_FAILED = -1 };

static void fault(struct ts *t, uint8_t vector, uint16_t sel)
{
	vcpu_raise_exception(t->v, vector, true, (sel & 0xfffcu) | (t->ext ? 1u : 0u));
}

/* A GPT_* code: the guest's #PF (or #GP) raised, or the VM ended. */
static int mem_failed(struct ts *t, int r, const struct gpt_fault *f, uint64_t la)
{
	if (r == GPT_FAULT) {
		virt->set_reg(&t->v->hw, VIRT_CR2, f->la);
		vcpu_raise_exception(t->v, X86_EXC_PF, true, f->error);
	} else if (r == GPT_NONCANON) {
		vcpu_raise_exception(t->v, X86_EXC_GP, true, 0);
	} else if (r == GPT_BAD_TABLE) {
		vm_end(t->v->vm, VM_END_OUT_OF_RANGE, -1,
		       "vCPU %u: task switch: the page tables for linear 0x%llx (CR3 0x%llx) lie "
		       "outside its RAM", t->v->id, (unsigned long long)la,
		       (unsigned long long)t->mode.cr3);
	} else if (r != GPT_RETRY) {
		vm_end(t->v->vm, VM_END_OUT_OF_RANGE, -1,
		       "vCPU %u: task switch: the descriptor table, TSS or stack at linear 0x%llx "
		       "is not in its RAM", t->v->id,
		       (unsigned long long)(r == GPT_NOT_RAM && f ? f->la : la));
	}
	return TS_FAILED;
}

/*
 * Whether the n bytes at linear la may be written: checked before the
 * first write of a switch, so that a #PF leaves the old task as it was
 * (SDM vol. 3A §7.3 step 3: the old and new TSS and the descriptors used
 * must be paged in).  n is at most a page: the first and last bytes cover it.
 */
static int probe_write(struct ts *t, uint64_t la, size_t n)
{
	uint64_t at[2] = { la & 0xffffffffULL, (la + n - 1) & 0xffffffffULL };

	for (int i = 0; i < 2; i++) {
		struct gpt_fault f = { .la = at[i] };
		gpa_t gpa;
		int r = gpt_translate(&t->v->vm->mem, &t->mode, at[i], GPT_WRITE, false, &gpa,
				      &f.error);
		if (r)
			return mem_failed(t, r, &f, at[i]);
	}
	return TS_OK;
}

/* Supervisor (implicit) accesses at linear la, through the guest's tables. */
static int rd(struct ts *t, uint64_t la, void *buf, size_t n)
{
	struct gpt_fault f;
	int r = gpt_copy_from(&t->v->vm->mem, &t->mode, la & 0xffffffffULL, buf, n, GPT_READ,
			      false, &f);
	return r ? mem_failed(t, r, &f, la) : TS_OK;
}

static int wr(struct ts *t, uint64_t la, const void *buf, size_t n)
{
	struct gpt_fault f;
	int r = gpt_copy_to(&t->v->vm->mem, &t->mode, la & 0xffffffffULL, buf, n, false, &f);
	return r ? mem_failed(t, r, &f, la) : TS_OK;
}

/* The descriptor of sel (in the GDT, or the LDT with TI): false if the
 * selector lies beyond the table's limit. */
static bool desc_at(struct ts *t, uint16_t sel, uint64_t *la)
{
	const struct x86_seg *ldt = &t->sr->ldtr;
	bool local = sel & 4;
	uint64_t base = local ? ldt->base : t->sr->gdt.base;
	uint32_t limit = local ? ((ldt->attr & SEG_ATTR_UNUSABLE) || !(ldt->attr & SEG_ATTR_P) ?
				  0 : ldt->limit) : t->sr->gdt.limit;

	if ((uint32_t)(sel | 7) > limit || (local && !limit))
		return false;
	*la = base + (sel & ~7u);
	return true;
}

static struct x86_seg seg_of(uint16_t sel, uint32_t lo, uint32_t hi)
{
	uint32_t limit = (lo & 0xffff) | (hi & 0xf0000);

	if (hi & D_G)
		limit = (limit << 12) | 0xfff;
	return (struct x86_seg){
		.base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u),
		.limit = limit, .selector = sel,
		.attr = ((hi >> 8) & 0xff) | (((hi >> 20) & 0xf) << 12),
	};
}

/* Set or clear a TSS descriptor's busy bit in the GDT. */
static int set_busy(struct ts *t, uint16_t sel, bool busy)
{
	uint64_t la = t->sr->gdt.base + (sel & ~7u) + 4;
	uint32_t hi;

	if (rd(t, la, &hi, 4))
		return TS_FAILED;
	hi = busy ? hi | D_BUSY : hi & ~D_BUSY;
	return wr(t, la, &hi, 4);
}

/*
 * Load segment register i from sel for the new task at CPL cpl (Table
 * 7-1: CS, SS, then the data segments); the descriptor's accessed flag is
 * set as a CPU sets it.
 */
static int load_seg(struct ts *t, int i, uint16_t sel, unsigned cpl)
{
	struct x86_seg *s = &t->sr->seg[i];
	uint32_t d[2];
	uint64_t la;
	unsigned rpl = sel & 3;

	if (!(sel & 0xfffc)) {
		if (i == SEG_CS || i == SEG_SS) {
			fault(t, X86_EXC_TS, sel);
			return TS_FAILED;
		}
		*s = (struct x86_seg){ .selector = sel, .attr = SEG_ATTR_UNUSABLE };
		return TS_OK;
	}
	if (!desc_at(t, sel, &la)) {
		fault(t, X86_EXC_TS, sel);
		return TS_FAILED;
	}
	if (rd(t, la, d, 8))
		return TS_FAILED;
	unsigned type = D_TYPE(d[1]), dpl = D_DPL(d[1]);
	bool code = type & T_CODE, ok;
	if (!(d[1] & D_S))
		ok = false;
	else if (i == SEG_CS)
		ok = code && ((type & T_CONFORMING) ? dpl <= rpl : dpl == rpl);
	else if (i == SEG_SS)
		ok = !code && (type & T_WRITABLE) && dpl == cpl && rpl == cpl;
	else
		ok = (!code || (type & T_READABLE)) &&
		     ((code && (type & T_CONFORMING)) || (dpl >= cpl && dpl >= rpl));
	if (!ok) {
		fault(t, X86_EXC_TS, sel);
		return TS_FAILED;
	}
	if (!(d[1] & D_P)) {
		fault(t, i == SEG_SS ? X86_EXC_SS : X86_EXC_NP, sel);
		return TS_FAILED;
	}
	if (!(type & T_ACCESSED)) {
		d[1] |= T_ACCESSED << 8;
		if (wr(t, la + 4, &d[1], 4))
			return TS_FAILED;
	}
	*s = seg_of(sel, d[0], d[1]);
	return TS_OK;
}

/* The LDT of the new task: a null selector, or an LDT descriptor in the GDT. */
static int load_ldt(struct ts *t, uint16_t sel)
{
	uint32_t d[2];
	uint64_t la;

	if (!(sel & 0xfffc)) {
		t->sr->ldtr = (struct x86_seg){ .selector = sel, .attr = SEG_ATTR_UNUSABLE };
		return TS_OK;
	}
	if ((sel & 4) || !desc_at(t, sel, &la)) {
		fault(t, X86_EXC_TS, sel);
		return TS_FAILED;
	}
	if (rd(t, la, d, 8))
		return TS_FAILED;
	if ((d[1] & D_S) || D_TYPE(d[1]) != SYS_LDT || !(d[1] & D_P)) {
		fault(t, X86_EXC_TS, sel);
		return TS_FAILED;
	}
	t->sr->ldtr = seg_of(sel, d[0], d[1]);
	return TS_OK;
}

/*
 * PAE paging: the new CR3's four PDPTEs, loaded with it (SDM vol. 3A
 * §4.4.1).  One with P and a reserved bit set (2:1, 8:5, 63:MAXPHYADDR)
 * raises #TS(0) in the new task, all four then not present, as Bochs
 * does; the table outside RAM ends the VM.
 */
static int load_pdptes(struct ts *t, uint64_t cr3, uint64_t pdpte[4])
{
	uint8_t bits = t->mode.maxphyaddr ? t->mode.maxphyaddr : 48;
	uint64_t rsvd = 0x1e6ULL | ~((1ULL << bits) - 1);
	gpa_t at = cr3 & 0xffffffe0ULL;

	if (!gmem_read(&t->v->vm->mem, at, pdpte, 4 * sizeof(*pdpte))) {
		vm_end(t->v->vm, VM_END_OUT_OF_RANGE, -1, "vCPU %u: task switch: the new CR3's "
		       "PDPTEs at guest-physical 0x%llx lie outside its RAM", t->v->id,
		       (unsigned long long)at);
		return TS_FAILED;
	}
	for (int i = 0; i < 4; i++) {
		if ((pdpte[i] & 1) && (pdpte[i] & rsvd)) {
			memset(pdpte, 0, 4 * sizeof(*pdpte));
			fault(t, X86_EXC_TS, 0);
			return TS_FAILED;
		}
	}
	return TS_OK;
}

/* Push the error code of the exception that switched tasks (§7.3 step 13). */
static int push_error(struct ts *t, struct x86_regs *r, uint32_t error, unsigned width)
{
	const struct x86_seg *ss = &t->sr->seg[SEG_SS];
	bool big = ss->attr & SEG_ATTR_DB;
	uint64_t mask = big ? 0xffffffffULL : 0xffffULL;
	uint64_t sp = (r->gpr[REG_RSP] - width) & mask;
	bool down = ss->attr & T_EXPAND_DOWN;
	bool in = down ? sp > ss->limit && sp + width - 1 <= mask : sp + width - 1 <= ss->limit;
	struct gpt_fault f;

	if (!in) {
		vcpu_raise_exception(t->v, X86_EXC_SS, true, t->ext ? 1 : 0);
		return TS_FAILED;
	}
	int gr = gpt_copy_to(&t->v->vm->mem, &t->mode, (ss->base + sp) & 0xffffffffULL, &error,
			     width, x86_cpl(t->sr) == 3, &f);
	if (gr)
		return mem_failed(t, gr, &f, ss->base + sp);
	r->gpr[REG_RSP] = (r->gpr[REG_RSP] & ~mask) | sp;
	return TS_OK;
}

/* Copy n little-endian bytes of the TSS image at off into a value. */
static uint32_t field(const uint8_t *img, unsigned off, unsigned width)
{
	uint32_t v = 0;

	memcpy(&v, img + off, width);
	return v;
}

bool task_switch(struct vcpu *v, const struct vm_exit *e, const struct gpt_mode *mode,
		 uint64_t next_rip)
{
	struct virt_cpu_state cs;
	uint8_t img[0x68];
	uint32_t d[2];
	uint64_t la;
	uint16_t sel = e->task.sel;
	int source = e->task.source;
	bool iret = source == VIRT_TASK_IRET;
	bool nest = source == VIRT_TASK_CALL || source == VIRT_TASK_GATE;

	virt->get_cpu_state(&v->hw, &cs);
	struct x86_sregs *sr = &cs.arch.sregs;
	struct x86_regs *r = &cs.arch.regs;
	struct ts t = { .v = v, .sr = sr, .mode = *mode,
			.ext = source == VIRT_TASK_GATE && v->evq.redeliver.valid &&
			       v->evq.redeliver.type != VIRT_EV_SOFT_INT };

	/* Implicit supervisor accesses: SMAP applies whatever RFLAGS.AC says
	 * (SDM vol. 3A §4.6.1). */
	t.mode.rflags = 0;

	/* Long mode has no task switching: the CPU raises #GP there itself. */
	if (sr->efer & EFER_LMA) {
		vm_end(v->vm, VM_END_UNHANDLED, -1, "vCPU %u: task switch exit in long mode", v->id);
		return false;
	}

	/* 1. The new TSS descriptor: in the GDT, a TSS, busy as the source
	 * wants it, present, long enough (Table 7-1). */
	uint8_t bad = iret ? X86_EXC_TS : X86_EXC_GP;
	if ((sel & 4) || !desc_at(&t, sel, &la)) {
		fault(&t, bad, sel);
		return false;
	}
	if (rd(&t, la, d, 8))
		return false;
	unsigned type = D_TYPE(d[1]);
	bool busy = type & 2;
	if ((d[1] & D_S) || (type & 5) != 1) {
		fault(&t, bad, sel);
		return false;
	}
	if (busy != iret) {
		fault(&t, iret ? X86_EXC_TS : X86_EXC_GP, sel);
		return false;
	}
	if (!(d[1] & D_P)) {
		fault(&t, X86_EXC_NP, sel);
		return false;
	}
	struct x86_seg ntr = seg_of(sel, d[0], d[1] | D_BUSY);
	const struct tss_layout *nl = (type & 8) ? &tss32 : &tss16;
	if (ntr.limit < nl->min_limit) {
		fault(&t, X86_EXC_TS, sel);
		return false;
	}
	const struct tss_layout *ol = (sr->tr.attr & 8) ? &tss32 : &tss16;
	if (sr->tr.limit < ol->save_limit) {
		fault(&t, X86_EXC_TS, sr->tr.selector);
		return false;
	}
	/* 2. Everything the new task loads, read before anything is written. */
	if (rd(&t, ntr.base, img, nl->min_limit + 1))
		return false;

	/* Everything written before the commit point: the old TSS's dynamic
	 * fields, the new TSS's link, the two busy flags. */
	uint64_t gdt = sr->gdt.base + 4;
	if (probe_write(&t, sr->tr.base + ol->ip, ol->save_limit + 1 - ol->ip) ||
	    (nest && probe_write(&t, ntr.base, 2)) ||
	    ((source == VIRT_TASK_JMP || iret) && probe_write(&t, gdt + (sr->tr.selector & ~7u), 4)) ||
	    (!iret && probe_write(&t, gdt + (sel & ~7u), 4)))
		return false;

	/* 3. The old task: not busy after JMP or IRET; its state saved (EFLAGS
	 * without NT after IRET). */
	if ((source == VIRT_TASK_JMP || iret) && set_busy(&t, sr->tr.selector, false))
		return false;
	uint32_t save[3 + 8];
	uint64_t oflags = r->rflags & ~(iret ? RFLAGS_NT : 0);
	save[0] = (uint32_t)next_rip;
	save[1] = (uint32_t)oflags;
	for (int i = 0; i < 8; i++)
		save[2 + i] = (uint32_t)r->gpr[i];
	for (unsigned i = 0; i < 10; i++) {
		uint64_t at = sr->tr.base + (i == 0 ? ol->ip : i == 1 ? ol->flags :
					     ol->gpr + (i - 2) * ol->width);
		if (wr(&t, at, &save[i], ol->width))
			return false;
	}
	for (unsigned i = 0; i < ol->nr_segs; i++) {
		uint16_t s16 = sr->seg[i].selector;
		if (wr(&t, sr->tr.base + ol->seg + i * ol->width, &s16, 2))
			return false;
	}
	/* 4. CALL or an event: the new task links back and runs nested. */
	uint64_t nflags = field(img, nl->flags, nl->width);
	if (nest) {
		uint16_t link = sr->tr.selector;
		if (wr(&t, ntr.base, &link, 2))
			return false;
		nflags |= RFLAGS_NT;
	}
	if (!iret && set_busy(&t, sel, true))
		return false;

	/*
	 * 5. Commit: the new task's state.  From here a fault is the new
	 * task's, and the event that went through a task gate has been
	 * delivered by the switch (§7.3 step 12): core must not deliver it
	 * again.  The switch ends an interrupt shadow, as any instruction.
	 */
	if (source == VIRT_TASK_GATE)
		v->evq.redeliver.valid = false;
	cs.shadow = 0;
	bool cr3 = false;
	uint64_t pdpte[4] = { 0 };
	sr->cr0 |= CR0_TS_BIT;
	sr->tr = ntr;
	if (nl == &tss32 && (sr->cr0 & CR0_PG)) {
		/* The page directory of the new task (Figure 7-2, CR3). */
		sr->cr3 = field(img, TSS32_CR3, 4);
		t.mode.cr3 = sr->cr3;
		cr3 = true;
	}
	r->rip = field(img, nl->ip, nl->width);
	if (nl == &tss32)
		r->rflags = (nflags & RFLAGS_LOADABLE) | 2;
	else
		r->rflags = (r->rflags & ~0xffffULL) | (nflags & RFLAGS_LOADABLE & 0xffff) | 2;
	for (int i = 0; i < 8; i++) {
		uint64_t val = field(img, nl->gpr + i * nl->width, nl->width);
		r->gpr[i] = nl == &tss32 ? val : (r->gpr[i] & ~0xffffULL) | val;
	}
	uint16_t segs[NR_SEGS] = { 0 };
	for (unsigned i = 0; i < nl->nr_segs; i++)
		segs[i] = (uint16_t)field(img, nl->seg + i * nl->width, 2);
	/* Selectors first, with nothing usable behind them: a fault below
	 * leaves the new task with its selectors loaded, as a CPU does. */
	const struct x86_seg old_cs = sr->seg[SEG_CS], old_ss = sr->seg[SEG_SS];
	for (int i = 0; i < NR_SEGS; i++)
		sr->seg[i] = (struct x86_seg){ .selector = segs[i], .attr = SEG_ATTR_UNUSABLE };
	sr->dr7 &= ~DR7_LOCAL;
	bool pae = cr3 && (sr->cr4 & CR4_PAE);
	int rc = pae ? load_pdptes(&t, sr->cr3, pdpte) : TS_OK;
	if (r->rflags & RFLAGS_VM) {
		/* Virtual-8086 task: real-mode segments at CPL 3 (SDM vol. 3A
		 * §20.2); they need no descriptor, so a bad LDT leaves them too. */
		for (int i = 0; i < NR_SEGS; i++)
			sr->seg[i] = (struct x86_seg){ .base = (uint64_t)segs[i] << 4, .limit = 0xffff,
						       .selector = segs[i], .attr = 0xf3 };
		if (rc == TS_OK)
			rc = load_ldt(&t, (uint16_t)field(img, nl->ldt, 2));
	} else {
		static const int order[NR_SEGS] = { SEG_CS, SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS };
		unsigned cpl = segs[SEG_CS] & 3;
		if (rc == TS_OK)
			rc = load_ldt(&t, (uint16_t)field(img, nl->ldt, 2));
		for (int k = 0; k < NR_SEGS && rc == TS_OK; k++)
			rc = load_seg(&t, order[k], segs[order[k]], cpl);
	}
	if (rc != TS_OK && ((sr->seg[SEG_CS].attr | sr->seg[SEG_SS].attr) & SEG_ATTR_UNUSABLE)) {
		/* CS or SS did not load: both stay the old task's, as VM entry
		 * needs a usable CS and an SS of its DPL (SDM vol. 3C
		 * §26.3.1.2).  The exception raised is delivered before any
		 * instruction of the new task, through a task gate as the SDM
		 * advises (vol. 3A §7.3), or at the old CPL. */
		sr->seg[SEG_CS] = old_cs;
		sr->seg[SEG_SS] = old_ss;
	}
	if (rc == TS_OK && r->rip > sr->seg[SEG_CS].limit) {
		vcpu_raise_exception(v, X86_EXC_GP, true, 0);
		rc = TS_FAILED;
	}
	if (rc == TS_OK && e->task.has_error)
		rc = push_error(&t, r, e->task.error, nl->width);
	if (rc == TS_OK && nl == &tss32 && (field(img, TSS32_T, 2) & 1)) {
		/* The TSS's debug trap flag: #DB once the new task is in (SDM
		 * vol. 3A §7.2.1, vol. 3B §18.3.1.5). */
		sr->dr6 |= DR6_BT;
		vcpu_raise_exception(v, X86_EXC_DB, false, 0);
	}
	uint64_t cr8 = virt->get_reg(&v->hw, VIRT_CR8);
	virt->set_cpu_state(&v->hw, &cs);
	virt->set_reg(&v->hw, VIRT_CR8, cr8);
	for (int i = 0; pae && i < 4; i++)
		virt->set_reg(&v->hw, VIRT_PDPTE0 + i, pdpte[i]);
	/* set_cpu_state closed any window the run loop had asked for. */
	v->window_open = false;
	v->nmi_window_open = false;
	return cr3;
}
