/* The Intel VT-x back end (struct virt_ops in arch/x86/virt_ops.h). */
#ifndef KASANE_ARCH_X86_VMX_VMX_H
#define KASANE_ARCH_X86_VMX_VMX_H

struct virt_ops;
extern const struct virt_ops vmx_ops;

#endif
