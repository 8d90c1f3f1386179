/*
 * Interrupt flag and spin-wait primitives, at the bottom with the locks
 * that need them (SDM vol. 2: CLI, STI, PAUSE, PUSHF/POPF).
 */
#ifndef KASANE_KERNEL_IRQ_H
#define KASANE_KERNEL_IRQ_H

#include "lib/types.h"

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

static inline uint64_t irq_save(void)
{
	uint64_t f = __builtin_ia32_readeflags_u64();
	irq_disable();
	return f;
}

static inline void irq_restore(uint64_t flags)
{
	if (flags & (1 << 9))   /* RFLAGS.IF */
		irq_enable();
}

#endif
