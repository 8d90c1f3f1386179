/*
 * Inline x86 helpers for the test guests (32- and 64-bit).  Register-width
 * values are unsigned long; MSRs and the TSC are always 64-bit.
 */
#ifndef GUEST_LIB_X86_H
#define GUEST_LIB_X86_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_EFER        0xC0000080u
#define EFER_LME        (1u << 8)
#define EFER_LMA        (1u << 10)
#define CR0_PE          (1ul << 0)
#define CR0_WP          (1ul << 16)
#define CR0_PG          (1ul << 31)
#define CR4_PAE         (1ul << 5)
#define RFLAGS_CF       0x001ul
#define RFLAGS_PF       0x004ul
#define RFLAGS_AF       0x010ul
#define RFLAGS_ZF       0x040ul
#define RFLAGS_SF       0x080ul
#define RFLAGS_IF       0x200ul
#define RFLAGS_DF       0x400ul
#define RFLAGS_OF       0x800ul
#define RFLAGS_ARITH    (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#define DEFINE_CR(n) \
	static inline unsigned long read_cr##n(void) \
	{ unsigned long v; asm volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(unsigned long v) \
	{ asm volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void invlpg(unsigned long va)
{
	asm volatile("invlpg (%0)" :: "r"(va) : "memory");
}

/*
 * REP INSB/INSW/INSL (size 1, 2, 4) of count units from port into dst,
 * backwards (DF=1) if asked; *rdi and *rcx get the registers after it.
 */
static inline void rep_ins(unsigned size, uint16_t port, void *dst, unsigned long count,
			   bool backwards, unsigned long *rdi, unsigned long *rcx)
{
	unsigned long d = (unsigned long)dst, c = count;

	if (backwards)
		asm volatile("std");
	switch (size) {
	case 1: asm volatile("rep insb" : "+D"(d), "+c"(c) : "d"(port) : "memory"); break;
	case 2: asm volatile("rep insw" : "+D"(d), "+c"(c) : "d"(port) : "memory"); break;
	case 4: asm volatile("rep insl" : "+D"(d), "+c"(c) : "d"(port) : "memory"); break;
	}
	asm volatile("cld");
	*rdi = d;
	*rcx = c;
}

#ifdef __x86_64__
/*
 * kasane hypercall (include/kasane/abi.h): RAX = function, RBX/RCX/RDX =
 * arguments; VMMCALL on AMD, VMCALL on Intel (the other one is #UD).  The
 * vendor comes from CPUID leaf 0 once ("GenuineIntel": EBX = "Genu").
 */
static inline long vmmcall(unsigned long fn, unsigned long a1, unsigned long a2,
			   unsigned long a3)
{
	static int intel = -1;
	long ret;

	if (intel < 0) {
		unsigned int a = 0, b, c = 0, d;
		asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		intel = b == 0x756e6547;
	}
	if (intel)
		asm volatile("vmcall" : "=a"(ret), "+b"(a1), "+c"(a2), "+d"(a3)
			     : "a"(fn) : "memory");
	else
		asm volatile("vmmcall" : "=a"(ret), "+b"(a1), "+c"(a2), "+d"(a3)
			     : "a"(fn) : "memory");
	return ret;
}
#endif

#endif
