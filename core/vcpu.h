/* Running one vCPU, and the events that reach it. */
#ifndef KASANE_CORE_VCPU_H
#define KASANE_CORE_VCPU_H

#include "lib/types.h"
#include "devices/irq.h"
#include "core/vcpu_raise.h"

struct vcpu;

/*
 * Run v in the guest until its slice ends (and another vCPU waits), it
 * blocks (HLT, INIT), it yields, its VM ends, or at others_due a timer of
 * another vCPU on this CPU needs servicing.  On v's own CPU only.
 */
void vcpu_run(struct vcpu *v, uint64_t slice_end_ns, uint64_t others_due_ns);
/* Fire v's due timers; returns its next deadline (ns) or NO_DEADLINE. */
uint64_t vcpu_service_timers(struct vcpu *v);
/* Load the RESET/INIT state (SDM vol. 3A Table 9-1) into v. */
void vcpu_load_reset_state(struct vcpu *v);
/* Has v an interrupt it could take (for HLT)? */
bool vcpu_intr_pending(struct vcpu *v);
/* Install the host timer's interrupt handler (once, at boot). */
void vcpu_timer_init(void);

/* Program this CPU's LAPIC timer to fire in ns (0: stop). */
void host_timer_set(uint64_t ns);

#endif
