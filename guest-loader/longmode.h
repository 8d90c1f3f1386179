/*
 * The 64-bit boot environment kasane gives an ELF64 kernel (README: "ELF64
 * entry state"): identity-mapping page tables, a GDT and a stack in guest
 * RAM, and the long-mode vCPU state that uses them.
 */
#ifndef KASANE_GUEST_LOADER_LONGMODE_H
#define KASANE_GUEST_LOADER_LONGMODE_H

#include "guest-loader/gl_util.h"

#define GL_MAP_MAX      (64 * GiB)      /* identity map: at most this much */
#define GL_STACK64_SIZE (16 * KiB)

/*
 * At the first page >= *cur that fits (gl_place), build:
 *   PML4, one PDPT and a page directory per GiB identity-mapping [0, top)
 *   with 2 MiB pages, top = the end of the low 4 GiB or of guest RAM if
 *   higher, rounded up to 1 GiB and capped at GL_MAP_MAX;
 *   a GDT: null, 64-bit code at X86_BOOT_CS, data at X86_BOOT_DS;
 *   a GL_STACK64_SIZE stack.
 * Sets *s to 64-bit long mode on those tables (x86_state_long64) with RSP
 * at the top of the stack and the other GPRs 0 (the caller sets RIP and the
 * GPRs its protocol passes), and *cur past the stack.
 */
int gl_long_mode(struct guest_mem *mem, const struct gl_boot *b, gpa_t *cur,
		 struct x86_vcpu_state *s, char *err, size_t errlen);

#endif
