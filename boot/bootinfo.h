/* What the boot loader told us, from either Multiboot version. */
#ifndef KASANE_BOOT_BOOTINFO_H
#define KASANE_BOOT_BOOTINFO_H

#include "lib/types.h"

#define BOOT_MAX_MMAP     128
#define BOOT_MAX_MODULES  32

/* Memory map types, E820 numbering (ACPI 6.x §15, Multiboot2 §3.6.8). */
enum { MMAP_RAM = 1, MMAP_RESERVED = 2, MMAP_ACPI = 3, MMAP_NVS = 4, MMAP_BAD = 5 };

struct boot_mmap { uint64_t base, len; uint32_t type; };
struct boot_module { uint64_t start, end; const char *cmdline; };

/* The firmware under the loader, from the Multiboot2 EFI tags (none: BIOS). */
enum boot_firmware { BOOT_FW_BIOS, BOOT_FW_UEFI };

/* Where the memory map came from. */
enum boot_mmap_source {
	BOOT_MMAP_NONE,
	BOOT_MMAP_MB2,          /* Multiboot2 memory map tag (type 6), E820 types */
	BOOT_MMAP_EFI,          /* Multiboot2 EFI memory map tag (type 17) */
	BOOT_MMAP_MB1,          /* Multiboot1 mmap_addr/mmap_length */
	BOOT_MMAP_MB1_SIZES,    /* Multiboot1 mem_lower/mem_upper only */
};

/* Where the ACPI RSDP copy came from (a BIOS-area scan is done later, if at all). */
enum boot_rsdp_source { BOOT_RSDP_NONE, BOOT_RSDP_ACPI_OLD, BOOT_RSDP_ACPI_NEW };

struct boot_info {
	int protocol;                   /* 1 or 2 */
	const char *cmdline;
	const char *loader;
	int nr_mmap;
	struct boot_mmap mmap[BOOT_MAX_MMAP];
	int nr_modules;
	struct boot_module module[BOOT_MAX_MODULES];
	enum boot_firmware firmware;
	uint64_t efi_systab;            /* EFI system table, 0 if none was given */
	enum boot_mmap_source mmap_source;
	enum boot_rsdp_source rsdp_source;
	const void *rsdp;               /* the RSDP in the MB2 ACPI tag */
	size_t rsdp_len;
	uint64_t info_start, info_end;  /* the info structure itself, to reserve */
	bool truncated;                 /* more entries than fit above */
};

/*
 * Parse the boot information at 'info' for the given EAX magic.  Returns
 * false (with a reason) if the magic is unknown or the structure is bad.
 */
bool bootinfo_parse(uint32_t magic, const void *info, struct boot_info *bi,
		    const char **why);

/* For the boot log: "BIOS"/"UEFI", and where the memory map came from. */
const char *bootinfo_firmware_name(const struct boot_info *bi);
const char *bootinfo_mmap_source_name(const struct boot_info *bi);

#endif
