/* VMREAD and VMWRITE of the current VMCS (SDM vol. 3C §31.3), for every
 * file of the VT-x back end. */
#ifndef KASANE_ARCH_X86_VMX_VMX_INSN_H
#define KASANE_ARCH_X86_VMX_VMX_INSN_H

#include "lib/types.h"

static inline uint64_t vmread(uint64_t field)
{
	uint64_t v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "cc");
	return v;
}

static inline void vmwrite(uint64_t field, uint64_t v)
{
	__asm__ volatile("vmwrite %0, %1" : : "r"(v), "r"(field) : "cc");
}

#endif
