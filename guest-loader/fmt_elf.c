/*
 * The plain ELF kernel formats (no Multiboot header): ELF64 is entered in
 * long mode with a Multiboot2-format boot information in RDI; ELF32 in flat
 * 32-bit protected mode with no boot information.  The image itself is
 * loaded by elf.c (System V gABI, "Program Loading").
 */
#include "guest-loader/format.h"
#include "guest-loader/elf.h"
#include "guest-loader/longmode.h"
#include "guest-loader/mbinfo.h"
#include "lib/printf.h"

static bool elf_is64(const uint8_t *img, size_t len)
{
	return len > EI_CLASS && img[EI_CLASS] == ELFCLASS64;
}

int fmt_elf64_probe(const uint8_t *img, size_t len, char *err, size_t errlen)
{
	return elf_has_magic(img, len) && elf_is64(img, len);
}

/*
 * The kernel, its modules and a Multiboot2 information structure (so a
 * plain ELF64 kernel still gets its command line, memory map and modules),
 * then the long-mode tables and stack (longmode.h).  RDI = the
 * information's GPA, RSI = 0x36D76289 as a marker; the other GPRs 0.
 */
int fmt_elf64_load(struct guest_mem *mem, struct gl_boot *b, struct gl_result *out,
		   char *err, size_t errlen)
{
	struct gl_kernel k = { 0 };
	gpa_t cur, info;
	int rc = elf_load(mem, b->img, b->img_len, &k, err, errlen);

	if (rc)
		return rc;
	cur = k.end;
	rc = mbi_place(mem, b, 2, &cur, &info, err, errlen);
	if (rc)
		return rc;
	rc = gl_long_mode(mem, b, &cur, &out->boot, err, errlen);
	if (rc)
		return rc;
	out->boot.regs.rip = k.entry;
	out->boot.regs.gpr[REG_RSI] = MB2_BOOTLOADER_MAGIC;
	out->boot.regs.gpr[REG_RDI] = info;
	out->kernel_start = k.start;
	out->kernel_end = k.end;
	out->info = info;
	out->free_start = gl_page_up(cur);
	return 0;
}

/* Every other ELF image: elf_load names what is wrong with a bad class. */
int fmt_elf32_probe(const uint8_t *img, size_t len, char *err, size_t errlen)
{
	return elf_has_magic(img, len) && !elf_is64(img, len);
}

/* The kernel alone; all GPRs but ESP (GL_STACK32) 0. */
int fmt_elf32_load(struct guest_mem *mem, struct gl_boot *b, struct gl_result *out,
		   char *err, size_t errlen)
{
	struct gl_kernel k = { 0 };
	int rc = elf_load(mem, b->img, b->img_len, &k, err, errlen);

	if (rc)
		return rc;
	if (b->nr_mods)
		return errf(err, errlen, "a plain ELF32 kernel cannot receive "
			    "modules; add a Multiboot header");
	out->kernel_start = k.start;
	out->kernel_end = k.end;
	out->free_start = gl_page_up(k.end);
	gl_state_flat32(&out->boot, k.entry, 0, 0);
	return 0;
}
