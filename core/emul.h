/*
 * Emulating the instructions behind MMIO and port I/O exits.  Each returns
 * 0, or a negative value: a guest fault was injected, or the VM was ended
 * (both with RIP left on the instruction), or a device error.
 */
#ifndef KASANE_CORE_EMUL_H
#define KASANE_CORE_EMUL_H

#include "arch/x86/virt_ops.h"

struct vcpu;

#define EMU_EFAULT  (-1000)     /* guest page fault: injected */
#define EMU_EGP     (-1001)     /* #GP: injected */
#define EMU_EEND    (-1002)     /* the VM was ended */
#define EMU_ERETRY  (-1003)     /* guest tables changed under the walk: re-execute */

int vcpu_emulate_mmio(struct vcpu *v, struct vm_exit *e);
int vcpu_emulate_io(struct vcpu *v, struct vm_exit *e);

/*
 * The value a write to CR0 or CR4 (cr) stores, from the instruction at
 * CS:RIP: MOV to CRn, and for CR0 also CLTS and LMSW (cr0: CR0 before).
 * For exits that name the register but not the source (SVM without decode
 * assists, AMD APM vol. 2 §15.8.1).  Returns 0 with *val and the RIP after
 * the instruction in *next_rip, or EMU_* when a fault was raised or the VM
 * ended.
 */
int vcpu_decode_cr_write(struct vcpu *v, unsigned cr, uint64_t cr0, uint64_t *val,
			 uint64_t *next_rip);

#endif
