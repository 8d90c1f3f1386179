/* VM exit handling: one small function per vendor-neutral exit reason. */
#ifndef KASANE_CORE_EXIT_H
#define KASANE_CORE_EXIT_H

#include "arch/x86/virt_ops.h"

struct vcpu;

extern const char *const exit_kind_name[NR_EXIT_KINDS];

/* Handle one exit of v, on v's CPU. */
void vcpu_handle_exit(struct vcpu *v, struct vm_exit *e);
/* The CR4 bits v's CPU model allows (core/ctlreg.c). */
uint64_t vcpu_cr4_allowed(struct vcpu *v);

#endif
