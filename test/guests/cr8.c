/*
 * cr8: CR8 and the local APIC's TPR are one register (Intel SDM vol. 3A
 * §10.8.6.1; AMD APM vol. 2 §16.6.4): CR8[3:0] = TPR[7:4].
 *   1. MOV to CR8 shows in the TPR read through the APIC page;
 *   2. a TPR written through the APIC page shows in MOV from CR8;
 *   3. with CR8 = 6, a self-IPI of vector 0x60 (priority class 6) is held
 *      back, with interrupts enabled (SDM vol. 3A §10.8.3.1: a vector is
 *      taken only when its class is above the processor priority);
 *   4. after CR8 is lowered to 0, it arrives by the next exit (a CPUID
 *      here): the hypervisor takes the new CR8 at every exit;
 *   5. with CR8 = 4, vector 0x60 arrives at once.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "cr8";

#define VEC             0x60
#define WAIT_US         2000000         /* only a failure waits this long */
#define HOLD_US         20000

static volatile unsigned taken;

static void vec_irq(unsigned vector)
{
	(void)vector;
	__atomic_fetch_add(&taken, 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

static inline void write_cr8(uint64_t v) { asm volatile("mov %0, %%cr8" :: "r"(v) : "memory"); }
static inline uint64_t read_cr8(void) { uint64_t v; asm volatile("mov %%cr8, %0" : "=r"(v)); return v; }

static void self_ipi(void)
{
	lapic_write(APIC_ICR_HI, 0);
	lapic_write(APIC_ICR_LO, ICR_SELF | ICR_FIXED | VEC);
}

void test_main(void)
{
	irq_init();
	irq_set_handler(VEC, vec_irq);
	if (!time_init() || !lapic_enable())
		return;

	write_cr8(0xf);
	guest_check_eq("TPR after CR8 = 15", lapic_read(APIC_TPR), 0xf0);
	write_cr8(0);
	guest_check_eq("TPR after CR8 = 0", lapic_read(APIC_TPR), 0);

	lapic_write(APIC_TPR, 0x50);
	guest_check_eq("CR8 after TPR = 0x50", read_cr8(), 5);
	lapic_write(APIC_TPR, 0);
	guest_check_eq("CR8 after TPR = 0", read_cr8(), 0);

	write_cr8(6);
	irq_enable();
	self_ipi();
	delay_us(HOLD_US);
	guest_check_eq("vector 0x60 taken while CR8 = 6", taken, 0);
	write_cr8(0);
	unsigned a = 0, b, c = 0, d;
	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	bool got = wait_until(taken == 1, WAIT_US);
	irq_disable();
	if (!got)
		guest_fail("vector 0x60 not taken after CR8 went from 6 to 0");
	guest_printf("cr8: held back by CR8 = 6, taken after CR8 = 0: %s\n", got ? "ok" : "no");

	write_cr8(4);
	irq_enable();
	self_ipi();
	got = wait_until(taken == 2, WAIT_US);
	irq_disable();
	write_cr8(0);
	if (!got)
		guest_fail("vector 0x60 not taken with CR8 = 4");
}
