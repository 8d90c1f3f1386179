/*
 * Host tests for guest-loader/ with valid images: synthetic ELF32, ELF64,
 * Multiboot1 and Multiboot2 kernels are loaded into a small guest RAM; the
 * placed bytes, the initial vCPU state (and for ELF64 its page tables,
 * walked the way the CPU would) and the boot information (read back the way
 * a guest would) are checked.  Hostile images: test_loader_bad.c.
 */
#include "test/unit/check.h"
#include "test/unit/loader_img.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/x86_state.h"

/* ---- boot information readers --------------------------------------------- */

struct info {
	char cmdline[256], name[64];
	int nr_mods;
	uint32_t mod_start[8], mod_end[8];
	char mod_str[8][64];
	uint32_t lower, upper;
	int nr_mmap;
	struct gl_mmap_entry mmap[16];
};

/* Walk a Multiboot2 information structure the way a guest would. */
static bool parse_mb2(uint64_t gpa, struct info *p)
{
	memset(p, 0, sizeof(*p));
	if (gpa % 8)
		return false;
	uint32_t total = g32(gpa);
	uint64_t pos = 8;
	for (int n = 0; n < 64 && pos + 8 <= total; n++) {
		uint32_t type = g32(gpa + pos), size = g32(gpa + pos + 4);
		if (size < 8 || pos + size > total)
			return false;
		if (type == 0)
			return size == 8 && pos + 8 == total;
		if (type == 1 && !gmem_read_str(&mem, gpa + pos + 8, p->cmdline, 256))
			return false;
		if (type == 2 && !gmem_read_str(&mem, gpa + pos + 8, p->name, 64))
			return false;
		if (type == 3 && p->nr_mods < 8) {
			p->mod_start[p->nr_mods] = g32(gpa + pos + 8);
			p->mod_end[p->nr_mods] = g32(gpa + pos + 12);
			if (!gmem_read_str(&mem, gpa + pos + 16,
					   p->mod_str[p->nr_mods], 64))
				return false;
			p->nr_mods++;
		}
		if (type == 4 && size == 16) {
			p->lower = g32(gpa + pos + 8);
			p->upper = g32(gpa + pos + 12);
		}
		if (type == 6) {
			if (g32(gpa + pos + 8) != 24 || g32(gpa + pos + 12) != 0)
				return false;
			for (uint64_t e = 16; e + 24 <= size && p->nr_mmap < 16; e += 24) {
				struct gl_mmap_entry *m = &p->mmap[p->nr_mmap++];
				m->base = g64(gpa + pos + e);
				m->len = g64(gpa + pos + e + 8);
				m->type = g32(gpa + pos + e + 16);
			}
		}
		pos += (size + 7) & ~7u;
	}
	return false;
}

/* Read a Multiboot1 information structure; false if a flag we set is missing. */
static bool parse_mb1(uint64_t gpa, struct info *p)
{
	memset(p, 0, sizeof(*p));
	uint32_t flags = g32(gpa);
	if ((flags & 0x24D) != 0x24D)   /* memory, cmdline, mods, mmap, name */
		return false;
	p->lower = g32(gpa + 4);
	p->upper = g32(gpa + 8);
	if (!gmem_read_str(&mem, g32(gpa + 16), p->cmdline, 256) ||
	    !gmem_read_str(&mem, g32(gpa + 64), p->name, 64))
		return false;
	p->nr_mods = (int)g32(gpa + 20);
	uint32_t mods = g32(gpa + 24);
	for (int i = 0; i < p->nr_mods && i < 8; i++) {
		p->mod_start[i] = g32(mods + 16 * i);
		p->mod_end[i] = g32(mods + 16 * i + 4);
		if (!gmem_read_str(&mem, g32(mods + 16 * i + 8), p->mod_str[i], 64))
			return false;
	}
	uint32_t mlen = g32(gpa + 44), maddr = g32(gpa + 48);
	for (uint32_t off = 0; off < mlen && p->nr_mmap < 16; ) {
		uint32_t size = g32(maddr + off);
		struct gl_mmap_entry *m = &p->mmap[p->nr_mmap++];
		m->base = g64(maddr + off + 4);
		m->len = g64(maddr + off + 12);
		m->type = g32(maddr + off + 20);
		off += size + 4;
	}
	return true;
}

/* The information every test run passes: cmdline, two modules, test_mmap. */
static void check_info(const struct info *p, const char *name)
{
	CHECK_STR(p->cmdline, "console=ttyS0 quiet");
	CHECK_STR(p->name, name);
	CHECK_EQ(p->lower, 636);
	CHECK_EQ(p->upper, 7 * 1024);
	CHECK_EQ(p->nr_mods, 2);
	CHECK_STR(p->mod_str[0], "mod0 arg=1");
	CHECK_STR(p->mod_str[1], "");
	for (int i = 0; i < 2 && i < p->nr_mods; i++) {
		CHECK_EQ(p->mod_start[i] % 4096, 0);
		CHECK_EQ(p->mod_end[i] - p->mod_start[i], test_mods[i].len);
		CHECK(gmem_eq(p->mod_start[i], test_mods[i].data, test_mods[i].len));
	}
	CHECK_EQ(p->nr_mmap, 3);
	for (int i = 0; i < 3 && i < p->nr_mmap; i++) {
		CHECK_EQ(p->mmap[i].base, test_mmap[i].base);
		CHECK_EQ(p->mmap[i].len, test_mmap[i].len);
		CHECK_EQ(p->mmap[i].type, test_mmap[i].type);
	}
}

/* Kernel, modules and info must not overlap and must all lie below free_start. */
static void check_layout(const struct gl_result *r, const struct info *p)
{
	uint64_t prev = r->kernel_end;
	for (int i = 0; i < p->nr_mods; i++) {
		CHECK(p->mod_start[i] >= prev);
		prev = p->mod_end[i];
	}
	CHECK(r->info >= prev);
	CHECK(r->info % 8 == 0);
	CHECK(r->free_start % 4096 == 0);
	CHECK(r->free_start > r->info);
	CHECK(r->free_start >= r->kernel_end);
}

/* ---- initial vCPU state ----------------------------------------------------- */

static uint64_t gpr(const struct gl_result *r, int i)
{
	return r->boot.regs.gpr[i];
}

/* GPRs other than those named in keep are 0. */
static bool other_gprs_zero(const struct gl_result *r, uint32_t keep)
{
	for (int i = 0; i < NR_GPRS; i++)
		if (!(keep & (1u << i)) && gpr(r, i))
			return false;
	return true;
}

/* Flat data segments 0x10: base 0, 4 GiB, writable, 32-bit (DS..GS, SS). */
static void check_data_segs(const struct x86_sregs *s)
{
	for (int i = 0; i < NR_SEGS; i++) {
		if (i == SEG_CS)
			continue;
		CHECK_EQ(s->seg[i].selector, X86_BOOT_DS);
		CHECK_EQ(s->seg[i].base, 0);
		CHECK_EQ(s->seg[i].limit, 0xffffffff);
		CHECK_EQ(s->seg[i].attr & (SEG_ATTR_P | SEG_ATTR_S | 0xa | SEG_ATTR_DB),
			 SEG_ATTR_P | SEG_ATTR_S | 0x2 | SEG_ATTR_DB);
	}
}

/* Multiboot 0.6.96 §3.2, Multiboot2 spec §3.3: flat 32-bit, paging off. */
static void check_flat32(const struct gl_result *r, uint64_t entry, uint32_t eax,
			 uint32_t ebx)
{
	const struct x86_sregs *s = &r->boot.sregs;

	CHECK_EQ(r->boot.regs.rip, entry);
	CHECK_EQ(r->boot.regs.rflags, 2);
	CHECK_EQ(gpr(r, REG_RAX), eax);
	CHECK_EQ(gpr(r, REG_RBX), ebx);
	CHECK_EQ(gpr(r, REG_RSP), 0x9f000);
	CHECK(other_gprs_zero(r, 1u << REG_RAX | 1u << REG_RBX | 1u << REG_RSP));
	CHECK_EQ(s->cr0 & (CR0_PE | CR0_PG), CR0_PE);
	CHECK_EQ(s->efer & (EFER_LME | EFER_LMA), 0);
	CHECK_EQ(s->cr4 & CR4_PAE, 0);
	CHECK_EQ(s->seg[SEG_CS].selector, X86_BOOT_CS);
	CHECK_EQ(s->seg[SEG_CS].base, 0);
	CHECK_EQ(s->seg[SEG_CS].limit, 0xffffffff);
	CHECK_EQ(s->seg[SEG_CS].attr & (SEG_ATTR_P | SEG_ATTR_S | 0x8 | SEG_ATTR_L |
					SEG_ATTR_DB),
		 SEG_ATTR_P | SEG_ATTR_S | 0x8 | SEG_ATTR_DB);
	check_data_segs(s);
	CHECK_EQ(s->gdt.base, 0);
	CHECK_EQ(s->gdt.limit, 0);
}

/*
 * Translate va the way the CPU does with 4-level paging (SDM vol. 3A §4.5),
 * accepting only the 2 MiB, present, writable mappings kasane builds.
 */
static bool walk(uint64_t cr3, uint64_t va, uint64_t *pa)
{
	const uint64_t addr = 0x000ffffffffff000ULL;
	uint64_t e = cr3 & addr;

	for (int level = 3; level >= 1; level--) {
		e = g64((e & addr) + ((va >> (12 + 9 * level)) & 511) * 8);
		if ((e & (PTE_P | PTE_W)) != (PTE_P | PTE_W))
			return false;
		if ((level == 1) != !!(e & PTE_PS))
			return false;           /* only PDEs map, 2 MiB pages */
	}
	*pa = (e & addr & ~(LARGE_PAGE_SIZE - 1)) + (va & (LARGE_PAGE_SIZE - 1));
	return true;
}

/* Every 2 MiB page of [0, top) maps to itself; top itself is unmapped. */
static bool identity_mapped_to(uint64_t cr3, uint64_t top)
{
	uint64_t pa;

	for (uint64_t va = 0; va < top; va += LARGE_PAGE_SIZE) {
		uint64_t off = (va / LARGE_PAGE_SIZE * 4099) % LARGE_PAGE_SIZE;
		if (!walk(cr3, va + off, &pa) || pa != va + off)
			return false;
	}
	return !walk(cr3, top, &pa);
}

/* The 64-bit segments kasane loads, and what the GDT holds for them. */
static void check_long64_segs(const struct x86_sregs *s)
{
	const struct x86_seg *cs = &s->seg[SEG_CS];

	CHECK_EQ(cs->selector, X86_BOOT_CS);
	/* SDM vol. 3A §5.2.1: L=1 requires D/B=0. */
	CHECK_EQ(cs->attr & (SEG_ATTR_P | SEG_ATTR_S | 0x8 | SEG_ATTR_L | SEG_ATTR_DB),
		 SEG_ATTR_P | SEG_ATTR_S | 0x8 | SEG_ATTR_L);
	check_data_segs(s);
	CHECK_EQ(s->gdt.limit, 23);
	CHECK_EQ(g64(s->gdt.base), 0);
	/* Reloading a selector from the GDT gives the same segment (but for
	 * the accessed bit): descriptor bits 40-55 are the attr layout. */
	CHECK_EQ((g64(s->gdt.base + X86_BOOT_CS) >> 40 | 1) & 0xf0ff, cs->attr);
	CHECK_EQ((g64(s->gdt.base + X86_BOOT_DS) >> 40 | 1) & 0xf0ff,
		 s->seg[SEG_DS].attr);
}

/*
 * README "ELF64 entry state": long mode on identity-mapping page tables,
 * GDT and a 16 KiB stack above everything else placed; RDI = info, RSI =
 * the Multiboot2 magic.  map_top: where the identity map must end.
 */
static void check_long64(const struct gl_result *r, uint64_t entry, uint64_t map_top)
{
	const struct x86_sregs *s = &r->boot.sregs;
	uint64_t rsp = gpr(r, REG_RSP);

	CHECK_EQ(r->boot.regs.rip, entry);
	CHECK_EQ(r->boot.regs.rflags, 2);
	CHECK_EQ(gpr(r, REG_RSI), MB2_EAX);
	CHECK_EQ(gpr(r, REG_RDI), r->info);
	CHECK(other_gprs_zero(r, 1u << REG_RSI | 1u << REG_RDI | 1u << REG_RSP));
	CHECK_EQ(s->cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
	CHECK(s->cr4 & CR4_PAE);
	CHECK_EQ(s->efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	check_long64_segs(s);
	/* Tables, GDT and stack lie above the info, in RAM, below free_start. */
	CHECK(s->cr3 % 4096 == 0 && s->cr3 > r->info);
	CHECK(s->gdt.base > s->cr3 && s->gdt.base + 4096 == rsp - 16 * 1024);
	CHECK(rsp % 16 == 0 && rsp <= r->free_start);
	CHECK(gmem_all(rsp - 16 * 1024, 0, 16 * 1024));
	CHECK(identity_mapped_to(s->cr3, map_top));
}

/* ---- loading valid images ------------------------------------------------- */

TEST(elf64_two_segments_and_bss)
{
	struct gl_result r;
	struct info p;
	size_t len = build_std_elf64();

	vm_reset(0xAA);
	CHECK_EQ(run(img, len, test_mods, 2, &r), 0);
	CHECK_STR(r.format, "elf64");
	check_long64(&r, 0x100010, 4 * GiB);    /* virtual e_entry translated */
	CHECK_EQ(r.kernel_start, 0x100000);
	CHECK_EQ(r.kernel_end, 0x105000);
	CHECK(gmem_eq(0x100000, img + 0x1000, 0x1800));
	CHECK(gmem_all(0x101800, 0xAA, 0x1800));  /* gap between segments untouched */
	CHECK(gmem_eq(0x103000, img + 0x3000, 0x100));
	CHECK(gmem_all(0x103100, 0, 0x1F00));     /* bss zeroed */
	CHECK(parse_mb2(r.info, &p));
	check_info(&p, "kasane");
	CHECK_EQ(p.mod_start[0], 0x105000);
	CHECK_EQ(p.mod_start[1], 0x106000);
	check_layout(&r, &p);
	CHECK(canaries_ok());
}

TEST(elf32_plain)
{
	struct gl_result r;
	struct seg s = { 0x100, 0x200000, 0x200000, 0x300, 0x400 };
	size_t len = build_elf32(0x200020, &s, 1);

	vm_reset(0xAA);
	CHECK_EQ(run(img, len, NULL, 0, &r), 0);
	CHECK_STR(r.format, "elf32");
	check_flat32(&r, 0x200020, 0, 0);
	CHECK_EQ(r.info, 0);
	CHECK_EQ(r.kernel_start, 0x200000);
	CHECK_EQ(r.kernel_end, 0x200400);
	CHECK_EQ(r.free_start, 0x201000);
	CHECK(gmem_eq(0x200000, img + 0x100, 0x300));
	CHECK(gmem_all(0x200300, 0, 0x100));
	CHECK(gmem_all(0x200400, 0xAA, 0x100));
	CHECK(canaries_ok());
}

TEST(mb1_aout_kludge)
{
	struct gl_result r;
	struct info p;
	size_t len = build_mb1_aout(0x101000, 0x101800);

	vm_reset(0xAA);
	CHECK_EQ(run(img, len, test_mods, 2, &r), 0);
	CHECK_STR(r.format, "multiboot1-aout");
	check_flat32(&r, 0x100040, MB1_EAX, r.info);
	CHECK_EQ(r.kernel_start, 0x100000);
	CHECK_EQ(r.kernel_end, 0x101800);
	CHECK(gmem_eq(0x100000, img, 0x1000));  /* file bytes up to load_end only */
	CHECK(gmem_all(0x101000, 0, 0x800));    /* bss */
	CHECK(r.info < 0x100000000ULL);
	CHECK(parse_mb1(r.info, &p));
	check_info(&p, "kasane");
	check_layout(&r, &p);
	CHECK(canaries_ok());
}

TEST(mb1_aout_whole_file_no_bss)
{
	struct gl_result r;
	size_t len = build_mb1_aout(0, 0);

	vm_reset(0xAA);
	CHECK_EQ(run(img, len, NULL, 0, &r), 0);
	CHECK_EQ(r.kernel_end, 0x101200);
	CHECK(gmem_eq(0x100000, img, 0x1200));
	CHECK(gmem_all(0x101200, 0xAA, 0x100));
	CHECK(canaries_ok());
}

TEST(mb1_elf32)
{
	struct gl_result r;
	struct info p;
	struct seg s = { 0x1000, 0xC0100000, 0x100000, 0x800, 0x1000 };
	size_t len = build_elf32(0xC0100010, &s, 1);

	put_mb1(0x1000, 3, 0, 0, 0, 0, 0);      /* no kludge: fields unused */
	vm_reset(0xAA);
	CHECK_EQ(run(img, len, test_mods, 2, &r), 0);
	CHECK_STR(r.format, "multiboot1");
	check_flat32(&r, 0x100010, MB1_EAX, r.info);
	CHECK(gmem_eq(0x100000, img + 0x1000, 0x800));
	CHECK(gmem_all(0x100800, 0, 0x800));
	CHECK(parse_mb1(r.info, &p));
	check_info(&p, "kasane");
	check_layout(&r, &p);
	CHECK(canaries_ok());
}

TEST(mb2_elf64_entry_tag)
{
	struct gl_result r;
	struct info p;
	size_t len = build_mb2_elf();

	vm_reset(0xAA);
	CHECK_EQ(run(img, len, test_mods, 2, &r), 0);
	CHECK_STR(r.format, "multiboot2");
	/* The tag wins over e_entry; an ELF64 image still enters in 32 bits. */
	check_flat32(&r, 0x100100, MB2_EAX, r.info);
	CHECK(gmem_eq(0x100000, img + 0x1000, 0x1800));
	CHECK(gmem_all(0x103100, 0, 0x1F00));
	CHECK(parse_mb2(r.info, &p));
	check_info(&p, "kasane");
	check_layout(&r, &p);
	CHECK(canaries_ok());
}

TEST(mb2_address_tag)
{
	struct gl_result r;
	struct info p;

	for (int variant = 0; variant < 2; variant++) {
		/* load_addr 0x300000, or -1: "from the start of the file" */
		size_t len = build_mb2_aout(variant ? 0xFFFFFFFFu : 0x300000);
		vm_reset(0xAA);
		CHECK_EQ(run(img, len, test_mods, 2, &r), 0);
		CHECK_STR(r.format, "multiboot2-aout");
		check_flat32(&r, 0x300100, MB2_EAX, r.info);
		CHECK_EQ(r.kernel_start, 0x300000);
		CHECK_EQ(r.kernel_end, 0x302000);
		CHECK(gmem_eq(0x300000, img, 0x1800));
		CHECK(gmem_all(0x301800, 0, 0x800));
		CHECK(parse_mb2(r.info, &p));
		check_info(&p, "kasane");
		check_layout(&r, &p);
		CHECK(canaries_ok());
	}
}

/* Images that more than one row of the format table would claim. */
static size_t mb1_in_elf64(void)
{
	size_t n = build_std_elf64();
	put_mb1(0x1400, 3, 0, 0, 0, 0, 0);      /* no kludge: loaded as ELF */
	return n;
}

static size_t mb2_and_mb1(void)
{
	size_t n = build_mb2_elf();
	put_mb1(0x1400, 3, 0, 0, 0, 0, 0);
	return n;
}

static size_t bad_mb2_and_mb1(void)
{
	size_t n = mb2_and_mb1();
	img[0x100c] ^= 1;                       /* Multiboot2 checksum */
	return n;
}

/* The rows are tried in order and the first claim wins (loader.h). */
TEST(format_precedence)
{
	static const struct {
		size_t (*build)(void);
		const char *format;
		uint64_t entry;
		uint32_t eax;
	} cases[] = {
		{ mb1_in_elf64, "multiboot1", 0x100010, MB1_EAX },
		{ mb2_and_mb1, "multiboot2", 0x100100, MB2_EAX },
		{ bad_mb2_and_mb1, "multiboot1", 0x100010, MB1_EAX },
	};
	struct gl_result r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].build();
		vm_reset(0);
		CHECK_EQ(run(img, len, test_mods, 2, &r), 0);
		CHECK_STR(r.format, cases[i].format);
		check_flat32(&r, cases[i].entry, cases[i].eax, r.info);
	}
	CHECK(canaries_ok());
}

/* The identity map reaches the end of RAM above 4 GiB, up to 64 GiB. */
TEST(elf64_identity_map_covers_high_ram)
{
	static uint8_t high[4096];
	static const struct { uint64_t ram, map_top; } cases[] = {
		{ 5 * GiB, 6 * GiB },           /* rounded up to 1 GiB */
		{ 100 * GiB, 64 * GiB },        /* capped */
	};
	struct gl_result r;
	size_t len = build_std_elf64();

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		vm_reset(0);
		CHECK(gmem_add(&mem, cases[i].ram, sizeof(high), high));
		CHECK_EQ(run(img, len, NULL, 0, &r), 0);
		check_long64(&r, 0x100010, cases[i].map_top);
	}
	CHECK(canaries_ok());
}

TEST(defaults_and_derived_mmap)
{
	struct gl_result r;
	struct info p;
	size_t len = build_std_elf64();
	struct gl_input in = { .img = img, .img_len = len };

	vm_reset(0);
	CHECK_EQ(gl_load(&mem, &in, &r, err, sizeof(err)), 0);
	CHECK(parse_mb2(gpr(&r, REG_RDI), &p));
	CHECK_STR(p.cmdline, "");
	CHECK_STR(p.name, "kasane");
	CHECK_EQ(p.nr_mods, 0);
	CHECK_EQ(p.nr_mmap, 2);                 /* from the guest_mem regions */
	CHECK_EQ(p.mmap[0].base, 0);
	CHECK_EQ(p.mmap[0].len, LOW_SIZE);
	CHECK_EQ(p.mmap[1].base, HIGH_GPA);
	CHECK_EQ(p.mmap[1].len, HIGH_SIZE);
	CHECK_EQ(p.mmap[1].type, 1);
	CHECK_EQ(p.lower, 636);
	CHECK_EQ(p.upper, 7 * 1024);
	CHECK(canaries_ok());
}

int main(void)
{
	check_start("loader");
	RUN(elf64_two_segments_and_bss);
	RUN(elf32_plain);
	RUN(mb1_aout_kludge);
	RUN(mb1_aout_whole_file_no_bss);
	RUN(mb1_elf32);
	RUN(mb2_elf64_entry_tag);
	RUN(mb2_address_tag);
	RUN(format_precedence);
	RUN(elf64_identity_map_covers_high_ram);
	RUN(defaults_and_derived_mmap);
	return check_finish();
}
