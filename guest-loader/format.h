/*
 * A kernel image format, as the loader front end sees it: a row { name,
 * probe, load } of gl_formats[] in loader.c, tried in table order.  A new
 * format is one file with its probe and load (declared below) plus one row.
 * Formats use the helpers of gl_util.h, mbinfo.h, elf.h and longmode.h,
 * never each other or the front end.
 */
#ifndef KASANE_GUEST_LOADER_FORMAT_H
#define KASANE_GUEST_LOADER_FORMAT_H

#include "guest-loader/gl_util.h"

/*
 * Is the untrusted image of this format?  Returns 1 (it is: load it), 0 (it
 * is not: try the next row), or -1 with a reason in err (it claims to be but
 * is broken or asks for the impossible; the search stops).  Reads only
 * img[0, len).
 */
typedef int gl_probe_fn(const uint8_t *img, size_t len, char *err, size_t errlen);

/*
 * Load b->img (which probe accepted) into mem: the kernel, modules and boot
 * information, and fill all of *out (out->format is preset to the row's
 * name; out->boot is vCPU 0's initial state).  Returns 0, or -1 with a
 * reason in err.  mem may be partly written on failure.
 */
typedef int gl_load_fn(struct guest_mem *mem, struct gl_boot *b,
		       struct gl_result *out, char *err, size_t errlen);

struct gl_format {
	const char *name;       /* out->format unless load refines it */
	gl_probe_fn *probe;
	gl_load_fn *load;
};

/* fmt_bzimage.c: a Linux bzImage, entered at its 64-bit entry point. */
gl_probe_fn fmt_bzimage_probe;
gl_load_fn fmt_bzimage_load;
/* fmt_multiboot.c: a Multiboot2 header (ELF, or loaded by its address tag). */
gl_probe_fn fmt_mb2_probe;
gl_load_fn fmt_mb2_load;
/* fmt_multiboot.c: a Multiboot1 header (ELF, or the a.out kludge). */
gl_probe_fn fmt_mb1_probe;
gl_load_fn fmt_mb1_load;
/* fmt_elf.c: a plain ELF64 kernel, entered in long mode. */
gl_probe_fn fmt_elf64_probe;
gl_load_fn fmt_elf64_load;
/* fmt_elf.c: any other ELF image, loaded as a plain ELF32 kernel. */
gl_probe_fn fmt_elf32_probe;
gl_load_fn fmt_elf32_load;

#endif
