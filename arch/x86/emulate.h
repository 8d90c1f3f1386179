/*
 * Emulation of one decoded memory-operand instruction (MMIO accesses seen
 * as nested page faults): MOV, MOVZX, MOVSX, MOVSXD, MOVS, STOS, LODS,
 * ADD/OR/ADC/SBB/AND/SUB/XOR/CMP, TEST and XCHG.  Port I/O is not handled
 * here; the decoded x86_insn.io describes it for the caller.
 *
 * Pure apart from the callbacks: no global state, no guest memory access
 * except through ops.
 */
#ifndef KASANE_ARCH_X86_EMULATE_H
#define KASANE_ARCH_X86_EMULATE_H

#include "arch/x86/decode.h"

/*
 * Iterations of a REP string instruction done per x86_emulate call.  When
 * rCX is still non-zero after this many, RIP is left on the instruction so
 * the guest executes it again (and can take interrupts in between), as
 * hardware does between iterations (SDM vol. 2B REP).
 */
#define X86_EMU_REP_MAX 4096

/*
 * Memory access for the emulator.  ea is the effective address, already
 * truncated to the address size; the callee adds the base of segment seg
 * (SEG_*), translates through the guest page tables and routes the access
 * to RAM or to a device.  size is 1, 2, 4 or 8; val is little-endian.
 * Return 0 or a negative error, which x86_emulate returns unchanged.
 */
struct x86_emu_ops {
	int (*read)(void *ctx, int seg, uint64_t ea, void *val, unsigned size);
	int (*write)(void *ctx, int seg, uint64_t ea, const void *val, unsigned size);
};

/*
 * Execute insn, decoded from the bytes at regs->rip, against regs: update
 * the destination, the arithmetic flags as hardware does (SDM vol. 1
 * appendix A; AF, undefined after logic ops, is cleared) and advance RIP.
 *
 * Returns 0, -X86_EUNSUPPORTED for ops it does not execute (port I/O,
 * X86_OP_OTHER), or a callback's error.  On error regs are unchanged,
 * except that a REP string instruction keeps the iterations completed
 * before the failing one (rSI/rDI/rCX updated, RIP not advanced), matching
 * a fault in the middle of a REP on hardware.  Memory writes done before
 * the error are not undone.
 */
int x86_emulate(const struct x86_insn *insn, struct x86_regs *regs,
		const struct x86_emu_ops *ops, void *ctx);

#endif
