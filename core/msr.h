/* The guest's MSRs.  Each returns false where hardware would raise #GP. */
#ifndef KASANE_CORE_MSR_H
#define KASANE_CORE_MSR_H

#include "lib/types.h"

struct vcpu;
bool msr_guest_read(struct vcpu *v, uint32_t msr, uint64_t *val);
bool msr_guest_write(struct vcpu *v, uint32_t msr, uint64_t val);
/* The MSRs a guest may access without an exit (for the back end's bitmaps). */
const uint32_t *msr_passthrough_list(unsigned *nr);

#endif
