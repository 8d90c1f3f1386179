/*
 * Multiboot1 (Multiboot spec 0.6.96) and Multiboot2 (Multiboot2 spec 2.0)
 * for guests: finding and checking the OS image header, a.out-kludge
 * loading, and writing the boot information into guest RAM.
 */
#ifndef KASANE_GUEST_LOADER_MULTIBOOT_H
#define KASANE_GUEST_LOADER_MULTIBOOT_H

#include "guest-loader/loader.h"

/* Multiboot 0.6.96 §3.1.1-§3.1.2: the OS image header. */
#define MB1_HEADER_MAGIC        0x1BADB002u
#define MB1_SEARCH              8192
#define MB1_HF_PAGE_ALIGN       (1u << 0)   /* modules page-aligned */
#define MB1_HF_MEMORY_INFO      (1u << 1)   /* mem_* fields wanted */
#define MB1_HF_VIDEO_MODE       (1u << 2)   /* video table wanted */
#define MB1_HF_AOUT_KLUDGE      (1u << 16)  /* address fields valid */
#define MB1_HF_REQUIRED_MASK    0xFFFFu     /* bits 0-15 must be understood */

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

/* Multiboot2 spec §3.1.1-§3.1.13: the OS image header and its tags. */
#define MB2_HEADER_MAGIC        0xE85250D6u
#define MB2_SEARCH              32768
#define MB2_ARCH_I386           0
#define MB2_HTAG_END            0
#define MB2_HTAG_INFO_REQ       1
#define MB2_HTAG_ADDRESS        2
#define MB2_HTAG_ENTRY          3
#define MB2_HTAG_CONSOLE        4
#define MB2_HTAG_FRAMEBUFFER    5
#define MB2_HTAG_MODULE_ALIGN   6
#define MB2_HTAG_EFI_BS         7
#define MB2_HTAG_ENTRY_EFI32    8
#define MB2_HTAG_ENTRY_EFI64    9
#define MB2_HTAG_RELOCATABLE    10
#define MB2_HTAG_OPTIONAL       1u    /* tag flags bit 0 */
#define MB2_CONSOLE_REQUIRED    1u    /* console_flags bit 0 */

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

/* What the image's Multiboot header asks for. */
struct mb_header {
	int version;            /* 1 or 2 */
	uint64_t offset;        /* file offset of the header */
	bool has_addr;          /* MB1 flag 16 / MB2 address tag */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	bool has_entry;         /* MB1 flag 16 / MB2 entry address tag */
	uint32_t entry_addr;
};

/*
 * Look for a Multiboot2 header, then a Multiboot1 header, and check it.
 * Returns 1 and fills *h if one was found, 0 if the image has none, or
 * GL_ERR if a header is present but broken or asks for something kasane
 * cannot do (a magic with a bad checksum counts as broken only if no valid
 * header of either kind exists).
 */
int mb_find_header(const uint8_t *img, size_t len, struct mb_header *h,
		   char *err, size_t errlen);

/*
 * Load an image by its Multiboot address fields (MB1 §3.1.3, MB2 §3.1.5).
 * Fills k->start/end; the caller sets the entry.
 */
int mb_load_aout(struct guest_mem *mem, const uint8_t *img, size_t len,
		 const struct mb_header *h, struct gl_kernel *k,
		 char *err, size_t errlen);

/*
 * Boot information: byte size, and writing it at gpa (8-aligned; the whole
 * size must be RAM, which gmem_write checks).  Write returns false if not.
 */
uint64_t mb1_info_size(const struct gl_boot *b);
bool mb1_info_write(struct guest_mem *mem, gpa_t gpa, const struct gl_boot *b);
uint64_t mb2_info_size(const struct gl_boot *b);
bool mb2_info_write(struct guest_mem *mem, gpa_t gpa, const struct gl_boot *b);

#endif
