/* Ending the run, and what panic() needs from the layers above it. */
#ifndef KASANE_CORE_SHUTDOWN_H
#define KASANE_CORE_SHUTDOWN_H

#include "lib/types.h"

/* Register the panic ops (kernel/panic.h); first thing at boot. */
void shutdown_init(void);

/* Stop all other CPUs (NMI) so that nothing else runs or prints. */
void stop_other_cpus(void);

/*
 * End the run: under QEMU through isa-debug-exit with 'status', on bare
 * metal by the onexit= policy (ACPI power-off, reset, or halt).
 */
void hv_shutdown(int status) __noreturn;

#endif
