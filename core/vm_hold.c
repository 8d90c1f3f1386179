/*
 * vm_resume_held: see vm_hold.h.  Its own file, above core/vm.c, the
 * scheduler and kvmclock, which all three callers (the console's resume
 * and snapshot commands, the gdb stub) may use without a cycle.
 */
#include "core/vm_hold.h"
#include "core/vm.h"
#include "core/pvclock.h"
#include "core/sched.h"

/*
 * No interrupt came while the VM stood, so the watchdog starts over; its
 * kvmclock records say it was stopped (core/pvclock.c), so the guest does
 * not take the stand for a hang; then its vCPUs may run.
 */
void vm_resume_held(struct vm *vm)
{
	vm->wd_since_ns = 0;
	pvclock_guest_stopped(vm);
	sched_resume_vm(vm);
}
