/*
 * Host tests for core/sched.c: pick, weighted put, block and wake, steal
 * and reap on the real run queues, with VMs that have no board
 * (test/unit/core_fake.h).
 */
#include "test/unit/core_fake.h"

TEST(pick_least_vruntime_runnable)
{
	reset_records();
	struct vm *vm = vm_new(1, 4, 1, false);
	struct vcpu *v = vm->vcpu;

	v[1].state = VCPU_HALTED;
	for (int i = 0; i < 4; i++)
		sched_add(&v[i]);
	CHECK_EQ(sched_nr_runnable(1), 3);
	/* Every newcomer starts level with the others. */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(v[i].vruntime, 0);
	v[0].vruntime = 300;
	v[1].vruntime = 100;                    /* least, but not runnable */
	v[2].vruntime = 200;
	v[3].vruntime = 250;
	struct vcpu *p = sched_pick(1);
	CHECK(p == &v[2]);
	CHECK_EQ(p->state, VCPU_RUNNING);
	CHECK_EQ(sched_nr_runnable(1), 2);
	/* A newcomer starts at the least vruntime on the queue. */
	struct vm *vm2 = vm_new(2, 1, 1, false);
	sched_add(&vm2->vcpu[0]);
	CHECK_EQ(vm2->vcpu[0].vruntime, 100);
	sched_put(1, p, 0);
	vm_free(vm);
	vm_free(vm2);
	CHECK_EQ(sched_nr_runnable(1), 0);
}

TEST(put_accounts_weight)
{
	reset_records();
	struct vm *heavy = vm_new(1, 1, 1, false), *light = vm_new(2, 1, 1, false);
	struct vm *dflt = vm_new(3, 1, 1, false);

	heavy->weight = 200;
	light->weight = 50;
	dflt->weight = 0;                       /* taken as the default */
	sched_add(&heavy->vcpu[0]);
	sched_add(&light->vcpu[0]);
	sched_add(&dflt->vcpu[0]);
	for (int i = 0; i < 3; i++) {
		struct vcpu *v = sched_pick(1);
		CHECK(v != NULL);
		if (v)
			sched_put(1, v, 1000000);
	}
	CHECK_EQ(heavy->vcpu[0].vruntime, 500000);
	CHECK_EQ(light->vcpu[0].vruntime, 2000000);
	CHECK_EQ(dflt->vcpu[0].vruntime, 1000000);
	CHECK_EQ(light->vcpu[0].run_ns, 1000000);
	CHECK_EQ(light->vcpu[0].state, VCPU_RUNNABLE);
	CHECK_EQ(sched_nr_runnable(1), 3);
	/* Next comes the one with the least weighted time: the heavy VM. */
	struct vcpu *v = sched_pick(1);
	CHECK(v == &heavy->vcpu[0]);
	sched_put(1, v, 0);
	vm_free(heavy);
	vm_free(light);
	vm_free(dflt);
}

TEST(block_and_wake)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 2, false);
	struct vcpu *v = &vm->vcpu[0];

	sched_add(v);
	CHECK(sched_pick(2) == v);
	v->events = false;
	CHECK(sched_block(v, VCPU_HALTED));
	CHECK_EQ(v->state, VCPU_HALTED);
	sched_put(2, v, 1000);
	CHECK_EQ(v->state, VCPU_HALTED);
	CHECK_EQ(sched_nr_runnable(2), 0);
	CHECK(sched_pick(2) == NULL);
	cur_cpu = 0;
	kicks[2] = 0;
	sched_wake(v);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK(v->events);
	CHECK_EQ(sched_nr_runnable(2), 1);
	CHECK_EQ(kicks[2], 1);                  /* its CPU is woken */
	CHECK(sched_pick(2) == v);
	/* An event already there: no blocking. */
	v->events = true;
	CHECK(!sched_block(v, VCPU_HALTED));
	CHECK_EQ(v->state, VCPU_RUNNING);
	/* Blocked, then woken while still current: put requeues it. */
	v->events = false;
	CHECK(sched_block(v, VCPU_WAIT_SIPI));
	sched_wake(v);
	CHECK_EQ(v->state, VCPU_WAIT_SIPI);     /* current: only the event */
	sched_put(2, v, 1000);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK_EQ(sched_nr_runnable(2), 1);
	vm_free(vm);
	CHECK_EQ(sched_nr_runnable(2), 0);
}

TEST(steal_respects_exclusive_and_affinity)
{
	reset_records();
	/* CPU 6 is exclusive: nothing is stolen from it, it steals nothing. */
	struct vm *excl = vm_new(1, 3, 6, false);
	for (int i = 0; i < 3; i++) {
		excl->vcpu[i].affinity = 0xff;
		sched_add(&excl->vcpu[i]);
	}
	sched_set_exclusive(6);
	/* CPU 3: one vCPU pinned there, one exclusive, one that may go to 4. */
	struct vm *vm = vm_new(2, 3, 3, false);
	vm->vcpu[0].affinity = 1u << 3;
	vm->vcpu[1].affinity = (1u << 3) | (1u << 4);
	vm->vcpu[1].exclusive = true;
	vm->vcpu[2].affinity = (1u << 3) | (1u << 4) | (1u << 6);
	for (int i = 2; i >= 0; i--)            /* the one that may move is last */
		sched_add(&vm->vcpu[i]);
	CHECK(!sched_steal(6));
	CHECK(sched_steal(4) == &vm->vcpu[2]);
	CHECK_EQ(vm->vcpu[2].pcpu, 4);
	CHECK_EQ(vm->vcpu[2].migrations, 1);
	/* Picked with the move: running on CPU 4, not waiting there. */
	CHECK_EQ(vm->vcpu[2].state, VCPU_RUNNING);
	CHECK_EQ(sched_nr_runnable(4), 0);
	CHECK_EQ(sched_nr_runnable(3), 2);
	CHECK_EQ(sched_nr_runnable(6), 3);
	/* Nothing else on CPU 3 may go to 4, nor from CPU 6 to anyone. */
	CHECK(!sched_steal(4));
	CHECK(!sched_steal(5));
	CHECK_EQ(vm->vcpu[0].pcpu, 3);
	CHECK_EQ(vm->vcpu[1].pcpu, 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(excl->vcpu[i].pcpu, 6);
	sched_put(4, &vm->vcpu[2], 0);
	CHECK_EQ(sched_nr_runnable(4), 1);
	vm_free(vm);
	vm_free(excl);
}

TEST(steal_never_takes_the_running_vcpu)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 3, false);
	vm->vcpu[0].affinity = vm->vcpu[1].affinity = (1u << 3) | (1u << 4);
	sched_add(&vm->vcpu[0]);
	sched_add(&vm->vcpu[1]);
	struct vcpu *run = sched_pick(3);
	struct vcpu *other = run == &vm->vcpu[0] ? &vm->vcpu[1] : &vm->vcpu[0];
	CHECK(sched_steal(4) == other);
	CHECK_EQ(other->pcpu, 4);
	CHECK_EQ(run->pcpu, 3);
	/* Only the running one is left: nothing to steal. */
	CHECK(!sched_steal(4));
	CHECK_EQ(run->pcpu, 3);
	CHECK_EQ(run->state, VCPU_RUNNING);
	sched_put(3, run, 0);
	/* CPU 3 idle now cannot take back the one CPU 4 stole: it runs there. */
	CHECK(sched_pick(3) == run);
	sched_put(3, run, 0);
	CHECK(!sched_steal(3));
	CHECK_EQ(other->pcpu, 4);
	sched_put(4, other, 0);
	vm_free(vm);
	CHECK_EQ(sched_nr_runnable(3), 0);
	CHECK_EQ(sched_nr_runnable(4), 0);
}

TEST(reap_takes_only_ended_vms)
{
	reset_records();
	struct vm *live = vm_new(1, 2, 5, false), *dead = vm_new(2, 2, 5, false);

	for (int i = 0; i < 2; i++) {
		sched_add(&live->vcpu[i]);
		sched_add(&dead->vcpu[i]);
	}
	CHECK(sched_reap(5) == NULL);
	struct vcpu *cur = sched_pick(5);
	vm_end(dead, VM_END_EXIT_PORT, 0, "done");
	vm_end(cur->vm, VM_END_EXIT_PORT, 0, "done");   /* harmless if dead */
	struct vcpu *got[4];
	unsigned n = 0;
	while (n < 4 && (got[n] = sched_reap(5)))
		n++;
	CHECK_EQ(n, cur->vm == dead ? 1 : 3);
	for (unsigned i = 0; i < n; i++) {
		CHECK(got[i]->vm->ended);
		CHECK(got[i] != cur);           /* never the running one */
	}
	/* Once put, it goes too. */
	sched_put(5, cur, 0);
	CHECK(sched_reap(5) == cur);
	struct vcpu *left[4];
	unsigned m = sched_snapshot(5, left, 4);
	CHECK_EQ(m, cur->vm == dead ? 2 : 0);
	for (unsigned i = 0; i < m; i++)
		CHECK(left[i]->vm == live);
	vm_free(live);
	vm_free(dead);
}

int main(void)
{
	check_start("sched");
	core_fake_init();
	RUN(pick_least_vruntime_runnable);
	RUN(put_accounts_weight);
	RUN(block_and_wake);
	RUN(steal_respects_exclusive_and_affinity);
	RUN(steal_never_takes_the_running_vcpu);
	RUN(reap_takes_only_ended_vms);
	return check_finish();
}
