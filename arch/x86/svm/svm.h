/* The AMD-V back end (struct virt_ops in arch/x86/virt_ops.h). */
#ifndef KASANE_ARCH_X86_SVM_SVM_H
#define KASANE_ARCH_X86_SVM_SVM_H

struct virt_ops;
extern const struct virt_ops svm_ops;

#endif
