/* The physical 8254 PIT, used only to measure time at boot. */
#ifndef KASANE_DRIVERS_PIT_H
#define KASANE_DRIVERS_PIT_H

#include "lib/types.h"

#define PIT_HZ 1193182

/* Busy-wait 'us' microseconds (at most 50 ms) on channel 2. */
void pit_wait_us(uint32_t us);

#endif
