/*
 * Entry of the 64-bit test guests.  kasane enters a plain ELF64 kernel in
 * long mode with paging on (low 4 GiB identity-mapped), interrupts off,
 * RDI = GPA of a Multiboot2-format information structure and RSI =
 * 0x36D76289 (guest-loader/loader.h).  The entry RSP and GDT are not relied
 * on: the state found is saved for hello64, then our own stack and GDT are
 * loaded (64-bit code 0x08, data 0x10, as trap.c expects).
 */
	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	movq	%rdi, boot_info(%rip)
	movq	%rsi, boot_magic(%rip)
	movq	%rsp, entry_rsp(%rip)
	leaq	stack_top(%rip), %rsp
	pushfq
	popq	entry_rflags(%rip)
	movw	%cs, entry_cs(%rip)
	sgdt	entry_gdtr(%rip)
	cli
	cld
	lgdt	gdt_ptr(%rip)
	pushq	$0x08
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
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
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 (SDM vol. 3A §3.4.5) */
	.quad	0x00cf92000000ffff	/* 0x10: data, DPL 0 */
gdt_end:
	.align 8
	.word	0
gdt_ptr:
	.word	gdt_end - gdt - 1
	.quad	gdt

	.bss
	.align 16
	.globl entry_rsp, entry_rflags, entry_cs, entry_gdtr
entry_rsp:	.quad	0
entry_rflags:	.quad	0
entry_cs:	.quad	0
entry_gdtr:	.fill	16, 1, 0	/* limit (16 bits), base (64 bits) */
	.align 16
stack:	.fill	16384, 1, 0
stack_top:

	.section .note.GNU-stack, "", @progbits
