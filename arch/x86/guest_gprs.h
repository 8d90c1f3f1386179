/*
 * Assembly helpers shared by the world switches (svm/svm_entry.S,
 * vmx/vmx_entry.S): moving a guest's GPRs between the registers and its
 * gpr[] array (x86 encoding order, arch/x86/regs.h) addressed by RDI.
 * RAX, RSP and RDI itself are left to the caller: where the guest's RAX
 * and RSP live differs by vendor, and RDI holds the address.
 */
#ifndef KASANE_ARCH_X86_GUEST_GPRS_H
#define KASANE_ARCH_X86_GUEST_GPRS_H

#ifdef __ASSEMBLY__
#define GPR_RAX 0
#define GPR_RCX 8
#define GPR_RDX 16
#define GPR_RBX 24
#define GPR_RBP 40
#define GPR_RSI 48
#define GPR_RDI 56
#define GPR(n)  (8 * (n))

	.macro GUEST_GPRS_LOAD
	movq GPR_RCX(%rdi), %rcx
	movq GPR_RDX(%rdi), %rdx
	movq GPR_RBX(%rdi), %rbx
	movq GPR_RBP(%rdi), %rbp
	movq GPR_RSI(%rdi), %rsi
	movq GPR(8)(%rdi), %r8
	movq GPR(9)(%rdi), %r9
	movq GPR(10)(%rdi), %r10
	movq GPR(11)(%rdi), %r11
	movq GPR(12)(%rdi), %r12
	movq GPR(13)(%rdi), %r13
	movq GPR(14)(%rdi), %r14
	movq GPR(15)(%rdi), %r15
	.endm

	.macro GUEST_GPRS_STORE
	movq %rcx, GPR_RCX(%rdi)
	movq %rdx, GPR_RDX(%rdi)
	movq %rbx, GPR_RBX(%rdi)
	movq %rbp, GPR_RBP(%rdi)
	movq %rsi, GPR_RSI(%rdi)
	movq %r8, GPR(8)(%rdi)
	movq %r9, GPR(9)(%rdi)
	movq %r10, GPR(10)(%rdi)
	movq %r11, GPR(11)(%rdi)
	movq %r12, GPR(12)(%rdi)
	movq %r13, GPR(13)(%rdi)
	movq %r14, GPR(14)(%rdi)
	movq %r15, GPR(15)(%rdi)
	.endm
#endif

#endif
