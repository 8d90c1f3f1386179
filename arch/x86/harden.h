/*
 * Hardening of the hypervisor itself: SMEP and SMAP on every CPU that has
 * them, the stack protector's canary, and its failure path.
 */
#ifndef KASANE_ARCH_X86_HARDEN_H
#define KASANE_ARCH_X86_HARDEN_H

#include "lib/types.h"

/*
 * Picks the stack protector's canary for this boot: RDSEED, else RDRAND,
 * else the TSC mixed.  Call first thing on the boot CPU, from a function
 * that never returns (the canaries of frames live at the call would no
 * longer match).
 */
void harden_canary_init(void);
/* Where the canary came from ("RDSEED", "RDRAND" or "TSC"). */
const char *harden_canary_source(void);

/* CR4.SMEP and CR4.SMAP on this CPU where CPUID shows them (SDM vol. 3A
 * §4.6: supervisor-mode execution and access prevention).  Returns the
 * bits set. */
uint64_t harden_cpu_init(void);

/* selftest=stack-smash: overruns a stack buffer; must panic. */
void harden_selftest_smash(void);

#endif
