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
	MB2_TAG_EFI32_SYSTAB = 11, MB2_TAG_EFI64_SYSTAB = 12,
	MB2_TAG_ACPI_OLD = 14, MB2_TAG_ACPI_NEW = 15,
	MB2_TAG_EFI_MMAP = 17, MB2_TAG_EFI_BS = 18,
	MB2_TAG_EFI32_IMAGE = 19, MB2_TAG_EFI64_IMAGE = 20,
};

struct mb2_tag { uint32_t type, size; };

/*
 * EFI_MEMORY_DESCRIPTOR (UEFI 2.10 §7.2.3, GetMemoryMap): Type at 0,
 * PhysicalStart at 8, NumberOfPages (4 KiB each) at 24; 40 bytes, but the
 * firmware's descriptor size (in the tag) may be larger.
 */
#define EFI_DESC_MIN_SIZE   40
#define EFI_DESC_MAX_SIZE   4096
#define EFI_PAGE_SHIFT      12

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

/*
 * What an EFI memory type is to kasane once boot services have ended (UEFI
 * 2.10 §7.2.3, "Memory Type Usage after ExitBootServices()"): loader and
 * boot-services memory is free like conventional memory.  kasane never calls
 * runtime services, but keeps their memory, as everything else it does not
 * know, reserved.
 */
static uint32_t efi_type_to_e820(uint32_t t)
{
	switch (t) {
	case 1:         /* EfiLoaderCode */
	case 2:         /* EfiLoaderData */
	case 3:         /* EfiBootServicesCode */
	case 4:         /* EfiBootServicesData */
	case 7:         /* EfiConventionalMemory */
		return MMAP_RAM;
	case 8:         /* EfiUnusableMemory */
		return MMAP_BAD;
	case 9:         /* EfiACPIReclaimMemory */
		return MMAP_ACPI;
	case 10:        /* EfiACPIMemoryNVS */
		return MMAP_NVS;
	default:        /* reserved, runtime services, MMIO, PAL, persistent, unaccepted */
		return MMAP_RESERVED;
	}
}

/*
 * The EFI memory map tag: u32 descriptor size and version, then the
 * descriptors (Multiboot2 spec §3.6, "EFI memory map").  Neighbouring
 * descriptors of one kind are merged, as the firmware lists many.  Returns
 * false, leaving the map alone, if the descriptor size is implausible.
 */
static bool parse_efi_mmap(const struct mb2_tag *t, struct boot_info *bi)
{
	const uint8_t *body = (const uint8_t *)(t + 1);
	uint32_t dsize;

	if (t->size < 16)
		return false;
	dsize = ((const uint32_t *)body)[0];
	/*
	 * The descriptors hold 64-bit fields and are read in place: a size
	 * that is not a multiple of 8 would misalign them (UB; found by
	 * test/fuzz/fuzz_bootinfo.c).  Firmware's is 8-aligned (UEFI 2.10
	 * §7.2.3, an array of EFI_MEMORY_DESCRIPTOR); such a map is ignored.
	 */
	if (dsize < EFI_DESC_MIN_SIZE || dsize > EFI_DESC_MAX_SIZE || dsize % 8)
		return false;
	bi->nr_mmap = 0;
	for (uint32_t e = 16; e + dsize <= t->size; e += dsize) {
		const uint8_t *d = (const uint8_t *)t + e;
		uint32_t type = efi_type_to_e820(*(const uint32_t *)d);
		uint64_t base = *(const uint64_t *)(d + 8);
		uint64_t pages = *(const uint64_t *)(d + 24);

		if (pages == 0 || pages > (UINT64_MAX - base) >> EFI_PAGE_SHIFT)
			continue;
		uint64_t len = pages << EFI_PAGE_SHIFT;
		struct boot_mmap *last = bi->nr_mmap ? &bi->mmap[bi->nr_mmap - 1] : NULL;
		if (last && last->type == type && last->base + last->len == base)
			last->len += len;
		else
			add_mmap(bi, base, len, type);
	}
	return true;
}

/* The Multiboot2 memory map tag: E820 types (§3.6, "Memory map"). */
static void parse_mb2_mmap(const struct mb2_tag *t, struct boot_info *bi)
{
	uint32_t esize;

	/* entry_size is read only once the tag is known to hold it (a shorter
	 * last tag ended the info there), and is a multiple of 8 (Multiboot2
	 * spec §3.6.8): any other would misalign the 64-bit reads below.
	 * Both found by test/fuzz/fuzz_bootinfo.c. */
	if (t->size < 16)
		return;
	esize = ((const uint32_t *)(t + 1))[0];
	if (esize < 24 || esize % 8)
		return;
	for (uint32_t e = 16; e + esize <= t->size; e += esize) {
		const uint8_t *ent = (const uint8_t *)t + e;
		add_mmap(bi, *(const uint64_t *)ent, *(const uint64_t *)(ent + 8),
			 *(const uint32_t *)(ent + 16));
	}
}

/*
 * The string at byte off of tag t's body, or NULL if it is not
 * NUL-terminated inside the tag (Multiboot2 spec §3.6.3-§3.6.6: the
 * strings are zero-terminated).  Without this check a consumer would read
 * past the info (found by test/fuzz/fuzz_bootinfo.c).
 */
static const char *tag_str(const struct mb2_tag *t, uint32_t off)
{
	const char *s = (const char *)(t + 1) + off;

	if (t->size < sizeof(*t) + off)
		return NULL;
	size_t room = t->size - sizeof(*t) - off;
	return strnlen(s, room) < room ? s : NULL;
}

static bool parse_mb2(const uint8_t *p, struct boot_info *bi, const char **why)
{
	uint32_t total = *(const uint32_t *)p;
	uint32_t off = 8;
	const struct mb2_tag *mmap = NULL, *efi_mmap = NULL;

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
		if (t->type == MB2_TAG_END)
			break;
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			if (tag_str(t, 0))
				bi->cmdline = tag_str(t, 0);
			break;
		case MB2_TAG_LOADER:
			if (tag_str(t, 0))
				bi->loader = tag_str(t, 0);
			break;
		case MB2_TAG_MODULE: {
			const uint32_t *m = (const uint32_t *)body;
			if (t->size >= 16)
				add_module(bi, m[0], m[1], tag_str(t, 8));
			break;
		}
		case MB2_TAG_MMAP:
			mmap = t;
			break;
		case MB2_TAG_EFI_MMAP:
			efi_mmap = t;
			bi->firmware = BOOT_FW_UEFI;
			break;
		case MB2_TAG_EFI32_SYSTAB:
			if (t->size >= 12)
				bi->efi_systab = *(const uint32_t *)body;
			bi->firmware = BOOT_FW_UEFI;
			break;
		case MB2_TAG_EFI64_SYSTAB:
			if (t->size >= 16)
				bi->efi_systab = *(const uint64_t *)body;
			bi->firmware = BOOT_FW_UEFI;
			break;
		case MB2_TAG_EFI_BS:
		case MB2_TAG_EFI32_IMAGE:
		case MB2_TAG_EFI64_IMAGE:
			bi->firmware = BOOT_FW_UEFI;
			break;
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			/* Prefer the ACPI 2.0 RSDP if both are given. */
			if (!bi->rsdp || t->type == MB2_TAG_ACPI_NEW) {
				bi->rsdp = body;
				bi->rsdp_len = t->size - 8;
				bi->rsdp_source = t->type == MB2_TAG_ACPI_NEW ?
					BOOT_RSDP_ACPI_NEW : BOOT_RSDP_ACPI_OLD;
			}
			break;
		}
		off += ALIGN_UP(t->size, 8);
	}
	/*
	 * On UEFI the EFI memory map is the firmware's own, taken when GRUB
	 * ended boot services; the Multiboot2 map is GRUB's translation of an
	 * earlier one.  Prefer the former.
	 */
	if (efi_mmap && parse_efi_mmap(efi_mmap, bi)) {
		bi->mmap_source = BOOT_MMAP_EFI;
	} else if (mmap) {
		parse_mb2_mmap(mmap, bi);
		bi->mmap_source = BOOT_MMAP_MB2;
	}
	if (bi->nr_mmap == 0) {
		*why = "Multiboot2 info has no usable memory map";
		return false;
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
		bi->mmap_source = BOOT_MMAP_MB1;
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
		bi->mmap_source = BOOT_MMAP_MB1_SIZES;
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

const char *bootinfo_firmware_name(const struct boot_info *bi)
{
	return bi->firmware == BOOT_FW_UEFI ? "UEFI" : "BIOS";
}

const char *bootinfo_mmap_source_name(const struct boot_info *bi)
{
	switch (bi->mmap_source) {
	case BOOT_MMAP_MB2: return "the Multiboot2 memory map tag (type 6)";
	case BOOT_MMAP_EFI: return "the EFI memory map tag (Multiboot2 type 17)";
	case BOOT_MMAP_MB1: return "the Multiboot1 memory map";
	case BOOT_MMAP_MB1_SIZES: return "the Multiboot1 lower/upper memory sizes";
	default: return "nowhere";
	}
}
