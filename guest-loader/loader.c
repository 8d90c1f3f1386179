/*
 * Guest kernel loader front end; see loader.h.  Checks the inputs, then
 * hands the image to the first kernel format (format.h) that claims it.
 * Called while the VM is being built, before any vCPU runs; touches guest
 * RAM only through mm/guest_mem.h.
 */
#include "guest-loader/loader.h"
#include "guest-loader/format.h"
#include "lib/printf.h"
#include "lib/string.h"

/* The kernel formats, in the order they are tried (loader.h). */
static const struct gl_format gl_formats[] = {
	{ "bzimage", fmt_bzimage_probe, fmt_bzimage_load },
	{ "multiboot2", fmt_mb2_probe, fmt_mb2_load },
	{ "multiboot1", fmt_mb1_probe, fmt_mb1_load },
	{ "elf64", fmt_elf64_probe, fmt_elf64_load },
	{ "elf32", fmt_elf32_probe, fmt_elf32_load },
};

/* ---- inputs --------------------------------------------------------------- */

/* Length of s, or -1 if it has no NUL within GL_MAX_STR bytes. */
static int64_t gl_strlen(const char *s)
{
	size_t n = strnlen(s, GL_MAX_STR);
	return n < GL_MAX_STR ? (int64_t)n : -1;
}

/* Bytes of typed RAM starting exactly at from and running without a hole. */
static uint64_t gl_ram_run(const struct gl_boot *b, uint64_t from)
{
	uint64_t cur = from;

	/* Each pass moves cur past at least one entry, so nr_mmap passes do. */
	for (int pass = 0; pass < b->nr_mmap; pass++) {
		bool grew = false;
		for (int i = 0; i < b->nr_mmap; i++) {
			const struct gl_mmap_entry *e = &b->mmap[i];
			if (e->type == GL_MMAP_RAM && cur >= e->base &&
			    cur - e->base < e->len) {
				cur = e->base + e->len;
				grew = true;
			}
		}
		if (!grew)
			break;
	}
	return cur - from;
}

/* The guest_mem regions as a sorted all-RAM map, for callers without one. */
static int gl_derive_mmap(const struct guest_mem *mem, struct gl_mmap_entry *m)
{
	int n = 0;

	for (int i = 0; i < mem->nr && i < GMEM_MAX_REGIONS; i++) {
		struct gl_mmap_entry e = { mem->region[i].gpa, mem->region[i].size,
					   GL_MMAP_RAM };
		int j = n++;
		for (; j > 0 && m[j - 1].base > e.base; j--)
			m[j] = m[j - 1];
		m[j] = e;
	}
	return n;
}

static int gl_check_input(const struct guest_mem *mem, const struct gl_input *in,
			  struct gl_boot *b, struct gl_mmap_entry *derived,
			  char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	if (!in->img || in->img_len == 0)
		return errf(err, errlen, "kernel image is empty");
	b->img = in->img;
	b->img_len = in->img_len;
	b->cmdline = in->cmdline ? in->cmdline : "";
	b->loader_name = in->loader_name ? in->loader_name : "kasane";
	if (gl_strlen(b->cmdline) < 0)
		return errf(err, errlen, "kernel command line is longer than "
			    "%d bytes", GL_MAX_STR - 1);
	if (gl_strlen(b->loader_name) < 0)
		return errf(err, errlen, "boot loader name is longer than %d "
			    "bytes", GL_MAX_STR - 1);

	if (in->nr_mods < 0 || in->nr_mods > GL_MAX_MODS ||
	    (in->nr_mods && !in->mods))
		return errf(err, errlen, "%d modules given; at most %d are "
			    "supported", in->nr_mods, GL_MAX_MODS);
	b->mods = in->mods;
	b->nr_mods = in->nr_mods;
	if (in->initrd_len && !in->initrd)
		return errf(err, errlen, "the initrd has no data");
	b->initrd = in->initrd_len ? in->initrd : NULL;
	b->initrd_len = in->initrd_len;
	for (int i = 0; i < b->nr_mods; i++) {
		const struct gl_module *m = &b->mods[i];
		if (!m->data && m->len)
			return errf(err, errlen, "module %d has no data", i);
		if (m->cmdline && gl_strlen(m->cmdline) < 0)
			return errf(err, errlen, "module %d command line is "
				    "longer than %d bytes", i, GL_MAX_STR - 1);
	}

	if (in->nr_mmap < 0 || in->nr_mmap > GL_MAX_MMAP ||
	    (in->nr_mmap && !in->mmap))
		return errf(err, errlen, "%d memory map entries given; at most "
			    "%d are supported", in->nr_mmap, GL_MAX_MMAP);
	if (in->nr_mmap) {
		b->mmap = in->mmap;
		b->nr_mmap = in->nr_mmap;
	} else {
		b->mmap = derived;
		b->nr_mmap = gl_derive_mmap(mem, derived);
	}
	for (int i = 0; i < b->nr_mmap; i++)
		if (b->mmap[i].base + b->mmap[i].len < b->mmap[i].base)
			return errf(err, errlen, "memory map entry %d "
				    "(0x%llx+0x%llx) wraps around", i,
				    (unsigned long long)b->mmap[i].base,
				    (unsigned long long)b->mmap[i].len);

	/* Multiboot 0.6.96 §3.3: lower memory from 0 (max 640 KiB), upper from 1 MiB. */
	b->mem_lower_kib = (uint32_t)(MIN(gl_ram_run(b, 0), 640 * KiB) / KiB);
	b->mem_upper_kib = (uint32_t)MIN(gl_ram_run(b, 1 * MiB) / KiB, UINT32_MAX);
	return 0;
}

int gl_load(struct guest_mem *mem, const struct gl_input *in,
	    struct gl_result *out, char *err, size_t errlen)
{
	struct gl_mmap_entry derived[GMEM_MAX_REGIONS];
	struct gl_boot b;

	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (gl_check_input(mem, in, &b, derived, err, errlen))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(gl_formats); i++) {
		const struct gl_format *f = &gl_formats[i];
		int rc = f->probe(b.img, b.img_len, err, errlen);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		if (b.initrd && f->load != fmt_bzimage_load)
			return errf(err, errlen, "an initrd is only for Linux kernels; "
				    "a %s kernel gets its files as modules", f->name);
		out->format = f->name;
		return f->load(mem, &b, out, err, errlen) ? -1 : 0;
	}
	return errf(err, errlen, "not a loadable kernel: no ELF magic, no "
		    "Multiboot header in the first 32 KiB and no Linux \"HdrS\" "
		    "header");
}
