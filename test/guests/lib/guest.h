/*
 * Mini-library for kasane's freestanding test guests: serial output,
 * XTF-style result reporting, boot information, fw_cfg, expected
 * exceptions.  Built twice, for 32-bit (-m32) and 64-bit guests.
 *
 * A guest defines test_name[] and test_main(); the start code (crt32.S or
 * crt64.S, then guest_entry()) sets up a stack, a GDT and an IDT, calls
 * test_main() and then guest_finish(), which prints the one result line
 *     TEST <name>: SUCCESS | SKIP: why | ERROR: why | FAILURE: why
 * and ends the VM through GUEST_EXIT_PORT (0 for SUCCESS/SKIP, 1 otherwise).
 * This library polls; guests that take interrupts use lib/pc.h (IDT,
 * local APIC, IOAPIC, PIC, timers, AP start-up).
 */
#ifndef GUEST_LIB_GUEST_H
#define GUEST_LIB_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "include/kasane/abi.h"

#define noreturn   __attribute__((noreturn))
#define printf_like(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- provided by each guest ---------------------------------------------- */
extern const char test_name[];
void test_main(void);

/* ---- provided by the start code ------------------------------------------ */
/*
 * Entry registers: 32-bit guests EAX (magic) and EBX (info GPA); 64-bit
 * guests RSI (magic) and RDI (info GPA).
 */
extern uintptr_t boot_magic, boot_info;
extern char __image_start[], __image_end[];     /* linker script */

#define MB1_BOOT_MAGIC 0x2BADB002u      /* Multiboot 0.6.96 §3.2 */
#define MB2_BOOT_MAGIC 0x36D76289u      /* Multiboot2 spec §3.3 */

/* ---- console.c: COM1 output, polled -------------------------------------- */
void guest_putc(char c);
void guest_puts(const char *s);
void guest_printf(const char *fmt, ...) printf_like(1, 2);
/* %s %c %d %u %x %p, with l/ll, zero-pad and width: "%08lx".  Always NUL-terminates. */
int guest_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t len, const char *fmt, ...) printf_like(3, 4);

/* ---- report.c: monotonic result, SUCCESS < SKIP < ERROR < FAILURE --------- */
enum guest_result { RESULT_SUCCESS, RESULT_SKIP, RESULT_ERROR, RESULT_FAILURE };

/* Each prints "<name>: <LEVEL>: <msg>" now and raises the result to LEVEL. */
void guest_skip(const char *fmt, ...) printf_like(1, 2);
void guest_error(const char *fmt, ...) printf_like(1, 2);
void guest_fail(const char *fmt, ...) printf_like(1, 2);
enum guest_result guest_result(void);
/* FAILURE unless got == want; returns got == want. */
bool guest_check_eq(const char *what, uint64_t got, uint64_t want);
/* Prints the TEST line and exits. */
noreturn void guest_finish(void);
/* Writes status to GUEST_EXIT_PORT, then halts forever if still running. */
noreturn void guest_exit(unsigned status);

/* ---- string.c ------------------------------------------------------------ */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/*
 * Finds the whitespace-separated word "key=value" in cmdline and copies
 * value into val (NUL-terminated, truncated to len).  A bare "key" word
 * gives "".  Returns false if absent.
 */
bool cmdline_get(const char *cmdline, const char *key, char *val, size_t len);
/* Decimal or 0x-hex; parse_size also takes a K, M or G suffix (binary). */
bool parse_u64(const char *s, uint64_t *out);
bool parse_size(const char *s, uint64_t *out);

/* ---- bootinfo.c: Multiboot2 information (spec §3.6) ---------------------- */
#define MB2_TAG_END      0
#define MB2_TAG_CMDLINE  1
#define MB2_TAG_MODULE   3
#define MB2_TAG_MMAP     6
#define MB2_MEM_RAM      1

struct mb2_tag { uint32_t type, size; };
struct mb2_mmap_entry { uint64_t base, len; uint32_t type, reserved; };

/*
 * Checks the structure at info: total_size sane, tags 8-aligned, inside
 * total_size, ending with an end tag.  Everything below assumes this passed.
 */
bool mb2_valid(uintptr_t info);
/* Next tag of this type after prev (NULL: from the start), or NULL. */
const struct mb2_tag *mb2_find(uintptr_t info, uint32_t type, const struct mb2_tag *prev);
/* Command line from the cmdline tag, "" without one. */
const char *mb2_cmdline(uintptr_t info);
/* Copies up to max memory map entries; returns how many there are (all, may exceed max). */
int mb2_mmap(uintptr_t info, struct mb2_mmap_entry *out, int max);

/* ---- fw_cfg.c: QEMU fw_cfg, traditional I/O interface (docs/specs/fw_cfg.rst) */
void fwcfg_select(uint16_t key);
void fwcfg_read(void *buf, size_t len);         /* from the selected item */
uint64_t fwcfg_read_le(uint16_t key, unsigned bytes);   /* select, read 1..8 bytes LE */

/* ---- trap.c: expected exceptions ----------------------------------------- */
#define EXC_DE  0
#define EXC_DB  1
#define EXC_BP  3
#define EXC_UD  6
#define EXC_DF  8
#define EXC_GP  13
#define EXC_PF  14

struct trap_info {
	unsigned vector;
	unsigned long error_code, ip, cr2;
};

/*
 * Expected exceptions, declared up front (XTF style):
 *
 *     expect_exception(EXC_GP);
 *     asm volatile("1: rdmsr\n2:\n" EXTABLE("1b", "2b") : ...);
 *     exception_check("rdmsr 0x12345678", EXC_GP, 0, &ti);
 *
 * The handler resumes at the fixup label registered for the faulting IP
 * (for a trap such as #BP: for the IP after the instruction).  Any other
 * exception, or the expected one at an IP without a fixup, is a FAILURE
 * that prints vector, error code and IP and ends the test.
 */
#ifdef __x86_64__
#define EXTABLE_PTR ".quad"
#else
#define EXTABLE_PTR ".long"
#endif
#define EXTABLE(fault, fixup) \
	".pushsection .extable, \"a\"\n\t" EXTABLE_PTR " " fault ", " fixup "\n\t.popsection\n\t"

void trap_init(void);
void expect_exception(unsigned vector);
/*
 * Ends the expectation.  True if exactly the expected vector was taken and,
 * unless err < 0, with that error code; otherwise FAILURE naming what.
 * *out (if non-NULL) gets what was recorded.
 */
bool exception_check(const char *what, unsigned vector, long err, struct trap_info *out);

/* ---- paging.c (64-bit only): the guest's own identity-mapped page tables -- */
#ifdef __x86_64__
#define PTE_P   0x001ull
#define PTE_W   0x002ull
#define PTE_PS  0x080ull
/* Own tables: [0, 4 GiB) identity-mapped with 2 MiB pages, CR0.WP set, loaded. */
void pt_init(void);
/* Identity-maps [0, end) (extends beyond 4 GiB).  False if out of table pages. */
bool pt_map_upto(uint64_t end);
/* Sets the 4 KiB PTE of va to (va | flags); flags 0 unmaps.  Splits a 2 MiB page. */
bool pt_set_page(uint64_t va, uint64_t flags);
#endif

#endif
