/*
 * Entry stubs for vectors 32-255, 16 bytes apart (irq.c builds the IDT
 * from irq_stubs).  The frame matches trap64.S's: a zero error code and
 * the vector on top of the CPU's 5-quadword frame, then the caller-saved
 * registers, so RSP is 16-byte aligned at the call of
 * irq_dispatch(vector) (SDM vol. 3A §6.14.2).  The guests are built with
 * -mgeneral-regs-only: no FPU or SSE state to save.
 */
	.text
	.code64
	.align 16
	.globl irq_stubs
irq_stubs:
	.set vec, 32
	.rept 224
	.align 16
	pushq	$0
	pushq	$vec
	jmp	irq_common
	.set vec, vec + 1
	.endr

irq_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	72(%rsp), %rdi		/* the vector */
	cld
	call	irq_dispatch
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp		/* vector, error code */
	iretq

	.section .note.GNU-stack, "", @progbits
