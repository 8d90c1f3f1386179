/*
 * The parts of the SVM back end that are pure data: the permission maps,
 * a new vCPU's VMCB control area, and the VMCB's packed segment
 * attributes.  No privileged instruction here, so the host unit tests
 * (test/unit/test_svm_vmcb.c) check what the guest's isolation rests on.
 */
#ifndef KASANE_ARCH_X86_SVM_VMCB_SETUP_H
#define KASANE_ARCH_X86_SVM_VMCB_SETUP_H

#include "lib/types.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/virt_ops.h"

/* Permission map sizes (APM vol. 2 §15.10.1 IOPM, §15.11 MSRPM). */
#define SVM_IOPM_SIZE   (3 * PAGE_SIZE)
#define SVM_MSRPM_SIZE  (2 * PAGE_SIZE)

/* Every port and MSR intercepted, except the MSRs in pass[], which the
 * guest reads and writes directly. */
void svm_permission_maps_init(uint8_t *iopm, uint8_t *msrpm, const uint32_t *pass, unsigned nr_pass);

/*
 * The control area of a new vCPU's VMCB (c zeroed): the intercepts,
 * the shared permission maps, an ASID for v's VM out of nr_asids (the
 * CPUID Fn8000_000A EBX count), nested paging on v->paging_root, and
 * v->tsc_offset.
 */
void svm_vmcb_control_init(struct vmcb_control *c, const struct virt_vcpu *v,
			   hpa_t iopm_pa, hpa_t msrpm_pa, uint32_t nr_asids);

/* Segment attributes between the architectural layout (x86_seg.attr) and
 * the VMCB's packed one. */
uint16_t svm_attr_to_vmcb(uint32_t attr);
uint32_t svm_attr_from_vmcb(uint16_t attrib);

#endif
