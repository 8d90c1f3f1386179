/*
 * Entry of the 32-bit (Multiboot) test guests: flat 32-bit protected mode,
 * paging off, EAX = magic, EBX = information GPA (Multiboot 0.6.96 §3.2,
 * Multiboot2 spec §3.3).  GDTR and IDTR are undefined there, so our own GDT
 * is loaded (32-bit code 0x08, data 0x10, as trap.c expects).  The
 * Multiboot headers are in mb1_header.S, mb1_aout_header.S, mb2_header.S.
 */
	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl	%eax, boot_magic
	movl	%ebx, boot_info
	movl	$stack_top, %esp
	lgdt	gdt_ptr
	ljmp	$0x08, $1f
1:	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	call	guest_entry
2:	cli
	hlt
	jmp	2b

	.section .rodata
	.align 16
gdt:	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code, 4 GiB flat (SDM vol. 3A §3.4.5) */
	.quad	0x00cf92000000ffff	/* 0x10: data, 4 GiB flat */
gdt_end:
	.align 4
	.word	0
gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	gdt

	.bss
	.align 16
stack:	.fill	16384, 1, 0
stack_top:

	.section .note.GNU-stack, "", @progbits
