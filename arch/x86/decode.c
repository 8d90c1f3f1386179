/*
 * x86 instruction decoder: prefixes, REX, ModRM/SIB, displacement and
 * immediate for the instructions listed in decode.h (Intel SDM vol. 2A
 * chapter 2 and appendix A; AMD APM vol. 3 chapter 1).
 */
#include "arch/x86/decode.h"
#include "lib/string.h"

struct dec {
	const uint8_t *bytes;
	size_t avail;
	size_t pos;
	struct x86_insn *insn;
};

/* The next byte, checking the 15-byte limit before the buffer end. */
static int dec_byte(struct dec *d, uint8_t *out)
{
	if (d->pos >= X86_MAX_INSN_LEN)
		return -X86_EINVAL;
	if (d->pos >= d->avail)
		return -X86_ETRUNC;
	*out = d->bytes[d->pos++];
	return 0;
}

/* n little-endian bytes (n <= 8), zero-extended. */
static int dec_uint(struct dec *d, unsigned n, uint64_t *out)
{
	uint64_t v = 0;
	uint8_t b;
	int rc;

	for (unsigned i = 0; i < n; i++) {
		rc = dec_byte(d, &b);
		if (rc)
			return rc;
		v |= (uint64_t)b << (8 * i);
	}
	*out = v;
	return 0;
}

static int64_t sext(uint64_t v, unsigned bytes)
{
	unsigned shift = 64 - 8 * bytes;

	return (int64_t)(v << shift) >> shift;
}

/* Immediate of n bytes, sign-extended to 64 bits. */
static int dec_imm(struct dec *d, unsigned n)
{
	uint64_t v;
	int rc = dec_uint(d, n, &v);

	if (rc)
		return rc;
	d->insn->imm = (uint64_t)sext(v, n);
	d->insn->imm_size = n;
	return 0;
}

/* Iz: 16 bits with a 16-bit operand, else 32 bits (SDM vol. 2A §A.2.2). */
static int dec_imm_z(struct dec *d)
{
	return dec_imm(d, d->insn->opsize == 2 ? 2 : 4);
}

/* 16-bit ModRM addressing (SDM vol. 2A table 2-1). */
static int dec_modrm16(struct dec *d)
{
	static const int8_t base16[8] = {
		REG_RBX, REG_RBX, REG_RBP, REG_RBP,
		X86_REG_NONE, X86_REG_NONE, REG_RBP, REG_RBX,
	};
	static const int8_t index16[8] = {
		REG_RSI, REG_RDI, REG_RSI, REG_RDI,
		REG_RSI, REG_RDI, X86_REG_NONE, X86_REG_NONE,
	};
	struct x86_insn *in = d->insn;
	uint64_t v = 0;
	int rc = 0;

	in->base = base16[in->rm];
	in->index = index16[in->rm];
	if (in->mod == 0 && in->rm == 6) {
		in->base = X86_REG_NONE;
		rc = dec_uint(d, 2, &v);
		in->disp = sext(v, 2);
	} else if (in->mod == 1) {
		rc = dec_uint(d, 1, &v);
		in->disp = sext(v, 1);
	} else if (in->mod == 2) {
		rc = dec_uint(d, 2, &v);
		in->disp = sext(v, 2);
	}
	return rc;
}

/* 32/64-bit ModRM and SIB addressing (SDM vol. 2A tables 2-2, 2-3, §2.2.1). */
static int dec_modrm32(struct dec *d)
{
	struct x86_insn *in = d->insn;
	uint64_t v = 0;
	uint8_t sib;
	int rc;

	if (in->rm == 4) {
		rc = dec_byte(d, &sib);
		if (rc)
			return rc;
		in->scale = 1 << (sib >> 6);
		in->index = ((sib >> 3) & 7) | (in->rex_x << 3);
		if (in->index == REG_RSP)      /* index 100 without REX.X: none */
			in->index = X86_REG_NONE;
		in->base = (sib & 7) | (in->rex_b << 3);
		if ((sib & 7) == 5 && in->mod == 0) {
			in->base = X86_REG_NONE;
			rc = dec_uint(d, 4, &v);
			in->disp = sext(v, 4);
			return rc;
		}
	} else if (in->rm == 5 && in->mod == 0) {
		in->base = X86_REG_NONE;
		in->rip_rel = in->mode == X86_MODE_LONG64;
		rc = dec_uint(d, 4, &v);
		in->disp = sext(v, 4);
		return rc;
	} else {
		in->base = in->rm | (in->rex_b << 3);
	}
	rc = 0;
	if (in->mod == 1) {
		rc = dec_uint(d, 1, &v);
		in->disp = sext(v, 1);
	} else if (in->mod == 2) {
		rc = dec_uint(d, 4, &v);
		in->disp = sext(v, 4);
	}
	return rc;
}

/*
 * Fetch and decode a ModRM byte and its SIB and displacement.  reg_only
 * treats every mod as a register operand (MOV CRn/DRn, SDM vol. 2B MOV).
 */
static int dec_modrm(struct dec *d, bool reg_only)
{
	struct x86_insn *in = d->insn;
	int rc = dec_byte(d, &in->modrm);

	if (rc)
		return rc;
	in->has_modrm = true;
	in->mod = in->modrm >> 6;
	in->reg = (in->modrm >> 3) & 7;
	in->rm = in->modrm & 7;
	in->reg_num = in->reg | (in->rex_r << 3);
	if (in->mod == 3 || reg_only) {
		in->rm_num = in->rm | (in->rex_b << 3);
		return 0;
	}
	in->mem = true;
	rc = in->addrsize == 2 ? dec_modrm16(d) : dec_modrm32(d);
	if (rc)
		return rc;
	if (in->base == REG_RBP || in->base == REG_RSP)
		in->seg = SEG_SS;
	return 0;
}

static const enum x86_op alu_ops[8] = {
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
};

/* 00-3D: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP in their six forms. */
static int dec_alu(struct dec *d, uint8_t op)
{
	struct x86_insn *in = d->insn;

	in->op = alu_ops[op >> 3];
	if ((op & 1) == 0)
		in->opsize = 1;
	switch (op & 7) {
	case 0: case 1:
		in->form = X86_FORM_RM_REG;
		return dec_modrm(d, false);
	case 2: case 3:
		in->form = X86_FORM_REG_RM;
		return dec_modrm(d, false);
	case 4:
		in->form = X86_FORM_RM_IMM;
		in->rm_num = REG_RAX;
		return dec_imm(d, 1);
	default:
		in->form = X86_FORM_RM_IMM;
		in->rm_num = REG_RAX;
		return dec_imm_z(d);
	}
}

/* Port I/O: E4-E7, EC-EF, 6C-6F (SDM vol. 2A IN, INS; vol. 2B OUT, OUTS). */
static int dec_io(struct dec *d, uint8_t op)
{
	struct x86_insn *in = d->insn;
	bool wide16 = in->mode == X86_MODE_REAL16 || in->mode == X86_MODE_PROT16;
	bool has66 = in->prefixes & X86_PFX_OPSIZE;
	uint64_t port;
	int rc;

	/* REX.W is ignored: port I/O is at most 32 bits wide. */
	if (op & 1)
		in->opsize = wide16 != has66 ? 2 : 4;
	else
		in->opsize = 1;
	in->src_size = in->opsize;
	in->io.size = in->opsize;
	if (op >= 0x6c && op <= 0x6f) {
		in->op = (op & 2) ? X86_OP_OUTS : X86_OP_INS;
		in->io.in = !(op & 2);
		in->io.string = true;
		in->io.use_dx = true;
		in->io.rep = in->prefixes & (X86_PFX_REP | X86_PFX_REPNE);
		return 0;
	}
	in->op = (op & 2) ? X86_OP_OUT : X86_OP_IN;
	in->io.in = !(op & 2);
	if (op >= 0xec) {
		in->io.use_dx = true;
		return 0;
	}
	rc = dec_uint(d, 1, &port);
	if (rc)
		return rc;
	in->io.port = (uint8_t)port;
	in->imm = port;
	in->imm_size = 1;
	return 0;
}

/* Two-byte opcodes 0F xx. */
static int dec_0f(struct dec *d)
{
	struct x86_insn *in = d->insn;
	uint8_t op;
	int rc = dec_byte(d, &op);

	if (rc)
		return rc;
	in->opcode = 0x0f00 | op;
	switch (op) {
	case 0x01:
		rc = dec_modrm(d, false);
		if (rc)
			return rc;
		if (in->reg == 4 || in->reg == 6)   /* SMSW, LMSW */
			return 0;
		if (in->mod != 3)   /* SGDT, SIDT, LGDT, LIDT, INVLPG */
			return (in->reg <= 3 || in->reg == 7) ? 0 : -X86_EUNSUPPORTED;
		switch (in->modrm) {
		case 0xc1:               /* VMCALL */
		case 0xca: case 0xcb:    /* CLAC, STAC */
		case 0xd0: case 0xd1:    /* XGETBV, XSETBV */
		case 0xd8: case 0xd9: case 0xda: case 0xdb:  /* VMRUN VMMCALL VMLOAD VMSAVE */
		case 0xdc: case 0xdd: case 0xde: case 0xdf:  /* STGI CLGI SKINIT INVLPGA */
		case 0xf8: case 0xf9:    /* SWAPGS, RDTSCP */
			return 0;
		}
		return -X86_EUNSUPPORTED;
	case 0x06:                      /* CLTS */
	case 0x08: case 0x09:           /* INVD, WBINVD */
	case 0x30: case 0x31: case 0x32:  /* WRMSR, RDTSC, RDMSR */
	case 0xa2:                      /* CPUID */
		return 0;
	case 0x1f:                      /* NOP r/m (multi-byte NOP) */
		return dec_modrm(d, false);
	case 0x20: case 0x21: case 0x22: case 0x23:   /* MOV CRn/DRn */
		in->opsize = in->mode == X86_MODE_LONG64 ? 8 : 4;
		in->src_size = in->opsize;
		return dec_modrm(d, true);
	case 0xb6: case 0xb7:
	case 0xbe: case 0xbf:
		in->op = op < 0xb8 ? X86_OP_MOVZX : X86_OP_MOVSX;
		in->form = X86_FORM_REG_RM;
		in->src_size = (op & 1) ? 2 : 1;
		return dec_modrm(d, false);
	}
	return -X86_EUNSUPPORTED;
}

/* One-byte opcodes. */
static int dec_1byte(struct dec *d, uint8_t op)
{
	struct x86_insn *in = d->insn;
	bool long64 = in->mode == X86_MODE_LONG64;
	uint64_t v = 0;
	int rc;

	in->opcode = op;
	if (op < 0x40 && (op & 7) < 6)
		return dec_alu(d, op);
	if ((op >= 0x6c && op <= 0x6f) || (op >= 0xe4 && op <= 0xe7) ||
	    (op >= 0xec && op <= 0xef))
		return dec_io(d, op);
	if ((op & 0xf0) == 0x40 && !long64)   /* INC/DEC r16/r32 */
		return 0;
	if (op >= 0x90 && op <= 0x97)         /* NOP, PAUSE, XCHG rAX, r */
		return 0;

	switch (op) {
	case 0x63:
		if (!long64)
			return -X86_EUNSUPPORTED;   /* ARPL */
		in->op = X86_OP_MOVSX;         /* MOVSXD */
		in->form = X86_FORM_REG_RM;
		in->src_size = in->opsize == 8 ? 4 : in->opsize;
		return dec_modrm(d, false);
	case 0x82:
		if (long64)
			return -X86_EINVAL;
		/* Alias of 80 outside 64-bit mode. */
		/* fall through */
	case 0x80: case 0x81: case 0x83:
		in->opsize = (op == 0x81 || op == 0x83) ? in->opsize : 1;
		in->form = X86_FORM_RM_IMM;
		rc = dec_modrm(d, false);
		if (rc)
			return rc;
		in->op = alu_ops[in->reg];
		return op == 0x81 ? dec_imm_z(d) : dec_imm(d, 1);
	case 0x84: case 0x85: case 0x86: case 0x87:
		in->op = op < 0x86 ? X86_OP_TEST : X86_OP_XCHG;
		in->form = X86_FORM_RM_REG;
		in->opsize = (op & 1) ? in->opsize : 1;
		return dec_modrm(d, false);
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		in->op = X86_OP_MOV;
		in->form = op < 0x8a ? X86_FORM_RM_REG : X86_FORM_REG_RM;
		in->opsize = (op & 1) ? in->opsize : 1;
		return dec_modrm(d, false);
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		in->op = X86_OP_MOV;
		in->form = op < 0xa2 ? X86_FORM_REG_RM : X86_FORM_RM_REG;
		in->opsize = (op & 1) ? in->opsize : 1;
		in->reg_num = REG_RAX;
		in->mem = in->moffs = true;
		rc = dec_uint(d, in->addrsize, &v);
		in->disp = (int64_t)v;
		return rc;
	case 0xa4: case 0xa5: case 0xaa: case 0xab: case 0xac: case 0xad:
		in->op = op < 0xa6 ? X86_OP_MOVS : op < 0xac ? X86_OP_STOS : X86_OP_LODS;
		in->opsize = (op & 1) ? in->opsize : 1;
		return 0;
	case 0xa8: case 0xa9:
		in->op = X86_OP_TEST;
		in->form = X86_FORM_RM_IMM;
		in->rm_num = REG_RAX;
		in->opsize = (op & 1) ? in->opsize : 1;
		return (op & 1) ? dec_imm_z(d) : dec_imm(d, 1);
	case 0xc6: case 0xc7: case 0xf6: case 0xf7:
		in->opsize = (op & 1) ? in->opsize : 1;
		rc = dec_modrm(d, false);
		if (rc)
			return rc;
		if (in->reg != 0)
			return -X86_EUNSUPPORTED;
		in->op = op < 0xf0 ? X86_OP_MOV : X86_OP_TEST;
		in->form = X86_FORM_RM_IMM;
		return (op & 1) ? dec_imm_z(d) : dec_imm(d, 1);
	case 0xcd:                       /* INT imm8 */
		rc = dec_uint(d, 1, &in->imm);
		in->imm_size = 1;
		return rc;
	case 0xcc: case 0xcf:            /* INT3, IRET */
	case 0xce: case 0xf1:            /* INTO, INT1 */
	case 0xf4: case 0xfa: case 0xfb: /* HLT, CLI, STI */
		return 0;
	case 0x9a: case 0xea:            /* CALL/JMP ptr16:16/32, for a task switch's length */
		if (in->mode == X86_MODE_LONG64)
			return -X86_EINVAL;
		rc = dec_uint(d, in->opsize == 2 ? 2 : 4, &in->imm);
		if (rc)
			return rc;
		return dec_uint(d, 2, &v);
	case 0xff:                       /* CALL/JMP m16:16/32 (/3, /5), likewise */
		rc = dec_modrm(d, false);
		if (rc)
			return rc;
		if (in->reg != 3 && in->reg != 5)
			return -X86_EUNSUPPORTED;
		return in->mem ? 0 : -X86_EINVAL;
	case 0x0f:
		return dec_0f(d);
	}
	return -X86_EUNSUPPORTED;
}

/* LOCK is legal only on read-modify-write memory forms (SDM vol. 2A LOCK). */
static bool lock_ok(const struct x86_insn *in)
{
	if (in->opcode == 0x0f20 || in->opcode == 0x0f22)
		return true;   /* AMD: LOCK MOV CR0 means CR8 (APM vol. 3 MOV CRn) */
	if (!in->mem || in->moffs)
		return false;
	switch (in->op) {
	case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB:
	case X86_OP_AND: case X86_OP_SUB: case X86_OP_XOR:
		return in->form != X86_FORM_REG_RM;
	case X86_OP_XCHG:
		return true;
	default:
		return false;
	}
}

static int8_t seg_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: return SEG_ES;
	case 0x2e: return SEG_CS;
	case 0x36: return SEG_SS;
	case 0x3e: return SEG_DS;
	case 0x64: return SEG_FS;
	case 0x65: return SEG_GS;
	}
	return -1;
}

int x86_decode(const uint8_t *bytes, size_t avail, enum x86_mode mode,
	       struct x86_insn *out)
{
	struct dec d = { .bytes = bytes, .avail = avail, .pos = 0, .insn = out };
	struct x86_insn *in = out;
	bool wide16;
	uint8_t b;
	int rc;

	memset(in, 0, sizeof(*in));
	in->mode = mode;
	in->seg_override = -1;
	in->seg = SEG_DS;
	in->base = in->index = X86_REG_NONE;
	in->scale = 1;

	/* Legacy prefixes in any order, then at most one REX (SDM vol. 2A §2.1, §2.2.1). */
	for (;;) {
		rc = dec_byte(&d, &b);
		if (rc)
			return rc;
		if (seg_prefix(b) >= 0) {
			in->prefixes |= X86_PFX_SEG;
			in->seg_override = seg_prefix(b);
		} else if (b == 0x66) {
			in->prefixes |= X86_PFX_OPSIZE;
		} else if (b == 0x67) {
			in->prefixes |= X86_PFX_ADDRSIZE;
		} else if (b == 0xf0) {
			in->prefixes |= X86_PFX_LOCK;
		} else if (b == 0xf2 || b == 0xf3) {
			/* The last of F2/F3 is the one in effect. */
			in->prefixes &= ~(X86_PFX_REP | X86_PFX_REPNE);
			in->prefixes |= b == 0xf3 ? X86_PFX_REP : X86_PFX_REPNE;
		} else if (mode == X86_MODE_LONG64 && (b & 0xf0) == 0x40) {
			in->rex = b;
			continue;
		} else {
			break;
		}
		in->rex = 0;   /* a REX not directly before the opcode is ignored */
	}
	in->rex_w = in->rex & 8;
	in->rex_r = in->rex & 4;
	in->rex_x = in->rex & 2;
	in->rex_b = in->rex & 1;
	in->byte_rex = in->rex != 0;

	/* Operand and address sizes (SDM vol. 1 §3.6, §3.6.1 table 3-4). */
	wide16 = mode == X86_MODE_REAL16 || mode == X86_MODE_PROT16;
	if (in->rex_w)
		in->opsize = 8;
	else if (in->prefixes & X86_PFX_OPSIZE)
		in->opsize = wide16 ? 4 : 2;
	else
		in->opsize = wide16 ? 2 : 4;
	if (mode == X86_MODE_LONG64)
		in->addrsize = (in->prefixes & X86_PFX_ADDRSIZE) ? 4 : 8;
	else if (in->prefixes & X86_PFX_ADDRSIZE)
		in->addrsize = wide16 ? 4 : 2;
	else
		in->addrsize = wide16 ? 2 : 4;

	rc = dec_1byte(&d, b);
	if (rc)
		return rc;
	if (in->src_size == 0)
		in->src_size = in->opsize;

	/* 64-bit mode ignores ES/CS/SS/DS overrides (SDM vol. 1 §3.3.7.1). */
	if (in->seg_override >= 0 &&
	    (mode != X86_MODE_LONG64 || in->seg_override >= SEG_FS))
		in->seg = in->seg_override;
	if ((in->prefixes & X86_PFX_LOCK) && !lock_ok(in))
		return -X86_EINVAL;
	in->len = d.pos;
	return 0;
}

uint64_t x86_insn_ea(const struct x86_insn *insn, const struct x86_regs *regs)
{
	uint64_t ea = (uint64_t)insn->disp;
	uint64_t mask = insn->addrsize == 8 ? ~0ULL :
			(1ULL << (8 * insn->addrsize)) - 1;

	if (!insn->mem)
		return 0;
	if (insn->rip_rel)
		ea += regs->rip + insn->len;
	if (insn->base != X86_REG_NONE)
		ea += regs->gpr[insn->base & (NR_GPRS - 1)];
	if (insn->index != X86_REG_NONE)
		ea += regs->gpr[insn->index & (NR_GPRS - 1)] * insn->scale;
	return ea & mask;
}
