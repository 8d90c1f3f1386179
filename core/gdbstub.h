/*
 * The guest debugger: a GDB remote stub on the second serial port (COM2)
 * for one VM at a time (core/gdbstub.c; the protocol in core/gdb_proto.c).
 * Threads are the VM's vCPUs (thread id = vCPU id + 1).  The VM stops as
 * a whole, through the scheduler's pause (core/sched.c), so the other VMs
 * run on undisturbed.
 */
#ifndef KASANE_CORE_GDBSTUB_H
#define KASANE_CORE_GDBSTUB_H

#include "lib/types.h"

struct vm;
struct vcpu;
struct vm_exit;

/* What the debugger holds of one vCPU (struct vcpu's dbg). */
struct vcpu_dbg {
	bool step;              /* run one instruction with TF set, then stop */
	bool step_tf;           /* the guest's own TF when the step began */
	bool dr_held;           /* the debugger's DR0-3 and DR7 are loaded */
	uint64_t guest_dr[4];   /* the guest's own, meanwhile */
	uint64_t guest_dr7;
};

/*
 * What the vCPU loop (core/vcpu.c) and the exit handlers (core/exit.c)
 * call while a VM is debugged (vm->debugged), on the vCPU's own CPU.  A
 * pointer: core/exit.c defines it weakly as NULL, core/gdbstub.c for real,
 * so that the host tests of those files link without the stub.
 */
struct debug_hooks {
	/* A #BP exit (or an INT n exit under SVM's INTn intercept): the
	 * debugger's breakpoint stops the VM; the guest's own INT3 or INT n
	 * is given back to it. */
	void (*breakpoint)(struct vcpu *v, struct vm_exit *e);
	/* A #DB exit: true if it is the debugger's (a step, a hardware
	 * breakpoint or watchpoint), which stops the VM; false: the guest's. */
	bool (*debug_trap)(struct vcpu *v);
	/* The stepped instruction completed without a #DB (kasane emulated it). */
	void (*step_done)(struct vcpu *v);
	/* A gdb = yes VM is about to run its first instruction. */
	void (*first_run)(struct vcpu *v);
};
extern const struct debug_hooks *debug_hooks;

/* Attach the stub to vm (the console's `debug NAME`): the VM stops and
 * waits for gdb.  False, with the reason in *why, if it cannot. */
bool gdbstub_attach(struct vm *vm, const char **why);
/* The housekeeping CPU's look at COM2 and at the debugged VM. */
void gdbstub_poll(void);
/* A debugger is attached, or bytes wait on COM2: poll often. */
bool gdbstub_active(void);

#endif
