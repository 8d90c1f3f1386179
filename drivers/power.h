/* The physical platform: QEMU detection, power-off and reset. */
#ifndef KASANE_DRIVERS_PLATFORM_H
#define KASANE_DRIVERS_PLATFORM_H

#include "lib/types.h"

/* True if QEMU's fw_cfg answers with its "QEMU" signature (docs/specs/fw_cfg.rst). */
bool platform_is_qemu(void);
/* Remember the FADT/DSDT facts needed to power off (from ACPI, if any). */
void platform_set_acpi_poweroff(uint16_t pm1a_cnt, uint16_t pm1b_cnt, uint16_t slp_typa,
				uint16_t slp_typb);
void platform_set_reset_reg(uint8_t space, uint64_t addr, uint8_t value);
/* Each returns only if it failed. */
void platform_qemu_exit(int status);
/* Under Bochs: end the simulation (its exit status is always 1). */
bool platform_is_bochs(void);
/* The RSDP's OEM ID, for recognising the firmware. */
void platform_set_firmware_oem(const char oemid[6]);
void platform_bochs_exit(void);
void platform_poweroff(void);
void platform_reset(void);

#endif
