/*
 * Interrupt controllers for the test guests: the local APIC in xAPIC
 * (MMIO at 0xFEE00000) or x2APIC (MSRs 0x800-0x8FF) mode (Intel SDM vol.
 * 3A ch. 11), the IOAPIC (Intel 82093AA data sheet §3) and the 8259A pair
 * (Intel 8259A data sheet, ICW and OCW formats).
 */
#include "test/guests/lib/pc.h"

#define IPI_TIMEOUT_US  10000000
#define CAL_US          10000
#define CAL_RUNS        10

/* x2APIC mode per CPU index: xAPIC and x2APIC CPUs may coexist in a test. */
static bool x2apic[MAX_CPUS];

static bool this_x2apic(void)
{
	unsigned cpu = smp_this_cpu();

	return cpu < MAX_CPUS && x2apic[cpu];
}

uint32_t lapic_read(unsigned reg)
{
	if (this_x2apic())
		return (uint32_t)rdmsr(MSR_X2APIC(reg));
	return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

void lapic_write(unsigned reg, uint32_t v)
{
	if (this_x2apic())
		wrmsr(MSR_X2APIC(reg), v);
	else
		*(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

bool lapic_enable(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if ((base & ~0xfffull) != LAPIC_BASE) {
		guest_fail("IA32_APIC_BASE 0x%lx: APIC not at 0x%lx", base, LAPIC_BASE);
		return false;
	}
	if (!(base & APIC_BASE_EN))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	lapic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(APIC_TPR, 0);
	lapic_esr();
	return true;
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(APIC_ID);

	return this_x2apic() ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(APIC_EOI, 0);
}

uint32_t lapic_esr(void)
{
	lapic_write(APIC_ESR, 0);
	return lapic_read(APIC_ESR);
}

bool lapic_in_service(unsigned vector)
{
	return lapic_read(APIC_ISR + (vector / 32) * 16) >> (vector % 32) & 1;
}

bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo)
{
	uint64_t flags;

	/* ICR_HI then ICR_LO must not be split by a handler sending an IPI. */
	asm volatile("pushfq; popq %0; cli" : "=r"(flags) :: "memory");
	if (this_x2apic()) {
		/* §11.12.9: one 64-bit write, destination in bits 63:32. */
		wrmsr(MSR_X2APIC(APIC_ICR_LO), (uint64_t)dest << 32 | icr_lo);
	} else {
		lapic_write(APIC_ICR_HI, dest << 24);
		lapic_write(APIC_ICR_LO, icr_lo);
	}
	if (flags & RFLAGS_IF)
		irq_enable();
	return this_x2apic() || wait_until(!(lapic_read(APIC_ICR_LO) & ICR_PENDING),
					   IPI_TIMEOUT_US);
}

bool lapic_x2apic_supported(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return r[2] & CPUID1_ECX_X2APIC;
}

bool lapic_x2apic_enable(void)
{
	unsigned cpu = smp_this_cpu();

	if (!lapic_x2apic_supported() || cpu >= MAX_CPUS)
		return false;
	/* §11.12.5: xAPIC (EN) to x2APIC (EN | EXTD) is a valid transition. */
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	x2apic[cpu] = true;
	return true;
}

bool lapic_x2apic_on(void)
{
	return this_x2apic();
}

/*
 * One CAL_US window of the current count; each read is bracketed by TSC
 * readings, as in time.c.  *rate gets the ticks per second, *precise
 * whether the brackets are within 2 % of the window.
 */
static void timer_rate_once(uint64_t *rate, bool *precise)
{
	lapic_write(APIC_TIMER_ICR, 0xffffffffu);
	uint64_t a0 = rdtsc();
	uint32_t c0 = lapic_read(APIC_TIMER_CCR);
	uint64_t a1 = rdtsc();
	delay_us(CAL_US);
	uint64_t b0 = rdtsc();
	uint32_t c1 = lapic_read(APIC_TIMER_CCR);
	uint64_t b1 = rdtsc();
	lapic_write(APIC_TIMER_ICR, 0);
	uint64_t mid = ((b0 - a1) + (b1 - a0)) / 2;
	*rate = c1 < c0 && mid ? (uint64_t)(c0 - c1) * tsc_khz * 1000 / mid : 0;
	*precise = ((a1 - a0) + (b1 - b0)) * 50 <= mid;
}

uint64_t lapic_timer_rate(uint32_t dcr)
{
	uint64_t best = 0;

	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_LVT_ONESHOT);
	lapic_write(APIC_TIMER_DCR, dcr);
	/* The first precise window; if none is (the host is that busy), the
	 * fastest rate seen. */
	for (int i = 0; i < CAL_RUNS; i++) {
		uint64_t rate;
		bool precise;
		timer_rate_once(&rate, &precise);
		if (rate > best)
			best = rate;
		if (precise && rate)
			return rate;
	}
	return best;
}

/* ---- IOAPIC ---------------------------------------------------------------- */
static uintptr_t ioapic_base;

#define IOREGSEL        0x00
#define IOWIN           0x10

void ioapic_init(uint32_t base)
{
	ioapic_base = base;
}

uint32_t ioapic_read(unsigned reg)
{
	*(volatile uint32_t *)(ioapic_base + IOREGSEL) = reg;
	return *(volatile uint32_t *)(ioapic_base + IOWIN);
}

void ioapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(ioapic_base + IOREGSEL) = reg;
	*(volatile uint32_t *)(ioapic_base + IOWIN) = v;
}

unsigned ioapic_pins(void)
{
	return (ioapic_read(IOAPIC_REG_VER) >> 16 & 0xff) + 1;
}

uint64_t ioapic_get_rte(unsigned pin)
{
	return ioapic_read(IOAPIC_REG_RTE(pin)) |
	       (uint64_t)ioapic_read(IOAPIC_REG_RTE(pin) + 1) << 32;
}

void ioapic_set_rte(unsigned pin, uint64_t rte)
{
	/* Mask first, destination, then the low half that may unmask. */
	ioapic_write(IOAPIC_REG_RTE(pin), (uint32_t)RTE_MASKED);
	ioapic_write(IOAPIC_REG_RTE(pin) + 1, (uint32_t)(rte >> 32));
	ioapic_write(IOAPIC_REG_RTE(pin), (uint32_t)rte);
}

void ioapic_mask_all(void)
{
	unsigned n = ioapic_pins();

	for (unsigned pin = 0; pin < n && pin < 240; pin++)
		ioapic_set_rte(pin, RTE_MASKED);
}

/* ---- 8259A pair ------------------------------------------------------------ */
#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xa0
#define PIC2_DATA       0xa1
#define ICW1_INIT_ICW4  0x11    /* edge, cascade, ICW4 follows */
#define ICW4_8086       0x01
#define OCW2_EOI        0x20    /* non-specific EOI */
#define OCW3_READ_ISR   0x0b

void pic_init(uint8_t master_vec, uint8_t slave_vec)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, master_vec);    /* ICW2 */
	outb(PIC2_DATA, slave_vec);
	outb(PIC1_DATA, 1u << 2);       /* ICW3: slave on IR2 */
	outb(PIC2_DATA, 2);             /* ICW3: slave id 2 */
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	pic_set_mask(0xffff);
}

void pic_set_mask(uint16_t mask)
{
	outb(PIC1_DATA, (uint8_t)mask);
	outb(PIC2_DATA, (uint8_t)(mask >> 8));
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, OCW2_EOI);
	outb(PIC1_CMD, OCW2_EOI);
}

uint16_t pic_isr(void)
{
	outb(PIC1_CMD, OCW3_READ_ISR);
	outb(PIC2_CMD, OCW3_READ_ISR);
	return (uint16_t)(inb(PIC1_CMD) | inb(PIC2_CMD) << 8);
}
