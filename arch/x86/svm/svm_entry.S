/*
 * The SVM world switch:
 *   void svm_vmrun(uint64_t gpr[16], hpa_t vmcb, hpa_t host_save);
 * gpr[] is in the x86 encoding order (arch/x86/regs.h); its RAX and RSP
 * slots are unused here because VMRUN takes those from the VMCB.  Runs the
 * guest with VMLOAD/VMRUN/VMSAVE, stores its GPRs back, and restores the
 * host's hidden state (FS/GS/TR/syscall MSRs) with VMLOAD of the per-CPU
 * host save area.  AMD APM vol. 2 §15.5 (VMRUN), §15.5.2 (VMSAVE/VMLOAD).
 * Must be called with GIF=0 (CLGI); the caller does STGI.  It only saves,
 * restores and returns: every exit is handled in C.
 */
#include "arch/x86/guest_gprs.h"
#include "arch/x86/spec.h"

	.text
	.code64
	.globl svm_vmrun
svm_vmrun:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdx                              /* host save area */
	pushq %rdi                              /* gpr[] */

	movq %rsi, %rax                         /* VMCB */
	GUEST_GPRS_LOAD
	movq GPR_RDI(%rdi), %rdi

	vmload %rax
	vmrun %rax
	/* Guest GPRs are live; RAX is the VMCB again, RSP the host stack. */
	vmsave %rax

	xchgq (%rsp), %rdi                      /* rdi = gpr[]; guest rdi on the stack */
	GUEST_GPRS_STORE
	popq GPR_RDI(%rdi)

	popq %rax                               /* host save area */
	vmload %rax
	SPEC_RSB_FILL %ecx                      /* before the first RET (spec.h) */

	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret
