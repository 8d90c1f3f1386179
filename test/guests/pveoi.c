/*
 * pveoi: paravirtual EOI as Linux uses it under KVM (Linux
 * Documentation/virt/kvm/x86/cpuid.rst, KVM_FEATURE_PV_EOI; msr.rst,
 * MSR_KVM_PV_EOI_EN; core/vcpu.c, devices/vlapic.h).  The guest's EOI is
 * Linux's kvm_guest_apic_eoi_write(): clear bit 0 of the flag if it is
 * set, else write the APIC's EOI register.
 *  1. CPUID: kasane's leaf 0x40000000 as before; "KVMKVMKVM\0\0\0" at
 *     0x40000100 with EAX = 0x40000101; 0x40000101 EAX = PV EOI (bit 6),
 *     with only kvmclock's bits (3, 24) besides, EDX (hints) 0.
 *  2. The MSR: #GP for a flag address that is not 4-byte aligned or not
 *     RAM, and for a non-zero value without bit 0; reads give the value.
 *  3. Edge self-IPIs with interrupts on: the flag is set in the handler,
 *     whose EOI then takes no exit; afterwards the APIC page shows the
 *     EOI done (ISR clear, PPR 0).
 *  4. A second interrupt waiting in IRR (its class held back by TPR): the
 *     flag is clear in the first handler; set in the second's, once the
 *     TPR write lets it in with nothing else waiting.
 *  4b. Self-IPIs sent with interrupts off, taken at STI (on AMD-V the CPU
 *     delivers them itself, posted through V_IRQ): one alone finds the
 *     flag set; of two sent together the first taken finds it clear (the
 *     other waits in IRR), the second set.
 *  5. A level-triggered I/O APIC interrupt (COM1's THR empty, as in
 *     ioapic-level.c): the flag is clear; Remote IRR clears with the EOI.
 *  6. The MSR written 0: a self-IPI's handler finds the flag clear, and
 *     the flag's memory untouched.
 *  7. rounds (command line, default ROUNDS) periodic local APIC timer
 *     interrupts with the MSR on: their EOIs go through the flag, so they
 *     make no MMIO exit; the manifest checks the VM's MMIO exit count
 *     (without PV EOI each EOI is one).
 * With paravirt=0 on its command line (the VM's paravirt = off) it checks
 * instead that the KVM leaves are zero and the MSR raises #GP.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "pveoi";

#define MSR_KVM_PV_EOI_EN       0x4b564d04u
#define KVM_SIG_LEAF            0x40000100u
#define KVM_FEATURES_LEAF       0x40000101u
#define KVM_FEATURE_PV_EOI      (1u << 6)
#define APIC_PPR                0x0a0
#define VEC_A                   0x40
#define VEC_B                   0x50
#define VEC_UART                0x44
#define VEC_TICK                0x60
#define ROUNDS                  1000
#define TICK_US                 1000
#define WAIT_US                 20000000        /* only a failure waits this long */
#define COM1                    GUEST_COM1_PORT
#define IER                     (COM1 + 1)
#define IIR                     (COM1 + 2)
#define IER_THRE                0x02

/* The flag: Linux's per-CPU kvm_apic_eoi, an unsigned long. */
static volatile uint64_t flag __attribute__((aligned(8)));

static volatile unsigned runs, flag_set, deferred, uart_runs;
static volatile bool flag_in_a, flag_in_b;
static volatile unsigned a_runs, b_runs;

/* Linux's kvm_guest_apic_eoi_write(): true if the EOI went through the flag. */
static bool guest_eoi(void)
{
	bool was;

	asm volatile("btrq $0, %0; setc %1" : "+m"(flag), "=qm"(was) : : "memory");
	if (!was)
		lapic_eoi();
	return was;
}

static void self_ipi(uint8_t vec)
{
	lapic_write(APIC_ICR_HI, 0);
	lapic_write(APIC_ICR_LO, ICR_SELF | ICR_FIXED | vec);
}

static void rdmsr_gp(const char *what)
{
	uint32_t lo = 0, hi = 0;

	expect_exception(EXC_GP);
	asm volatile("1: rdmsr\n2:\n" EXTABLE("1b", "2b")
		     : "+a"(lo), "+d"(hi) : "c"(MSR_KVM_PV_EOI_EN) : "memory");
	exception_check(what, EXC_GP, 0, NULL);
}

static void wrmsr_gp(const char *what, uint64_t val)
{
	expect_exception(EXC_GP);
	asm volatile("1: wrmsr\n2:\n" EXTABLE("1b", "2b")
		     : : "c"(MSR_KVM_PV_EOI_EN), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
	exception_check(what, EXC_GP, 0, NULL);
}

static void counting_irq(unsigned vector)
{
	(void)vector;
	runs++;
	if (flag & 1)
		flag_set++;
	if (guest_eoi())
		deferred++;
}

static void irq_a(unsigned vector)
{
	(void)vector;
	flag_in_a = flag & 1;
	a_runs++;
	guest_eoi();
}

static void irq_b(unsigned vector)
{
	(void)vector;
	flag_in_b = flag & 1;
	b_runs++;
	guest_eoi();
}

static void uart_irq(unsigned vector)
{
	(void)vector;
	uart_runs++;
	if (flag & 1)
		flag_set++;
	inb(IIR);               /* THRI read: the line falls */
	outb(IER, 0);
	guest_eoi();
}

/* After a step: every EOI done, as the APIC page shows it. */
static void apic_clean(const char *what)
{
	for (unsigned i = 0; i < 8; i++)
		if (lapic_read(APIC_ISR + i * 16))
			guest_fail("%s: ISR[%u] = 0x%x after the EOIs", what, i,
				   lapic_read(APIC_ISR + i * 16));
	guest_check_eq(what, lapic_read(APIC_PPR), 0);
}

static bool check_cpuid(void)
{
	uint32_t r[4];

	cpuid(0x40000000, 0, r);
	guest_check_eq("leaf 0x40000000 EBX (\"kasa\")", r[1], 0x6173616b);
	cpuid(KVM_SIG_LEAF, 0, r);
	guest_printf("pveoi: leaf 0x40000100: EAX 0x%x EBX 0x%08x ECX 0x%08x EDX 0x%08x\n",
		     r[0], r[1], r[2], r[3]);
	guest_check_eq("leaf 0x40000100 EAX", r[0], KVM_FEATURES_LEAF);
	guest_check_eq("leaf 0x40000100 EBX (\"KVMK\")", r[1], 0x4b4d564b);
	guest_check_eq("leaf 0x40000100 ECX (\"VMKV\")", r[2], 0x564b4d56);
	guest_check_eq("leaf 0x40000100 EDX (\"M\\0\\0\\0\")", r[3], 0x4d);
	cpuid(KVM_FEATURES_LEAF, 0, r);
	guest_printf("pveoi: leaf 0x40000101: EAX 0x%x EDX 0x%x\n", r[0], r[3]);
	/* PV EOI, and kvmclock's bits (test/guests/pvclock.c): nothing else. */
	guest_check_eq("leaf 0x40000101 EAX bits besides PV EOI and kvmclock",
		       r[0] & ~(KVM_FEATURE_PV_EOI | (1u << 3) | (1u << 24)), 0);
	guest_check_eq("leaf 0x40000101 EDX (hints)", r[3], 0);
	return r[0] & KVM_FEATURE_PV_EOI;
}

static void check_msr(uint64_t pa)
{
	wrmsr_gp("PV EOI flag not 4-byte aligned", pa | 2 | 1);
	wrmsr_gp("PV EOI value without bit 0", pa);
	wrmsr_gp("PV EOI flag in the local APIC's page", LAPIC_BASE | 1);
	wrmsr_gp("PV EOI flag above RAM", (1ull << 40) | 1);
	wrmsr(MSR_KVM_PV_EOI_EN, pa | 1);
	guest_check_eq("MSR_KVM_PV_EOI_EN read back", rdmsr(MSR_KVM_PV_EOI_EN), pa | 1);
}

/* Steps 3 and 4. */
static void self_ipis(void)
{
	runs = flag_set = deferred = 0;
	irq_enable();
	for (unsigned i = 0; i < 10; i++) {
		self_ipi(VEC_A + 1);
		wait_until(runs > i, WAIT_US);
	}
	irq_disable();
	guest_printf("pveoi: edge self-IPIs: %u, flag set in %u, EOIs through it %u\n",
		     runs, flag_set, deferred);
	guest_check_eq("edge self-IPIs taken", runs, 10);
	guest_check_eq("handlers that found the flag set", flag_set, 10);
	apic_clean("PPR after deferred EOIs");

	/* B's class is above TPR, A's is not: A waits in IRR while B runs. */
	flag_in_a = flag_in_b = true;
	lapic_write(APIC_TPR, VEC_A);
	irq_enable();
	self_ipi(VEC_A);
	self_ipi(VEC_B);
	wait_until(b_runs >= 1, WAIT_US);
	if (a_runs)
		guest_fail("A taken with TPR holding its class back");
	lapic_write(APIC_TPR, 0);       /* lets A in, with nothing else waiting */
	wait_until(a_runs >= 1, WAIT_US);
	irq_disable();
	guest_check_eq("runs of A", a_runs, 1);
	guest_check_eq("runs of B", b_runs, 1);
	guest_printf("pveoi: B with A waiting: flag %s in B, %s in A\n",
		     flag_in_b ? "set" : "clear", flag_in_a ? "set" : "clear");
	if (flag_in_b)
		guest_fail("flag set in B's handler while A waited in IRR");
	if (!flag_in_a)
		guest_fail("flag clear in A's handler, with nothing else waiting");
	apic_clean("PPR after A and B");

	runs = flag_set = deferred = 0;
	for (unsigned i = 0; i < 10; i++) {
		self_ipi(VEC_A + 1);    /* interrupts are off */
		asm volatile("sti; nop; cli" ::: "memory");
	}
	guest_printf("pveoi: self-IPIs taken at STI: %u, flag set in %u, EOIs through it %u\n",
		     runs, flag_set, deferred);
	guest_check_eq("self-IPIs taken at STI", runs, 10);
	guest_check_eq("handlers at STI that found the flag set", flag_set, 10);
	apic_clean("PPR after self-IPIs taken at STI");

	a_runs = b_runs = 0;
	flag_in_a = false;
	flag_in_b = true;
	self_ipi(VEC_A);
	self_ipi(VEC_B);
	irq_enable();
	wait_until(a_runs >= 1 && b_runs >= 1, WAIT_US);
	irq_disable();
	guest_printf("pveoi: A and B sent with interrupts off: flag %s in B, %s in A\n",
		     flag_in_b ? "set" : "clear", flag_in_a ? "set" : "clear");
	if (flag_in_b)
		guest_fail("flag set in B's handler, taken at STI with A waiting in IRR");
	if (!flag_in_a)
		guest_fail("flag clear in A's handler, taken after B with nothing else waiting");
	apic_clean("PPR after A and B taken at STI");
}

/* Step 5: COM1's THR-empty interrupt through a level-triggered pin. */
static void level_irq(void)
{
	struct madt_info m;

	if (!madt_read(&m) || !m.nr_ioapics) {
		guest_fail("no I/O APIC in the MADT");
		return;
	}
	ioapic_init(m.ioapic_addr);
	unsigned pin = m.isa_gsi[4] - m.ioapic_gsi_base;
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);        /* every 8259 input masked */
	ioapic_mask_all();
	ioapic_set_rte(pin, RTE_DEST(lapic_id()) | RTE_LEVEL | VEC_UART);
	flag_set = 0;
	irq_enable();
	outb(IER, IER_THRE);
	wait_until(uart_runs >= 1, WAIT_US);
	delay_us(1000);
	irq_disable();
	uint64_t rte = ioapic_get_rte(pin);
	ioapic_set_rte(pin, RTE_MASKED | RTE_DEST(lapic_id()) | RTE_LEVEL | VEC_UART);
	guest_printf("pveoi: level interrupt: %u run(s), flag set in %u\n", uart_runs, flag_set);
	guest_check_eq("level interrupt handler runs", uart_runs, 1);
	guest_check_eq("level handlers that found the flag set", flag_set, 0);
	if (rte & RTE_REMOTE_IRR)
		guest_fail("Remote IRR still set after the level interrupt's EOI");
	apic_clean("PPR after the level interrupt");
}

/* Step 6. */
static void msr_off(void)
{
	wrmsr(MSR_KVM_PV_EOI_EN, 0);
	guest_check_eq("MSR_KVM_PV_EOI_EN after writing 0", rdmsr(MSR_KVM_PV_EOI_EN), 0);
	flag = 0;
	runs = flag_set = 0;
	irq_enable();
	self_ipi(VEC_A + 1);
	wait_until(runs >= 1, WAIT_US);
	irq_disable();
	guest_check_eq("handlers that found the flag set with the MSR off", flag_set, 0);
	guest_check_eq("the flag's memory with the MSR off", flag, 0);
	apic_clean("PPR with the MSR off");
}

/* paravirt = off: nothing of KVM. */
static void check_off(uint64_t pa)
{
	uint32_t r[4];

	for (uint32_t leaf = KVM_SIG_LEAF; leaf <= KVM_FEATURES_LEAF; leaf++) {
		cpuid(leaf, 0, r);
		if (r[0] | r[1] | r[2] | r[3])
			guest_fail("paravirt off: leaf 0x%x is 0x%x 0x%x 0x%x 0x%x", leaf, r[0],
				   r[1], r[2], r[3]);
	}
	rdmsr_gp("paravirt off: rdmsr MSR_KVM_PV_EOI_EN");
	wrmsr_gp("paravirt off: wrmsr MSR_KVM_PV_EOI_EN = 0", 0);
	wrmsr_gp("paravirt off: wrmsr MSR_KVM_PV_EOI_EN = flag", pa | 1);
	guest_printf("pveoi: paravirt off: no KVM leaves, MSR #GP\n");
}

/* Step 7. */
static void timer_rounds(uint64_t pa, unsigned rounds)
{
	uint32_t r[4];

	cpuid(0x40000010, 0, r);        /* EBX: the APIC timer's kHz */
	wrmsr(MSR_KVM_PV_EOI_EN, pa | 1);
	runs = flag_set = deferred = 0;
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV1);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | VEC_TICK);
	lapic_write(APIC_TIMER_ICR, r[1] * TICK_US / 1000);
	irq_enable();
	wait_until(runs >= rounds, WAIT_US);
	irq_disable();
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_TICK);
	lapic_write(APIC_TIMER_ICR, 0);
	unsigned n = runs;
	guest_printf("pveoi: timer: %u interrupts, flag set in %u, EOIs through it %u\n", n,
		     flag_set, deferred);
	if (n < rounds)
		guest_fail("%u timer interrupts in %d s, expected %u", n, WAIT_US / 1000000, rounds);
	if (!deferred)
		guest_fail("no timer interrupt's EOI went through the flag");
	apic_clean("PPR after the timer rounds");
}

void test_main(void)
{
	uint64_t pa = (uint64_t)(uintptr_t)&flag;       /* identity-mapped */

	irq_init();
	irq_set_handler(VEC_A, irq_a);
	irq_set_handler(VEC_A + 1, counting_irq);
	irq_set_handler(VEC_B, irq_b);
	irq_set_handler(VEC_UART, uart_irq);
	irq_set_handler(VEC_TICK, counting_irq);
	if (!time_init() || !lapic_enable())
		return;
	if (!cmdline_u64("paravirt", 1)) {
		check_off(pa);
		return;
	}
	if (!check_cpuid())
		return;
	check_msr(pa);
	self_ipis();
	level_irq();
	msr_off();
	timer_rounds(pa, (unsigned)cmdline_u64("rounds", ROUNDS));
	guest_printf("pveoi: done\n");
}
