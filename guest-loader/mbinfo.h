/*
 * The Multiboot1 (Multiboot 0.6.96 §3.3) and Multiboot2 (Multiboot2 spec
 * §3.6) boot information a kernel is handed, written into guest RAM with
 * the modules it lists.  Used by the Multiboot formats and by plain ELF64
 * (which gets a Multiboot2-format structure in RDI).
 */
#ifndef KASANE_GUEST_LOADER_MBINFO_H
#define KASANE_GUEST_LOADER_MBINFO_H

#include "guest-loader/gl_util.h"

/* Multiboot 0.6.96 §3.2-§3.3: machine state and boot information. */
#define MB1_BOOTLOADER_MAGIC    0x2BADB002u
#define MB1_INFO_MEMORY         (1u << 0)
#define MB1_INFO_CMDLINE        (1u << 2)
#define MB1_INFO_MODS           (1u << 3)
#define MB1_INFO_MEM_MAP        (1u << 6)
#define MB1_INFO_LOADER_NAME    (1u << 9)
#define MB1_INFO_SIZE           120   /* 0.6.96 layout plus framebuffer fields, padded */
#define MB1_MOD_SIZE            16    /* mod_start, mod_end, string, reserved */
#define MB1_MMAP_ENTRY_SIZE     24    /* size field + 20-byte entry */

/* Multiboot2 spec §3.3, §3.6: machine state and information tags. */
#define MB2_BOOTLOADER_MAGIC    0x36D76289u
#define MB2_TAG_END             0
#define MB2_TAG_CMDLINE         1
#define MB2_TAG_LOADER_NAME     2
#define MB2_TAG_MODULE          3
#define MB2_TAG_BASIC_MEMINFO   4
#define MB2_TAG_MMAP            6
#define MB2_TAG_LAST_KNOWN      21    /* image load base address (§3.6.23) */
#define MB2_MMAP_ENTRY_SIZE     24

/*
 * Place the modules page-aligned from *cur upwards, then the version 1 or 2
 * boot information (8-aligned, on a fresh page) above them, all below
 * 4 GiB in RAM (their address fields are 32 bits wide).  Sets *info to the
 * information's GPA and *cur past its end.
 */
int mbi_place(struct guest_mem *mem, struct gl_boot *b, int version,
	      gpa_t *cur, gpa_t *info, char *err, size_t errlen);

#endif
