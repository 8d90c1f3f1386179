/*
 * The hypervisor's GDT, TSS and IDT.  Each CPU has its own GDT and TSS (the
 * TSS holds that CPU's IST stacks); the IDT is shared.
 * AMD APM vol. 2 §4.8.1 (64-bit code descriptors), §4.8.3 (system
 * descriptors), §8.9.3 (interrupt stack table), §12.2.5 (64-bit TSS).
 */
#include "arch/x86/desc.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "lib/string.h"

struct idt_gate {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;       /* P | DPL | type (0xE = 64-bit interrupt gate) */
	uint16_t off1;
	uint32_t off2;
	uint32_t zero;
} __packed;

struct dt_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

static struct idt_gate idt[256] __aligned(16);
extern const uint64_t vector_table[256];

void gdt_init_cpu(struct percpu *c)
{
	uint64_t tss = (uintptr_t)&c->tss;
	uint64_t limit = sizeof(c->tss) - 1;

	memset(&c->tss, 0, sizeof(c->tss));
	for (int i = 0; i < IST_COUNT; i++)
		c->tss.ist[i] = c->ist_top[i];
	c->tss.rsp[0] = c->stack_top;
	c->tss.iopb = sizeof(c->tss);   /* no I/O permission bitmap */

	c->gdt[GDT_NULL] = 0;
	c->gdt[GDT_CODE64] = 0x00af9a000000ffffULL;    /* L=1, P, DPL0, code */
	c->gdt[GDT_DATA] = 0x00cf92000000ffffULL;
	c->gdt[GDT_TSS] = (limit & 0xffff) | ((tss & 0xffffff) << 16) |
			  (0x89ULL << 40) |             /* P, available 64-bit TSS */
			  (((limit >> 16) & 0xf) << 48) | (((tss >> 24) & 0xff) << 56);
	c->gdt[GDT_TSS + 1] = tss >> 32;

	struct dt_ptr p = { sizeof(c->gdt) - 1, (uintptr_t)c->gdt };
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %2, %%eax\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"movl %%eax, %%ss\n\t"
		"ltr %w3\n\t"
		: : "m"(p), "i"((uint64_t)SEL_CODE64), "i"(SEL_DATA), "r"((uint16_t)SEL_TSS)
		: "rax", "memory");
}

static void set_gate(int vec, uint64_t handler, int ist)
{
	idt[vec] = (struct idt_gate){
		.off0 = handler & 0xffff,
		.sel = SEL_CODE64,
		.ist = ist,
		.type = 0x8e,
		.off1 = (handler >> 16) & 0xffff,
		.off2 = handler >> 32,
	};
}

void idt_init(void)
{
	for (int v = 0; v < 256; v++)
		set_gate(v, vector_table[v], 0);
}

/* Once this CPU's TSS is loaded: NMI, #DF and #MC get stacks of their own. */
void idt_enable_ist(void)
{
	set_gate(2, vector_table[2], IST_NMI);
	set_gate(8, vector_table[8], IST_DF);
	set_gate(18, vector_table[18], IST_MC);
}

void idt_load(void)
{
	struct dt_ptr p = { sizeof(idt) - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}
