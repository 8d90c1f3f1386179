/*
 * ELF kernel loading; see elf.h.  The image is untrusted: every header field
 * is checked against the file length and the guest RAM map before use, and
 * all address arithmetic is done in 64 bits with explicit overflow checks.
 */
#include "guest-loader/elf.h"
#include "lib/printf.h"
#include "lib/string.h"

/* One program header, widened to 64 bits whatever the class. */
struct elf_seg {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

/* The file header fields the loader uses, widened. */
struct elf_hdr {
	bool is64;
	uint16_t type, machine, phentsize, phnum;
	uint32_t version;
	uint64_t entry, phoff;
};

bool elf_has_magic(const uint8_t *img, size_t len)
{
	return len >= 4 && img[0] == 0x7f && img[1] == 'E' && img[2] == 'L' &&
	       img[3] == 'F';
}

static int elf_read_hdr(const uint8_t *img, size_t len, struct elf_hdr *h,
			char *err, size_t errlen)
{
	if (len < EI_NIDENT)
		return errf(err, errlen, "ELF image truncated: %llu bytes, "
			    "shorter than e_ident", (unsigned long long)len);
	if (img[EI_CLASS] == ELFCLASS64) {
		struct elf64_ehdr e;
		if (len < sizeof(e))
			return errf(err, errlen, "ELF64 image truncated: %llu "
				    "bytes, header needs %u",
				    (unsigned long long)len, (unsigned)sizeof(e));
		memcpy(&e, img, sizeof(e));
		*h = (struct elf_hdr){ true, e.e_type, e.e_machine, e.e_phentsize,
				       e.e_phnum, e.e_version, e.e_entry, e.e_phoff };
	} else if (img[EI_CLASS] == ELFCLASS32) {
		struct elf32_ehdr e;
		if (len < sizeof(e))
			return errf(err, errlen, "ELF32 image truncated: %llu "
				    "bytes, header needs %u",
				    (unsigned long long)len, (unsigned)sizeof(e));
		memcpy(&e, img, sizeof(e));
		*h = (struct elf_hdr){ false, e.e_type, e.e_machine, e.e_phentsize,
				       e.e_phnum, e.e_version, e.e_entry, e.e_phoff };
	} else {
		return errf(err, errlen, "ELF class %u is neither ELFCLASS32 "
			    "nor ELFCLASS64", img[EI_CLASS]);
	}

	if (img[EI_DATA] != ELFDATA2LSB)
		return errf(err, errlen, "ELF image is not little-endian "
			    "(EI_DATA %u)", img[EI_DATA]);
	if (img[EI_VERSION] != EV_CURRENT || h->version != EV_CURRENT)
		return errf(err, errlen, "ELF version %u is not EV_CURRENT",
			    h->version);
	if (h->type != ET_EXEC)
		return errf(err, errlen, "ELF e_type %u is not ET_EXEC; a "
			    "kernel must be a static executable", h->type);
	if (h->machine != (h->is64 ? EM_X86_64 : EM_386))
		return errf(err, errlen, "ELF%s e_machine %u is not %s",
			    h->is64 ? "64" : "32", h->machine,
			    h->is64 ? "EM_X86_64 (62)" : "EM_386 (3)");

	size_t want = h->is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);
	if (h->phentsize != want)
		return errf(err, errlen, "ELF e_phentsize %u, expected %u",
			    h->phentsize, (unsigned)want);
	if (h->phnum == 0 || h->phnum > ELF_MAX_PHNUM)
		return errf(err, errlen, "ELF e_phnum %u out of range 1..%d",
			    h->phnum, ELF_MAX_PHNUM);
	/* phnum * phentsize is at most 64 * 56, so only the add can wrap. */
	uint64_t tbl = (uint64_t)h->phnum * h->phentsize;
	if (h->phoff > len || tbl > len - h->phoff)
		return errf(err, errlen, "ELF program headers at 0x%llx+0x%llx "
			    "lie past the end of the %llu-byte image",
			    (unsigned long long)h->phoff, (unsigned long long)tbl,
			    (unsigned long long)len);
	return 0;
}

/* Program header i; elf_read_hdr has checked the table is inside the file. */
static void elf_read_seg(const uint8_t *img, const struct elf_hdr *h, int i,
			 struct elf_seg *s)
{
	const uint8_t *p = img + h->phoff + (uint64_t)i * h->phentsize;

	if (h->is64) {
		struct elf64_phdr ph;
		memcpy(&ph, p, sizeof(ph));
		*s = (struct elf_seg){ ph.p_type, ph.p_offset, ph.p_vaddr,
				       ph.p_paddr, ph.p_filesz, ph.p_memsz };
	} else {
		struct elf32_phdr ph;
		memcpy(&ph, p, sizeof(ph));
		*s = (struct elf_seg){ ph.p_type, ph.p_offset, ph.p_vaddr,
				       ph.p_paddr, ph.p_filesz, ph.p_memsz };
	}
}

static bool elf_seg_used(const struct elf_seg *s)
{
	return s->type == PT_LOAD && s->memsz != 0;
}

static int elf_check_seg(const struct guest_mem *mem, size_t len, int i,
			 const struct elf_seg *s, char *err, size_t errlen)
{
	char sz[GL_SIZE_STR];

	if (s->filesz > s->memsz)
		return errf(err, errlen, "ELF program header %d: p_filesz 0x%llx "
			    "exceeds p_memsz 0x%llx", i,
			    (unsigned long long)s->filesz,
			    (unsigned long long)s->memsz);
	if (s->offset > len || s->filesz > len - s->offset)
		return errf(err, errlen, "ELF program header %d: file bytes "
			    "0x%llx+0x%llx lie past the end of the %llu-byte image",
			    i, (unsigned long long)s->offset,
			    (unsigned long long)s->filesz, (unsigned long long)len);
	if (s->paddr + s->memsz < s->paddr ||
	    !gmem_is_ram(mem, s->paddr, s->memsz))
		return errf(err, errlen, "ELF program header %d maps 0x%llx+0x%llx "
			    "outside guest RAM (%s)", i,
			    (unsigned long long)s->paddr,
			    (unsigned long long)s->memsz,
			    gl_size_str(sz, mem->total));
	return 0;
}

/* Physical address of virtual address va, if some segment covers it. */
static bool elf_translate(const uint8_t *img, const struct elf_hdr *h,
			  uint64_t va, uint64_t *pa)
{
	struct elf_seg s;

	for (int i = 0; i < h->phnum; i++) {
		elf_read_seg(img, h, i, &s);
		if (elf_seg_used(&s) && va >= s.vaddr && va - s.vaddr < s.memsz) {
			*pa = s.paddr + (va - s.vaddr);
			return true;
		}
	}
	return false;
}

int elf_load(struct guest_mem *mem, const uint8_t *img, size_t len,
	     struct gl_kernel *k, char *err, size_t errlen)
{
	struct elf_hdr h = { 0 };
	struct elf_seg s, t;
	int rc = elf_read_hdr(img, len, &h, err, errlen);

	if (rc)
		return rc;

	/* Pass 1: validate every segment before writing anything. */
	k->start = UINT64_MAX;
	k->end = 0;
	for (int i = 0; i < h.phnum; i++) {
		elf_read_seg(img, &h, i, &s);
		if (!elf_seg_used(&s))
			continue;
		rc = elf_check_seg(mem, len, i, &s, err, errlen);
		if (rc)
			return rc;
		for (int j = 0; j < i; j++) {
			elf_read_seg(img, &h, j, &t);
			if (elf_seg_used(&t) && s.paddr < t.paddr + t.memsz &&
			    t.paddr < s.paddr + s.memsz)
				return errf(err, errlen, "ELF program headers %d "
					    "and %d overlap in physical memory "
					    "near 0x%llx", j, i,
					    (unsigned long long)MAX(s.paddr, t.paddr));
		}
		k->start = MIN(k->start, s.paddr);
		k->end = MAX(k->end, s.paddr + s.memsz);
	}
	if (k->start >= k->end)
		return errf(err, errlen, "ELF image has no PT_LOAD segment "
			    "with a non-zero p_memsz");

	/* GRUB-compatible: a virtual e_entry becomes its physical address. */
	if (!elf_translate(img, &h, h.entry, &k->entry))
		return errf(err, errlen, "ELF entry point 0x%llx is not inside "
			    "any PT_LOAD segment", (unsigned long long)h.entry);

	/* Pass 2: copy file bytes and zero the rest (bss). */
	for (int i = 0; i < h.phnum; i++) {
		elf_read_seg(img, &h, i, &s);
		if (!elf_seg_used(&s))
			continue;
		if (!gmem_write(mem, s.paddr, img + s.offset, s.filesz) ||
		    !gl_zero(mem, s.paddr + s.filesz, s.memsz - s.filesz))
			return errf(err, errlen, "ELF program header %d: guest "
				    "RAM write failed at 0x%llx", i,
				    (unsigned long long)s.paddr);
	}
	return 0;
}
