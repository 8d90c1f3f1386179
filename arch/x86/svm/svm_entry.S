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
#define G(r) (8 * (r))
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 5
#define RSI 6
#define RDI 7

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
	movq G(RCX)(%rdi), %rcx
	movq G(RDX)(%rdi), %rdx
	movq G(RBX)(%rdi), %rbx
	movq G(RBP)(%rdi), %rbp
	movq G(RSI)(%rdi), %rsi
	movq G(8)(%rdi), %r8
	movq G(9)(%rdi), %r9
	movq G(10)(%rdi), %r10
	movq G(11)(%rdi), %r11
	movq G(12)(%rdi), %r12
	movq G(13)(%rdi), %r13
	movq G(14)(%rdi), %r14
	movq G(15)(%rdi), %r15
	movq G(RDI)(%rdi), %rdi

	vmload %rax
	vmrun %rax
	/* Guest GPRs are live; RAX is the VMCB again, RSP the host stack. */
	vmsave %rax

	xchgq (%rsp), %rdi                      /* rdi = gpr[]; guest rdi on the stack */
	movq %rcx, G(RCX)(%rdi)
	movq %rdx, G(RDX)(%rdi)
	movq %rbx, G(RBX)(%rdi)
	movq %rbp, G(RBP)(%rdi)
	movq %rsi, G(RSI)(%rdi)
	movq %r8, G(8)(%rdi)
	movq %r9, G(9)(%rdi)
	movq %r10, G(10)(%rdi)
	movq %r11, G(11)(%rdi)
	movq %r12, G(12)(%rdi)
	movq %r13, G(13)(%rdi)
	movq %r14, G(14)(%rdi)
	movq %r15, G(15)(%rdi)
	popq G(RDI)(%rdi)

	popq %rax                               /* host save area */
	vmload %rax

	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret
