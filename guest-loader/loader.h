/*
 * Guest kernel loader: places a guest kernel image, its modules and its boot
 * information into the VM's guest-physical RAM and describes the state the
 * first vCPU must start in.  The hypervisor builds segments, page tables and
 * the vCPU itself; this module only places data and reports the entry.
 *
 * Accepted image formats, tried in this order:
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
 * Entry state (gl_result):
 *   multiboot2, multiboot2-aout:  PROT32, EAX = 0x36D76289, EBX = GPA of
 *       the Multiboot2 information (Multiboot2 spec §3.3, §3.6).
 *   multiboot1, multiboot1-aout:  PROT32, EAX = 0x2BADB002, EBX = GPA of
 *       the Multiboot1 information (Multiboot 0.6.96 §3.2, §3.3).
 *   elf32:  PROT32, all GPRs 0.  No boot information, so passing modules
 *       is an error.
 *   elf64:  LONG64 with identity-mapped paging (built by the hypervisor),
 *       RDI = GPA of a Multiboot2-format information structure (so a plain
 *       ELF64 kernel still gets its command line, memory map and modules),
 *       RSI = 0x36D76289 as a marker; RAX = RBX = 0.
 *
 * Guest-physical layout: the kernel where its headers say, then each module
 * page-aligned above the kernel, then the information structure (8-aligned,
 * on a fresh page).  Modules and information must lie below 4 GiB (their
 * Multiboot address fields are 32 bits wide) and inside RAM that is both in
 * the guest_mem map and typed RAM in the guest memory map.
 */
#ifndef KASANE_GUEST_LOADER_LOADER_H
#define KASANE_GUEST_LOADER_LOADER_H

#include "lib/types.h"
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
	/*
	 * The guest's physical memory map as it will be reported to the guest.
	 * nr_mmap == 0 means "derive it from the guest_mem regions, all RAM".
	 */
	const struct gl_mmap_entry *mmap;
	int nr_mmap;
	const char *loader_name;  /* NULL means "kasane" */
};

enum gl_entry_mode { GL_ENTRY_PROT32, GL_ENTRY_LONG64 };

struct gl_result {
	enum gl_entry_mode mode;
	uint64_t entry;                 /* guest-physical entry point */
	uint64_t rax, rbx, rsi, rdi;    /* initial GPRs, see above; others 0 */
	const char *format;             /* "multiboot2", "multiboot2-aout",
					   "multiboot1", "multiboot1-aout",
					   "elf64", "elf32" */
	uint64_t kernel_start, kernel_end;  /* GPA range of the kernel image */
	uint64_t info;                  /* GPA of the boot information, 0 if none */
	uint64_t free_start;            /* first page above kernel, modules, info */
};

/*
 * Load in->img into mem.  Returns 0 and fills *out, or returns a negative
 * value and writes a one-line reason into err (always NUL-terminated when
 * errlen > 0).  Never writes outside the RAM described by mem; on failure
 * guest RAM may be partly written and *out is meaningless.  Touches no
 * other state, so VMs may be loaded concurrently.
 */
int gl_load(struct guest_mem *mem, const struct gl_input *in,
	    struct gl_result *out, char *err, size_t errlen);

/* ---- shared by the files of guest-loader/ only ------------------------- */

#define GL_ERR          (-1)
#define GL_4GIB         (4 * GiB)

/* The validated boot information inputs plus where the modules were put. */
struct gl_boot {
	const char *cmdline;
	const char *loader_name;
	const struct gl_module *mods;
	int nr_mods;
	gpa_t mod_gpa[GL_MAX_MODS];
	const struct gl_mmap_entry *mmap;
	int nr_mmap;
	uint32_t mem_lower_kib, mem_upper_kib;
};

/* The kernel image once placed. */
struct gl_kernel {
	gpa_t start, end;       /* [start, end) holds the whole image */
	uint64_t entry;         /* guest-physical */
	bool is_elf64;
};

/*
 * Format a one-line reason into err (ksnprintf rules; nothing if err is NULL
 * or errlen 0).  Returns GL_ERR so callers can "return gl_errf(...)".
 */
int gl_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "16 MiB", "636 KiB" or "100 bytes" into buf (GL_SIZE_STR bytes). */
#define GL_SIZE_STR     32
const char *gl_size_str(char *buf, uint64_t bytes);

/* Zero [gpa, gpa+len) of guest RAM; false if any byte is not RAM. */
bool gl_zero(struct guest_mem *mem, gpa_t gpa, uint64_t len);

/* Little-endian reads from an image buffer; the caller checks bounds. */
static inline uint16_t gl_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t gl_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t gl_rd64(const uint8_t *p)
{
	return gl_rd32(p) | (uint64_t)gl_rd32(p + 4) << 32;
}

#endif
