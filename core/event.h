/*
 * The events kasane holds for one vCPU between exits and entries, and the
 * order in which they reach the guest: an exception kasane raised while
 * handling an exit, an event whose delivery an exit cut short, then new
 * NMIs and interrupts (core/vcpu.c).  Pure logic, unit-tested on the host.
 */
#ifndef KASANE_CORE_EVENT_H
#define KASANE_CORE_EVENT_H

#include "lib/types.h"
#include "arch/x86/virt_ops.h"

struct event_queue {
	struct virt_event redeliver;    /* cut short by the last exit */
	struct virt_event exception;    /* raised by kasane since the last entry */
};

/* How a second exception combines with one being delivered (SDM vol. 3A
 * §6.15, Tables 6-4 and 6-5; APM vol. 2 §8.2.9). */
enum exc_combine {
	EXC_SERIAL,             /* deliver the second; the first recurs if its instruction runs again */
	EXC_DOUBLE_FAULT,       /* deliver #DF(0) instead */
	EXC_TRIPLE_FAULT,       /* the CPU shuts down */
};

enum exc_combine exc_combine(uint8_t first, uint8_t second);

/*
 * An exit cut the delivery of *ev short.  Interrupts, NMIs and exceptions
 * are delivered again, with their error code.  INT n, INT3 and INTO are
 * not: the guest's RIP still points at the instruction, which runs again.
 */
void evq_cut(struct event_queue *q, const struct virt_event *ev);

/*
 * kasane raises an exception while handling an exit.  If an exception is
 * already queued or being delivered again, the two combine by
 * exc_combine(); an interrupt or NMI being delivered again waits for the
 * next entry.  Returns false for a triple fault (the queue is then empty:
 * the VM must end).
 */
bool evq_raise(struct event_queue *q, uint8_t vector, bool has_error, uint32_t error);

/* The event to deliver at this entry, taken off the queue; false if none. */
bool evq_next(struct event_queue *q, struct virt_event *out);

static inline bool evq_empty(const struct event_queue *q)
{
	return !q->redeliver.valid && !q->exception.valid;
}

#endif
