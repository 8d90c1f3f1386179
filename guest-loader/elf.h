/*
 * ELF32/ELF64 executable loading into guest RAM (System V gABI, "ELF
 * Header" and "Program Header"; x86-64 psABI §4).  Only what a kernel
 * loader needs: the file header and PT_LOAD program headers.
 */
#ifndef KASANE_GUEST_LOADER_ELF_H
#define KASANE_GUEST_LOADER_ELF_H

#include "guest-loader/gl_util.h"

#define EI_NIDENT       16
#define EI_CLASS        4
#define EI_DATA         5
#define EI_VERSION      6
#define ELFCLASS32      1
#define ELFCLASS64      2
#define ELFDATA2LSB     1
#define EV_CURRENT      1
#define ET_EXEC         2
#define EM_386          3
#define EM_X86_64       62
#define PT_LOAD         1

#define ELF_MAX_PHNUM   64      /* more program headers than a kernel needs */

struct elf32_ehdr {
	uint8_t  e_ident[EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version, e_entry, e_phoff, e_shoff, e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_ehdr {
	uint8_t  e_ident[EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf32_phdr {
	uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz,
		 p_flags, p_align;
};

struct elf64_phdr {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

_Static_assert(sizeof(struct elf32_ehdr) == 52, "elf32_ehdr layout");
_Static_assert(sizeof(struct elf64_ehdr) == 64, "elf64_ehdr layout");
_Static_assert(sizeof(struct elf32_phdr) == 32, "elf32_phdr layout");
_Static_assert(sizeof(struct elf64_phdr) == 56, "elf64_phdr layout");

/* True if img starts with the ELF magic (nothing else is checked). */
bool elf_has_magic(const uint8_t *img, size_t len);

/*
 * Validate the ELF image and copy its PT_LOAD segments to their p_paddr,
 * zeroing p_memsz beyond p_filesz.  Nothing is written unless every segment
 * passed validation.  Fills *k (entry translated to a physical address).
 * Returns 0, or -1 with a reason in err.
 */
int elf_load(struct guest_mem *mem, const uint8_t *img, size_t len,
	     struct gl_kernel *k, char *err, size_t errlen);

#endif
