/*
 * Shared harness for the guest-loader host tests (test_loader.c for valid
 * images, test_loader_bad.c for hostile ones): a guest RAM of two regions
 * inside a canary-filled host buffer, and builders for synthetic ELF32,
 * ELF64, Multiboot1 and Multiboot2 kernel images in img[].
 */
#ifndef KASANE_TEST_UNIT_LOADER_IMG_H
#define KASANE_TEST_UNIT_LOADER_IMG_H

#include "guest-loader/loader.h"
#include "mm/guest_mem.h"

/* Guest RAM: [0, 636 KiB) and [1 MiB, 8 MiB), with a hole between. */
#define LOW_SIZE        0x9F000ULL
#define HIGH_GPA        0x100000ULL
#define HIGH_SIZE       (7 * MiB)

#define MB1_MAGIC       0x1BADB002u
#define MB2_MAGIC       0xE85250D6u
#define MB1_EAX         0x2BADB002u
#define MB2_EAX         0x36D76289u

extern struct guest_mem mem;
extern uint8_t img[64 * 1024];          /* the image being built */
extern char err[256];                   /* reason from the last run() */
extern const struct gl_mmap_entry test_mmap[3];  /* RAM, hole, RAM */
extern const struct gl_module test_mods[2];

/* Fill guest RAM with fill, the canaries with their byte; rebuild mem. */
void vm_reset(uint8_t fill);
bool canaries_ok(void);

/* Guest RAM readers; a non-RAM address reads as 0xdeadbeef... */
uint32_t g32(uint64_t gpa);
uint64_t g64(uint64_t gpa);
bool gmem_eq(uint64_t gpa, const void *p, size_t n);
bool gmem_all(uint64_t gpa, uint8_t v, size_t n);

void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);
void put64(uint8_t *p, uint64_t v);

/* gl_load with cmdline "console=ttyS0 quiet", test_mmap, name "kasane". */
int run(const uint8_t *image, size_t len, const struct gl_module *mods,
	int nr_mods, struct gl_result *r);

/* Builders: each clears img, builds the image and returns its length. */
struct seg { uint64_t off, vaddr, paddr, filesz, memsz; };
size_t build_elf64(uint64_t entry, const struct seg *s, int n);
size_t build_elf32(uint32_t entry, const struct seg *s, int n);
/* ELF64 at 1 MiB: text 0x1800 at file 0x1000, data 0x100 + bss at 0x103000. */
size_t build_std_elf64(void);
/* build_std_elf64 plus a Multiboot2 header (entry tag 0x100100) at 0x1000. */
size_t build_mb2_elf(void);
/* 0x1200-byte a.out-kludge image, header at 0x20, loaded at 1 MiB. */
size_t build_mb1_aout(uint32_t load_end, uint32_t bss_end);
/* 0x1800-byte address-tag image, header at 0x10, loaded at 3 MiB. */
size_t build_mb2_aout(uint32_t load_addr);

/* Multiboot1 header with a.out kludge fields at img+off (checksum fixed). */
void put_mb1(size_t off, uint32_t flags, uint32_t header_addr,
	     uint32_t load_addr, uint32_t load_end, uint32_t bss_end,
	     uint32_t entry);

/* Multiboot2 header tags, collected, then written by put_mb2 at img+off. */
struct tags { uint8_t b[512]; size_t n; };
void tag(struct tags *t, uint16_t type, uint16_t flags, int nwords,
	 const uint32_t *w);
void put_mb2(size_t off, const struct tags *t);

#endif
