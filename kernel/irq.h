/*
 * Interrupt flag and spin-wait primitives, at the bottom with the locks
 * that need them (SDM vol. 2: CLI, STI, PAUSE, PUSHF/POPF).
 */
#ifndef KASANE_KERNEL_IRQ_H
#define KASANE_KERNEL_IRQ_H

#include "lib/types.h"

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
#ifdef HOST_TEST
/* Host unit tests run in user mode, where CLI and STI fault: there the
 * interrupt flag is a variable the test program defines. */
extern bool host_irq_on;
static inline void irq_enable(void) { host_irq_on = true; }
static inline void irq_disable(void) { host_irq_on = false; }

static inline uint64_t irq_save(void)
{
	uint64_t f = host_irq_on ? 1 << 9 : 0;
	irq_disable();
	return f;
}
#else
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

static inline uint64_t irq_save(void)
{
	uint64_t f = __builtin_ia32_readeflags_u64();
	irq_disable();
	return f;
}
#endif

static inline void irq_restore(uint64_t flags)
{
	if (flags & (1 << 9))   /* RFLAGS.IF */
		irq_enable();
}

#endif
