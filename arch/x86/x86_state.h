/*
 * Architectural vCPU states, computed once for every back end: power-up
 * and INIT (SDM vol. 3A §9.1.1, Table 9-1; APM vol. 2 §14.1.3), STARTUP
 * (SDM vol. 3A §8.4.4.1), and the flat protected-mode and long-mode boot
 * states that kernel formats enter in.
 */
#ifndef KASANE_ARCH_X86_X86_STATE_H
#define KASANE_ARCH_X86_X86_STATE_H

#include "arch/x86/regs.h"

/* The PAT's power-up value (SDM vol. 3A §11.12.4). */
#define X86_PAT_RESET   0x0007040600070406ULL

/* Selectors of the flat boot GDTs that the loaders build. */
#define X86_BOOT_CS     0x08
#define X86_BOOT_DS     0x10

/* The state after RESET or INIT: real mode at F000:FFF0. */
void x86_state_reset(struct x86_vcpu_state *s);
/* STARTUP with 'vector': real mode at vector << 12 (after INIT). */
void x86_state_sipi(struct x86_vcpu_state *s, uint8_t vector);
/*
 * Flat 32-bit protected mode, paging off (Multiboot: CS/DS base 0, limit
 * 4 GiB; the GDTR is left for the loader to set, if it builds one).
 */
void x86_state_flat32(struct x86_vcpu_state *s);
/* 64-bit long mode with paging on at cr3 (CS = X86_BOOT_CS, DS = X86_BOOT_DS). */
void x86_state_long64(struct x86_vcpu_state *s, uint64_t cr3, uint64_t gdt_base,
		      uint16_t gdt_limit);

/* The 8-byte GDT descriptors for those segments. */
#define X86_GDT_CODE64  0x00af9a000000ffffULL
#define X86_GDT_CODE32  0x00cf9a000000ffffULL
#define X86_GDT_DATA    0x00cf92000000ffffULL

#endif
