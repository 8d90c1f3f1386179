/*
 * Host tests for guest-loader/ with hostile input: every malformed image or
 * bad input must fail with a one-line reason naming the problem, and nothing
 * outside guest RAM (canary-guarded) may be written; randomly corrupted
 * images must either fail that way or load to a sane result.
 */
#include "test/unit/check.h"
#include "test/unit/loader_img.h"

TEST(error_message_truncated_to_buffer)
{
	struct gl_result r;
	char small[8];
	struct gl_input in = { .img = img, .img_len = 100 };

	vm_reset(0);
	memset(img, 0x11, 100);
	memset(small, 'Z', sizeof(small));
	CHECK(gl_load(&mem, &in, &r, small, sizeof(small)) < 0);
	CHECK(memchr(small, 0, sizeof(small)) == small + 7);
	CHECK(gl_load(&mem, &in, &r, NULL, 0) < 0);
}

/* ---- malformed images ---------------------------------------------------- */

/* Each case edits img (already holding a valid image) and returns its length. */
struct bad_case {
	const char *name, *want;        /* want: a word the reason must contain */
	size_t (*build)(void);
	int nr_mods;
};

static size_t b_trunc_hdr(void) { build_std_elf64(); return 40; }
static size_t b_trunc_ident(void) { build_std_elf64(); return 10; }
static size_t b_phoff(void) { size_t n = build_std_elf64(); put64(img + 32, n); return n; }
static size_t b_off_wrap(void)
{
	size_t n = build_std_elf64();
	put64(img + 64 + 8, 0xffffffffffffff00ULL);
	return n;
}
static size_t b_filesz(void)
{
	size_t n = build_std_elf64();
	put64(img + 64 + 56 + 40, 0x80);        /* memsz 0x80 < filesz 0x100 */
	return n;
}
static size_t b_outside(void)
{
	size_t n = build_std_elf64();
	put64(img + 64 + 56 + 24, 0x1000000);   /* 16 MiB, RAM ends at 8 */
	return n;
}
static size_t b_hole(void)
{
	size_t n = build_std_elf64();
	put64(img + 64 + 56 + 24, 0xA0000);
	return n;
}
static size_t b_straddle(void)
{
	size_t n = build_std_elf64();
	put64(img + 64 + 56 + 24, 0x7FF000);
	return n;
}
static size_t b_paddr_wrap(void)
{
	size_t n = build_std_elf64();
	put64(img + 64 + 56 + 24, 0xfffffffffffff000ULL);
	return n;
}
static size_t b_phnum_huge(void) { size_t n = build_std_elf64(); put16(img + 56, 0xffff); return n; }
static size_t b_phnum_zero(void) { size_t n = build_std_elf64(); put16(img + 56, 0); return n; }
static size_t b_phentsize(void) { size_t n = build_std_elf64(); put16(img + 54, 32); return n; }
static size_t b_machine(void) { size_t n = build_std_elf64(); put16(img + 18, 3); return n; }
static size_t b_dyn(void) { size_t n = build_std_elf64(); put16(img + 16, 3); return n; }
static size_t b_bigendian(void) { size_t n = build_std_elf64(); img[5] = 2; return n; }
static size_t b_class(void) { size_t n = build_std_elf64(); img[4] = 7; return n; }
static size_t b_entry(void) { size_t n = build_std_elf64(); put64(img + 24, 0x500000); return n; }
static size_t b_overlap(void)
{
	size_t n = build_std_elf64();
	put64(img + 64 + 56 + 24, 0x101000);
	return n;
}
static size_t b_no_load(void)
{
	size_t n = build_std_elf64();
	put32(img + 64, 4);
	put32(img + 64 + 56, 4);
	return n;
}
static size_t b_mb1_csum(void) { size_t n = build_mb1_aout(0, 0); img[0x28] ^= 1; return n; }
static size_t b_mb2_csum(void) { size_t n = build_mb2_elf(); img[0x100c] ^= 1; return n; }
static size_t b_mb1_end_low(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | 3, 0x100020, 0x100000, 0xFFFF0, 0, 0x100040);
	return n;
}
static size_t b_mb1_short(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | 3, 0x100020, 0x100000, 0x110000, 0, 0x100040);
	return n;
}
static size_t b_mb1_load_high(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | 3, 0x100020, 0x100030, 0, 0, 0x100040);
	return n;
}
static size_t b_mb1_before_file(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | 3, 0x100020, 0xF0000, 0, 0, 0x100040);
	return n;
}
static size_t b_mb1_bss_low(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | 3, 0x100020, 0x100000, 0x101000, 0x100800, 0x100040);
	return n;
}
static size_t b_mb1_outside(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | 3, 0x7FF020, 0x7FF000, 0, 0x900000, 0x7FF040);
	return n;
}
static size_t b_mb1_flags(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | (1u << 5) | 3, 0x100020, 0x100000, 0, 0, 0x100040);
	return n;
}
static size_t b_mb1_cutoff(void)
{
	memset(img, 0, sizeof(img));
	put_mb1(8192 - 12, (1u << 16), 0x100000 + 8192 - 12, 0x100000, 0, 0, 0x100000);
	return 0x4000;
}
static size_t b_mb1_entry(void)
{
	size_t n = build_mb1_aout(0, 0);
	put_mb1(0x20, (1u << 16) | 3, 0x100020, 0x100000, 0, 0, 0x200000);
	return n;
}
static size_t b_mb1_not_elf(void)
{
	memset(img, 0x90, 0x1000);
	put_mb1(0x40, 3, 0, 0, 0, 0, 0);
	return 0x1000;
}

/* Valid MB2 ELF kernel, with the header at 0x1000 replaced by these tags. */
static size_t mb2_with(const struct tags *t)
{
	size_t n = build_std_elf64();
	put_mb2(0x1000, t);
	return n;
}
static size_t b_mb2_unknown(void)
{
	struct tags t = { .n = 0 };
	tag(&t, 0x7777, 0, 0, NULL);
	return mb2_with(&t);
}
static size_t b_mb2_req_unknown(void)
{
	struct tags t = { .n = 0 };
	uint32_t req[] = { 1, 99 };
	tag(&t, 1, 0, 2, req);
	return mb2_with(&t);
}
static size_t b_mb2_console(void)
{
	struct tags t = { .n = 0 };
	uint32_t f = 1;
	tag(&t, 4, 0, 1, &f);
	return mb2_with(&t);
}
static size_t b_mb2_tag_size0(void)
{
	struct tags t = { .n = 0 };
	tag(&t, 6, 0, 0, NULL);
	size_t n = mb2_with(&t);
	put32(img + 0x1000 + 16 + 4, 0);
	return n;
}
static size_t b_mb2_tag_short(void)
{
	struct tags t = { .n = 0 };
	tag(&t, 2, 0, 1, (uint32_t[]){ 0 });    /* address tag needs 24 bytes */
	return mb2_with(&t);
}
static size_t b_mb2_no_end(void)
{
	struct tags t = { .n = 0 };
	tag(&t, 6, 0, 0, NULL);
	size_t n = mb2_with(&t);
	put16(img + 0x1000 + 24, 6);            /* end tag becomes type 6 */
	return n;
}
static size_t b_mb2_hlen(void)
{
	size_t n = build_std_elf64();
	uint32_t hlen = 0x40000;
	put32(img + 0x1000, MB2_MAGIC);
	put32(img + 0x1004, 0);
	put32(img + 0x1008, hlen);
	put32(img + 0x100c, 0u - MB2_MAGIC - hlen);
	return n;
}
static size_t b_mb2_arch(void)
{
	size_t n = build_std_elf64();
	put32(img + 0x1000, MB2_MAGIC);
	put32(img + 0x1004, 4);
	put32(img + 0x1008, 24);
	put32(img + 0x100c, 0u - MB2_MAGIC - 4 - 24);
	put32(img + 0x1010, 0);
	put32(img + 0x1014, 8);
	return n;
}
static size_t b_mb2_addr_no_entry(void)
{
	struct tags t = { .n = 0 };
	uint32_t addr[] = { 0x300010, 0x300000, 0, 0 };
	memset(img, 0, sizeof(img));
	tag(&t, 2, 0, 4, addr);
	put_mb2(0x10, &t);
	return 0x1000;
}
static size_t b_mb2_entry_out(void)
{
	struct tags t = { .n = 0 };
	uint32_t e = 0x700000;
	tag(&t, 3, 0, 1, &e);
	return mb2_with(&t);
}
static size_t b_mb2_hdr_off(void)
{
	struct tags t = { .n = 0 };
	uint32_t addr[] = { 0x300000, 0x300010, 0, 0 }, e = 0x300100;
	memset(img, 0, sizeof(img));
	tag(&t, 2, 0, 4, addr);
	tag(&t, 3, 0, 1, &e);
	put_mb2(0x10, &t);
	return 0x1000;
}
static size_t b_junk(void) { memset(img, 0x5A, 0x2000); return 0x2000; }
static size_t b_empty(void) { return 0; }
static size_t b_elf32_mods(void)
{
	struct seg s = { 0x100, 0x200000, 0x200000, 0x300, 0x400 };
	return build_elf32(0x200020, &s, 1);
}

static const struct bad_case bad_cases[] = {
	{ "truncated header", "truncated", b_trunc_hdr, 0 },
	{ "truncated ident", "truncated", b_trunc_ident, 0 },
	{ "phoff past end", "program headers", b_phoff, 0 },
	{ "p_offset+p_filesz wraps", "past the end", b_off_wrap, 0 },
	{ "memsz < filesz", "exceeds p_memsz", b_filesz, 0 },
	{ "segment beyond RAM", "outside guest RAM (7804 KiB)", b_outside, 0 },
	{ "segment in hole", "outside guest RAM", b_hole, 0 },
	{ "segment straddles RAM end", "outside guest RAM", b_straddle, 0 },
	{ "paddr+memsz wraps", "outside guest RAM", b_paddr_wrap, 0 },
	{ "huge phnum", "e_phnum", b_phnum_huge, 0 },
	{ "zero phnum", "e_phnum", b_phnum_zero, 0 },
	{ "bad phentsize", "e_phentsize", b_phentsize, 0 },
	{ "wrong machine", "e_machine", b_machine, 0 },
	{ "ET_DYN", "ET_EXEC", b_dyn, 0 },
	{ "big endian", "little-endian", b_bigendian, 0 },
	{ "bad class", "class", b_class, 0 },
	{ "entry outside segments", "entry point", b_entry, 0 },
	{ "overlapping segments", "overlap", b_overlap, 0 },
	{ "no PT_LOAD", "no PT_LOAD", b_no_load, 0 },
	{ "MB1 bad checksum", "bad checksum", b_mb1_csum, 0 },
	{ "MB2 bad checksum", "bad checksum", b_mb2_csum, 0 },
	{ "MB1 load_end < load_addr", "load_end_addr", b_mb1_end_low, 0 },
	{ "MB1 image too short", "needs file bytes", b_mb1_short, 0 },
	{ "MB1 load_addr > header_addr", "above header_addr", b_mb1_load_high, 0 },
	{ "MB1 load before file", "before the file", b_mb1_before_file, 0 },
	{ "MB1 bss_end < load_end", "bss_end_addr", b_mb1_bss_low, 0 },
	{ "MB1 bss outside RAM", "outside guest RAM", b_mb1_outside, 0 },
	{ "MB1 unknown required flag", "0x20", b_mb1_flags, 0 },
	{ "MB1 header cut off", "cut off", b_mb1_cutoff, 0 },
	{ "MB1 entry outside", "entry point", b_mb1_entry, 0 },
	{ "MB1 not ELF, no kludge", "not ELF", b_mb1_not_elf, 0 },
	{ "MB2 unknown required tag", "not supported", b_mb2_unknown, 0 },
	{ "MB2 unknown info request", "unknown information", b_mb2_req_unknown, 0 },
	{ "MB2 console required", "console", b_mb2_console, 0 },
	{ "MB2 tag size 0", "bad size", b_mb2_tag_size0, 0 },
	{ "MB2 tag too short", "too short", b_mb2_tag_short, 0 },
	{ "MB2 no end tag", "no end tag", b_mb2_no_end, 0 },
	{ "MB2 header_length", "header_length", b_mb2_hlen, 0 },
	{ "MB2 architecture", "architecture", b_mb2_arch, 0 },
	{ "MB2 address without entry", "entry address tag", b_mb2_addr_no_entry, 0 },
	{ "MB2 entry outside", "entry point", b_mb2_entry_out, 0 },
	{ "MB2 load_addr > header_addr", "above header_addr", b_mb2_hdr_off, 0 },
	{ "no kernel at all", "not a loadable kernel", b_junk, 0 },
	{ "empty image", "empty", b_empty, 0 },
	{ "ELF32 with modules", "cannot receive modules", b_elf32_mods, 2 },
};

TEST(malformed_images_fail_cleanly)
{
	struct gl_result r;

	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->build();
		vm_reset(0xAA);
		int rc = run(img, len, test_mods, c->nr_mods, &r);
		if (rc >= 0 || !strstr(err, c->want) || !canaries_ok()) {
			printf("    case \"%s\": rc %d, reason \"%s\", want \"%s\"%s\n",
			       c->name, rc, err, c->want,
			       canaries_ok() ? "" : ", CANARY DAMAGED");
			check_cur_failed = 1;
		}
	}
}

TEST(bad_inputs)
{
	struct gl_result r;
	size_t len = build_std_elf64();
	static uint8_t big[8 * 1024 * 1024];
	struct gl_module huge = { big, sizeof(big), "huge" };
	struct gl_module nodata = { NULL, 10, NULL };
	struct gl_mmap_entry wrap = { 0xfffffffffffff000ULL, 0x2000, 1 };
	static char longcmd[GL_MAX_STR + 10];
	struct gl_input in = { .img = img, .img_len = len };

	vm_reset(0xAA);
	CHECK(run(img, len, &huge, 1, &r) < 0);
	CHECK(strstr(err, "does not fit") != NULL);
	CHECK(run(img, len, test_mods, -1, &r) < 0 && err[0]);
	CHECK(run(img, len, test_mods, GL_MAX_MODS + 1, &r) < 0 && err[0]);
	CHECK(run(img, len, NULL, 2, &r) < 0 && err[0]);
	CHECK(run(img, len, &nodata, 1, &r) < 0 && err[0]);

	in.mmap = &wrap;
	in.nr_mmap = 1;
	CHECK(gl_load(&mem, &in, &r, err, sizeof(err)) < 0);
	CHECK(strstr(err, "wraps") != NULL);
	in.nr_mmap = GL_MAX_MMAP + 1;
	CHECK(gl_load(&mem, &in, &r, err, sizeof(err)) < 0 && err[0]);

	/* The memory map says only low memory is RAM: modules cannot be placed. */
	in.mmap = test_mmap;
	in.nr_mmap = 1;
	in.mods = test_mods;
	in.nr_mods = 1;
	CHECK(gl_load(&mem, &in, &r, err, sizeof(err)) < 0);
	CHECK(strstr(err, "does not fit") != NULL);

	memset(longcmd, 'a', sizeof(longcmd) - 1);
	in.cmdline = longcmd;
	in.nr_mmap = 3;
	CHECK(gl_load(&mem, &in, &r, err, sizeof(err)) < 0);
	CHECK(strstr(err, "longer than") != NULL);

	/* RAM ends 3 pages above an ELF64 kernel: room for its boot
	 * information but not for its page tables, GDT and stack. */
	static const struct gl_mmap_entry tight[2] = {
		{ 0, LOW_SIZE, 1 }, { HIGH_GPA, 0x8000, 1 },
	};
	in = (struct gl_input){ .img = img, .img_len = len, .mmap = tight, .nr_mmap = 2 };
	CHECK(gl_load(&mem, &in, &r, err, sizeof(err)) < 0);
	CHECK(strstr(err, "boot page tables") != NULL);
	CHECK(canaries_ok());
}

/* Random corruption of valid images: errors or sane results, never damage. */
TEST(fuzzed_images)
{
	static size_t (*const valid[])(void) = {
		build_std_elf64, build_mb2_elf,
	};
	uint64_t seed = 0x9E3779B97F4A7C15ULL;
	struct gl_result r;
	int ok = 0, failed = 0;

	vm_reset(0);
	for (int iter = 0; iter < 30000; iter++) {
		size_t len;
		switch (iter % 4) {
		case 0: len = valid[0](); break;
		case 1: len = valid[1](); break;
		case 2: len = build_mb1_aout(0x101000, 0x101800); break;
		default: len = build_mb2_aout(0x300000); break;
		}
		int flips = 1 + iter % 6;
		for (int f = 0; f < flips; f++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t x = seed >> 33;
			/* Mostly headers (ELF, program headers, MB1/MB2 areas). */
			size_t span = (x & 3) ? 0x140 : len;
			size_t base = (x & 3) == 1 ? 0x1000 : 0;
			size_t at = base + (x >> 8) % span;
			if (at < len)
				img[at] = (uint8_t)(x >> 40);
		}
		if ((iter & 7) == 7)
			len = (seed >> 20) % (len + 1);
		int rc = run(img, len, test_mods, 2, &r);
		if (rc < 0) {
			failed++;
			if (!err[0] || !strcmp(err, "X"))
				check_cur_failed = 1;
			continue;
		}
		ok++;
		/* Segments may sit on both sides of the hole: check the ends. */
		CHECK(r.kernel_start < r.kernel_end);
		CHECK(gmem_is_ram(&mem, r.kernel_start, 1));
		CHECK(gmem_is_ram(&mem, r.kernel_end - 1, 1));
		CHECK(r.boot.regs.rip >= r.kernel_start && r.boot.regs.rip < r.kernel_end);
		CHECK(r.free_start >= r.kernel_end);
		CHECK(r.info == 0 || gmem_is_ram(&mem, r.info, 8));
	}
	CHECK(canaries_ok());
	printf("    fuzz: %d loaded, %d rejected\n", ok, failed);
	CHECK(ok > 0 && failed > 0);
}

int main(void)
{
	check_start("loader_bad");
	RUN(error_message_truncated_to_buffer);
	RUN(malformed_images_fail_cleanly);
	RUN(bad_inputs);
	RUN(fuzzed_images);
	return check_finish();
}
