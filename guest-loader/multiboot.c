/*
 * Multiboot1/Multiboot2 header parsing, a.out-kludge loading and boot
 * information writing; see multiboot.h.  The image is untrusted: header
 * reads stay inside the search window and the file, tag walks are bounded by
 * header_length, and all address arithmetic is overflow-checked.
 */
#include "guest-loader/multiboot.h"
#include "lib/string.h"

/* ---- OS image header ---------------------------------------------------- */

/*
 * First aligned offset in [0, MIN(len, window)) holding a header with magic
 * and a correct checksum (hdr_len bytes summed as u32 words must be 0).
 * *bad gets the first offset with the magic but a wrong checksum, or -1.
 */
static int64_t mb_scan(const uint8_t *img, size_t len, uint32_t magic,
		       size_t window, size_t align, size_t words, int64_t *bad)
{
	size_t lim = MIN(len, window);

	*bad = -1;
	for (size_t off = 0; off + 4 * words <= lim; off += align) {
		if (gl_rd32(img + off) != magic)
			continue;
		uint32_t sum = 0;
		for (size_t i = 0; i < words; i++)
			sum += gl_rd32(img + off + 4 * i);
		if (sum == 0)
			return (int64_t)off;
		if (*bad < 0)
			*bad = (int64_t)off;
	}
	return -1;
}

/* Multiboot 0.6.96 §3.1.2: flags, and the a.out kludge address fields. */
static int mb1_parse(const uint8_t *img, size_t len, struct mb_header *h,
		     char *err, size_t errlen)
{
	const uint8_t *p = img + h->offset;
	uint32_t flags = gl_rd32(p + 4);
	uint32_t unknown = flags & MB1_HF_REQUIRED_MASK &
		~(MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO | MB1_HF_VIDEO_MODE);

	/* Bit 2 (video mode) is accepted and ignored: guests get no video. */
	if (unknown)
		return gl_errf(err, errlen, "Multiboot1 header flags 0x%x require "
			       "features kasane does not support (bits 0x%x)",
			       flags, unknown);
	if (!(flags & MB1_HF_AOUT_KLUDGE))
		return 0;
	if (h->offset + 32 > MIN(len, (size_t)MB1_SEARCH))
		return gl_errf(err, errlen, "Multiboot1 header at file offset 0x%llx "
			       "is cut off: its address fields need 32 bytes "
			       "within the first 8 KiB", (unsigned long long)h->offset);
	h->has_addr = h->has_entry = true;
	h->header_addr = gl_rd32(p + 12);
	h->load_addr = gl_rd32(p + 16);
	h->load_end_addr = gl_rd32(p + 20);
	h->bss_end_addr = gl_rd32(p + 24);
	h->entry_addr = gl_rd32(p + 28);
	return 0;
}

/* One Multiboot2 header tag (§3.1.3-§3.1.13); tag lies inside the header. */
static int mb2_tag(const uint8_t *t, uint16_t type, uint16_t flags, uint32_t size,
		   struct mb_header *h, char *err, size_t errlen)
{
	bool optional = flags & MB2_HTAG_OPTIONAL;
	static const uint8_t min_size[] = {
		[MB2_HTAG_INFO_REQ] = 8, [MB2_HTAG_ADDRESS] = 24,
		[MB2_HTAG_ENTRY] = 12, [MB2_HTAG_CONSOLE] = 12,
	};

	if (type < ARRAY_SIZE(min_size) && size < min_size[type])
		return gl_errf(err, errlen, "Multiboot2 header tag type %u is %u "
			       "bytes, too short", type, size);
	switch (type) {
	case MB2_HTAG_INFO_REQ:
		/*
		 * §3.1.4: fail only on types we do not know; known ones we
		 * cannot supply (framebuffer, ELF sections...) are just absent.
		 */
		for (uint32_t i = 8; i + 4 <= size; i += 4) {
			uint32_t want = gl_rd32(t + i);
			if (want > MB2_TAG_LAST_KNOWN && !optional)
				return gl_errf(err, errlen, "Multiboot2 header requests "
					       "unknown information tag type %u", want);
		}
		return 0;
	case MB2_HTAG_ADDRESS:
		h->has_addr = true;
		h->header_addr = gl_rd32(t + 8);
		h->load_addr = gl_rd32(t + 12);
		h->load_end_addr = gl_rd32(t + 16);
		h->bss_end_addr = gl_rd32(t + 20);
		return 0;
	case MB2_HTAG_ENTRY:
		h->has_entry = true;
		h->entry_addr = gl_rd32(t + 8);
		return 0;
	case MB2_HTAG_CONSOLE:
		if ((gl_rd32(t + 8) & MB2_CONSOLE_REQUIRED) && !optional)
			return gl_errf(err, errlen, "Multiboot2 header requires a "
				       "console in the boot information; kasane "
				       "guests have none (serial only)");
		return 0;
	case MB2_HTAG_FRAMEBUFFER:      /* a preference only; no video here */
	case MB2_HTAG_MODULE_ALIGN:     /* modules are always page-aligned */
	case MB2_HTAG_EFI_BS:           /* not an EFI boot: these do not apply */
	case MB2_HTAG_ENTRY_EFI32:
	case MB2_HTAG_ENTRY_EFI64:
	case MB2_HTAG_RELOCATABLE:      /* loading at the link address is allowed */
		return 0;
	default:
		if (optional)
			return 0;
		return gl_errf(err, errlen, "Multiboot2 header tag type %u is not "
			       "supported and not marked optional", type);
	}
}

/* Multiboot2 spec §3.1.2-§3.1.3: architecture, length, tag list. */
static int mb2_parse(const uint8_t *img, size_t len, struct mb_header *h,
		     char *err, size_t errlen)
{
	const uint8_t *p = img + h->offset;
	uint32_t arch = gl_rd32(p + 4), hlen = gl_rd32(p + 8);
	uint64_t lim = MIN(len, (size_t)MB2_SEARCH);

	if (arch != MB2_ARCH_I386)
		return gl_errf(err, errlen, "Multiboot2 header architecture %u is "
			       "not i386 (0)", arch);
	if (hlen < 24 || hlen > lim - h->offset)
		return gl_errf(err, errlen, "Multiboot2 header_length %u at file "
			       "offset 0x%llx does not fit in the image's first "
			       "32 KiB", hlen, (unsigned long long)h->offset);

	/* Tags are 8-aligned and at least 8 bytes: at most hlen/8 steps. */
	uint64_t pos = 16;
	for (;;) {
		if (hlen - pos < 8)
			return gl_errf(err, errlen, "Multiboot2 header has no end "
				       "tag within its %u bytes", hlen);
		const uint8_t *t = p + pos;
		uint16_t type = gl_rd16(t), flags = gl_rd16(t + 2);
		uint32_t size = gl_rd32(t + 4);
		if (size < 8 || size > hlen - pos)
			return gl_errf(err, errlen, "Multiboot2 header tag type %u "
				       "at offset %llu has bad size %u", type,
				       (unsigned long long)pos, size);
		if (type == MB2_HTAG_END)
			return 0;
		int rc = mb2_tag(t, type, flags, size, h, err, errlen);
		if (rc)
			return rc;
		pos += ALIGN_UP((uint64_t)size, 8);
		if (pos > hlen)
			pos = hlen;
	}
}

int mb_find_header(const uint8_t *img, size_t len, struct mb_header *h,
		   char *err, size_t errlen)
{
	int64_t off, bad2, bad1;

	memset(h, 0, sizeof(*h));
	off = mb_scan(img, len, MB2_HEADER_MAGIC, MB2_SEARCH, 8, 4, &bad2);
	if (off >= 0) {
		h->version = 2;
		h->offset = (uint64_t)off;
		return mb2_parse(img, len, h, err, errlen) ? GL_ERR : 1;
	}
	off = mb_scan(img, len, MB1_HEADER_MAGIC, MB1_SEARCH, 4, 3, &bad1);
	if (off >= 0) {
		h->version = 1;
		h->offset = (uint64_t)off;
		return mb1_parse(img, len, h, err, errlen) ? GL_ERR : 1;
	}
	if (bad2 >= 0)
		return gl_errf(err, errlen, "Multiboot2 header at file offset 0x%llx "
			       "has a bad checksum", (unsigned long long)bad2);
	if (bad1 >= 0)
		return gl_errf(err, errlen, "Multiboot1 header at file offset 0x%llx "
			       "has a bad checksum", (unsigned long long)bad1);
	return 0;
}

int mb_load_aout(struct guest_mem *mem, const uint8_t *img, size_t len,
		 const struct mb_header *h, struct gl_kernel *k,
		 char *err, size_t errlen)
{
	const char *who = h->version == 2 ? "Multiboot2 address tag" :
					    "Multiboot1 a.out kludge";
	uint64_t load_addr, load_off, load_size, end;
	char sz[GL_SIZE_STR];

	if (h->version == 2 && h->load_addr == 0xFFFFFFFFu) {
		/* MB2 §3.1.5: -1 means "load from the start of the file". */
		if (h->header_addr < h->offset)
			return gl_errf(err, errlen, "%s: header_addr 0x%x is below "
				       "the header's file offset 0x%llx", who,
				       h->header_addr, (unsigned long long)h->offset);
		load_off = 0;
		load_addr = h->header_addr - h->offset;
	} else {
		if (h->load_addr > h->header_addr)
			return gl_errf(err, errlen, "%s: load_addr 0x%x is above "
				       "header_addr 0x%x", who, h->load_addr,
				       h->header_addr);
		uint64_t delta = h->header_addr - h->load_addr;
		if (delta > h->offset)
			return gl_errf(err, errlen, "%s: load_addr 0x%x would start "
				       "0x%llx bytes before the file (header at file "
				       "offset 0x%llx)", who, h->load_addr,
				       (unsigned long long)(delta - h->offset),
				       (unsigned long long)h->offset);
		load_off = h->offset - delta;
		load_addr = h->load_addr;
	}

	/* load_off <= header offset < len, so len - load_off cannot wrap. */
	if (h->load_end_addr == 0) {
		load_size = len - load_off;
	} else {
		if (h->load_end_addr < load_addr)
			return gl_errf(err, errlen, "%s: load_end_addr 0x%x is below "
				       "load_addr 0x%llx", who, h->load_end_addr,
				       (unsigned long long)load_addr);
		load_size = h->load_end_addr - load_addr;
		if (load_size > len - load_off)
			return gl_errf(err, errlen, "%s: needs file bytes 0x%llx+0x%llx "
				       "but the image is only %llu bytes", who,
				       (unsigned long long)load_off,
				       (unsigned long long)load_size,
				       (unsigned long long)len);
	}
	if (load_size > UINT64_MAX - load_addr)
		return gl_errf(err, errlen, "%s: load range wraps around", who);
	end = load_addr + load_size;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < end)
			return gl_errf(err, errlen, "%s: bss_end_addr 0x%x is below "
				       "the end of the loaded data 0x%llx", who,
				       h->bss_end_addr, (unsigned long long)end);
		end = h->bss_end_addr;
	}
	if (end == load_addr)
		return gl_errf(err, errlen, "%s: loads nothing", who);
	if (!gmem_is_ram(mem, load_addr, end - load_addr))
		return gl_errf(err, errlen, "%s: image 0x%llx-0x%llx lies outside "
			       "guest RAM (%s)", who, (unsigned long long)load_addr,
			       (unsigned long long)end, gl_size_str(sz, mem->total));
	if (!gmem_write(mem, load_addr, img + load_off, load_size) ||
	    !gl_zero(mem, load_addr + load_size, end - load_addr - load_size))
		return gl_errf(err, errlen, "%s: guest RAM write failed", who);
	k->start = load_addr;
	k->end = end;
	k->is_elf64 = false;
	return 0;
}

/* ---- boot information ----------------------------------------------------- */

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

uint64_t mb1_info_size(const struct gl_boot *b)
{
	struct mb_wr w = { NULL, 0, true };

	mb1_emit(&w, b);
	return ALIGN_UP(w.pos, 8);
}

bool mb1_info_write(struct guest_mem *mem, gpa_t gpa, const struct gl_boot *b)
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

uint64_t mb2_info_size(const struct gl_boot *b)
{
	struct mb_wr w = { NULL, 0, true };

	mb2_emit(&w, b, 0);
	return w.pos;
}

bool mb2_info_write(struct guest_mem *mem, gpa_t gpa, const struct gl_boot *b)
{
	struct mb_wr w = { mem, gpa, true };

	mb2_emit(&w, b, (uint32_t)mb2_info_size(b));
	return w.ok;
}
