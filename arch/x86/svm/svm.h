/* The AMD-V back end. */
#ifndef KASANE_ARCH_X86_SVM_SVM_H
#define KASANE_ARCH_X86_SVM_SVM_H

#include "lib/types.h"

struct virt_ops;
extern const struct virt_ops svm_ops;
/* Does this CPU offer SVM (CPUID Fn8000_0001 ECX bit 2)? */
bool svm_supported(void);

#endif
