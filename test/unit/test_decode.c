/* Host unit tests for the x86 instruction decoder (arch/x86/decode.c). */
#include "test/unit/check.h"
#include "arch/x86/decode.h"

#define NONE X86_REG_NONE

/* What a table row checks beyond rc, len and op. */
#define C_SIZE  (1u << 0)   /* opsize, addrsize */
#define C_MEM   (1u << 1)   /* mem, base, index, scale, disp, rip_rel, seg */
#define C_IMM   (1u << 2)   /* imm, imm_size */
#define C_REG   (1u << 3)   /* reg_num */
#define C_RM    (1u << 4)   /* mem == false, rm_num */
#define C_IO    (1u << 5)   /* io.* */
#define C_SRC   (1u << 6)   /* src_size */
#define C_BREX  (1u << 7)   /* byte_rex */
#define C_PFX   (1u << 8)   /* prefixes */

struct row {
	const char *name;
	enum x86_mode mode;
	uint8_t b[20];
	unsigned n;
	int rc;
	unsigned len;
	enum x86_op op;
	unsigned chk;
	unsigned os, as, src;
	int base, index, scale;
	int64_t disp;
	bool rip, moffs;
	int seg;
	uint64_t imm;
	unsigned imm_size;
	unsigned reg, rm;
	bool brex;
	unsigned pfx;
	bool io_in, io_dx, io_str, io_rep;
	unsigned io_size, io_port;
};

#define M(m, ...) .mode = X86_MODE_##m, .b = { __VA_ARGS__ }, \
	.n = sizeof((uint8_t[]){ __VA_ARGS__ })
#define OK(l, o) .rc = 0, .len = (l), .op = X86_OP_##o
#define ERR(e) .rc = -X86_##e
#define SZ(o, a) .os = (o), .as = (a)
#define MEM(b_, i_, s_, d_, seg_) .base = (b_), .index = (i_), .scale = (s_), \
	.disp = (d_), .seg = SEG_##seg_
#define IMM(v, s) .imm = (v), .imm_size = (s)

static const struct row rows[] = {
	/* ---- MOV, 64-bit ModRM/SIB forms ---- */
	{ "mov eax,[rbx]", M(LONG64, 0x8b, 0x03), OK(2, MOV), C_SIZE | C_MEM | C_REG,
	  SZ(4, 8), MEM(REG_RBX, NONE, 1, 0, DS), .reg = REG_RAX },
	{ "mov rax,[rbx]", M(LONG64, 0x48, 0x8b, 0x03), OK(3, MOV), C_SIZE,
	  SZ(8, 8) },
	{ "mov r8,[rbx] REX.R", M(LONG64, 0x4c, 0x8b, 0x03), OK(3, MOV),
	  C_SIZE | C_REG | C_MEM, SZ(8, 8), MEM(REG_RBX, NONE, 1, 0, DS), .reg = REG_R8 },
	{ "mov eax,[r11] REX.B", M(LONG64, 0x41, 0x8b, 0x03), OK(3, MOV), C_MEM,
	  MEM(REG_R11, NONE, 1, 0, DS) },
	{ "mov eax,[rsp] needs SIB", M(LONG64, 0x8b, 0x04, 0x24), OK(3, MOV), C_MEM,
	  MEM(REG_RSP, NONE, 1, 0, SS) },
	{ "mov eax,[r12] needs SIB", M(LONG64, 0x41, 0x8b, 0x04, 0x24), OK(4, MOV), C_MEM,
	  MEM(REG_R12, NONE, 1, 0, DS) },
	{ "mov eax,[rbp+0] needs disp8", M(LONG64, 0x8b, 0x45, 0x00), OK(3, MOV), C_MEM,
	  MEM(REG_RBP, NONE, 1, 0, SS) },
	{ "mov eax,[r13+0] needs disp8", M(LONG64, 0x41, 0x8b, 0x45, 0x00), OK(4, MOV), C_MEM,
	  MEM(REG_R13, NONE, 1, 0, DS) },
	{ "SIB no base, index*4+disp32", M(LONG64, 0x8b, 0x04, 0x8d, 0x78, 0x56, 0x34, 0x12),
	  OK(7, MOV), C_MEM, MEM(NONE, REG_RCX, 4, 0x12345678, DS) },
	{ "SIB REX.X index 100 is r12", M(LONG64, 0x42, 0x8b, 0x04, 0x25, 0x00, 0x10, 0, 0),
	  OK(8, MOV), C_MEM, MEM(NONE, REG_R12, 1, 0x1000, DS) },
	{ "SIB no base no index", M(LONG64, 0x8b, 0x04, 0x25, 0x00, 0x10, 0, 0),
	  OK(7, MOV), C_MEM, MEM(NONE, NONE, 1, 0x1000, DS) },
	{ "SIB base rbp mod=1", M(LONG64, 0x8b, 0x44, 0xb5, 0x10),
	  OK(4, MOV), C_MEM, MEM(REG_RBP, REG_RSI, 4, 0x10, SS) },
	{ "rip-relative", M(LONG64, 0x8b, 0x05, 0x10, 0, 0, 0), OK(6, MOV), C_MEM,
	  MEM(NONE, NONE, 1, 0x10, DS), .rip = true },
	{ "SIB disp8 negative", M(LONG64, 0x48, 0x8b, 0x44, 0x8b, 0xf8), OK(5, MOV),
	  C_MEM | C_SIZE, SZ(8, 8), MEM(REG_RBX, REG_RCX, 4, -8, DS) },
	{ "[rsp+disp32]", M(LONG64, 0x8b, 0x84, 0x24, 0x00, 0x01, 0, 0), OK(7, MOV), C_MEM,
	  MEM(REG_RSP, NONE, 1, 0x100, SS) },
	{ "disp32 negative", M(LONG64, 0x89, 0x98, 0, 0, 0, 0x80), OK(6, MOV),
	  C_MEM | C_REG, MEM(REG_RAX, NONE, 1, -0x80000000LL, DS), .reg = REG_RBX },
	{ "66 mov [rax],cx", M(LONG64, 0x66, 0x89, 0x08), OK(3, MOV), C_SIZE | C_PFX,
	  SZ(2, 8), .pfx = X86_PFX_OPSIZE },
	{ "67 mov eax,[ebx]", M(LONG64, 0x67, 0x8b, 0x03), OK(3, MOV), C_SIZE | C_MEM,
	  SZ(4, 4), MEM(REG_RBX, NONE, 1, 0, DS) },
	{ "mov [rax],ah", M(LONG64, 0x88, 0x20), OK(2, MOV), C_SIZE | C_REG | C_BREX,
	  SZ(1, 8), .reg = 4, .brex = false },
	{ "mov [rax],spl", M(LONG64, 0x40, 0x88, 0x20), OK(3, MOV), C_SIZE | C_REG | C_BREX,
	  SZ(1, 8), .reg = 4, .brex = true },
	{ "mov r9b,[rax]", M(LONG64, 0x44, 0x8a, 0x08), OK(3, MOV), C_SIZE | C_REG,
	  SZ(1, 8), .reg = REG_R9 },
	{ "mov ecx,r10d (register)", M(LONG64, 0x44, 0x89, 0xd1), OK(3, MOV), C_REG | C_RM,
	  .reg = REG_R10, .rm = REG_RCX },
	{ "48 66: REX.W wins", M(LONG64, 0x66, 0x48, 0x8b, 0x00), OK(4, MOV), C_SIZE, SZ(8, 8) },
	{ "REX then prefix: REX ignored", M(LONG64, 0x48, 0x66, 0x8b, 0x00), OK(4, MOV),
	  C_SIZE, SZ(2, 8) },

	/* ---- MOV immediate and moffs ---- */
	{ "mov byte [rax],0xff", M(LONG64, 0xc6, 0x00, 0xff), OK(3, MOV), C_SIZE | C_IMM,
	  SZ(1, 8), IMM(~0ULL, 1) },
	{ "mov dword [rax],imm32", M(LONG64, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12), OK(6, MOV),
	  C_SIZE | C_IMM, SZ(4, 8), IMM(0x12345678, 4) },
	{ "mov qword [rax],-1", M(LONG64, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff),
	  OK(7, MOV), C_SIZE | C_IMM, SZ(8, 8), IMM(~0ULL, 4) },
	{ "mov word [rax],imm16", M(LONG64, 0x66, 0xc7, 0x00, 0x34, 0x12), OK(5, MOV),
	  C_SIZE | C_IMM, SZ(2, 8), IMM(0x1234, 2) },
	{ "mov dword [rip+4],1", M(LONG64, 0xc7, 0x05, 4, 0, 0, 0, 1, 0, 0, 0), OK(10, MOV),
	  C_MEM | C_IMM, MEM(NONE, NONE, 1, 4, DS), .rip = true, IMM(1, 4) },
	{ "mov eax,moffs64", M(LONG64, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(9, MOV), C_MEM | C_REG, MEM(NONE, NONE, 1, 0x1122334455667788LL, DS),
	  .moffs = true, .reg = REG_RAX },
	{ "67 mov eax,moffs32", M(LONG64, 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11), OK(6, MOV),
	  C_SIZE | C_MEM, SZ(4, 4), MEM(NONE, NONE, 1, 0x11223344, DS), .moffs = true },
	{ "mov moffs64,rax", M(LONG64, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), OK(10, MOV),
	  C_SIZE, SZ(8, 8) },
	{ "prot32 mov al,moffs32", M(PROT32, 0xa0, 0x00, 0x00, 0x00, 0xfe), OK(5, MOV),
	  C_SIZE | C_MEM, SZ(1, 4), MEM(NONE, NONE, 1, 0xfe000000LL, DS), .moffs = true },
	{ "real16 mov moffs16,al", M(REAL16, 0xa2, 0x34, 0x92), OK(3, MOV),
	  C_SIZE | C_MEM, SZ(1, 2), MEM(NONE, NONE, 1, 0x9234, DS), .moffs = true },
	{ "gs: moffs", M(LONG64, 0x65, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0), OK(10, MOV), C_MEM,
	  MEM(NONE, NONE, 1, 0, GS), .moffs = true },

	/* ---- MOVZX / MOVSX / MOVSXD ---- */
	{ "movzx eax,byte [rbx]", M(LONG64, 0x0f, 0xb6, 0x03), OK(3, MOVZX), C_SIZE | C_SRC,
	  SZ(4, 8), .src = 1 },
	{ "movzx rax,word [rbx]", M(LONG64, 0x48, 0x0f, 0xb7, 0x03), OK(4, MOVZX),
	  C_SIZE | C_SRC, SZ(8, 8), .src = 2 },
	{ "movsx eax,ah", M(LONG64, 0x0f, 0xbe, 0xc4), OK(3, MOVSX), C_SRC | C_RM | C_BREX,
	  .src = 1, .rm = 4, .brex = false },
	{ "movsxd rax,[rbx]", M(LONG64, 0x48, 0x63, 0x03), OK(3, MOVSX), C_SIZE | C_SRC,
	  SZ(8, 8), .src = 4 },

	/* ---- ALU ---- */
	{ "add [rax],ebx", M(LONG64, 0x01, 0x18), OK(2, ADD), C_REG, .reg = REG_RBX },
	{ "add ebx,[rax]", M(LONG64, 0x03, 0x18), OK(2, ADD), C_REG, .reg = REG_RBX },
	{ "or [rax],cl", M(LONG64, 0x08, 0x08), OK(2, OR), C_SIZE, SZ(1, 8) },
	{ "adc [rax],ecx", M(LONG64, 0x11, 0x08), OK(2, ADC), 0 },
	{ "sbb [rax],ecx", M(LONG64, 0x19, 0x08), OK(2, SBB), 0 },
	{ "and ecx,[rax]", M(LONG64, 0x23, 0x08), OK(2, AND), 0 },
	{ "sub [rax],ecx", M(LONG64, 0x29, 0x08), OK(2, SUB), 0 },
	{ "xor [rax],ecx", M(LONG64, 0x31, 0x08), OK(2, XOR), 0 },
	{ "cmp cl,[rax]", M(LONG64, 0x3a, 0x08), OK(2, CMP), C_SIZE, SZ(1, 8) },
	{ "cmp byte [rax],5", M(LONG64, 0x80, 0x38, 0x05), OK(3, CMP), C_SIZE | C_IMM,
	  SZ(1, 8), IMM(5, 1) },
	{ "add dword [rax],-1 (83)", M(LONG64, 0x83, 0x00, 0xff), OK(3, ADD), C_IMM,
	  IMM(~0ULL, 1) },
	{ "sub qword [rax],imm32 sext", M(LONG64, 0x48, 0x81, 0x28, 0, 0, 0, 0x80),
	  OK(7, SUB), C_SIZE | C_IMM, SZ(8, 8), IMM(0xffffffff80000000ULL, 4) },
	{ "xor word [rax],imm16", M(LONG64, 0x66, 0x81, 0x30, 0x34, 0x12), OK(5, XOR),
	  C_SIZE | C_IMM, SZ(2, 8), IMM(0x1234, 2) },
	{ "or dword [rax+8],0x10", M(LONG64, 0x83, 0x48, 0x08, 0x10), OK(4, OR),
	  C_MEM | C_IMM, MEM(REG_RAX, NONE, 1, 8, DS), IMM(0x10, 1) },
	{ "and [rax],imm32 /4", M(LONG64, 0x81, 0x20, 1, 0, 0, 0), OK(6, AND), 0 },
	{ "add al,0x7f", M(LONG64, 0x04, 0x7f), OK(2, ADD), C_SIZE | C_RM | C_IMM,
	  SZ(1, 8), .rm = REG_RAX, IMM(0x7f, 1) },
	{ "and ax,0xff", M(LONG64, 0x66, 0x25, 0xff, 0x00), OK(4, AND), C_SIZE | C_IMM,
	  SZ(2, 8), IMM(0xff, 2) },
	{ "test [rax],ecx", M(LONG64, 0x85, 0x08), OK(2, TEST), 0 },
	{ "test byte [rax],0x80", M(LONG64, 0xf6, 0x00, 0x80), OK(3, TEST), C_SIZE | C_IMM,
	  SZ(1, 8), IMM(0xffffffffffffff80ULL, 1) },
	{ "test dword [rax],imm32", M(LONG64, 0xf7, 0x00, 1, 0, 0, 0), OK(6, TEST), 0 },
	{ "test al,1", M(LONG64, 0xa8, 0x01), OK(2, TEST), C_SIZE, SZ(1, 8) },
	{ "xchg [rax],ecx", M(LONG64, 0x87, 0x08), OK(2, XCHG), 0 },
	{ "xchg [rax],ah", M(LONG64, 0x86, 0x20), OK(2, XCHG), C_SIZE | C_REG, SZ(1, 8), .reg = 4 },
	{ "lock add [rax],ebx", M(LONG64, 0xf0, 0x01, 0x18), OK(3, ADD), C_PFX,
	  .pfx = X86_PFX_LOCK },
	{ "lock xchg [rax],ecx", M(LONG64, 0xf0, 0x87, 0x08), OK(3, XCHG), 0 },

	/* ---- string ops ---- */
	{ "movsb", M(LONG64, 0xa4), OK(1, MOVS), C_SIZE, SZ(1, 8) },
	{ "rep movsq", M(LONG64, 0xf3, 0x48, 0xa5), OK(3, MOVS), C_SIZE | C_PFX,
	  SZ(8, 8), .pfx = X86_PFX_REP },
	{ "rep stosb", M(LONG64, 0xf3, 0xaa), OK(2, STOS), C_SIZE, SZ(1, 8) },
	{ "67 stosd", M(LONG64, 0x67, 0xab), OK(2, STOS), C_SIZE, SZ(4, 4) },
	{ "lodsw", M(LONG64, 0x66, 0xad), OK(2, LODS), C_SIZE, SZ(2, 8) },
	{ "f2 f3: last wins", M(LONG64, 0xf2, 0xf3, 0xa4), OK(3, MOVS), C_PFX,
	  .pfx = X86_PFX_REP },
	{ "real16 movsw", M(REAL16, 0xa5), OK(1, MOVS), C_SIZE, SZ(2, 2) },

	/* ---- segments ---- */
	{ "fs: override", M(LONG64, 0x64, 0x8b, 0x00), OK(3, MOV), C_MEM | C_PFX,
	  MEM(REG_RAX, NONE, 1, 0, FS), .pfx = X86_PFX_SEG },
	{ "es: ignored in 64-bit", M(LONG64, 0x26, 0x8b, 0x00), OK(3, MOV), C_MEM,
	  MEM(REG_RAX, NONE, 1, 0, DS) },
	{ "es: in prot32", M(PROT32, 0x26, 0x8b, 0x00), OK(3, MOV), C_MEM,
	  MEM(REG_RAX, NONE, 1, 0, ES) },
	{ "ds: over rbp default ss", M(PROT32, 0x3e, 0x8b, 0x45, 0x04), OK(4, MOV), C_MEM,
	  MEM(REG_RBP, NONE, 1, 4, DS) },
	{ "cs: in prot32", M(PROT32, 0x2e, 0x89, 0x08), OK(3, MOV), C_MEM,
	  MEM(REG_RAX, NONE, 1, 0, CS) },

	/* ---- 16- and 32-bit modes ---- */
	{ "real16 mov ax,[bx+si]", M(REAL16, 0x8b, 0x00), OK(2, MOV), C_SIZE | C_MEM,
	  SZ(2, 2), MEM(REG_RBX, REG_RSI, 1, 0, DS) },
	{ "real16 mov ax,[bp-2]", M(REAL16, 0x8b, 0x46, 0xfe), OK(3, MOV), C_MEM,
	  MEM(REG_RBP, NONE, 1, -2, SS) },
	{ "real16 mov ax,[disp16]", M(REAL16, 0x8b, 0x06, 0x34, 0x12), OK(4, MOV), C_MEM,
	  MEM(NONE, NONE, 1, 0x1234, DS) },
	{ "real16 [bx+disp16]", M(REAL16, 0x8b, 0x87, 0x00, 0x80), OK(4, MOV), C_MEM,
	  MEM(REG_RBX, NONE, 1, -0x8000, DS) },
	{ "real16 [bp+di+disp8]", M(REAL16, 0x89, 0x43, 0x02), OK(3, MOV), C_MEM,
	  MEM(REG_RBP, REG_RDI, 1, 2, SS) },
	{ "real16 66 mov eax,[bx]", M(REAL16, 0x66, 0x8b, 0x07), OK(3, MOV), C_SIZE,
	  SZ(4, 2) },
	{ "real16 67 mov ax,[esp]", M(REAL16, 0x67, 0x8b, 0x04, 0x24), OK(4, MOV),
	  C_SIZE | C_MEM, SZ(2, 4), MEM(REG_RSP, NONE, 1, 0, SS) },
	{ "prot16 mov ax,[bp+si]", M(PROT16, 0x8b, 0x02), OK(2, MOV), C_SIZE | C_MEM,
	  SZ(2, 2), MEM(REG_RBP, REG_RSI, 1, 0, SS) },
	{ "prot16 mov word [si],imm16", M(PROT16, 0xc7, 0x04, 0x34, 0x12), OK(4, MOV),
	  C_IMM, IMM(0x1234, 2) },
	{ "prot32 mov eax,[disp32] absolute", M(PROT32, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12),
	  OK(6, MOV), C_SIZE | C_MEM, SZ(4, 4), MEM(NONE, NONE, 1, 0x12345678, DS) },
	{ "prot32 66 67 mov ax,[bx]", M(PROT32, 0x66, 0x67, 0x8b, 0x07), OK(4, MOV),
	  C_SIZE | C_MEM, SZ(2, 2), MEM(REG_RBX, NONE, 1, 0, DS) },
	{ "prot32 48 is dec eax", M(PROT32, 0x48), OK(1, OTHER), 0 },
	{ "prot32 82 alias of 80", M(PROT32, 0x82, 0x00, 0x01), OK(3, ADD), 0 },

	/* ---- port I/O ---- */
	{ "in al,0x60", M(LONG64, 0xe4, 0x60), OK(2, IN), C_IO,
	  .io_in = true, .io_size = 1, .io_port = 0x60 },
	{ "in eax,dx", M(LONG64, 0xed), OK(1, IN), C_IO, .io_in = true, .io_dx = true,
	  .io_size = 4 },
	{ "out dx,ax", M(LONG64, 0x66, 0xef), OK(2, OUT), C_IO, .io_dx = true, .io_size = 2 },
	{ "out 0x80,al", M(PROT32, 0xe6, 0x80), OK(2, OUT), C_IO, .io_size = 1, .io_port = 0x80 },
	{ "rep insb", M(LONG64, 0xf3, 0x6c), OK(2, INS), C_IO, .io_in = true, .io_dx = true,
	  .io_str = true, .io_rep = true, .io_size = 1 },
	{ "outsd REX.W ignored", M(LONG64, 0x48, 0x6f), OK(2, OUTS), C_IO, .io_dx = true,
	  .io_str = true, .io_size = 4 },
	{ "real16 in ax,dx", M(REAL16, 0xed), OK(1, IN), C_IO, .io_in = true, .io_dx = true,
	  .io_size = 2 },
	{ "real16 66 in eax,0x71", M(REAL16, 0x66, 0xe5, 0x71), OK(3, IN), C_IO,
	  .io_in = true, .io_size = 4, .io_port = 0x71 },

	/* ---- length only ---- */
	{ "nop", M(LONG64, 0x90), OK(1, OTHER), 0 },
	{ "pause", M(LONG64, 0xf3, 0x90), OK(2, OTHER), 0 },
	{ "hlt", M(LONG64, 0xf4), OK(1, OTHER), 0 },
	{ "vmmcall", M(LONG64, 0x0f, 0x01, 0xd9), OK(3, OTHER), 0 },
	{ "vmcall", M(LONG64, 0x0f, 0x01, 0xc1), OK(3, OTHER), 0 },
	{ "rdtscp", M(LONG64, 0x0f, 0x01, 0xf9), OK(3, OTHER), 0 },
	{ "xsetbv", M(LONG64, 0x0f, 0x01, 0xd1), OK(3, OTHER), 0 },
	{ "cpuid", M(LONG64, 0x0f, 0xa2), OK(2, OTHER), 0 },
	{ "rdmsr", M(PROT32, 0x0f, 0x32), OK(2, OTHER), 0 },
	{ "wrmsr", M(REAL16, 0x0f, 0x30), OK(2, OTHER), 0 },
	{ "rdtsc", M(LONG64, 0x0f, 0x31), OK(2, OTHER), 0 },
	{ "invlpg [rax]", M(LONG64, 0x0f, 0x01, 0x38), OK(3, OTHER), 0 },
	{ "invlpg [rip+d32]", M(LONG64, 0x0f, 0x01, 0x3d, 0, 0, 0, 0), OK(7, OTHER), 0 },
	{ "real16 invlpg [bx+si+d16]", M(REAL16, 0x0f, 0x01, 0xb8, 0, 0x10), OK(5, OTHER), 0 },
	{ "lgdt [rax]", M(LONG64, 0x0f, 0x01, 0x10), OK(3, OTHER), 0 },
	{ "lidt [rsp+8]", M(LONG64, 0x0f, 0x01, 0x5c, 0x24, 0x08), OK(5, OTHER), 0 },
	{ "mov rax,cr3", M(LONG64, 0x0f, 0x20, 0xd8), OK(3, OTHER), C_SIZE | C_RM | C_REG,
	  SZ(8, 8), .reg = 3, .rm = REG_RAX },
	{ "mov cr8,rax", M(LONG64, 0x44, 0x0f, 0x22, 0xc0), OK(4, OTHER), C_REG, .reg = 8 },
	{ "mov cr0 mod!=3 still reg", M(PROT32, 0x0f, 0x22, 0x00), OK(3, OTHER),
	  C_SIZE | C_RM, SZ(4, 4), .rm = REG_RAX },
	{ "lock mov cr0 (AMD cr8)", M(PROT32, 0xf0, 0x0f, 0x22, 0xc0), OK(4, OTHER), 0 },
	{ "mov rax,dr7", M(LONG64, 0x0f, 0x21, 0xf8), OK(3, OTHER), 0 },
	{ "mov dr7,rax", M(LONG64, 0x0f, 0x23, 0xf8), OK(3, OTHER), 0 },
	{ "int3", M(LONG64, 0xcc), OK(1, OTHER), 0 },
	{ "int 0x80", M(PROT32, 0xcd, 0x80), OK(2, OTHER), C_IMM, IMM(0x80, 1) },
	{ "iretq", M(LONG64, 0x48, 0xcf), OK(2, OTHER), C_SIZE, SZ(8, 8) },
	{ "cli", M(LONG64, 0xfa), OK(1, OTHER), 0 },
	{ "sti", M(REAL16, 0xfb), OK(1, OTHER), 0 },
	{ "wbinvd", M(LONG64, 0x0f, 0x09), OK(2, OTHER), 0 },
	{ "invd", M(LONG64, 0x0f, 0x08), OK(2, OTHER), 0 },
	{ "nopw 0(rax,rax)", M(LONG64, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00), OK(6, OTHER), 0 },
	{ "15 bytes is legal", M(LONG64, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90), OK(15, OTHER), 0 },

	/* ---- errors ---- */
	{ "truncated modrm", M(LONG64, 0x8b), ERR(ETRUNC) },
	{ "truncated SIB", M(LONG64, 0x8b, 0x04), ERR(ETRUNC) },
	{ "truncated disp32", M(LONG64, 0x8b, 0x80, 0x00, 0x01), ERR(ETRUNC) },
	{ "truncated imm32", M(LONG64, 0xc7, 0x00, 0x78, 0x56), ERR(ETRUNC) },
	{ "truncated moffs64", M(LONG64, 0xa1, 1, 2, 3, 4), ERR(ETRUNC) },
	{ "prefixes only", M(LONG64, 0x66, 0xf3), ERR(ETRUNC) },
	{ "16 bytes", M(LONG64, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90), ERR(EINVAL) },
	{ "16 bytes: imm past the limit", M(LONG64, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67,
	  0x67, 0x67, 0x67, 0xc7, 0x00, 1, 2, 3, 4, 5, 6), ERR(EINVAL) },
	{ "lock mov", M(LONG64, 0xf0, 0x8b, 0x00), ERR(EINVAL) },
	{ "lock add to register", M(LONG64, 0xf0, 0x01, 0xc0), ERR(EINVAL) },
	{ "lock cmp", M(LONG64, 0xf0, 0x39, 0x00), ERR(EINVAL) },
	{ "lock add reg,mem", M(LONG64, 0xf0, 0x03, 0x00), ERR(EINVAL) },
	{ "82 in 64-bit", M(LONG64, 0x82, 0x00, 0x01), ERR(EINVAL) },
	{ "ud2", M(LONG64, 0x0f, 0x0b), ERR(EUNSUPPORTED) },
	{ "c6 /1", M(LONG64, 0xc6, 0x08, 0x00), ERR(EUNSUPPORTED) },
	{ "f7 /3 neg", M(LONG64, 0xf7, 0x18), ERR(EUNSUPPORTED) },
	{ "arpl outside 64-bit", M(PROT32, 0x63, 0x00), ERR(EUNSUPPORTED) },
	{ "cmpsb", M(LONG64, 0xa6), ERR(EUNSUPPORTED) },
	{ "0f 01 /5 mem", M(LONG64, 0x0f, 0x01, 0x28), ERR(EUNSUPPORTED) },
};

static void check_row(const struct row *r)
{
	struct x86_insn in;
	int rc = x86_decode(r->b, r->n, r->mode, &in);

	CHECK_EQ(rc, r->rc);
	if (rc || r->rc)
		return;
	CHECK_EQ(in.len, r->len);
	CHECK_EQ(in.op, r->op);
	CHECK_EQ(in.mode, r->mode);
	if (r->chk & C_SIZE) {
		CHECK_EQ(in.opsize, r->os);
		CHECK_EQ(in.addrsize, r->as);
	}
	if (r->chk & C_MEM) {
		CHECK(in.mem);
		CHECK_EQ(in.base, r->base);
		CHECK_EQ(in.index, r->index);
		CHECK_EQ(in.scale, r->scale);
		CHECK_EQ(in.disp, r->disp);
		CHECK_EQ(in.rip_rel, r->rip);
		CHECK_EQ(in.moffs, r->moffs);
		CHECK_EQ(in.seg, r->seg);
	}
	if (r->chk & C_IMM) {
		CHECK_EQ(in.imm, r->imm);
		CHECK_EQ(in.imm_size, r->imm_size);
	}
	if (r->chk & C_REG)
		CHECK_EQ(in.reg_num, r->reg);
	if (r->chk & C_RM) {
		CHECK(!in.mem);
		CHECK_EQ(in.rm_num, r->rm);
	}
	if (r->chk & C_SRC)
		CHECK_EQ(in.src_size, r->src);
	if (r->chk & C_BREX)
		CHECK_EQ(in.byte_rex, r->brex);
	if (r->chk & C_PFX)
		CHECK_EQ(in.prefixes, r->pfx);
	if (r->chk & C_IO) {
		CHECK_EQ(in.io.in, r->io_in);
		CHECK_EQ(in.io.use_dx, r->io_dx);
		CHECK_EQ(in.io.string, r->io_str);
		CHECK_EQ(in.io.rep, r->io_rep);
		CHECK_EQ(in.io.size, r->io_size);
		if (!r->io_dx)
			CHECK_EQ(in.io.port, r->io_port);
	}
}

TEST(decode_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int before = check_cur_failed;

		check_cur_failed = 0;
		check_row(&rows[i]);
		if (check_cur_failed)
			printf("    ^ in row \"%s\"\n", rows[i].name);
		check_cur_failed |= before;
	}
	CHECK(sizeof(rows) / sizeof(rows[0]) >= 60);
}

TEST(decode_empty_buffer)
{
	struct x86_insn in;

	CHECK_EQ(x86_decode(NULL, 0, X86_MODE_LONG64, &in), -X86_ETRUNC);
}

/* Every proper prefix of a valid instruction is reported as truncated. */
TEST(decode_every_prefix_truncates)
{
	struct x86_insn in;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		if (r->rc != 0)
			continue;
		for (unsigned n = 0; n < r->len; n++)
			CHECK_EQ(x86_decode(r->b, n, r->mode, &in), -X86_ETRUNC);
	}
}

/* Bytes after the instruction do not change its decoding. */
TEST(decode_ignores_trailing_bytes)
{
	uint8_t buf[32];
	struct x86_insn in;

	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, (uint8_t[]){ 0x8b, 0x45, 0x08 }, 3);
	CHECK_EQ(x86_decode(buf, sizeof(buf), X86_MODE_LONG64, &in), 0);
	CHECK_EQ(in.len, 3);
	CHECK_EQ(in.disp, 8);
}

TEST(decode_ea)
{
	struct x86_insn in;
	struct x86_regs regs;

	memset(&regs, 0, sizeof(regs));
	/* mov eax,[rip+0x10]: relative to the next instruction. */
	regs.rip = 0xffffffff80001000ULL;
	CHECK_EQ(x86_decode((uint8_t[]){ 0x8b, 0x05, 0x10, 0, 0, 0 }, 6,
			    X86_MODE_LONG64, &in), 0);
	CHECK_EQ(x86_insn_ea(&in, &regs), 0xffffffff80001016ULL);
	/* mov rax,[rbx+rcx*4-8] */
	regs.gpr[REG_RBX] = 0x1000;
	regs.gpr[REG_RCX] = 3;
	CHECK_EQ(x86_decode((uint8_t[]){ 0x48, 0x8b, 0x44, 0x8b, 0xf8 }, 5,
			    X86_MODE_LONG64, &in), 0);
	CHECK_EQ(x86_insn_ea(&in, &regs), 0x1000 + 12 - 8);
	/* 67: 32-bit address wraps. */
	regs.gpr[REG_RBX] = 0x1fffffff0ULL;
	CHECK_EQ(x86_decode((uint8_t[]){ 0x67, 0x8b, 0x43, 0x20 }, 4,
			    X86_MODE_LONG64, &in), 0);
	CHECK_EQ(x86_insn_ea(&in, &regs), 0x10);
	/* real16 [bx+si]: 16-bit wrap. */
	regs.gpr[REG_RBX] = 0xffff;
	regs.gpr[REG_RSI] = 2;
	CHECK_EQ(x86_decode((uint8_t[]){ 0x8b, 0x00 }, 2, X86_MODE_REAL16, &in), 0);
	CHECK_EQ(x86_insn_ea(&in, &regs), 1);
	/* real16 [bx-2] with bx = 1 wraps to 0xffff. */
	regs.gpr[REG_RBX] = 1;
	CHECK_EQ(x86_decode((uint8_t[]){ 0x8b, 0x47, 0xfe }, 3, X86_MODE_REAL16, &in), 0);
	CHECK_EQ(x86_insn_ea(&in, &regs), 0xffff);
	/* moffs64 */
	CHECK_EQ(x86_decode((uint8_t[]){ 0xa3, 8, 7, 6, 5, 4, 3, 2, 0xfe }, 9,
			    X86_MODE_LONG64, &in), 0);
	CHECK_EQ(x86_insn_ea(&in, &regs), 0xfe02030405060708ULL);
	/* 67 moffs32 in 64-bit mode is zero-extended. */
	CHECK_EQ(x86_decode((uint8_t[]){ 0x67, 0xa1, 0, 0, 0, 0xf0 }, 6,
			    X86_MODE_LONG64, &in), 0);
	CHECK_EQ(x86_insn_ea(&in, &regs), 0xf0000000ULL);
	/* register operand: no EA */
	CHECK_EQ(x86_decode((uint8_t[]){ 0x89, 0xc8 }, 2, X86_MODE_LONG64, &in), 0);
	CHECK(!in.mem);
	CHECK_EQ(x86_insn_ea(&in, &regs), 0);
}

/*
 * Random bytes, as a hostile guest could supply: the decoder never reads
 * past avail (ASan checks the exact-size heap copy), never accepts more than
 * 15 bytes, and its length is stable when the buffer is cut to it.
 */
TEST(decode_random_bytes)
{
	uint64_t x = 0x243f6a8885a308d3ULL;
	unsigned accepted = 0;

	for (unsigned i = 0; i < 200000; i++) {
		uint8_t buf[16];
		struct x86_insn in, in2;
		enum x86_mode mode = (enum x86_mode)(i & 3);
		size_t avail = 1 + (i >> 2) % 16;
		uint8_t *copy;
		int rc;

		for (unsigned j = 0; j < sizeof(buf); j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Favour prefix and REX bytes so long encodings occur. */
			buf[j] = (x & 0x300) == 0 ? (uint8_t[]){ 0x66, 0x67, 0xf3, 0x48 }[x & 3] : x;
		}
		copy = malloc(avail);
		memcpy(copy, buf, avail);
		rc = x86_decode(copy, avail, mode, &in);
		CHECK(rc == 0 || rc == -X86_ETRUNC || rc == -X86_EINVAL ||
		      rc == -X86_EUNSUPPORTED);
		if (rc == 0) {
			accepted++;
			CHECK(in.len >= 1 && in.len <= avail && in.len <= X86_MAX_INSN_LEN);
			CHECK_EQ(x86_decode(copy, in.len, mode, &in2), 0);
			CHECK_EQ(in2.len, in.len);
			CHECK_EQ(x86_decode(copy, in.len - 1, mode, &in2), -X86_ETRUNC);
		}
		free(copy);
	}
	CHECK(accepted > 10000);
}

int main(void)
{
	check_start("decode");
	RUN(decode_table);
	RUN(decode_empty_buffer);
	RUN(decode_every_prefix_truncates);
	RUN(decode_ignores_trailing_bytes);
	RUN(decode_ea);
	RUN(decode_random_bytes);
	return check_finish();
}
