/* ACPI set-up at boot: CPUs from the MADT, power-off from the FADT. */
#ifndef KASANE_DRIVERS_ACPI_BOOT_H
#define KASANE_DRIVERS_ACPI_BOOT_H

#include "drivers/acpi.h"

/*
 * Find the tables (RSDP from the Multiboot2 copy if given, else the BIOS
 * scan), parse the MADT into *madt and note how to power off.  Returns
 * false, after a one-line message, if the CPUs cannot be known.
 */
bool acpi_boot_init(const void *rsdp_copy, size_t rsdp_len, struct acpi_madt_info *madt);

#endif
