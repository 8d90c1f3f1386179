/* The hypervisor proper, once every CPU is up. */
#ifndef KASANE_CORE_HV_H
#define KASANE_CORE_HV_H

#include "boot/bootinfo.h"

#define KASANE_VERSION "0.1.0"
#define KASANE_RELEASE_DATE "12/03/2026"    /* MM/DD/YYYY, as SMBIOS writes dates */

/* Create the configured VMs, run them to the end, report, shut down. */
void hv_main(const struct boot_info *bi) __noreturn;

#endif
