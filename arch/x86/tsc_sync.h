/* Whether the TSCs of all online CPUs read as one clock. */
#ifndef KASANE_ARCH_X86_TSC_SYNC_H
#define KASANE_ARCH_X86_TSC_SYNC_H

#include "lib/types.h"

/*
 * Every online CPU reads its TSC in turn, under one lock, for a while; a
 * value lower than the last one read anywhere is a warp: the TSCs are not
 * synchronized.  Call on the boot CPU once the APs are online.  Returns
 * true if no warp was seen, and then the largest step back allowed is 0.
 */
bool tsc_sync_check(void);

/* The verdict of tsc_sync_check() (false until it has run). */
extern bool tsc_synchronized;

#endif
