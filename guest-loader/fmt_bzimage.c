/*
 * Linux bzImage kernels, loaded by the Linux/x86 boot protocol and entered
 * at their 64-bit entry point (Linux Documentation/arch/x86/boot.rst, "64-bit
 * BOOT PROTOCOL"; offsets in bootparams.h).
 *
 * Guest-physical layout:
 *   - the protected-mode kernel at pref_address, or (a relocatable kernel)
 *     the lowest kernel_alignment-aligned address above it where all of
 *     [load, load + init_size) is RAM: the kernel decompresses itself
 *     inside that range;
 *   - the zero page, the boot GDT and the command line in one block, the
 *     first RAM from 64 KiB up that is outside the kernel's range;
 *   - the identity-mapping page tables (longmode.h) after that block;
 *   - the initrd as high as it fits, ending at or below initrd_addr_max,
 *     outside all of the above.
 * Entry: 64-bit mode on those page tables, CS = __BOOT_CS (0x10), DS = ES =
 * SS = __BOOT_DS (0x18) from the block's GDT, interrupts off, RIP = load +
 * 0x200, RSI = the zero page, the other GPRs 0 (RSP: longmode.h's stack).
 */
#include "guest-loader/format.h"
#include "guest-loader/bootparams.h"
#include "guest-loader/longmode.h"
#include "arch/x86/x86_state.h"
#include "lib/printf.h"
#include "lib/string.h"

#define BZ_LOW_FIRST    0x10000ULL      /* above the real-mode IVT and BIOS data */
#define BZ_GDT_ENTRIES  4               /* null, unused, __BOOT_CS, __BOOT_DS */
#define BZ_GDT_OFFSET   BP_ZERO_PAGE_SIZE       /* in the block, after the zero page */
#define BZ_CMDLINE_OFFSET (BZ_GDT_OFFSET + 0x100)
#define BZ_MAX_AVOID    4
#define BZ_PLACE_TRIES  64              /* bounds the placement searches */

/* Where the ACPI RSDP may be (ACPI 6.5 §5.2.5.1), 16-byte aligned. */
#define RSDP_SCAN_BASE  0xe0000ULL
#define RSDP_SCAN_SIZE  0x20000ULL
#define RSDP_V1_LEN     20

/* The setup header fields this loader reads, checked (bz_parse). */
struct bz_header {
	uint64_t setup_size;            /* bytes before the protected-mode kernel */
	uint64_t kernel_len;            /* syssize * 16 */
	uint64_t hdr_end;               /* end of the setup header in the image */
	uint16_t version, xloadflags;
	uint32_t initrd_addr_max, kernel_alignment, cmdline_size, init_size;
	bool relocatable;
	uint64_t pref_address;
};

struct range {
	uint64_t lo, hi;                /* [lo, hi) */
};

static bool overlaps(uint64_t lo, uint64_t hi, const struct range *r)
{
	return lo < r->hi && r->lo < hi;
}

int fmt_bzimage_probe(const uint8_t *img, size_t len, char *err, size_t errlen)
{
	return len >= BP_HEADER + 4 && gl_rd32(img + BP_HEADER) == BP_HEADER_MAGIC;
}

static uint64_t rd64(const uint8_t *p)
{
	return gl_rd32(p) | (uint64_t)gl_rd32(p + 4) << 32;
}

/* boot.rst, "The Real-Mode Kernel Header": everything a 64-bit boot needs. */
static int bz_parse(const uint8_t *img, size_t len, struct bz_header *h,
		    char *err, size_t errlen)
{
	unsigned sects;

	if (len < BP_HDR_END_BASE + 8)
		return errf(err, errlen, "Linux image truncated in its setup header "
			    "(%zu bytes)", len);
	if (gl_rd16(img + BP_BOOT_FLAG) != BP_BOOT_FLAG_MAGIC)
		return errf(err, errlen, "Linux image has no boot_flag 0xAA55 at 0x1fe "
			    "(found 0x%x)", gl_rd16(img + BP_BOOT_FLAG));
	h->version = gl_rd16(img + BP_VERSION);
	if (h->version < BP_MIN_VERSION)
		return errf(err, errlen, "Linux boot protocol %u.%02u is too old (64-bit "
			    "entry needs 2.12 or later)", h->version >> 8, h->version & 0xff);
	h->hdr_end = BP_HDR_END_BASE + img[BP_JUMP + 1];
	if (h->hdr_end < BP_INIT_SIZE + 4 || h->hdr_end > len)
		return errf(err, errlen, "Linux setup header ends at 0x%llx (expected "
			    "0x264 to 0x290 inside the %zu-byte image)",
			    (unsigned long long)h->hdr_end, len);
	h->hdr_end = MIN(h->hdr_end, (uint64_t)BP_HDR_MAX_END);
	h->xloadflags = gl_rd16(img + BP_XLOADFLAGS);
	if (!(h->xloadflags & BP_XLF_KERNEL_64))
		return errf(err, errlen, "Linux kernel has no 64-bit entry (xloadflags "
			    "0x%x lacks XLF_KERNEL_64)", h->xloadflags);
	sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	h->setup_size = (uint64_t)(sects + 1) * 512;
	h->kernel_len = (uint64_t)gl_rd32(img + BP_SYSSIZE) * 16;
	if (h->kernel_len == 0 || h->setup_size > len || len - h->setup_size < h->kernel_len)
		return errf(err, errlen, "Linux image truncated: %zu bytes, its header "
			    "says %llu (setup) + %llu (kernel)", len,
			    (unsigned long long)h->setup_size,
			    (unsigned long long)h->kernel_len);
	h->initrd_addr_max = gl_rd32(img + BP_INITRD_ADDR_MAX);
	h->kernel_alignment = gl_rd32(img + BP_KERNEL_ALIGNMENT);
	h->relocatable = img[BP_RELOCATABLE_KERNEL] != 0;
	h->cmdline_size = gl_rd32(img + BP_CMDLINE_SIZE);
	h->pref_address = rd64(img + BP_PREF_ADDRESS);
	h->init_size = gl_rd32(img + BP_INIT_SIZE);
	if (h->init_size < h->kernel_len)
		return errf(err, errlen, "Linux init_size 0x%x is smaller than the "
			    "kernel (0x%llx bytes)", h->init_size,
			    (unsigned long long)h->kernel_len);
	if (h->relocatable && (h->kernel_alignment < PAGE_SIZE ||
			       (h->kernel_alignment & (h->kernel_alignment - 1))))
		return errf(err, errlen, "Linux kernel_alignment 0x%x is not a power "
			    "of two of at least 4 KiB", h->kernel_alignment);
	if (h->pref_address & (PAGE_SIZE - 1))
		return errf(err, errlen, "Linux pref_address 0x%llx is not page-aligned",
			    (unsigned long long)h->pref_address);
	return 0;
}

/*
 * The lowest page-aligned gpa >= from (and a multiple of align) where
 * [gpa, gpa+size) fits (gl_place) and meets none of avoid[0, n).
 */
static bool place_low(const struct guest_mem *mem, const struct gl_boot *b, uint64_t from,
		      uint64_t size, uint64_t align, const struct range *avoid, int n,
		      gpa_t *out)
{
	uint64_t want = from;

	for (int t = 0; t < BZ_PLACE_TRIES; t++) {
		gpa_t got;
		bool clash = false;

		if (want > UINT64_MAX - align)
			return false;
		want = ALIGN_UP(want, align);
		if (!gl_place(mem, b, want, size, &got))
			return false;
		if (got != want) {
			want = got;     /* the next fit; align it and look again */
			continue;
		}
		for (int i = 0; i < n; i++)
			if (overlaps(got, got + size, &avoid[i])) {
				want = avoid[i].hi;
				clash = true;
			}
		if (!clash) {
			*out = got;
			return true;
		}
	}
	return false;
}

/*
 * The highest page-aligned gpa where [gpa, gpa+size) lies in one RAM entry
 * and one guest_mem region, ends at or below last + 1 and below 4 GiB, and
 * meets none of avoid[0, n).
 */
static bool place_high(const struct guest_mem *mem, const struct gl_boot *b, uint64_t size,
		       uint64_t last, const struct range *avoid, int n, gpa_t *out)
{
	bool found = false;

	*out = 0;
	for (int r = 0; r < mem->nr; r++) {
		const struct gmem_region *g = &mem->region[r];
		for (int j = 0; j < b->nr_mmap; j++) {
			const struct gl_mmap_entry *e = &b->mmap[j];
			if (e->type != GL_MMAP_RAM)
				continue;
			uint64_t lo = MAX(g->gpa, e->base);
			uint64_t hi = MIN(MIN(g->gpa + g->size, e->base + e->len),
					  MIN(last, GL_4GIB - 1) + 1);
			for (int t = 0; t < BZ_PLACE_TRIES && hi > lo && hi - lo >= size; t++) {
				uint64_t at = (hi - size) & ~(uint64_t)(PAGE_SIZE - 1);
				int clash = -1;
				if (at < lo)
					break;
				for (int i = 0; i < n; i++)
					if (overlaps(at, at + size, &avoid[i]))
						clash = i;
				if (clash < 0) {
					if (!found || at > *out)
						*out = at;
					found = true;
					break;
				}
				hi = MIN(hi, avoid[clash].lo);
			}
		}
	}
	return found;
}

/* Where the kernel goes: boot.rst, "pref_address", "relocatable_kernel". */
static int bz_place_kernel(const struct guest_mem *mem, const struct gl_boot *b,
			   const struct bz_header *h, gpa_t *load, char *err, size_t errlen)
{
	char sz[GL_SIZE_STR];
	gpa_t got;

	if (gl_place(mem, b, h->pref_address, h->init_size, &got) && got == h->pref_address) {
		*load = got;
		return 0;
	}
	if (h->relocatable && place_low(mem, b, h->pref_address, h->init_size,
					h->kernel_alignment, NULL, 0, load))
		return 0;
	return errf(err, errlen, "Linux kernel needs %s of RAM (init_size) at 0x%llx%s; "
		    "the VM's RAM has no such range", gl_size_str(sz, h->init_size),
		    (unsigned long long)h->pref_address,
		    h->relocatable ? " or above" : "");
}

/* The RSDP fwtables.c wrote, found as an OS finds it (ACPI 6.5 §5.2.5.1). */
static uint64_t bz_find_rsdp(const struct guest_mem *mem)
{
	const uint8_t *p = gmem_ptr(mem, RSDP_SCAN_BASE, RSDP_SCAN_SIZE);

	if (!p)
		return 0;
	for (uint64_t off = 0; off + RSDP_V1_LEN <= RSDP_SCAN_SIZE; off += 16) {
		uint8_t sum = 0;
		if (memcmp(p + off, "RSD PTR ", 8) != 0)
			continue;
		for (int i = 0; i < RSDP_V1_LEN; i++)
			sum = (uint8_t)(sum + p[off + i]);
		if (sum == 0)
			return RSDP_SCAN_BASE + off;
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * The zero page (boot.rst, "64-bit BOOT PROTOCOL"; zero-page.rst): the
 * image's setup header, then what a boot loader writes.  zp is zeroed.
 */
static void bz_zero_page(uint8_t *zp, const struct gl_boot *b, const struct bz_header *h,
			 gpa_t cmdline, gpa_t initrd, const struct guest_mem *mem)
{
	int n = 0;

	/* loadflags stay as the image has them: CAN_USE_HEAP and heap_end_ptr
	 * are for the real-mode setup code, which a 64-bit boot skips. */
	memcpy(zp + BP_HDR_START, b->img + BP_HDR_START, h->hdr_end - BP_HDR_START);
	zp[BP_TYPE_OF_LOADER] = BP_LOADER_UNDEFINED;
	put16(zp + BP_VID_MODE, 0xffff);        /* "normal": no mode change */
	put32(zp + BP_CMD_LINE_PTR, (uint32_t)cmdline);
	put32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(cmdline >> 32));
	if (b->initrd_len) {
		put32(zp + BP_RAMDISK_IMAGE, (uint32_t)initrd);
		put32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd >> 32));
		put32(zp + BP_RAMDISK_SIZE, (uint32_t)b->initrd_len);
		put32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(b->initrd_len >> 32));
	}
	for (int i = 0; i < b->nr_mmap && n < BP_E820_MAX; i++) {
		uint8_t *e = zp + BP_E820_TABLE + n++ * BP_E820_ENTRY_SIZE;
		put64(e, b->mmap[i].base);
		put64(e + 8, b->mmap[i].len);
		put32(e + 16, b->mmap[i].type == GL_MMAP_RAM ? BP_E820_RAM : BP_E820_RESERVED);
	}
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	put64(zp + BP_ACPI_RSDP_ADDR, bz_find_rsdp(mem));
}

/* The boot GDT and segments: boot.rst, "64-bit BOOT PROTOCOL". */
static void bz_segments(uint8_t *gdt_host, gpa_t gdt, struct x86_vcpu_state *s)
{
	memset(gdt_host, 0, BZ_GDT_ENTRIES * 8);
	put64(gdt_host + BP_BOOT_CS, X86_GDT_CODE64);
	put64(gdt_host + BP_BOOT_DS, X86_GDT_DATA);
	s->sregs.gdt = (struct x86_dtable){ gdt, BZ_GDT_ENTRIES * 8 - 1 };
	for (int i = 0; i < NR_SEGS; i++)
		s->sregs.seg[i].selector = BP_BOOT_DS;
	s->sregs.seg[SEG_CS].selector = BP_BOOT_CS;
}

int fmt_bzimage_load(struct guest_mem *mem, struct gl_boot *b, struct gl_result *out,
		     char *err, size_t errlen)
{
	struct bz_header h = { 0 };
	struct range avoid[BZ_MAX_AVOID];
	char sz[GL_SIZE_STR];
	size_t cmd_len = strlen(b->cmdline);
	gpa_t load = 0, block = 0, initrd = 0, cur;
	uint8_t *blk;
	int rc = bz_parse(b->img, b->img_len, &h, err, errlen);

	if (rc)
		return rc;
	if (b->nr_mods)
		return errf(err, errlen, "a Linux kernel takes one initrd, not modules "
			    "(%d given)", b->nr_mods);
	if (cmd_len > h.cmdline_size)
		return errf(err, errlen, "kernel command line is %zu bytes; this Linux "
			    "kernel takes at most %u (cmdline_size)", cmd_len, h.cmdline_size);
	if (bz_place_kernel(mem, b, &h, &load, err, errlen))
		return -1;
	avoid[0] = (struct range){ load, load + h.init_size };

	uint64_t block_size = BZ_CMDLINE_OFFSET + gl_page_up(cmd_len + 1);
	if (!place_low(mem, b, BZ_LOW_FIRST, block_size, PAGE_SIZE, avoid, 1, &block) ||
	    !(blk = gmem_ptr(mem, block, block_size)))
		return errf(err, errlen, "no room in RAM for the Linux zero page and "
			    "command line (%s)", gl_size_str(sz, block_size));
	avoid[1] = (struct range){ block, block + block_size };

	/* The page tables: after the block, and out of the kernel's range. */
	cur = block + block_size;
	rc = gl_long_mode(mem, b, &cur, &out->boot, err, errlen);
	if (rc == 0 && overlaps(out->boot.sregs.cr3, cur, &avoid[0])) {
		cur = avoid[0].hi;
		rc = gl_long_mode(mem, b, &cur, &out->boot, err, errlen);
	}
	if (rc)
		return rc;
	avoid[2] = (struct range){ out->boot.sregs.cr3, cur };

	if (b->initrd_len) {
		uint64_t last = h.initrd_addr_max;
		if (!place_high(mem, b, b->initrd_len, last, avoid, 3, &initrd))
			return errf(err, errlen, "initrd (%s) does not fit in RAM below "
				    "initrd_addr_max 0x%llx beside the kernel",
				    gl_size_str(sz, b->initrd_len), (unsigned long long)last);
		if (!gmem_write(mem, initrd, b->initrd, b->initrd_len))
			return errf(err, errlen, "initrd: guest RAM write failed at 0x%llx",
				    (unsigned long long)initrd);
	}
	if (!gmem_write(mem, load, b->img + h.setup_size, h.kernel_len))
		return errf(err, errlen, "Linux kernel: guest RAM write failed at 0x%llx",
			    (unsigned long long)load);

	memset(blk, 0, block_size);
	memcpy(blk + BZ_CMDLINE_OFFSET, b->cmdline, cmd_len + 1);
	bz_zero_page(blk, b, &h, block + BZ_CMDLINE_OFFSET, initrd, mem);
	bz_segments(blk + BZ_GDT_OFFSET, block + BZ_GDT_OFFSET, &out->boot);
	out->boot.regs.rip = load + BP_ENTRY64_OFFSET;
	out->boot.regs.gpr[REG_RSI] = block;
	out->kernel_start = load;
	out->kernel_end = load + h.kernel_len;
	out->info = block;
	out->free_start = gl_page_up(MAX(avoid[0].hi, MAX(cur, initrd + b->initrd_len)));
	return 0;
}
