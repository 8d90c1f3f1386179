/*
 * Multiboot1/Multiboot2 boot information; see mbinfo.h.  The inputs were
 * checked by the front end (string lengths, module and memory map counts),
 * and every write goes through mm/guest_mem.h.
 */
#include "guest-loader/mbinfo.h"
#include "lib/printf.h"
#include "lib/string.h"

/*
 * Sequential writer into guest RAM.  With mem == NULL it only counts, so the
 * same code computes the size and writes the bytes.
 */
struct mb_wr {
	struct guest_mem *mem;
	gpa_t pos;
	bool ok;
};

static void wr_bytes(struct mb_wr *w, const void *src, uint64_t n)
{
	if (w->mem && w->ok && !gmem_write(w->mem, w->pos, src, n))
		w->ok = false;
	w->pos += n;
}

static void wr_zero(struct mb_wr *w, uint64_t n)
{
	if (w->mem && w->ok && !gl_zero(w->mem, w->pos, n))
		w->ok = false;
	w->pos += n;
}

static void wr_u32(struct mb_wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	wr_bytes(w, b, 4);
}

static void wr_u64(struct mb_wr *w, uint64_t v)
{
	wr_u32(w, (uint32_t)v);
	wr_u32(w, (uint32_t)(v >> 32));
}

static void wr_align8(struct mb_wr *w)
{
	wr_zero(w, ALIGN_UP(w->pos, 8) - w->pos);
}

static const char *mod_cmdline(const struct gl_module *m)
{
	return m->cmdline ? m->cmdline : "";
}

/* Multiboot 0.6.96 §3.3: info struct, module list, mmap, then strings. */
static void mb1_emit(struct mb_wr *w, const struct gl_boot *b)
{
	uint32_t mods = (uint32_t)(w->pos + MB1_INFO_SIZE);
	uint32_t mmap = mods + MB1_MOD_SIZE * (uint32_t)b->nr_mods;
	uint32_t mmap_len = MB1_MMAP_ENTRY_SIZE * (uint32_t)b->nr_mmap;
	uint32_t cmdline = mmap + mmap_len;
	uint32_t name = cmdline + (uint32_t)strlen(b->cmdline) + 1;
	uint32_t str = name + (uint32_t)strlen(b->loader_name) + 1;

	wr_u32(w, MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MODS |
		  MB1_INFO_MEM_MAP | MB1_INFO_LOADER_NAME);
	wr_u32(w, b->mem_lower_kib);
	wr_u32(w, b->mem_upper_kib);
	wr_u32(w, 0);                   /* boot_device: not provided */
	wr_u32(w, cmdline);
	wr_u32(w, (uint32_t)b->nr_mods);
	wr_u32(w, mods);
	wr_zero(w, 16);                 /* syms: not provided */
	wr_u32(w, mmap_len);
	wr_u32(w, mmap);
	wr_zero(w, 12);                 /* drives, config_table */
	wr_u32(w, name);
	wr_zero(w, MB1_INFO_SIZE - 68); /* apm, vbe, framebuffer */

	for (int i = 0; i < b->nr_mods; i++) {
		wr_u32(w, (uint32_t)b->mod_gpa[i]);
		wr_u32(w, (uint32_t)(b->mod_gpa[i] + b->mods[i].len));
		wr_u32(w, str);
		wr_u32(w, 0);
		str += (uint32_t)strlen(mod_cmdline(&b->mods[i])) + 1;
	}
	for (int i = 0; i < b->nr_mmap; i++) {
		wr_u32(w, MB1_MMAP_ENTRY_SIZE - 4);  /* size excludes itself */
		wr_u64(w, b->mmap[i].base);
		wr_u64(w, b->mmap[i].len);
		wr_u32(w, b->mmap[i].type);
	}
	wr_bytes(w, b->cmdline, strlen(b->cmdline) + 1);
	wr_bytes(w, b->loader_name, strlen(b->loader_name) + 1);
	for (int i = 0; i < b->nr_mods; i++) {
		const char *s = mod_cmdline(&b->mods[i]);
		wr_bytes(w, s, strlen(s) + 1);
	}
}

static uint64_t mb1_info_size(const struct gl_boot *b)
{
	struct mb_wr w = { NULL, 0, true };

	mb1_emit(&w, b);
	return ALIGN_UP(w.pos, 8);
}

static bool mb1_info_write(struct guest_mem *mem, gpa_t gpa, const struct gl_boot *b)
{
	struct mb_wr w = { mem, gpa, true };

	mb1_emit(&w, b);
	return w.ok;
}

static void mb2_str_tag(struct mb_wr *w, uint32_t type, const char *s)
{
	uint64_t n = strlen(s) + 1;

	wr_u32(w, type);
	wr_u32(w, (uint32_t)(8 + n));
	wr_bytes(w, s, n);
	wr_align8(w);
}

/* Multiboot2 spec §3.6: fixed part, then 8-aligned tags, then the end tag. */
static void mb2_emit(struct mb_wr *w, const struct gl_boot *b, uint32_t total)
{
	wr_u32(w, total);
	wr_u32(w, 0);
	mb2_str_tag(w, MB2_TAG_CMDLINE, b->cmdline);
	mb2_str_tag(w, MB2_TAG_LOADER_NAME, b->loader_name);
	for (int i = 0; i < b->nr_mods; i++) {                  /* §3.6.6 */
		const char *s = mod_cmdline(&b->mods[i]);
		uint64_t n = strlen(s) + 1;
		wr_u32(w, MB2_TAG_MODULE);
		wr_u32(w, (uint32_t)(16 + n));
		wr_u32(w, (uint32_t)b->mod_gpa[i]);
		wr_u32(w, (uint32_t)(b->mod_gpa[i] + b->mods[i].len));
		wr_bytes(w, s, n);
		wr_align8(w);
	}
	wr_u32(w, MB2_TAG_BASIC_MEMINFO);                       /* §3.6.3 */
	wr_u32(w, 16);
	wr_u32(w, b->mem_lower_kib);
	wr_u32(w, b->mem_upper_kib);
	wr_u32(w, MB2_TAG_MMAP);                                /* §3.6.8 */
	wr_u32(w, 16 + MB2_MMAP_ENTRY_SIZE * (uint32_t)b->nr_mmap);
	wr_u32(w, MB2_MMAP_ENTRY_SIZE);
	wr_u32(w, 0);                   /* entry_version */
	for (int i = 0; i < b->nr_mmap; i++) {
		wr_u64(w, b->mmap[i].base);
		wr_u64(w, b->mmap[i].len);
		wr_u32(w, b->mmap[i].type);
		wr_u32(w, 0);
	}
	wr_u32(w, MB2_TAG_END);
	wr_u32(w, 8);
}

static uint64_t mb2_info_size(const struct gl_boot *b)
{
	struct mb_wr w = { NULL, 0, true };

	mb2_emit(&w, b, 0);
	return w.pos;
}

static bool mb2_info_write(struct guest_mem *mem, gpa_t gpa, const struct gl_boot *b)
{
	struct mb_wr w = { mem, gpa, true };

	mb2_emit(&w, b, (uint32_t)mb2_info_size(b));
	return w.ok;
}

int mbi_place(struct guest_mem *mem, struct gl_boot *b, int version,
	      gpa_t *cur, gpa_t *info, char *err, size_t errlen)
{
	char sz[GL_SIZE_STR];
	int rc = gl_place_modules(mem, b, cur, err, errlen);

	if (rc)
		return rc;
	uint64_t size = version == 1 ? mb1_info_size(b) : mb2_info_size(b);
	if (!gl_place(mem, b, *cur, size, info))
		return errf(err, errlen, "no room for the %s of boot information "
			    "in guest RAM between 0x%llx and 4 GiB",
			    gl_size_str(sz, size), (unsigned long long)*cur);
	bool ok = version == 1 ? mb1_info_write(mem, *info, b) :
				 mb2_info_write(mem, *info, b);
	if (!ok)
		return errf(err, errlen, "boot information: guest RAM write "
			    "failed at 0x%llx", (unsigned long long)*info);
	*cur = *info + size;
	return 0;
}
