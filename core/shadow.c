/*
 * Shadow paging for one vCPU; see shadow.h.  The CPU runs with paging
 * always on (paged real mode for a guest with CR0.PE = 0, AMD APM vol. 2
 * §15.19), CR0.WP on (so the dirty-flag and WP = 0 tricks of
 * core/shadow_walk.c hold for supervisor writes), EFER.NXE on, CR4.PAE on,
 * CR4.PGE and CR4.PCIDE off, and CR3 on this vCPU's shadow tables: PAE
 * format outside long mode (32-bit, PAE and unpaged guests alike), 4- or
 * 5-level in long mode.  The guest reads and writes its own CR0/CR3/CR4/
 * EFER, emulated here with the checks of MOV CRn (SDM vol. 2B "MOV--Move
 * to/from Control Registers"; SDM vol. 3A §2.5).
 */
#include "core/shadow.h"
#include "core/shadow_walk.h"
#include "core/vm.h"
#include "core/vcpu_raise.h"
#include "core/emul.h"
#include "core/cpuid.h"
#include "core/gpt.h"
#include "core/ctlreg.h"
#include "core/taskswitch.h"
#include "arch/x86/decode.h"
#include "arch/x86/emulate.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/cpu.h"
#include "kernel/log.h"
#include "mm/spt.h"
#include "mm/mm.h"
#include "lib/printf.h"
#include "lib/string.h"

#define CR0_TS          (1ULL << 3)
#define CR4_LA57        (1ULL << 12)
#define CR4_PCIDE       (1ULL << 17)
#define CR4_SMEP        (1ULL << 20)
#define CR4_SMAP        (1ULL << 21)
#define RFLAGS_VM       (1ULL << 17)

/* Shadow pages per vCPU: 1/64 of the VM's RAM, between these bounds. */
#define SHADOW_MIN_PAGES        64u
#define SHADOW_MAX_PAGES        2048u

enum { FLUSH_NONE, FLUSH_NONGLOBAL, FLUSH_ALL };

struct shadow_vcpu {
	struct spt spt;
	uint64_t cr0, cr3, cr4, efer;   /* the guest's, as last synced */
	bool synced;
	int flush;                      /* FLUSH_*: asked for by an exit */
	uint64_t fills, reflected, mmio, emulated;
};

/* ---- choosing, creating, reporting ------------------------------------------ */

int shadow_choose(struct vm *vm, char *err, size_t errlen)
{
	bool npt = !virt->nested_paging || virt->nested_paging();
	int want = vm->cfg->paging;

	vm->shadow = false;
	if (want == CONFIG_PAGING_SHADOW || !npt) {
		if (!virt->shadow_paging)
			return errf(err, errlen, "paging = shadow: the %s back end has no shadow paging",
				    virt->name);
		vm->shadow = true;
	}
	if (!npt && want == CONFIG_PAGING_NESTED)
		pr_err("kasane: VM '%s' (%s): paging = nested refused: this CPU has no nested "
		       "paging (AMD NPT / Intel EPT); it runs on shadow paging\n",
		       vm->cfg->name, vm->cfg->src);
	else if (!npt)
		pr_info("kasane: VM '%s': this CPU has no nested paging; it runs on shadow paging\n",
			vm->cfg->name);
	else if (vm->shadow)
		pr_info("kasane: VM '%s': shadow paging, as its config asks\n", vm->cfg->name);
	return 0;
}

/* Shadow tables: CR3 holds 32 bits outside long mode, so pages below 4 GiB. */
static hpa_t spt_page_alloc(void *ctx)
{
	hpa_t p = page_alloc_below(1, PAGE_SIZE, 4 * GiB);

	if (p)
		memset(hpa_to_hva(p), 0, PAGE_SIZE);
	return p;
}

static void spt_page_free(void *ctx, hpa_t p)
{
	page_free(p, 1);
}

bool shadow_vcpu_init(struct vcpu *v)
{
	struct shadow_vcpu *s = kzalloc(sizeof(*s));
	struct spt_pages pages = { spt_page_alloc, spt_page_free, NULL };

	if (!s)
		return false;
	uint64_t budget = v->vm->ram_pages / 64;
	spt_init(&s->spt, &pages, (unsigned)MIN(MAX(budget, (uint64_t)SHADOW_MIN_PAGES),
						 (uint64_t)SHADOW_MAX_PAGES));
	v->shadow = s;
	return true;
}

void shadow_vcpu_free(struct vcpu *v)
{
	if (!v->shadow)
		return;
	spt_destroy(&v->shadow->spt);
	kfree(v->shadow);
	v->shadow = NULL;
}

void shadow_report(struct vm *vm)
{
	uint64_t fills = 0, refl = 0, mmio = 0, emul = 0, flushes = 0, full = 0;
	unsigned peak = 0, max = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct shadow_vcpu *s = vm->vcpu[i].shadow;
		if (!s)
			continue;
		fills += s->fills;
		refl += s->reflected;
		mmio += s->mmio;
		emul += s->emulated;
		flushes += s->spt.flushes;
		full += s->spt.full;
		peak = MAX(peak, s->spt.peak);
		max = s->spt.max;
	}
	pr_info("kasane: VM '%s': shadow paging: %llu fills, %llu guest #PF, %llu MMIO, "
		"%llu emulated, %llu flushes, %llu rebuilds at the bound; at most %u of %u pages "
		"per vCPU\n", vm->name, (unsigned long long)fills, (unsigned long long)refl,
		(unsigned long long)mmio, (unsigned long long)emul, (unsigned long long)flushes,
		(unsigned long long)full,
		peak, max);
}

/* ---- the guest's paging controls -------------------------------------------- */

/* The guest's physical address width (CPUID 0x80000008 EAX[7:0]), as emul.c. */
static uint8_t maxphyaddr(void)
{
	static uint8_t bits;

	if (!bits)
		bits = cpuid(0x80000000, 0).eax >= 0x80000008 ?
		       (uint8_t)cpuid(0x80000008, 0).eax : 36;
	return bits;
}

/* The guest's paging controls: as last synced under shadow paging, else
 * the back end's. */
static struct gpt_mode guest_mode(struct vcpu *v)
{
	struct shadow_vcpu *s = v->shadow;

	if (!s)
		return (struct gpt_mode){ .cr0 = virt->get_reg(&v->hw, VIRT_CR0),
					  .cr3 = virt->get_reg(&v->hw, VIRT_CR3),
					  .cr4 = virt->get_reg(&v->hw, VIRT_CR4),
					  .efer = virt->get_reg(&v->hw, VIRT_EFER),
					  .rflags = v->hw.regs.rflags, .maxphyaddr = maxphyaddr() };
	return (struct gpt_mode){ .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
				  .rflags = v->hw.regs.rflags, .maxphyaddr = maxphyaddr() };
}

void shadow_sync(struct vcpu *v)
{
	struct shadow_vcpu *s = v->shadow;
	uint64_t cr0 = virt->get_reg(&v->hw, VIRT_CR0), cr3 = virt->get_reg(&v->hw, VIRT_CR3);
	uint64_t cr4 = virt->get_reg(&v->hw, VIRT_CR4), efer = virt->get_reg(&v->hw, VIRT_EFER);

	if (likely(s->synced && cr0 == s->cr0 && cr3 == s->cr3 && cr4 == s->cr4 &&
		   efer == s->efer && s->flush == FLUSH_NONE))
		return;
	int levels = (efer & EFER_LMA) ? ((cr4 & CR4_LA57) ? 5 : 4) : 3;
	int flush = s->flush;
	/* SDM vol. 3A §4.10.4.1: a change of CR0.PG or WP, of CR4.PSE, PAE,
	 * PGE, SMEP, SMAP, PCIDE or LA57, or of EFER.NXE, flushes every
	 * translation, global ones too; a new CR3 the non-global ones. */
	if ((cr0 ^ s->cr0) & (CR0_PG | CR0_WP | CR0_PE) ||
	    (cr4 ^ s->cr4) & (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PCIDE | CR4_LA57) ||
	    (efer ^ s->efer) & (EFER_NXE | EFER_LMA))
		flush = FLUSH_ALL;
	else if (cr3 != s->cr3 && flush == FLUSH_NONE)
		flush = FLUSH_NONGLOBAL;
	if (!s->synced || levels != s->spt.levels) {
		if (!spt_reset(&s->spt, levels)) {
			vm_end(v->vm, VM_END_UNHANDLED, -1, "no memory for vCPU %u's shadow page tables",
			       v->id);
			return;
		}
	} else if (flush != FLUSH_NONE) {
		spt_flush(&s->spt, flush == FLUSH_NONGLOBAL && (cr4 & CR4_PGE));
	}
	v->hw.tlb_flush = true;
	s->flush = FLUSH_NONE;
	s->cr0 = cr0;
	s->cr3 = cr3;
	s->cr4 = cr4;
	s->efer = efer;
	s->synced = true;

	v->hw.shadow_hw.cr0 = cr0 | CR0_PG | CR0_WP;
	v->hw.shadow_hw.cr4 = (cr4 & ~(CR4_PSE | CR4_PGE | CR4_PCIDE)) | CR4_PAE;
	if (!(cr0 & CR0_PG))    /* no page protections without guest paging */
		v->hw.shadow_hw.cr4 &= ~(CR4_SMEP | CR4_SMAP | CR4_PKE);
	/* Long mode is active exactly when the guest's is: LME = LMA. */
	v->hw.shadow_hw.efer = (efer & ~(EFER_LME | EFER_LMA)) | EFER_NXE |
			       ((efer & EFER_LMA) ? EFER_LME | EFER_LMA : 0);
	v->hw.shadow_hw.cr3 = s->spt.root;
}

void shadow_flush(struct vcpu *v)
{
	v->shadow->flush = FLUSH_ALL;
}

void shadow_cpuid(uint32_t leaf, uint32_t out[4])
{
	if (leaf == 7)
		out[1] &= ~(1u << 10);  /* INVPCID */
}

static bool long64(const struct x86_sregs *sr)
{
	return (sr->efer & EFER_LMA) && (sr->seg[SEG_CS].attr & SEG_ATTR_L);
}

/*
 * MOV to CRn: false for a #GP.  The checks are core/ctlreg.c's, the same
 * as under nested paging; the flush a write needs is left to shadow_sync
 * before the next entry.
 */
static bool write_cr(struct vcpu *v, const struct x86_sregs *sr, unsigned cr, uint64_t val)
{
	struct shadow_vcpu *s = v->shadow;
	struct ctlreg_state cs = { .cr0 = sr->cr0, .cr3 = sr->cr3, .cr4 = sr->cr4,
				   .efer = sr->efer, .cs_l = long64(sr),
				   .cs_l_bit = (sr->seg[SEG_CS].attr & SEG_ATTR_L) != 0 };
	uint64_t efer;
	bool noflush;

	switch (cr) {
	case 0:
		if (!ctlreg_cr0_check(&cs, &val, &efer))
			return false;
		if (efer != sr->efer)
			virt->set_reg(&v->hw, VIRT_EFER, efer);
		virt->set_reg(&v->hw, VIRT_CR0, val);
		return true;
	case 3:
		if (!ctlreg_cr3_check(&cs, &val, maxphyaddr(), &noflush))
			return false;
		virt->set_reg(&v->hw, VIRT_CR3, val);
		/* SDM vol. 3A §4.10.4.1: MOV to CR3 drops non-global
		 * translations.  With PCIDs, those of other PCIDs may stay, and
		 * with bit 63 those of the new one: dropping them is allowed,
		 * as the shadow tables are tagged with no PCID. */
		if (s->flush == FLUSH_NONE)
			s->flush = FLUSH_NONGLOBAL;
		return true;
	case 4:
		if (!ctlreg_cr4_check(&cs, val, v->hw.cr4_allowed))
			return false;
		virt->set_reg(&v->hw, VIRT_CR4, val);
		return true;
	}
	return false;
}

/* ---- decoding the instruction at RIP ---------------------------------------- */

static void inject_pf(struct vcpu *v, uint64_t la, uint32_t err)
{
	virt->set_reg(&v->hw, VIRT_CR2, la);
	vcpu_raise_exception(v, X86_EXC_PF, true, err);
}

/* A gpt_* result other than 0: raise what the guest must see, or end it.
 * Returns false (the instruction does not complete). */
static bool gpt_failed(struct vcpu *v, int r, uint64_t la, uint32_t err)
{
	if (r == GPT_FAULT)
		inject_pf(v, la, err);
	else if (r == GPT_NONCANON)
		vcpu_raise_exception(v, X86_EXC_GP, true, 0);
	else if (r == GPT_BAD_TABLE)
		vm_end(v->vm, VM_END_OUT_OF_RANGE, -1,
		       "guest page table for 0x%llx lies outside its RAM", (unsigned long long)la);
	else if (r == GPT_NOT_RAM)
		vm_end(v->vm, VM_END_UNHANDLED, -1,
		       "vCPU %u: an instruction kasane emulates for shadow paging touches device "
		       "memory at 0x%llx",
		       v->id, (unsigned long long)la);
	return false;
}

static uint64_t seg_linear(const struct x86_sregs *sr, int seg, uint64_t ea)
{
	if (long64(sr))
		return (seg == SEG_FS || seg == SEG_GS) ? ea + sr->seg[seg].base : ea;
	return (sr->seg[seg].base + ea) & 0xffffffffULL;
}

/*
 * Fetch and decode the instruction at RIP: 0, a GPT_* code (*f says
 * where), or the decoder's error (positive).
 */
static int fetch_decode(struct vcpu *v, const struct x86_sregs *sr, struct x86_insn *in,
			uint8_t *bytes, struct gpt_fault *f)
{
	struct gpt_mode mode = guest_mode(v);
	uint64_t la = seg_linear(sr, SEG_CS, v->hw.regs.rip);
	size_t n = MIN((size_t)X86_MAX_INSN_LEN, (size_t)(PAGE_SIZE - (la & (PAGE_SIZE - 1))));
	bool user = x86_cpl(sr) == 3;
	enum x86_mode m = long64(sr) ? X86_MODE_LONG64 : !(sr->cr0 & CR0_PE) ? X86_MODE_REAL16 :
			  (sr->seg[SEG_CS].attr & SEG_ATTR_DB) ? X86_MODE_PROT32 : X86_MODE_PROT16;

	int r = gpt_copy_from(&v->vm->mem, &mode, la, bytes, n, GPT_FETCH, user, f);
	if (r)
		return r;
	if (n < X86_MAX_INSN_LEN &&
	    gpt_copy_from(&v->vm->mem, &mode, la + n, bytes + n, X86_MAX_INSN_LEN - n,
			  GPT_FETCH, user, NULL) == 0)
		n = X86_MAX_INSN_LEN;
	return -x86_decode(bytes, n, m, in);
}

/* Fetch and decode the instruction at RIP; false if a fault was raised
 * or the VM ended. */
static bool decode_rip(struct vcpu *v, const struct x86_sregs *sr, struct x86_insn *in)
{
	uint8_t bytes[X86_MAX_INSN_LEN];
	struct gpt_fault f;
	int r = fetch_decode(v, sr, in, bytes, &f);

	if (r == 0)
		return true;
	if (r < 0)
		return gpt_failed(v, r, f.la, f.error);
	vm_end(v->vm, VM_END_UNHANDLED, -1,
	       "vCPU %u: cannot decode the instruction at RIP 0x%llx behind a shadow-paging exit "
	       "(bytes %02x %02x %02x %02x, error %d)", v->id,
	       (unsigned long long)v->hw.regs.rip, bytes[0], bytes[1], bytes[2], bytes[3], -r);
	return false;
}

/* ---- carrying out one instruction on guest RAM -------------------------------- */

/* x86_emulate's memory, through the guest's own tables at the rights of
 * the instruction's CPL. */
struct ram_emu {
	struct vcpu *v;
	const struct x86_sregs *sr;
	struct gpt_mode mode;
	bool user;
};

#define RAM_EMU_RAISED  (-1)    /* a fault was raised, the VM ended, or run it again */

static int ram_access(struct ram_emu *x, int seg, uint64_t ea, void *buf, unsigned size,
		      bool write)
{
	struct gpt_fault f;
	uint64_t la = seg_linear(x->sr, seg, ea);
	int r = write ? gpt_copy_to(&x->v->vm->mem, &x->mode, la, buf, size, x->user, &f)
		      : gpt_copy_from(&x->v->vm->mem, &x->mode, la, buf, size, GPT_READ, x->user, &f);

	if (r == 0)
		return 0;
	if (r != GPT_RETRY)
		gpt_failed(x->v, r, f.la, f.error);
	return RAM_EMU_RAISED;
}

static int ram_read(void *ctx, int seg, uint64_t ea, void *val, unsigned size)
{
	return ram_access(ctx, seg, ea, val, size, false);
}

static int ram_write(void *ctx, int seg, uint64_t ea, const void *val, unsigned size)
{
	return ram_access(ctx, seg, ea, (void *)val, size, true);
}

/*
 * Carry out the instruction at RIP on guest RAM, with the guest's own
 * rights and flags (shadow_walk's emulate case).  False when x86_emulate
 * does not know the instruction: the caller must let it run.
 */
static bool emulate_rip(struct vcpu *v)
{
	static const struct x86_emu_ops ops = { ram_read, ram_write };
	uint8_t bytes[X86_MAX_INSN_LEN];
	struct x86_sregs sr;
	struct x86_insn in;
	struct gpt_fault f;

	virt->get_sregs(&v->hw, &sr);
	int r = fetch_decode(v, &sr, &in, bytes, &f);
	if (r < 0) {
		gpt_failed(v, r, f.la, f.error);
		return true;
	}
	if (r > 0)
		return false;
	struct ram_emu x = { v, &sr, guest_mode(v), x86_cpl(&sr) == 3 };
	r = x86_emulate(&in, &v->hw.regs, &ops, &x);
	return r != -X86_EUNSUPPORTED;
}

/* ---- exit handlers ------------------------------------------------------------ */

static bool privileged(struct vcpu *v, const struct x86_sregs *sr)
{
	if (x86_cpl(sr) == 0 && !(v->hw.regs.rflags & RFLAGS_VM))
		return true;
	vcpu_raise_exception(v, X86_EXC_GP, true, 0);
	return false;
}

/* MOV to/from CR0, CR3, CR4; CLTS; LMSW; SMSW. */
void shadow_handle_cr(struct vcpu *v, struct vm_exit *e)
{
	struct x86_sregs sr;
	struct x86_insn in;
	uint64_t *gpr = v->hw.regs.gpr;

	virt->get_sregs(&v->hw, &sr);
	if (!decode_rip(v, &sr, &in))
		return;
	bool wide = long64(&sr);
	struct gpt_mode mode = guest_mode(v);
	struct gpt_fault f;
	uint64_t la = in.mem ? seg_linear(&sr, in.seg, x86_insn_ea(&in, &v->hw.regs)) : 0;
	bool user = x86_cpl(&sr) == 3;
	int r;

	switch (in.opcode) {
	case 0x0f20:            /* MOV r, CRn */
	case 0x0f22: {          /* MOV CRn, r */
		unsigned cr = in.reg_num;
		if (cr != e->cr.cr)
			return;         /* the code changed under us: run it again */
		if (!privileged(v, &sr))
			return;
		if (in.opcode == 0x0f20) {
			uint64_t val = cr == 0 ? sr.cr0 : cr == 3 ? sr.cr3 : sr.cr4;
			gpr[in.rm_num] = wide ? val : (uint32_t)val;
		} else {
			uint64_t val = wide ? gpr[in.rm_num] : (uint32_t)gpr[in.rm_num];
			if (!write_cr(v, &sr, cr, val)) {
				vcpu_raise_exception(v, X86_EXC_GP, true, 0);
				return;
			}
		}
		break;
	}
	case 0x0f06:            /* CLTS */
		if (!privileged(v, &sr))
			return;
		write_cr(v, &sr, 0, sr.cr0 & ~CR0_TS);
		break;
	case 0x0f01:
		if (in.reg == 6) {      /* LMSW: PE, MP, EM, TS; PE cannot be cleared */
			uint16_t src;
			if (!privileged(v, &sr))
				return;
			if (in.mem) {
				r = gpt_copy_from(&v->vm->mem, &mode, la, &src, 2, GPT_READ, user, &f);
				if (r) {
					gpt_failed(v, r, f.la, f.error);
					return;
				}
			} else {
				src = (uint16_t)gpr[in.rm_num];
			}
			write_cr(v, &sr, 0, (sr.cr0 & ~0xeULL) | (src & 0xf));
		} else if (in.reg == 4) {       /* SMSW: CR0's low bits */
			if (in.mem) {
				uint16_t val = (uint16_t)sr.cr0;
				r = gpt_copy_to(&v->vm->mem, &mode, la, &val, 2, user, &f);
				if (r) {
					gpt_failed(v, r, f.la, f.error);
					return;
				}
			} else if (in.opsize == 2) {
				gpr[in.rm_num] = (gpr[in.rm_num] & ~0xffffULL) | (uint16_t)sr.cr0;
			} else {
				gpr[in.rm_num] = in.opsize == 8 ? sr.cr0 : (uint32_t)sr.cr0;
			}
		} else {
			return;         /* not a CR0 access: run it again */
		}
		break;
	default:
		vm_end(v->vm, VM_END_UNHANDLED, -1,
		       "vCPU %u: control-register exit at RIP 0x%llx on opcode 0x%x", v->id,
		       (unsigned long long)v->hw.regs.rip, in.opcode);
		return;
	}
	v->hw.regs.rip += in.len;
}

/* INVLPG (SDM vol. 2A "INVLPG"): drop the page's translation, no fault. */
void shadow_handle_invlpg(struct vcpu *v, struct vm_exit *e)
{
	struct shadow_vcpu *s = v->shadow;
	struct x86_sregs sr;
	struct x86_insn in;

	virt->get_sregs(&v->hw, &sr);
	if (!decode_rip(v, &sr, &in))
		return;
	if (in.opcode != 0x0f01 || in.reg != 7 || !in.mem)
		return;                 /* the code changed under us: run it again */
	if (!privileged(v, &sr))
		return;
	uint64_t la = e->invlpg.la_known ? e->invlpg.la
					  : seg_linear(&sr, in.seg, x86_insn_ea(&in, &v->hw.regs));
	if (!(s->efer & EFER_LMA))
		la &= 0xffffffffULL;
	/* 32-bit paging: a 4 MiB page spans two 2 MiB shadow entries. */
	spt_invlpg(&s->spt, la, (s->cr0 & CR0_PG) && !(s->cr4 & CR4_PAE));
	v->hw.tlb_flush = true;
	v->hw.regs.rip += in.len;
}

/* Map the leaf for la; at the bound, drop everything and map again. */
static bool fill(struct vcpu *v, uint64_t la, const struct shadow_leaf *l)
{
	struct shadow_vcpu *s = v->shadow;
	struct guest_mem *m = &v->vm->mem;
	gpa_t base = l->gpa & ~(LARGE_PAGE_SIZE - 1);
	uint8_t *big = (l->flags & SPT_LARGE) ? gmem_ptr(m, base, LARGE_PAGE_SIZE) : NULL;
	bool large = big && IS_ALIGNED(hva_to_hpa(big), LARGE_PAGE_SIZE);
	hpa_t hpa = large ? hva_to_hpa(big)
			  : hva_to_hpa(gmem_ptr(m, l->gpa & ~(PAGE_SIZE - 1), PAGE_SIZE));
	uint64_t at = large ? la & ~(LARGE_PAGE_SIZE - 1) : la & ~(PAGE_SIZE - 1);

	if (spt_map(&s->spt, at, hpa, l->flags, large))
		return true;
	if (s->spt.full++ == 0)
		pr_info("kasane: VM '%s': vCPU %u's shadow page tables reached their bound of "
			"%u pages; dropping them and rebuilding\n", v->vm->name, v->id, s->spt.max);
	spt_flush(&s->spt, false);
	return spt_map(&s->spt, at, hpa, l->flags, large);
}

/*
 * A #PF in the shadow tables: a translation the shadow does not hold yet
 * (fill it), a fault of the guest's own tables (reflect it, with CR2), or
 * an access to device memory (emulate it).
 */
void shadow_handle_pf(struct vcpu *v, struct vm_exit *e)
{
	struct shadow_vcpu *s = v->shadow;
	struct gpt_mode mode = guest_mode(v);
	uint32_t err = e->pf.error, pferr;
	uint64_t la = e->pf.la;
	int access = (err & GPT_PF_ID) ? GPT_FETCH : (err & GPT_PF_W) ? GPT_WRITE : GPT_READ;
	struct shadow_leaf l;

	if (!(s->efer & EFER_LMA))
		la &= 0xffffffffULL;
	int r = shadow_walk(&v->vm->mem, &mode, la, access, (err & GPT_PF_U) != 0, &l, &pferr);
	if (r == GPT_RETRY)
		return;
	if (r) {
		if (r == GPT_FAULT)
			s->reflected++;
		gpt_failed(v, r, la, pferr);
		return;
	}
	if (!gmem_ptr(&v->vm->mem, l.gpa, 1) && e->cut.valid) {
		/* The delivery of an event touched it, not the instruction at
		 * RIP: nothing to emulate (core/vcpu.c says the same under
		 * nested paging). */
		vm_end(v->vm, VM_END_UNHANDLED, -1, "vCPU %u: delivering vector %u touched "
		       "guest-physical 0x%llx, which is not RAM", v->id, e->cut.vector,
		       (unsigned long long)l.gpa);
		return;
	}
	if (!gmem_ptr(&v->vm->mem, l.gpa, 1)) {
		/* Not RAM: a device's registers, as a nested-paging fault would say. */
		struct vm_exit m = { .kind = EXIT_MMIO, .code = e->code,
				     .mmio = { .gpa = l.gpa, .write = access == GPT_WRITE,
					       .fetch = access == GPT_FETCH } };
		s->mmio++;
		vcpu_emulate_mmio(v, &m);
		return;
	}
	if (l.emulate && !e->cut.valid && emulate_rip(v)) {
		s->emulated++;
		return;
	}
	if (!fill(v, la, &l)) {
		vm_end(v->vm, VM_END_UNHANDLED, -1, "vCPU %u: shadow page tables: no memory", v->id);
		return;
	}
	s->fills++;
	/* The CPU may still hold the old, narrower translation. */
	v->hw.tlb_flush = true;
}

/*
 * A task switch, carried out by core/taskswitch.c.  The old task keeps the
 * EIP after a JMP, CALL, IRET or INT n, and RIP itself for an exception or
 * interrupt; a new CR3 drops the non-global translations, as MOV to CR3
 * does (SDM vol. 3A §4.10.4.1).  Also for a back end that exits on every
 * task switch with nested paging (VT-x, SDM vol. 3C §25.1.2).
 */
void shadow_handle_task_switch(struct vcpu *v, struct vm_exit *e)
{
	uint64_t next = v->hw.regs.rip;

	if (e->task.source != VIRT_TASK_GATE || e->cut.type == VIRT_EV_SOFT_INT) {
		struct x86_sregs sr;
		struct x86_insn in;
		virt->get_sregs(&v->hw, &sr);
		if (!decode_rip(v, &sr, &in))
			return;
		next += in.len;
	}
	struct gpt_mode mode = guest_mode(v);
	if (task_switch(v, e, &mode, next) && v->shadow && v->shadow->flush == FLUSH_NONE)
		v->shadow->flush = FLUSH_NONGLOBAL;
}
