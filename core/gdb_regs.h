/*
 * The debugger's view of a vCPU's registers, as pure logic: gdb's register
 * numbers (those of the target description core/gdbstub.c sends), their
 * sizes, reading them, and checking and staging a write.  core/gdbstub.c
 * copies a stopped vCPU's state into a struct gdb_regfile, applies gdb's
 * writes to it here, and loads the result back only if every write was
 * accepted; a refused write leaves the vCPU untouched.  Also built into
 * the host unit test.
 *
 * A write is held to the rules of the guest's own (Intel SDM vol. 2B MOV
 * CRn, MOV Sreg, WRMSR; vol. 1 §10.5.1 FXSAVE layout, ch. 13 XSAVE):
 *   - RFLAGS: the status and control flags; VM and reserved bits refused.
 *   - RIP, FS/GS base: canonical.
 *   - CS, SS, DS, ES, FS, GS: loaded as MOV Sreg (or a far jump for CS)
 *     would: in real or virtual-8086 mode base = selector * 16, the cached
 *     limit and attributes kept; in protected mode the descriptor is read
 *     from the guest's GDT or LDT and must pass the processor's checks
 *     (present, type, privilege; CS and SS at the current CPL, which a
 *     debugger does not change).  The cache is loaded from it with the
 *     accessed bit set there (the descriptor in guest memory is not
 *     written: the debugger writes no guest memory behind gdb's back).
 *   - CR0, CR3, CR4: core/ctlreg.c's checks against the CPU model, EFER.LMA
 *     following CR0.PG as on a MOV; CR2 any value (32 bits outside long
 *     mode); CR8 0-15; EFER: the model's bits, LME fixed while paging is
 *     on, LMA read-only (kept, as WRMSR keeps it).
 *   - x87, SSE, AVX, MXCSR: into the XSAVE area, its header's XSTATE_BV
 *     bit set for the component (which is first put in its initial state
 *     if that bit was clear, since the area's bytes then mean nothing);
 *     MXCSR bits outside MXCSR_MASK refused, as FXRSTOR/LDMXCSR refuse
 *     them with #GP.
 * Values equal to the current ones are always accepted, so that a 'G' of
 * everything with one register changed is that one write.
 */
#ifndef KASANE_CORE_GDB_REGS_H
#define KASANE_CORE_GDB_REGS_H

#include "lib/types.h"
#include "arch/x86/regs.h"
#include "arch/x86/fpu.h"

/* gdb's numbers: GPRs in gdb's order (rax rbx rcx rdx rsi rdi rbp rsp r8-r15). */
enum {
	GDB_R_RIP = 16, GDB_R_EFLAGS, GDB_R_CS, GDB_R_SS, GDB_R_DS, GDB_R_ES, GDB_R_FS, GDB_R_GS,
	GDB_R_ST0 = 24, GDB_R_FCTRL = 32, GDB_R_FSTAT, GDB_R_FTAG, GDB_R_FISEG, GDB_R_FIOFF,
	GDB_R_FOSEG, GDB_R_FOOFF, GDB_R_FOP, GDB_R_XMM0 = 40, GDB_R_MXCSR = 56,
	GDB_R_FS_BASE, GDB_R_GS_BASE, GDB_R_CR0, GDB_R_CR2, GDB_R_CR3, GDB_R_CR4, GDB_R_CR8,
	GDB_R_EFER, GDB_R_YMM0H, GDB_NR_REGS = GDB_R_YMM0H + 16
};

/* The bytes of the save area gdb's registers live in: the legacy region,
 * the XSAVE header and the upper YMM halves. */
#define GDB_FX_BYTES    1024u

/* A stopped vCPU's registers, as gdb reads and writes them. */
struct gdb_regfile {
	struct x86_regs regs;
	struct x86_sregs sregs;
	uint64_t cr8;
	bool cr3_written;               /* a MOV to CR3 flushes, even of the same value */
	uint8_t fx[GDB_FX_BYTES];       /* the first fx_len bytes of the vCPU's area */
	uint32_t fx_len;
};

/* What a write is checked against: the guest's CPU model and the host's area. */
struct gdb_reg_limits {
	uint64_t cr4_allowed;           /* core/ctlreg.c */
	uint64_t efer_mask;             /* EFER bits the CPU model has (core/msr.c) */
	unsigned maxphyaddr;
	struct fpu_layout fpu;
	/* 8 bytes at guest-linear la (a descriptor table entry); false if
	 * that address does not translate to RAM. */
	bool (*read_desc)(void *ctx, uint64_t la, uint64_t *desc);
	void *ctx;
};

unsigned gdb_reg_size(unsigned r);
/* 64-bit canonical form: bits 63:47 all equal (SDM vol. 1 §3.3.7.1). */
bool gdb_canonical(uint64_t a);
/* Register r (< GDB_NR_REGS) into buf, little-endian, gdb_reg_size(r) bytes. */
void gdb_reg_get(const struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r,
		 uint8_t *buf);
/* Write register r of f from buf; false (f unchanged) if the write is refused. */
bool gdb_reg_set(struct gdb_regfile *f, const struct gdb_reg_limits *l, unsigned r,
		 const uint8_t *buf);

#endif
