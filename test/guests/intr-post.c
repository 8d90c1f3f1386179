/*
 * intr-post: an interrupt that waits only for the guest's RFLAGS.IF goes in
 * where hardware would take it, and kasane takes no interrupt-window exit
 * for it where the CPU can deliver it itself (AMD: V_IRQ with the vector,
 * APM vol. 2 §15.21.4; core/vcpu.c, post_intr).
 *   1. ROUNDS times: with IF=0, a self-IPI (the ICR write exits, and the
 *      interrupt is then pending while IF is still 0), then STI and two
 *      stores: the handler runs once per round, after the store in the
 *      STI's shadow and before the next one (SDM vol. 3A §6.8.3).  The
 *      manifest checks the VM's exit counts: no interrupt-window exit per
 *      round.
 * Not here: a MOV to CR8 while such an interrupt waits, which the CPU
 * weighs against it (V_TPR), since QEMU 7.2 aborts on a CR8 write while
 * V_IRQ is set (docs/emulators.md); test/guests/cr8.c checks CR8 against
 * interrupts that are not yet deliverable.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "intr-post";

#define VEC             0x40
#define ROUNDS          1000

static volatile unsigned taken, stage, bad_stage;

static void vec_irq(unsigned vector)
{
	(void)vector;
	if (stage != 2)
		bad_stage++;
	taken++;
	lapic_eoi();
}

static void self_ipi(uint8_t vec)
{
	lapic_write(APIC_ICR_HI, 0);
	lapic_write(APIC_ICR_LO, ICR_SELF | ICR_FIXED | vec);
}

void test_main(void)
{
	irq_init();
	irq_set_handler(VEC, vec_irq);
	if (!time_init() || !lapic_enable())
		return;

	for (unsigned i = 0; i < ROUNDS; i++) {
		irq_disable();
		stage = 1;
		self_ipi(VEC);
		/* The interrupt is taken after the instruction in STI's shadow. */
		asm volatile("sti; movl $2, %0; movl $3, %0" : "=m"(stage) :: "memory");
		irq_disable();
	}
	guest_check_eq("interrupts taken in the rounds", taken, ROUNDS);
	guest_check_eq("interrupts taken outside STI's shadow store", bad_stage, 0);
	guest_printf("intr-post: %u self-IPIs with IF=0, each taken right after STI's shadow: %s\n",
		     taken, taken == ROUNDS && !bad_stage ? "ok" : "no");
}
