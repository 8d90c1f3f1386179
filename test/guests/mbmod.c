/*
 * mbmod: a 32-bit kernel with both a Multiboot2 and a Multiboot1 header
 * (kasane prefers Multiboot2; QEMU's -kernel only speaks Multiboot1), run
 * with a command line containing magic=42 and one module, test/guests/
 * module.txt, whose command line is "payload".  Whichever protocol it was
 * entered with, it checks the command line, that there is exactly that one
 * module with its string and contents ("KASANE-MODULE..."), and that the
 * memory map reports RAM where the kernel is.
 * Multiboot 0.6.96 §3.3; Multiboot2 spec §3.6.2, §3.6.6, §3.6.8.
 */
#include "test/guests/lib/guest.h"

const char test_name[] = "mbmod";

#define MODULE_MAGIC    "KASANE-MODULE"
#define MAX_MMAP        32

/* Multiboot 0.6.96 §3.3 */
#define MB1_INFO_CMDLINE  (1u << 2)
#define MB1_INFO_MODS     (1u << 3)
#define MB1_INFO_MMAP     (1u << 6)

struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
};
struct mb1_mod { uint32_t start, end, string, reserved; };
struct __attribute__((packed)) mb1_mmap { uint32_t size; uint64_t base, len; uint32_t type; };
struct mb2_module { uint32_t type, size, start, end; char string[]; };

/* What either protocol told us, in one shape. */
struct boot {
	const char *cmdline;
	unsigned nr_mods;
	uint32_t mod_start, mod_end;
	const char *mod_string;
	struct mb2_mmap_entry mmap[MAX_MMAP];
	int nr_mmap;
};

static bool from_mb2(struct boot *b)
{
	if (!mb2_valid(boot_info)) {
		guest_fail("EBX 0x%lx is not a valid Multiboot2 information structure",
			   (unsigned long)boot_info);
		return false;
	}
	b->cmdline = mb2_cmdline(boot_info);
	for (const struct mb2_tag *t = NULL; (t = mb2_find(boot_info, MB2_TAG_MODULE, t));) {
		const struct mb2_module *m = (const void *)t;
		if (b->nr_mods++ || t->size <= sizeof(*m) || ((const char *)t)[t->size - 1])
			continue;
		b->mod_start = m->start;
		b->mod_end = m->end;
		b->mod_string = m->string;
	}
	b->nr_mmap = mb2_mmap(boot_info, b->mmap, MAX_MMAP);
	return true;
}

static bool from_mb1(struct boot *b)
{
	const struct mb1_info *mbi = (const void *)boot_info;

	b->cmdline = mbi->flags & MB1_INFO_CMDLINE ? (const char *)(uintptr_t)mbi->cmdline : "";
	if (mbi->flags & MB1_INFO_MODS) {
		const struct mb1_mod *m = (const void *)(uintptr_t)mbi->mods_addr;
		b->nr_mods = mbi->mods_count;
		if (b->nr_mods) {
			b->mod_start = m->start;
			b->mod_end = m->end;
			b->mod_string = (const char *)(uintptr_t)m->string;
		}
	}
	if (mbi->flags & MB1_INFO_MMAP) {
		/* Each entry's size field does not count itself (§3.3). */
		for (uint32_t off = 0; off + sizeof(struct mb1_mmap) <= mbi->mmap_length;) {
			const struct mb1_mmap *e = (const void *)(uintptr_t)(mbi->mmap_addr + off);
			if (b->nr_mmap < MAX_MMAP)
				b->mmap[b->nr_mmap] = (struct mb2_mmap_entry){ e->base, e->len, e->type, 0 };
			b->nr_mmap++;
			off += e->size + 4;
		}
	}
	return true;
}

void test_main(void)
{
	static struct boot b;
	char val[16];

	if (boot_magic == MB2_BOOT_MAGIC) {
		guest_printf("mbmod: entered through Multiboot2, information at 0x%lx\n",
			     (unsigned long)boot_info);
		if (!from_mb2(&b))
			return;
	} else if (boot_magic == MB1_BOOT_MAGIC) {
		guest_printf("mbmod: entered through Multiboot1, information at 0x%lx\n",
			     (unsigned long)boot_info);
		from_mb1(&b);
	} else {
		guest_fail("EAX 0x%lx at entry is neither Multiboot magic",
			   (unsigned long)boot_magic);
		return;
	}

	guest_printf("mbmod: command line \"%s\"\n", b.cmdline);
	if (!cmdline_get(b.cmdline, "magic", val, sizeof(val)) || strcmp(val, "42"))
		guest_fail("command line \"%s\" lacks magic=42", b.cmdline);

	if (b.nr_mods != 1) {
		guest_fail("%u modules, expected 1", b.nr_mods);
	} else {
		guest_printf("mbmod: module at 0x%x-0x%x, string \"%s\"\n", b.mod_start,
			     b.mod_end, b.mod_string ? b.mod_string : "(bad)");
		if (!b.mod_string || strcmp(b.mod_string, "payload"))
			guest_fail("module string \"%s\", expected \"payload\"",
				   b.mod_string ? b.mod_string : "(bad)");
		size_t n = strlen(MODULE_MAGIC);
		if (b.mod_end < b.mod_start || b.mod_end - b.mod_start < n)
			guest_fail("module 0x%x-0x%x is shorter than \"%s\"", b.mod_start,
				   b.mod_end, MODULE_MAGIC);
		else if (memcmp((const void *)(uintptr_t)b.mod_start, MODULE_MAGIC, n))
			guest_fail("module contents do not start with \"%s\"", MODULE_MAGIC);
	}

	bool kernel_in_ram = false;
	for (int i = 0; i < b.nr_mmap && i < MAX_MMAP; i++) {
		const struct mb2_mmap_entry *e = &b.mmap[i];
		guest_printf("mbmod: map 0x%llx+0x%llx type %u\n", (unsigned long long)e->base,
			     (unsigned long long)e->len, e->type);
		if (e->type == MB2_MEM_RAM && e->base <= (uintptr_t)__image_start &&
		    e->base + e->len >= (uintptr_t)__image_end)
			kernel_in_ram = true;
	}
	if (!kernel_in_ram)
		guest_fail("memory map (%d entries) has no RAM entry covering the kernel "
			   "0x%lx-0x%lx", b.nr_mmap, (unsigned long)(uintptr_t)__image_start,
			   (unsigned long)(uintptr_t)__image_end);
}
