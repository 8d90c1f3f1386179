/* See core/event.h. */
#include "core/event.h"
#include "arch/x86/x86_defs.h"

/* Contributory exceptions: SDM vol. 3A §6.15 Table 6-4. */
static bool contributory(uint8_t v)
{
	return v == X86_EXC_DE || v == X86_EXC_TS || v == X86_EXC_NP ||
	       v == X86_EXC_SS || v == X86_EXC_GP;
}

enum exc_combine exc_combine(uint8_t first, uint8_t second)
{
	bool second_bad = contributory(second) || second == X86_EXC_PF;

	/* Table 6-5: a contributory exception or #PF while delivering #DF
	 * shuts the CPU down; while delivering a contributory exception, a
	 * contributory one is a #DF; while delivering a #PF, either is. */
	if (first == X86_EXC_DF && second_bad)
		return EXC_TRIPLE_FAULT;
	if (contributory(first) && contributory(second))
		return EXC_DOUBLE_FAULT;
	if (first == X86_EXC_PF && second_bad)
		return EXC_DOUBLE_FAULT;
	return EXC_SERIAL;
}

void evq_cut(struct event_queue *q, const struct virt_event *ev)
{
	if (!ev->valid || ev->type == VIRT_EV_SOFT_INT)
		return;
	/* INT3 and INTO are reported as exceptions 3 and 4 (APM vol. 2
	 * §15.20): run the instruction again rather than deliver a trap whose
	 * return address would be the instruction itself. */
	if (ev->type == VIRT_EV_EXCEPTION && (ev->vector == X86_EXC_BP || ev->vector == X86_EXC_OF))
		return;
	q->redeliver = *ev;
}

bool evq_raise(struct event_queue *q, uint8_t vector, bool has_error, uint32_t error)
{
	struct virt_event *first = NULL;
	struct virt_event e = { .valid = true, .type = VIRT_EV_EXCEPTION, .vector = vector,
				.has_error = has_error, .error = error };

	if (q->exception.valid)
		first = &q->exception;
	else if (q->redeliver.valid && q->redeliver.type == VIRT_EV_EXCEPTION)
		first = &q->redeliver;
	if (first) {
		switch (exc_combine(first->vector, vector)) {
		case EXC_TRIPLE_FAULT:
			q->exception.valid = false;
			q->redeliver.valid = false;
			return false;
		case EXC_DOUBLE_FAULT:
			e = (struct virt_event){ .valid = true, .type = VIRT_EV_EXCEPTION,
						 .vector = X86_EXC_DF, .has_error = true };
			break;
		case EXC_SERIAL:
			break;
		}
		first->valid = false;   /* replaced, or merged into the #DF */
	}
	q->exception = e;
	return true;
}

bool evq_next(struct event_queue *q, struct virt_event *out)
{
	/* An exception raised while handling the exit comes first: it belongs
	 * to the instruction or the delivery the exit interrupted.  An
	 * interrupt or NMI cut short is delivered at the entry after it. */
	struct virt_event *e = q->exception.valid ? &q->exception :
			       q->redeliver.valid ? &q->redeliver : NULL;

	if (!e)
		return false;
	*out = *e;
	e->valid = false;
	return true;
}
