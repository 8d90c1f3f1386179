/*
 * SMP bring-up: each enabled CPU of the MADT is started with INIT-SIPI-SIPI
 * (SDM vol. 3A §8.4.4.1), one at a time, and waits in its idle loop for work.
 */
#include "arch/x86/smp.h"
#include "arch/x86/harden.h"
#include "arch/x86/percpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/paging.h"
#include "arch/x86/trap.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "kernel/spinlock.h"
#include "boot/boot.h"
#include "arch/x86/x86_defs.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "mm/mm.h"
#include "lib/string.h"

#define MSR_GS_BASE     0xc0000101
#define STACK_SIZE      (32 * KiB)
#define IST_STACK_SIZE  (16 * KiB)

struct percpu percpu[MAX_CPUS];
unsigned nr_cpus_online;
unsigned nr_cpus_present = 1;
uint64_t hv_cr3;                        /* read by ap_start64 */
void (*ap_idle_hook)(void);
static spinlock_t call_lock[MAX_CPUS];

extern char trampoline_start[], trampoline_end[];
extern char tr_cr3[], tr_efer[], tr_entry[], tr_stack[], tr_arg[];
extern char boot_pml4[];
void ap_start64(void);

static void call_handler(struct trap_frame *f)
{
	struct percpu *c = this_cpu();
	void (*fn)(void *) = __atomic_load_n(&c->call_fn, __ATOMIC_ACQUIRE);

	if (fn) {
		/* Take the call whole before freeing the slot: the next caller
		 * may fill it again at once. */
		void *arg = c->call_arg;
		uint32_t seq = c->call_seq;
		__atomic_store_n(&c->call_fn, NULL, __ATOMIC_RELEASE);
		fn(arg);
		__atomic_store_n(&c->call_done, seq, __ATOMIC_RELEASE);
	}
}

static void kick_handler(struct trap_frame *f)
{
	/* Nothing to do: the interrupt itself woke the CPU or made it exit. */
}

/* Stacks, GDT/TSS and GS for CPU c, on the CPU itself. */
static void cpu_setup_common(struct percpu *c)
{
	wrmsr(MSR_GS_BASE, (uintptr_t)c);
	gdt_init_cpu(c);
	idt_load();
	lapic_init_cpu();
	fpu_cpu_init();
	harden_cpu_init();
	c->lapic_khz = lapic_timer_calibrate();
}

static bool alloc_stacks(struct percpu *c)
{
	c->stack_top = stack_alloc(STACK_SIZE);
	c->stack_bottom = c->stack_top - STACK_SIZE;
	for (int i = 0; i < IST_COUNT; i++)
		c->ist_top[i] = stack_alloc(IST_STACK_SIZE);
	return c->stack_top && c->ist_top[0] && c->ist_top[1] && c->ist_top[2];
}

void smp_init_bsp(uint32_t apic_id)
{
	struct percpu *c = &percpu[0];

	c->self = c;
	c->id = 0;
	c->apic_id = apic_id;
	if (!alloc_stacks(c))
		panic("smp: no memory for the boot CPU's stacks");
	cpu_setup_common(c);
	idt_enable_ist();
	trap_set_handler(VEC_CALL, call_handler);
	trap_set_handler(VEC_KICK, kick_handler);
	c->online = true;
	nr_cpus_online = 1;
	hv_cr3 = paging_root();
	printk(LOG_INFO, "kasane: CPU 0 online (APIC id %u, boot CPU, LAPIC timer %llu kHz)\n",
	       apic_id, (unsigned long long)c->lapic_khz);
}

__noreturn void ap_main(struct percpu *c)
{
	cpu_setup_common(c);
	printk(LOG_INFO, "kasane: CPU %u online (APIC id %u, LAPIC timer %llu kHz)\n",
	       c->id, c->apic_id, (unsigned long long)c->lapic_khz);
	__atomic_fetch_add(&nr_cpus_online, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
	irq_enable();
	for (;;) {
		if (ap_idle_hook)
			ap_idle_hook();
		else
			cpu_halt();
	}
}

static bool start_ap(struct percpu *c, hpa_t tramp)
{
	uint8_t *t = hpa_to_hva(tramp);
	uint64_t efer_bits = EFER_LME;

	if (cpuid(0x80000001, 0).edx & (1u << 20))
		efer_bits |= EFER_NXE;
	*(uint64_t *)(t + (tr_cr3 - trampoline_start)) = (uintptr_t)boot_pml4;
	*(uint64_t *)(t + (tr_efer - trampoline_start)) = efer_bits;
	*(uint64_t *)(t + (tr_entry - trampoline_start)) = (uintptr_t)ap_start64;
	*(uint64_t *)(t + (tr_stack - trampoline_start)) = c->stack_top;
	*(uint64_t *)(t + (tr_arg - trampoline_start)) = (uintptr_t)c;
	barrier();

	/* INIT, wait 10 ms, then two STARTUPs 200 us apart (SDM §8.4.4.1). */
	lapic_send_ipi(c->apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
	udelay(10000);
	for (int i = 0; i < 2; i++) {
		lapic_send_ipi(c->apic_id, ICR_STARTUP | (uint32_t)(tramp >> 12));
		udelay(200);
		if (__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
			return true;
	}
	/* Emulators may be slow to schedule the new CPU: allow 2 s. */
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
			return true;
		udelay(1000);
	}
	return false;
}

void smp_start_aps(const uint32_t *apic_ids, unsigned nr_ids, unsigned max)
{
	uint32_t me = percpu[0].apic_id;
	size_t len = trampoline_end - trampoline_start;
	hpa_t tramp = mm_low_page();

	if (!tramp) {
		pr_err("smp: the memory map has no free page below 1 MiB, where other CPUs must "
		       "start (STARTUP IPI); running on the boot CPU only\n");
		return;
	}
	memcpy(hpa_to_hva(tramp), trampoline_start, len);
	pr_info("smp: other CPUs start at 0x%llx\n", (unsigned long long)tramp);
	nr_cpus_present = 1;
	for (unsigned i = 0; i < nr_ids; i++) {
		uint32_t apic_id = apic_ids[i];
		if (apic_id == me)
			continue;
		if (max && nr_cpus_present >= max)
			break;
		if (nr_cpus_present >= MAX_CPUS) {
			pr_warn("smp: more than %d CPUs; the rest stay off\n", MAX_CPUS);
			break;
		}
		if (apic_id > 254 && !lapic_x2apic()) {
			pr_warn("smp: CPU with APIC id %u needs x2APIC; left off\n", apic_id);
			continue;
		}
		struct percpu *c = &percpu[nr_cpus_present];
		c->self = c;
		c->id = nr_cpus_present;
		c->apic_id = apic_id;
		nr_cpus_present++;
		if (!alloc_stacks(c)) {
			pr_err("smp: no memory for CPU %u's stacks; left off\n", c->id);
			c->failed = true;
			continue;
		}
		if (!start_ap(c, tramp)) {
			c->failed = true;
			pr_err("kasane: CPU %u (APIC id %u) did not start; continuing without it\n",
			       c->id, c->apic_id);
		}
	}
}

bool smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait)
{
	struct percpu *c;

	if (cpu >= MAX_CPUS || !percpu[cpu].online)
		return false;
	c = &percpu[cpu];
	if (c == this_cpu()) {
		fn(arg);
		return true;
	}
	/*
	 * One slot per target CPU.  Wait for it to be free with the lock
	 * dropped and interrupts as the caller had them, so that two CPUs
	 * calling each other both still take the call meant for them.
	 */
	uint32_t seq;
	for (;;) {
		uint64_t f = spin_lock_irqsave(&call_lock[cpu]);
		if (!__atomic_load_n(&c->call_fn, __ATOMIC_ACQUIRE)) {
			seq = c->call_seq + 1;
			c->call_arg = arg;
			c->call_seq = seq;
			__atomic_store_n(&c->call_fn, fn, __ATOMIC_RELEASE);
			lapic_send_ipi(c->apic_id, ICR_FIXED | VEC_CALL);
			spin_unlock_irqrestore(&call_lock[cpu], f);
			break;
		}
		spin_unlock_irqrestore(&call_lock[cpu], f);
		cpu_relax();
	}
	/* Done once the target has finished this call or a later one (calls
	 * to one CPU run in order of their numbers). */
	if (wait)
		while ((int32_t)(__atomic_load_n(&c->call_done, __ATOMIC_ACQUIRE) - seq) < 0)
			cpu_relax();
	return true;
}

void smp_kick(unsigned cpu)
{
	if (cpu < MAX_CPUS && percpu[cpu].online && &percpu[cpu] != this_cpu())
		lapic_send_ipi(percpu[cpu].apic_id, ICR_FIXED | VEC_KICK);
}
