/* Creating VMs from their configs, and giving back what they used. */
#ifndef KASANE_CORE_VM_CREATE_H
#define KASANE_CORE_VM_CREATE_H

#include "boot/bootinfo.h"

struct vm;

/*
 * Read the configs from the boot modules, check them against the machine,
 * create every valid VM, and queue its vCPUs.  Returns how many VMs run.
 */
unsigned vm_create_all(const struct boot_info *bi, const char *config_path);
/* Free the RAM, nested page tables and vCPU state of a VM whose vCPUs
 * have all stopped (the device models stay for the summary). */
void vm_destroy(struct vm *vm);
/*
 * Start a VM whose vCPUs have all stopped again from power-on: fresh RAM,
 * devices, vCPUs and kernel image.  False if it could not be rebuilt; the
 * VM is then ended with the reason.
 */
bool vm_restart(struct vm *vm);
/*
 * Start a VM that has ended and been reported and freed (the console's
 * start) from power-on, as vm_restart() does; the run then waits for it
 * again.  False if it could not be rebuilt (it stays ended, with why).
 */
bool vm_start_again(struct vm *vm);
/*
 * Held while a VM is rebuilt in place: whoever looks at a VM from outside
 * its vCPUs (the console) holds it, so never sees a VM half built.
 */
uint64_t vm_rebuild_lock(void);
void vm_rebuild_unlock(uint64_t flags);
/* A byte typed on the VM's COM1 line (safe against a restart); false if
 * its receiver cannot take it yet. */
bool vm_console_rx(struct vm *vm, uint8_t c);

#endif
