/* Host time for the VM layer, from the invariant TSC (calibrated at boot). */
#ifndef KASANE_CORE_CLOCK_H
#define KASANE_CORE_CLOCK_H

#include "lib/types.h"

/* Nanoseconds since boot. */
uint64_t clock_now_ns(void);
uint64_t clock_ns_to_tsc(uint64_t ns);
uint64_t clock_tsc_to_ns(uint64_t ticks);

#endif
