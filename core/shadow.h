/*
 * Shadow paging: a VM runs without nested paging, on page tables kasane
 * fills from the guest's own (mm/spt.c holds them).  The shadow tables of
 * a vCPU are its TLB: they hold only translations the guest's tables gave
 * (each one a full walk by core/gpt.c, with the accessed and dirty flags
 * set as the CPU sets them), and they lose them exactly where a TLB may
 * (INVLPG, MOV to CR3, paging-control changes; SDM vol. 3A §4.10.4), so
 * the guest sees the TLB rules of a real CPU.  docs/architecture.md says
 * why this is sound without write-protecting the guest's tables.
 *
 * All functions run on the vCPU's own CPU, between exits.
 */
#ifndef KASANE_CORE_SHADOW_H
#define KASANE_CORE_SHADOW_H

#include "lib/types.h"
#include "arch/x86/virt_ops.h"

struct vm;
struct vcpu;

/* Decide nested or shadow paging for vm (vm->shadow) from its config and
 * the CPU; saying so on the console.  <0 (with err) if it cannot run. */
int shadow_choose(struct vm *vm, char *err, size_t errlen);
/* A vCPU's shadow state (before virt->vcpu_init); false on no memory. */
bool shadow_vcpu_init(struct vcpu *v);
void shadow_vcpu_free(struct vcpu *v);
/* Before each entry: follow the guest's paging controls into the CPU's
 * (v->hw.shadow_hw), flushing the shadow tables where they changed. */
void shadow_sync(struct vcpu *v);
/* Drop every translation of v's shadow tables before its next entry, as
 * a MOV to CR3 of the same value asks (the debugger's write; v stopped). */
void shadow_flush(struct vcpu *v);
/* One line of counters for the end of the VM. */
void shadow_report(struct vm *vm);

/* Exit handlers (core/exit.c). */
void shadow_handle_cr(struct vcpu *v, struct vm_exit *e);
void shadow_handle_invlpg(struct vcpu *v, struct vm_exit *e);
void shadow_handle_pf(struct vcpu *v, struct vm_exit *e);
void shadow_handle_task_switch(struct vcpu *v, struct vm_exit *e);
/* The CPUID a shadow-paged guest sees: no INVPCID (it would bypass the
 * shadow tables where the CPU cannot intercept it). */
void shadow_cpuid(uint32_t leaf, uint32_t out[4]);

#endif
