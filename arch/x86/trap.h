/* Exceptions and interrupts taken by the hypervisor itself. */
#ifndef KASANE_ARCH_X86_TRAP_H
#define KASANE_ARCH_X86_TRAP_H

#include "lib/types.h"

/* Saved by vectors.S, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;      /* pushed by the CPU */
};

/* Vectors the hypervisor uses for its own interrupts. */
#define VEC_TIMER       0xec
#define VEC_KICK        0xed    /* wake a CPU: makes a running guest exit */
#define VEC_CALL        0xee    /* run a function on this CPU (smp_call) */
#define VEC_SPURIOUS    0xff

typedef void (*irq_handler_t)(struct trap_frame *f);
void trap_set_handler(int vector, irq_handler_t fn);

/* Print the registers and a backtrace of a frame. */
void trap_dump(const struct trap_frame *f);
/* Print a backtrace starting from the given frame pointer. */
void backtrace_from(uint64_t rbp, uint64_t rip);
/* Name and offset of a code address, "?" if unknown. */
const char *ksym_lookup(uint64_t addr, uint64_t *offset);

#endif
