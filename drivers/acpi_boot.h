/* ACPI set-up at boot: CPUs from the MADT, power-off from the FADT. */
#ifndef KASANE_DRIVERS_ACPI_BOOT_H
#define KASANE_DRIVERS_ACPI_BOOT_H

#include "drivers/acpi.h"
#include "boot/bootinfo.h"

/*
 * Find the tables (the RSDP from bi's copy of the Multiboot2 ACPI tag if
 * given, else on BIOS the BIOS-area scan), say where the RSDP came from,
 * parse the MADT into *madt and note how to power off.  Returns false,
 * after a one-line message, if the CPUs cannot be known.
 */
bool acpi_boot_init(const struct boot_info *bi, struct acpi_madt_info *madt);

#endif
