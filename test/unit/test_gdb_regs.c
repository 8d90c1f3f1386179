/*
 * Host tests for the debugger's register writes (core/gdb_regs.c): the
 * XSAVE/FXSAVE layout of the x87, SSE, AVX and MXCSR registers, the checks
 * a write passes (the guest's own rules), segment loads from a GDT, and
 * ctlreg_sregs_ok, which also refuses a snapshot's bad vCPU record.
 */
#include "test/unit/check.h"
#include "core/gdb_regs.h"
#include "core/ctlreg.h"
#include "arch/x86/x86_defs.h"

#define CR0_AM          (1ull << 18)
#define ALL_CR4         0x3fffffull             /* the model's CR4 bits, for these tests */

/* The test GDT: what crt64.S has, and descriptors each check refuses. */
static const uint64_t gdt[] = {
	0,
	0x00af9a000000ffffull,  /* 0x08: 64-bit code, DPL 0 */
	0x00cf92000000ffffull,  /* 0x10: data, DPL 0, 4 GiB */
	0x00af98000000ffffull,  /* 0x18: 64-bit code, execute-only */
	0x00cff2000000ffffull,  /* 0x20: data, DPL 3 */
	0x00cf12000000ffffull,  /* 0x28: data, not present */
	0x00cf9a000000ffffull,  /* 0x30: 32-bit code, DPL 0 */
	0x12009334567800ffull,  /* 0x38: data, base 0x12345678, limit 0x000ff bytes */
	0x00efda000000ffffull,  /* 0x40: 64-bit code with D set */
};
#define GDT_BASE        0x10000ull

static int desc_reads;

static bool read_desc(void *ctx, uint64_t la, uint64_t *d)
{
	desc_reads++;
	if (la < GDT_BASE || la + 8 > GDT_BASE + sizeof(gdt) || (la & 7))
		return false;
	*d = gdt[(la - GDT_BASE) / 8];
	return true;
}

static struct gdb_regfile f;
static struct gdb_reg_limits lim;

/* A 64-bit guest at CPL 0 as crt64.S leaves it, with an XSAVE area full of
 * stale bytes behind an all-clear XSTATE_BV. */
static void setup(bool xsave, uint32_t avx_off)
{
	memset(&f, 0, sizeof(f));
	f.regs.rip = 0x200000;
	f.regs.rflags = 2;
	f.sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	f.sregs.cr3 = 0x1000;
	f.sregs.cr4 = CR4_PAE | CR4_OSFXSR;
	f.sregs.efer = EFER_LME | EFER_LMA | EFER_SCE;
	for (unsigned k = 0; k < NR_SEGS; k++)
		f.sregs.seg[k] = (struct x86_seg){ 0, 0xffffffff, 0x10, 0xc093 };
	f.sregs.seg[SEG_CS] = (struct x86_seg){ 0, 0xffffffff, 0x08, 0xa09b };
	f.sregs.gdt = (struct x86_dtable){ GDT_BASE, sizeof(gdt) - 1 };
	f.sregs.ldtr.attr = SEG_ATTR_UNUSABLE;
	f.fx_len = GDB_FX_BYTES;
	memset(f.fx, 0xa5, sizeof(f.fx));
	memset(f.fx + 512, 0, 64);              /* XSTATE_BV = 0: all initial */
	f.fx[24] = 0x80;                        /* MXCSR 0x1f80 */
	f.fx[25] = 0x1f;
	f.fx[26] = f.fx[27] = 0;
	lim = (struct gdb_reg_limits){ .cr4_allowed = ALL_CR4, .efer_mask = EFER_SCE | EFER_LME |
				       EFER_LMA | EFER_NXE, .maxphyaddr = 40,
				       .fpu = { xsave, avx_off, 0xffbf }, .read_desc = read_desc };
}

static uint64_t get(unsigned r)
{
	uint8_t b[16] = { 0 };
	uint64_t v;

	gdb_reg_get(&f, &lim, r, b);
	memcpy(&v, b, 8);
	return v;
}

static bool set(unsigned r, uint64_t v)
{
	uint8_t b[16] = { 0 };

	memcpy(b, &v, 8);
	return gdb_reg_set(&f, &lim, r, b);
}

/* A write that must be refused, leaving every register as it was. */
static bool refused(unsigned r, uint64_t v)
{
	static struct gdb_regfile before;

	before = f;
	return !set(r, v) && !memcmp(&before, &f, sizeof(f));
}

static uint64_t xstate_bv(void)
{
	uint64_t bv;
	memcpy(&bv, f.fx + 512, 8);
	return bv;
}

TEST(sizes)
{
	CHECK_EQ(gdb_reg_size(0), 8);
	CHECK_EQ(gdb_reg_size(GDB_R_EFLAGS), 4);
	CHECK_EQ(gdb_reg_size(GDB_R_GS), 4);
	CHECK_EQ(gdb_reg_size(GDB_R_ST0 + 7), 10);
	CHECK_EQ(gdb_reg_size(GDB_R_FOP), 4);
	CHECK_EQ(gdb_reg_size(GDB_R_XMM0 + 15), 16);
	CHECK_EQ(gdb_reg_size(GDB_R_MXCSR), 4);
	CHECK_EQ(gdb_reg_size(GDB_R_EFER), 8);
	CHECK_EQ(gdb_reg_size(GDB_R_YMM0H + 15), 16);
	CHECK_EQ(GDB_NR_REGS, 81);
}

/* XSTATE_BV clear: the registers read as their initial values, whatever
 * the area's bytes; a write puts the component in its initial state first
 * and sets its bit (SDM vol. 1 §13.6, §13.8.1). */
TEST(xsave_layout)
{
	uint8_t b[16], st[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x40 };

	setup(true, 576);
	CHECK_EQ(get(GDB_R_FCTRL), 0x37f);
	CHECK_EQ(get(GDB_R_FTAG), 0xffff);
	CHECK_EQ(get(GDB_R_FSTAT), 0);
	CHECK_EQ(get(GDB_R_XMM0 + 3), 0);
	CHECK_EQ(get(GDB_R_YMM0H + 2), 0);
	CHECK_EQ(get(GDB_R_MXCSR), 0x1f80);

	/* XMM3 at 160 + 3 * 16; the other XMM registers initial (0). */
	uint8_t x[16];
	for (unsigned i = 0; i < 16; i++)
		x[i] = (uint8_t)(0x10 + i);
	CHECK(gdb_reg_set(&f, &lim, GDB_R_XMM0 + 3, x));
	CHECK_EQ(xstate_bv(), 2);
	CHECK(!memcmp(f.fx + 160 + 48, x, 16));
	CHECK_EQ(f.fx[160], 0);
	CHECK_EQ(f.fx[160 + 15 * 16 + 15], 0);
	gdb_reg_get(&f, &lim, GDB_R_XMM0 + 3, b);
	CHECK(!memcmp(b, x, 16));

	/* ST0 at 32: the x87 state initial first (FCW 0x37f, tags empty). */
	CHECK(gdb_reg_set(&f, &lim, GDB_R_ST0, st));
	CHECK_EQ(xstate_bv(), 3);
	CHECK(!memcmp(f.fx + 32, st, 10));
	CHECK_EQ(f.fx[0] | f.fx[1] << 8, 0x37f);
	CHECK_EQ(f.fx[4], 0);                   /* abridged tag: all empty */
	CHECK_EQ(f.fx[32 + 16], 0);             /* ST1 */
	/* The full tag word gdb writes becomes the abridged one: ST0 valid. */
	CHECK(set(GDB_R_FTAG, 0xfffc));
	CHECK_EQ(f.fx[4], 1);
	CHECK_EQ(get(GDB_R_FTAG), 0xfffc);
	CHECK(set(GDB_R_FOP, 0x7ff));
	CHECK_EQ(f.fx[6] | f.fx[7] << 8, 0x7ff);
	CHECK(refused(GDB_R_FOP, 0x800));
	CHECK(refused(GDB_R_FCTRL, 0x10000));
	CHECK(set(GDB_R_FIOFF, 0x89abcdef));
	CHECK(set(GDB_R_FISEG, 0x1234));
	CHECK_EQ(f.fx[8] | (uint32_t)f.fx[11] << 24, 0x890000ef);
	CHECK_EQ(f.fx[12] | f.fx[13] << 8, 0x1234);

	/* YMM2's upper half at the AVX component's offset. */
	CHECK(gdb_reg_set(&f, &lim, GDB_R_YMM0H + 2, x));
	CHECK_EQ(xstate_bv(), 7);
	CHECK(!memcmp(f.fx + 576 + 32, x, 16));
	CHECK_EQ(f.fx[576], 0);

	/* MXCSR at 24, never through XSTATE_BV; bits outside MXCSR_MASK refused. */
	CHECK(set(GDB_R_MXCSR, 0x3f80));
	CHECK_EQ(f.fx[24] | f.fx[25] << 8, 0x3f80);
	CHECK(refused(GDB_R_MXCSR, 0x13f80));
	CHECK(refused(GDB_R_MXCSR, 0x1fc0));    /* DAZ where the mask lacks it */
	lim.fpu.mxcsr_mask = 0xffff;
	CHECK(set(GDB_R_MXCSR, 0x1fc0));
}

TEST(fxsave_layout_and_no_avx)
{
	uint8_t x[16] = { 1 };

	setup(false, 0);
	/* FXSAVE alone: the bytes are the registers; no header to touch. */
	CHECK_EQ(get(GDB_R_FCTRL), 0xa5a5);
	CHECK(gdb_reg_set(&f, &lim, GDB_R_XMM0, x));
	CHECK(!memcmp(f.fx + 160, x, 16));
	CHECK_EQ(f.fx[176], 0xa5);              /* XMM1 untouched */
	CHECK_EQ(xstate_bv(), 0);
	/* No AVX state: the upper halves read 0 and take no write. */
	CHECK_EQ(get(GDB_R_YMM0H), 0);
	CHECK(!gdb_reg_set(&f, &lim, GDB_R_YMM0H, x));
	CHECK(gdb_reg_set(&f, &lim, GDB_R_YMM0H, (uint8_t[16]){ 0 }));  /* unchanged */
}

TEST(general_and_flags)
{
	setup(true, 576);
	CHECK(set(0, 0x1122334455667788ull));
	CHECK_EQ(f.regs.gpr[REG_RAX], 0x1122334455667788ull);
	CHECK(set(3, 7));                       /* gdb's 3 is RDX */
	CHECK_EQ(f.regs.gpr[REG_RDX], 7);
	CHECK(refused(GDB_R_RIP, 0x0000800000000000ull));
	CHECK(set(GDB_R_RIP, 0xffff800000001000ull));
	CHECK(set(GDB_R_EFLAGS, 0x40202));      /* AC, IF */
	CHECK_EQ(f.regs.rflags, 0x40202);
	CHECK(refused(GDB_R_EFLAGS, 0x20202));  /* VM */
	CHECK(refused(GDB_R_EFLAGS, 0x8202));   /* reserved bit 15 */
	CHECK(refused(GDB_R_FS_BASE, 0x0000800000000000ull));
	CHECK(set(GDB_R_GS_BASE, 0x123456789a0ull));
	CHECK_EQ(f.sregs.seg[SEG_GS].base, 0x123456789a0ull);
	CHECK(refused(GDB_R_CR8, 16));
	CHECK(set(GDB_R_CR8, 15));
	CHECK_EQ(f.cr8, 15);
}

/* CR0/CR3/CR4/EFER as a MOV or WRMSR of the guest's would be checked. */
TEST(control_registers)
{
	setup(true, 576);
	CHECK(refused(GDB_R_CR0, (f.sregs.cr0 | CR0_PG) & ~(uint64_t)CR0_PE));
	CHECK(refused(GDB_R_CR0, f.sregs.cr0 | CR0_NW));        /* NW without CD */
	CHECK(refused(GDB_R_CR0, f.sregs.cr0 | (1ull << 32)));
	CHECK(refused(GDB_R_CR0, f.sregs.cr0 & ~(uint64_t)CR0_PG)); /* in 64-bit mode */
	CHECK(set(GDB_R_CR0, f.sregs.cr0 | CR0_AM));
	CHECK_EQ(get(GDB_R_CR0), CR0_PE | CR0_ET | CR0_PG | CR0_AM);
	CHECK(refused(GDB_R_CR4, f.sregs.cr4 & ~(uint64_t)CR4_PAE));
	CHECK(refused(GDB_R_CR4, f.sregs.cr4 | (1ull << 23)));  /* not in the model */
	CHECK(set(GDB_R_CR4, f.sregs.cr4 | CR4_PGE));
	CHECK(refused(GDB_R_CR3, 1ull << 40));                  /* past MAXPHYADDR */
	CHECK(!f.cr3_written);
	CHECK(set(GDB_R_CR3, 0x1000));                          /* the same: it flushes */
	CHECK(f.cr3_written);
	CHECK(set(GDB_R_CR2, 0xffff800000000000ull));
	CHECK(refused(GDB_R_EFER, f.sregs.efer & ~(uint64_t)EFER_LME)); /* paging on */
	CHECK(refused(GDB_R_EFER, f.sregs.efer | EFER_SVME));   /* not in the model */
	CHECK(set(GDB_R_EFER, (f.sregs.efer | EFER_NXE) & ~(uint64_t)EFER_LMA));
	CHECK_EQ(f.sregs.efer, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE); /* LMA kept */

	/* Out of long mode: PG on with LME sets LMA, as the guest's MOV would. */
	setup(true, 576);
	f.sregs.cr0 = CR0_PE | CR0_ET;
	f.sregs.efer = EFER_LME;
	f.sregs.seg[SEG_CS].attr = 0xc09b;
	CHECK(refused(GDB_R_CR2, 1ull << 32));
	CHECK(set(GDB_R_CR0, CR0_PE | CR0_ET | CR0_PG));
	CHECK_EQ(f.sregs.efer, EFER_LME | EFER_LMA);
}

TEST(segments)
{
	setup(true, 576);
	CHECK(set(GDB_R_ES, 0));
	CHECK_EQ(f.sregs.seg[SEG_ES].attr, SEG_ATTR_UNUSABLE);
	desc_reads = 0;
	CHECK(set(GDB_R_ES, 0x10));
	CHECK_EQ(desc_reads, 1);
	CHECK_EQ(f.sregs.seg[SEG_ES].selector, 0x10);
	CHECK_EQ(f.sregs.seg[SEG_ES].attr, 0xc093);             /* accessed */
	CHECK_EQ(f.sregs.seg[SEG_ES].limit, 0xffffffff);
	CHECK(set(GDB_R_DS, 0x38));
	CHECK_EQ(f.sregs.seg[SEG_DS].base, 0x12345678);
	CHECK_EQ(f.sregs.seg[SEG_DS].limit, 0xff);
	CHECK_EQ(f.sregs.seg[SEG_DS].attr, 0x0093);
	CHECK(set(GDB_R_FS, 0x08));                             /* readable code */
	CHECK(refused(GDB_R_ES, 0x48));                         /* past the GDT limit */
	CHECK(refused(GDB_R_ES, 0x18));                         /* execute-only code */
	CHECK(refused(GDB_R_ES, 0x28));                         /* not present */
	CHECK(refused(GDB_R_ES, 0x0c));                         /* LDT, none loaded */
	CHECK(refused(GDB_R_ES, 0x10000));
	CHECK(refused(GDB_R_SS, 0x23));                         /* DPL 3 at CPL 0 */
	CHECK(refused(GDB_R_SS, 0x08));                         /* code */
	CHECK(set(GDB_R_SS, 0));                                /* null SS: 64-bit, CPL 0 */
	CHECK(refused(GDB_R_CS, 0));
	CHECK(refused(GDB_R_CS, 0x10));                         /* data */
	CHECK(refused(GDB_R_CS, 0x40));                         /* L and D */
	CHECK(refused(GDB_R_CS, 0x09));                         /* RPL 1 at CPL 0 */
	CHECK(set(GDB_R_CS, 0x30));                             /* compatibility mode */
	CHECK_EQ(f.sregs.seg[SEG_CS].attr, 0xc09b);

	/* Real mode: base = selector * 16, the rest of the cache kept. */
	setup(true, 576);
	f.sregs.cr0 = CR0_ET;
	f.sregs.cr4 = 0;
	f.sregs.efer = 0;
	f.sregs.seg[SEG_CS].attr = 0x9b;
	desc_reads = 0;
	CHECK(set(GDB_R_ES, 0x1234));
	CHECK_EQ(f.sregs.seg[SEG_ES].base, 0x12340);
	CHECK_EQ(f.sregs.seg[SEG_ES].attr, 0xc093);
	CHECK_EQ(desc_reads, 0);
}

/* The check a snapshot's vCPU record passes before restore loads it
 * (core/snapshot.c), on records with bad control or segment state. */
TEST(snapshot_record_check)
{
	setup(true, 576);
	struct x86_sregs good = f.sregs, s;

	CHECK(ctlreg_sregs_ok(&good, ALL_CR4));
	s = good;
	s.cr0 = (s.cr0 | CR0_PG) & ~(uint64_t)CR0_PE;           /* PG without PE */
	CHECK(!ctlreg_sregs_ok(&s, ALL_CR4));
	s = good;
	s.cr0 |= CR0_NW;                                        /* NW without CD */
	CHECK(!ctlreg_sregs_ok(&s, ALL_CR4));
	s = good;
	s.efer &= ~(uint64_t)EFER_LMA;                          /* LMA not as LME and PG */
	CHECK(!ctlreg_sregs_ok(&s, ALL_CR4));
	s = good;
	s.cr4 &= ~(uint64_t)CR4_PAE;                            /* long mode without PAE */
	CHECK(!ctlreg_sregs_ok(&s, ALL_CR4));
	s = good;
	s.cr4 |= 1ull << 21;                                    /* SMAP the model lacks */
	CHECK(!ctlreg_sregs_ok(&s, ALL_CR4 & ~(1ull << 21)));
	s = good;
	s.seg[SEG_CS].attr |= SEG_ATTR_DB;                      /* 64-bit CS with D */
	CHECK(!ctlreg_sregs_ok(&s, ALL_CR4));
	s = good;
	s.seg[SEG_DS].attr |= 0x0f00;                           /* reserved attribute bits */
	CHECK(!ctlreg_sregs_ok(&s, ALL_CR4));
}

int main(void)
{
	check_prog = "gdb_regs";
	RUN(sizes);
	RUN(xsave_layout);
	RUN(fxsave_layout_and_no_avx);
	RUN(general_and_flags);
	RUN(control_registers);
	RUN(segments);
	RUN(snapshot_record_check);
	return check_finish();
}
