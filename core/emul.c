/*
 * Emulating the instructions behind MMIO and port-string exits: fetch the
 * instruction through the guest's page tables, decode it in software
 * (QEMU's SVM has no decode assists), and carry it out on guest RAM and
 * the VM's devices.  Guest-virtual accesses go through core/gpt.c; every
 * guest-physical address is checked against the VM's own map.
 */
#include "core/emul.h"
#include "core/vm.h"
#include "core/vcpu_raise.h"
#include "core/virt.h"
#include "core/gpt.h"
#include "arch/x86/decode.h"
#include "arch/x86/emulate.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

#define CR0_TS          0x00000008      /* SDM vol. 3A §2.5 */

struct emu {
	struct vcpu *v;
	struct x86_sregs sr;
	unsigned cpl;
	struct gpt_mode mode;
	bool long_mode;
	/* A MOV's one memory access faulted at exit_gpa: it goes there
	 * without a guest page walk (set only for X86_OP_MOV). */
	bool use_exit_gpa;
	gpa_t exit_gpa;
};

/* The guest's physical address width is the host's (CPUID 0x80000008 EAX[7:0]). */
static uint8_t guest_maxphyaddr(void)
{
	static uint8_t bits;

	if (!bits)
		bits = cpuid(0x80000000, 0).eax >= 0x80000008 ?
		       (uint8_t)cpuid(0x80000008, 0).eax : 36;
	return bits;
}

static void emu_init(struct emu *x, struct vcpu *v)
{
	x->v = v;
	x->use_exit_gpa = false;
	virt->get_sregs(&v->hw, &x->sr);
	x->cpl = x86_cpl(&x->sr);
	x->mode = (struct gpt_mode){ .cr0 = x->sr.cr0, .cr3 = x->sr.cr3,
				     .cr4 = x->sr.cr4, .efer = x->sr.efer,
				     .rflags = v->hw.regs.rflags,
				     .maxphyaddr = guest_maxphyaddr() };
	/* 64-bit mode: EFER.LMA and CS.L (SDM vol. 3A §5.2.1). */
	x->long_mode = (x->sr.efer & EFER_LMA) && (x->sr.seg[SEG_CS].attr & SEG_ATTR_L);
}

static enum x86_mode emu_cpu_mode(const struct emu *x)
{
	if (x->long_mode)
		return X86_MODE_LONG64;
	if (!(x->sr.cr0 & CR0_PE))
		return X86_MODE_REAL16;
	return (x->sr.seg[SEG_CS].attr & SEG_ATTR_DB) ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

/* Linear address of seg:ea (segment limits are not checked). */
static uint64_t emu_linear(const struct emu *x, int seg, uint64_t ea)
{
	if (x->long_mode)
		return (seg == SEG_FS || seg == SEG_GS) ? ea + x->sr.seg[seg].base : ea;
	return (x->sr.seg[seg].base + ea) & 0xffffffffULL;
}

/* Translate; on a guest fault inject it and return EMU_EFAULT. */
static int emu_translate(struct emu *x, uint64_t la, int access, gpa_t *gpa)
{
	uint32_t err = 0;
	int r = gpt_translate(&x->v->vm->mem, &x->mode, la, access, x->cpl == 3, gpa, &err);

	if (r == 0)
		return 0;
	if (r == GPT_FAULT) {
		virt->set_reg(&x->v->hw, VIRT_CR2, la);
		vcpu_raise_exception(x->v, X86_EXC_PF, true, err);
		return EMU_EFAULT;
	}
	if (r == GPT_RETRY)
		return EMU_ERETRY;
	if (r == GPT_NONCANON) {
		vcpu_raise_exception(x->v, X86_EXC_GP, true, 0);
		return EMU_EGP;
	}
	vm_end(x->v->vm, VM_END_OUT_OF_RANGE, -1,
	       "guest page table for 0x%llx lies outside its RAM", (unsigned long long)la);
	return EMU_EEND;
}

/* Access 'size' bytes at a guest-physical address: RAM or a device. */
static int emu_phys(struct emu *x, gpa_t gpa, void *buf, unsigned size, bool write)
{
	struct vm *vm = x->v->vm;
	void *p = gmem_ptr(&vm->mem, gpa, size);

	if (p) {
		if (write)
			memcpy(p, buf, size);
		else
			memcpy(buf, p, size);
		return 0;
	}
	if (size == 1 || size == 2 || size == 4 || size == 8) {
		struct io_req req = { .vcpu = x->v, .addr = gpa, .size = (uint8_t)size,
				      .write = write };
		if (write)
			memcpy(&req.val, buf, size);
		int r = iobus_mmio(&vm->bus, &req);
		if (r == 0) {
			if (!write)
				memcpy(buf, &req.val, size);
			return 0;
		}
		if (r != IOBUS_UNMAPPED) {
			vm_end(vm, VM_END_UNHANDLED, -1, "device at 0x%llx refused a %u-byte %s",
			       (unsigned long long)gpa, size, write ? "write" : "read");
			return EMU_EEND;
		}
	}
	vm_end(vm, VM_END_OUT_OF_RANGE, -1,
	       "%s of %u bytes at guest-physical 0x%llx, outside its RAM (%llu MiB) and devices",
	       write ? "write" : "read", size, (unsigned long long)gpa,
	       (unsigned long long)(vm->mem.total / MiB));
	return EMU_EEND;
}

/* Guest-virtual access, split at page boundaries. */
static int emu_virt(struct emu *x, uint64_t la, void *buf, unsigned size, bool write)
{
	uint8_t *b = buf;

	while (size) {
		unsigned chunk = MIN(size, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
		gpa_t gpa;
		int r = emu_translate(x, la, write ? GPT_WRITE : GPT_READ, &gpa);
		if (r)
			return r;
		r = emu_phys(x, gpa, b, chunk, write);
		if (r)
			return r;
		la += chunk;
		b += chunk;
		size -= chunk;
	}
	return 0;
}

/*
 * The access of a MOV that exited: the hardware translated it to the exit's
 * guest-physical address (AMD APM vol. 2 §15.25.6 EXITINFO2; Intel SDM vol.
 * 3C §28.3.3.2 guest-physical address), so when it lies within one page at
 * that page offset it goes straight there.
 */
static int emu_access(struct emu *x, uint64_t la, void *buf, unsigned size, bool write)
{
	if (x->use_exit_gpa) {
		x->use_exit_gpa = false;
		if ((la & (PAGE_SIZE - 1)) == (x->exit_gpa & (PAGE_SIZE - 1)) &&
		    (la & (PAGE_SIZE - 1)) + size <= PAGE_SIZE)
			return emu_phys(x, x->exit_gpa, buf, size, write);
	}
	return emu_virt(x, la, buf, size, write);
}

static int op_read(void *ctx, int seg, uint64_t ea, void *val, unsigned size)
{
	struct emu *x = ctx;
	return emu_access(x, emu_linear(x, seg, ea), val, size, false);
}

static int op_write(void *ctx, int seg, uint64_t ea, const void *val, unsigned size)
{
	struct emu *x = ctx;
	return emu_access(x, emu_linear(x, seg, ea), (void *)val, size, true);
}

static const struct x86_emu_ops emu_ops = { op_read, op_write };

/* Read up to 15 instruction bytes at CS:RIP; returns how many could be read. */
static size_t emu_fetch(struct emu *x, uint8_t *buf)
{
	uint64_t la = emu_linear(x, SEG_CS, x->v->hw.regs.rip);
	size_t got = 0;

	while (got < 15) {
		gpa_t gpa;
		uint32_t err;
		unsigned chunk = MIN(15 - got, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
		if (gpt_translate(&x->v->vm->mem, &x->mode, la, GPT_FETCH, x->cpl == 3,
				  &gpa, &err) != 0)
			break;
		if (!gmem_read(&x->v->vm->mem, gpa, buf + got, chunk))
			break;
		got += chunk;
		la += chunk;
	}
	return got;
}

int vcpu_emulate_mmio(struct vcpu *v, struct vm_exit *e)
{
	struct vm *vm = v->vm;
	struct emu x;
	uint8_t bytes[15];
	struct x86_insn insn;

	if (!iobus_mmio_covers(&vm->bus, e->mmio.gpa)) {
		vm_end(vm, VM_END_OUT_OF_RANGE, -1,
		       "%s at guest-physical 0x%llx (RIP 0x%llx), outside its RAM (%llu MiB)",
		       e->mmio.fetch ? "instruction fetch" : e->mmio.write ? "write" : "read",
		       (unsigned long long)e->mmio.gpa, (unsigned long long)v->hw.regs.rip,
		       (unsigned long long)(vm->mem.total / MiB));
		return EMU_EEND;
	}
	if (e->mmio.fetch) {
		vm_end(vm, VM_END_OUT_OF_RANGE, -1, "instruction fetch from device memory at 0x%llx",
		       (unsigned long long)e->mmio.gpa);
		return EMU_EEND;
	}
	emu_init(&x, v);
	size_t n = emu_fetch(&x, bytes);
	enum x86_mode mode = emu_cpu_mode(&x);
	int r = 0;
	/* The doorbell fast path: the same bytes in the same mode decode the same. */
	if (v->mmio_memo.len && v->mmio_memo.len <= n && v->mmio_memo.mode == mode &&
	    memcmp(v->mmio_memo.bytes, bytes, v->mmio_memo.len) == 0) {
		insn = v->mmio_memo.insn;
		v->mmio_memo.hits++;
	} else {
		r = x86_decode(bytes, n, mode, &insn);
		if (r == 0 && insn.len <= n) {
			v->mmio_memo.mode = mode;
			v->mmio_memo.len = insn.len;
			memcpy(v->mmio_memo.bytes, bytes, insn.len);
			v->mmio_memo.insn = insn;
		}
	}
	x.use_exit_gpa = r == 0 && insn.op == X86_OP_MOV;
	x.exit_gpa = e->mmio.gpa;
	if (r == -X86_EINVAL) {
		/* An encoding the CPU refuses, such as LOCK on a MOV: #UD, as
		 * hardware raises it (SDM vol. 2A §2.1.1, LOCK). */
		vcpu_raise_exception(v, X86_EXC_UD, false, 0);
		return EMU_EFAULT;
	}
	if (r < 0) {
		vm_end(vm, VM_END_UNHANDLED, -1,
		       "cannot emulate the instruction at RIP 0x%llx touching device memory 0x%llx "
		       "(bytes %02x %02x %02x %02x, decoder error %d)",
		       (unsigned long long)v->hw.regs.rip, (unsigned long long)e->mmio.gpa,
		       n > 0 ? bytes[0] : 0, n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0,
		       n > 3 ? bytes[3] : 0, r);
		return EMU_EEND;
	}
	r = x86_emulate(&insn, &v->hw.regs, &emu_ops, &x);
	if (r < 0 && r != EMU_EFAULT && r != EMU_EGP && r != EMU_EEND &&
	    r != EMU_ERETRY) {
		vm_end(vm, VM_END_UNHANDLED, -1,
		       "cannot emulate the instruction at RIP 0x%llx (opcode 0x%x, error %d)",
		       (unsigned long long)v->hw.regs.rip, insn.opcode, r);
		return EMU_EEND;
	}
	return r;
}

int vcpu_decode_cr_write(struct vcpu *v, unsigned cr, uint64_t cr0, uint64_t *val,
			 uint64_t *next_rip)
{
	struct emu x;
	uint8_t bytes[15];
	struct x86_insn in;

	emu_init(&x, v);
	size_t n = emu_fetch(&x, bytes);
	int r = x86_decode(bytes, n, emu_cpu_mode(&x), &in);
	/* AMD: LOCK MOV CR0 is MOV CR8 (APM vol. 3 MOV CRn). */
	unsigned reg = r == 0 ? in.reg_num | ((in.prefixes & X86_PFX_LOCK) ? 8 : 0) : 0;

	if (r == 0 && in.opcode == 0x0f22 && reg == cr) {
		*val = v->hw.regs.gpr[in.rm_num];
		if (in.opsize == 4)
			*val = (uint32_t)*val;
	} else if (r == 0 && cr == 0 && in.opcode == 0x0f06) {
		*val = cr0 & ~(uint64_t)CR0_TS;                 /* CLTS */
	} else if (r == 0 && cr == 0 && in.opcode == 0x0f01 && in.reg == 6) {
		uint16_t src = (uint16_t)v->hw.regs.gpr[in.rm_num];
		if (in.mem) {
			r = op_read(&x, in.seg, x86_insn_ea(&in, &v->hw.regs), &src, 2);
			if (r)
				return r;
		}
		/* LMSW loads PE, MP, EM and TS; it cannot clear PE (SDM vol. 2A LMSW). */
		*val = (cr0 & ~0xeull) | (src & 0xf);
	} else {
		vm_end(v->vm, VM_END_UNHANDLED, -1,
		       "cannot decode the write to CR%u at RIP 0x%llx (bytes %02x %02x %02x, "
		       "decoder error %d)", cr, (unsigned long long)v->hw.regs.rip,
		       n > 0 ? bytes[0] : 0, n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0, r);
		return EMU_EEND;
	}
	*next_rip = v->hw.regs.rip + in.len;
	return 0;
}

/* IN/OUT, and INS/OUTS with or without REP (the exit gives the details). */
int vcpu_emulate_io(struct vcpu *v, struct vm_exit *e)
{
	struct vm *vm = v->vm;
	unsigned size = e->io.size;
	uint64_t *rax = &v->hw.regs.gpr[REG_RAX];

	if (!e->io.string) {
		struct io_req req = { .vcpu = v, .addr = e->io.port, .size = (uint8_t)size,
				      .write = !e->io.in, .val = *rax };
		int r = iobus_pio(&vm->bus, &req);
		if (r < 0)
			return r;
		uint32_t val = (uint32_t)req.val;
		if (e->io.in) {
			if (size == 4)
				*rax = val;     /* 32-bit results zero-extend */
			else if (size == 2)
				*rax = (*rax & ~0xffffULL) | (val & 0xffff);
			else
				*rax = (*rax & ~0xffULL) | (val & 0xff);
		}
		v->hw.regs.rip = e->next_rip;
		return 0;
	}

	struct emu x;
	emu_init(&x, v);
	unsigned asz = e->io.addr_size;
	if (!asz)
		asz = x.long_mode ? 8 : emu_cpu_mode(&x) == X86_MODE_PROT32 ? 4 : 2;
	uint64_t amask = asz == 8 ? ~0ULL : asz == 4 ? 0xffffffffULL : 0xffffULL;
	uint64_t *cnt = &v->hw.regs.gpr[REG_RCX];
	uint64_t count = e->io.rep ? (*cnt & amask) : 1;
	int64_t step = (v->hw.regs.rflags & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
	int reg = e->io.in ? REG_RDI : REG_RSI;
	int seg = SEG_ES;
	if (!e->io.in) {
		/* OUTS reads DS:rSI or the override's segment.  The exit's SEG
		 * field is valid only with decode assists (APM vol. 2 §15.10.2),
		 * so decode the instruction to find it. */
		uint8_t bytes[15];
		struct x86_insn insn;
		size_t n = emu_fetch(&x, bytes);
		seg = SEG_DS;
		if (x86_decode(bytes, n, emu_cpu_mode(&x), &insn) == 0 && insn.seg_override >= 0)
			seg = insn.seg_override;
	}

	/* Bounded per exit: the rest runs when the guest re-executes. */
	for (unsigned i = 0; i < 4096 && count; i++) {
		uint64_t ea = v->hw.regs.gpr[reg] & amask;
		struct io_req req = { .vcpu = v, .addr = e->io.port, .size = (uint8_t)size,
				      .write = !e->io.in };
		int r;
		if (e->io.in) {
			/* Check the destination first: a read can consume device
			 * data (a UART byte) that a faulting write would lose. */
			uint64_t la = emu_linear(&x, seg, ea);
			gpa_t probe;
			r = emu_translate(&x, la, GPT_WRITE, &probe);
			if (r == 0)
				r = emu_translate(&x, la + size - 1, GPT_WRITE, &probe);
			if (r == 0)
				r = iobus_pio(&vm->bus, &req);
			if (r == 0)
				r = emu_virt(&x, la, &req.val, size, true);
		} else {
			r = emu_virt(&x, emu_linear(&x, seg, ea), &req.val, size, false);
			if (r == 0)
				r = iobus_pio(&vm->bus, &req);
		}
		if (r)
			return r;       /* fault injected or VM ended; RIP stays */
		v->hw.regs.gpr[reg] = (v->hw.regs.gpr[reg] & ~amask) | ((v->hw.regs.gpr[reg] + step) & amask);
		count--;
		if (e->io.rep)
			*cnt = (*cnt & ~amask) | (count & amask);
		if (vm->ended)
			return EMU_EEND;
	}
	if (count == 0)
		v->hw.regs.rip = e->next_rip;
	return 0;
}
