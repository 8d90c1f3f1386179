/* Running one vCPU, and the events that reach it. */
#ifndef KASANE_CORE_VCPU_H
#define KASANE_CORE_VCPU_H

#include "lib/types.h"
#include "devices/irq.h"

struct vcpu;

/*
 * Run v in the guest until its slice ends (and another vCPU waits), it
 * blocks (HLT, INIT), it yields, its VM ends, or at others_due a timer of
 * another vCPU on this CPU needs servicing.  On v's own CPU only.
 */
void vcpu_run(struct vcpu *v, uint64_t slice_end_ns, uint64_t others_due_ns);
/* Fire v's due timers; returns its next deadline (ns) or NO_DEADLINE. */
uint64_t vcpu_service_timers(struct vcpu *v);
/* Finish a vCPU of an ended VM (accounting, and the VM's report if last). */
void vcpu_stop(struct vcpu *v);
/* Has v an interrupt it could take (for HLT)? */
bool vcpu_intr_pending(struct vcpu *v);

/* Install the host timer's interrupt handler (once, at boot). */
void vcpu_timer_init(void);

/* From core/sched.c and core/vm.c. */
volatile unsigned *sched_nr_waiting(unsigned cpu);
volatile bool *sched_resched_flag(unsigned cpu);
uint64_t sched_ns_to_tsc(uint64_t ns);
bool vm_all_ended(void);
void vm_dump_vcpus(const char *const state_name[]);
/* Program this CPU's LAPIC timer to fire in ns (0: stop). */
void host_timer_set(uint64_t ns);

#endif
