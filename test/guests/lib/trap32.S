/*
 * 32-bit exception entry stubs for vectors 0-31, 16 bytes apart (trap.c
 * builds the IDT from trap_stubs).  Each pushes an error code of 0 if the
 * CPU pushed none (AMD APM vol. 2 §8.2: 8, 10-14, 17, 21, 29, 30 push one),
 * then the vector, and calls trap_handle(frame).  Same privilege level, so
 * the CPU frame is EIP, CS, EFLAGS (SDM vol. 3A §6.12.1).
 */
	.text
	.code32
	.align 16
	.globl trap_stubs
trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.align 16
	.if !((\v == 8) | (\v == 10) | (\v == 11) | (\v == 12) | (\v == 13) | (\v == 14) | (\v == 17) | (\v == 21) | (\v == 29) | (\v == 30))
	pushl	$0
	.endif
	pushl	$\v
	jmp	trap_common
	.endr

trap_common:
	pushl	%eax
	pushl	%ecx
	pushl	%edx
	leal	12(%esp), %eax		/* struct trap_frame: vector first */
	pushl	%eax
	cld
	call	trap_handle
	addl	$4, %esp
	popl	%edx
	popl	%ecx
	popl	%eax
	addl	$8, %esp		/* vector, error code */
	iret

	.section .note.GNU-stack, "", @progbits
