/* Exceptions kasane raises in a guest: queued for the next entry. */
#include "core/vcpu_raise.h"
#include "core/vm.h"
#include "core/virt.h"

void vcpu_raise_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	/* The instruction faulted: a shadow it ran in is over. */
	virt->set_intr_shadow(&v->hw, 0);
	v->events = true;
	if (!evq_raise(&v->evq, vector, has_error, error))
		vm_end(v->vm, VM_END_TRIPLE_FAULT, -1,
		       "triple fault on vCPU %u at RIP 0x%llx (exception %u while delivering #DF)",
		       v->id, (unsigned long long)v->hw.regs.rip, vector);
}
