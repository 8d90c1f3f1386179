/*
 * qemu-shim: not a test.  A Multiboot1 kernel that lets the 64-bit test
 * guests run under plain QEMU (whose -kernel loader takes Multiboot1 only),
 * to check a guest's own logic without kasane:
 *
 *     qemu-system-x86_64 -kernel build/guests/qemu-shim.elf \
 *         -initrd "build/guests/fwcfg.elf expect_cpus=1 expect_mem=128M" ...
 *
 * It loads the ELF64 from the first module and enters it as kasane does
 * (guest-loader/loader.h): long mode, low 4 GiB identity-mapped with 2 MiB
 * pages, GDT code 0x08 / data 0x10, RDI = a Multiboot2 information
 * structure (command line = the module's, minus its first word, the file
 * name; memory map; further modules), RSI = 0x36D76289.
 */
#include "test/guests/lib/guest.h"

const char test_name[] = "qemu-shim";

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

struct elf64_ehdr {
	uint8_t  ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint8_t info[8192] __attribute__((aligned(8)));
static uint32_t info_pos;

void shim_enter64(uint32_t cr3, uint32_t entry, uint32_t mb2_info);

static void *info_tag(uint32_t type, uint32_t size)
{
	uint32_t *t = (uint32_t *)(info + info_pos);

	if (info_pos + size + 8 > sizeof(info)) {
		guest_error("boot information too large");
		guest_finish();
	}
	t[0] = type;
	t[1] = size;
	info_pos = (info_pos + size + 7) & ~7u;
	return t;
}

static void info_str(uint32_t type, uint32_t prefix, const char *s, void **out)
{
	uint32_t n = (uint32_t)strlen(s) + 1;
	uint8_t *t = info_tag(type, 8 + prefix + n);

	memcpy(t + 8 + prefix, s, n);
	*out = t;
}

static const char *skip_word(const char *s)
{
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

/* True if [a, a+n) and [b, b+m) overlap. */
static bool overlap(uint64_t a, uint64_t n, uint64_t b, uint64_t m)
{
	return a < b + m && b < a + n;
}

static uint32_t load_elf64(const struct mb1_mod *mod)
{
	const uint8_t *img = (const uint8_t *)(uintptr_t)mod->start;
	uint32_t len = mod->end - mod->start;
	const struct elf64_ehdr *eh = (const void *)img;

	if (len < sizeof(*eh) || memcmp(eh->ident, "\177ELF\2", 5) || eh->machine != 62 ||
	    eh->phentsize != sizeof(struct elf64_phdr) ||
	    eh->phoff > len || eh->phnum > (len - eh->phoff) / sizeof(struct elf64_phdr)) {
		guest_error("module 0 is not an ELF64 x86-64 executable");
		guest_finish();
	}
	const struct elf64_phdr *ph = (const void *)(img + eh->phoff);
	for (unsigned i = 0; i < eh->phnum; i++, ph++) {
		if (ph->type != 1)
			continue;
		if (ph->filesz > ph->memsz || ph->offset > len || ph->filesz > len - ph->offset ||
		    ph->paddr < 0x100000 || ph->paddr + ph->memsz > 0xc0000000 ||
		    overlap(ph->paddr, ph->memsz, mod->start, len) ||
		    overlap(ph->paddr, ph->memsz, (uintptr_t)__image_start,
			    (uintptr_t)(__image_end - __image_start))) {
			guest_error("segment %u at 0x%llx+0x%llx does not fit", i,
				    (unsigned long long)ph->paddr, (unsigned long long)ph->memsz);
			guest_finish();
		}
		uint8_t *dst = (uint8_t *)(uintptr_t)ph->paddr;
		memcpy(dst, img + ph->offset, (size_t)ph->filesz);
		memset(dst + ph->filesz, 0, (size_t)(ph->memsz - ph->filesz));
	}
	return (uint32_t)eh->entry;
}

void test_main(void)
{
	const struct mb1_info *mbi = (const void *)boot_info;
	uint32_t need = MB1_INFO_MODS | MB1_INFO_MMAP;
	void *t;

	if (boot_magic != MB1_BOOT_MAGIC || (mbi->flags & need) != need || !mbi->mods_count) {
		guest_error("needs a Multiboot1 boot with a memory map and the ELF64 as module");
		return;
	}
	const struct mb1_mod *mods = (const void *)(uintptr_t)mbi->mods_addr;
	uint32_t entry = load_elf64(&mods[0]);

	/* Multiboot2 spec §3.6: fixed part, tags, end tag. */
	info_pos = 8;
	info_str(MB2_TAG_CMDLINE, 0, skip_word((const char *)(uintptr_t)mods[0].string), &t);
	for (uint32_t i = 1; i < mbi->mods_count && i < 16; i++) {
		info_str(MB2_TAG_MODULE, 8, skip_word((const char *)(uintptr_t)mods[i].string), &t);
		((uint32_t *)t)[2] = mods[i].start;
		((uint32_t *)t)[3] = mods[i].end;
	}
	uint32_t n = 0;
	for (uint32_t off = 0; off + sizeof(struct mb1_mmap) <= mbi->mmap_length && n < 64; n++) {
		const struct mb1_mmap *e = (const void *)(uintptr_t)(mbi->mmap_addr + off);
		off += e->size + 4;
	}
	uint32_t *mm = info_tag(MB2_TAG_MMAP, 16 + 24 * n);
	mm[2] = 24;
	mm[3] = 0;
	struct mb2_mmap_entry *me = (void *)(mm + 4);
	for (uint32_t off = 0, i = 0; i < n; i++) {
		const struct mb1_mmap *e = (const void *)(uintptr_t)(mbi->mmap_addr + off);
		me[i] = (struct mb2_mmap_entry){ e->base, e->len, e->type, 0 };
		off += e->size + 4;
	}
	info_tag(MB2_TAG_END, 8);
	((uint32_t *)info)[0] = info_pos;
	((uint32_t *)info)[1] = 0;

	pml4[0] = (uintptr_t)pdpt | 3;
	for (uint32_t g = 0; g < 4; g++) {
		pdpt[g] = (uintptr_t)pd[g] | 3;
		for (uint32_t i = 0; i < 512; i++)
			pd[g][i] = ((uint64_t)g << 30 | (uint64_t)i << 21) | 0x83;
	}
	guest_printf("qemu-shim: entering ELF64 at 0x%x\n", entry);
	shim_enter64((uintptr_t)pml4, entry, (uintptr_t)info);
}

/*
 * Long mode entry (AMD APM vol. 2 §14.6.1): PAE, CR3, EFER.LME, then
 * CR0.PG, then a far jump to a 64-bit code segment.
 */
asm(".text\n"
    ".globl shim_enter64\n"
    "shim_enter64:\n\t"
    "movl 4(%esp), %eax\n\t"
    "movl %eax, %cr3\n\t"
    "movl 8(%esp), %ebx\n\t"
    "movl 12(%esp), %edi\n\t"
    "movl %cr4, %eax\n\t"
    "orl $0x20, %eax\n\t"
    "movl %eax, %cr4\n\t"
    "movl $0xC0000080, %ecx\n\t"
    "rdmsr\n\t"
    "orl $0x100, %eax\n\t"
    "wrmsr\n\t"
    "lgdt shim_gdt_ptr\n\t"
    "movl %cr0, %eax\n\t"
    "orl $0x80000000, %eax\n\t"
    "movl %eax, %cr0\n\t"
    "ljmp $0x08, $1f\n"
    ".code64\n"
    "1:\tmovl $0x10, %eax\n\t"
    "movw %ax, %ds\n\t"
    "movw %ax, %es\n\t"
    "movw %ax, %ss\n\t"
    "movl %ebx, %eax\n\t"
    "movl %edi, %edi\n\t"
    "movl $0x36D76289, %esi\n\t"
    "xorl %ebx, %ebx\n\t"
    "jmp *%rax\n"
    ".code32\n"
    ".section .rodata\n"
    ".align 8\n"
    "shim_gdt:\n\t"
    ".quad 0, 0x00af9a000000ffff, 0x00cf92000000ffff\n"
    "shim_gdt_ptr:\n\t"
    ".word 23\n\t"
    ".long shim_gdt\n"
    ".text\n");
