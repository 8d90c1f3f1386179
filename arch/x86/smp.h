/* Starting the other CPUs and talking to them. */
#ifndef KASANE_ARCH_X86_SMP_H
#define KASANE_ARCH_X86_SMP_H

#include "lib/types.h"


/* Set up the boot CPU's per-CPU data (stacks, GDT, TSS, LAPIC). */
void smp_init_bsp(uint32_t apic_id);
/* Start every enabled AP of the MADT (up to max, 0 = all). */
/* Start the CPUs with these local APIC IDs (the boot CPU's is skipped),
 * at most max CPUs in all (0: no limit). */
void smp_start_aps(const uint32_t *apic_ids, unsigned nr_ids, unsigned max);
/*
 * Run fn(arg) on CPU 'cpu' from its interrupt context.  With wait, return
 * after it ran.  Calling CPU must have interrupts enabled if it waits.
 */
bool smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait);
/* Wake CPU 'cpu' from HLT (or force a running guest to exit). */
void smp_kick(unsigned cpu);

/* What an AP does once up: set by the VM layer before APs start. */
extern void (*ap_idle_hook)(void);

#endif
