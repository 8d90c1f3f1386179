/* Console input: to kasane or to one VM's COM1 or hvc0, moved by a switch key. */
#ifndef KASANE_CORE_CONIN_H
#define KASANE_CORE_CONIN_H

/*
 * Read the operator's keys (housekeeping CPU only) and hand them to the
 * focus: kasane's own commands, or the focused VM's COM1 or virtio console.  state_name
 * names vCPU states for the scheduler view.
 */
void conin_poll(const char *const state_name[]);

#endif
