/* Guest general-purpose register file, in the x86 encoding order. */
#ifndef KASANE_ARCH_X86_REGS_H
#define KASANE_ARCH_X86_REGS_H

#include "lib/types.h"

/* Register numbers as encoded in ModRM/SIB/REX (Intel SDM vol. 2A §2.1.5). */
enum {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
	NR_GPRS
};

/* Segment registers in the encoding order (SDM vol. 2A §3.1.1.3, Sreg). */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, NR_SEGS };

/* RFLAGS bits (SDM vol. 1 §3.4.3). */
#define RFLAGS_CF   (1ULL << 0)
#define RFLAGS_PF   (1ULL << 2)
#define RFLAGS_AF   (1ULL << 4)
#define RFLAGS_ZF   (1ULL << 6)
#define RFLAGS_SF   (1ULL << 7)
#define RFLAGS_TF   (1ULL << 8)
#define RFLAGS_IF   (1ULL << 9)
#define RFLAGS_DF   (1ULL << 10)
#define RFLAGS_OF   (1ULL << 11)
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

struct x86_regs {
	uint64_t gpr[NR_GPRS];
	uint64_t rip;
	uint64_t rflags;
};

/* A segment register's visible and hidden parts; attr in the architectural
 * descriptor layout (SEG_ATTR_* in arch/x86/x86_defs.h). */
struct x86_seg {
	uint64_t base;
	uint32_t limit;         /* in bytes, already scaled by G */
	uint16_t selector;
	uint32_t attr;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

/* The system state of a vCPU that is not in its GPRs, vendor-neutral. */
struct x86_sregs {
	struct x86_seg seg[NR_SEGS];    /* ES, CS, SS, DS, FS, GS */
	struct x86_seg tr, ldtr;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t pat;
	uint64_t dr6, dr7;
};

/* A whole initial vCPU state: what reset, INIT, STARTUP and a kernel
 * format's boot protocol produce, and what a back end is handed. */
struct x86_vcpu_state {
	struct x86_regs regs;
	struct x86_sregs sregs;
};

/* The CPL: SS.DPL (SDM vol. 3A §5.5; APM vol. 2 §15.5.1). */
static inline unsigned x86_cpl(const struct x86_sregs *s)
{
	return (s->seg[SEG_SS].attr >> 5) & 3;
}

#endif
