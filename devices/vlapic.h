/*
 * The virtual local APIC of one vCPU (Intel SDM vol. 3A ch. 11): the xAPIC
 * MMIO page, the x2APIC MSRs, interrupt acceptance and priority, the timer
 * (one-shot, periodic, TSC-deadline) and IPIs.  A pure model: it talks to
 * the VM layer only through struct irq_ops (devices/irq.h) and learns the
 * time through the `now` callback given at init (nanoseconds of VM time).
 *
 * What the model leaves to the VM layer:
 *  - routing: an ICR write becomes ops->apic_deliver(); the VM layer asks
 *    vlapic_match_dest() of each vCPU's vlapic and hands the message to
 *    vlapic_deliver() of those that match.  Lowest-priority messages match
 *    like fixed ones; the VM layer delivers them to the first match only.
 *  - injection: vlapic_pending_vector() names the vector to inject, and
 *    vlapic_accept() moves it from IRR to ISR once it is injected.
 *  - the vCPU side of INIT and SIPI (vlapic_take_events()).
 *  - timers: after any call, vlapic_timer_deadline() may have moved; the
 *    VM layer calls vlapic_timer_update() at or after it.
 *
 * Deviations from the SDM, all deliberate:
 *  - the APIC ID register is read-only in xAPIC mode too (§11.4.6 lets a
 *    processor refuse writes); the VM layer puts the same ids in the MADT.
 *  - APR and RRD read as 0 (P6-era registers; §11.4.1 Table 11-1).
 *  - the base is fixed at 0xFEE00000; relocation is refused (#GP).
 *  - on reset the BSP's LVT LINT0 is ExtINT, unmasked: the virtual-wire
 *    setup PC firmware leaves behind (MP spec 1.4 §3.6.2.2), so guests
 *    loaded without firmware still get PIC interrupts.
 *  - LVT CMCI (0x2F0) is kept as a plain register although the version's
 *    max LVT entry (5) does not count it; no machine checks, so it never fires.
 *  - the version register (0x00050014) advertises no EOI-broadcast
 *    suppression, so SVR bit 12 is reserved; see VLAPIC_VERSION.
 *  - a software- or hardware-disabled APIC drops fixed and lowest-priority
 *    interrupts but still latches NMI, INIT and SIPI (§11.4.7.2).
 *  - in x2APIC mode, and with the APIC hardware-disabled, the MMIO page is
 *    not the APIC: reads return all ones, writes are dropped.
 *  - in x2APIC mode, physical destination 0xFF is a broadcast like
 *    0xFFFFFFFF: IOAPIC and MSI messages carry 8-bit destinations (Linux
 *    KVM does the same).  So x2APIC id 0xFF is not usable alone.
 *
 * Locking: each vlapic has its own spinlock; every function below takes
 * it, and none calls irq_ops with it held.  vlapic_match_dest() may be
 * called for any vCPU from any CPU.  Guest accesses read the clock through
 * `now` with the lock held: it must not call back into the vlapic.
 */
#ifndef KASANE_DEVICES_VLAPIC_H
#define KASANE_DEVICES_VLAPIC_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/irq.h"

#define VLAPIC_BASE_DEFAULT  0xfee00000ULL
#define VLAPIC_MMIO_SIZE     0x1000ULL
/* The timer's input clock (the "bus clock" of §11.5.4): 1 tick per ns. */
#define VLAPIC_BUS_HZ        1000000000ULL

/* The shortest period of a periodic timer (see timer_period()). */
#define VLAPIC_MIN_PERIOD_NS 200000ULL

/* Version 14h (xAPIC), max LVT entry 5: six LVT entries (§11.4.8). */
#define VLAPIC_VERSION       0x00050014u

/* IA32_APIC_BASE bits (§11.4.4, §11.12.1). */
#define MSR_IA32_APIC_BASE   0x1b
#define APIC_BASE_BSP        (1ULL << 8)
#define APIC_BASE_EXTD       (1ULL << 10)
#define APIC_BASE_EN         (1ULL << 11)

#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST     0x800
#define MSR_X2APIC_LAST      0x8ff

/* Register offsets in the xAPIC page (§11.4.1 Table 11-1); the x2APIC MSR
 * of a register is 0x800 + offset / 16 (§11.12.1.2 Table 11-6). */
#define APIC_REG_ID          0x020
#define APIC_REG_VERSION     0x030
#define APIC_REG_TPR         0x080
#define APIC_REG_APR         0x090
#define APIC_REG_PPR         0x0a0
#define APIC_REG_EOI         0x0b0
#define APIC_REG_RRD         0x0c0
#define APIC_REG_LDR         0x0d0
#define APIC_REG_DFR         0x0e0
#define APIC_REG_SVR         0x0f0
#define APIC_REG_ISR         0x100      /* 8 registers, 0x100-0x170 */
#define APIC_REG_TMR         0x180
#define APIC_REG_IRR         0x200
#define APIC_REG_ESR         0x280
#define APIC_REG_LVT_CMCI    0x2f0
#define APIC_REG_ICR_LO      0x300
#define APIC_REG_ICR_HI      0x310
#define APIC_REG_LVT_TIMER   0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF    0x340
#define APIC_REG_LVT_LINT0   0x350
#define APIC_REG_LVT_LINT1   0x360
#define APIC_REG_LVT_ERROR   0x370
#define APIC_REG_TIMER_ICR   0x380      /* initial count */
#define APIC_REG_TIMER_CCR   0x390      /* current count */
#define APIC_REG_TIMER_DCR   0x3e0      /* divide configuration */
#define APIC_REG_SELF_IPI    0x3f0      /* x2APIC only (§11.12.11) */

/* SVR (§11.9 Figure 11-23). */
#define APIC_SVR_ENABLE      (1u << 8)
#define APIC_SVR_EOI_SUPPRESS (1u << 12)

/* LVT fields (§11.5.1 Figure 11-8). */
#define APIC_LVT_VECTOR      0x000000ffu
#define APIC_LVT_DM_SHIFT    8
#define APIC_LVT_DM          (7u << 8)
#define APIC_LVT_PENDING     (1u << 12)
#define APIC_LVT_POLARITY    (1u << 13)
#define APIC_LVT_REMOTE_IRR  (1u << 14)
#define APIC_LVT_LEVEL       (1u << 15)
#define APIC_LVT_MASKED      (1u << 16)
#define APIC_LVT_TIMER_SHIFT 17
#define APIC_LVT_TIMER_MODE  (3u << 17)
#define APIC_TIMER_ONESHOT   0u
#define APIC_TIMER_PERIODIC  1u
#define APIC_TIMER_TSC_DEADLINE 2u

/* ICR fields (§11.6.1 Figure 11-12, §11.12.9). */
#define APIC_ICR_VECTOR      0x000000ffu
#define APIC_ICR_DM_SHIFT    8
#define APIC_ICR_LOGICAL     (1u << 11)
#define APIC_ICR_PENDING     (1u << 12)
#define APIC_ICR_ASSERT      (1u << 14)
#define APIC_ICR_LEVEL       (1u << 15)
#define APIC_ICR_SH_SHIFT    18

/* ESR bits (§11.5.3 Figure 11-9). */
#define APIC_ESR_SEND_ILLEGAL  (1u << 5)
#define APIC_ESR_RECV_ILLEGAL  (1u << 6)
#define APIC_ESR_ILLEGAL_REG   (1u << 7)

/* LVT entries, in register order. */
enum vlapic_lvt {
	VLAPIC_LVT_TIMER, VLAPIC_LVT_THERMAL, VLAPIC_LVT_PERF,
	VLAPIC_LVT_LINT0, VLAPIC_LVT_LINT1, VLAPIC_LVT_ERROR,
	VLAPIC_LVT_CMCI, VLAPIC_NR_LVT
};

/* Events for the VM layer (vlapic_take_events). */
#define VLAPIC_EV_INIT       0x1u
#define VLAPIC_EV_SIPI       0x2u

struct vlapic {
	spinlock_t lock;
	uint32_t id;                    /* x2APIC id; the xAPIC id is its low byte */
	uint32_t tsc_khz;               /* guest TSC frequency */
	uint64_t apic_base;             /* IA32_APIC_BASE as the guest reads it */
	const struct irq_ops *ops;
	void *vm;
	uint64_t (*now)(void *ctx);
	void *now_ctx;

	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr;                   /* as read: latched by the last ESR write */
	uint32_t esr_pending;           /* errors seen since that write */
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t lvt[VLAPIC_NR_LVT];
	uint32_t icr_lo, icr_hi;
	uint32_t timer_icr, timer_dcr;
	uint64_t timer_deadline;        /* ns at which the count reaches 0, or NO_DEADLINE */
	uint64_t tsc_deadline;          /* IA32_TSC_DEADLINE as written; 0 when disarmed */

	bool nmi;                       /* NMI latched, not yet injected */
	unsigned events;                /* VLAPIC_EV_* not yet taken */
	uint8_t sipi_vector;            /* of the last SIPI */

	/* A vector handed to the CPU to deliver by itself (vlapic_post_begin),
	 * out of IRR until vlapic_post_end(); -1 if none. */
	int posted;

	/* Paravirtual EOI (vlapic_pv_eoi_*): the guest's MSR_KVM_PV_EOI_EN. */
	uint64_t pv_eoi_msr;            /* gpa | PV_EOI_ENABLED, or 0 */

	/* Statistics. */
	uint64_t pv_eois;               /* EOIs the guest made through the PV EOI flag */
	uint64_t timer_fired;           /* expiries, including ones not delivered */
	uint64_t timer_missed;          /* periodic expiries merged into a later one */
	uint64_t ipis_sent;
};

/*
 * Power-up state (§11.4.7.1, §11.12.5.1): xAPIC mode at 0xFEE00000, the
 * BSP flag as given.  tsc_khz is the guest TSC frequency (0 is taken as
 * 1 GHz).  now(now_ctx) returns the VM's time in ns.
 */
void vlapic_init(struct vlapic *vl, uint32_t apic_id, bool bsp, uint32_t tsc_khz,
		 const struct irq_ops *ops, void *vm_ctx,
		 uint64_t (*now)(void *ctx), void *now_ctx);

/* INIT (§11.4.7.3): every register back to its reset value except the ID
 * and IA32_APIC_BASE (the mode is kept, §11.12.5.1). */
void vlapic_reset(struct vlapic *vl);

/*
 * MMIO handler (iobus) for the page at VLAPIC_BASE_DEFAULT; gpa & 0xfff is
 * the offset.  Registers are 32 bits at 16-byte-aligned offsets; another
 * width or offset reads 0 and is dropped on write (§11.4.1 requires
 * aligned 32-bit accesses).  An aligned access to a reserved offset sets
 * ESR bit 7.  Writes to read-only registers are dropped.  Returns 0.
 */
int vlapic_mmio(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val);

/* x2APIC MSRs 0x800-0x8FF (§11.12.1.2).  false: raise #GP (xAPIC mode,
 * reserved MSR, wrong direction, non-zero reserved bits, §11.12.1.3). */
bool vlapic_msr_read(struct vlapic *vl, uint32_t msr, uint64_t *val);
bool vlapic_msr_write(struct vlapic *vl, uint32_t msr, uint64_t val);

/* IA32_APIC_BASE (§11.12.5).  set returns false (#GP) for reserved bits,
 * another base, EN=0 with EXTD=1, x2APIC->xAPIC and disabled->x2APIC.
 * The BSP bit is read-only and a written value is ignored.  Disabling the
 * APIC resets its registers except the ID. */
bool vlapic_set_apic_base(struct vlapic *vl, uint64_t val);
uint64_t vlapic_get_apic_base(struct vlapic *vl);

/*
 * IA32_TSC_DEADLINE (§11.5.4.1).  now_ns and now_tsc are the same instant
 * in VM time and guest TSC ticks.  Outside TSC-deadline mode reads return
 * 0 and writes are ignored; 0 disarms; a past deadline fires at once.
 */
uint64_t vlapic_read_tsc_deadline(struct vlapic *vl);
void vlapic_write_tsc_deadline(struct vlapic *vl, uint64_t tsc, uint64_t now_ns,
			       uint64_t now_tsc);

/* TPR as CR8 sees it (§11.8.6): CR8[3:0] = TPR[7:4]. */
uint8_t vlapic_get_cr8(struct vlapic *vl);
void vlapic_set_cr8(struct vlapic *vl, uint8_t cr8);

/*
 * A fixed interrupt arrives (§11.8.4): IRR bit set, TMR bit set for level,
 * cleared for edge.  Vectors 0-15 set ESR bit 6 and are dropped (§11.5.2).
 */
void vlapic_set_irq(struct vlapic *vl, uint8_t vector, bool level);

/* Accept a message vlapic_match_dest() matched: fixed/lowest-priority go
 * to vlapic_set_irq(), NMI, INIT and SIPI are latched.  SMI and ExtINT
 * messages are ignored (no SMM; ExtINT comes through LINT0). */
void vlapic_deliver(struct vlapic *vl, const struct apic_msg *m);

/* Highest IRR vector whose priority class is above PPR's, or -1 (also -1
 * while the APIC is disabled). */
int vlapic_pending_vector(struct vlapic *vl);

/* The vector was injected: IRR -> ISR.  Returns the vector the processor
 * gets, which is the SVR's spurious vector (and ISR is untouched) if the
 * interrupt is no longer deliverable (§11.9). */
uint8_t vlapic_accept(struct vlapic *vl, uint8_t vector);

/*
 * A posted interrupt (arch/x86/virt_ops.h, post_intr): vector, which
 * vlapic_pending_vector() named, is handed to the CPU, which delivers it
 * by itself when the guest can take it.  It leaves IRR now, as the CPU's
 * own acknowledge would take it out: the same vector sent again while the
 * guest runs is a second interrupt, kept in IRR, not merged into one the
 * guest may have taken already (an IPI lost).  After the exit,
 * vlapic_post_end() puts it in service if the guest took it, else back
 * in IRR; without a post it does nothing.  Returns the vector put in
 * service, or -1.
 */
void vlapic_post_begin(struct vlapic *vl, uint8_t vector);
int vlapic_post_end(struct vlapic *vl, bool taken);

/*
 * An edge on local interrupt pin LINT0 or LINT1; its LVT entry says what
 * it is (§11.5.1): masked, nothing; NMI, an NMI is latched; fixed, the
 * entry's vector arrives as an edge-triggered interrupt.  SMI, INIT and
 * ExtINT edges are ignored (no SMM; the PIC's ExtINT path is
 * vlapic_accepts_pic).  With the APIC hardware-disabled the pins are the
 * CPU's INTR and NMI (§11.4.3): an edge on LINT1 latches an NMI.
 */
void vlapic_lint_edge(struct vlapic *vl, unsigned pin);

bool vlapic_nmi_pending(struct vlapic *vl);
/* Clear a latched NMI; returns whether there was one. */
bool vlapic_nmi_ack(struct vlapic *vl);

/* VLAPIC_EV_* latched since the last call, cleared; *sipi_vector gets the
 * vector of the last SIPI if VLAPIC_EV_SIPI is set. */
unsigned vlapic_take_events(struct vlapic *vl, uint8_t *sipi_vector);

/* LVT LINT0 is ExtINT and unmasked in a hardware-enabled APIC (virtual wire). */
bool vlapic_extint_ready(const struct vlapic *vl);
/* Whether the PIC's INTR reaches this vCPU (as ExtINT, bypassing PPR):
 * the APIC is hardware-disabled, or vlapic_extint_ready(). */
bool vlapic_accepts_pic(const struct vlapic *vl);

/* Whether m is addressed to this APIC (§11.6.2, §11.12.10): shorthands
 * against m->src, physical (broadcast 0xFF, or 0xFFFFFFFF in x2APIC mode),
 * logical flat/cluster (DFR, LDR) or x2APIC cluster. */
bool vlapic_match_dest(const struct vlapic *vl, const struct apic_msg *m);

/* When the timer next expires, in ns of VM time; NO_DEADLINE if it is
 * stopped or its LVT entry is masked. */
uint64_t vlapic_timer_deadline(const struct vlapic *vl);
/* Fire the timer if it is due at now_ns.  A periodic timer re-arms from
 * its previous deadline; periods missed entirely count in timer_missed
 * and are merged into one interrupt. */
void vlapic_timer_update(struct vlapic *vl, uint64_t now_ns);

/*
 * Paravirtual EOI, the interface Linux uses under KVM (Linux
 * Documentation/virt/kvm/x86/msr.rst, MSR_KVM_PV_EOI_EN; cpuid.rst,
 * KVM_FEATURE_PV_EOI).  The guest names a flag in its memory with the MSR;
 * while bit 0 of the flag is set, its EOI clears the bit instead of
 * writing the APIC's EOI register, so it takes no exit.  The VM layer
 * reads and writes the flag (the model knows no guest memory): before an
 * entry it sets the bit if vlapic_pv_eoi_may_defer(); after the exit, if
 * the guest cleared it, it calls vlapic_pv_eoi() (after accepting a
 * posted interrupt the guest took), else clears it.
 */
#define MSR_KVM_PV_EOI_EN    0x4b564d04u
#define PV_EOI_ENABLED       1ULL       /* MSR bit 0; the flag's bit 0 too */

/* MSR_KVM_PV_EOI_EN as the guest last wrote it (0 after reset). */
uint64_t vlapic_pv_eoi_msr(struct vlapic *vl);
/* Set it; the VM layer has checked the value (alignment, RAM). */
void vlapic_set_pv_eoi_msr(struct vlapic *vl, uint64_t val);
/*
 * Whether the guest's next EOI may be deferred through the flag: PV EOI
 * enabled, and
 *  - no vector at all in IRR (an EOI that would release one must exit so
 *    that it goes in at once) and an edge-triggered vector in service (a
 *    level one's EOI reaches the I/O APIC at once, §11.8.5); or
 *  - nothing in service, nothing in IRR and an edge-triggered vector
 *    posted (vlapic_post_begin): the only EOI the flag can stand for is
 *    that vector's, if the CPU delivers it during the entry; the VM layer
 *    ends the post (vlapic_post_end) before it calls vlapic_pv_eoi().
 *    An EOI with nothing in service does nothing.
 */
bool vlapic_pv_eoi_may_defer(struct vlapic *vl);
/* The guest cleared the flag: its EOI, exactly as a write of the EOI
 * register (ISR, PPR, the I/O APIC broadcast); counted in pv_eois. */
void vlapic_pv_eoi(struct vlapic *vl);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring.
 * Version 2: pv_eoi_msr and pv_eois; 3: posted (-1 in a snapshot, as a
 * VM is saved between its vCPUs' entries; a record with a post out loads
 * with the vector back in IRR). */
#define VLAPIC_SNAP_VERSION 3u
#define VLAPIC_SNAP_SIZE sizeof(struct vlapic)
size_t vlapic_save(const struct vlapic *d, void *buf, size_t len);
bool vlapic_load(struct vlapic *d, const void *buf, size_t len);

#endif
