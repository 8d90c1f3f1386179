/* Segment descriptors, TSS and IDT of the hypervisor (AMD APM vol. 2 §4.8, §12). */
#ifndef KASANE_ARCH_X86_DESC_H
#define KASANE_ARCH_X86_DESC_H

#include "lib/types.h"

#define GDT_NULL     0
#define GDT_CODE64   1
#define GDT_DATA     2
#define GDT_TSS      3          /* 16-byte system descriptor: slots 3 and 4 */
#define GDT_ENTRIES  5
#define SEL_CODE64   (GDT_CODE64 * 8)
#define SEL_DATA     (GDT_DATA * 8)
#define SEL_TSS      (GDT_TSS * 8)

/* Interrupt stack table slots (1-based in the IDT gate). */
#define IST_NMI      1
#define IST_DF       2
#define IST_MC       3
#define IST_COUNT    3

/* 64-bit TSS (AMD APM vol. 2 §12.2.5). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iopb;
} __packed;

struct percpu;
void gdt_init_cpu(struct percpu *c);
void idt_init(void);
void idt_load(void);
void idt_enable_ist(void);

#endif
