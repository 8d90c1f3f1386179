/*
 * mmio: kasane's instruction emulation on the scratch MMIO page
 * (GUEST_TEST_MMIO_BASE, include/kasane/abi.h: every access traps; reads return what
 * was last written, byte for byte, initially zero).
 *
 * Differential: each instruction form runs twice, once with its memory
 * operand in a RAM window and once in the same-sized window at the start
 * of the MMIO page, both filled with the same pattern and with the same
 * input flags.  The register result, the arithmetic flags (AF excepted
 * where SDM vol. 1 appendix A calls it undefined: logic ops) and the
 * whole window must match.  RIP-relative operands cannot reach the page,
 * so operands are register-based, with SIB and displacement forms, plus
 * the moffs64 (A0-A3) absolute forms.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "mmio";

#define WIN_QWORDS      16
#define MMIO            ((volatile uint64_t *)GUEST_TEST_MMIO_BASE)
#define FLAGS_IN        0x895ul         /* CF PF AF SF OF set, ZF clear */
#define REG_IN          0x8899aabbccddeeffull
#define MASK_ALL        RFLAGS_ARITH
#define MASK_LOGIC      (RFLAGS_ARITH & ~RFLAGS_AF)

static uint64_t ram_win[WIN_QWORDS] __attribute__((aligned(64), used));
static const uint64_t movs_src[6] __attribute__((used)) = {
	0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
	0x4444444444444444, 0x5555555555555555, 0x6666666666666666,
};
static uint64_t movs_dst[8];
static unsigned nr_ok;

static uint64_t pattern(unsigned i)
{
	return 0xf1e2d3c4b5a69788ull ^ (i * 0x1111111111111111ull);
}

static void win_fill(volatile uint64_t *w)
{
	for (unsigned i = 0; i < WIN_QWORDS; i++)
		w[i] = pattern(i);
}

static void op_check(const char *insn, unsigned long mask, uint64_t r_ram, uint64_t r_mmio,
		     unsigned long f_ram, unsigned long f_mmio)
{
	bool ok = true;

	if (r_ram != r_mmio) {
		guest_fail("\"%s\": register 0x%lx with MMIO, 0x%lx with RAM", insn, r_mmio, r_ram);
		ok = false;
	}
	if ((f_ram ^ f_mmio) & mask) {
		guest_fail("\"%s\": RFLAGS 0x%lx with MMIO, 0x%lx with RAM (compared 0x%lx)",
			   insn, f_mmio, f_ram, mask);
		ok = false;
	}
	for (unsigned i = 0; i < WIN_QWORDS && ok; i++) {
		uint64_t m = MMIO[i];
		if (m != ram_win[i]) {
			guest_fail("\"%s\": memory at +0x%x is 0x%lx in MMIO, 0x%lx in RAM",
				   insn, i * 8, m, ram_win[i]);
			ok = false;
		}
	}
	nr_ok += ok;
}

/*
 * Runs insn with %[m] = window base, %[i] = 2, %[r] = REG_IN in and the
 * result out, RFLAGS = FLAGS_IN; RAX, RCX, RSI, RDI are free for insn.
 * %[m] is RBX or RDX ("Q") so that forms using AH encode without REX.
 */
#define RUN(insn, base, reg, flags) \
	asm volatile("pushq %[fin]\n\tpopfq\n\t" insn "\n\tpushfq\n\tpopq %[f]" \
		     : [r] "+r"(reg), [f] "=&r"(flags) \
		     : [m] "Q"(base), [i] "r"(2ul), [fin] "i"(FLAGS_IN) \
		     : "memory", "cc", "rax", "rcx", "rsi", "rdi")

#define OP(mask, insn) do { \
	uint64_t r_ram = REG_IN, r_mmio = REG_IN; \
	unsigned long f_ram, f_mmio; \
	win_fill(ram_win); \
	win_fill(MMIO); \
	RUN(insn, ram_win, r_ram, f_ram); \
	RUN(insn, GUEST_TEST_MMIO_BASE, r_mmio, f_mmio); \
	op_check(insn, mask, r_ram, r_mmio, f_ram, f_mmio); \
} while (0)

/*
 * moffs64 forms: the address is spliced into the text, as ram_win+8 and as
 * MMIO_QWORD1 (GUEST_TEST_MMIO_BASE + 8).
 */
#define MMIO_QWORD1     "0xfebf0008"
_Static_assert(GUEST_TEST_MMIO_BASE == 0xfebf0000, "MMIO_QWORD1 is out of date");

#define RUN_ABS(insn, reg, flags) \
	asm volatile("pushq %[fin]\n\tpopfq\n\t" insn "\n\tpushfq\n\tpopq %[f]" \
		     : [r] "+r"(reg), [f] "=&r"(flags) : [fin] "i"(FLAGS_IN) \
		     : "memory", "cc", "rax")

#define OP_ABS(pre, post) do { \
	uint64_t r_ram = REG_IN, r_mmio = REG_IN; \
	unsigned long f_ram, f_mmio; \
	win_fill(ram_win); \
	win_fill(MMIO); \
	RUN_ABS(pre "ram_win+8" post, r_ram, f_ram); \
	RUN_ABS(pre MMIO_QWORD1 post, r_mmio, f_mmio); \
	op_check(pre "<abs>" post, MASK_ALL, r_ram, r_mmio, f_ram, f_mmio); \
} while (0)

static void test_basics(void)
{
	uint64_t last = MMIO[GUEST_TEST_MMIO_SIZE / 8 - 1];

	guest_check_eq("first read of the MMIO page's last qword", last, 0);
	MMIO[0] = 0x0123456789abcdefull;
	if (!guest_check_eq("8-byte read back of the MMIO page", MMIO[0], 0x0123456789abcdefull))
		guest_fail("plain MMIO store/load broken: the remaining checks are meaningless");
	else
		guest_printf("mmio: plain 8-byte store and load ok\n");
}

static void test_mov(void)
{
	/* stores, register and immediate, all widths, SIB, unaligned */
	OP(MASK_ALL, "movb %b[r], 3(%[m])");
	OP(MASK_ALL, "movw %w[r], 6(%[m])");
	OP(MASK_ALL, "movl %k[r], 12(%[m])");
	OP(MASK_ALL, "movq %[r], 16(%[m])");
	OP(MASK_ALL, "movq %[r], 8(%[m],%[i],8)");
	OP(MASK_ALL, "movl %k[r], 36(%[m],%[i],2)");
	OP(MASK_ALL, "movq %[r], 45(%[m])");
	OP(MASK_ALL, "movb $0x81, 5(%[m])");
	OP(MASK_ALL, "movw $0x8001, 10(%[m])");
	OP(MASK_ALL, "movl $0x80000001, 20(%[m])");
	OP(MASK_ALL, "movq $-0x7fffffff, 32(%[m])");
	/* loads */
	OP(MASK_ALL, "movb 3(%[m]), %b[r]");
	OP(MASK_ALL, "movw 6(%[m]), %w[r]");
	OP(MASK_ALL, "movl 12(%[m]), %k[r]");
	OP(MASK_ALL, "movq 16(%[m]), %[r]");
	OP(MASK_ALL, "movq 8(%[m],%[i],8), %[r]");
	OP(MASK_ALL, "movq 45(%[m]), %[r]");
	OP(MASK_ALL, "movq %[r], %%rax\n\tmovb 7(%[m]), %%ah\n\tmovq %%rax, %[r]");
	OP(MASK_ALL, "movq %[r], %%rax\n\tmovb %%ah, 9(%[m])");
	/* zero and sign extension */
	OP(MASK_ALL, "movzbl 9(%[m]), %k[r]");
	OP(MASK_ALL, "movzbw 9(%[m]), %w[r]");
	OP(MASK_ALL, "movzwq 10(%[m]), %[r]");
	OP(MASK_ALL, "movsbq 11(%[m]), %[r]");
	OP(MASK_ALL, "movsbl 24(%[m]), %k[r]");
	OP(MASK_ALL, "movswl 14(%[m]), %k[r]");
	OP(MASK_ALL, "movswq 30(%[m],%[i],1), %[r]");
	OP(MASK_ALL, "movslq 20(%[m]), %[r]");
	/* moffs64: A0-A3 */
	OP_ABS("movq %[r], %%rax\n\tmovabsb ", ", %%al\n\tmovq %%rax, %[r]");
	OP_ABS("movabsq ", ", %%rax\n\tmovq %%rax, %[r]");
	OP_ABS("movq %[r], %%rax\n\tmovabsl %%eax, ", "");
	OP_ABS("movq %[r], %%rax\n\tmovabsq %%rax, ", "");
}

static void test_alu(void)
{
	/* memory destination, register source */
	OP(MASK_ALL, "addq %[r], 8(%[m])");
	OP(MASK_ALL, "addb %b[r], 1(%[m])");
	OP(MASK_ALL, "subl %k[r], 4(%[m])");
	OP(MASK_ALL, "subw %w[r], 2(%[m],%[i],4)");
	OP(MASK_ALL, "adcq %[r], 16(%[m])");
	OP(MASK_ALL, "sbbl %k[r], 20(%[m])");
	OP(MASK_LOGIC, "andq %[r], 24(%[m])");
	OP(MASK_LOGIC, "orl %k[r], 28(%[m])");
	OP(MASK_LOGIC, "xorw %w[r], 30(%[m])");
	OP(MASK_LOGIC, "xorq %[r], 8(%[m],%[i],8)");
	/* memory destination, immediate source (80, 81, 83) */
	OP(MASK_ALL, "addl $0x7fffffff, 4(%[m])");
	OP(MASK_ALL, "subl $1, 8(%[m])");
	OP(MASK_ALL, "subq $-128, 40(%[m])");
	OP(MASK_ALL, "adcb $0x7f, 3(%[m])");
	OP(MASK_ALL, "sbbw $0x1234, 6(%[m])");
	OP(MASK_LOGIC, "andq $-16, (%[m])");
	OP(MASK_LOGIC, "orw $0x8000, 2(%[m])");
	OP(MASK_LOGIC, "xorb $0xff, 1(%[m])");
	OP(MASK_LOGIC, "andl $0, 12(%[m])");
	/* register destination, memory source */
	OP(MASK_ALL, "addq 8(%[m]), %[r]");
	OP(MASK_ALL, "subl 4(%[m]), %k[r]");
	OP(MASK_ALL, "sbbq 56(%[m]), %[r]");
	OP(MASK_LOGIC, "orb 5(%[m]), %b[r]");
	OP(MASK_LOGIC, "andw 6(%[m]), %w[r]");
	/* CMP and TEST only set flags */
	OP(MASK_ALL, "cmpq %[r], 8(%[m])");
	OP(MASK_ALL, "cmpq 16(%[m]), %[r]");
	OP(MASK_ALL, "cmpl $0x12345678, 4(%[m])");
	OP(MASK_ALL, "cmpb 3(%[m]), %b[r]");
	OP(MASK_ALL, "cmpw $-1, 26(%[m])");
	OP(MASK_ALL, "movq 24(%[m]), %%rax\n\tcmpq %%rax, 24(%[m])");
	OP(MASK_LOGIC, "testq %[r], 8(%[m])");
	OP(MASK_LOGIC, "testb $0x80, 3(%[m])");
	OP(MASK_LOGIC, "testl $0, 4(%[m])");
	OP(MASK_LOGIC, "testw %w[r], 50(%[m])");
	/* XCHG: both register and memory change */
	OP(MASK_ALL, "xchgq %[r], 16(%[m])");
	OP(MASK_ALL, "xchgl %k[r], 12(%[m])");
	OP(MASK_ALL, "xchgb %b[r], 5(%[m])");
	OP(MASK_ALL, "xchgw 22(%[m],%[i],4), %w[r]");
}

static void test_string(void)
{
	/* STOS; %[r] returns RDI's offset from the base, and RCX */
#define STR_END "\n\tmovq %%rdi, %[r]\n\tsubq %[m], %[r]\n\tshlq $16, %[r]\n\taddq %%rcx, %[r]"
	OP(MASK_ALL, "movq %[r], %%rax\n\tleaq 8(%[m]), %%rdi\n\tmovl $5, %%ecx\n\trep stosl" STR_END);
	OP(MASK_ALL, "movq %[r], %%rax\n\tleaq 3(%[m]), %%rdi\n\tstosb" STR_END);
	OP(MASK_ALL, "movq %[r], %%rax\n\tleaq 16(%[m]), %%rdi\n\tmovl $3, %%ecx\n\trep stosq" STR_END);
	OP(MASK_ALL, "movq %[r], %%rax\n\tleaq 40(%[m]), %%rdi\n\tmovl $7, %%ecx\n\t"
		     "std\n\trep stosw\n\tcld" STR_END);
	OP(MASK_ALL, "movq %[r], %%rax\n\tleaq 8(%[m]), %%rdi\n\txorl %%ecx, %%ecx\n\trep stosq" STR_END);
	/* MOVS: RAM to the window, and within the window (MMIO to MMIO) */
	OP(MASK_ALL, "leaq movs_src(%%rip), %%rsi\n\tleaq 8(%[m]), %%rdi\n\tmovl $6, %%ecx\n\t"
		     "rep movsq" STR_END);
	OP(MASK_ALL, "leaq 8(%[m]), %%rsi\n\tleaq 72(%[m]), %%rdi\n\tmovl $5, %%ecx\n\t"
		     "rep movsq" STR_END);
	OP(MASK_ALL, "leaq 30(%[m]), %%rsi\n\tleaq 33(%[m]), %%rdi\n\tmovl $20, %%ecx\n\t"
		     "std\n\trep movsb\n\tcld" STR_END);
	OP(MASK_ALL, "leaq 4(%[m]), %%rsi\n\tleaq 61(%[m]), %%rdi\n\tmovsw" STR_END);
	/* LODS */
	OP(MASK_ALL, "leaq 16(%[m]), %%rsi\n\tlodsq\n\tmovq %%rax, %[r]");
	OP(MASK_ALL, "movq %[r], %%rax\n\tleaq 9(%[m]), %%rsi\n\tlodsb\n\tmovq %%rax, %[r]");
#undef STR_END

	/* MOVS from the MMIO page into RAM */
	win_fill(MMIO);
	unsigned long s = GUEST_TEST_MMIO_BASE + 8, d = (uintptr_t)movs_dst, c = 6;
	memset(movs_dst, 0, sizeof(movs_dst));
	asm volatile("rep movsq" : "+S"(s), "+D"(d), "+c"(c) :: "memory");
	bool ok = c == 0 && d == (uintptr_t)&movs_dst[6] && !movs_dst[6];
	for (unsigned i = 0; i < 6; i++)
		ok = ok && movs_dst[i] == pattern(i + 1);
	if (ok)
		nr_ok++;
	else
		guest_fail("rep movsq MMIO to RAM: got 0x%lx 0x%lx ... RCX %lu, expected 0x%lx 0x%lx ...",
			   movs_dst[0], movs_dst[1], c, pattern(1), pattern(2));
}

/* Whole-page REP STOS: 512 iterations through the emulator. */
static void test_page(void)
{
	unsigned long d = GUEST_TEST_MMIO_BASE, c = GUEST_TEST_MMIO_SIZE / 8;
	uint64_t v = 0x5a5a5a5a00000000ull;

	asm volatile("rep stosq" : "+D"(d), "+c"(c) : "a"(v) : "memory");
	if (c || d != GUEST_TEST_MMIO_BASE + GUEST_TEST_MMIO_SIZE)
		guest_fail("rep stosq over the page left RCX %lu RDI 0x%lx", c, d);
	static const unsigned offs[] = { 0, 8, 0x800, 0xff0, 0xff8 };
	for (unsigned i = 0; i < ARRAY_SIZE(offs); i++)
		guest_check_eq("qword after rep stosq over the MMIO page", MMIO[offs[i] / 8], v);
	guest_printf("mmio: rep stosq over the whole page done\n");
}

void test_main(void)
{
	test_basics();
	if (guest_result() != RESULT_SUCCESS)
		return;
	test_mov();
	test_alu();
	test_string();
	test_page();
	guest_printf("mmio: %u instruction forms matched RAM\n", nr_ok);
}
