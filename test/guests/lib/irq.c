/*
 * A 256-entry IDT for the guests that take interrupts: the exception
 * gates trap_init() installed (vectors 0-31) are copied over, and vectors
 * 32-255 go through irq64.S to irq_dispatch() and the handler registered
 * for the vector.  64-bit interrupt gates: Intel SDM vol. 3A §6.14.1.
 */
#include "test/guests/lib/pc.h"

#define NR_VECTORS      256
#define FIRST_IRQ       32
#define STUB_SIZE       16      /* irq_stubs[] entries are 16 bytes apart */
#define CODE_SEL        0x08    /* crt64.S and the AP trampoline */
#define GATE_INTR       0x8e    /* present, DPL 0, interrupt gate */
#define MAX_REPORTS     4       /* unexpected interrupts printed */

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, reserved;
};

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uint64_t base;
};

extern const char irq_stubs[];
void irq_dispatch(unsigned long vector);

static struct idt_gate idt[NR_VECTORS] __attribute__((aligned(16)));
static irq_handler_t handlers[NR_VECTORS];
static volatile uint64_t spurious, unexpected;

void irq_load_idt(void)
{
	struct idt_ptr p = { sizeof(idt) - 1, (uintptr_t)idt };

	asm volatile("lidt %0" :: "m"(p) : "memory");
}

void irq_init(void)
{
	struct idt_ptr cur;

	asm volatile("sidt %0" : "=m"(cur));
	if (cur.limit >= FIRST_IRQ * sizeof(struct idt_gate) - 1)
		memcpy(idt, (const void *)(uintptr_t)cur.base, FIRST_IRQ * sizeof(struct idt_gate));
	else
		guest_error("IDT limit 0x%x: trap_init() has not run", cur.limit);
	for (unsigned v = FIRST_IRQ; v < NR_VECTORS; v++) {
		uintptr_t a = (uintptr_t)irq_stubs + (v - FIRST_IRQ) * STUB_SIZE;
		idt[v] = (struct idt_gate){
			.off_lo = (uint16_t)a, .sel = CODE_SEL, .type = GATE_INTR,
			.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
		};
	}
	irq_load_idt();
}

void irq_set_handler(unsigned vector, irq_handler_t fn)
{
	if (vector >= FIRST_IRQ && vector < NR_VECTORS)
		handlers[vector] = fn;
}

uint64_t irq_spurious_count(void)
{
	return spurious;
}

void irq_dispatch(unsigned long vector)
{
	irq_handler_t fn = handlers[vector & (NR_VECTORS - 1)];

	if (fn) {
		fn((unsigned)vector);
		return;
	}
	if (vector == VEC_SPURIOUS) {
		spurious++;
		return;
	}
	if (unexpected++ < MAX_REPORTS)
		guest_fail("unexpected interrupt, vector 0x%lx on CPU %u", vector, smp_this_cpu());
	/* If the local APIC delivered it, end it so lower vectors still come. */
	if (lapic_in_service((unsigned)vector))
		lapic_eoi();
}
