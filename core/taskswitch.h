/*
 * Hardware task switches, emulated (Intel SDM vol. 3A ch. 7 "Task
 * Management"; AMD APM vol. 2 ch. 12 "Task Management"): a JMP or CALL
 * to a TSS or task gate, an interrupt or exception through a task gate,
 * and IRET with EFLAGS.NT.  For a back end that cannot let the CPU do
 * them: under shadow paging the new task's CR3 must go through
 * core/shadow.c (AMD APM vol. 2 §15.14, the task-switch intercept).
 *
 * Every access to the guest's GDT, LDT, TSSs and stack goes through its
 * own page tables (core/gpt.c), with the checks a CPU makes; a table
 * outside its RAM ends the VM.  Runs on the vCPU's CPU, between exits.
 */
#ifndef KASANE_CORE_TASKSWITCH_H
#define KASANE_CORE_TASKSWITCH_H

#include "lib/types.h"
#include "arch/x86/virt_ops.h"
#include "core/gpt.h"

struct vcpu;

/*
 * Switch vCPU v to the task of TSS selector e->task.sel, for the reason
 * e->task.source (VIRT_TASK_*), its guest paging mode being mode (CR3
 * of the old task).  next_rip: the EIP saved in the old TSS (the
 * instruction after JMP, CALL, IRET or INT n; RIP itself for an
 * exception or interrupt).  Faults are raised in the guest as the CPU
 * raises them: before the old task's state is saved, in its context; after,
 * in the new task's.  Returns true when the new task's CR3 was loaded
 * (the caller drops the non-global translations, as MOV to CR3 does).
 */
bool task_switch(struct vcpu *v, const struct vm_exit *e, const struct gpt_mode *mode,
		 uint64_t next_rip);

#endif
