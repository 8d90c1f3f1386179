/*
 * post-again: an interrupt the CPU delivered by itself (AMD: V_IRQ, APM
 * vol. 2 §15.21.4; core/vcpu.c, post_intr), sent again by another CPU
 * before the taker's next exit, is a second interrupt and is taken too
 * (SDM vol. 3A §11.8.4: the vector was in service, IRR takes it anew).
 * Run with 2 vCPUs and paravirt = on: the BSP's handler ends with Linux's
 * paravirtual EOI (its flag; Linux Documentation/virt/kvm/x86/msr.rst), so
 * taking the interrupt, handling it and its EOI cost the BSP no exit at
 * all, as a Linux IPI handler under kasane.
 *   The BSP spins with IF=0 and opens it for one instruction now and then
 *   (no exit in the loop).  The AP, ROUNDS times: reads the BSP's count,
 *   sends it a fixed IPI and waits for the count to move.  Each IPI comes
 *   while the BSP has IF=0 almost always, so kasane posts it; the AP
 *   sends the next one as soon as the handler has counted the last, with
 *   no exit of the BSP in between.  An IPI merged into one already taken
 *   (the BSP's IRR bit left set until its next exit) never comes: the AP
 *   counts it lost after WAIT_US, and stops after MAX_LOST.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "post-again";

#define MSR_KVM_PV_EOI_EN       0x4b564d04u
#define VEC                     0xf3
#define ROUNDS                  300
#define WAIT_US                 5000000         /* only a lost IPI waits this long */
#define MAX_LOST                5               /* then the AP stops: the verdict is clear */

static volatile uint64_t flag __attribute__((aligned(8)));
static volatile unsigned got, sent, lost, ap_done, pv_eois;

/* Linux's kvm_guest_apic_eoi_write(): clear the flag's bit 0 if set, else
 * write the EOI register. */
static void vec_irq(unsigned vector)
{
	bool was;

	(void)vector;
	__atomic_fetch_add(&got, 1, __ATOMIC_RELEASE);
	asm volatile("btrq $0, %0; setc %1" : "+m"(flag), "=qm"(was) : : "memory");
	if (was)
		pv_eois++;
	else
		lapic_eoi();
}

static void ap_main(unsigned cpu)
{
	(void)cpu;
	lapic_enable();
	for (unsigned i = 0; i < ROUNDS; i++) {
		unsigned before = __atomic_load_n(&got, __ATOMIC_ACQUIRE);
		lapic_send_ipi(smp_apic_ids[0], ICR_FIXED | VEC);
		sent++;
		if (!wait_until(__atomic_load_n(&got, __ATOMIC_ACQUIRE) != before, WAIT_US) &&
		    ++lost == MAX_LOST)
			break;
	}
	__atomic_store_n(&ap_done, 1, __ATOMIC_RELEASE);
	for (;;)
		asm volatile("cli; hlt");
}

void test_main(void)
{
	struct madt_info m;

	irq_init();
	irq_set_handler(VEC, vec_irq);
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (m.nr_cpus < 2) {
		guest_error("needs 2 CPUs, the MADT lists %u", m.nr_cpus);
		return;
	}
	wrmsr(MSR_KVM_PV_EOI_EN, (uint64_t)(uintptr_t)&flag | 1);
	irq_disable();
	if (smp_start_aps(&m, ap_main) < 2)
		return;
	/* IF=1 for one instruction at a time; the AP's IPIs find IF=0. */
	uint64_t end = rdtsc() + us_to_tsc((uint64_t)MAX_LOST * WAIT_US + 120000000);
	while (!__atomic_load_n(&ap_done, __ATOMIC_ACQUIRE) && rdtsc() < end) {
		for (volatile unsigned k = 0; k < 2000; k++)
			;
		asm volatile("sti; nop; cli" ::: "memory");
	}
	wrmsr(MSR_KVM_PV_EOI_EN, 0);
	guest_check_eq("AP finished", ap_done, 1);
	guest_check_eq("IPIs lost", lost, 0);
	guest_check_eq("IPIs taken", got, ROUNDS);
	guest_printf("post-again: %u IPIs sent back to back, %u taken, %u lost, %u EOIs through the flag\n",
		     sent, got, lost, pv_eois);
}
