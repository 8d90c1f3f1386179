/*
 * hostile-init: INIT sent to the boot CPU, which on a PC starts it again
 * from the reset vector (Intel SDM vol. 3A §9.1): kasane resets the VM,
 * as on_reboot says.  The guest counts its boots in battery-backed CMOS
 * byte 0x61 (MC146818A: bytes past register D survive a reset):
 *  - boot 1: an INIT IPI to its own APIC id through the ICR;
 *  - boot 2: the RTC's interrupt (IRQ 8) through an I/O APIC pin set to
 *    INIT delivery mode;
 *  - boot 3: SUCCESS.
 * Boots 1 and 2 fail if they are still running 2 s after the INIT.
 *
 * With stuck=1 (and two vCPUs) it instead tests the all-stuck check: the
 * boot CPU starts the AP and halts with interrupts off; the AP then sends
 * itself an INIT and waits for a STARTUP that nobody can send.  The VM
 * must end as halted rather than wait for ever.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "hostile-init";

#define CMOS_BOOTS      0x61
#define REG_A           0x0a
#define REG_B           0x0b
#define REG_C           0x0c
#define A_RATE_1024HZ   0x26            /* 32.768 kHz divider, rate 6 */
#define B_PIE           0x40
#define RTE_DM_INIT     (5ull << 8)     /* 82093AA §3.2.4: delivery mode 101b */
#define WAIT_US         2000000

static noreturn void ap_main(unsigned cpu)
{
	(void)cpu;
	delay_us(100000);                       /* the boot CPU is halted by then */
	guest_printf("hostile-init: AP sends itself INIT\n");
	lapic_send_ipi(lapic_id(), ICR_INIT | ICR_ASSERT);
	for (;;)
		asm volatile("pause");
}

static void stuck(void)
{
	struct madt_info m;

	if (!madt_read(&m))
		return;
	if (smp_start_aps(&m, ap_main) < 2) {
		guest_fail("the AP did not start");
		return;
	}
	guest_printf("hostile-init: boot CPU halts with interrupts off\n");
	for (;;)
		asm volatile("cli; hlt");
}

void test_main(void)
{
	struct madt_info m;
	unsigned boot = cmos_read(CMOS_BOOTS) + 1u;

	irq_init();
	if (!time_init() || !lapic_enable())
		return;
	if (cmdline_u64("stuck", 0)) {
		stuck();
		return;
	}
	guest_printf("hostile-init: boot %u\n", boot);
	if (boot > 3) {
		guest_fail("boot %u: more boots than INITs sent", boot);
		return;
	}
	cmos_write(CMOS_BOOTS, (uint8_t)boot);
	if (boot == 1) {
		lapic_send_ipi(lapic_id(), ICR_INIT | ICR_ASSERT);
	} else if (boot == 2) {
		if (!madt_read(&m))
			return;
		if (!m.nr_ioapics) {
			guest_fail("MADT lists no IOAPIC");
			return;
		}
		ioapic_init(m.ioapic_addr);
		ioapic_set_rte(m.isa_gsi[8], RTE_DEST(lapic_id()) | RTE_DM_INIT);
		cmos_write(REG_A, A_RATE_1024HZ);
		cmos_write(REG_B, cmos_read(REG_B) | B_PIE);
		(void)cmos_read(REG_C);
	} else {
		return;                         /* boot 3: both INITs reset the VM */
	}
	delay_us(WAIT_US);
	guest_fail("boot %u: still running %u ms after the INIT", boot, WAIT_US / 1000);
}
