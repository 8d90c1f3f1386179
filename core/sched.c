/*
 * The vCPU scheduler.  Each physical CPU has a run queue holding every vCPU
 * assigned to it, in any state.  It runs the runnable vCPU with the least
 * weighted run time (vruntime) for a time slice; the LAPIC timer preempts
 * it through an INTR exit.  A vCPU that executes HLT blocks until an
 * interrupt is posted to it.  An idle CPU steals runnable vCPUs whose
 * affinity allows it.  A CPU reserved for an exclusive vCPU takes part in
 * no balancing and runs no hypervisor housekeeping.
 */
#include "core/sched.h"
#include "core/vm.h"
#include "core/clock.h"
#include "kernel/log.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "kernel/spinlock.h"
#include "arch/x86/trap.h"

struct runq {
	spinlock_t lock;
	struct vcpu *head;              /* every vCPU assigned to this CPU */
	unsigned nr;
	volatile unsigned nr_runnable;  /* waiting: excludes the current one */
	struct vcpu *current;
	bool exclusive;
	volatile bool resched;          /* end the current slice early */
	uint64_t idle_ns;
};

static struct runq rq[MAX_CPUS];

unsigned sched_housekeeping_cpu(void)
{
	for (unsigned c = 0; c < nr_cpus_present; c++)
		if (percpu[c].online && !rq[c].exclusive)
			return c;
	return 0;
}

void sched_set_exclusive(unsigned cpu)
{
	rq[cpu].exclusive = true;
}

/* Start v level with the others on q (the paused ones stood still), so
 * that a newcomer or a vCPU back from a pause neither starves nor hogs;
 * never set it back. */
static void level_vruntime(struct runq *q, struct vcpu *v)
{
	uint64_t min = ~0ULL;

	for (struct vcpu *o = q->head; o; o = o->rq_next)
		if (o != v && o->state != VCPU_PAUSED)
			min = MIN(min, o->vruntime);
	if (min != ~0ULL)
		v->vruntime = MAX(v->vruntime, min);
}

void sched_add(struct vcpu *v)
{
	struct runq *q = &rq[v->pcpu];
	uint64_t f = spin_lock_irqsave(&q->lock);

	v->rq_next = q->head;
	q->head = v;
	q->nr++;
	v->vruntime = 0;
	level_vruntime(q, v);
	if (v->state == VCPU_RUNNABLE) {
		q->nr_runnable++;
		v->state_since = rdtsc();
	}
	spin_unlock_irqrestore(&q->lock, f);
	smp_kick(v->pcpu);
}

/* Lock the run queue v is on; v may be migrating, so re-check. */
static struct runq *lock_vcpu_rq(struct vcpu *v, uint64_t *flags)
{
	for (;;) {
		unsigned cpu = v->pcpu;
		struct runq *q = &rq[cpu];
		*flags = spin_lock_irqsave(&q->lock);
		if (v->pcpu == cpu)
			return q;
		spin_unlock_irqrestore(&q->lock, *flags);
	}
}

/*
 * The running vCPU v stops waiting for its CPU: HALTED or WAIT_SIPI.  Its
 * CPU still runs it until put_prev().  False if an event is already there.
 */
bool sched_block(struct vcpu *v, enum vcpu_state state)
{
	uint64_t f;
	struct runq *q = lock_vcpu_rq(v, &f);
	bool blocked = !v->events;

	if (blocked)
		v->state = state;
	spin_unlock_irqrestore(&q->lock, f);
	return blocked;
}

/*
 * All state changes happen under the queue lock.  The vCPU a CPU is
 * running (q->current) keeps its state here: it only gets the event, and
 * put_prev() requeues it if it had blocked meanwhile.
 */
void sched_wake(struct vcpu *v)
{
	uint64_t f;
	struct runq *q = lock_vcpu_rq(v, &f);
	bool changed = false;

	v->events = true;
	if (q->current != v && (v->state == VCPU_HALTED || v->state == VCPU_WAIT_SIPI) &&
	    v->vm->paused) {
		v->state = VCPU_PAUSED;         /* it runs, and sees the event, at resume */
	} else if (q->current != v && (v->state == VCPU_HALTED || v->state == VCPU_WAIT_SIPI)) {
		v->state = VCPU_RUNNABLE;
		v->state_since = rdtsc();
		q->nr_runnable++;
		changed = true;
	}
	unsigned cpu = v->pcpu;
	bool running_here = q->current == v;
	spin_unlock_irqrestore(&q->lock, f);
	/* Its CPU must notice: wake it from HLT, or make the guest exit so
	 * that the new interrupt is injected now. */
	if (cpu != this_cpu_id() && (changed || running_here || v->state == VCPU_RUNNING))
		smp_kick(cpu);
}

void sched_end_slice(struct vcpu *v)
{
	rq[v->pcpu].resched = true;
}

/* The runnable v on q becomes q's current vCPU.  Needs q's lock. */
static void take(struct runq *q, struct vcpu *v)
{
	v->state = VCPU_RUNNING;
	v->wait_ns += clock_tsc_to_ns(rdtsc() - v->state_since);
	q->nr_runnable--;
	q->current = v;
	q->resched = false;
}

struct vcpu *sched_pick(unsigned cpu)
{
	struct runq *q = &rq[cpu];
	struct vcpu *best = NULL;
	uint64_t f = spin_lock_irqsave(&q->lock);

	for (struct vcpu *v = q->head; v; v = v->rq_next)
		if (v->state == VCPU_RUNNABLE && (!best || v->vruntime < best->vruntime))
			best = v;
	if (best)
		take(q, best);
	spin_unlock_irqrestore(&q->lock, f);
	return best;
}

void sched_put(unsigned cpu, struct vcpu *v, uint64_t ran_ns)
{
	struct runq *q = &rq[cpu];
	uint64_t f = spin_lock_irqsave(&q->lock);
	unsigned weight = v->vm->weight ? v->vm->weight : SCHED_WEIGHT_DEFAULT;

	v->run_ns += ran_ns;
	v->vruntime += ran_ns * SCHED_WEIGHT_DEFAULT / weight;
	/* Blocked, but an event came while it was still current: requeue. */
	if ((v->state == VCPU_HALTED || v->state == VCPU_WAIT_SIPI) && v->events)
		v->state = VCPU_RUNNING;
	if (v->state == VCPU_RUNNING && v->vm->paused) {
		v->state = VCPU_PAUSED;
	} else if (v->state == VCPU_RUNNING) {
		v->state = VCPU_RUNNABLE;
		v->state_since = rdtsc();
		q->nr_runnable++;
	}
	q->current = NULL;
	spin_unlock_irqrestore(&q->lock, f);
}

/*
 * Pausing a VM from the console.  vm->paused is read under each run
 * queue's lock, so every vCPU of the VM is parked whatever state it is in:
 * one waiting for its CPU now; a running one when it leaves the guest at
 * its next exit (the kick forces one) in sched_put(); a halted one, or one
 * waiting for SIPI, stays so, and an event for it parks it in sched_wake().
 * A PAUSED vCPU is neither picked nor stolen, so the VM uses no CPU; its
 * device timers wait too (vcpu_service_timers()).
 */
void sched_pause_vm(struct vm *vm)
{
	__atomic_store_n(&vm->paused, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		uint64_t f;
		struct runq *q = lock_vcpu_rq(v, &f);
		if (v->state == VCPU_RUNNABLE) {
			v->state = VCPU_PAUSED;
			q->nr_runnable--;
		}
		unsigned cpu = v->pcpu;
		bool running = q->current == v;
		spin_unlock_irqrestore(&q->lock, f);
		if (running)
			smp_kick(cpu);
	}
}

/* Let a paused VM's vCPUs run on; each CPU looks at its timers again. */
void sched_resume_vm(struct vm *vm)
{
	__atomic_store_n(&vm->paused, false, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		uint64_t f;
		struct runq *q = lock_vcpu_rq(v, &f);
		if (v->state == VCPU_PAUSED) {
			v->state = VCPU_RUNNABLE;
			v->state_since = rdtsc();
			level_vruntime(q, v);
			q->nr_runnable++;
		}
		unsigned cpu = v->pcpu;
		spin_unlock_irqrestore(&q->lock, f);
		smp_kick(cpu);
	}
}

/*
 * After vm_end() from outside the VM (the console): a CPU that runs
 * another VM's vCPU would reap a halted or paused vCPU of vm only when it
 * next gives the CPU up; end its slice now.  A CPU about to pick finds the
 * ended VM's due "timer" instead (vcpu_service_timers()).
 */
void sched_reap_vm_soon(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		uint64_t f;
		struct runq *q = lock_vcpu_rq(v, &f);
		if (q->current && q->current != v)
			q->resched = true;
		unsigned cpu = v->pcpu;
		spin_unlock_irqrestore(&q->lock, f);
		smp_kick(cpu);
	}
}

volatile unsigned *sched_nr_waiting(unsigned cpu)
{
	return &rq[cpu].nr_runnable;
}

volatile bool *sched_resched_flag(unsigned cpu)
{
	return &rq[cpu].resched;
}

struct vcpu *sched_reap(unsigned cpu)
{
	struct runq *q = &rq[cpu];
	struct vcpu *dead = NULL;
	uint64_t f = spin_lock_irqsave(&q->lock);

	for (struct vcpu **pp = &q->head; *pp; pp = &(*pp)->rq_next) {
		struct vcpu *v = *pp;
		if (v != q->current && __atomic_load_n(&v->vm->ended, __ATOMIC_ACQUIRE)) {
			*pp = v->rq_next;
			q->nr--;
			if (v->state == VCPU_RUNNABLE)
				q->nr_runnable--;
			dead = v;
			break;
		}
	}
	spin_unlock_irqrestore(&q->lock, f);
	return dead;
}

/*
 * An idle, non-exclusive CPU takes a waiting vCPU from the busiest other
 * non-exclusive CPU, if that vCPU may run here, and picks it in the same
 * step.  Left waiting on the thief's queue, it could be taken back by its
 * old CPU, idle by then, before the thief came to pick it: two idle CPUs
 * did hand one vCPU back and forth that way, each servicing its timers
 * in between, and it never ran (Bochs, an SMP guest's BSP, 250000 moves).
 */
struct vcpu *sched_steal(unsigned me)
{
	struct runq *mine = &rq[me];

	if (mine->exclusive)
		return NULL;
	unsigned best = ~0u, most = 0;
	for (unsigned c = 0; c < nr_cpus_present; c++) {
		if (c == me || rq[c].exclusive || !percpu[c].online)
			continue;
		unsigned n = __atomic_load_n(&rq[c].nr_runnable, __ATOMIC_RELAXED);
		if (n > most) {
			most = n;
			best = c;
		}
	}
	if (best == ~0u)
		return NULL;
	/* Lock both queues, lower CPU number first. */
	struct runq *a = &rq[MIN(me, best)], *b = &rq[MAX(me, best)], *src = &rq[best];
	uint64_t f = spin_lock_irqsave(&a->lock);
	spin_lock(&b->lock);
	struct vcpu *moved = NULL;
	for (struct vcpu **pp = &src->head; *pp; pp = &(*pp)->rq_next) {
		struct vcpu *v = *pp;
		if (v != src->current && v->state == VCPU_RUNNABLE && !v->exclusive &&
		    (v->affinity & (1ULL << me))) {
			*pp = v->rq_next;
			src->nr--;
			src->nr_runnable--;
			v->pcpu = me;
			v->migrations++;
			v->rq_next = mine->head;
			mine->head = v;
			mine->nr++;
			mine->nr_runnable++;
			take(mine, v);
			moved = v;
			break;
		}
	}
	spin_unlock(&b->lock);
	spin_unlock_irqrestore(&a->lock, f);
	return moved;
}

unsigned sched_snapshot(unsigned cpu, struct vcpu **list, unsigned max)
{
	struct runq *q = &rq[cpu];
	unsigned n = 0;
	uint64_t f = spin_lock_irqsave(&q->lock);

	for (struct vcpu *v = q->head; v && n < max; v = v->rq_next)
		list[n++] = v;
	spin_unlock_irqrestore(&q->lock, f);
	return n;
}

unsigned sched_nr_runnable(unsigned cpu)
{
	return __atomic_load_n(&rq[cpu].nr_runnable, __ATOMIC_RELAXED);
}

bool sched_is_exclusive(unsigned cpu)
{
	return rq[cpu].exclusive;
}

void sched_account_idle(unsigned cpu, uint64_t ns)
{
	rq[cpu].idle_ns += ns;
}

const char *const vcpu_state_name[] = {
	[VCPU_RUNNABLE] = "runnable", [VCPU_RUNNING] = "running",
	[VCPU_HALTED] = "halted", [VCPU_WAIT_SIPI] = "wait-sipi",
	[VCPU_STOPPED] = "stopped", [VCPU_PAUSED] = "paused",
};

void sched_dump_cpus(void)
{
	pr_info("kasane: scheduler (%u CPUs, housekeeping on CPU %u)\n",
		nr_cpus_online, sched_housekeeping_cpu());
	for (unsigned c = 0; c < nr_cpus_present; c++) {
		if (!percpu[c].online)
			continue;
		pr_info("  CPU %u%s: %u vCPUs, %u waiting, idle %llu ms\n", c,
			rq[c].exclusive ? " (exclusive)" : "", rq[c].nr, rq[c].nr_runnable,
			(unsigned long long)(rq[c].idle_ns / 1000000));
	}
}
