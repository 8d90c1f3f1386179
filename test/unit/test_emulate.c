/* Host unit tests for the x86 instruction emulator (arch/x86/emulate.c). */
#include "test/unit/check.h"
#include "arch/x86/emulate.h"

#define ARITH RFLAGS_ARITH
#define CF RFLAGS_CF
#define PF RFLAGS_PF
#define AF RFLAGS_AF
#define ZF RFLAGS_ZF
#define SF RFLAGS_SF
#define OF RFLAGS_OF
#define FLAGS_FIXED 0x2ULL   /* RFLAGS bit 1 is always set */

#define RAM_BASE  0xf000ULL   /* up to 0xffff, for 16-bit wrap tests */
#define RAM_SIZE  0x1000ULL
#define MMIO_BASE 0xfee00000ULL
#define MMIO_SIZE 0x100ULL
#define SINK_BASE 0x100000ULL   /* writes accepted and counted, reads give 0 */
#define EFAKE     77            /* the fake's own error code */

/* Guest "memory" seen through the callbacks: RAM, a device and a sink. */
struct fake {
	uint8_t ram[RAM_SIZE];
	uint8_t mmio[MMIO_SIZE];
	unsigned nread, nwrite, sink_writes;
	unsigned fail_after;     /* accesses allowed before failing; 0 = no limit */
	int last_read_seg, last_write_seg;
	uint64_t last_write_ea;
	unsigned last_write_size;
};

static uint8_t *fake_ptr(struct fake *f, uint64_t ea, unsigned size)
{
	if (ea >= RAM_BASE && ea + size <= RAM_BASE + RAM_SIZE)
		return &f->ram[ea - RAM_BASE];
	if (ea >= MMIO_BASE && ea + size <= MMIO_BASE + MMIO_SIZE)
		return &f->mmio[ea - MMIO_BASE];
	return NULL;
}

static bool fake_fail(struct fake *f)
{
	return f->fail_after && f->nread + f->nwrite >= f->fail_after;
}

static int fake_read(void *ctx, int seg, uint64_t ea, void *val, unsigned size)
{
	struct fake *f = ctx;
	uint8_t *p = fake_ptr(f, ea, size);

	if (fake_fail(f))
		return -EFAKE;
	f->nread++;
	f->last_read_seg = seg;
	if (ea >= SINK_BASE && ea < SINK_BASE + 0x10000) {
		memset(val, 0, size);
		return 0;
	}
	if (!p)
		return -EFAKE;
	memcpy(val, p, size);
	return 0;
}

static int fake_write(void *ctx, int seg, uint64_t ea, const void *val, unsigned size)
{
	struct fake *f = ctx;
	uint8_t *p = fake_ptr(f, ea, size);

	if (fake_fail(f))
		return -EFAKE;
	f->nwrite++;
	f->last_write_seg = seg;
	f->last_write_ea = ea;
	f->last_write_size = size;
	if (ea >= SINK_BASE && ea < SINK_BASE + 0x10000) {
		f->sink_writes++;
		return 0;
	}
	if (!p)
		return -EFAKE;
	memcpy(p, val, size);
	return 0;
}

static const struct x86_emu_ops fake_ops = { fake_read, fake_write };

static struct fake fk;
static struct x86_regs regs;

static void reset(void)
{
	memset(&fk, 0, sizeof(fk));
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x400000;
	regs.rflags = FLAGS_FIXED | RFLAGS_IF;
}

static int emu_bytes(enum x86_mode mode, const uint8_t *b, size_t n)
{
	struct x86_insn insn;
	int rc = x86_decode(b, n, mode, &insn);

	if (rc) {
		printf("    decode failed: %d\n", rc);
		return rc;
	}
	return x86_emulate(&insn, &regs, &fake_ops, &fk);
}

#define EMU(mode, ...) emu_bytes(X86_MODE_##mode, (const uint8_t[]){ __VA_ARGS__ }, \
				 sizeof((uint8_t[]){ __VA_ARGS__ }))

static uint64_t rd(uint64_t ea, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, fake_ptr(&fk, ea, size), size);
	return v;
}

static void wr(uint64_t ea, uint64_t v, unsigned size)
{
	memcpy(fake_ptr(&fk, ea, size), &v, size);
}

/* ---- MOV family -------------------------------------------------------- */

TEST(mov_load_zero_extends)
{
	reset();
	regs.gpr[REG_RBX] = MMIO_BASE + 0x10;
	regs.gpr[REG_RAX] = 0xdeadbeefcafef00dULL;
	wr(MMIO_BASE + 0x10, 0x12345678, 4);
	CHECK_EQ(EMU(LONG64, 0x8b, 0x03), 0);            /* mov eax,[rbx] */
	CHECK_EQ(regs.gpr[REG_RAX], 0x12345678);
	CHECK_EQ(regs.rip, 0x400002);
	CHECK_EQ(fk.last_read_seg, SEG_DS);
	CHECK_EQ(regs.rflags, FLAGS_FIXED | RFLAGS_IF);  /* MOV leaves flags */
	regs.gpr[REG_RCX] = 0x1111111111111111ULL;
	CHECK_EQ(EMU(LONG64, 0x66, 0x8b, 0x0b), 0);      /* mov cx,[rbx] merges */
	CHECK_EQ(regs.gpr[REG_RCX], 0x1111111111115678ULL);
	wr(MMIO_BASE + 0x10, 0x99, 1);
	CHECK_EQ(EMU(LONG64, 0x8a, 0x0b), 0);            /* mov cl,[rbx] merges */
	CHECK_EQ(regs.gpr[REG_RCX], 0x1111111111115699ULL);
	wr(MMIO_BASE + 0x10, 0x8877665544332211ULL, 8);
	CHECK_EQ(EMU(LONG64, 0x48, 0x8b, 0x03), 0);      /* mov rax,[rbx] */
	CHECK_EQ(regs.gpr[REG_RAX], 0x8877665544332211ULL);
	CHECK_EQ(regs.rip, 0x400002 + 3 + 2 + 3);
}

TEST(mov_store_and_segments)
{
	reset();
	regs.gpr[REG_RBP] = MMIO_BASE;
	regs.gpr[REG_RCX] = 0xaabbccdd11223344ULL;
	CHECK_EQ(EMU(LONG64, 0x89, 0x4d, 0x08), 0);      /* mov [rbp+8],ecx */
	CHECK_EQ(rd(MMIO_BASE + 8, 8), 0x11223344);
	CHECK_EQ(fk.last_write_seg, SEG_SS);
	CHECK_EQ(fk.last_write_size, 4);
	CHECK_EQ(EMU(LONG64, 0x65, 0x4c, 0x89, 0x45, 0x00), 0);   /* mov gs:[rbp],r8 */
	CHECK_EQ(fk.last_write_seg, SEG_GS);
	CHECK_EQ(fk.last_write_size, 8);
	CHECK_EQ(regs.rip, 0x400000 + 3 + 5);
	/* real mode: mov [bp+si],ax uses SS, ax is 16 bits */
	regs.gpr[REG_RBP] = RAM_BASE;
	regs.gpr[REG_RSI] = 0x20;
	regs.gpr[REG_RAX] = 0x12345678;
	CHECK_EQ(EMU(REAL16, 0x89, 0x02), 0);
	CHECK_EQ(fk.last_write_seg, SEG_SS);
	CHECK_EQ(fk.last_write_ea, RAM_BASE + 0x20);
	CHECK_EQ(rd(RAM_BASE + 0x20, 4), 0x5678);
}

TEST(mov_high_byte_vs_rex)
{
	reset();
	regs.gpr[REG_RBX] = RAM_BASE;
	wr(RAM_BASE, 0xab, 1);
	regs.gpr[REG_RSP] = 0x1111111111111111ULL;
	regs.gpr[REG_RAX] = 0x2222222222222222ULL;
	CHECK_EQ(EMU(LONG64, 0x8a, 0x23), 0);            /* mov ah,[rbx] */
	CHECK_EQ(regs.gpr[REG_RAX], 0x222222222222ab22ULL);
	CHECK_EQ(regs.gpr[REG_RSP], 0x1111111111111111ULL);
	CHECK_EQ(EMU(LONG64, 0x40, 0x8a, 0x23), 0);      /* mov spl,[rbx] */
	CHECK_EQ(regs.gpr[REG_RSP], 0x11111111111111abULL);
	regs.gpr[REG_RBX] = RAM_BASE;                    /* bh = 0xf0 */
	regs.gpr[REG_RDI] = 0x77;
	regs.gpr[REG_RSI] = RAM_BASE + 0x10;
	CHECK_EQ(EMU(LONG64, 0x40, 0x88, 0x3e), 0);      /* mov [rsi],dil */
	CHECK_EQ(rd(RAM_BASE + 0x10, 1), 0x77);
	CHECK_EQ(EMU(LONG64, 0x88, 0x3e), 0);            /* mov [rsi],bh */
	CHECK_EQ(rd(RAM_BASE + 0x10, 1), (RAM_BASE >> 8) & 0xff);
	regs.gpr[REG_RDX] = 0x5a00;
	CHECK_EQ(EMU(PROT32, 0x88, 0x36), 0);            /* prot32: mov [esi],dh */
	CHECK_EQ(rd(RAM_BASE + 0x10, 1), 0x5a);
}

TEST(mov_imm_and_moffs)
{
	reset();
	regs.gpr[REG_RBX] = RAM_BASE;
	CHECK_EQ(EMU(LONG64, 0xc6, 0x03, 0xab), 0);
	CHECK_EQ(rd(RAM_BASE, 8), 0xab);
	CHECK_EQ(EMU(LONG64, 0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff), 0);
	CHECK_EQ(rd(RAM_BASE, 8), 0xfffffffffffffffeULL);
	CHECK_EQ(EMU(LONG64, 0x66, 0xc7, 0x43, 0x02, 0x34, 0x12), 0);  /* mov word [rbx+2] */
	CHECK_EQ(rd(RAM_BASE, 8), 0xffffffff1234fffeULL);
	/* mov eax,[moffs64] and mov [moffs64],al */
	wr(MMIO_BASE + 0x20, 0xcafebabe, 4);
	CHECK_EQ(EMU(LONG64, 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 0);
	CHECK_EQ(regs.gpr[REG_RAX], 0xcafebabe);
	CHECK_EQ(EMU(LONG64, 0xa2, 0x30, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 0);
	CHECK_EQ(rd(MMIO_BASE + 0x30, 4), 0xbe);
	CHECK_EQ(regs.rip, 0x400000 + 3 + 7 + 6 + 9 + 9);
	/* rip-relative: mov dword [rip+0x100], 7 */
	regs.rip = RAM_BASE - 10;
	CHECK_EQ(EMU(LONG64, 0xc7, 0x05, 0x00, 0x01, 0, 0, 7, 0, 0, 0), 0);
	CHECK_EQ(fk.last_write_ea, RAM_BASE + 0x100);
	CHECK_EQ(rd(RAM_BASE + 0x100, 4), 7);
}

TEST(movzx_movsx)
{
	reset();
	regs.gpr[REG_RBX] = RAM_BASE;
	wr(RAM_BASE, 0x8080, 2);
	regs.gpr[REG_RAX] = ~0ULL;
	CHECK_EQ(EMU(LONG64, 0x0f, 0xb6, 0x03), 0);      /* movzx eax,byte */
	CHECK_EQ(regs.gpr[REG_RAX], 0x80);
	CHECK_EQ(EMU(LONG64, 0x0f, 0xbe, 0x03), 0);      /* movsx eax,byte */
	CHECK_EQ(regs.gpr[REG_RAX], 0xffffff80ULL);
	CHECK_EQ(EMU(LONG64, 0x48, 0x0f, 0xbf, 0x03), 0);   /* movsx rax,word */
	CHECK_EQ(regs.gpr[REG_RAX], 0xffffffffffff8080ULL);
	CHECK_EQ(EMU(LONG64, 0x48, 0x0f, 0xb7, 0x03), 0);   /* movzx rax,word */
	CHECK_EQ(regs.gpr[REG_RAX], 0x8080);
	regs.gpr[REG_RCX] = 0x1234567890abcdefULL;
	CHECK_EQ(EMU(LONG64, 0x66, 0x0f, 0xbe, 0x0b), 0);   /* movsx cx,byte merges */
	CHECK_EQ(regs.gpr[REG_RCX], 0x1234567890abff80ULL);
	wr(RAM_BASE, 0x80000000, 4);
	CHECK_EQ(EMU(LONG64, 0x48, 0x63, 0x03), 0);      /* movsxd rax,dword */
	CHECK_EQ(regs.gpr[REG_RAX], 0xffffffff80000000ULL);
	/* movzx eax,ah: register source, high byte */
	regs.gpr[REG_RAX] = 0x9900;
	CHECK_EQ(EMU(LONG64, 0x0f, 0xb6, 0xc4), 0);
	CHECK_EQ(regs.gpr[REG_RAX], 0x99);
}

/* ---- ALU flags against known values --------------------------------------- */

struct alu_case {
	const char *name;
	uint8_t b[8];
	unsigned n, size;
	uint64_t mem, reg, flags_in;
	uint64_t mem_out, reg_out, flags_out;
};

/* Memory at [rbx] = RAM_BASE, register operand rcx (cl for bytes). */
static const struct alu_case alu_cases[] = {
	{ "add 0x7f+1 byte overflow", { 0x00, 0x0b }, 2, 1, 0x7f, 1, 0,
	  0x80, 1, OF | SF | AF },
	{ "add 0xff+1 byte carry", { 0x00, 0x0b }, 2, 1, 0xff, 1, 0,
	  0x00, 1, CF | ZF | AF | PF },
	{ "add 64-bit overflow", { 0x48, 0x01, 0x0b }, 3, 8, 0x7fffffffffffffffULL, 1, 0,
	  0x8000000000000000ULL, 1, OF | SF | AF | PF },
	{ "add ecx,[rbx] writes reg", { 0x03, 0x0b }, 2, 4, 3, 4, CF,
	  3, 7, 0 },
	{ "sub 1-2 dword borrow", { 0x29, 0x0b }, 2, 4, 1, 2, 0,
	  0xffffffff, 2, CF | SF | PF | AF },
	{ "sub 0x80000000-1 overflow", { 0x29, 0x0b }, 2, 4, 0x80000000, 1, 0,
	  0x7fffffff, 1, OF | AF | PF },
	{ "cmp equal", { 0x39, 0x0b }, 2, 4, 5, 5, CF | OF,
	  5, 5, ZF | PF },
	{ "cmp below", { 0x3a, 0x0b }, 2, 1, 0x10, 0x01, 0,     /* cmp cl,[rbx] */
	  0x10, 0x01, CF | SF },
	{ "test nonzero", { 0x85, 0x0b }, 2, 4, 0xf0, 0x30, CF | OF | AF,
	  0xf0, 0x30, PF },
	{ "test zero", { 0x84, 0x0b }, 2, 1, 0xf0, 0x0f, CF | OF,
	  0xf0, 0x0f, ZF | PF },
	{ "xor clears CF OF", { 0x31, 0x0b }, 2, 4, 0x80000001, 1, CF | OF | AF,
	  0x80000000, 1, SF | PF },
	{ "xor to zero", { 0x48, 0x31, 0x0b }, 3, 8, 0x1234, 0x1234, CF,
	  0, 0x1234, ZF | PF },
	{ "and", { 0x21, 0x0b }, 2, 4, 0xff00ff, 0x0ff0f0, 0,
	  0x0f00f0, 0x0ff0f0, PF },
	{ "or word", { 0x66, 0x09, 0x0b }, 3, 2, 0x8000, 0x0001, OF,
	  0x8001, 1, SF },
	{ "adc with CF", { 0x10, 0x0b }, 2, 1, 0xff, 0, CF,
	  0x00, 0, CF | ZF | AF | PF },
	{ "adc without CF", { 0x10, 0x0b }, 2, 1, 0xff, 0, 0,
	  0xff, 0, SF | PF },
	{ "sbb with CF", { 0x18, 0x0b }, 2, 1, 0, 0, CF,
	  0xff, 0, CF | SF | AF | PF },
	{ "sbb 0x80-0x7f-1 overflow", { 0x18, 0x0b }, 2, 1, 0x80, 0x7f, CF,
	  0x00, 0x7f, OF | ZF | AF | PF },
};

TEST(alu_flags_table)
{
	for (size_t i = 0; i < sizeof(alu_cases) / sizeof(alu_cases[0]); i++) {
		const struct alu_case *c = &alu_cases[i];
		int before = check_cur_failed;

		check_cur_failed = 0;
		reset();
		regs.gpr[REG_RBX] = RAM_BASE;
		regs.gpr[REG_RCX] = c->reg;
		regs.rflags |= c->flags_in | RFLAGS_DF;
		wr(RAM_BASE, c->mem, c->size);
		CHECK_EQ(emu_bytes(X86_MODE_LONG64, c->b, c->n), 0);
		CHECK_EQ(rd(RAM_BASE, 8), c->mem_out);
		CHECK_EQ(regs.gpr[REG_RCX], c->reg_out);
		CHECK_EQ(regs.rflags, FLAGS_FIXED | RFLAGS_IF | RFLAGS_DF | c->flags_out);
		CHECK_EQ(regs.rip, 0x400000 + c->n);
		if (check_cur_failed)
			printf("    ^ in case \"%s\"\n", c->name);
		check_cur_failed |= before;
	}
}

TEST(alu_imm_forms)
{
	reset();
	regs.gpr[REG_RBX] = RAM_BASE;
	wr(RAM_BASE, 1, 4);
	CHECK_EQ(EMU(LONG64, 0x83, 0x03, 0xff), 0);      /* add dword [rbx],-1 */
	CHECK_EQ(rd(RAM_BASE, 8), 0);
	CHECK_EQ(regs.rflags & ARITH, CF | ZF | AF | PF);
	wr(RAM_BASE, ~0ULL, 8);
	CHECK_EQ(EMU(LONG64, 0x48, 0x83, 0x3b, 0xff), 0);   /* cmp qword [rbx],-1 */
	CHECK_EQ(regs.rflags & ARITH, ZF | PF);
	CHECK_EQ(fk.nwrite, 1);                           /* CMP does not write */
	CHECK_EQ(EMU(LONG64, 0x48, 0x81, 0x23, 0xf0, 0, 0, 0x80), 0);  /* and qword,imm32 */
	CHECK_EQ(rd(RAM_BASE, 8), 0xffffffff800000f0ULL);
	CHECK_EQ(regs.rflags & ARITH, SF | PF);
	CHECK_EQ(EMU(LONG64, 0xf6, 0x03, 0x01), 0);      /* test byte [rbx],1 */
	CHECK_EQ(regs.rflags & ARITH, ZF | PF);
	CHECK_EQ(EMU(LONG64, 0x80, 0x33, 0xff), 0);      /* xor byte [rbx],0xff */
	CHECK_EQ(rd(RAM_BASE, 1), 0x0f);
	CHECK_EQ(EMU(LONG64, 0x66, 0x81, 0x2b, 0x10, 0x00), 0);   /* sub word,0x10 */
	CHECK_EQ(rd(RAM_BASE, 2), 0xffff);
	CHECK_EQ(regs.rflags & ARITH, CF | SF | PF);
	/* accumulator form without memory: add al,0x7f */
	regs.gpr[REG_RAX] = 0x1101;
	CHECK_EQ(EMU(LONG64, 0x04, 0x7f), 0);
	CHECK_EQ(regs.gpr[REG_RAX], 0x1180);
	CHECK_EQ(regs.rflags & ARITH, OF | SF | AF);
}

#if defined(__x86_64__)
/*
 * Differential check against the host CPU: the same ALU op on random
 * operands, flags in and out through PUSHF/POPF.  The stack pointer moves
 * past the red zone first, as the host code may use it.
 */
#define HW_ALU(name, mnem, type)                                            \
static uint64_t hw_##name(uint64_t a, uint64_t b, uint64_t fin, uint64_t *fout) \
{                                                                           \
	type x = (type)a, y = (type)b;                                      \
	uint64_t f;                                                         \
	__asm__ volatile("sub $128, %%rsp\n\tpush %[fin]\n\tpopf\n\t"      \
			 mnem " %[y], %[x]\n\t"                             \
			 "pushf\n\tpop %[f]\n\tadd $128, %%rsp"             \
			 : [x] "+r"(x), [f] "=&r"(f)                         \
			 : [y] "r"(y), [fin] "r"(fin) : "cc", "memory");     \
	*fout = f;                                                          \
	return x;                                                           \
}
#define HW_ALU4(op)                                                         \
	HW_ALU(op##b, #op "b", uint8_t) HW_ALU(op##w, #op "w", uint16_t)    \
	HW_ALU(op##l, #op "l", uint32_t) HW_ALU(op##q, #op "q", uint64_t)
HW_ALU4(add) HW_ALU4(or) HW_ALU4(adc) HW_ALU4(sbb)
HW_ALU4(and) HW_ALU4(sub) HW_ALU4(xor) HW_ALU4(cmp) HW_ALU4(test)

typedef uint64_t (*hw_fn)(uint64_t, uint64_t, uint64_t, uint64_t *);

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Operands biased towards the edges where the flags change. */
static uint64_t rng_operand(unsigned size)
{
	static const uint64_t edge[] = { 0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, 0x0f, 0x10 };
	uint64_t v = rng();

	if ((v & 3) == 0)
		v = edge[(v >> 2) % (sizeof(edge) / sizeof(edge[0]))];
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

TEST(alu_matches_host_cpu)
{
	/* "op [rbx], rcx" in opcode/8 order; TEST is 85 /r. */
	static const struct { uint8_t opc; bool logic; hw_fn fn[4]; } ops[] = {
		{ 0x01, false, { hw_addb, hw_addw, hw_addl, hw_addq } },
		{ 0x09, true,  { hw_orb, hw_orw, hw_orl, hw_orq } },
		{ 0x11, false, { hw_adcb, hw_adcw, hw_adcl, hw_adcq } },
		{ 0x19, false, { hw_sbbb, hw_sbbw, hw_sbbl, hw_sbbq } },
		{ 0x21, true,  { hw_andb, hw_andw, hw_andl, hw_andq } },
		{ 0x29, false, { hw_subb, hw_subw, hw_subl, hw_subq } },
		{ 0x31, true,  { hw_xorb, hw_xorw, hw_xorl, hw_xorq } },
		{ 0x39, false, { hw_cmpb, hw_cmpw, hw_cmpl, hw_cmpq } },
		{ 0x85, true,  { hw_testb, hw_testw, hw_testl, hw_testq } },
	};
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	unsigned mismatches = 0;

	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (unsigned s = 0; s < 4; s++) {
			for (unsigned i = 0; i < 2000; i++) {
				unsigned size = sizes[s];
				uint64_t a = rng_operand(size), b = rng_operand(size);
				uint64_t fin = FLAGS_FIXED | (rng() & ARITH);
				uint64_t hw_f, hw_res, mask = ARITH;
				uint8_t insn[3];
				unsigned n = 0;
				bool writes = ops[o].opc != 0x39 && ops[o].opc != 0x85;

				if (size == 2)
					insn[n++] = 0x66;
				if (size == 8)
					insn[n++] = 0x48;
				insn[n++] = size == 1 ? ops[o].opc - 1 : ops[o].opc;
				insn[n++] = 0x0b;
				hw_res = ops[o].fn[s](a, b, fin, &hw_f);
				if (ops[o].logic)
					mask &= ~AF;   /* undefined after logic ops */

				reset();
				regs.gpr[REG_RBX] = RAM_BASE;
				regs.gpr[REG_RCX] = b;
				regs.rflags = fin;
				wr(RAM_BASE, a, 8);
				if (emu_bytes(X86_MODE_LONG64, insn, n) != 0 ||
				    (regs.rflags & mask) != (hw_f & mask) ||
				    rd(RAM_BASE, size) != (writes ? hw_res : a)) {
					if (mismatches++ < 5)
						printf("    op %02x size %u a=%llx b=%llx fin=%llx: "
						       "flags %llx vs cpu %llx, res %llx vs %llx\n",
						       ops[o].opc, size, (unsigned long long)a,
						       (unsigned long long)b, (unsigned long long)fin,
						       (unsigned long long)(regs.rflags & mask),
						       (unsigned long long)(hw_f & mask),
						       (unsigned long long)rd(RAM_BASE, size),
						       (unsigned long long)hw_res);
				}
			}
		}
	}
	CHECK_EQ(mismatches, 0);
}
#endif

/* ---- XCHG --------------------------------------------------------------- */

TEST(xchg_mem)
{
	reset();
	regs.gpr[REG_RBX] = MMIO_BASE;
	regs.gpr[REG_RCX] = 0xffffffff00000001ULL;
	wr(MMIO_BASE, 0xaabbccdd, 4);
	CHECK_EQ(EMU(LONG64, 0x87, 0x0b), 0);
	CHECK_EQ(rd(MMIO_BASE, 4), 1);
	CHECK_EQ(regs.gpr[REG_RCX], 0xaabbccdd);
	CHECK_EQ(fk.nread, 1);
	CHECK_EQ(fk.nwrite, 1);
	regs.gpr[REG_RAX] = 0x1234;
	CHECK_EQ(EMU(LONG64, 0x86, 0x23), 0);            /* xchg [rbx],ah */
	CHECK_EQ(rd(MMIO_BASE, 4), 0x12);
	CHECK_EQ(regs.gpr[REG_RAX], 0x0134);
	CHECK_EQ(regs.rip, 0x400004);
}

/* ---- string instructions ------------------------------------------------ */

TEST(movs_rep_forward_ram_to_mmio)
{
	reset();
	for (unsigned i = 0; i < 16; i++)
		fk.ram[i] = 0x10 + i;
	regs.gpr[REG_RSI] = RAM_BASE;
	regs.gpr[REG_RDI] = MMIO_BASE;
	regs.gpr[REG_RCX] = 4;
	CHECK_EQ(EMU(LONG64, 0xf3, 0xa5), 0);            /* rep movsd */
	CHECK(memcmp(fk.mmio, fk.ram, 16) == 0);
	CHECK_EQ(regs.gpr[REG_RCX], 0);
	CHECK_EQ(regs.gpr[REG_RSI], RAM_BASE + 16);
	CHECK_EQ(regs.gpr[REG_RDI], MMIO_BASE + 16);
	CHECK_EQ(regs.rip, 0x400002);
	CHECK_EQ(fk.last_read_seg, SEG_DS);
	CHECK_EQ(fk.last_write_seg, SEG_ES);
	/* fs: override applies to the source only */
	regs.gpr[REG_RSI] = RAM_BASE;
	regs.gpr[REG_RCX] = 5;
	CHECK_EQ(EMU(LONG64, 0x64, 0x48, 0xa5), 0);      /* movsq fs:[rsi] */
	CHECK_EQ(fk.last_read_seg, SEG_FS);
	CHECK_EQ(fk.last_write_seg, SEG_ES);
	CHECK_EQ(regs.gpr[REG_RSI], RAM_BASE + 8);
	CHECK_EQ(regs.gpr[REG_RCX], 5);                  /* no REP: rcx untouched */
}

TEST(movs_stos_df_backwards)
{
	reset();
	for (unsigned i = 0; i < 8; i++)
		fk.ram[i] = i + 1;
	regs.rflags |= RFLAGS_DF;
	regs.gpr[REG_RSI] = RAM_BASE + 7;
	regs.gpr[REG_RDI] = MMIO_BASE + 7;
	regs.gpr[REG_RCX] = 8;
	CHECK_EQ(EMU(LONG64, 0xf3, 0xa4), 0);            /* rep movsb, DF=1 */
	CHECK(memcmp(fk.mmio, fk.ram, 8) == 0);
	CHECK_EQ(fk.last_write_ea, MMIO_BASE);
	CHECK_EQ(regs.gpr[REG_RSI], RAM_BASE - 1);
	CHECK_EQ(regs.gpr[REG_RDI], MMIO_BASE - 1);
	regs.gpr[REG_RAX] = 0x5566;
	regs.gpr[REG_RDI] = RAM_BASE + 0x106;
	regs.gpr[REG_RCX] = 3;
	CHECK_EQ(EMU(LONG64, 0xf3, 0x66, 0xab), 0);      /* rep stosw, DF=1 */
	CHECK_EQ(rd(RAM_BASE + 0x102, 2), 0x5566);
	CHECK_EQ(rd(RAM_BASE + 0x104, 2), 0x5566);
	CHECK_EQ(rd(RAM_BASE + 0x106, 2), 0x5566);
	CHECK_EQ(rd(RAM_BASE + 0x100, 2), 0);
	CHECK_EQ(regs.gpr[REG_RDI], RAM_BASE + 0x100);
	CHECK_EQ(regs.gpr[REG_RCX], 0);
	CHECK_EQ(regs.rip, 0x400000 + 2 + 3);
	CHECK_EQ(regs.rflags & ARITH, 0);                /* string moves leave flags */
}

TEST(string_addrsize_and_lods)
{
	reset();
	/* 67 rep stosb: EDI/ECX, 32-bit writes zero-extend the upper half */
	regs.gpr[REG_RDI] = 0xdead00000000ULL | RAM_BASE;
	regs.gpr[REG_RCX] = 0xffff000000000002ULL;
	regs.gpr[REG_RAX] = 0x41;
	CHECK_EQ(EMU(LONG64, 0x67, 0xf3, 0xaa), 0);
	CHECK_EQ(rd(RAM_BASE, 4), 0x4141);
	CHECK_EQ(regs.gpr[REG_RDI], RAM_BASE + 2);
	CHECK_EQ(regs.gpr[REG_RCX], 0);
	/* real mode movsb: SI wraps at 16 bits and only SI's low half changes */
	regs.gpr[REG_RSI] = 0xabcd0000ffffULL;
	regs.gpr[REG_RDI] = RAM_BASE + 0x10;
	CHECK_EQ(EMU(REAL16, 0xa4), 0);
	CHECK_EQ(regs.gpr[REG_RSI], 0xabcd00000000ULL);
	CHECK_EQ(fk.nread, 1);
	/* lodsd loads eax (zero-extended) and advances rsi */
	wr(MMIO_BASE + 4, 0x89abcdef, 4);
	regs.gpr[REG_RSI] = MMIO_BASE + 4;
	regs.gpr[REG_RAX] = ~0ULL;
	CHECK_EQ(EMU(LONG64, 0xad), 0);
	CHECK_EQ(regs.gpr[REG_RAX], 0x89abcdef);
	CHECK_EQ(regs.gpr[REG_RSI], MMIO_BASE + 8);
}

TEST(rep_zero_count_and_cap)
{
	reset();
	regs.gpr[REG_RCX] = 0;
	regs.gpr[REG_RDI] = SINK_BASE;
	CHECK_EQ(EMU(LONG64, 0xf3, 0xaa), 0);
	CHECK_EQ(fk.nwrite, 0);
	CHECK_EQ(regs.rip, 0x400002);
	CHECK_EQ(regs.gpr[REG_RDI], SINK_BASE);

	/* More than X86_EMU_REP_MAX: partial progress, RIP stays. */
	reset();
	regs.gpr[REG_RCX] = X86_EMU_REP_MAX + 100;
	regs.gpr[REG_RDI] = SINK_BASE;
	CHECK_EQ(EMU(LONG64, 0xf3, 0xaa), 0);
	CHECK_EQ(fk.sink_writes, X86_EMU_REP_MAX);
	CHECK_EQ(regs.gpr[REG_RCX], 100);
	CHECK_EQ(regs.gpr[REG_RDI], SINK_BASE + X86_EMU_REP_MAX);
	CHECK_EQ(regs.rip, 0x400000);
	CHECK_EQ(EMU(LONG64, 0xf3, 0xaa), 0);            /* the guest re-executes */
	CHECK_EQ(fk.sink_writes, X86_EMU_REP_MAX + 100);
	CHECK_EQ(regs.gpr[REG_RCX], 0);
	CHECK_EQ(regs.rip, 0x400002);
}

/* ---- errors ------------------------------------------------------------- */

TEST(errors_leave_regs_unchanged)
{
	struct x86_regs saved;

	reset();
	regs.gpr[REG_RBX] = 0x5000;                       /* unmapped */
	regs.gpr[REG_RAX] = 0x1234567890ULL;
	regs.rflags |= CF;
	saved = regs;
	CHECK_EQ(EMU(LONG64, 0x8b, 0x03), -EFAKE);       /* mov eax,[rbx] */
	CHECK(memcmp(&regs, &saved, sizeof(regs)) == 0);
	CHECK_EQ(EMU(LONG64, 0x01, 0x03), -EFAKE);       /* add [rbx],eax */
	CHECK(memcmp(&regs, &saved, sizeof(regs)) == 0);
	CHECK_EQ(EMU(LONG64, 0x87, 0x03), -EFAKE);       /* xchg */
	CHECK(memcmp(&regs, &saved, sizeof(regs)) == 0);

	/* The read succeeds, the write back fails: flags and RIP unchanged. */
	regs.gpr[REG_RBX] = RAM_BASE;
	wr(RAM_BASE, 0xffffffff, 4);
	saved = regs;
	fk.fail_after = 1;
	CHECK_EQ(EMU(LONG64, 0x01, 0x03), -EFAKE);
	CHECK(memcmp(&regs, &saved, sizeof(regs)) == 0);
	fk.nread = fk.nwrite = 0;
	CHECK_EQ(EMU(LONG64, 0x87, 0x03), -EFAKE);       /* xchg: write fails */
	CHECK(memcmp(&regs, &saved, sizeof(regs)) == 0);
	CHECK_EQ(rd(RAM_BASE, 4), 0xffffffff);

	/* Single MOVS whose write fails: rsi/rdi unchanged. */
	fk.fail_after = 1;
	fk.nread = fk.nwrite = 0;
	regs.gpr[REG_RSI] = RAM_BASE;
	regs.gpr[REG_RDI] = MMIO_BASE;
	saved = regs;
	CHECK_EQ(EMU(LONG64, 0xa4), -EFAKE);
	CHECK(memcmp(&regs, &saved, sizeof(regs)) == 0);

	/* Port I/O and length-only instructions are not emulated here. */
	fk.fail_after = 0;
	CHECK_EQ(EMU(LONG64, 0xe4, 0x60), -X86_EUNSUPPORTED);
	CHECK_EQ(EMU(LONG64, 0xf3, 0x6c), -X86_EUNSUPPORTED);
	CHECK_EQ(EMU(LONG64, 0x0f, 0xa2), -X86_EUNSUPPORTED);
	CHECK(memcmp(&regs, &saved, sizeof(regs)) == 0);
}

TEST(rep_error_keeps_completed_iterations)
{
	reset();
	regs.gpr[REG_RSI] = RAM_BASE;
	regs.gpr[REG_RDI] = MMIO_BASE;
	regs.gpr[REG_RCX] = 10;
	fk.fail_after = 7;            /* 3 iterations, a 4th read, its write fails */
	CHECK_EQ(EMU(LONG64, 0xf3, 0xa4), -EFAKE);
	CHECK_EQ(regs.gpr[REG_RCX], 7);
	CHECK_EQ(regs.gpr[REG_RSI], RAM_BASE + 3);
	CHECK_EQ(regs.gpr[REG_RDI], MMIO_BASE + 3);
	CHECK_EQ(regs.rip, 0x400000);
}

TEST(rip_wraps_outside_long_mode)
{
	reset();
	regs.rip = 0xfffffffeULL;
	regs.gpr[REG_RBX] = RAM_BASE;
	CHECK_EQ(EMU(PROT32, 0x8b, 0x03), 0);
	CHECK_EQ(regs.rip, 0);
	regs.rip = 0xfffffffeULL;
	CHECK_EQ(EMU(LONG64, 0x8b, 0x03), 0);
	CHECK_EQ(regs.rip, 0x100000000ULL);
}

/* Any access succeeds; reads return a fixed pattern. */
static int any_read(void *ctx, int seg, uint64_t ea, void *val, unsigned size)
{
	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	memset(val, 0xa5, size);
	return 0;
}

static int any_write(void *ctx, int seg, uint64_t ea, const void *val, unsigned size)
{
	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	return 0;
}

/* Whatever decodes also emulates (or is refused) without UB in any mode. */
TEST(emulate_random_decodable)
{
	static const struct x86_emu_ops any_ops = { any_read, any_write };
	uint64_t x = 0x13198a2e03707344ULL;
	unsigned emulated = 0;

	for (unsigned i = 0; i < 100000; i++) {
		uint8_t buf[15];
		struct x86_insn insn;
		int rc;

		for (unsigned j = 0; j < sizeof(buf); j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = x;
		}
		if (x86_decode(buf, sizeof(buf), (enum x86_mode)(i & 3), &insn))
			continue;
		for (unsigned r = 0; r < NR_GPRS; r++)
			regs.gpr[r] = x * (r + 1);
		regs.gpr[REG_RCX] = x & 0x1f;
		regs.rip = x;
		regs.rflags = FLAGS_FIXED | (x & (ARITH | RFLAGS_DF));
		rc = x86_emulate(&insn, &regs, &any_ops, NULL);
		CHECK(rc == 0 || rc == -X86_EUNSUPPORTED);
		emulated += rc == 0;
	}
	CHECK(emulated > 5000);
}

int main(void)
{
	check_start("emulate");
	RUN(mov_load_zero_extends);
	RUN(mov_store_and_segments);
	RUN(mov_high_byte_vs_rex);
	RUN(mov_imm_and_moffs);
	RUN(movzx_movsx);
	RUN(alu_flags_table);
	RUN(alu_imm_forms);
#if defined(__x86_64__)
	RUN(alu_matches_host_cpu);
#endif
	RUN(xchg_mem);
	RUN(movs_rep_forward_ram_to_mmio);
	RUN(movs_stos_df_backwards);
	RUN(string_addrsize_and_lods);
	RUN(rep_zero_count_and_cap);
	RUN(errors_leave_regs_unchanged);
	RUN(rep_error_keeps_completed_iterations);
	RUN(rip_wraps_outside_long_mode);
	RUN(emulate_random_decodable);
	return check_finish();
}
