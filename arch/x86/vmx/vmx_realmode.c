/*
 * Real mode on VT-x without unrestricted guest (SDM vol. 3C §26.3.1.1:
 * CR0.PE and PG must then be 1): the guest runs in virtual-8086 mode,
 * which executes real-mode code natively, with segment base = selector
 * << 4 and limit 0xffff (SDM vol. 3A §20.2), on the identity shadow of
 * its RAM.  RFLAGS.IOPL is 3, so CLI, STI, PUSHF, POPF and IRET run
 * natively on the guest's own IF; everything else vm86 refuses faults
 * with #GP, which exits, and is done here or handed to core/ as the exit
 * it would be in real mode:
 *
 *  - MOV to/from CR0/CR3/CR4, CLTS, LMSW: EXIT_CR_ACCESS (core/shadow.c
 *    decodes them as real-mode code: get_sregs shows the guest real mode);
 *  - INVLPG, HLT, RDMSR/WRMSR, INVD, IN/OUT/INS/OUTS: their exits;
 *  - LGDT, LIDT, WBINVD, and INT n: here.  The IDT the CPU sees in vm86
 *    is empty, so INT n faults instead of entering a protected-mode
 *    gate; the TSS has limit 0, so every port access faults as well
 *    (SDM vol. 3A §20.2.8.1, §19.5.2) and no TSS is needed in the guest's
 *    address space.
 *
 * Every exception exits in vm86 (the bitmap is all ones but #MC), and
 * every event for the guest (interrupt, NMI, exception) is delivered
 * here as real mode delivers it: FLAGS, CS and IP pushed on SS:SP, IF, TF
 * and AC cleared, CS:IP from the guest's IVT (SDM vol. 2A, INT n,
 * "REAL-ADDRESS-MODE").  A guest in real mode runs with paging off, so
 * its linear addresses are guest-physical.
 */
#include "arch/x86/vmx/vmx_shadow.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_insn.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/decode.h"
#include "mm/guest_mem.h"
#include "lib/string.h"

#define AR_VM86         0xf3    /* present, DPL 3, read/write data, accessed */
#define AR_TSS32_BUSY   (SEG_ATTR_P | 0xb)
#define RFLAGS_RF       (1ULL << 16)
#define RFLAGS_AC       (1ULL << 18)
#define REAL_CODE       (SEG_ATTR_P | SEG_ATTR_S | 0xb)
#define REAL_DATA       (SEG_ATTR_P | SEG_ATTR_S | 0x3)

static void write_seg(unsigned n, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
	vmwrite(GUEST_ES_SEL + 2 * n, sel);
	vmwrite(GUEST_ES_BASE + 2 * n, base);
	vmwrite(GUEST_ES_LIMIT + 2 * n, limit);
	vmwrite(GUEST_ES_AR + 2 * n, ar);
}

static struct x86_seg read_seg(unsigned n)
{
	return (struct x86_seg){ .selector = (uint16_t)vmread(GUEST_ES_SEL + 2 * n),
				 .base = vmread(GUEST_ES_BASE + 2 * n),
				 .limit = (uint32_t)vmread(GUEST_ES_LIMIT + 2 * n),
				 .attr = (uint32_t)vmread(GUEST_ES_AR + 2 * n) };
}

enum { VMCS_LDTR = 6, VMCS_TR = 7 };

/*
 * CR0.PE went to 0, or a real-mode state was loaded: the VMCS holds the
 * guest's segments as they are; make them vm86 segments (SDM vol. 3C
 * §26.3.1.2, "virtual-8086 mode").  A segment still holding a protected-
 * mode base (between the MOV to CR0 and the far jump that reloads CS, for
 * example) runs with the selector that base gives; a base that is not a
 * paragraph below 1 MiB cannot run in vm86: false.
 */
bool vmx_rm_enter(struct virt_vcpu *v, struct vmx_rm *rm)
{
	for (unsigned i = 0; i < NR_SEGS; i++) {
		struct x86_seg s = read_seg(i);
		if (s.base != (uint64_t)s.selector << 4) {
			if ((s.base & 0xf) || s.base > 0xffff0)
				return false;
			s.selector = (uint16_t)(s.base >> 4);
		}
		write_seg(i, s.selector, s.base, 0xffff, AR_VM86);
	}
	rm->tr = read_seg(VMCS_TR);
	rm->ldtr = read_seg(VMCS_LDTR);
	rm->idt = (struct x86_dtable){ vmread(GUEST_IDTR_BASE), (uint16_t)vmread(GUEST_IDTR_LIMIT) };
	write_seg(VMCS_TR, 0, 0, 0, AR_TSS32_BUSY);
	write_seg(VMCS_LDTR, 0, 0, 0, SEG_ATTR_UNUSABLE);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0);
	rm->bitmap = (uint32_t)vmread(EXCEPTION_BITMAP);
	vmwrite(EXCEPTION_BITMAP, ~(1u << X86_EXC_MC));
	rm->active = true;
	return true;
}

/*
 * CR0.PE went to 1: protected mode with the segments real mode left
 * (until the guest reloads them), as segments VM entry accepts without
 * unrestricted guest: DPL = RPL, CS and SS at one privilege level
 * (§26.3.1.2).  False if their RPLs differ.
 */
bool vmx_rm_leave(struct virt_vcpu *v, struct vmx_rm *rm)
{
	uint16_t cs = (uint16_t)vmread(GUEST_ES_SEL + 2 * SEG_CS);
	uint16_t ss = (uint16_t)vmread(GUEST_ES_SEL + 2 * SEG_SS);

	if ((cs & 3) != (ss & 3))
		return false;
	for (unsigned i = 0; i < NR_SEGS; i++) {
		struct x86_seg s = read_seg(i);
		uint32_t ar = (i == SEG_CS ? REAL_CODE : REAL_DATA) |
			      ((uint32_t)(s.selector & 3) << SEG_ATTR_DPL_SHIFT);
		write_seg(i, s.selector, s.base, 0xffff, ar);
	}
	write_seg(VMCS_TR, rm->tr.selector, rm->tr.base, rm->tr.limit, rm->tr.attr);
	write_seg(VMCS_LDTR, rm->ldtr.selector, rm->ldtr.base, rm->ldtr.limit, rm->ldtr.attr);
	vmwrite(GUEST_IDTR_BASE, rm->idt.base);
	vmwrite(GUEST_IDTR_LIMIT, rm->idt.limit);
	vmwrite(EXCEPTION_BITMAP, rm->bitmap);
	rm->active = false;
	return true;
}

/* What the guest would see in real mode, from the vm86 form. */
void vmx_rm_get_sregs(struct vmx_rm *rm, struct x86_sregs *r)
{
	for (unsigned i = 0; i < NR_SEGS; i++) {
		r->seg[i].limit = 0xffff;
		r->seg[i].attr = i == SEG_CS ? REAL_CODE : REAL_DATA;
	}
	r->tr = rm->tr;
	r->ldtr = rm->ldtr;
	r->idt = rm->idt;
}

static void *ram(struct virt_vcpu *v, uint64_t gpa, uint64_t len)
{
	return v->mem ? gmem_ptr(v->mem, gpa, len) : NULL;
}

/* Real-mode delivery of vector through the IVT, returning to ip. */
static bool deliver(struct virt_vcpu *v, struct vmx_rm *rm, uint8_t vector, uint16_t ip)
{
	uint64_t ss = vmread(GUEST_ES_BASE + 2 * SEG_SS);
	uint16_t sp = (uint16_t)v->regs.gpr[REG_RSP];
	uint16_t frame[3] = { ip, (uint16_t)vmread(GUEST_ES_SEL + 2 * SEG_CS),
			      (uint16_t)v->regs.rflags };
	uint8_t *ivt;

	if ((uint32_t)vector * 4 + 3 > rm->idt.limit ||
	    !(ivt = ram(v, rm->idt.base + (uint32_t)vector * 4, 4)))
		return false;
	for (int i = 2; i >= 0; i--) {
		sp -= 2;
		uint8_t *p = ram(v, ss + sp, 2);
		if (!p)
			return false;
		memcpy(p, &frame[i], 2);
	}
	uint16_t new_ip, new_cs;
	memcpy(&new_ip, ivt, 2);
	memcpy(&new_cs, ivt + 2, 2);
	v->regs.gpr[REG_RSP] = (v->regs.gpr[REG_RSP] & ~0xffffULL) | sp;
	v->regs.rflags &= ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC | RFLAGS_RF);
	v->regs.rip = new_ip;
	vmwrite(GUEST_ES_SEL + 2 * SEG_CS, new_cs);
	vmwrite(GUEST_ES_BASE + 2 * SEG_CS, (uint64_t)new_cs << 4);
	return true;
}

bool vmx_rm_inject(struct virt_vcpu *v, struct vmx_rm *rm, uint8_t vector)
{
	if (!rm->active)
		return false;
	if (!deliver(v, rm, vector, (uint16_t)v->regs.rip))
		rm->triple = true;      /* vmx_shadow_enter ends the VM */
	return true;
}

static void reflect(struct vm_exit *e, uint8_t vector)
{
	e->kind = EXIT_REFLECT;
	e->reflect.vector = vector;
	e->reflect.has_error = false;   /* none in real mode */
	e->reflect.error = 0;
}

/* The instruction at CS:IP, decoded as real-mode code; false if it is not
 * in RAM or not one the decoder knows. */
static bool fetch(struct virt_vcpu *v, struct x86_insn *in)
{
	uint64_t la = vmread(GUEST_ES_BASE + 2 * SEG_CS) + (v->regs.rip & 0xffff);
	uint8_t bytes[X86_MAX_INSN_LEN];
	size_t n = 0;

	for (; n < sizeof(bytes); n++) {
		uint8_t *p = ram(v, la + n, 1);
		if (!p)
			break;
		bytes[n] = *p;
	}
	return n && x86_decode(bytes, n, X86_MODE_REAL16, in) == 0;
}

/* LGDT and LIDT (SDM vol. 2A): a 16-bit limit, then a base of 24 bits, or
 * 32 with an operand-size prefix. */
static bool load_dtable(struct virt_vcpu *v, struct vmx_rm *rm, const struct x86_insn *in)
{
	uint64_t la = vmread(GUEST_ES_BASE + 2 * in->seg) + x86_insn_ea(in, &v->regs);
	uint8_t *p = ram(v, la, 6);
	uint16_t limit;
	uint32_t base;

	if (!p)
		return false;
	memcpy(&limit, p, 2);
	memcpy(&base, p + 2, 4);
	if (in->opsize == 2)
		base &= 0xffffff;
	if (in->reg == 2) {
		vmwrite(GUEST_GDTR_BASE, base);
		vmwrite(GUEST_GDTR_LIMIT, limit);
	} else {
		rm->idt = (struct x86_dtable){ base, limit };
	}
	return true;
}

/* A #GP in vm86: what real mode would have done with the instruction. */
static void emulate_gp(struct virt_vcpu *v, struct vmx_rm *rm, struct vm_exit *e)
{
	struct x86_insn in;

	if (!fetch(v, &in)) {
		reflect(e, X86_EXC_GP);
		return;
	}
	uint16_t next = (uint16_t)(v->regs.rip + in.len);
	e->next_rip = next;
	e->kind = EXIT_NONE;
	switch (in.opcode) {
	case 0xcd:              /* INT n, refused by the empty IDT */
		e->cut.valid = false;
		if (!deliver(v, rm, (uint8_t)in.imm, next))
			e->kind = EXIT_TRIPLE_FAULT;
		return;
	case 0xf4:
		e->kind = EXIT_HLT;
		return;
	case 0x0f20: case 0x0f22:
		e->kind = EXIT_CR_ACCESS;
		e->cr.cr = in.reg_num;
		e->cr.write = in.opcode == 0x0f22;
		return;
	case 0x0f06:            /* CLTS */
		e->kind = EXIT_CR_ACCESS;
		e->cr.cr = 0;
		e->cr.write = true;
		return;
	case 0x0f01:
		if (in.reg == 4 || in.reg == 6) {       /* SMSW, LMSW */
			e->kind = EXIT_CR_ACCESS;
			e->cr.cr = 0;
			e->cr.write = in.reg == 6;
		} else if (in.reg == 7 && in.mem) {
			e->kind = EXIT_INVLPG;
			e->invlpg.la_known = false;
		} else if ((in.reg == 2 || in.reg == 3) && in.mem) {
			if (load_dtable(v, rm, &in))
				v->regs.rip = next;
			else
				reflect(e, X86_EXC_GP);
		} else {
			reflect(e, X86_EXC_GP);
		}
		return;
	case 0x0f30: case 0x0f32:
		e->kind = in.opcode == 0x0f32 ? EXIT_MSR_READ : EXIT_MSR_WRITE;
		e->msr.msr = (uint32_t)v->regs.gpr[REG_RCX];
		return;
	case 0x0f08:
		e->kind = EXIT_INVD;
		return;
	case 0x0f09:            /* WBINVD: nothing kasane's caches need */
		v->regs.rip = next;
		return;
	}
	if (in.op >= X86_OP_IN && in.op <= X86_OP_OUTS) {
		e->kind = EXIT_IO;
		e->io.in = in.io.in;
		e->io.string = in.io.string;
		e->io.rep = in.io.rep;
		e->io.size = in.io.size;
		e->io.addr_size = in.addrsize;
		e->io.port = in.io.use_dx ? (uint16_t)v->regs.gpr[REG_RDX] : in.io.port;
		return;
	}
	reflect(e, X86_EXC_GP);        /* a #GP real mode raises too */
}

bool vmx_rm_exception(struct virt_vcpu *v, struct vmx_rm *rm, struct vm_exit *e)
{
	uint32_t info = (uint32_t)e->info2;
	uint8_t vector = info & 0xff;

	switch (vector) {
	case X86_EXC_DB: case X86_EXC_BP: case X86_EXC_AC:
		return false;           /* as outside vm86 */
	case X86_EXC_GP:
		emulate_gp(v, rm, e);
		return true;
	}
	/* INTO and the like are traps: delivered after the instruction. */
	if ((info & INTR_TYPE_MASK) == INTR_TYPE_SW_EXC)
		v->regs.rip = (uint16_t)(v->regs.rip + vmread(EXIT_INSN_LEN));
	e->next_rip = 0;
	reflect(e, vector);
	return true;
}
