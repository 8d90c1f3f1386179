/*
 * PC platform support for the 64-bit test guests that take interrupts:
 * a full IDT with interrupt handlers, the TSC calibrated against the PIT,
 * the local APIC (xAPIC and x2APIC), the IOAPIC, the 8259 PIC pair, the
 * firmware tables (ACPI MADT, Intel MP table) and starting the other CPUs.
 * 64-bit only (libguest64.a).
 *
 * Order of use: trap_init() (done by the start code), irq_init(),
 * time_init(), then the devices.  Interrupt handlers run with IF = 0 on
 * the interrupted CPU's stack; they send their own EOI.
 */
#ifndef GUEST_LIB_PC_H
#define GUEST_LIB_PC_H

#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cpu_relax(void) { asm volatile("pause" ::: "memory"); }
static inline void irq_enable(void) { asm volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { asm volatile("cli" ::: "memory"); }
/*
 * Call with interrupts disabled, after checking that there is something
 * to wait for: STI's one-instruction shadow covers HLT (SDM vol. 2B STI),
 * so an interrupt arriving after the check still ends the HLT.  Returns
 * with interrupts disabled again, after the handler ran.
 */
static inline void irq_wait(void) { asm volatile("sti; hlt; cli" ::: "memory"); }

/* ---- the MC146818 CMOS RAM and RTC registers, ports 0x70/0x71 ---------- */
#define CMOS_INDEX      0x70            /* bit 7 of the index masks NMI on a PC */
#define CMOS_DATA       0x71

static inline uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static inline void cmos_write(uint8_t reg, uint8_t v)
{
	outb(CMOS_INDEX, reg);
	outb(CMOS_DATA, v);
}

/* ---- irq.c, irq64.S: vectors 32-255 ------------------------------------- */
#define VEC_SPURIOUS    0xff    /* the local APIC's spurious vector (SVR) */

typedef void (*irq_handler_t)(unsigned vector);

/*
 * Builds a 256-entry IDT on this CPU: vectors 0-31 as trap_init() set them,
 * 32-255 through irq_set_handler().  An interrupt without a handler is a
 * FAILURE naming the vector (it gets a local APIC EOI).  VEC_SPURIOUS is
 * counted and needs no EOI (SDM vol. 3A §11.9).
 */
void irq_init(void);
void irq_load_idt(void);                /* the same IDT, on another CPU */
void irq_set_handler(unsigned vector, irq_handler_t fn);
uint64_t irq_spurious_count(void);

/* ---- time.c: the TSC, calibrated with PIT channel 2 -------------------- */
#define PIT_HZ          1193182u
extern uint64_t tsc_khz;

/* Measures tsc_khz against PIT channel 2 (read-back of its count).  ERROR and false if the PIT does not count. */
bool time_init(void);
uint64_t us_to_tsc(uint64_t us);
uint64_t tsc_to_us(uint64_t ticks);
void delay_us(uint64_t us);

/* Spins (PAUSE) until cond holds or us microseconds pass; the value of cond. */
#define wait_until(cond, us) ({ \
	uint64_t wu_end_ = rdtsc() + us_to_tsc(us); \
	bool wu_ok_; \
	while (!(wu_ok_ = !!(cond)) && rdtsc() < wu_end_) \
		cpu_relax(); \
	wu_ok_; \
})

/* ---- apic.c: local APIC (SDM vol. 3A ch. 11) --------------------------- */
#define LAPIC_BASE              0xfee00000ul
#define MSR_APIC_BASE           0x1b
#define APIC_BASE_EXTD          (1ull << 10)
#define APIC_BASE_EN            (1ull << 11)
#define MSR_TSC_DEADLINE        0x6e0
#define MSR_X2APIC(reg)         (0x800u + (reg) / 16)

#define APIC_ID         0x020
#define APIC_VERSION    0x030
#define APIC_TPR        0x080
#define APIC_EOI        0x0b0
#define APIC_LDR        0x0d0
#define APIC_SVR        0x0f0
#define APIC_ISR        0x100   /* 8 registers, 16 bytes apart */
#define APIC_IRR        0x200
#define APIC_ESR        0x280
#define APIC_ICR_LO     0x300
#define APIC_ICR_HI     0x310
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_LINT0  0x350
#define APIC_LVT_LINT1  0x360
#define APIC_LVT_ERROR  0x370
#define APIC_TIMER_ICR  0x380
#define APIC_TIMER_CCR  0x390
#define APIC_TIMER_DCR  0x3e0
#define APIC_SELF_IPI   0x3f0   /* x2APIC only */

#define APIC_SVR_ENABLE         0x100u
#define APIC_LVT_MASKED         (1u << 16)
#define APIC_LVT_ONESHOT        (0u << 17)
#define APIC_LVT_PERIODIC       (1u << 17)
#define APIC_LVT_TSC_DEADLINE   (2u << 17)
#define APIC_DM_EXTINT          0x700u
#define APIC_DM_NMI             0x400u
#define APIC_DCR_DIV1           0xbu
#define APIC_DCR_DIV16          0x3u

/* ICR low word (§11.6.1): delivery mode, level, shorthand. */
#define ICR_FIXED               0x000u
#define ICR_INIT                0x500u
#define ICR_STARTUP             0x600u
#define ICR_PENDING             (1u << 12)
#define ICR_ASSERT              (1u << 14)
#define ICR_SELF                (1u << 18)
#define ICR_ALL_INCL            (2u << 18)
#define ICR_ALL_EXCL            (3u << 18)

#define CPUID1_ECX_X2APIC       (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

/* Registers by xAPIC offset; MSR 0x800 + offset / 16 if this CPU is in x2APIC mode. */
uint32_t lapic_read(unsigned reg);
void lapic_write(unsigned reg, uint32_t v);
/*
 * On this CPU: IA32_APIC_BASE enabled at LAPIC_BASE, SVR enabled with
 * VEC_SPURIOUS, TPR 0, ESR cleared.  FAILURE and false if the APIC sits
 * elsewhere.
 */
bool lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Reads ESR (after the write that latches it, §11.5.3). */
uint32_t lapic_esr(void);
/* True if the ISR bit of vector is set (the handler of vector is running). */
bool lapic_in_service(unsigned vector);
/*
 * ICR write: dest is an APIC id (ignored with a shorthand).  xAPIC mode
 * waits for the delivery status to clear: false if it does not within 10 s
 * (needs time_init()).
 */
bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo);
bool lapic_x2apic_supported(void);
/* Switches this CPU to x2APIC mode (§11.12.1); false if CPUID lacks it. */
bool lapic_x2apic_enable(void);
bool lapic_x2apic_on(void);
/* Timer ticks per second with divide configuration dcr, measured against the TSC. */
uint64_t lapic_timer_rate(uint32_t dcr);

/* ---- apic.c: IOAPIC (82093AA data sheet §3) and 8259A PIC pair --------- */
#define IOAPIC_REG_ID           0x00
#define IOAPIC_REG_VER          0x01
#define IOAPIC_REG_RTE(pin)     (0x10 + 2 * (pin))
#define RTE_LEVEL               (1ull << 15)
#define RTE_ACTLOW              (1ull << 13)
#define RTE_REMOTE_IRR          (1ull << 14)
#define RTE_MASKED              (1ull << 16)
#define RTE_DEST(apic_id)       ((uint64_t)(apic_id) << 56)

void ioapic_init(uint32_t base);        /* the MADT's address */
uint32_t ioapic_read(unsigned reg);
void ioapic_write(unsigned reg, uint32_t v);
unsigned ioapic_pins(void);             /* from the version register */
uint64_t ioapic_get_rte(unsigned pin);
void ioapic_set_rte(unsigned pin, uint64_t rte);
void ioapic_mask_all(void);

#define PIC_VEC_MASTER  0x20
#define PIC_VEC_SLAVE   0x28
/* ICW1-ICW4 (cascade on IR2, 8086 mode), then every IRQ masked. */
void pic_init(uint8_t master_vec, uint8_t slave_vec);
void pic_set_mask(uint16_t mask);       /* bit n: IRQ n masked */
void pic_eoi(unsigned irq);             /* non-specific EOI to the chips involved */
uint16_t pic_isr(void);                 /* OCW3 read ISR, both chips */

/* ---- acpi.c: ACPI MADT (ACPI 6.5 §5.2.12) and MP table (MP spec 1.4 §4) - */
#define MAX_CPUS        16

struct madt_info {
	uint32_t lapic_addr, flags;
	unsigned nr_cpus;                       /* enabled local APICs */
	unsigned nr_disabled;
	uint32_t apic_ids[MAX_CPUS];
	unsigned nr_ioapics;
	uint32_t ioapic_addr, ioapic_gsi_base;
	uint8_t ioapic_id;
	uint32_t isa_gsi[16];                   /* ISA IRQ -> GSI (overrides applied) */
	uint16_t isa_flags[16];                 /* MPS INTI flags of the override */
};
struct mp_info {
	unsigned nr_cpus;                       /* enabled processor entries */
	uint8_t apic_ids[MAX_CPUS];
	int bsp_apic_id;                        /* -1 if no entry is flagged BSP */
	unsigned nr_ioapics;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
};

/* FAILURE and false if the RSDP, (X)RSDT or MADT is missing or malformed. */
bool madt_read(struct madt_info *m);
/* Prints "<test>: MADT: ..." lines. */
void madt_print(const struct madt_info *m);
/* FAILURE and false if the MP floating pointer or its table is missing or malformed. */
bool mp_read(struct mp_info *mp);

/* ---- smpboot.c, ap_trampoline.S: the other CPUs ------------------------ */
#define AP_TRAMPOLINE   0x8000u         /* below 1 MiB, 4 KiB aligned */

/* CPUs running (the BSP is CPU 0), and their APIC ids by CPU index. */
extern unsigned smp_nr_cpus;
extern uint32_t smp_apic_ids[MAX_CPUS];

/*
 * Starts every enabled CPU of the MADT other than this one with INIT,
 * STARTUP, STARTUP (MP spec 1.4 appendix B.4), one at a time, through a
 * real-mode trampoline copied to AP_TRAMPOLINE.  Each AP comes up in long
 * mode on the BSP's page tables, with its own 16 KiB stack and the IDT of
 * irq_init(), interrupts disabled, and calls fn(cpu index); fn must not
 * return (if it does, the AP halts).  Needs lapic_enable() and
 * time_init() on the BSP.  Returns the number of CPUs running, BSP
 * included; an AP that does not come up is a FAILURE and stops the
 * sequence.
 */
unsigned smp_start_aps(const struct madt_info *m, void (*fn)(unsigned cpu));
/* Index of the calling CPU (0 = BSP), from its stack: usable in handlers. */
unsigned smp_this_cpu(void);

/* ---- work.c: deterministic CPU-bound work ------------------------------- */
/*
 * iters steps of a 64-bit LCG (Knuth's MMIX constants) from seed, also
 * folding each state into *sum.  Returns the final state, which
 * work_expect() computes in O(log iters) by jumping ahead (F. Brown,
 * "Random number generation with arbitrary strides", 1994).
 */
uint64_t work_run(uint64_t seed, uint64_t iters, uint64_t *sum);
uint64_t work_expect(uint64_t seed, uint64_t iters);
/* Value of key=N on the command line, def if absent; ERROR if malformed. */
uint64_t cmdline_u64(const char *key, uint64_t def);

#endif
