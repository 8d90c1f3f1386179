/*
 * Guest FPU/SSE/AVX state, XCR0, DR0-DR3 and TSC_AUX: what VMRUN does not
 * switch (AMD APM vol. 2 §15.5.1) but vCPUs sharing a CPU must not share.
 * Saved when a vCPU stops running on a CPU, loaded when it starts.
 */
#ifndef KASANE_ARCH_X86_FPU_H
#define KASANE_ARCH_X86_FPU_H

#include "lib/types.h"

struct fpu_state {
	void *area;             /* XSAVE (64-byte aligned) or FXSAVE area */
	uint64_t xcr0;
	uint64_t dr[4];
	uint64_t tsc_aux;
};

/* On each CPU at boot: CR4.OSFXSR/OSXMMEXCPT/OSXSAVE as available. */
void fpu_cpu_init(void);
/* A vCPU's initial state: x87/SSE reset values, XCR0 = x87. */
bool fpu_state_init(struct fpu_state *f);
void fpu_state_free(struct fpu_state *f);
/* Make f this CPU's state; save this CPU's state into f.  Interrupts off. */
void fpu_load(const struct fpu_state *f);
void fpu_save(struct fpu_state *f);
/* Snapshots: the bytes of a vCPU's area; whether an area's contents (from
 * a record) can be loaded without a fault: the XSAVE header and MXCSR
 * with no bit this CPU would refuse (SDM vol. 1 §13.8.1, §10.5.1.1). */
uint32_t fpu_area_size(void);
bool fpu_area_ok(const void *area, uint64_t xcr0);
/* The XCR0 in force now: a running vCPU's own between fpu_load and fpu_save. */
uint64_t fpu_xcr0_now(void);

/*
 * Where a vCPU's area holds what (the debugger writes registers into it):
 * xsave: the area is XSAVE's standard form (a header at 512), else FXSAVE
 * alone; avx_off: the offset of the upper YMM halves (CPUID.(EAX=0DH,
 * ECX=2):EBX), 0 without AVX state; mxcsr_mask: the MXCSR bits this CPU
 * takes (SDM vol. 1 §11.6.6).
 */
struct fpu_layout {
	bool xsave;
	uint32_t avx_off;
	uint32_t mxcsr_mask;
};
void fpu_get_layout(struct fpu_layout *l);

#endif
