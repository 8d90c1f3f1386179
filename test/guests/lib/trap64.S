/*
 * 64-bit exception entry stubs for vectors 0-31, 16 bytes apart (trap.c
 * builds the IDT from trap_stubs).  Each pushes an error code of 0 if the
 * CPU pushed none (AMD APM vol. 2 §8.2: 8, 10-14, 17, 21, 29, 30 push one),
 * then the vector, and calls trap_handle(frame) with RSP 16-byte aligned:
 * the CPU aligns RSP before pushing its 5-quadword frame (SDM vol. 3A
 * §6.14.2), so 5 + 2 + 9 pushes leave it at 0 mod 16.
 */
	.text
	.code64
	.align 16
	.globl trap_stubs
trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.align 16
	.if !((\v == 8) | (\v == 10) | (\v == 11) | (\v == 12) | (\v == 13) | (\v == 14) | (\v == 17) | (\v == 21) | (\v == 29) | (\v == 30))
	pushq	$0
	.endif
	pushq	$\v
	jmp	trap_common
	.endr

trap_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	leaq	72(%rsp), %rdi		/* struct trap_frame: vector first */
	cld
	call	trap_handle
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
