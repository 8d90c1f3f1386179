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

struct boot_info {
	int protocol;                   /* 1 or 2 */
	const char *cmdline;
	const char *loader;
	int nr_mmap;
	struct boot_mmap mmap[BOOT_MAX_MMAP];
	int nr_modules;
	struct boot_module module[BOOT_MAX_MODULES];
	const void *rsdp;               /* copy of the RSDP from the MB2 ACPI tag */
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

#endif
