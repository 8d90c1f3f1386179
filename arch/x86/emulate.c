/*
 * Emulator for the memory-operand instructions decoded by decode.c.
 * Flag results follow Intel SDM vol. 1 §3.4.3 and the per-instruction
 * "Flags Affected" sections of vol. 2.
 *
 * Registers are written only after every memory access of the instruction
 * has succeeded, so a failing callback leaves regs as they were (REP string
 * instructions excepted, see emulate.h).  Assumes a little-endian host, as
 * the hypervisor and its unit tests both run on x86.
 */
#include "arch/x86/emulate.h"

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, unsigned size)
{
	unsigned shift = 64 - 8 * size;

	return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* AH, CH, DH, BH: byte registers 4-7 without REX (SDM vol. 2A §3.7.2.1). */
static bool is_high_byte(unsigned num, unsigned size, bool byte_rex)
{
	return size == 1 && !byte_rex && num >= 4 && num < 8;
}

static uint64_t reg_get(const struct x86_regs *regs, unsigned num,
			unsigned size, bool byte_rex)
{
	num &= NR_GPRS - 1;
	if (is_high_byte(num, size, byte_rex))
		return (regs->gpr[num - 4] >> 8) & 0xff;
	return regs->gpr[num] & size_mask(size);
}

/*
 * 8- and 16-bit writes merge into the register; 32-bit writes zero-extend
 * to 64 bits (SDM vol. 1 §3.4.1.1).  Outside 64-bit mode the upper half
 * is not visible to the guest, so zero-extending there is harmless.
 */
static void reg_set(struct x86_regs *regs, unsigned num, unsigned size,
		    bool byte_rex, uint64_t v)
{
	uint64_t *r;

	num &= NR_GPRS - 1;
	if (is_high_byte(num, size, byte_rex)) {
		r = &regs->gpr[num - 4];
		*r = (*r & ~0xff00ULL) | ((v & 0xff) << 8);
		return;
	}
	r = &regs->gpr[num];
	if (size == 4)
		*r = (uint32_t)v;
	else if (size == 8)
		*r = v;
	else
		*r = (*r & ~size_mask(size)) | (v & size_mask(size));
}

static int mem_read(const struct x86_emu_ops *ops, void *ctx, int seg,
		    uint64_t ea, unsigned size, uint64_t *val)
{
	uint64_t v = 0;
	int rc = ops->read(ctx, seg, ea, &v, size);

	if (rc)
		return rc;
	*val = v & size_mask(size);
	return 0;
}

/* The r/m operand: a register, or memory at ea in insn->seg. */
static int rm_read(const struct x86_insn *insn, const struct x86_regs *regs,
		   const struct x86_emu_ops *ops, void *ctx, uint64_t ea,
		   unsigned size, uint64_t *val)
{
	if (!insn->mem) {
		*val = reg_get(regs, insn->rm_num, size, insn->byte_rex);
		return 0;
	}
	return mem_read(ops, ctx, insn->seg, ea, size, val);
}

/* Must be the last step of an instruction: a register target changes regs. */
static int rm_write(const struct x86_insn *insn, struct x86_regs *regs,
		    const struct x86_emu_ops *ops, void *ctx, uint64_t ea,
		    unsigned size, uint64_t val)
{
	if (!insn->mem) {
		reg_set(regs, insn->rm_num, size, insn->byte_rex, val);
		return 0;
	}
	return ops->write(ctx, insn->seg, ea, &val, size);
}

/* ZF, SF, PF of a result (PF: even parity of the low byte). */
static uint64_t flags_zsp(uint64_t res, unsigned size)
{
	uint64_t f = 0;
	uint8_t p = res & 0xff;

	res &= size_mask(size);
	if (res == 0)
		f |= RFLAGS_ZF;
	if (res >> (8 * size - 1))
		f |= RFLAGS_SF;
	p ^= p >> 4;
	p ^= p >> 2;
	p ^= p >> 1;
	if (!(p & 1))
		f |= RFLAGS_PF;
	return f;
}

/*
 * a op b at the given size; stores the new RFLAGS in *rflags.  Carry and
 * overflow come from the sign bit of the carry/borrow chain, so ADC/SBB
 * need no wider type.
 */
static uint64_t alu_compute(enum x86_op op, uint64_t a, uint64_t b,
			    unsigned size, uint64_t *rflags)
{
	uint64_t m = size_mask(size), top = 1ULL << (8 * size - 1);
	uint64_t cin = (*rflags & RFLAGS_CF) ? 1 : 0;
	uint64_t res, carry = 0, ovf = 0, af = 0;

	a &= m;
	b &= m;
	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
		res = (a + b + (op == X86_OP_ADC ? cin : 0)) & m;
		carry = ((a & b) | ((a | b) & ~res)) & top;
		ovf = (a ^ res) & (b ^ res) & top;
		af = (a ^ b ^ res) & 0x10;
		break;
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_CMP:
		res = (a - b - (op == X86_OP_SBB ? cin : 0)) & m;
		carry = ((~a & b) | ((~a | b) & res)) & top;
		ovf = (a ^ b) & (a ^ res) & top;
		af = (a ^ b ^ res) & 0x10;
		break;
	case X86_OP_OR:
		res = a | b;
		break;
	case X86_OP_XOR:
		res = a ^ b;
		break;
	default:   /* AND, TEST */
		res = a & b;
		break;
	}
	*rflags &= ~RFLAGS_ARITH;
	*rflags |= flags_zsp(res, size);
	if (carry)
		*rflags |= RFLAGS_CF;
	if (ovf)
		*rflags |= RFLAGS_OF;
	if (af)
		*rflags |= RFLAGS_AF;
	return res;
}

static int emu_alu(const struct x86_insn *insn, struct x86_regs *regs,
		   const struct x86_emu_ops *ops, void *ctx, uint64_t ea)
{
	unsigned size = insn->opsize;
	uint64_t dst, src, res, rflags = regs->rflags;
	int rc;

	switch (insn->form) {
	case X86_FORM_RM_REG:
		src = reg_get(regs, insn->reg_num, size, insn->byte_rex);
		rc = rm_read(insn, regs, ops, ctx, ea, size, &dst);
		break;
	case X86_FORM_REG_RM:
		dst = reg_get(regs, insn->reg_num, size, insn->byte_rex);
		rc = rm_read(insn, regs, ops, ctx, ea, size, &src);
		break;
	case X86_FORM_RM_IMM:
		src = insn->imm;
		rc = rm_read(insn, regs, ops, ctx, ea, size, &dst);
		break;
	default:
		return -X86_EUNSUPPORTED;
	}
	if (rc)
		return rc;
	res = alu_compute(insn->op, dst, src, size, &rflags);
	if (insn->op != X86_OP_CMP && insn->op != X86_OP_TEST) {
		if (insn->form == X86_FORM_REG_RM)
			reg_set(regs, insn->reg_num, size, insn->byte_rex, res);
		else if ((rc = rm_write(insn, regs, ops, ctx, ea, size, res)))
			return rc;
	}
	regs->rflags = rflags;
	return 0;
}

/* MOV, MOVZX, MOVSX, MOVSXD. */
static int emu_mov(const struct x86_insn *insn, struct x86_regs *regs,
		   const struct x86_emu_ops *ops, void *ctx, uint64_t ea)
{
	unsigned size = insn->opsize;
	uint64_t val;
	int rc;

	switch (insn->form) {
	case X86_FORM_REG_RM:
		rc = rm_read(insn, regs, ops, ctx, ea, insn->src_size, &val);
		if (rc)
			return rc;
		if (insn->op == X86_OP_MOVSX)
			val = sign_extend(val, insn->src_size);
		reg_set(regs, insn->reg_num, size, insn->byte_rex, val & size_mask(size));
		return 0;
	case X86_FORM_RM_REG:
		val = reg_get(regs, insn->reg_num, size, insn->byte_rex);
		return rm_write(insn, regs, ops, ctx, ea, size, val);
	case X86_FORM_RM_IMM:
		return rm_write(insn, regs, ops, ctx, ea, size, insn->imm & size_mask(size));
	default:
		return -X86_EUNSUPPORTED;
	}
}

static int emu_xchg(const struct x86_insn *insn, struct x86_regs *regs,
		    const struct x86_emu_ops *ops, void *ctx, uint64_t ea)
{
	unsigned size = insn->opsize;
	uint64_t r = reg_get(regs, insn->reg_num, size, insn->byte_rex);
	uint64_t m;
	int rc;

	rc = rm_read(insn, regs, ops, ctx, ea, size, &m);
	if (!rc)
		rc = rm_write(insn, regs, ops, ctx, ea, size, r);
	if (rc)
		return rc;
	reg_set(regs, insn->reg_num, size, insn->byte_rex, m);
	return 0;
}

static void rip_advance(const struct x86_insn *insn, struct x86_regs *regs)
{
	regs->rip += insn->len;
	if (insn->mode != X86_MODE_LONG64)
		regs->rip &= 0xffffffffULL;
}

/*
 * MOVS, STOS, LODS (SDM vol. 2B).  Source DS:rSI (segment overridable),
 * destination ES:rDI; rSI, rDI and rCX are used at the address size and
 * step by the operand size, backwards when RFLAGS.DF is set.
 */
static int emu_string(const struct x86_insn *insn, struct x86_regs *regs,
		      const struct x86_emu_ops *ops, void *ctx)
{
	unsigned size = insn->opsize, as = insn->addrsize;
	uint64_t amask = size_mask(as);
	bool rep = insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE);
	uint64_t si = regs->gpr[REG_RSI] & amask;
	uint64_t di = regs->gpr[REG_RDI] & amask;
	uint64_t cx = rep ? regs->gpr[REG_RCX] & amask : 1;
	uint64_t step = (regs->rflags & RFLAGS_DF) ? -(uint64_t)size : size;
	uint64_t acc = reg_get(regs, REG_RAX, size, false);
	uint64_t val = 0;
	unsigned done = 0;
	int rc = 0;

	while (cx != 0 && done < X86_EMU_REP_MAX) {
		if (insn->op == X86_OP_STOS) {
			rc = ops->write(ctx, SEG_ES, di, &acc, size);
		} else {
			rc = mem_read(ops, ctx, insn->seg, si, size, &val);
			if (!rc && insn->op == X86_OP_MOVS)
				rc = ops->write(ctx, SEG_ES, di, &val, size);
		}
		if (rc)
			break;
		if (insn->op == X86_OP_LODS)
			acc = val;
		if (insn->op != X86_OP_STOS)
			si = (si + step) & amask;
		if (insn->op != X86_OP_LODS)
			di = (di + step) & amask;
		cx--;
		done++;
	}
	if (done) {
		if (insn->op != X86_OP_STOS)
			reg_set(regs, REG_RSI, as, false, si);
		if (insn->op != X86_OP_LODS)
			reg_set(regs, REG_RDI, as, false, di);
		if (insn->op == X86_OP_LODS)
			reg_set(regs, REG_RAX, size, false, acc);
		if (rep)
			reg_set(regs, REG_RCX, as, false, cx);
	}
	if (rc)
		return rc;
	if (cx == 0)
		rip_advance(insn, regs);
	return 0;
}

int x86_emulate(const struct x86_insn *insn, struct x86_regs *regs,
		const struct x86_emu_ops *ops, void *ctx)
{
	uint64_t ea = x86_insn_ea(insn, regs);
	int rc;

	switch (insn->op) {
	case X86_OP_MOV:
	case X86_OP_MOVZX:
	case X86_OP_MOVSX:
		rc = emu_mov(insn, regs, ops, ctx, ea);
		break;
	case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB:
	case X86_OP_AND: case X86_OP_SUB: case X86_OP_XOR: case X86_OP_CMP:
	case X86_OP_TEST:
		rc = emu_alu(insn, regs, ops, ctx, ea);
		break;
	case X86_OP_XCHG:
		rc = emu_xchg(insn, regs, ops, ctx, ea);
		break;
	case X86_OP_MOVS:
	case X86_OP_STOS:
	case X86_OP_LODS:
		return emu_string(insn, regs, ops, ctx);
	default:
		return -X86_EUNSUPPORTED;
	}
	if (rc)
		return rc;
	rip_advance(insn, regs);
	return 0;
}
