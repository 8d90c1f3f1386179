/*
 * Speculative-execution mitigations between guests and kasane, each
 * decided once at boot from the host's CPUID and IA32_ARCH_CAPABILITIES
 * (a CPU that reports itself unaffected skips the work):
 *  - IBPB when a CPU switches to a vCPU of another VM (Intel "Speculative
 *    Execution Side Channel Mitigations" §3.2 / Indirect Branch Predictor
 *    Barrier; AMD "Software Techniques for Managing Speculation" §2.3);
 *  - the guest's SPEC_CTRL (IBRS, STIBP, SSBD) in force while it runs,
 *    kasane's restored at exit (same documents; SVM and VMX switch it not);
 *  - the return stack buffer filled with harmless entries on every exit,
 *    before kasane's first RET (Intel "Retpoline" white paper, RSB
 *    stuffing; AMD §3);
 *  - on Intel, VERW to clear the CPU buffers before VM entry where MDS or
 *    TAA affects the CPU (Intel "Microarchitectural Data Sampling"
 *    guidance, MD_CLEAR), and an L1D flush before VM entry where L1TF does
 *    (Intel "L1 Terminal Fault" guidance, IA32_FLUSH_CMD);
 *  - on AMD Zen 1-4 without SRSO_NO, IBPB on every VM exit (AMD-SB-7005
 *    SRSO and AMD-SB-1037 Retbleed: "IBPB on VMEXIT" for hypervisors).
 */
#ifndef KASANE_ARCH_X86_SPEC_H
#define KASANE_ARCH_X86_SPEC_H

#define SPEC_RSB_ENTRIES        32

#ifdef __ASSEMBLY__
/*
 * Overwrite every RSB entry with one pointing at a speculation trap, so a
 * RET that underflows the RSB cannot go where a guest trained it.  \reg is
 * clobbered; RSP ends where it started.
 */
.macro SPEC_RSB_FILL reg
	movl $(SPEC_RSB_ENTRIES / 2), \reg
771:	call 772f
773:	pause
	lfence
	jmp 773b
772:	call 774f
775:	pause
	lfence
	jmp 775b
774:	dec \reg
	jnz 771b
	addq $(8 * SPEC_RSB_ENTRIES), %rsp
	lfence
.endm
#else

#include "lib/types.h"

/* The facts the decisions depend on, read from the host at boot. */
struct spec_cpu {
	bool intel, amd;
	unsigned family;                /* CPUID 1 family, extended family added */
	uint32_t l7_edx;                /* CPUID.(7,0):EDX */
	uint32_t e8_ebx;                /* CPUID 0x80000008 EBX (AMD) */
	uint32_t e21_eax;               /* CPUID 0x80000021 EAX (AMD), 0 if absent */
	bool vmx;                       /* the VT-x back end runs the guests */
	uint64_t arch_cap;              /* IA32_ARCH_CAPABILITIES, 0 if absent */
};

struct spec_policy {
	bool ibpb_switch;               /* IBPB when a CPU changes VM */
	bool ibpb_exit;                 /* IBPB after every VM exit (AMD SRSO/Retbleed) */
	uint64_t spec_ctrl_bits;        /* SPEC_CTRL bits the CPU has: the guest's are masked by them */
	uint64_t host_spec_ctrl;        /* kasane's own SPEC_CTRL */
	bool verw;                      /* VERW before VM entry (MDS/TAA) */
	bool l1d_flush;                 /* IA32_FLUSH_CMD before VM entry (L1TF) */
	bool l1tf_unmitigated;          /* affected, but no IA32_FLUSH_CMD */
};

extern struct spec_policy spec;

/* Pure: the policy for a CPU. */
void spec_decide(const struct spec_cpu *c, struct spec_policy *p);
/* One line: what is on and why ("IBPB on VM switch, ..."). */
void spec_describe(const struct spec_cpu *c, const struct spec_policy *p, char *buf, size_t n);

/* On the boot CPU, before any guest runs: read the CPU, decide, log. */
void spec_init(bool vmx);

/* A CPU is about to run a vCPU of VM vm_id (interrupts off). */
void spec_switch_vm(unsigned cpu, unsigned vm_id);
/* Right before entry with the guest's SPEC_CTRL, right after exit. */
void spec_guest_enter(uint64_t guest_spec_ctrl);
void spec_guest_exit(uint64_t guest_spec_ctrl);

#endif
#endif
