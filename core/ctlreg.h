/*
 * The guest's control registers and XCR0 as its CPU model allows them:
 * the CR4 and XCR0 bits its CPUID shows, and the checks of a MOV to CR0 or
 * CR4 and of XSETBV that hardware makes (Intel SDM vol. 3A §2.5, vol. 2B
 * MOV CRn, vol. 2C XSETBV; AMD APM vol. 2 §3.1).  Pure: core/exit.c
 * applies what these decide.
 */
#ifndef KASANE_CORE_CTLREG_H
#define KASANE_CORE_CTLREG_H

#include "lib/types.h"
#include "core/cpuid.h"

/* CR4 bits the guest may set: each one's CPUID feature is shown to it. */
uint64_t ctlreg_cr4_allowed(const struct cpuid_ctx *c);
/* XCR0 bits the guest may set: CPUID.(EAX=0DH,ECX=0) EDX:EAX as shown. */
uint64_t ctlreg_xcr0_allowed(const struct cpuid_ctx *c);

/* The state a CR0/CR4 write is checked against. */
struct ctlreg_state {
	uint64_t cr0, cr3, cr4, efer;
	bool cs_l;                      /* 64-bit mode: EFER.LMA and CS.L */
	bool cs_l_bit;                  /* CS.L itself, in any mode */
};

/*
 * MOV to CR0 of *val: false where hardware raises #GP(0).  Otherwise *val
 * is what CR0 becomes (ET set, the reserved low bits clear) and *efer the
 * new EFER (LMA follows PG when LME is set, SDM vol. 3A §10.8.5).
 */
bool ctlreg_cr0_check(const struct ctlreg_state *s, uint64_t *val, uint64_t *efer);
/*
 * MOV to CR3 of *val, for a hypervisor that keeps the guest's CR3 (shadow
 * paging): false where hardware raises #GP(0) (a reserved bit at or above
 * maxphyaddr in long mode).  Otherwise *val is what CR3 becomes (32 bits
 * outside long mode; with CR4.PCIDE without bit 63) and *noflush says
 * whether bit 63 asked to keep the PCID's translations (SDM vol. 3A
 * §4.10.4.1).
 */
bool ctlreg_cr3_check(const struct ctlreg_state *s, uint64_t *val, unsigned maxphyaddr,
		      bool *noflush);
/* MOV to CR4 of val, given the bits the CPU model allows: false is #GP(0). */
bool ctlreg_cr4_check(const struct ctlreg_state *s, uint64_t val, uint64_t allowed);
/* XSETBV to XCR0 of val, given the bits offered: false is #GP(0). */
bool ctlreg_xcr0_check(uint64_t val, uint64_t allowed);

/*
 * A whole system state that a vCPU may be loaded with from outside (a
 * snapshot's record, the debugger's register writes): CR0 and CR4 as a
 * MOV would accept them (cr4_allowed: the CPU model's, or ~0 when not yet
 * known), EFER.LMA as CR0.PG and EFER.LME make it, PAE in long mode, no
 * 64-bit CS with D set, and segment attributes in the architectural layout
 * only.  False for anything a VMRUN/VM entry could refuse or that the guest
 * could not have reached itself.
 */
struct x86_sregs;
bool ctlreg_sregs_ok(const struct x86_sregs *s, uint64_t cr4_allowed);

#endif
