/* The physical CMOS clock. */
#ifndef KASANE_DRIVERS_CMOS_H
#define KASANE_DRIVERS_CMOS_H

#include "lib/types.h"

/* Wall-clock seconds since 1970 at boot, read by cmos_read_time(). */
extern uint64_t boot_epoch_seconds;
void cmos_read_time(void);

#endif
