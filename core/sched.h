/*
 * kasane's vCPU scheduler: per-CPU run queues, weighted fair time slices,
 * preemption by the LAPIC timer, blocking HLT, load balancing of unpinned
 * vCPUs and exclusive CPUs.
 */
#ifndef KASANE_CORE_SCHED_H
#define KASANE_CORE_SCHED_H

#include "lib/types.h"
#include "core/vm.h"

#define SCHED_SLICE_NS      (10 * 1000 * 1000ULL)   /* 10 ms */
#define SCHED_WEIGHT_DEFAULT 100

/* Put a new vCPU on the run queue of v->pcpu. */
void sched_add(struct vcpu *v);
/* Reserve CPU 'cpu' for one exclusive vCPU: no balancing to or from it. */
void sched_set_exclusive(unsigned cpu);
/* An event for v (interrupt, SIPI): make it runnable and poke its CPU. */
void sched_wake(struct vcpu *v);
/* The running vCPU blocks (HALTED, WAIT_SIPI) unless an event is pending. */
bool sched_block(struct vcpu *v, enum vcpu_state state);
/* The running vCPU gives up the rest of its slice. */
void sched_yield(struct vcpu *v);
/* Every CPU's loop: run vCPUs until all VMs have ended. */
void sched_loop(void);
/* The CPU that does the hypervisor's own periodic work (console input). */
unsigned sched_housekeeping_cpu(void);
/* Print the scheduler's view: per VM and vCPU, CPU, state, times, exits. */
void sched_dump(void);
/* Nanoseconds since boot, from the TSC. */
uint64_t sched_now_ns(void);

#endif
