/*
 * Interrupt and exception entry stubs.  Every vector pushes an error code
 * (a zero where the CPU pushes none, SDM vol. 3A §6.13) and its number,
 * then the common path saves the GPRs as a struct trap_frame and calls
 * trap_entry(frame).
 */
	.text
	.code64


	.altmacro
	.macro vector n
	.balign 16
vector_\n:
	.if !((\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30))
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
	.endm

	.set i, 0
	.rept 256
	vector %i
	.set i, i + 1
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	/* Make the saved RIP the caller of this frame for the backtrace. */
	call trap_entry
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.macro vector_entry n
	.quad vector_\n
	.endm

	.section .rodata
	.balign 8
	.globl vector_table
vector_table:
	.set i, 0
	.rept 256
	vector_entry %i
	.set i, i + 1
	.endr
