/*
 * AP start-up code, copied by smpboot.c to AP_TRAMPOLINE (0x8000) and
 * entered there on a STARTUP IPI with vector 0x08: real mode, CS = 0x0800,
 * IP = 0 (Intel SDM vol. 3A §9.4.4).  Protected mode, then long mode (AMD
 * APM vol. 2 §14.6.1: PAE, CR3, EFER.LME, CR0.PG, a far jump to a 64-bit
 * code segment), then the C entry on the stack the BSP put below.
 *
 * The code runs at AP_TRAMPOLINE, not where it was linked: every address
 * is written as AT(label), its offset in the copy plus AP_TRAMPOLINE.
 * The BSP fills the fields after ap_tramp_data in the copy, for one AP at
 * a time.  The GDT here stays in use: 64-bit code 0x08 and data 0x10 as
 * in crt64.S, so the shared IDT works on every CPU.
 */
#define AP_TRAMPOLINE   0x8000
#define AT(x)           ((x) - ap_tramp_start + AP_TRAMPOLINE)
#define CR0_BITS        0x80010033      /* PG, WP, NE, ET, MP, PE */
#define CR4_PAE         0x20
#define MSR_EFER        0xc0000080

	.text
	.globl ap_tramp_start, ap_tramp_end, ap_tramp_data
	.code16
ap_tramp_start:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	AT(tramp_gdt_ptr)
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x18, $AT(tramp32)

	.code32
tramp32:
	movl	$0x10, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	AT(tramp_cr3), %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	movl	AT(tramp_efer), %eax
	xorl	%edx, %edx
	wrmsr
	movl	$CR0_BITS, %eax
	movl	%eax, %cr0
	ljmp	$0x08, $AT(tramp64)

	.code64
tramp64:
	movl	$0x10, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	movq	AT(tramp_stack), %rsp
	movl	AT(tramp_arg), %edi
	movq	AT(tramp_entry), %rax
	call	*%rax
1:	cli
	hlt
	jmp	1b

	.align 16
tramp_gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code (SDM vol. 3A §3.4.5) */
	.quad	0x00cf92000000ffff	/* 0x10: data, 4 GiB */
	.quad	0x00cf9a000000ffff	/* 0x18: 32-bit code, 4 GiB */
tramp_gdt_end:
	.align 4
	.word	0
tramp_gdt_ptr:
	.word	tramp_gdt_end - tramp_gdt - 1
	.long	AT(tramp_gdt)

	/* Filled in by the BSP: struct ap_tramp_data in smpboot.c. */
	.align 8
ap_tramp_data:
tramp_cr3:	.quad	0
tramp_stack:	.quad	0
tramp_entry:	.quad	0
tramp_efer:	.long	0
tramp_arg:	.long	0
ap_tramp_end:

	.section .note.GNU-stack, "", @progbits
