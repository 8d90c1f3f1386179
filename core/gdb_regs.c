/* The debugger's register reads and checked writes; see gdb_regs.h. */
#include "core/gdb_regs.h"
#include "core/ctlreg.h"
#include "arch/x86/x86_defs.h"
#include "lib/string.h"

/* RFLAGS bits gdb may write: the status and control flags, not VM (bit
 * 17, which would make the guest state invalid in long mode, and is only
 * entered through IRET or a task switch), nor the reserved ones; bit 1 is
 * always 1 (SDM vol. 1 §3.4.3). */
#define RFLAGS_WRITABLE 0x3d7fd5ULL
#define RFLAGS_VM       (1ULL << 17)

/* The FXSAVE64 layout (SDM vol. 1 §10.5.1, Table 10-2) and XSAVE's header
 * (vol. 1 §13.4.2). */
#define FX_FCW          0
#define FX_FSW          2
#define FX_FTW          4               /* abridged: 1 bit a register, 1 = valid */
#define FX_FOP          6
#define FX_FIP          8
#define FX_FDP          16
#define FX_MXCSR        24
#define FX_ST0          32
#define FX_XMM0         160
#define XS_BV           512             /* XSTATE_BV */
#define XS_X87          1u
#define XS_SSE          2u
#define XS_AVX          4u

static const uint8_t gpr_of[16] = {
	REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_RSP,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static const uint8_t seg_of[6] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };

/* fctrl fstat ftag fiseg fioff foseg fooff fop: offset and size in the
 * area; fiseg and foseg are bits 47:32 of the 64-bit FIP and FDP, as gdb's
 * amd64 FXSAVE layout has them. */
static const uint8_t fenv_off[8] = { FX_FCW, FX_FSW, FX_FTW, FX_FIP + 4, FX_FIP, FX_FDP + 4,
				     FX_FDP, FX_FOP };
static const uint8_t fenv_size[8] = { 2, 2, 1, 2, 4, 2, 4, 2 };

unsigned gdb_reg_size(unsigned r)
{
	if (r < GDB_R_EFLAGS || (r >= GDB_R_FS_BASE && r <= GDB_R_EFER))
		return 8;
	if (r >= GDB_R_ST0 && r < GDB_R_FCTRL)
		return 10;
	if ((r >= GDB_R_XMM0 && r < GDB_R_MXCSR) || r >= GDB_R_YMM0H)
		return 16;
	return 4;
}

bool gdb_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* ---- the save area ---------------------------------------------------- */

/* Which XSAVE component register r is in (0: not in the area). */
static unsigned component(unsigned r)
{
	if (r >= GDB_R_ST0 && r <= GDB_R_FOP)
		return XS_X87;
	if (r >= GDB_R_XMM0 && r < GDB_R_MXCSR)
		return XS_SSE;
	if (r >= GDB_R_YMM0H)
		return XS_AVX;
	return 0;
}

static uint64_t xstate_bv(const struct gdb_regfile *f, const struct gdb_reg_limits *l)
{
	uint64_t bv;

	if (!l->fpu.xsave)
		return XS_X87 | XS_SSE;         /* FXSAVE: always the registers' values */
	memcpy(&bv, f->fx + XS_BV, 8);
	return bv;
}

/* Where register r lives in the area, or -1 (no AVX state on this CPU). */
static long area_off(const struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r)
{
	if (r >= GDB_R_ST0 && r < GDB_R_FCTRL)
		return FX_ST0 + 16 * (r - GDB_R_ST0);
	if (r >= GDB_R_FCTRL && r <= GDB_R_FOP)
		return fenv_off[r - GDB_R_FCTRL];
	if (r >= GDB_R_XMM0 && r < GDB_R_MXCSR)
		return FX_XMM0 + 16 * (r - GDB_R_XMM0);
	if (r == GDB_R_MXCSR)
		return FX_MXCSR;
	uint64_t off = l->fpu.avx_off + 16ull * (r - GDB_R_YMM0H);
	if (!l->fpu.avx_off || off + 16 > f->fx_len)
		return -1;
	return (long)off;
}

/*
 * A component whose XSTATE_BV bit is clear is in its initial state, and
 * XRSTOR loads that, not the area's bytes (SDM vol. 1 §13.8.1); its
 * initial values (vol. 1 §13.6): x87 FCW 037FH, FSW 0, all registers
 * empty, FOP/FIP/FDP 0, ST0-7 0; SSE and AVX registers 0.  MXCSR is not
 * part of that: XRSTOR always loads it from the area.
 */
static void init_component(struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned c)
{
	if (c == XS_X87) {
		memset(f->fx, 0, FX_MXCSR);
		memset(f->fx + FX_ST0, 0, 8 * 16);
		f->fx[FX_FCW] = 0x7f;
		f->fx[FX_FCW + 1] = 0x03;
	} else if (c == XS_SSE) {
		memset(f->fx + FX_XMM0, 0, 16 * 16);
	} else if (c == XS_AVX && l->fpu.avx_off) {
		memset(f->fx + l->fpu.avx_off, 0, 16 * 16);
	}
}

/* ---- reading ----------------------------------------------------------- */

static void area_get(const struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r,
		     uint8_t *buf)
{
	unsigned c = component(r), n = gdb_reg_size(r);
	long off = area_off(f, l, r);
	uint64_t val = 0;

	memset(buf, 0, n);
	if (off < 0)
		return;
	if (c && !(xstate_bv(f, l) & c)) {
		if (r == GDB_R_FCTRL)
			buf[0] = 0x7f, buf[1] = 0x03;
		else if (r == GDB_R_FTAG)
			buf[0] = buf[1] = 0xff;
		return;
	}
	if (r < GDB_R_FCTRL || r > GDB_R_FOP) {
		memcpy(buf, f->fx + off, n);
		return;
	}
	unsigned k = r - GDB_R_FCTRL;
	memcpy(&val, f->fx + off, fenv_size[k]);
	if (r == GDB_R_FTAG) {
		/* gdb shows the full tag word (2 bits a register, 11 = empty);
		 * FXSAVE keeps the abridged one.  Valid registers show as 00
		 * (SDM vol. 1 §10.5.1.1). */
		uint64_t full = 0;
		for (unsigned i = 0; i < 8; i++)
			full |= (uint64_t)((val >> i) & 1 ? 0 : 3) << (2 * i);
		val = full;
	}
	if (r == GDB_R_FOP)
		val &= 0x7ff;
	memcpy(buf, &val, 4);
}

void gdb_reg_get(const struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r,
		 uint8_t *buf)
{
	const struct x86_sregs *sr = &f->sregs;
	uint64_t val = 0;

	if (component(r) || r == GDB_R_MXCSR) {
		area_get(f, l, r, buf);
		return;
	}
	if (r < 16)
		val = f->regs.gpr[gpr_of[r]];
	else if (r == GDB_R_RIP)
		val = f->regs.rip;
	else if (r == GDB_R_EFLAGS)
		val = f->regs.rflags;
	else if (r >= GDB_R_CS && r <= GDB_R_GS)
		val = sr->seg[seg_of[r - GDB_R_CS]].selector;
	else if (r == GDB_R_FS_BASE || r == GDB_R_GS_BASE)
		val = sr->seg[r == GDB_R_FS_BASE ? SEG_FS : SEG_GS].base;
	else if (r == GDB_R_CR0)
		val = sr->cr0;
	else if (r == GDB_R_CR2)
		val = sr->cr2;
	else if (r == GDB_R_CR3)
		val = sr->cr3;
	else if (r == GDB_R_CR4)
		val = sr->cr4;
	else if (r == GDB_R_CR8)
		val = f->cr8;
	else if (r == GDB_R_EFER)
		val = sr->efer;
	memcpy(buf, &val, gdb_reg_size(r));
}

/* ---- writing ----------------------------------------------------------- */

static bool area_set(struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r,
		     const uint8_t *buf)
{
	unsigned c = component(r);
	long off = area_off(f, l, r);
	uint32_t v32;

	memcpy(&v32, buf, 4);
	if (off < 0)
		return false;
	if (r == GDB_R_MXCSR) {
		/* A 1 outside MXCSR_MASK: #GP on LDMXCSR, FXRSTOR and XRSTOR
		 * (SDM vol. 1 §11.6.6). */
		if (v32 & ~l->fpu.mxcsr_mask)
			return false;
		memcpy(f->fx + off, &v32, 4);
		return true;
	}
	/* The x87 environment fields are 16 bits (FOP 11) wide: refuse more. */
	if (r >= GDB_R_FCTRL && r <= GDB_R_FOP && r != GDB_R_FIOFF && r != GDB_R_FOOFF &&
	    v32 > (r == GDB_R_FOP ? 0x7ffu : 0xffffu))
		return false;
	if (l->fpu.xsave && !(xstate_bv(f, l) & c)) {
		uint64_t bv = xstate_bv(f, l) | c;
		init_component(f, l, c);
		memcpy(f->fx + XS_BV, &bv, 8);
	}
	if (r == GDB_R_FTAG) {
		uint8_t abridged = 0;
		for (unsigned i = 0; i < 8; i++)
			if (((v32 >> (2 * i)) & 3) != 3)
				abridged |= (uint8_t)(1u << i);
		f->fx[off] = abridged;
	} else if (r >= GDB_R_FCTRL && r <= GDB_R_FOP) {
		memcpy(f->fx + off, &v32, fenv_size[r - GDB_R_FCTRL]);
	} else {
		memcpy(f->fx + off, buf, gdb_reg_size(r));
	}
	return true;
}

static unsigned cpl(const struct x86_sregs *s)
{
	return s->cr0 & CR0_PE ? x86_cpl(s) : 0;
}

/*
 * MOV Sreg (or, for CS, a far transfer at the same CPL) of sel into
 * segment k (SDM vol. 2B MOV "Operation"; vol. 3A §5.5-5.8 privilege
 * checks; APM vol. 2 §4.5).  False where the CPU raises #GP/#SS/#NP.
 */
static bool seg_load(struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned k,
		     uint16_t sel)
{
	struct x86_sregs *s = &f->sregs;
	struct x86_seg *g = &s->seg[k];
	unsigned c = cpl(s), rpl = sel & 3;
	bool long64 = (s->efer & EFER_LMA) && (s->seg[SEG_CS].attr & SEG_ATTR_L);
	uint64_t d;

	if (!(s->cr0 & CR0_PE) || (f->regs.rflags & RFLAGS_VM)) {
		/* Real and virtual-8086 mode: the base is the selector * 16
		 * (SDM vol. 3A §20.1.1); the rest of the cache stays. */
		g->selector = sel;
		g->base = (uint64_t)sel << 4;
		return true;
	}
	if ((sel & ~3u) == 0) {
		/* A null selector: CS never; SS only in 64-bit mode below CPL
		 * 3 with RPL = CPL; the data segments always, unusable after. */
		if (k == SEG_CS || (k == SEG_SS && (!long64 || c == 3 || rpl != c)))
			return false;
		g->selector = sel;
		g->attr = SEG_ATTR_UNUSABLE | (k == SEG_SS ? c << SEG_ATTR_DPL_SHIFT : 0);
		if (k != SEG_FS && k != SEG_GS)
			g->base = 0;
		g->limit = 0;
		return true;
	}
	const struct x86_dtable *t = &s->gdt;
	struct x86_dtable ldt;
	if (sel & 4) {
		if (s->ldtr.attr & SEG_ATTR_UNUSABLE || !(s->ldtr.attr & SEG_ATTR_P))
			return false;
		ldt = (struct x86_dtable){ s->ldtr.base, (uint16_t)MIN(s->ldtr.limit, 0xffffu) };
		t = &ldt;
	}
	if ((uint32_t)(sel & ~7u) + 7 > t->limit || !l->read_desc ||
	    !l->read_desc(l->ctx, t->base + (sel & ~7u), &d))
		return false;
	uint32_t attr = (uint32_t)((d >> 40) & 0xff) | (uint32_t)((d >> 52) & 0xf) << 12;
	unsigned dpl = (attr & SEG_ATTR_DPL_MASK) >> SEG_ATTR_DPL_SHIFT;
	bool code = attr & 8, readable = attr & 2, conforming = code && (attr & 4);
	if (!(attr & SEG_ATTR_S) || !(attr & SEG_ATTR_P))
		return false;
	if (k == SEG_CS) {
		if (!code || rpl != c || (conforming ? dpl > c : dpl != c))
			return false;
		if (!(s->efer & EFER_LMA))
			attr &= ~(uint32_t)SEG_ATTR_L;  /* L exists in IA-32e mode only */
		else if ((attr & SEG_ATTR_L) && (attr & SEG_ATTR_DB))
			return false;
	} else if (k == SEG_SS) {
		if (code || !(attr & 2) || rpl != c || dpl != c)
			return false;
	} else {
		if (code && !readable)
			return false;
		if (!conforming && (dpl < c || dpl < rpl))
			return false;
	}
	uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)((d >> 32) & 0xf0000);
	if (attr & SEG_ATTR_G)
		limit = limit << 12 | 0xfff;
	g->selector = sel;
	g->attr = attr | 1;                     /* accessed */
	g->limit = limit;
	g->base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 56) << 24));
	return true;
}

/* CR0, CR3, CR4 through core/ctlreg.c against the staged state. */
static bool cr_set(struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r, uint64_t val)
{
	struct x86_sregs *s = &f->sregs;
	struct ctlreg_state cs = {
		.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
		.cs_l = (s->efer & EFER_LMA) && (s->seg[SEG_CS].attr & SEG_ATTR_L),
		.cs_l_bit = (s->seg[SEG_CS].attr & SEG_ATTR_L) != 0,
	};
	uint64_t efer;
	bool noflush;

	if (r == GDB_R_CR0) {
		if (!ctlreg_cr0_check(&cs, &val, &efer))
			return false;
		s->cr0 = val;
		s->efer = efer;
	} else if (r == GDB_R_CR3) {
		if (!ctlreg_cr3_check(&cs, &val, l->maxphyaddr, &noflush))
			return false;
		s->cr3 = val;
		f->cr3_written = true;
	} else {
		if (!ctlreg_cr4_check(&cs, val, l->cr4_allowed))
			return false;
		s->cr4 = val;
	}
	return true;
}

static bool reg_set(struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r,
		    const uint8_t *buf)
{
	struct x86_sregs *s = &f->sregs;
	uint64_t val = 0;
	uint16_t sel;

	if (component(r) || r == GDB_R_MXCSR)
		return area_set(f, l, r, buf);
	memcpy(&val, buf, MIN(gdb_reg_size(r), 8u));
	if (r < 16) {
		f->regs.gpr[gpr_of[r]] = val;
	} else if (r == GDB_R_RIP) {
		if (!gdb_canonical(val))
			return false;
		f->regs.rip = val;
	} else if (r == GDB_R_EFLAGS) {
		if (val & ~(RFLAGS_WRITABLE | 2))
			return false;
		f->regs.rflags = val | 2;
	} else if (r >= GDB_R_CS && r <= GDB_R_GS) {
		if (val > 0xffff)
			return false;
		sel = (uint16_t)val;
		return seg_load(f, l, seg_of[r - GDB_R_CS], sel);
	} else if (r == GDB_R_FS_BASE || r == GDB_R_GS_BASE) {
		/* WRMSR and WRFSBASE refuse a non-canonical base (#GP). */
		if (!gdb_canonical(val))
			return false;
		s->seg[r == GDB_R_FS_BASE ? SEG_FS : SEG_GS].base = val;
	} else if (r == GDB_R_CR0 || r == GDB_R_CR3 || r == GDB_R_CR4) {
		return cr_set(f, l, r, val);
	} else if (r == GDB_R_CR2) {
		if (!(s->efer & EFER_LMA) && (val >> 32))
			return false;
		s->cr2 = val;
	} else if (r == GDB_R_CR8) {
		/* CR8 bits 63:4 are reserved (SDM vol. 3A §10.8.6.1). */
		if (val > 15)
			return false;
		f->cr8 = val;
	} else if (r == GDB_R_EFER) {
		/* WRMSR to EFER (SDM vol. 3A §9.8.5; APM vol. 2 §3.1.7). */
		if ((val & ~l->efer_mask) ||
		    ((s->cr0 & CR0_PG) && ((val ^ s->efer) & EFER_LME)))
			return false;
		s->efer = (val & ~(uint64_t)EFER_LMA) | (s->efer & EFER_LMA);
	} else {
		return false;
	}
	return true;
}

bool gdb_reg_set(struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r,
		 const uint8_t *buf)
{
	uint8_t now[16];

	if (r >= GDB_NR_REGS)
		return false;
	gdb_reg_get(f, l, r, now);
	if (!memcmp(now, buf, gdb_reg_size(r)) && r != GDB_R_CR3)
		return true;            /* unchanged: nothing to check */
	/* Staged on a copy (static: it is large, and only the housekeeping
	 * CPU writes registers): a refused write leaves f as it was. */
	static struct gdb_regfile t;
	t = *f;
	if (!reg_set(&t, l, r, buf))
		return false;
	if (memcmp(&t.sregs, &f->sregs, sizeof(t.sregs)) && !ctlreg_sregs_ok(&t.sregs, l->cr4_allowed))
		return false;
	*f = t;
	return true;
}
