/*
 * Guest kernel loader front end; see loader.h.  Checks the inputs, picks the
 * image format, places modules and boot information, and describes the entry
 * state.  Called while the VM is being built, before any vCPU runs; touches
 * guest RAM only through mm/guest_mem.h.
 */
#include "guest-loader/loader.h"
#include "guest-loader/elf.h"
#include "guest-loader/multiboot.h"
#include "lib/printf.h"
#include "lib/string.h"

/* ---- small helpers shared by guest-loader/ ------------------------------ */

int gl_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		kvsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return GL_ERR;
}

const char *gl_size_str(char *buf, uint64_t bytes)
{
	if (bytes && bytes % GiB == 0)
		ksnprintf(buf, GL_SIZE_STR, "%llu GiB", (unsigned long long)(bytes / GiB));
	else if (bytes && bytes % MiB == 0)
		ksnprintf(buf, GL_SIZE_STR, "%llu MiB", (unsigned long long)(bytes / MiB));
	else if (bytes && bytes % KiB == 0)
		ksnprintf(buf, GL_SIZE_STR, "%llu KiB", (unsigned long long)(bytes / KiB));
	else
		ksnprintf(buf, GL_SIZE_STR, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

bool gl_zero(struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
	if (!gmem_is_ram(mem, gpa, len))
		return false;
	/* The range is RAM, so the per-region intersections cover it exactly. */
	for (int i = 0; i < mem->nr && len; i++) {
		const struct gmem_region *r = &mem->region[i];
		gpa_t lo = MAX(gpa, r->gpa);
		gpa_t hi = MIN(gpa + len, r->gpa + r->size);
		if (lo >= hi)
			continue;
		void *p = gmem_ptr(mem, lo, hi - lo);
		if (!p)
			return false;
		memset(p, 0, hi - lo);
	}
	return true;
}

static uint64_t gl_page_up(uint64_t x)
{
	return x > UINT64_MAX - (PAGE_SIZE - 1) ? UINT64_MAX & ~(PAGE_SIZE - 1) :
						  ALIGN_UP(x, PAGE_SIZE);
}

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
		return gl_errf(err, errlen, "kernel image is empty");
	b->cmdline = in->cmdline ? in->cmdline : "";
	b->loader_name = in->loader_name ? in->loader_name : "kasane";
	if (gl_strlen(b->cmdline) < 0)
		return gl_errf(err, errlen, "kernel command line is longer than "
			       "%d bytes", GL_MAX_STR - 1);
	if (gl_strlen(b->loader_name) < 0)
		return gl_errf(err, errlen, "boot loader name is longer than %d "
			       "bytes", GL_MAX_STR - 1);

	if (in->nr_mods < 0 || in->nr_mods > GL_MAX_MODS ||
	    (in->nr_mods && !in->mods))
		return gl_errf(err, errlen, "%d modules given; at most %d are "
			       "supported", in->nr_mods, GL_MAX_MODS);
	b->mods = in->mods;
	b->nr_mods = in->nr_mods;
	for (int i = 0; i < b->nr_mods; i++) {
		const struct gl_module *m = &b->mods[i];
		if (!m->data && m->len)
			return gl_errf(err, errlen, "module %d has no data", i);
		if (m->cmdline && gl_strlen(m->cmdline) < 0)
			return gl_errf(err, errlen, "module %d command line is "
				       "longer than %d bytes", i, GL_MAX_STR - 1);
	}

	if (in->nr_mmap < 0 || in->nr_mmap > GL_MAX_MMAP ||
	    (in->nr_mmap && !in->mmap))
		return gl_errf(err, errlen, "%d memory map entries given; at most "
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
			return gl_errf(err, errlen, "memory map entry %d "
				       "(0x%llx+0x%llx) wraps around", i,
				       (unsigned long long)b->mmap[i].base,
				       (unsigned long long)b->mmap[i].len);

	/* Multiboot 0.6.96 §3.3: lower memory from 0 (max 640 KiB), upper from 1 MiB. */
	b->mem_lower_kib = (uint32_t)(MIN(gl_ram_run(b, 0), 640 * KiB) / KiB);
	b->mem_upper_kib = (uint32_t)MIN(gl_ram_run(b, 1 * MiB) / KiB, UINT32_MAX);
	return 0;
}

/* ---- placement ------------------------------------------------------------ */

/*
 * Lowest page-aligned gpa >= from where [gpa, gpa+size) lies inside one
 * guest_mem region, inside one RAM entry of the memory map, and below 4 GiB.
 */
static bool gl_place(const struct guest_mem *mem, const struct gl_boot *b,
		     gpa_t from, uint64_t size, gpa_t *out)
{
	bool found = false;

	*out = UINT64_MAX;
	for (int i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->region[i];
		for (int j = 0; j < b->nr_mmap; j++) {
			const struct gl_mmap_entry *e = &b->mmap[j];
			if (e->type != GL_MMAP_RAM)
				continue;
			uint64_t lo = gl_page_up(MAX(from, MAX(r->gpa, e->base)));
			uint64_t hi = MIN(GL_4GIB, MIN(r->gpa + r->size,
						       e->base + e->len));
			if (lo < hi && size <= hi - lo && lo < *out) {
				*out = lo;
				found = true;
			}
		}
	}
	return found;
}

static int gl_place_modules(struct guest_mem *mem, struct gl_boot *b,
			    gpa_t *cur, char *err, size_t errlen)
{
	char sz[GL_SIZE_STR];

	for (int i = 0; i < b->nr_mods; i++) {
		const struct gl_module *m = &b->mods[i];
		gpa_t gpa;
		if (!gl_place(mem, b, *cur, m->len, &gpa))
			return gl_errf(err, errlen, "module %d (%s) does not fit in "
				       "guest RAM between 0x%llx and 4 GiB", i,
				       gl_size_str(sz, m->len),
				       (unsigned long long)*cur);
		if (!gmem_write(mem, gpa, m->data, m->len))
			return gl_errf(err, errlen, "module %d: guest RAM write "
				       "failed at 0x%llx", i, (unsigned long long)gpa);
		b->mod_gpa[i] = gpa;
		*cur = gpa + m->len;
	}
	return 0;
}

/* ---- formats -------------------------------------------------------------- */

/* Load the kernel by its Multiboot header; entry per MB1 §3.1.3 / MB2 §3.1.6. */
static int gl_load_multiboot(struct guest_mem *mem, const struct gl_input *in,
			     const struct mb_header *h, struct gl_kernel *k,
			     struct gl_result *out, char *err, size_t errlen)
{
	int rc;

	if (h->has_addr) {
		if (!h->has_entry)
			return gl_errf(err, errlen, "Multiboot2 address tag without "
				       "an entry address tag");
		rc = mb_load_aout(mem, in->img, in->img_len, h, k, err, errlen);
		out->format = h->version == 2 ? "multiboot2-aout" : "multiboot1-aout";
	} else {
		if (!elf_has_magic(in->img, in->img_len))
			return gl_errf(err, errlen, "Multiboot%d header at file offset "
				       "0x%llx has no address fields and the image "
				       "is not ELF", h->version,
				       (unsigned long long)h->offset);
		rc = elf_load(mem, in->img, in->img_len, k, err, errlen);
		out->format = h->version == 2 ? "multiboot2" : "multiboot1";
	}
	if (rc)
		return rc;
	if (h->has_entry)
		k->entry = h->entry_addr;
	if (k->entry < k->start || k->entry >= k->end || k->entry >= GL_4GIB)
		return gl_errf(err, errlen, "Multiboot entry point 0x%llx is outside "
			       "the loaded image 0x%llx-0x%llx",
			       (unsigned long long)k->entry,
			       (unsigned long long)k->start,
			       (unsigned long long)k->end);
	out->mode = GL_ENTRY_PROT32;
	out->rax = h->version == 2 ? MB2_BOOTLOADER_MAGIC : MB1_BOOTLOADER_MAGIC;
	return 0;
}

int gl_load(struct guest_mem *mem, const struct gl_input *in,
	    struct gl_result *out, char *err, size_t errlen)
{
	struct gl_mmap_entry derived[GMEM_MAX_REGIONS];
	struct gl_boot b;
	struct gl_kernel k = { 0 };
	struct mb_header h;
	char sz[GL_SIZE_STR];
	int rc, mb_version = 0;

	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	rc = gl_check_input(mem, in, &b, derived, err, errlen);
	if (rc)
		return rc;

	rc = mb_find_header(in->img, in->img_len, &h, err, errlen);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		mb_version = h.version;
		rc = gl_load_multiboot(mem, in, &h, &k, out, err, errlen);
	} else if (elf_has_magic(in->img, in->img_len)) {
		rc = elf_load(mem, in->img, in->img_len, &k, err, errlen);
		if (!rc && !k.is_elf64 && b.nr_mods)
			return gl_errf(err, errlen, "a plain ELF32 kernel cannot "
				       "receive modules; add a Multiboot header");
		out->format = k.is_elf64 ? "elf64" : "elf32";
		out->mode = k.is_elf64 ? GL_ENTRY_LONG64 : GL_ENTRY_PROT32;
		out->rsi = k.is_elf64 ? MB2_BOOTLOADER_MAGIC : 0;
	} else {
		return gl_errf(err, errlen, "not a loadable kernel: no ELF magic and "
			       "no Multiboot header in the first 32 KiB");
	}
	if (rc)
		return rc;

	out->entry = k.entry;
	out->kernel_start = k.start;
	out->kernel_end = k.end;
	gpa_t cur = k.end;
	if (mb_version || k.is_elf64) {
		rc = gl_place_modules(mem, &b, &cur, err, errlen);
		if (rc)
			return rc;
		uint64_t size = mb_version == 1 ? mb1_info_size(&b) : mb2_info_size(&b);
		gpa_t info;
		if (!gl_place(mem, &b, cur, size, &info))
			return gl_errf(err, errlen, "no room for the %s of boot "
				       "information in guest RAM between 0x%llx "
				       "and 4 GiB", gl_size_str(sz, size),
				       (unsigned long long)cur);
		bool ok = mb_version == 1 ? mb1_info_write(mem, info, &b) :
					    mb2_info_write(mem, info, &b);
		if (!ok)
			return gl_errf(err, errlen, "boot information: guest RAM "
				       "write failed at 0x%llx",
				       (unsigned long long)info);
		out->info = info;
		cur = info + size;
		if (mb_version)
			out->rbx = info;
		else
			out->rdi = info;
	}
	out->free_start = gl_page_up(cur);
	return 0;
}
