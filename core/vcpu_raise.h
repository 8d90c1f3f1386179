/* Exceptions kasane raises in a guest (exit handlers, the emulator, shadow
 * paging, the debugger): below vcpu.c, so that they need not call it. */
#ifndef KASANE_CORE_VCPU_RAISE_H
#define KASANE_CORE_VCPU_RAISE_H

#include "lib/types.h"

struct vcpu;

/*
 * Raise an exception in the guest, delivered at the next entry (exit
 * handlers and the instruction emulator use this, never the back end's
 * inject functions).  It combines with an exception being delivered by
 * the double-fault rules; a triple fault ends the VM.
 */
void vcpu_raise_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);

#endif
