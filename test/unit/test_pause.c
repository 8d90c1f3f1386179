/*
 * Host tests for the console's pause and resume (core/sched.c): a paused
 * VM's vCPUs are parked from every state (waiting, running, halted,
 * waiting for SIPI), are never picked or stolen, and run on after resume;
 * a paused VM can still be reaped when it ends.
 */
#include "test/unit/core_fake.h"

TEST(pause_parks_every_state)
{
	reset_records();
	struct vm *vm = vm_new(1, 4, 2, false);
	struct vcpu *v = vm->vcpu;

	v[2].state = VCPU_HALTED;
	v[3].state = VCPU_WAIT_SIPI;
	for (int i = 0; i < 4; i++)
		sched_add(&v[i]);
	CHECK_EQ(sched_nr_runnable(2), 2);
	struct vcpu *run = sched_pick(2);
	CHECK(run == &v[0] || run == &v[1]);
	struct vcpu *wait = run == &v[0] ? &v[1] : &v[0];
	cur_cpu = 0;
	kicks[2] = 0;
	sched_pause_vm(vm);
	/* The waiting one at once; the running one is kicked out of the guest. */
	CHECK_EQ(wait->state, VCPU_PAUSED);
	CHECK_EQ(run->state, VCPU_RUNNING);
	CHECK_EQ(kicks[2], 1);
	CHECK_EQ(sched_nr_runnable(2), 0);
	sched_put(2, run, 1000);
	CHECK_EQ(run->state, VCPU_PAUSED);
	CHECK_EQ(sched_nr_runnable(2), 0);
	CHECK(sched_pick(2) == NULL);
	/* Halted and waiting for SIPI stay so; an event for them parks them. */
	CHECK_EQ(v[2].state, VCPU_HALTED);
	CHECK_EQ(v[3].state, VCPU_WAIT_SIPI);
	sched_wake(&v[2]);
	CHECK_EQ(v[2].state, VCPU_PAUSED);
	CHECK(v[2].events);
	CHECK_EQ(sched_nr_runnable(2), 0);
	CHECK(sched_pick(2) == NULL);
	/* Resume: the parked ones are runnable again, the one in WAIT_SIPI waits. */
	sched_resume_vm(vm);
	CHECK_EQ(v[0].state, VCPU_RUNNABLE);
	CHECK_EQ(v[1].state, VCPU_RUNNABLE);
	CHECK_EQ(v[2].state, VCPU_RUNNABLE);
	CHECK_EQ(v[3].state, VCPU_WAIT_SIPI);
	CHECK_EQ(sched_nr_runnable(2), 3);
	run = sched_pick(2);
	CHECK(run != NULL);
	sched_put(2, run, 0);
	vm_free(vm);
	CHECK_EQ(sched_nr_runnable(2), 0);
}

TEST(paused_is_not_stolen_and_resumes_level)
{
	reset_records();
	struct vm *busy = vm_new(1, 1, 3, false);
	struct vm *vm = vm_new(2, 2, 3, false);

	busy->vcpu[0].affinity = 1u << 3;
	sched_add(&busy->vcpu[0]);
	for (int i = 0; i < 2; i++) {
		vm->vcpu[i].affinity = (1u << 3) | (1u << 4);
		sched_add(&vm->vcpu[i]);
	}
	sched_pause_vm(vm);
	CHECK_EQ(sched_nr_runnable(3), 1);
	CHECK(!sched_steal(4));                 /* only the pinned one waits */
	/* The busy one runs on meanwhile; the paused ones come back level. */
	struct vcpu *p = sched_pick(3);
	CHECK(p == &busy->vcpu[0]);
	sched_put(3, p, 5000000);
	CHECK(sched_pick(3) == p);
	sched_put(3, p, 5000000);
	sched_resume_vm(vm);
	CHECK_EQ(vm->vcpu[0].vruntime, p->vruntime);
	CHECK_EQ(sched_nr_runnable(3), 3);
	struct vcpu *s = sched_steal(4);
	CHECK(s != NULL);
	if (s)
		sched_put(4, s, 0);
	vm_free(busy);
	vm_free(vm);
	CHECK_EQ(sched_nr_runnable(3), 0);
	CHECK_EQ(sched_nr_runnable(4), 0);
}

TEST(paused_vm_is_reaped_when_it_ends)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 5, false);

	for (int i = 0; i < 2; i++)
		sched_add(&vm->vcpu[i]);
	sched_pause_vm(vm);
	CHECK_EQ(sched_nr_runnable(5), 0);
	vm_end(vm, VM_END_DESTROYED, -1, "destroyed");
	CHECK(sched_reap(5) != NULL);
	CHECK(sched_reap(5) != NULL);
	CHECK(sched_reap(5) == NULL);
	CHECK_EQ(sched_nr_runnable(5), 0);
	vm_free(vm);
}

int main(void)
{
	check_start("pause");
	core_fake_init();
	RUN(pause_parks_every_state);
	RUN(paused_is_not_stolen_and_resumes_level);
	RUN(paused_vm_is_reaped_when_it_ends);
	return check_finish();
}
