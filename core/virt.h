/*
 * The choice of vendor back end: the one place that knows which exist.
 * Everything else calls through 'virt' (arch/x86/virt_ops.h).
 */
#ifndef KASANE_CORE_VIRT_H
#define KASANE_CORE_VIRT_H

#include "lib/types.h"
#include "arch/x86/virt_ops.h"
#include "arch/x86/percpu.h"

extern const struct virt_ops *virt;
extern bool virt_cpu_ok[MAX_CPUS];      /* per physical CPU: virtualization enabled */

/*
 * Probe the back ends by CPUID, bind the first this CPU offers, and enable
 * it on every online CPU.  False (with a message) if none can run VMs.
 */
bool virt_init(void);
/* The CPUs where VMs can run (bit n = CPU n). */
uint64_t virt_usable_cpus(void);

#endif
