/*
 * The way back for a VM that kasane held: an operator's pause, a
 * snapshot, a debugger's stop.
 */
#ifndef KASANE_CORE_VM_HOLD_H
#define KASANE_CORE_VM_HOLD_H

struct vm;

/* vm goes on after kasane held it (core/vm_hold.c). */
void vm_resume_held(struct vm *vm);

#endif
