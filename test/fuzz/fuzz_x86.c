/*
 * Fuzz target: the x86 instruction decoder (arch/x86/decode.c) and
 * emulator (arch/x86/emulate.c), run as core/emul.c runs them: memory
 * operands go through the guest's own page tables (core/gpt.c) into a
 * model of guest RAM, or to an MMIO window.
 *
 * Input: a control byte (CPU mode, paging mode, CPL 3, WP/NXE/SMEP/SMAP),
 * CR3, RFLAGS, the FS/GS bases, the 16 GPRs, 15 instruction bytes, then
 * guest RAM (64 KiB at GPA 0 and 16 KiB at 1 MiB, each its own heap block,
 * so ASan sees any access past a region).  RIP is 0x1000.
 *
 * Properties:
 *  - decode returns 0 or one of its three errors; on success the length is
 *    1..15 and within the bytes given; decoding exactly len bytes gives the
 *    same instruction, and len - 1 bytes give -X86_ETRUNC; 15 bytes never
 *    give -X86_ETRUNC; sizes, scale and registers are in range;
 *  - emulate: every access is 1, 2, 4 or 8 bytes to a real segment, at
 *    most 2 * X86_EMU_REP_MAX + 4 of them; on success RIP moved by len (or
 *    stayed, for a REP string op with rCX left); on an error, apart from a
 *    REP string op's completed iterations, the registers are unchanged;
 *    RFLAGS outside the arithmetic flags never changes;
 *  - the page walk returns only its documented codes; with paging off the
 *    address is the linear one truncated to 32 bits; a #PF error code
 *    has only the bits the walk can set and its W/U bits match the access;
 *    translating the same address again gives the same result.
 */
#include "test/fuzz/fuzz.h"
#include "arch/x86/decode.h"
#include "arch/x86/emulate.h"
#include "arch/x86/x86_defs.h"
#include "core/gpt.h"

#define LOW_SIZE   (64 * KiB)
#define HIGH_GPA   (1 * MiB)
#define HIGH_SIZE  (16 * KiB)
#define MMIO_GPA   0xfee00000ULL   /* a device page: reads give a pattern */
#define START_RIP  0x1000ULL
#define EFAKE      77              /* the model's own error, passed through */

#define CR4_SMEP   (1ULL << 20)
#define CR4_SMAP   (1ULL << 21)
#define CR4_LA57   (1ULL << 12)

struct model {
	struct guest_mem mem;
	struct gpt_mode mode;
	bool long_mode, user;
	uint64_t seg_base[NR_SEGS];
	unsigned accesses;
};

static void check_translate(struct model *x, uint64_t la, int access, int r, gpa_t gpa,
			    uint32_t err)
{
	FUZZ_CHECK(r == 0 || r == GPT_FAULT || r == GPT_BAD_TABLE || r == GPT_NONCANON ||
		   r == GPT_RETRY);
	if (!(x->mode.cr0 & CR0_PG))
		FUZZ_CHECK(r == 0 && gpa == (la & 0xffffffffULL));
	if (r == GPT_FAULT) {
		FUZZ_CHECK((err & ~0x1fu) == 0);
		FUZZ_CHECK(!!(err & GPT_PF_W) == (access == GPT_WRITE));
		FUZZ_CHECK(!!(err & GPT_PF_U) == x->user);
		if (access != GPT_FETCH)
			FUZZ_CHECK(!(err & GPT_PF_ID));
	}
	/* Accessed/dirty flags are set by the first walk; the second sees the same. */
	gpa_t gpa2 = 0;
	uint32_t err2 = 0;
	int r2 = gpt_translate(&x->mem, &x->mode, la, access, x->user, &gpa2, &err2);
	FUZZ_CHECK(r2 == r);
	if (r == 0)
		FUZZ_CHECK(gpa2 == gpa);
	if (r == GPT_FAULT)
		FUZZ_CHECK(err2 == err);
}

/* As core/emul.c: page by page, RAM or the MMIO page, else an error. */
static int access_virt(struct model *x, int seg, uint64_t ea, void *val, unsigned size,
		       bool write)
{
	FUZZ_CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	FUZZ_CHECK(seg >= 0 && seg < NR_SEGS);
	FUZZ_CHECK(++x->accesses <= 2 * X86_EMU_REP_MAX + 4);
	uint64_t la = x->long_mode ? ((seg == SEG_FS || seg == SEG_GS) ? ea + x->seg_base[seg] : ea)
				   : (x->seg_base[seg] + ea) & 0xffffffffULL;
	uint8_t *b = val;
	while (size) {
		unsigned chunk = MIN(size, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
		int access = write ? GPT_WRITE : GPT_READ;
		gpa_t gpa = 0;
		uint32_t err = 0;
		int r = gpt_translate(&x->mem, &x->mode, la, access, x->user, &gpa, &err);
		check_translate(x, la, access, r, gpa, err);
		if (r)
			return r - 1000;
		void *p = gmem_ptr(&x->mem, gpa, chunk);
		if (p) {
			if (write)
				memcpy(p, b, chunk);
			else
				memcpy(b, p, chunk);
		} else if (gpa >= MMIO_GPA && gpa + chunk <= MMIO_GPA + PAGE_SIZE) {
			if (!write)
				memset(b, 0xa5, chunk);
		} else {
			return -EFAKE;
		}
		la += chunk;
		b += chunk;
		size -= chunk;
	}
	return 0;
}

static int op_read(void *ctx, int seg, uint64_t ea, void *val, unsigned size)
{
	return access_virt(ctx, seg, ea, val, size, false);
}

static int op_write(void *ctx, int seg, uint64_t ea, const void *val, unsigned size)
{
	return access_virt(ctx, seg, ea, (void *)val, size, true);
}

static const struct x86_emu_ops ops = { op_read, op_write };

static void check_insn(const struct x86_insn *i, enum x86_mode mode, size_t avail)
{
	FUZZ_CHECK(i->len >= 1 && i->len <= X86_MAX_INSN_LEN && i->len <= avail);
	FUZZ_CHECK(i->opsize == 1 || i->opsize == 2 || i->opsize == 4 || i->opsize == 8);
	FUZZ_CHECK(i->addrsize == 2 || i->addrsize == 4 || i->addrsize == 8);
	if (mode == X86_MODE_LONG64)
		FUZZ_CHECK(i->addrsize != 2);
	else
		FUZZ_CHECK(i->addrsize != 8 && i->rex == 0 && i->opsize != 8);
	FUZZ_CHECK(i->imm_size <= 8 && i->imm_size < i->len);
	if (i->mem) {
		FUZZ_CHECK(i->has_modrm || i->moffs || i->op == X86_OP_MOVS || i->op == X86_OP_STOS ||
			   i->op == X86_OP_LODS || i->op == X86_OP_INS || i->op == X86_OP_OUTS);
		FUZZ_CHECK(i->scale == 1 || i->scale == 2 || i->scale == 4 || i->scale == 8);
		FUZZ_CHECK(i->base >= X86_REG_NONE && i->base < 16);
		FUZZ_CHECK(i->index >= X86_REG_NONE && i->index < 16);
		FUZZ_CHECK(i->seg < NR_SEGS);
	}
	if (i->has_modrm)
		FUZZ_CHECK(i->reg_num < 16 && i->rm_num < 16);
	FUZZ_CHECK(i->seg_override >= -1 && i->seg_override < NR_SEGS);
}

/* The fields a caller uses: decoding the same bytes must give them again. */
static bool same_insn(const struct x86_insn *a, const struct x86_insn *b)
{
	return a->op == b->op && a->form == b->form && a->len == b->len &&
	       a->prefixes == b->prefixes && a->seg == b->seg && a->opcode == b->opcode &&
	       a->opsize == b->opsize && a->src_size == b->src_size &&
	       a->addrsize == b->addrsize && a->mem == b->mem && a->rip_rel == b->rip_rel &&
	       a->base == b->base && a->index == b->index && a->scale == b->scale &&
	       a->disp == b->disp && a->imm == b->imm && a->imm_size == b->imm_size &&
	       a->reg_num == b->reg_num && a->rm_num == b->rm_num && a->byte_rex == b->byte_rex &&
	       memcmp(&a->io, &b->io, sizeof(a->io)) == 0;
}

static bool rep_string(const struct x86_insn *i)
{
	return (i->op == X86_OP_MOVS || i->op == X86_OP_STOS || i->op == X86_OP_LODS) &&
	       (i->prefixes & (X86_PFX_REP | X86_PFX_REPNE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static const enum x86_mode modes[4] = {
		X86_MODE_REAL16, X86_MODE_PROT16, X86_MODE_PROT32, X86_MODE_LONG64 };
	unsigned ctl = (unsigned)fuzz_take(&in, 2);
	enum x86_mode mode = modes[ctl & 3];
	struct model x;
	struct x86_regs regs;

	memset(&x, 0, sizeof(x));
	memset(&regs, 0, sizeof(regs));
	x.user = (ctl >> 5) & 1;
	x.long_mode = mode == X86_MODE_LONG64;
	/* Paging as the mode allows: off, 32-bit, 32-bit + PSE, PAE; 4- or 5-level in long mode. */
	unsigned pg = (ctl >> 2) & 7;
	uint64_t cr0 = mode == X86_MODE_REAL16 ? 0 : CR0_PE, cr4 = 0, efer = 0;
	if (x.long_mode) {
		cr0 |= CR0_PG;
		cr4 |= CR4_PAE | ((pg & 1) ? CR4_LA57 : 0);
		efer |= EFER_LME | EFER_LMA;
	} else if (mode != X86_MODE_REAL16 && pg) {
		cr0 |= CR0_PG;
		cr4 |= pg == 2 ? CR4_PSE : pg >= 3 ? CR4_PAE : 0;
	}
	cr0 |= (ctl & 0x40) ? CR0_WP : 0;
	efer |= (ctl & 0x80) ? EFER_NXE : 0;
	cr4 |= ((ctl >> 8) & 1 ? CR4_SMEP : 0) | ((ctl >> 9) & 1 ? CR4_SMAP : 0);
	x.mode = (struct gpt_mode){ .cr0 = cr0, .cr4 = cr4, .efer = efer,
				    .cr3 = fuzz_take(&in, 4) & 0x1fffff,
				    .maxphyaddr = (ctl >> 10) & 1 ? 36 : 0 };
	regs.rflags = (fuzz_take(&in, 4) & 0x3f7fd7) | 2;
	x.mode.rflags = regs.rflags;
	x.seg_base[SEG_FS] = fuzz_take(&in, 4);
	x.seg_base[SEG_GS] = fuzz_take(&in, 4);
	for (int r = 0; r < NR_GPRS; r++)
		regs.gpr[r] = fuzz_take(&in, (ctl >> 11) & 1 ? 8 : 4);
	regs.rip = START_RIP;

	uint8_t bytes[X86_MAX_INSN_LEN];
	size_t avail = MIN(in.n, sizeof(bytes));
	memcpy(bytes, in.p, avail);
	in.p += avail;
	in.n -= avail;

	uint8_t *low = calloc(1, LOW_SIZE), *high = calloc(1, HIGH_SIZE);
	memcpy(low, in.p, MIN(in.n, LOW_SIZE));
	if (in.n > LOW_SIZE)
		memcpy(high, in.p + LOW_SIZE, MIN(in.n - LOW_SIZE, HIGH_SIZE));
	gmem_add(&x.mem, 0, LOW_SIZE, low);
	gmem_add(&x.mem, HIGH_GPA, HIGH_SIZE, high);

	/* The decoder on its own. */
	struct x86_insn insn, again;
	int rc = x86_decode(bytes, avail, mode, &insn);
	FUZZ_CHECK(rc == 0 || rc == -X86_ETRUNC || rc == -X86_EINVAL || rc == -X86_EUNSUPPORTED);
	if (rc == -X86_ETRUNC)
		FUZZ_CHECK(avail < X86_MAX_INSN_LEN);
	if (rc == 0) {
		check_insn(&insn, mode, avail);
		FUZZ_CHECK(x86_decode(bytes, insn.len, mode, &again) == 0);
		FUZZ_CHECK(same_insn(&insn, &again));
		FUZZ_CHECK(x86_decode(bytes, insn.len - 1u, mode, &again) == -X86_ETRUNC);
	}

	/* The fetch at RIP through the page tables, as core/emul.c does it. */
	uint64_t la = START_RIP;
	gpa_t gpa = 0;
	uint32_t err = 0;
	int r = gpt_translate(&x.mem, &x.mode, la, GPT_FETCH, x.user, &gpa, &err);
	check_translate(&x, la, GPT_FETCH, r, gpa, err);

	/* The emulator, on the decoded instruction. */
	if (rc == 0) {
		struct x86_regs before = regs;
		int e = x86_emulate(&insn, &regs, &ops, &x);
		uint64_t keep = ~(RFLAGS_ARITH);
		FUZZ_CHECK((regs.rflags & keep) == (before.rflags & keep));
		if (e == 0) {
			uint64_t next = before.rip + insn.len;
			if (mode != X86_MODE_LONG64)
				next &= 0xffffffffULL;
			FUZZ_CHECK(regs.rip == next || (rep_string(&insn) && regs.rip == before.rip));
		} else if (!rep_string(&insn)) {
			FUZZ_CHECK(memcmp(&regs, &before, sizeof(regs)) == 0);
		} else {
			FUZZ_CHECK(regs.rip == before.rip);
		}
	}
	free(low);
	free(high);
	return 0;
}
