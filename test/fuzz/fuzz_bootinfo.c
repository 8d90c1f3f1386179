/*
 * Fuzz target: the Multiboot2 boot information parser (boot/bootinfo.c,
 * bootinfo_parse with the Multiboot2 magic; Multiboot2 spec §3.6).
 *
 * Input: the information structure.  Its total_size field is set to the
 * input's length (the one field the loader's word is taken for), and it
 * sits in an exact-size, 8-aligned heap block, so ASan reports any read
 * past it.  The Multiboot1 path follows 32-bit physical pointers and is
 * not fuzzed on the host.
 *
 * Properties:
 *  - false comes with a one-line reason;
 *  - true: 1..BOOT_MAX_MMAP memory map entries, at most BOOT_MAX_MODULES
 *    modules, info_end - info_start is the structure's size; the command
 *    line, loader name and module command lines are NUL-terminated
 *    inside the structure (or are the parser's own constants); an RSDP
 *    copy lies inside it.
 */
#include "test/fuzz/fuzz.h"
#include "boot/bootinfo.h"
#include "boot/boot.h"

static const uint8_t *info_buf;
static size_t info_len;

static void check_str(const char *s)
{
	FUZZ_CHECK(s != NULL);
	const uint8_t *p = (const uint8_t *)s;
	if (p >= info_buf && p < info_buf + info_len)
		FUZZ_CHECK(memchr(p, '\0', info_len - (size_t)(p - info_buf)) != NULL);
	else
		FUZZ_CHECK(strlen(s) < 64);     /* one of the parser's own strings */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The structure is 8-aligned (§3.6) and at least its 8-byte header. */
	size_t len = MAX(ALIGN_UP(size, 8), 8);
	uint8_t *buf = aligned_alloc(8, len);
	static struct boot_info bi;
	const char *why = NULL;

	memset(buf, 0, len);
	memcpy(buf, data, size);
	uint32_t total = (uint32_t)len;
	memcpy(buf, &total, 4);
	info_buf = buf;
	info_len = len;
	if (!bootinfo_parse(MB2_BOOT_MAGIC, buf, &bi, &why)) {
		FUZZ_CHECK(why != NULL);
		fuzz_check_line(why, 256);
	} else {
		FUZZ_CHECK(bi.protocol == 2);
		FUZZ_CHECK(bi.nr_mmap >= 1 && bi.nr_mmap <= BOOT_MAX_MMAP);
		FUZZ_CHECK(bi.nr_modules >= 0 && bi.nr_modules <= BOOT_MAX_MODULES);
		FUZZ_CHECK(bi.info_end - bi.info_start == len);
		check_str(bi.cmdline);
		check_str(bi.loader);
		for (int i = 0; i < bi.nr_modules; i++)
			check_str(bi.module[i].cmdline);
		if (bi.rsdp) {
			const uint8_t *r = bi.rsdp;
			FUZZ_CHECK(r >= buf && bi.rsdp_len <= len && r - buf <= (ptrdiff_t)(len - bi.rsdp_len));
		}
		FUZZ_CHECK(bootinfo_firmware_name(&bi) && bootinfo_mmap_source_name(&bi));
	}
	free(buf);
	return 0;
}
