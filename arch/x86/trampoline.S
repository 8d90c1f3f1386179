/*
 * The AP start-up trampoline (SDM vol. 3A §8.4.4: INIT-SIPI-SIPI starts an
 * AP in real mode at vector * 4 KiB).  This blob is copied below 1 MiB and
 * is position independent: it finds its base from CS.  It enters protected
 * mode, then long mode on the boot page tables, and jumps to ap_start64 in
 * the image with RDI = struct percpu *, RSI = stack top.
 */
#include "boot/boot.h"
#include "arch/x86/x86_defs.h"

#define OFF(x) ((x) - trampoline_start)

	.section .rodata
	.balign 16
	.globl trampoline_start, trampoline_end
	.globl tr_cr3, tr_efer, tr_entry, tr_stack, tr_arg
	.code16
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx
	movw %ax, %bx
	shll $4, %ebx                           /* ebx = physical base */
	leal OFF(tr_gdt)(%ebx), %eax
	movl %eax, OFF(tr_gdt_ptr) + 2
	leal OFF(tr_prot)(%ebx), %eax
	movl %eax, OFF(tr_jmp32)
	lgdtl OFF(tr_gdt_ptr)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *OFF(tr_jmp32)

	.code32
tr_prot:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	leal 4096(%ebx), %esp                   /* top of the trampoline page */
	movl %cr4, %eax
	orl $(CR4_PAE | CR4_PGE), %eax
	movl %eax, %cr4
	movl OFF(tr_cr3)(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl OFF(tr_efer)(%ebx), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP | CR0_NE), %eax
	movl %eax, %cr0
	leal OFF(tr_long)(%ebx), %eax
	pushl $0x08
	pushl %eax
	lret

	.code64
tr_long:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movq OFF(tr_arg)(%rbx), %rdi
	movq OFF(tr_stack)(%rbx), %rsi
	movq OFF(tr_entry)(%rbx), %rax
	jmpq *%rax

	.balign 8
tr_gdt:
	.quad 0
	.quad 0x00af9a000000ffff                /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff                /* 0x10: data */
	.quad 0x00cf9a000000ffff                /* 0x18: 32-bit code */
tr_gdt_end:
tr_gdt_ptr:
	.short tr_gdt_end - tr_gdt - 1
	.long 0
	.balign 4
tr_jmp32:
	.long 0
	.short 0x18
	.balign 8
tr_cr3:		.quad 0
tr_efer:	.quad 0
tr_entry:	.quad 0
tr_stack:	.quad 0
tr_arg:		.quad 0
trampoline_end:
