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
void sched_end_slice(struct vcpu *v);
/* The console's pause and resume of a VM that has not ended (see sched.c). */
void sched_pause_vm(struct vm *vm);
void sched_resume_vm(struct vm *vm);
/* vm has ended: its CPUs reap its vCPUs now, whatever else they run. */
void sched_reap_vm_soon(struct vm *vm);
/* The CPU that does the hypervisor's own periodic work (console input). */
unsigned sched_housekeeping_cpu(void);

/*
 * The steps of a CPU's loop (core/run.c), each on that CPU.
 * sched_reap: take one vCPU of an ended VM off the queue (NULL: none).
 * sched_pick: the runnable vCPU with the least vruntime, now RUNNING.
 * sched_put: account ran_ns to v and requeue it as its state says.
 * sched_steal: an idle CPU takes a waiting vCPU from the busiest CPU; it
 *   is picked here at once (RUNNING, as from sched_pick), or NULL.
 */
struct vcpu *sched_reap(unsigned cpu);
struct vcpu *sched_pick(unsigned cpu);
void sched_put(unsigned cpu, struct vcpu *v, uint64_t ran_ns);
struct vcpu *sched_steal(unsigned cpu);
/* Up to max vCPUs assigned to cpu, in any state. */
unsigned sched_snapshot(unsigned cpu, struct vcpu **list, unsigned max);
unsigned sched_nr_runnable(unsigned cpu);
bool sched_is_exclusive(unsigned cpu);
void sched_account_idle(unsigned cpu, uint64_t ns);
/* For the run loop: how many vCPUs wait for this CPU, and "yield now". */
volatile unsigned *sched_nr_waiting(unsigned cpu);
volatile bool *sched_resched_flag(unsigned cpu);
/* Print each CPU's queue (the console's scheduler view). */
void sched_dump_cpus(void);
extern const char *const vcpu_state_name[];

#endif
