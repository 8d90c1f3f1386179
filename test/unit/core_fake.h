/*
 * The fake machine under the host tests of core/ (test_exit.c, test_vcpu.c,
 * test_sched.c).  The real core/ files, board, device models and VM
 * registry are linked; the vendor back end is a fake struct virt_ops that
 * feeds scripted exits to the run loop and records, in one ordered log,
 * every event, state, CR8 write and interrupt window core/ hands it.  The
 * rest of the machine (clock, IPIs, per-CPU data, allocator, FPU switch)
 * is faked in a few lines each.
 */
#ifndef KASANE_TEST_UNIT_CORE_FAKE_H
#define KASANE_TEST_UNIT_CORE_FAKE_H

#include "test/unit/check.h"
#include "core/vm.h"
#include "core/exit.h"
#include "core/vcpu.h"
#include "core/sched.h"
#include "core/board.h"
#include "core/clock.h"
#include "arch/x86/trap.h"
#include "include/kasane/abi.h"
#include "arch/x86/percpu.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/x86_state.h"
#include "kernel/log.h"

/* The machine. */
extern unsigned cur_cpu;                /* the CPU the test runs "on" */
extern unsigned kicks[MAX_CPUS];        /* smp_kick() calls per CPU */
extern uint64_t last_wrmsr[2];          /* msr, value */
extern char console[8192];              /* what console_sink() got */
extern size_t console_len;
void console_sink(const char *s, size_t len);

/* What the fake "CPU" keeps of one vCPU (v->hw.vendor). */
struct fake_hw {
	struct x86_sregs sregs;         /* CR0, CR4, EFER, PAT and segments live here */
	uint64_t cr8;
	uint64_t msr[10];               /* STAR.., see fake_msr_slot() */
	bool can_inject;                /* IF=1 and no shadow, as the test decides */
	bool event_queued;              /* injected, not yet delivered by an entry */
	bool window;                    /* interrupt-window exit requested */
	bool nmi_window;                /* NMI-window exit requested */
	unsigned shadow;                /* interrupt shadow (VIRT_SHADOW_*) */
};
#define FAKE(v) ((struct fake_hw *)(v)->hw.vendor)

/* Everything core/ asks of the back end, in order. */
enum ev_kind { EV_ENTRY, EV_EXC, EV_INTR, EV_NMI, EV_WINDOW_ON, EV_WINDOW_OFF, EV_SET_STATE,
	       EV_SET_CR8 };
struct event {
	enum ev_kind kind;
	unsigned vcpu;
	uint8_t vector;
	bool has_error;
	uint32_t error;
	uint64_t val;                   /* CR8 written */
	struct x86_vcpu_state state;    /* EV_SET_STATE */
};
extern struct event evlog[64];
extern unsigned nr_ev;
/* Index of the n-th (from 0) event of a kind, or -1. */
int ev_nth(enum ev_kind kind, unsigned n);
/* The n-th event of a kind; an empty one (kind EV_ENTRY, all zero) if none. */
const struct event *ev_get(enum ev_kind kind, unsigned n);
unsigned ev_count(enum ev_kind kind);

/* The scripted guest: each entry runs the next step's guest action, then exits. */
struct step {
	void (*guest)(struct vcpu *v);
	struct vm_exit exit;
};
extern unsigned entries_irq_on;         /* entries with host interrupts on: a bug */
extern bool script_overrun;             /* the loop entered past the script */
struct vm_exit *push(enum vm_exit_kind kind, void (*guest)(struct vcpu *v));
/* A guest action: HC_EXIT with status 0. */
void guest_hc_exit(struct vcpu *v);
/* The last step of a script: the guest ends its VM with status 0. */
void push_hc_exit(void);

/* The host timer (lapic_timer_oneshot): times it was armed; the host's
 * interrupt handlers as kasane registered them (vcpu_timer_init...). */
extern unsigned host_timer_arms;
extern irq_handler_t fake_trap[256];
/* Time passes: the fake TSC (1 GHz) moves on. */
void fake_tsc_advance(uint64_t ticks);

/* Test VMs. */
#define RAM_SIZE (2 * MiB)
struct tvm {
	struct vm vm;
	struct vm_config cfg;           /* defaults: no watchdog, restart on reboot */
	uint8_t *ram;
	struct fake_hw hw[VM_MAX_VCPUS];
};
#define TVM_RAM(vm) (((struct tvm *)(vm))->ram)

/* Clear the logs, the script and the console. */
void reset_records(void);
/*
 * A VM with nr vCPUs on CPU 'cpu'.  With a board: 2 MiB of RAM, the real
 * devices, vCPU 0 runnable in flat 32-bit mode (IF=1, CPL 0) at 0x1000, the
 * others waiting for a SIPI, and all of them in the scheduler.  Without:
 * just what the scheduler looks at, every vCPU runnable and in no queue.
 */
struct vm *vm_new(unsigned id, unsigned nr, unsigned cpu, bool board);
/* End the VM, take the vCPUs of ended VMs off every run queue, free it. */
void vm_free(struct vm *vm);
/* Set up the fake machine (once, from main). */
void core_fake_init(void);

/* One slice of v on its CPU, as core/run.c runs it; returns the entries made. */
static unsigned run_slice(struct vcpu *v)
{
	unsigned before = ev_count(EV_ENTRY);

	cur_cpu = v->pcpu;
	struct vcpu *p = sched_pick(v->pcpu);
	CHECK(p == v);
	if (p != v) {
		if (p)
			sched_put(v->pcpu, p, 0);
		return 0;
	}
	uint64_t t0 = clock_now_ns();
	host_irq_on = true;
	vcpu_run(v, t0 + SCHED_SLICE_NS, NO_DEADLINE);
	CHECK(host_irq_on);     /* the loop gives interrupts back */
	CHECK_EQ(entries_irq_on, 0);    /* and enters with them off */
	sched_put(v->pcpu, v, clock_now_ns() - t0);
	return ev_count(EV_ENTRY) - before;
}

#endif
