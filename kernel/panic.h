/*
 * Fatal hypervisor errors.  panic() sits at the bottom with printk, so the
 * lowest layers (paging, the heap) can call it without calling up; what it
 * needs from above (stopping the other CPUs, a backtrace, ending the run)
 * is registered at boot by core/shutdown.c.
 */
#ifndef KASANE_KERNEL_PANIC_H
#define KASANE_KERNEL_PANIC_H

#include "lib/types.h"

/* Exit statuses written to QEMU's isa-debug-exit (QEMU exits with 2v+1). */
#define HV_EXIT_OK      0
#define HV_EXIT_FAIL    1
#define HV_EXIT_PANIC   3

struct panic_ops {
	unsigned (*cpu_id)(void);
	/* Interrupts off; stop every other CPU; take the console. */
	void (*stop_world)(void);
	void (*backtrace)(uint64_t fp, uint64_t rip);
	/* Halt this CPU forever (another CPU already reports). */
	void (*halt)(void) __noreturn;
	/* End the run with a status. */
	void (*shutdown)(int status) __noreturn;
};

void panic_set_ops(const struct panic_ops *ops);

/*
 * A broken hypervisor invariant: print the message and a backtrace, stop
 * every CPU, then end the run.  Never for anything a guest or a config
 * file can cause.
 */
void panic(const char *fmt, ...) __noreturn __attribute__((format(printf, 1, 2)));

/*
 * For fatal exceptions, which print their own report: the first caller
 * stops the world and returns; any later caller halts.  panic_end() ends
 * the run.
 */
void panic_begin(void);
void panic_end(void) __noreturn;

#endif
