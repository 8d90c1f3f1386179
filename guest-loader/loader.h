/*
 * Guest kernel loader: places a guest kernel image, its modules and its boot
 * information into the VM's guest-physical RAM, with whatever the kernel's
 * boot protocol needs there (an ELF64 kernel's page tables, GDT and stack),
 * and returns the whole initial state of the first vCPU.
 *
 * Accepted image formats (format.h), tried in this order:
 *   0. A Linux bzImage ("HdrS" at 0x202; boot protocol 2.12 or later with a
 *      64-bit entry), loaded by the Linux/x86 boot protocol with its
 *      initrd (fmt_bzimage.c says where everything goes).
 *   1. Multiboot2 header in the first 32 KiB (Multiboot2 spec §3.1): with an
 *      address tag it is loaded a.out-kludge style, else as ELF32/ELF64.
 *   2. Multiboot1 header in the first 8 KiB (Multiboot 0.6.96 §3.1): with
 *      flag bit 16 it is loaded a.out-kludge style, else as ELF32/ELF64.
 *   3. A plain ELF32 (EM_386) or ELF64 (EM_X86_64) ET_EXEC image.
 * ELF segments are loaded at p_paddr; an e_entry inside a segment's virtual
 * range is translated to the matching physical address, as GRUB does.
 * Header requests: MB1 flags 0-2 are honoured (video is accepted and
 * ignored), any other bit in 0-15 is refused.  MB2 tags: entry address and
 * address are used; framebuffer, module alignment, EFI and relocatable tags
 * are satisfied or do not apply; a required console, an information request
 * for an unknown tag type, or an unknown tag not marked optional is refused.
 *
 * Entry state (gl_result.boot; RIP = the entry, RFLAGS = 2, GPRs not named 0):
 *   bzimage:  64-bit mode as Linux Documentation/arch/x86/boot.rst's "64-bit
 *       BOOT PROTOCOL" says: identity-mapping page tables (longmode.h), a
 *       GDT with CS = 0x10 and DS = ES = SS = 0x18, RIP = the kernel's load
 *       address + 0x200, RSI = GPA of the zero page (struct boot_params).
 *       Only this format takes an initrd, and it takes no modules.
 *   multiboot2, multiboot2-aout:  flat 32-bit protected mode, paging off
 *       (x86_state_flat32: CS = 0x08, data 0x10, base 0, limit 4 GiB, no
 *       GDTR), EAX = 0x36D76289, EBX = GPA of the Multiboot2 information
 *       (Multiboot2 spec §3.3, §3.6), ESP = 0x9f000.
 *   multiboot1, multiboot1-aout:  the same with EAX = 0x2BADB002, EBX = GPA
 *       of the Multiboot1 information (Multiboot 0.6.96 §3.2, §3.3).
 *   elf32:  the same with EAX = EBX = 0.  No boot information, so passing
 *       modules is an error.
 *   elf64:  64-bit long mode (x86_state_long64) on identity-mapping page
 *       tables with a GDT (CS = 0x08, data 0x10) and RSP at the top of a
 *       16 KiB stack (longmode.h); RDI = GPA of a Multiboot2-format
 *       information structure (so a plain ELF64 kernel still gets its
 *       command line, memory map and modules), RSI = 0x36D76289 as a marker.
 *
 * Guest-physical layout: the kernel where its headers say, then each module
 * page-aligned above the kernel, then the information structure (8-aligned,
 * on a fresh page), then for elf64 the page tables, GDT and stack.  All of
 * these but the kernel lie below 4 GiB (Multiboot address fields are 32
 * bits wide) and inside RAM that is both in the guest_mem map and typed RAM
 * in the guest memory map.
 */
#ifndef KASANE_GUEST_LOADER_LOADER_H
#define KASANE_GUEST_LOADER_LOADER_H

#include "lib/types.h"
#include "arch/x86/regs.h"
#include "mm/guest_mem.h"

#define GL_MAX_MODS     32      /* modules per guest */
#define GL_MAX_MMAP     64      /* memory map entries */
#define GL_MAX_STR      4096    /* longest command line, NUL included */

struct gl_module {
	const uint8_t *data;
	size_t len;
	const char *cmdline;    /* NULL means "" */
};

/* E820 numbering, as Multiboot uses it (Multiboot2 spec §3.6.8). */
#define GL_MMAP_RAM      1
#define GL_MMAP_RESERVED 2

struct gl_mmap_entry {
	uint64_t base, len;
	uint32_t type;
};

struct gl_input {
	const uint8_t *img;     /* untrusted kernel image */
	size_t img_len;
	const char *cmdline;    /* NULL means "" */
	const struct gl_module *mods;
	int nr_mods;
	const uint8_t *initrd;  /* a Linux kernel's initial ramdisk, or NULL */
	size_t initrd_len;
	/*
	 * The guest's physical memory map as it will be reported to the guest.
	 * nr_mmap == 0 means "derive it from the guest_mem regions, all RAM".
	 */
	const struct gl_mmap_entry *mmap;
	int nr_mmap;
	const char *loader_name;  /* NULL means "kasane" */
};

struct gl_result {
	struct x86_vcpu_state boot;     /* vCPU 0's initial state, see above */
	const char *format;             /* "bzimage", "multiboot2", "multiboot2-aout",
					   "multiboot1", "multiboot1-aout",
					   "elf64", "elf32" */
	uint64_t kernel_start, kernel_end;  /* GPA range of the kernel image */
	uint64_t info;                  /* GPA of the boot information, 0 if none */
	uint64_t free_start;            /* first page above all the loader placed */
};

/*
 * Load in->img into mem.  Returns 0 and fills *out, or returns -1 and
 * writes a one-line reason into err (errf; always NUL-terminated when
 * errlen > 0).  Never writes outside the RAM described by mem; on failure
 * guest RAM may be partly written and *out is meaningless.  Touches no
 * other state, so VMs may be loaded concurrently.
 */
int gl_load(struct guest_mem *mem, const struct gl_input *in,
	    struct gl_result *out, char *err, size_t errlen);

#endif
