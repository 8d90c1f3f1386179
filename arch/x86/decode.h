/*
 * x86 instruction decoder for the instructions the hypervisor must emulate
 * itself: QEMU's SVM has no NRIPS and no decode assists (AMD APM vol. 2
 * §15.7.1, §15.33), so MMIO nested page faults and IOIO exits need the
 * guest instruction's length and operands from its bytes.
 *
 * Pure: reads only the byte buffer it is given, no global state.  The bytes
 * are guest-controlled; every read is bounded by the buffer and by the
 * architectural 15-byte limit (Intel SDM vol. 2A §2.3.11).
 */
#ifndef KASANE_ARCH_X86_DECODE_H
#define KASANE_ARCH_X86_DECODE_H

#include "lib/types.h"
#include "arch/x86/regs.h"

/* Longest legal instruction (SDM vol. 2A §2.3.11). */
#define X86_MAX_INSN_LEN 15

/*
 * Error codes, returned negated.  Distinct values so that a caller's own
 * callback errors, which x86_emulate passes through, can be told apart.
 */
#define X86_EUNSUPPORTED 201   /* opcode not handled here */
#define X86_ETRUNC       202   /* more bytes needed than were available */
#define X86_EINVAL       203   /* > 15 bytes or an encoding that would #UD */

/* Code-segment mode: selects default operand and address sizes. */
enum x86_mode {
	X86_MODE_REAL16,   /* real mode or virtual-8086 */
	X86_MODE_PROT16,   /* protected / compatibility mode, CS.D = 0 */
	X86_MODE_PROT32,   /* protected / compatibility mode, CS.D = 1 */
	X86_MODE_LONG64,   /* 64-bit mode, CS.L = 1 */
};

enum x86_op {
	X86_OP_OTHER,      /* decoded for its length only */
	X86_OP_MOV,        /* 88-8B, A0-A3, C6/C7 /0 */
	X86_OP_MOVZX,      /* 0F B6/B7 */
	X86_OP_MOVSX,      /* 0F BE/BF, and MOVSXD 63 in 64-bit mode */
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,   /* opcode/8 order */
	X86_OP_TEST,       /* 84/85, A8/A9, F6/F7 /0 */
	X86_OP_XCHG,       /* 86/87 */
	X86_OP_MOVS,       /* A4/A5 */
	X86_OP_STOS,       /* AA/AB */
	X86_OP_LODS,       /* AC/AD */
	X86_OP_IN,         /* E4/E5/EC/ED */
	X86_OP_OUT,        /* E6/E7/EE/EF */
	X86_OP_INS,        /* 6C/6D */
	X86_OP_OUTS,       /* 6E/6F */
};

/* Which operand is written, for the two-operand ops. */
enum x86_form {
	X86_FORM_NONE,
	X86_FORM_RM_REG,   /* dst = r/m, src = ModRM.reg (or rAX for A2/A3) */
	X86_FORM_REG_RM,   /* dst = ModRM.reg (or rAX for A0/A1), src = r/m */
	X86_FORM_RM_IMM,   /* dst = r/m (rAX for the accumulator forms), src = imm */
};

/* Legacy prefixes seen (SDM vol. 2A §2.1.1). */
#define X86_PFX_OPSIZE   (1u << 0)   /* 66 */
#define X86_PFX_ADDRSIZE (1u << 1)   /* 67 */
#define X86_PFX_REP      (1u << 2)   /* F3 REP/REPE */
#define X86_PFX_REPNE    (1u << 3)   /* F2 */
#define X86_PFX_LOCK     (1u << 4)   /* F0 */
#define X86_PFX_SEG      (1u << 5)   /* a segment override; see seg_override */

#define X86_REG_NONE (-1)

struct x86_insn {
	enum x86_mode mode;
	enum x86_op op;
	enum x86_form form;
	uint8_t len;            /* total length in bytes, prefixes included */

	uint8_t prefixes;       /* X86_PFX_* */
	int8_t seg_override;    /* SEG_* of the last override prefix, or -1 */
	uint8_t seg;            /* effective segment of the memory operand (SEG_*) */
	uint8_t rex;            /* the REX byte in effect, 0 if none */
	bool rex_w, rex_r, rex_x, rex_b;

	uint16_t opcode;        /* 0x00xx, or 0x0Fxx for the two-byte map */
	uint8_t opsize;         /* 1, 2, 4 or 8 */
	uint8_t src_size;       /* source width of MOVZX/MOVSX/MOVSXD, else opsize */
	uint8_t addrsize;       /* 2, 4 or 8 */

	/* ModRM (SDM vol. 2A §2.1.5). */
	bool has_modrm;
	uint8_t modrm, mod, reg, rm;    /* raw fields */
	uint8_t reg_num;        /* ModRM.reg with REX.R: the register operand */
	uint8_t rm_num;         /* r/m register with REX.B when !mem */
	/*
	 * Byte registers 4-7 name AH, CH, DH, BH without a REX prefix and
	 * SPL, BPL, SIL, DIL with any REX (SDM vol. 2A §3.7.2.1).
	 */
	bool byte_rex;

	/* Memory operand: ea = base + index * scale + disp (or rip-relative). */
	bool mem;
	bool rip_rel;           /* disp is relative to rip + len */
	bool moffs;             /* A0-A3: disp holds the absolute offset */
	int8_t base;            /* register number or X86_REG_NONE */
	int8_t index;           /* register number or X86_REG_NONE */
	uint8_t scale;          /* 1, 2, 4 or 8 */
	int64_t disp;           /* sign-extended; moffs zero-extended */

	/* Immediate: sign-extended to 64 bits, except port numbers and INT n. */
	uint64_t imm;
	uint8_t imm_size;       /* bytes in the encoding, 0 if none */

	/* Port I/O (IN, OUT, INS, OUTS). */
	struct {
		bool in;        /* IN/INS (device to guest) */
		bool use_dx;    /* port in DX, else in imm8 (port) */
		bool string;    /* INS/OUTS */
		bool rep;       /* F3 or F2 on INS/OUTS: count in rCX */
		uint8_t size;   /* 1, 2 or 4 */
		uint8_t port;   /* imm8 port when !use_dx */
	} io;
};

/*
 * Decode the instruction at bytes[0..avail) in the given mode.  Returns 0,
 * -X86_ETRUNC if the instruction continues past avail, -X86_EINVAL for an
 * encoding longer than 15 bytes or one that would raise #UD (e.g. LOCK on
 * a non-lockable form), -X86_EUNSUPPORTED for anything else not handled.
 */
int x86_decode(const uint8_t *bytes, size_t avail, enum x86_mode mode,
	       struct x86_insn *out);

/*
 * Effective address of the ModRM or moffs memory operand, truncated to the
 * address size; RIP-relative operands use regs->rip + insn->len.  The
 * segment base is not added.  Returns 0 when the operand is not memory.
 */
uint64_t x86_insn_ea(const struct x86_insn *insn, const struct x86_regs *regs);

#endif
