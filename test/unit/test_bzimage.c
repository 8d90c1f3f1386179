/*
 * Host tests of the Linux bzImage loader (guest-loader/fmt_bzimage.c): the
 * real Debian kernel that tools/linux-guest.sh fetched (LINUX_VMLINUZ, set
 * by bzimage.mk) loads into a board-shaped RAM with its zero page, command
 * line, initrd, e820 map, RSDP and 64-bit entry state as
 * Documentation/arch/x86/boot.rst says; crafted images with one fault each
 * fail with a one-line reason and write nothing outside guest RAM.
 */
#include "test/unit/check.h"
#include "guest-loader/loader.h"
#include "guest-loader/bootparams.h"
#include "arch/x86/x86_state.h"
#include "arch/x86/x86_defs.h"

#define RAM_MAX         (128 * MiB)
#define CANARY          4096
#define CANARY_BYTE     0xC5

static uint8_t *host;
static uint64_t ram;
static struct guest_mem mem;
static struct gl_mmap_entry mmap[6];
static int nr_mmap;
static char err[256];
static uint8_t initrd[3 * MiB + 123];
static const char *cmdline = "console=ttyS0 kasane.expect_cpus=2";

/* A board-shaped guest: RAM [0, size) with 0x9fc00-0xfffff reserved. */
static void vm_reset(uint64_t size)
{
	if (!host)
		host = malloc(RAM_MAX + 2 * CANARY);
	ram = size;
	memset(host, CANARY_BYTE, CANARY);
	memset(host + CANARY, 0, size);
	memset(host + CANARY + size, CANARY_BYTE, CANARY);
	memset(&mem, 0, sizeof(mem));
	gmem_add(&mem, 0, size, host + CANARY);
	mmap[0] = (struct gl_mmap_entry){ 0, 0x9fc00, GL_MMAP_RAM };
	mmap[1] = (struct gl_mmap_entry){ 0x9fc00, 0x100000 - 0x9fc00, GL_MMAP_RESERVED };
	mmap[2] = (struct gl_mmap_entry){ 0x100000, size - 0x100000, GL_MMAP_RAM };
	mmap[3] = (struct gl_mmap_entry){ 0xe0000000ULL, 0x100000, GL_MMAP_RESERVED };
	nr_mmap = 4;
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 7 + 3);
}

static bool canaries_ok(void)
{
	for (int i = 0; i < CANARY; i++)
		if (host[i] != CANARY_BYTE || host[CANARY + ram + i] != CANARY_BYTE)
			return false;
	return true;
}

static uint8_t *g(uint64_t gpa) { return gmem_ptr(&mem, gpa, 1); }
static uint64_t rd(uint64_t gpa, int bytes)
{
	uint64_t v = 0;
	gmem_read(&mem, gpa, &v, (uint64_t)bytes);
	return v;
}

static int load(const uint8_t *img, size_t len, size_t initrd_len, const char *cmd, int nr_mods,
		struct gl_result *r)
{
	static const struct gl_module mod = { (const uint8_t *)"x", 1, NULL };
	struct gl_input in = {
		.img = img, .img_len = len, .cmdline = cmd, .mods = &mod, .nr_mods = nr_mods,
		.initrd = initrd_len ? initrd : NULL, .initrd_len = initrd_len,
		.mmap = mmap, .nr_mmap = nr_mmap,
	};
	err[0] = 0;
	return gl_load(&mem, &in, r, err, sizeof(err));
}

/* ---- the real kernel ------------------------------------------------------ */

static uint8_t *deb;
static size_t deb_len;

static bool read_debian(void)
{
	if (deb)
		return true;
	FILE *f = fopen(LINUX_VMLINUZ, "rb");
	if (!f) {
		printf("    cannot open %s: run tools/linux-guest.sh\n", LINUX_VMLINUZ);
		return false;
	}
	deb = malloc(16 * MiB);
	deb_len = fread(deb, 1, 16 * MiB, f);
	fclose(f);
	return deb_len > 0;
}

/* Does the page-table walk from cr3 identity-map gpa (2 MiB pages)? */
static bool mapped(uint64_t cr3, uint64_t gpa)
{
	uint64_t e = rd(cr3 + ((gpa >> 39) & 511) * 8, 8);
	if (!(e & PTE_P))
		return false;
	e = rd((e & ~0xfffULL) + ((gpa >> 30) & 511) * 8, 8);
	if (!(e & PTE_P))
		return false;
	e = rd((e & ~0xfffULL) + ((gpa >> 21) & 511) * 8, 8);
	return (e & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS) &&
	       (e & ~0x1fffffULL & ((1ULL << 52) - 1)) == (gpa & ~0x1fffffULL);
}

TEST(debian_header)
{
	CHECK(read_debian());
	if (!deb)
		return;
	CHECK_EQ(deb[BP_BOOT_FLAG] | deb[BP_BOOT_FLAG + 1] << 8, 0xaa55);
	CHECK(memcmp(deb + BP_HEADER, "HdrS", 4) == 0);
	uint16_t ver = (uint16_t)(deb[BP_VERSION] | deb[BP_VERSION + 1] << 8);
	CHECK(ver >= 0x20c);
	CHECK(deb[BP_XLOADFLAGS] & BP_XLF_KERNEL_64);
	CHECK(deb[BP_RELOCATABLE_KERNEL]);
}

TEST(debian_loads)
{
	struct gl_result r;

	if (!read_debian())
		return;
	vm_reset(RAM_MAX);
	/* An RSDP where fwtables.c puts one: found and handed over. */
	uint8_t rsdp[20] = "RSD PTR ";
	uint8_t sum = 0;
	for (int i = 0; i < 20; i++)
		sum = (uint8_t)(sum + rsdp[i]);
	rsdp[8] = (uint8_t)-sum;        /* the checksum: 20 bytes sum to 0 */
	gmem_write(&mem, 0xfff00, rsdp, sizeof(rsdp));

	CHECK_EQ(load(deb, deb_len, sizeof(initrd), cmdline, 0, &r), 0);
	if (err[0])
		printf("    %s\n", err);
	CHECK_STR(r.format, "bzimage");
	uint64_t pref = (uint64_t)deb[BP_PREF_ADDRESS] | (uint64_t)deb[BP_PREF_ADDRESS + 1] << 8 |
			(uint64_t)deb[BP_PREF_ADDRESS + 2] << 16 | (uint64_t)deb[BP_PREF_ADDRESS + 3] << 24;
	uint32_t init_size = (uint32_t)(deb[BP_INIT_SIZE] | deb[BP_INIT_SIZE + 1] << 8 |
					deb[BP_INIT_SIZE + 2] << 16 | (uint32_t)deb[BP_INIT_SIZE + 3] << 24);
	size_t setup = (size_t)(deb[BP_SETUP_SECTS] + 1) * 512;
	CHECK_EQ(r.kernel_start, pref);
	CHECK(g(pref) && memcmp(g(pref), deb + setup, 4096) == 0);
	CHECK_EQ(r.boot.regs.rip, pref + 0x200);

	/* The zero page. */
	uint64_t zp = r.boot.regs.gpr[REG_RSI];
	CHECK_EQ(zp, r.info);
	CHECK(zp + 4096 <= pref || zp >= pref + init_size);
	CHECK(memcmp(g(zp + BP_HEADER), "HdrS", 4) == 0);
	CHECK_EQ(rd(zp + BP_TYPE_OF_LOADER, 1), 0xff);
	CHECK_EQ(rd(zp + BP_INIT_SIZE, 4), init_size);
	CHECK_EQ(rd(zp + BP_EXT_CMD_LINE_PTR, 4), 0);
	uint64_t cl = rd(zp + BP_CMD_LINE_PTR, 4);
	CHECK(g(cl) && strcmp((char *)g(cl), cmdline) == 0);
	uint64_t rdimg = rd(zp + BP_RAMDISK_IMAGE, 4), rdsz = rd(zp + BP_RAMDISK_SIZE, 4);
	CHECK_EQ(rdsz, sizeof(initrd));
	CHECK(gmem_ptr(&mem, rdimg, rdsz) && memcmp(g(rdimg), initrd, sizeof(initrd)) == 0);
	/* As high as it fits: at the top of RAM, above the kernel's range. */
	CHECK_EQ(rdimg, (RAM_MAX - sizeof(initrd)) & ~0xfffULL);
	CHECK(rdimg >= pref + init_size);
	CHECK_EQ(rd(zp + BP_ACPI_RSDP_ADDR, 8), 0xfff00);
	CHECK_EQ(rd(zp + BP_E820_ENTRIES, 1), 4);
	for (int i = 0; i < 4; i++) {
		uint64_t e = zp + BP_E820_TABLE + i * 20;
		CHECK_EQ(rd(e, 8), mmap[i].base);
		CHECK_EQ(rd(e + 8, 8), mmap[i].len);
		CHECK_EQ(rd(e + 16, 4), mmap[i].type);
	}

	/* 64-bit entry: boot.rst's "64-bit BOOT PROTOCOL". */
	const struct x86_sregs *s = &r.boot.sregs;
	CHECK(s->efer & EFER_LMA);
	CHECK(s->cr0 & CR0_PG);
	CHECK_EQ(r.boot.regs.rflags & RFLAGS_IF, 0);
	CHECK_EQ(s->seg[SEG_CS].selector, 0x10);
	CHECK_EQ(s->seg[SEG_DS].selector, 0x18);
	CHECK_EQ(s->seg[SEG_SS].selector, 0x18);
	CHECK_EQ(s->seg[SEG_ES].selector, 0x18);
	CHECK(s->gdt.limit >= 0x1f);
	CHECK_EQ(rd(s->gdt.base + 0x10, 8), X86_GDT_CODE64);
	CHECK_EQ(rd(s->gdt.base + 0x18, 8), X86_GDT_DATA);
	/* The kernel's whole range, the zero page, the command line and the
	 * initrd are identity-mapped; the page tables lie outside the kernel's range. */
	for (uint64_t a = pref; a < pref + init_size; a += 2 * MiB)
		CHECK(mapped(s->cr3, a));
	CHECK(mapped(s->cr3, zp) && mapped(s->cr3, cl) && mapped(s->cr3, rdimg + rdsz - 1));
	CHECK(s->cr3 + 4096 <= pref || s->cr3 >= pref + init_size);
	CHECK(canaries_ok());
}

/* A small RAM: the initrd goes below the kernel, under initrd_addr_max. */
TEST(debian_initrd_below_kernel)
{
	struct gl_result r;

	if (!read_debian())
		return;
	vm_reset(82 * MiB);     /* the kernel takes 16 MiB + init_size (~64 MiB) */
	CHECK_EQ(load(deb, deb_len, sizeof(initrd), cmdline, 0, &r), 0);
	uint64_t zp = r.boot.regs.gpr[REG_RSI];
	uint64_t rdimg = rd(zp + BP_RAMDISK_IMAGE, 4);
	CHECK(rdimg + sizeof(initrd) <= 16 * MiB);
	CHECK(memcmp(g(rdimg), initrd, sizeof(initrd)) == 0);
	CHECK(canaries_ok());
	/* Too small for the kernel's init_size: refused, naming it. */
	vm_reset(64 * MiB);
	CHECK(load(deb, deb_len, 0, cmdline, 0, &r) < 0);
	CHECK(strstr(err, "init_size"));
	CHECK(canaries_ok());
}

/* ---- crafted images: a small valid one, then one fault at a time ---------- */

static uint8_t img[64 * 1024];

static void put(size_t off, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		img[off + i] = (uint8_t)(v >> (8 * i));
}

/* 2 setup sectors + 1 boot sector, then a 4 KiB kernel; 8 MiB init_size at 16 MiB. */
static size_t build(void)
{
	memset(img, 0, sizeof(img));
	img[BP_SETUP_SECTS] = 2;
	put(BP_BOOT_FLAG, 0xaa55, 2);
	img[BP_JUMP] = 0xeb;
	img[BP_JUMP + 1] = 0x6a;                /* header ends at 0x26c */
	memcpy(img + BP_HEADER, "HdrS", 4);
	put(BP_VERSION, 0x020f, 2);
	img[BP_LOADFLAGS] = BP_LOADED_HIGH;
	put(BP_SYSSIZE, 4096 / 16, 4);
	put(BP_INITRD_ADDR_MAX, 0x7fffffff, 4);
	put(BP_KERNEL_ALIGNMENT, 0x200000, 4);
	img[BP_RELOCATABLE_KERNEL] = 1;
	put(BP_XLOADFLAGS, BP_XLF_KERNEL_64, 2);
	put(BP_CMDLINE_SIZE, 2047, 4);
	put(BP_PREF_ADDRESS, 16 * MiB, 8);
	put(BP_INIT_SIZE, 8 * MiB, 4);
	for (int i = 0; i < 4096; i++)
		img[3 * 512 + i] = (uint8_t)(i ^ 0x5a);
	return 3 * 512 + 4096;
}

TEST(crafted_good)
{
	struct gl_result r;
	size_t n = build();

	vm_reset(64 * MiB);
	CHECK_EQ(load(img, n, 0, "", 0, &r), 0);
	CHECK_EQ(r.kernel_start, 16 * MiB);
	CHECK(memcmp(g(16 * MiB), img + 3 * 512, 4096) == 0);
	CHECK_EQ(rd(r.info + BP_RAMDISK_IMAGE, 4), 0);
	CHECK_EQ(rd(r.info + BP_RAMDISK_SIZE, 4), 0);
	/* setup_sects 0 means 4. */
	img[BP_SETUP_SECTS] = 0;
	memmove(img + 5 * 512, img + 3 * 512, 4096);
	vm_reset(64 * MiB);
	CHECK_EQ(load(img, 5 * 512 + 4096, 0, "", 0, &r), 0);
	CHECK(memcmp(g(16 * MiB), img + 5 * 512, 4096) == 0);
	CHECK(canaries_ok());
}

/* pref_address in a hole: relocated to the next aligned fit, or refused. */
TEST(crafted_relocation)
{
	struct gl_result r;
	size_t n = build();

	vm_reset(64 * MiB);
	mmap[2].len = 17 * MiB - 0x100000;      /* RAM, a reserved MiB, RAM */
	mmap[3] = (struct gl_mmap_entry){ 17 * MiB, 1 * MiB, GL_MMAP_RESERVED };
	struct gl_mmap_entry hi = { 18 * MiB, 46 * MiB, GL_MMAP_RAM };
	mmap[4] = hi;
	nr_mmap = 5;
	CHECK_EQ(load(img, n, 0, "", 0, &r), 0);
	CHECK_EQ(r.kernel_start, 18 * MiB);     /* 2 MiB-aligned, past the hole */
	img[BP_RELOCATABLE_KERNEL] = 0;
	CHECK(load(img, n, 0, "", 0, &r) < 0);
	CHECK(strstr(err, "init_size") && strstr(err, "0x1000000"));
	CHECK(canaries_ok());
}

struct bad {
	const char *name, *want;
	void (*edit)(size_t *len, size_t *initrd_len, const char **cmd, int *mods);
};

static void e_magic(size_t *l, size_t *i, const char **c, int *m) { img[BP_HEADER] = 'X'; }
static void e_flag(size_t *l, size_t *i, const char **c, int *m) { put(BP_BOOT_FLAG, 0x1234, 2); }
static void e_old(size_t *l, size_t *i, const char **c, int *m) { put(BP_VERSION, 0x020b, 2); }
static void e_32(size_t *l, size_t *i, const char **c, int *m) { put(BP_XLOADFLAGS, 2, 2); }
static void e_trunc(size_t *l, size_t *i, const char **c, int *m) { *l -= 1; }
static void e_trunc_hdr(size_t *l, size_t *i, const char **c, int *m) { *l = 0x230; }
static void e_hdr_end(size_t *l, size_t *i, const char **c, int *m) { img[BP_JUMP + 1] = 0x10; }
static void e_init_small(size_t *l, size_t *i, const char **c, int *m) { put(BP_INIT_SIZE, 4000, 4); }
static void e_init_big(size_t *l, size_t *i, const char **c, int *m) { put(BP_INIT_SIZE, 60 * MiB, 4); }
static void e_align(size_t *l, size_t *i, const char **c, int *m) { put(BP_KERNEL_ALIGNMENT, 0x3000, 4); }
static void e_initrd(size_t *l, size_t *i, const char **c, int *m) { put(BP_INITRD_ADDR_MAX, 0x3fffff, 4); *i = sizeof(initrd); }
static void e_cmdline(size_t *l, size_t *i, const char **c, int *m) { put(BP_CMDLINE_SIZE, 5, 4); *c = "console=ttyS0"; }
static void e_mods(size_t *l, size_t *i, const char **c, int *m) { *m = 1; }
static void e_syssize(size_t *l, size_t *i, const char **c, int *m) { put(BP_SYSSIZE, 0, 4); }

static const struct bad bads[] = {
	{ "wrong HdrS magic", "not a loadable kernel", e_magic },
	{ "no boot_flag", "boot_flag", e_flag },
	{ "protocol 2.11", "too old", e_old },
	{ "no 64-bit entry", "XLF_KERNEL_64", e_32 },
	{ "kernel truncated", "truncated", e_trunc },
	{ "header truncated", "0x26c", e_trunc_hdr },
	{ "header ends early", "setup header ends", e_hdr_end },
	{ "init_size below the kernel", "smaller than the kernel", e_init_small },
	{ "init_size beyond RAM", "init_size", e_init_big },
	{ "alignment not a power of two", "kernel_alignment", e_align },
	{ "initrd above initrd_addr_max", "initrd", e_initrd },
	{ "command line too long", "cmdline_size", e_cmdline },
	{ "modules", "not modules", e_mods },
	{ "no kernel", "truncated", e_syssize },
};

TEST(crafted_bad)
{
	struct gl_result r;

	for (size_t k = 0; k < sizeof(bads) / sizeof(bads[0]); k++) {
		size_t n = build(), ilen = 0;
		const char *cmd = "";
		int mods = 0;

		vm_reset(64 * MiB);
		bads[k].edit(&n, &ilen, &cmd, &mods);
		int rc = load(img, n, ilen, cmd, mods, &r);
		if (rc >= 0 || !strstr(err, bads[k].want) || strchr(err, '\n') || !canaries_ok()) {
			printf("    %s: rc %d, reason \"%s\" (wanted \"%s\")\n", bads[k].name, rc, err,
			       bads[k].want);
			check_cur_failed = 1;
		}
	}
}

/* Only a Linux kernel takes an initrd. */
TEST(initrd_needs_linux)
{
	struct gl_result r;
	static uint8_t elf[512] = { 0x7f, 'E', 'L', 'F', 2 };

	vm_reset(64 * MiB);
	CHECK(load(elf, sizeof(elf), 100, "", 0, &r) < 0);
	CHECK(strstr(err, "only for Linux"));
}

int main(void)
{
	check_start("bzimage");
	RUN(debian_header);
	RUN(debian_loads);
	RUN(debian_initrd_below_kernel);
	RUN(crafted_good);
	RUN(crafted_relocation);
	RUN(crafted_bad);
	RUN(initrd_needs_linux);
	return check_finish();
}
