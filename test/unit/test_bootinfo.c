/*
 * Host tests for boot/bootinfo.c: Multiboot2 info as GRUB builds it on BIOS
 * and on UEFI (Multiboot2 spec §3.6), built here tag by tag.
 */
#include "test/unit/check.h"
#include "boot/bootinfo.h"
#include "boot/boot.h"

static uint8_t info[64 * 1024] __attribute__((aligned(8)));
static uint32_t info_len;

static void mb2_begin(void)
{
	memset(info, 0, sizeof(info));
	info_len = 8;
}

/* Append a tag with 'len' bytes of body; returns the body. */
static uint8_t *mb2_tag(uint32_t type, uint32_t len)
{
	uint8_t *t = info + info_len;
	uint32_t size = 8 + len;

	memcpy(t, &type, 4);
	memcpy(t + 4, &size, 4);
	info_len += (size + 7) & ~7u;
	return t + 8;
}

static void mb2_end(void)
{
	mb2_tag(0, 0);
	memcpy(info, &info_len, 4);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A Multiboot2 memory map tag (type 6) with E820 entries. */
static void mb2_mmap(const struct boot_mmap *e, int n)
{
	uint8_t *b = mb2_tag(6, 8 + 24 * n);

	put32(b, 24);
	for (int i = 0; i < n; i++) {
		put64(b + 8 + 24 * i, e[i].base);
		put64(b + 8 + 24 * i + 8, e[i].len);
		put32(b + 8 + 24 * i + 16, e[i].type);
	}
}

struct efi_desc { uint32_t type; uint64_t base, pages; };

/* An EFI memory map tag (type 17) with descriptors of 'dsize' bytes. */
static void mb2_efi_mmap(const struct efi_desc *d, int n, uint32_t dsize)
{
	uint8_t *b = mb2_tag(17, 8 + dsize * n);

	put32(b, dsize);
	put32(b + 4, 1);
	for (int i = 0; i < n; i++) {
		uint8_t *p = b + 8 + dsize * i;
		put32(p, d[i].type);
		put64(p + 8, d[i].base);
		put64(p + 16, 0xdead0000);     /* VirtualStart: ignored */
		put64(p + 24, d[i].pages);
		put64(p + 32, 0xf);            /* Attribute: ignored */
	}
}

static const struct boot_mmap e820[] = {
	{ 0, 0x9fc00, MMAP_RAM }, { 0x9fc00, 0x400, MMAP_RESERVED },
	{ 0x100000, 0x7ee0000, MMAP_RAM }, { 0x7fe0000, 0x20000, MMAP_ACPI },
};

static bool parse(struct boot_info *bi, const char **why)
{
	*why = "";
	return bootinfo_parse(MB2_BOOT_MAGIC, info, bi, why);
}

/* GRUB on BIOS: no EFI tags; the E820 map; both ACPI tags, 2.0 preferred. */
TEST(bios_multiboot2)
{
	struct boot_info bi;
	const char *why;

	mb2_begin();
	strcpy((char *)mb2_tag(1, 16), "console=com1");
	uint8_t *old = mb2_tag(14, 20);
	memcpy(old, "RSD PTR ", 8);
	mb2_mmap(e820, 4);
	uint8_t *new = mb2_tag(15, 36);
	memcpy(new, "RSD PTR ", 8);
	new[15] = 2;
	mb2_end();

	CHECK(parse(&bi, &why));
	CHECK_EQ(bi.firmware, BOOT_FW_BIOS);
	CHECK_STR(bootinfo_firmware_name(&bi), "BIOS");
	CHECK_EQ(bi.mmap_source, BOOT_MMAP_MB2);
	CHECK_STR(bootinfo_mmap_source_name(&bi), "the Multiboot2 memory map tag (type 6)");
	CHECK_EQ(bi.nr_mmap, 4);
	CHECK_EQ(bi.mmap[3].base, 0x7fe0000);
	CHECK_EQ(bi.mmap[3].type, MMAP_ACPI);
	CHECK_EQ(bi.rsdp_source, BOOT_RSDP_ACPI_NEW);
	CHECK(bi.rsdp == new);
	CHECK_EQ(bi.rsdp_len, 36);
	CHECK_STR(bi.cmdline, "console=com1");
	CHECK_EQ(bi.efi_systab, 0);
}

/* The EFI descriptor types kasane must keep out of its allocator. */
static const struct efi_desc uefi_map[] = {
	{ 3, 0x0, 0x1 },                /* BootServicesCode */
	{ 7, 0x1000, 0x9f },            /* Conventional: merges with the above */
	{ 7, 0x100000, 0x700 },         /* Conventional */
	{ 10, 0x800000, 0x8 },          /* ACPI NVS */
	{ 4, 0x808000, 0x8 },           /* BootServicesData */
	{ 2, 0x810000, 0x10 },          /* LoaderData: merges with the above */
	{ 1, 0x820000, 0x10 },          /* LoaderCode: merges too */
	{ 6, 0x830000, 0x10 },          /* RuntimeServicesData */
	{ 5, 0x840000, 0x10 },          /* RuntimeServicesCode: merges (both reserved) */
	{ 9, 0x850000, 0x10 },          /* ACPI reclaim */
	{ 8, 0x860000, 0x1 },           /* Unusable */
	{ 7, 0x861000, 0x7000 },        /* Conventional, not adjacent in type */
	{ 11, 0xffc00000, 0x400 },      /* MMIO */
	{ 0, 0x7861000, 0x10 },         /* Reserved */
	{ 14, 0x100000000, 0x100 },     /* Persistent */
	{ 7, 0x100100000, 0x40000 },    /* Conventional above 4 GiB */
	{ 15, 0x140100000, 0x10 },      /* Unaccepted */
};

static const struct boot_mmap uefi_want[] = {
	{ 0, 0xa0000, MMAP_RAM },
	{ 0x100000, 0x700000, MMAP_RAM },
	{ 0x800000, 0x8000, MMAP_NVS },
	{ 0x808000, 0x28000, MMAP_RAM },
	{ 0x830000, 0x20000, MMAP_RESERVED },
	{ 0x850000, 0x10000, MMAP_ACPI },
	{ 0x860000, 0x1000, MMAP_BAD },
	{ 0x861000, 0x7000000, MMAP_RAM },
	{ 0xffc00000, 0x400000, MMAP_RESERVED },
	{ 0x7861000, 0x10000, MMAP_RESERVED },
	{ 0x100000000, 0x100000, MMAP_RESERVED },
	{ 0x100100000, 0x40000000, MMAP_RAM },
	{ 0x140100000, 0x10000, MMAP_RESERVED },
};

/* GRUB on UEFI: the EFI memory map wins over GRUB's translated one. */
TEST(uefi_efi_mmap_preferred)
{
	struct boot_info bi;
	const char *why;

	mb2_begin();
	put64(mb2_tag(12, 8), 0x7f9ee018);
	mb2_mmap(e820, 4);                      /* must be ignored */
	mb2_efi_mmap(uefi_map, ARRAY_SIZE(uefi_map), 48);
	uint8_t *new = mb2_tag(15, 36);
	mb2_end();

	CHECK(parse(&bi, &why));
	CHECK_EQ(bi.firmware, BOOT_FW_UEFI);
	CHECK_STR(bootinfo_firmware_name(&bi), "UEFI");
	CHECK_EQ(bi.efi_systab, 0x7f9ee018);
	CHECK_EQ(bi.mmap_source, BOOT_MMAP_EFI);
	CHECK_STR(bootinfo_mmap_source_name(&bi), "the EFI memory map tag (Multiboot2 type 17)");
	CHECK_EQ(bi.nr_mmap, (int)ARRAY_SIZE(uefi_want));
	for (int i = 0; i < bi.nr_mmap && i < (int)ARRAY_SIZE(uefi_want); i++) {
		CHECK_EQ(bi.mmap[i].base, uefi_want[i].base);
		CHECK_EQ(bi.mmap[i].len, uefi_want[i].len);
		CHECK_EQ(bi.mmap[i].type, uefi_want[i].type);
	}
	CHECK(bi.rsdp == new);
	CHECK_EQ(bi.rsdp_source, BOOT_RSDP_ACPI_NEW);
	CHECK(!bi.truncated);
}

/* The 40-byte descriptor of the spec, and the 32-bit system table tag. */
TEST(uefi_small_descriptors_efi32)
{
	struct boot_info bi;
	const char *why;

	mb2_begin();
	put32(mb2_tag(11, 4), 0x7f000018);
	mb2_efi_mmap(uefi_map, 4, 40);
	uint8_t *old = mb2_tag(14, 20);
	mb2_end();

	CHECK(parse(&bi, &why));
	CHECK_EQ(bi.firmware, BOOT_FW_UEFI);
	CHECK_EQ(bi.efi_systab, 0x7f000018);
	CHECK_EQ(bi.mmap_source, BOOT_MMAP_EFI);
	CHECK_EQ(bi.nr_mmap, 3);
	CHECK_EQ(bi.mmap[0].len, 0xa0000);
	CHECK_EQ(bi.mmap[2].type, MMAP_NVS);
	CHECK(bi.rsdp == old);
	CHECK_EQ(bi.rsdp_source, BOOT_RSDP_ACPI_OLD);
}

/* A descriptor size below the spec's 40 bytes: fall back to the E820 map. */
TEST(uefi_bad_descriptor_size_falls_back)
{
	struct boot_info bi;
	const char *why;

	mb2_begin();
	mb2_efi_mmap(uefi_map, 2, 16);
	mb2_mmap(e820, 4);
	mb2_end();

	CHECK(parse(&bi, &why));
	CHECK_EQ(bi.firmware, BOOT_FW_UEFI);
	CHECK_EQ(bi.mmap_source, BOOT_MMAP_MB2);
	CHECK_EQ(bi.nr_mmap, 4);
}

/* Page counts that would wrap the address space are dropped. */
TEST(uefi_wrapping_descriptor_dropped)
{
	static const struct efi_desc d[] = {
		{ 7, 0x100000, 0x100 },
		{ 7, 0xfffffffffff00000ull, 0x200 },
		{ 7, 0x200000, 0xfffffffffffffull },
		{ 7, 0x300000, 0 },
	};
	struct boot_info bi;
	const char *why;

	mb2_begin();
	mb2_efi_mmap(d, 4, 48);
	mb2_end();

	CHECK(parse(&bi, &why));
	CHECK_EQ(bi.nr_mmap, 1);
	CHECK_EQ(bi.mmap[0].len, 0x100000);
}

/* More unmergeable descriptors than kept: the rest is flagged, not overrun. */
TEST(uefi_many_descriptors_truncated)
{
	static struct efi_desc d[BOOT_MAX_MMAP + 10];
	struct boot_info bi;
	const char *why;

	for (int i = 0; i < (int)ARRAY_SIZE(d); i++)
		d[i] = (struct efi_desc){ i % 2 ? 7 : 9, 0x100000 + 0x2000ull * i, 1 };
	mb2_begin();
	mb2_efi_mmap(d, ARRAY_SIZE(d), 48);
	mb2_end();

	CHECK(parse(&bi, &why));
	CHECK_EQ(bi.nr_mmap, BOOT_MAX_MMAP);
	CHECK(bi.truncated);
}

/* No memory map at all is an error with a reason, not an empty machine. */
TEST(no_memory_map)
{
	struct boot_info bi;
	const char *why;

	mb2_begin();
	strcpy((char *)mb2_tag(2, 8), "GRUB");
	mb2_end();

	CHECK(!parse(&bi, &why));
	CHECK_STR(why, "Multiboot2 info has no usable memory map");
}

int main(void)
{
	check_start("bootinfo");
	RUN(bios_multiboot2);
	RUN(uefi_efi_mmap_preferred);
	RUN(uefi_small_descriptors_efi32);
	RUN(uefi_bad_descriptor_size_falls_back);
	RUN(uefi_wrapping_descriptor_dropped);
	RUN(uefi_many_descriptors_truncated);
	RUN(no_memory_map);
	return check_finish();
}
