/* Ticket spinlocks: fair, and safe to take with interrupts disabled. */
#ifndef KASANE_KERNEL_SPINLOCK_H
#define KASANE_KERNEL_SPINLOCK_H

#include "kernel/irq.h"

typedef struct {
	volatile uint32_t next;
	volatile uint32_t owner;
} spinlock_t;

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(spinlock_t *l)
{
	uint32_t t = __atomic_fetch_add(&l->next, 1, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != t)
		cpu_relax();
}

/* Take the lock only if it is free now. */
static inline bool spin_trylock(spinlock_t *l)
{
	uint32_t o = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	uint32_t expect = o;
	return __atomic_compare_exchange_n(&l->next, &expect, o + 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

/* Interrupt-safe variants: the flags come back from the lock. */
static inline uint64_t spin_lock_irqsave(spinlock_t *l)
{
	uint64_t f = irq_save();
	spin_lock(l);
	return f;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, uint64_t f)
{
	spin_unlock(l);
	irq_restore(f);
}

#endif
