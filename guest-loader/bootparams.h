/*
 * The Linux/x86 boot protocol's data: the setup header of a bzImage and
 * the "zero page" (struct boot_params) a boot loader hands the kernel, as
 * byte offsets (Linux Documentation/arch/x86/boot.rst, "The Real-Mode
 * Kernel Header" and "Details of Header Fields"; zero-page.rst for the
 * rest of struct boot_params).  The header fields sit at the same offsets
 * in the image file and in the zero page.
 */
#ifndef KASANE_GUEST_LOADER_BOOTPARAMS_H
#define KASANE_GUEST_LOADER_BOOTPARAMS_H

/* ---- the setup header (offsets in the image and in the zero page) ---- */
#define BP_HDR_START            0x1f1   /* the header begins here ... */
#define BP_SETUP_SECTS          0x1f1   /* u8: 512-byte setup sectors; 0 means 4 */
#define BP_SYSSIZE              0x1f4   /* u32: protected-mode code, 16-byte units */
#define BP_VID_MODE             0x1fa   /* u16 */
#define BP_BOOT_FLAG            0x1fe   /* u16: 0xAA55 */
#define BP_JUMP                 0x200   /* u16: a short jump; its 2nd byte... */
#define BP_HDR_END_BASE         0x202   /* ... + that byte = the header's end */
#define BP_HEADER               0x202   /* u32: "HdrS" */
#define BP_VERSION              0x206   /* u16: protocol, e.g. 0x020f = 2.15 */
#define BP_TYPE_OF_LOADER       0x210   /* u8 */
#define BP_LOADFLAGS            0x211   /* u8 */
#define BP_RAMDISK_IMAGE        0x218   /* u32 */
#define BP_RAMDISK_SIZE         0x21c   /* u32 */
#define BP_CMD_LINE_PTR         0x228   /* u32 */
#define BP_INITRD_ADDR_MAX      0x22c   /* u32: highest byte an initrd may use */
#define BP_KERNEL_ALIGNMENT     0x230   /* u32 */
#define BP_RELOCATABLE_KERNEL   0x234   /* u8 */
#define BP_XLOADFLAGS           0x236   /* u16 */
#define BP_CMDLINE_SIZE         0x238   /* u32: longest command line, NUL excluded */
#define BP_PREF_ADDRESS         0x258   /* u64 */
#define BP_INIT_SIZE            0x260   /* u32: RAM the kernel needs from its load address */
#define BP_HDR_MAX_END          0x290   /* struct boot_params has room up to here */

#define BP_BOOT_FLAG_MAGIC      0xaa55
#define BP_HEADER_MAGIC         0x53726448u     /* "HdrS" little-endian */
#define BP_MIN_VERSION          0x020c  /* 2.12: xloadflags, 64-bit entry */
#define BP_LOADER_UNDEFINED     0xff    /* type_of_loader: no assigned ID */
#define BP_LOADED_HIGH          0x01    /* loadflags bit 0: kernel at >= 1 MiB */
#define BP_XLF_KERNEL_64        0x0001  /* 64-bit entry at the load address + 0x200 */
#define BP_XLF_CAN_BE_LOADED_ABOVE_4G 0x0002
#define BP_ENTRY64_OFFSET       0x200   /* boot.rst, "64-bit BOOT PROTOCOL" */

/* ---- the rest of the zero page (zero-page.rst) ---- */
#define BP_ZERO_PAGE_SIZE       0x1000
#define BP_ACPI_RSDP_ADDR       0x070   /* u64 */
#define BP_EXT_RAMDISK_IMAGE    0x0c0   /* u32: bits 32-63 of ramdisk_image */
#define BP_EXT_RAMDISK_SIZE     0x0c4   /* u32 */
#define BP_EXT_CMD_LINE_PTR     0x0c8   /* u32 */
#define BP_E820_ENTRIES         0x1e8   /* u8 */
#define BP_E820_TABLE           0x2d0   /* struct boot_e820_entry[128] */
#define BP_E820_MAX             128
#define BP_E820_ENTRY_SIZE      20      /* u64 addr, u64 size, u32 type; packed */
#define BP_E820_RAM             1
#define BP_E820_RESERVED        2
#define BP_E820_ACPI            3

/*
 * The 64-bit entry's segments (boot.rst, "64-bit BOOT PROTOCOL": a GDT
 * with a flat __BOOT_CS and __BOOT_DS, CS = __BOOT_CS, DS = ES = SS =
 * __BOOT_DS).
 */
#define BP_BOOT_CS              0x10
#define BP_BOOT_DS              0x18

#endif
