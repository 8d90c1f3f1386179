/* Fatal hypervisor errors and machine shutdown. */
#ifndef KASANE_CORE_PANIC_H
#define KASANE_CORE_PANIC_H

#include "lib/types.h"

/* Exit statuses written to QEMU's isa-debug-exit (QEMU exits with 2v+1). */
#define HV_EXIT_OK      0
#define HV_EXIT_FAIL    1
#define HV_EXIT_PANIC   3

/*
 * A broken hypervisor invariant: print the message and a backtrace, stop
 * every CPU, then end the run.  Never for anything a guest or a config
 * file can cause.
 */
void panic(const char *fmt, ...) __noreturn __attribute__((format(printf, 1, 2)));

/* Stop all other CPUs (NMI) so that nothing else runs or prints. */
void stop_other_cpus(void);

/*
 * End the run: under QEMU through isa-debug-exit with 'status', on bare
 * metal by the onexit= policy (ACPI power-off, reset, or halt).
 */
void hv_shutdown(int status) __noreturn;

/* Halt this CPU forever with interrupts off. */
void cpu_halt_forever(void) __noreturn;

#endif
