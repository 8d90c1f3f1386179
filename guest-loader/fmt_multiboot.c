/*
 * The Multiboot2 (Multiboot2 spec 2.0) and Multiboot1 (Multiboot spec
 * 0.6.96) kernel formats: finding and checking the OS image header, loading
 * the kernel as ELF or by the header's address fields (a.out kludge), and
 * entering it with the boot information (mbinfo.c).  The image is
 * untrusted: header reads stay inside the search window and the file, tag
 * walks are bounded by header_length, and all address arithmetic is
 * overflow-checked.
 */
#include "guest-loader/format.h"
#include "guest-loader/elf.h"
#include "guest-loader/mbinfo.h"
#include "lib/printf.h"
#include "lib/string.h"

/* Multiboot 0.6.96 §3.1.1-§3.1.2: the OS image header. */
#define MB1_HEADER_MAGIC        0x1BADB002u
#define MB1_SEARCH              8192
#define MB1_HF_PAGE_ALIGN       (1u << 0)   /* modules page-aligned */
#define MB1_HF_MEMORY_INFO      (1u << 1)   /* mem_* fields wanted */
#define MB1_HF_VIDEO_MODE       (1u << 2)   /* video table wanted */
#define MB1_HF_AOUT_KLUDGE      (1u << 16)  /* address fields valid */
#define MB1_HF_REQUIRED_MASK    0xFFFFu     /* bits 0-15 must be understood */

/* Multiboot2 spec §3.1.1-§3.1.13: the OS image header and its tags. */
#define MB2_HEADER_MAGIC        0xE85250D6u
#define MB2_SEARCH              32768
#define MB2_ARCH_I386           0
#define MB2_HTAG_END            0
#define MB2_HTAG_INFO_REQ       1
#define MB2_HTAG_ADDRESS        2
#define MB2_HTAG_ENTRY          3
#define MB2_HTAG_CONSOLE        4
#define MB2_HTAG_FRAMEBUFFER    5
#define MB2_HTAG_MODULE_ALIGN   6
#define MB2_HTAG_EFI_BS         7
#define MB2_HTAG_ENTRY_EFI32    8
#define MB2_HTAG_ENTRY_EFI64    9
#define MB2_HTAG_RELOCATABLE    10
#define MB2_HTAG_OPTIONAL       1u    /* tag flags bit 0 */
#define MB2_CONSOLE_REQUIRED    1u    /* console_flags bit 0 */

/* What the image's Multiboot header asks for. */
struct mb_header {
	int version;            /* 1 or 2 */
	uint64_t offset;        /* file offset of the header */
	bool has_addr;          /* MB1 flag 16 / MB2 address tag */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	bool has_entry;         /* MB1 flag 16 / MB2 entry address tag */
	uint32_t entry_addr;
};

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
		return errf(err, errlen, "Multiboot1 header flags 0x%x require "
			    "features kasane does not support (bits 0x%x)",
			    flags, unknown);
	if (!(flags & MB1_HF_AOUT_KLUDGE))
		return 0;
	if (h->offset + 32 > MIN(len, (size_t)MB1_SEARCH))
		return errf(err, errlen, "Multiboot1 header at file offset 0x%llx "
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
		return errf(err, errlen, "Multiboot2 header tag type %u is %u "
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
				return errf(err, errlen, "Multiboot2 header requests "
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
			return errf(err, errlen, "Multiboot2 header requires a "
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
		return errf(err, errlen, "Multiboot2 header tag type %u is not "
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
		return errf(err, errlen, "Multiboot2 header architecture %u is "
			    "not i386 (0)", arch);
	if (hlen < 24 || hlen > lim - h->offset)
		return errf(err, errlen, "Multiboot2 header_length %u at file "
			    "offset 0x%llx does not fit in the image's first "
			    "32 KiB", hlen, (unsigned long long)h->offset);

	/* Tags are 8-aligned and at least 8 bytes: at most hlen/8 steps. */
	uint64_t pos = 16;
	for (;;) {
		if (hlen - pos < 8)
			return errf(err, errlen, "Multiboot2 header has no end "
				    "tag within its %u bytes", hlen);
		const uint8_t *t = p + pos;
		uint16_t type = gl_rd16(t), flags = gl_rd16(t + 2);
		uint32_t size = gl_rd32(t + 4);
		if (size < 8 || size > hlen - pos)
			return errf(err, errlen, "Multiboot2 header tag type %u "
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

/*
 * The first header of this version with a correct checksum, checked: 1 and
 * *h filled, 0 if there is none (*bad: the first offset with the magic but
 * a wrong checksum, or -1), or -1 if it is broken or asks for something
 * kasane cannot do.
 */
static int mb_find_header(const uint8_t *img, size_t len, int version,
			  struct mb_header *h, int64_t *bad, char *err, size_t errlen)
{
	int64_t off;

	memset(h, 0, sizeof(*h));
	if (version == 2)
		off = mb_scan(img, len, MB2_HEADER_MAGIC, MB2_SEARCH, 8, 4, bad);
	else
		off = mb_scan(img, len, MB1_HEADER_MAGIC, MB1_SEARCH, 4, 3, bad);
	if (off < 0)
		return 0;
	h->version = version;
	h->offset = (uint64_t)off;
	if (version == 2)
		return mb2_parse(img, len, h, err, errlen) ? -1 : 1;
	return mb1_parse(img, len, h, err, errlen) ? -1 : 1;
}

/*
 * Load an image by its Multiboot address fields (MB1 §3.1.3, MB2 §3.1.5).
 * Fills k->start/end; the caller sets the entry.
 */
static int mb_load_aout(struct guest_mem *mem, const uint8_t *img, size_t len,
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
			return errf(err, errlen, "%s: header_addr 0x%x is below "
				    "the header's file offset 0x%llx", who,
				    h->header_addr, (unsigned long long)h->offset);
		load_off = 0;
		load_addr = h->header_addr - h->offset;
	} else {
		if (h->load_addr > h->header_addr)
			return errf(err, errlen, "%s: load_addr 0x%x is above "
				    "header_addr 0x%x", who, h->load_addr,
				    h->header_addr);
		uint64_t delta = h->header_addr - h->load_addr;
		if (delta > h->offset)
			return errf(err, errlen, "%s: load_addr 0x%x would start "
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
			return errf(err, errlen, "%s: load_end_addr 0x%x is below "
				    "load_addr 0x%llx", who, h->load_end_addr,
				    (unsigned long long)load_addr);
		load_size = h->load_end_addr - load_addr;
		if (load_size > len - load_off)
			return errf(err, errlen, "%s: needs file bytes 0x%llx+0x%llx "
				    "but the image is only %llu bytes", who,
				    (unsigned long long)load_off,
				    (unsigned long long)load_size,
				    (unsigned long long)len);
	}
	if (load_size > UINT64_MAX - load_addr)
		return errf(err, errlen, "%s: load range wraps around", who);
	end = load_addr + load_size;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < end)
			return errf(err, errlen, "%s: bss_end_addr 0x%x is below "
				    "the end of the loaded data 0x%llx", who,
				    h->bss_end_addr, (unsigned long long)end);
		end = h->bss_end_addr;
	}
	if (end == load_addr)
		return errf(err, errlen, "%s: loads nothing", who);
	if (!gmem_is_ram(mem, load_addr, end - load_addr))
		return errf(err, errlen, "%s: image 0x%llx-0x%llx lies outside "
			    "guest RAM (%s)", who, (unsigned long long)load_addr,
			    (unsigned long long)end, gl_size_str(sz, mem->total));
	if (!gmem_write(mem, load_addr, img + load_off, load_size) ||
	    !gl_zero(mem, load_addr + load_size, end - load_addr - load_size))
		return errf(err, errlen, "%s: guest RAM write failed", who);
	k->start = load_addr;
	k->end = end;
	return 0;
}

/* ---- the formats ---------------------------------------------------------- */

/* Load the kernel by its Multiboot header; entry per MB1 §3.1.3 / MB2 §3.1.6. */
static int mb_load_kernel(struct guest_mem *mem, const struct gl_boot *b,
			  const struct mb_header *h, struct gl_kernel *k,
			  struct gl_result *out, char *err, size_t errlen)
{
	int rc;

	if (h->has_addr) {
		if (!h->has_entry)
			return errf(err, errlen, "Multiboot2 address tag without "
				    "an entry address tag");
		rc = mb_load_aout(mem, b->img, b->img_len, h, k, err, errlen);
		out->format = h->version == 2 ? "multiboot2-aout" : "multiboot1-aout";
	} else {
		if (!elf_has_magic(b->img, b->img_len))
			return errf(err, errlen, "Multiboot%d header at file offset "
				    "0x%llx has no address fields and the image "
				    "is not ELF", h->version,
				    (unsigned long long)h->offset);
		rc = elf_load(mem, b->img, b->img_len, k, err, errlen);
	}
	if (rc)
		return rc;
	if (h->has_entry)
		k->entry = h->entry_addr;
	if (k->entry < k->start || k->entry >= k->end || k->entry >= GL_4GIB)
		return errf(err, errlen, "Multiboot entry point 0x%llx is outside "
			    "the loaded image 0x%llx-0x%llx",
			    (unsigned long long)k->entry,
			    (unsigned long long)k->start,
			    (unsigned long long)k->end);
	return 0;
}

/*
 * The kernel, then its modules and the boot information above it; entry in
 * flat 32-bit protected mode with EAX = the boot loader magic and EBX = the
 * information's GPA (Multiboot 0.6.96 §3.2, Multiboot2 spec §3.3).
 */
static int mb_load(struct guest_mem *mem, struct gl_boot *b, int version,
		   struct gl_result *out, char *err, size_t errlen)
{
	struct mb_header h;
	struct gl_kernel k = { 0 };
	int64_t bad;
	gpa_t cur, info;
	int rc = mb_find_header(b->img, b->img_len, version, &h, &bad, err, errlen);

	if (rc <= 0)
		return rc ? rc : errf(err, errlen, "no Multiboot%d header", version);
	rc = mb_load_kernel(mem, b, &h, &k, out, err, errlen);
	if (rc)
		return rc;
	cur = k.end;
	rc = mbi_place(mem, b, version, &cur, &info, err, errlen);
	if (rc)
		return rc;
	out->kernel_start = k.start;
	out->kernel_end = k.end;
	out->info = info;
	out->free_start = gl_page_up(cur);
	gl_state_flat32(&out->boot, k.entry,
			version == 2 ? MB2_BOOTLOADER_MAGIC : MB1_BOOTLOADER_MAGIC,
			(uint32_t)info);
	return 0;
}

/* Multiboot2 spec §3.1.1: a header in the first 32 KiB, 8-aligned. */
int fmt_mb2_probe(const uint8_t *img, size_t len, char *err, size_t errlen)
{
	struct mb_header h;
	int64_t bad;

	return mb_find_header(img, len, 2, &h, &bad, err, errlen);
}

int fmt_mb2_load(struct guest_mem *mem, struct gl_boot *b, struct gl_result *out,
		 char *err, size_t errlen)
{
	return mb_load(mem, b, 2, out, err, errlen);
}

/*
 * Multiboot 0.6.96 §3.1.1: a header in the first 8 KiB, 4-aligned.  Tried
 * after fmt_mb2_probe found no valid Multiboot2 header, so a magic of either
 * kind with a bad checksum ends the search here: such an image is broken,
 * and must not boot as plain ELF.
 */
int fmt_mb1_probe(const uint8_t *img, size_t len, char *err, size_t errlen)
{
	struct mb_header h;
	int64_t bad2, bad1;
	int rc = mb_find_header(img, len, 1, &h, &bad1, err, errlen);

	if (rc)
		return rc;
	mb_scan(img, len, MB2_HEADER_MAGIC, MB2_SEARCH, 8, 4, &bad2);
	if (bad2 >= 0)
		return errf(err, errlen, "Multiboot2 header at file offset 0x%llx "
			    "has a bad checksum", (unsigned long long)bad2);
	if (bad1 >= 0)
		return errf(err, errlen, "Multiboot1 header at file offset 0x%llx "
			    "has a bad checksum", (unsigned long long)bad1);
	return 0;
}

int fmt_mb1_load(struct guest_mem *mem, struct gl_boot *b, struct gl_result *out,
		 char *err, size_t errlen)
{
	return mb_load(mem, b, 1, out, err, errlen);
}
