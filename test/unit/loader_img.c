/* Shared harness for the guest-loader host tests; see loader_img.h. */
#include <stdlib.h>
#include <string.h>
#include "test/unit/loader_img.h"

#define CANARY          4096
#define CANARY_BYTE     0xC5
#define HOST_SIZE       (3 * CANARY + LOW_SIZE + HIGH_SIZE)

static uint8_t *host;
struct guest_mem mem;
uint8_t img[64 * 1024];
char err[256];

const struct gl_mmap_entry test_mmap[3] = {
	{ 0, LOW_SIZE, 1 },
	{ LOW_SIZE, HIGH_GPA - LOW_SIZE, 2 },
	{ HIGH_GPA, HIGH_SIZE, 1 },
};

static const char mod0_data[] = "hello, module zero";
static uint8_t mod1_data[5000];
const struct gl_module test_mods[2] = {
	{ (const uint8_t *)mod0_data, sizeof(mod0_data), "mod0 arg=1" },
	{ mod1_data, sizeof(mod1_data), NULL },
};

void vm_reset(uint8_t fill)
{
	if (!host)
		host = malloc(HOST_SIZE);
	memset(host, CANARY_BYTE, HOST_SIZE);
	memset(host + CANARY, fill, LOW_SIZE);
	memset(host + 2 * CANARY + LOW_SIZE, fill, HIGH_SIZE);
	memset(&mem, 0, sizeof(mem));
	gmem_add(&mem, 0, LOW_SIZE, host + CANARY);
	gmem_add(&mem, HIGH_GPA, HIGH_SIZE, host + 2 * CANARY + LOW_SIZE);
	for (size_t i = 0; i < sizeof(mod1_data); i++)
		mod1_data[i] = (uint8_t)(i * 13 + 5);
}

bool canaries_ok(void)
{
	const uint8_t *c[3] = { host, host + CANARY + LOW_SIZE,
				host + 2 * CANARY + LOW_SIZE + HIGH_SIZE };
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < CANARY; i++)
			if (c[k][i] != CANARY_BYTE)
				return false;
	return true;
}

uint32_t g32(uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;
	gmem_read(&mem, gpa, &v, 4);
	return v;
}

uint64_t g64(uint64_t gpa)
{
	uint64_t v = 0xdeadbeefdeadbeefULL;
	gmem_read(&mem, gpa, &v, 8);
	return v;
}

bool gmem_eq(uint64_t gpa, const void *p, size_t n)
{
	const void *h = gmem_ptr(&mem, gpa, n);
	return h && memcmp(h, p, n) == 0;
}

bool gmem_all(uint64_t gpa, uint8_t v, size_t n)
{
	const uint8_t *h = gmem_ptr(&mem, gpa, n);
	for (size_t i = 0; h && i < n; i++)
		if (h[i] != v)
			return false;
	return h != NULL;
}

void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int run(const uint8_t *image, size_t len, const struct gl_module *mods,
	int nr_mods, struct gl_result *r)
{
	struct gl_input in = {
		.img = image, .img_len = len, .cmdline = "console=ttyS0 quiet",
		.mods = mods, .nr_mods = nr_mods,
		.mmap = test_mmap, .nr_mmap = 3, .loader_name = "kasane",
	};
	err[0] = 'X';
	err[1] = '\0';
	return gl_load(&mem, &in, r, err, sizeof(err));
}

/* ---- image builders ------------------------------------------------------- */

static uint8_t pat(int seg, size_t j) { return (uint8_t)(seg * 37 + j * 7 + 1); }

size_t build_elf64(uint64_t entry, const struct seg *s, int n)
{
	size_t end = 64 + 56 * (size_t)n;

	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF\x02\x01\x01", 7);
	put16(img + 16, 2);             /* ET_EXEC */
	put16(img + 18, 62);            /* EM_X86_64 */
	put32(img + 20, 1);
	put64(img + 24, entry);
	put64(img + 32, 64);            /* e_phoff */
	put16(img + 52, 64);
	put16(img + 54, 56);
	put16(img + 56, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *p = img + 64 + 56 * i;
		put32(p, 1);
		put32(p + 4, 7);
		put64(p + 8, s[i].off);
		put64(p + 16, s[i].vaddr);
		put64(p + 24, s[i].paddr);
		put64(p + 32, s[i].filesz);
		put64(p + 40, s[i].memsz);
		put64(p + 48, 0x1000);
		for (size_t j = 0; j < s[i].filesz && s[i].off + j < sizeof(img); j++)
			img[s[i].off + j] = pat(i, j);
		if (s[i].off + s[i].filesz > end && s[i].off + s[i].filesz <= sizeof(img))
			end = s[i].off + s[i].filesz;
	}
	return end;
}

size_t build_elf32(uint32_t entry, const struct seg *s, int n)
{
	size_t end = 52 + 32 * (size_t)n;

	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF\x01\x01\x01", 7);
	put16(img + 16, 2);
	put16(img + 18, 3);             /* EM_386 */
	put32(img + 20, 1);
	put32(img + 24, entry);
	put32(img + 28, 52);
	put16(img + 40, 52);
	put16(img + 42, 32);
	put16(img + 44, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *p = img + 52 + 32 * i;
		put32(p, 1);
		put32(p + 4, (uint32_t)s[i].off);
		put32(p + 8, (uint32_t)s[i].vaddr);
		put32(p + 12, (uint32_t)s[i].paddr);
		put32(p + 16, (uint32_t)s[i].filesz);
		put32(p + 20, (uint32_t)s[i].memsz);
		put32(p + 24, 7);
		put32(p + 28, 0x1000);
		for (size_t j = 0; j < s[i].filesz; j++)
			img[s[i].off + j] = pat(i, j);
		if (s[i].off + s[i].filesz > end)
			end = s[i].off + s[i].filesz;
	}
	return end;
}

/* Multiboot1 header with the a.out kludge fields at img+off. */
void put_mb1(size_t off, uint32_t flags, uint32_t header_addr,
	     uint32_t load_addr, uint32_t load_end, uint32_t bss_end,
	     uint32_t entry)
{
	put32(img + off, MB1_MAGIC);
	put32(img + off + 4, flags);
	put32(img + off + 8, 0u - MB1_MAGIC - flags);
	put32(img + off + 12, header_addr);
	put32(img + off + 16, load_addr);
	put32(img + off + 20, load_end);
	put32(img + off + 24, bss_end);
	put32(img + off + 28, entry);
}

/* A plain a.out-kludge image: 0x1200 bytes, header at 0x20, loaded at 1 MiB. */
size_t build_mb1_aout(uint32_t load_end, uint32_t bss_end)
{
	memset(img, 0, sizeof(img));
	for (size_t i = 0; i < 0x1200; i++)
		img[i] = pat(9, i);
	put_mb1(0x20, (1u << 16) | 3, 0x100020, 0x100000, load_end, bss_end,
		0x100040);
	return 0x1200;
}

void tag(struct tags *t, uint16_t type, uint16_t flags, int nwords,
	 const uint32_t *w)
{
	uint32_t size = 8 + 4 * (uint32_t)nwords;
	put16(t->b + t->n, type);
	put16(t->b + t->n + 2, flags);
	put32(t->b + t->n + 4, size);
	for (int i = 0; i < nwords; i++)
		put32(t->b + t->n + 8 + 4 * i, w[i]);
	t->n += (size + 7) & ~7u;
}

/* Header at img+off: fixed part, the tags, an end tag; correct checksum. */
void put_mb2(size_t off, const struct tags *t)
{
	uint32_t hlen = 16 + (uint32_t)t->n + 8;
	put32(img + off, MB2_MAGIC);
	put32(img + off + 4, 0);
	put32(img + off + 8, hlen);
	put32(img + off + 12, 0u - MB2_MAGIC - hlen);
	memcpy(img + off + 16, t->b, t->n);
	put32(img + off + 16 + t->n, 0);
	put32(img + off + 16 + t->n + 4, 8);
}

/* Standard two-segment ELF64: text at 1 MiB, data+bss at 1 MiB + 12 KiB. */
static const struct seg elf64_segs[] = {
	{ 0x1000, 0xffffffff80100000ULL, 0x100000, 0x1800, 0x1800 },
	{ 0x3000, 0xffffffff80103000ULL, 0x103000, 0x100, 0x2000 },
};

size_t build_std_elf64(void)
{
	return build_elf64(0xffffffff80100010ULL, elf64_segs, 2);
}

/* ELF64 kernel with a Multiboot2 header (entry tag) in its text. */
size_t build_mb2_elf(void)
{
	size_t len = build_std_elf64();
	struct tags t = { .n = 0 };
	uint32_t req[] = { 1, 6, 8, 9 };   /* 8, 9: known but not provided */
	uint32_t entry = 0x100100, fb[] = { 1024, 768, 32 }, odd = 7;

	tag(&t, 1, 0, 4, req);
	tag(&t, 3, 0, 1, &entry);
	tag(&t, 5, 0, 3, fb);
	tag(&t, 6, 0, 0, NULL);
	tag(&t, 0x7777, 1, 1, &odd);        /* unknown but optional */
	put_mb2(0x1000, &t);
	return len;
}

/* a.out-style MB2 image: 0x1800 bytes, header at 0x10, loaded at 3 MiB. */
size_t build_mb2_aout(uint32_t load_addr)
{
	struct tags t = { .n = 0 };
	uint32_t addr[] = { 0x300010, load_addr, 0, 0x302000 }, entry = 0x300100;

	memset(img, 0, sizeof(img));
	for (size_t i = 0; i < 0x1800; i++)
		img[i] = pat(5, i);
	tag(&t, 2, 0, 4, addr);
	tag(&t, 3, 0, 1, &entry);
	put_mb2(0x10, &t);
	return 0x1800;
}
