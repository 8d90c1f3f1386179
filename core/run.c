/*
 * Every CPU's loop: finish the vCPUs of ended VMs, service device timers,
 * run the next vCPU for a slice, steal work when idle, and sleep until the
 * next deadline or IPI.  The housekeeping CPU also polls the console.
 */
#include "core/run.h"
#include "core/vm.h"
#include "core/vm_create.h"
#include "core/vcpu.h"
#include "core/sched.h"
#include "core/clock.h"
#include "kernel/log.h"
#include "core/conin.h"
#include "core/gdbstub.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"

#define IDLE_TICK_NS (50 * 1000 * 1000ULL)      /* housekeeping and balancing */
/* The housekeeping CPU reads the operator's keys this often even while a
 * vCPU keeps it busy: by polling, the host UART's 16-byte FIFO holds what
 * a typist sends in that time at 115200 baud with room to spare. */
#define CONSOLE_POLL_NS (10 * 1000 * 1000ULL)
/* While a debugger is attached, COM2 is read this often: each packet of
 * gdb's waits for the stub's answer, so this is its round trip. */
#define GDB_POLL_NS (1000 * 1000ULL)
/* A vCPU picked to run gets at least this long before it is set aside for
 * another vCPU's timer here: however dense the other vCPUs' deadlines (a
 * guest's timer storm), the one picked makes progress.  It delays another
 * vCPU's timer interrupt by at most this, below the periodic timers' floor
 * (VLAPIC_MIN_PERIOD_NS, VPIT_MIN_IRQ_GAP_NS). */
#define MIN_RUN_NS (100 * 1000ULL)

/* The last vCPU of a VM to stop reports the VM and frees what it used. */
static void vcpu_stop(struct vcpu *v)
{
	struct vm *vm = v->vm;

	v->state = VCPU_STOPPED;
	uint64_t f = spin_lock_irqsave(&vm->lock);
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		vm->exits[k] += v->exits[k];
	bool last = --vm->vcpus_running == 0;
	spin_unlock_irqrestore(&vm->lock, f);
	if (last) {
		bool asked = vm->end_reason == VM_END_RESTART;     /* the console's restart */
		if (asked || (vm->end_reason == VM_END_REBOOT &&
			      vm->cfg->on_reboot == CONFIG_ON_REBOOT_RESTART)) {
			pr_info("kasane: VM '%s' %s (%s): restarting it\n", vm->name,
				asked ? "is reset" : "reset itself", vm->end_detail);
			if (vm_restart(vm))
				return;
		}
		vm_report(vm);
		vm_destroy(vm);
		vm_mark_finished(vm);
		smp_kick(0);
	}
}

/*
 * Service due device timers of every vCPU on this CPU; return the next
 * deadline of any vCPU other than 'except'.
 */
static uint64_t service_timers(unsigned cpu, const struct vcpu *except)
{
	struct vcpu *list[MAX_VMS * VM_MAX_VCPUS];
	unsigned n = sched_snapshot(cpu, list, ARRAY_SIZE(list));
	uint64_t next = NO_DEADLINE;

	/* A vCPU stolen meanwhile is the thief's to service now. */
	for (unsigned i = 0; i < n; i++) {
		if (list[i]->pcpu != cpu)
			continue;
		uint64_t d = vcpu_service_timers(list[i]);
		if (list[i] != except)
			next = MIN(next, d);
	}
	return next;
}

void run_loop(void)
{
	unsigned me = this_cpu_id();

	for (;;) {
		struct vcpu *dead;
		while ((dead = sched_reap(me)))
			vcpu_stop(dead);
		if (me == 0 && vm_all_ended())
			return;
		if (me == sched_housekeeping_cpu()) {
			conin_poll(vcpu_state_name);
			gdbstub_poll();
		}
		service_timers(me, NULL);
		struct vcpu *v = sched_pick(me);
		if (!v)
			v = sched_steal(me);
		if (v) {
			/* Timers of the others here must still fire while v runs,
			 * and the housekeeping CPU must come back for the console. */
			uint64_t others = service_timers(me, v);
			uint64_t t0 = clock_now_ns();
			if (me == sched_housekeeping_cpu())
				others = MIN(others, t0 + (gdbstub_active() ? GDB_POLL_NS :
							   CONSOLE_POLL_NS));
			others = MAX(others, t0 + MIN_RUN_NS);
			vcpu_run(v, t0 + SCHED_SLICE_NS, others);
			sched_put(me, v, clock_now_ns() - t0);
			continue;
		}
		/*
		 * Idle: sleep until an IPI or the next device deadline.  The
		 * deadlines are read again with interrupts off, so a kick that
		 * moved one (a guest reprogramming its PIT) is not missed.
		 */
		irq_disable();
		uint64_t next = service_timers(me, NULL);
		uint64_t now = clock_now_ns();
		uint64_t wake = next;
		if (!sched_is_exclusive(me))
			wake = MIN(wake, now + IDLE_TICK_NS);
		if (me == sched_housekeeping_cpu() && gdbstub_active())
			wake = MIN(wake, now + GDB_POLL_NS);
		if (sched_nr_runnable(me) == 0 && !(me == 0 && vm_all_ended())) {
			host_timer_set(wake == NO_DEADLINE ? 0 : MAX(wake, now + 1000) - now);
			__asm__ volatile("sti; hlt" ::: "memory");
		}
		irq_enable();
		sched_account_idle(me, clock_now_ns() - now);
	}
}
