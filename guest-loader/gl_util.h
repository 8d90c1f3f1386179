/*
 * Helpers for the kernel formats of guest-loader/: the checked inputs a
 * format loads from, zeroing and placing ranges of guest RAM, module
 * placement, size strings, image reads, and the 32-bit entry state.  The
 * formats (format.h) call these; nothing here calls a format.
 */
#ifndef KASANE_GUEST_LOADER_GL_UTIL_H
#define KASANE_GUEST_LOADER_GL_UTIL_H

#include "guest-loader/loader.h"

#define GL_4GIB         (4 * GiB)

/*
 * ESP at a 32-bit entry: just below the area at 0x9fc00 that kasane's guest
 * memory map reserves.  Multiboot promises no stack (0.6.96 §3.2: the OS
 * image must create its own), so this only spares a careless kernel.
 */
#define GL_STACK32      0x9f000

/* The checked inputs (the front end fills them) plus where modules went. */
struct gl_boot {
	const uint8_t *img;     /* untrusted kernel image, img_len > 0 */
	size_t img_len;
	const char *cmdline;
	const char *loader_name;
	const struct gl_module *mods;
	int nr_mods;
	gpa_t mod_gpa[GL_MAX_MODS];
	const uint8_t *initrd;  /* NULL, or initrd_len > 0 bytes */
	size_t initrd_len;
	const struct gl_mmap_entry *mmap;
	int nr_mmap;
	uint32_t mem_lower_kib, mem_upper_kib;
};

/* The kernel image once placed. */
struct gl_kernel {
	gpa_t start, end;       /* [start, end) holds the whole image */
	uint64_t entry;         /* guest-physical */
};

/* "16 MiB", "636 KiB" or "100 bytes" into buf (GL_SIZE_STR bytes). */
#define GL_SIZE_STR     32
const char *gl_size_str(char *buf, uint64_t bytes);

/* Zero [gpa, gpa+len) of guest RAM; false if any byte is not RAM. */
bool gl_zero(struct guest_mem *mem, gpa_t gpa, uint64_t len);

/* x rounded up to a page, saturating instead of wrapping. */
uint64_t gl_page_up(uint64_t x);

/*
 * Lowest page-aligned gpa >= from where [gpa, gpa+size) lies inside one
 * guest_mem region, inside one RAM entry of the memory map, and below 4 GiB.
 */
bool gl_place(const struct guest_mem *mem, const struct gl_boot *b,
	      gpa_t from, uint64_t size, gpa_t *out);

/*
 * Copy the modules to page-aligned places from *cur upwards (gl_place),
 * recording each in b->mod_gpa; *cur ends past the last one.
 */
int gl_place_modules(struct guest_mem *mem, struct gl_boot *b, gpa_t *cur,
		     char *err, size_t errlen);

/*
 * The Multiboot machine state (Multiboot 0.6.96 §3.2, Multiboot2 spec
 * §3.3): flat 32-bit protected mode, paging off, EIP = entry, EAX and EBX
 * as given, ESP = GL_STACK32, no GDT loaded (base and limit 0).
 */
void gl_state_flat32(struct x86_vcpu_state *s, uint64_t entry, uint32_t eax,
		     uint32_t ebx);

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

#endif
