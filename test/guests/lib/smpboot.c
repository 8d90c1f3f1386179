/*
 * Starting the application processors like PC firmware or an OS does: the
 * universal start-up algorithm of the MultiProcessor Specification 1.4
 * appendix B.4 (INIT IPI, 10 ms, STARTUP IPI, 200 us, STARTUP IPI), one AP
 * at a time, through ap_trampoline.S copied below 1 MiB.
 */
#include "test/guests/lib/pc.h"

#define AP_STACK_SIZE   16384
#define INIT_DELAY_US   10000
#define SIPI_DELAY_US   200
#define AP_TIMEOUT_US   20000000        /* only a failure waits this long */
#define EFER_NXE        (1u << 11)

/* The fields at ap_tramp_data in ap_trampoline.S. */
struct ap_tramp_data {
	uint64_t cr3, stack, entry;
	uint32_t efer, arg;
};

extern const char ap_tramp_start[], ap_tramp_end[], ap_tramp_data[];

unsigned smp_nr_cpus = 1;
uint32_t smp_apic_ids[MAX_CPUS];

/* Stack of CPU i (i >= 1) is ap_stacks[i - 1]. */
static uint8_t ap_stacks[MAX_CPUS - 1][AP_STACK_SIZE] __attribute__((aligned(16)));
static void (*ap_fn)(unsigned cpu);
static volatile unsigned ap_alive;      /* index of the last AP that came up */

unsigned smp_this_cpu(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t lo = (uintptr_t)ap_stacks;

	if (sp < lo || sp >= lo + sizeof(ap_stacks))
		return 0;
	return (unsigned)((sp - lo) / AP_STACK_SIZE) + 1;
}

static void ap_entry(unsigned cpu)
{
	irq_load_idt();
	__atomic_store_n(&ap_alive, cpu, __ATOMIC_RELEASE);
	ap_fn(cpu);
	for (;;)
		asm volatile("cli; hlt");
}

/* [AP_TRAMPOLINE, +4 KiB) must be RAM in the memory map we were given. */
static bool trampoline_page_is_ram(void)
{
	struct mb2_mmap_entry mm[32];

	if (!mb2_valid(boot_info))
		return false;
	int n = mb2_mmap(boot_info, mm, ARRAY_SIZE(mm));
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(mm); i++)
		if (mm[i].type == MB2_MEM_RAM && mm[i].base <= AP_TRAMPOLINE &&
		    mm[i].base + mm[i].len >= AP_TRAMPOLINE + 4096)
			return true;
	return false;
}

static bool start_one(unsigned cpu, uint32_t apic_id, volatile struct ap_tramp_data *d)
{
	d->stack = (uintptr_t)ap_stacks[cpu - 1] + AP_STACK_SIZE;
	d->arg = cpu;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!lapic_send_ipi(apic_id, ICR_INIT | ICR_ASSERT)) {
		guest_fail("INIT IPI to APIC id %u: delivery status stays pending", apic_id);
		return false;
	}
	delay_us(INIT_DELAY_US);
	for (int i = 0; i < 2 && __atomic_load_n(&ap_alive, __ATOMIC_ACQUIRE) != cpu; i++) {
		if (!lapic_send_ipi(apic_id, ICR_STARTUP | ICR_ASSERT | (AP_TRAMPOLINE >> 12))) {
			guest_fail("STARTUP IPI to APIC id %u: delivery status stays pending",
				   apic_id);
			return false;
		}
		delay_us(SIPI_DELAY_US);
	}
	if (!wait_until(__atomic_load_n(&ap_alive, __ATOMIC_ACQUIRE) == cpu, AP_TIMEOUT_US)) {
		guest_fail("CPU %u (APIC id %u) did not come up within %d ms (ESR 0x%x)",
			   cpu, apic_id, AP_TIMEOUT_US / 1000, lapic_esr());
		return false;
	}
	return true;
}

unsigned smp_start_aps(const struct madt_info *m, void (*fn)(unsigned cpu))
{
	uint32_t self = lapic_id();
	uint64_t cr3 = read_cr3();

	smp_nr_cpus = 1;
	smp_apic_ids[0] = self;
	if (!trampoline_page_is_ram()) {
		guest_fail("0x%x-0x%x is not RAM in the memory map: no room for the AP trampoline",
			   AP_TRAMPOLINE, AP_TRAMPOLINE + 4095);
		return smp_nr_cpus;
	}
	if (ap_tramp_end - ap_tramp_start > 4096) {
		guest_error("the AP trampoline is larger than its 4 KiB page");
		return smp_nr_cpus;
	}
	if (cr3 >> 32) {
		guest_error("CR3 0x%lx is above 4 GiB: APs cannot load it in 32-bit mode", cr3);
		return smp_nr_cpus;
	}
	memcpy((void *)(uintptr_t)AP_TRAMPOLINE, ap_tramp_start,
	       (size_t)(ap_tramp_end - ap_tramp_start));
	volatile struct ap_tramp_data *d = (void *)(uintptr_t)(AP_TRAMPOLINE +
							       (ap_tramp_data - ap_tramp_start));
	d->cr3 = cr3;
	d->entry = (uintptr_t)ap_entry;
	d->efer = EFER_LME | ((uint32_t)rdmsr(MSR_EFER) & EFER_NXE);
	ap_fn = fn;
	ap_alive = 0;

	for (unsigned i = 0; i < m->nr_cpus && i < MAX_CPUS; i++) {
		uint32_t id = m->apic_ids[i];
		if (id == self)
			continue;
		unsigned cpu = smp_nr_cpus;
		smp_apic_ids[cpu] = id;
		if (!start_one(cpu, id, d))
			break;
		smp_nr_cpus++;
	}
	return smp_nr_cpus;
}
