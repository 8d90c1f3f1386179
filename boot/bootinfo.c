/*
 * Multiboot1 and Multiboot2 boot information parsing.
 * Multiboot 0.6.96 §3.3 (info structure), Multiboot2 spec §3.6 (tags).
 */
#include "boot/bootinfo.h"
#include "boot/boot.h"
#include "lib/string.h"

/* Multiboot2 tag types (§3.6). */
enum {
	MB2_TAG_END = 0, MB2_TAG_CMDLINE = 1, MB2_TAG_LOADER = 2,
	MB2_TAG_MODULE = 3, MB2_TAG_MEMINFO = 4, MB2_TAG_MMAP = 6,
	MB2_TAG_ACPI_OLD = 14, MB2_TAG_ACPI_NEW = 15,
};

struct mb2_tag { uint32_t type, size; };

static void add_mmap(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type)
{
	if (bi->nr_mmap >= BOOT_MAX_MMAP) {
		bi->truncated = true;
		return;
	}
	bi->mmap[bi->nr_mmap++] = (struct boot_mmap){ base, len, type };
}

static void add_module(struct boot_info *bi, uint64_t start, uint64_t end, const char *cmd)
{
	if (bi->nr_modules >= BOOT_MAX_MODULES) {
		bi->truncated = true;
		return;
	}
	bi->module[bi->nr_modules++] = (struct boot_module){ start, end, cmd ? cmd : "" };
}

static bool parse_mb2(const uint8_t *p, struct boot_info *bi, const char **why)
{
	uint32_t total = *(const uint32_t *)p;
	uint32_t off = 8;

	if (total < 16 || total > 16 * MiB) {
		*why = "Multiboot2 info has an implausible size";
		return false;
	}
	bi->info_end = bi->info_start + total;
	while (off + sizeof(struct mb2_tag) <= total) {
		const struct mb2_tag *t = (const void *)(p + off);
		const uint8_t *body = (const uint8_t *)(t + 1);

		if (t->size < 8 || t->size > total - off) {
			*why = "Multiboot2 tag runs past the end of the info";
			return false;
		}
		switch (t->type) {
		case MB2_TAG_END:
			return true;
		case MB2_TAG_CMDLINE:
			bi->cmdline = (const char *)body;
			break;
		case MB2_TAG_LOADER:
			bi->loader = (const char *)body;
			break;
		case MB2_TAG_MODULE: {
			const uint32_t *m = (const uint32_t *)body;
			add_module(bi, m[0], m[1], (const char *)(m + 2));
			break;
		}
		case MB2_TAG_MMAP: {
			uint32_t esize = ((const uint32_t *)body)[0];
			if (esize < 24)
				break;
			for (uint32_t e = 16; e + esize <= t->size; e += esize) {
				const uint8_t *ent = (const uint8_t *)t + e;
				add_mmap(bi, *(const uint64_t *)ent,
					 *(const uint64_t *)(ent + 8),
					 *(const uint32_t *)(ent + 16));
			}
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			/* Prefer the ACPI 2.0 RSDP if both are given. */
			if (!bi->rsdp || t->type == MB2_TAG_ACPI_NEW) {
				bi->rsdp = body;
				bi->rsdp_len = t->size - 8;
			}
			break;
		}
		off += ALIGN_UP(t->size, 8);
	}
	return true;
}

/* Multiboot1 info flags (§3.3). */
#define MB1_INFO_MEM     (1 << 0)
#define MB1_INFO_CMDLINE (1 << 2)
#define MB1_INFO_MODS    (1 << 3)
#define MB1_INFO_MMAP    (1 << 6)
#define MB1_INFO_LOADER  (1 << 9)

static bool parse_mb1(const uint32_t *p, struct boot_info *bi, const char **why)
{
	uint32_t flags = p[0];

	bi->info_end = bi->info_start + 120;
	if (flags & MB1_INFO_CMDLINE)
		bi->cmdline = (const char *)(uintptr_t)p[4];
	if (flags & MB1_INFO_LOADER)
		bi->loader = (const char *)(uintptr_t)p[16];
	if (flags & MB1_INFO_MODS) {
		const uint32_t *m = (const uint32_t *)(uintptr_t)p[6];
		for (uint32_t i = 0; i < p[5] && i < 256; i++, m += 4)
			add_module(bi, m[0], m[1], (const char *)(uintptr_t)m[2]);
	}
	if (flags & MB1_INFO_MMAP) {
		const uint8_t *e = (const uint8_t *)(uintptr_t)p[12];
		const uint8_t *end = e + p[11];
		/* Each entry is prefixed by its size, which excludes the size field. */
		for (int n = 0; e + 24 <= end && n < 1024; n++) {
			uint32_t size = *(const uint32_t *)e;
			add_mmap(bi, *(const uint64_t *)(e + 4), *(const uint64_t *)(e + 12),
				 *(const uint32_t *)(e + 20));
			if (size < 20)
				break;
			e += size + 4;
		}
	} else if (flags & MB1_INFO_MEM) {
		add_mmap(bi, 0, (uint64_t)p[1] * KiB, MMAP_RAM);
		add_mmap(bi, MiB, (uint64_t)p[2] * KiB, MMAP_RAM);
	} else {
		*why = "Multiboot1 info has neither a memory map nor memory sizes";
		return false;
	}
	return true;
}

bool bootinfo_parse(uint32_t magic, const void *info, struct boot_info *bi,
		    const char **why)
{
	memset(bi, 0, sizeof(*bi));
	bi->cmdline = "";
	bi->loader = "unknown";
	bi->info_start = (uintptr_t)info;
	if (magic == MB2_BOOT_MAGIC) {
		bi->protocol = 2;
		return parse_mb2(info, bi, why);
	}
	if (magic == MB1_BOOT_MAGIC) {
		bi->protocol = 1;
		return parse_mb1(info, bi, why);
	}
	*why = "not started by a Multiboot loader (bad magic in EAX)";
	return false;
}
