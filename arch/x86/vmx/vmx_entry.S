/*
 * The VMX world switch:
 *   int vmx_enter(uint64_t gpr[16], int launched, uint64_t *host_rsp);
 * gpr[] is in the x86 encoding order (arch/x86/regs.h); its RSP slot is
 * unused because the guest's RSP lives in the VMCS.  Enters the current
 * VMCS's guest with VMLAUNCH (launched == 0) or VMRESUME, and returns
 *   0  after a VM exit (guest GPRs stored back into gpr[]);
 *   1  VMfailInvalid (RFLAGS.CF=1: no valid current VMCS);
 *   2  VMfailValid (RFLAGS.ZF=1: the VM-instruction error field says why).
 * Intel SDM vol. 3C §26 (VM entries), §28.5 (host state loaded on exit),
 * §31.2 (VMfail conventions).  The VMCS's HOST_RIP is vmx_exit_point; this
 * function writes HOST_RSP itself when the stack pointer differs from
 * *host_rsp (the value it last wrote into this VMCS), so any stack works.
 * Called with interrupts off; a VM exit leaves RFLAGS = 2 (IF=0).
 */
#include "arch/x86/guest_gprs.h"
#include "arch/x86/spec.h"

#define HOST_RSP 0x6c14         /* VMCS field encoding (SDM vol. 3C App. B) */

	.text
	.code64
	.globl vmx_enter
vmx_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                              /* gpr[], found again at exit */

	cmpq %rsp, (%rdx)
	je 1f
	movq $HOST_RSP, %rax
	vmwrite %rsp, %rax
	jbe .Lfail                              /* CF or ZF: VMfail */
	movq %rsp, (%rdx)
1:

	cmpl $0, %esi                           /* movs below keep the flags */
	movq GPR_RAX(%rdi), %rax
	GUEST_GPRS_LOAD
	movq GPR_RDI(%rdi), %rdi
	jne .Lresume
	vmlaunch
	jmp .Lfail                              /* only reached on VMfail */
.Lresume:
	vmresume
.Lfail:
	/* Guest GPRs may be loaded; gpr[] in memory still holds them. */
	movl $2, %eax                           /* movl keeps the flags */
	jz 1f
	movl $1, %eax
1:	popq %rdi
	jmp .Lout

	/* HOST_RIP: RSP is HOST_RSP, i.e. it points at the saved gpr[]. */
	.globl vmx_exit_point
vmx_exit_point:
	pushq %rdi                              /* guest RDI */
	movq 8(%rsp), %rdi                      /* gpr[] */
	movq %rax, GPR_RAX(%rdi)
	GUEST_GPRS_STORE
	popq GPR_RDI(%rdi)
	popq %rdi                               /* gpr[] */
	/*
	 * Before the first RET, every RSB entry is made to point at a
	 * speculation trap (spec.h, RSB stuffing), so a RET that underflows
	 * the RSB cannot go where the guest trained it: SPEC_RSB_ENTRIES
	 * CALLs unrolled (34 instructions, not the 67 of spec.h's loop; this
	 * path runs at every exit), then the stack they used is dropped.
	 */
	.rept SPEC_RSB_ENTRIES
	call 1f
2:	pause
	lfence
	jmp 2b
1:
	.endr
	addq $(8 * SPEC_RSB_ENTRIES), %rsp
	lfence
	xorl %eax, %eax
.Lout:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret
