/*
 * kasane's entry: Multiboot2 and Multiboot1 headers, then the 32-bit
 * protected-mode entry that both boot protocols use, which switches to
 * long mode on temporary identity page tables and calls kmain().
 *
 * Multiboot2 spec §3.1 (header), §3.3 (machine state: EAX=0x36d76289,
 * EBX=info, 32-bit flat protected mode, paging off).  Multiboot 0.6.96 §3.1
 * (header, a.out kludge), §3.2 (EAX=0x2badb002).  AMD APM vol. 2 §14.6
 * (enabling long mode: PAE, EFER.LME, then CR0.PG).
 */
#include "boot/boot.h"
#include "arch/x86/x86_defs.h"

	.section .multiboot, "a"
	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long 0                                 /* i386 */
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + 0 + (mb2_header_end - mb2_header))
	/* Tag: module alignment (type 6): page-align modules. */
	.balign 8
	.short 6, 0
	.long 8
	/* End tag. */
	.balign 8
	.short 0, 0
	.long 8
mb2_header_end:

	.balign 4
mb1_header:
	.long MB1_HEADER_MAGIC
	.long MB1_FLAGS
	.long -(MB1_HEADER_MAGIC + MB1_FLAGS)
	.long mb1_header                        /* header_addr */
	.long __image_start                     /* load_addr */
	.long __load_end                        /* load_end_addr */
	.long __bss_end                         /* bss_end_addr */
	.long _start                            /* entry_addr */

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %edi                 /* boot magic: first argument */
	movl %ebx, %esi                 /* info pointer: second argument */
	movl $boot_stack_top, %esp

	/* Long mode present?  CPUID 0x80000001 EDX bit 29 (AMD APM vol. 3, CPUID). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	/* Identity-map the first 4 GiB with 2 MiB pages. */
	movl $boot_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pml4
	movl $0, boot_pml4 + 4
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $boot_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pdpt(, %ecx, 8)
	movl $0, boot_pdpt + 4(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jb 1b
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P | PTE_W | PTE_PS), %eax
	movl %eax, boot_pd(, %ecx, 8)
	movl $0, boot_pd + 4(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b

	movl %cr4, %eax
	orl $(CR4_PAE | CR4_PGE), %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	/* EFER.NXE only if the CPU has NX (CPUID 0x80000001 EDX bit 20);
	 * ask first, as CPUID overwrites EDX, which WRMSR writes. */
	pushl %esi
	movl $0x80000001, %eax
	cpuid
	popl %esi
	xorl %ebx, %ebx
	btl $20, %edx
	jnc 3f
	movl $EFER_NXE, %ebx
3:	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	orl %ebx, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE | CR0_WP | CR0_NE), %eax
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $BOOT_CS64, $long_entry

no_long_mode:
	/* Tell COM1 why we stop: nothing else can be set up. */
	movl $no_lm_msg, %esi
	movw $0x3f8, %dx
4:	lodsb
	testb %al, %al
	jz 5f
	outb %al, %dx
	jmp 4b
5:	hlt
	jmp 5b

	.code64
long_entry:
	movl $BOOT_DS64, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp                 /* end of the frame-pointer chain */
	/* edi = magic, esi = info, zero-extended by the 32-bit moves above. */
	movl %edi, %edi
	movl %esi, %esi
	call kmain
6:	cli
	hlt
	jmp 6b

	.section .rodata
no_lm_msg:
	.asciz "kasane: this CPU has no long mode (x86-64); cannot boot\r\n"

	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .bss
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4 * 4096
	.globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
boot_stack_top:

/*
 * APs arrive here from the trampoline on the boot page tables, with
 * RDI = struct percpu *, RSI = stack top.  Switch to the final tables
 * (NX is already on) and the CPU's own stack, then enter C.
 */
	.text
	.code64
	.globl ap_start64
ap_start64:
	movq hv_cr3(%rip), %rax
	movq %rax, %cr3
	movq %rsi, %rsp
	xorl %ebp, %ebp
	call ap_main
7:	cli
	hlt
	jmp 7b

/* Switch the boot CPU to its own stack: switch_stack(top, fn, arg). */
	.globl switch_stack
switch_stack:
	movq %rdi, %rsp
	xorl %ebp, %ebp
	movq %rdx, %rdi
	call *%rsi
8:	cli
	hlt
	jmp 8b
