/*
 * The High Precision Event Timer as the guest sees it (IA-PC HPET
 * Specification 1.0a, Intel, 2004; "spec" below, section numbers its
 * own): one timer block of VHPET_TIMERS comparators at a 1 KiB MMIO page.
 *
 *   - The main counter is 64 bits wide and counts at VHPET_HZ (a 10 ns
 *     period, as QEMU's HPET has), computed from the VM's virtual time
 *     while ENABLE_CNF is set, so it runs at the rate of the guest's TSC,
 *     PM timer and local APIC timer: nothing counts tick by tick.
 *   - Every comparator is 64 bits wide, can be put in 32-bit mode
 *     (Tn_32MODE_CNF) and is periodic-capable (§2.3.9.2.2): in periodic
 *     mode a write with Tn_VAL_SET_CNF sets the comparator and the period,
 *     a write without it the period only, and each match adds the period.
 *     A one-shot 32-bit comparator matches again when the counter's low
 *     32 bits wrap (§2.3.9.2.1).
 *   - Interrupts (§2.3.9.2, §2.4): edge-triggered comparators send a pulse
 *     per match; level-triggered ones set Tn_INT_STS and hold their line
 *     asserted until the guest writes 1 to that bit.  Tn_INT_ENB_CNF gates
 *     the line, not the status.  With LEG_RT_CNF (§2.3.3, legacy
 *     replacement) timer 0 drives ISA IRQ 0 and timer 1 ISA IRQ 8; the
 *     board then disconnects the PIT and RTC from those lines.  Otherwise
 *     a comparator drives the I/O APIC input its Tn_INT_ROUTE_CNF names,
 *     one of VHPET_ROUTE_CAP (a route outside it is not taken, and reads
 *     back unchanged, §2.3.8).  FSB (MSI) delivery is not offered
 *     (Tn_FSB_INT_DEL_CAP = 0).
 *   - Periodic matches that come faster than VHPET_MIN_IRQ_GAP_NS are
 *     coalesced into one pulse per gap, the floor the PIT and the local
 *     APIC timer have too; the comparator the guest reads still advances
 *     by every period.
 *   - Lost ticks (devices/losttick.h): timer 0, periodic and edge-triggered
 *     in legacy replacement mode, is ISA IRQ 0, the tick Linux counts in
 *     check_timer() and before it has a clocksource.  Its matches that end
 *     while the vCPU is not running are owed to the guest and delivered
 *     one per acknowledge of IRQ 0 (the board calls vhpet_irq0_ack()), as
 *     the PIT's are.  A write to the general configuration, the counter or
 *     timer 0's registers, or IRQ 0 reopened after masking
 *     (vhpet_irq0_reset()), drops the backlog.  Other comparators merge
 *     missed matches into one pulse.
 *
 * Registers are 64 bits at 8-byte offsets; accesses of 1, 2, 4 and 8
 * bytes act on the bytes they cover.  Unknown offsets read 0 and ignore
 * writes.
 *
 * Each vhpet has its own lock; every function below takes it and calls
 * set_irq only after dropping it.  None may be called from an interrupt
 * handler.
 */
#ifndef KASANE_DEVICES_VHPET_H
#define KASANE_DEVICES_VHPET_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/losttick.h"

#define VHPET_BASE              0xfed00000ULL   /* where PCs put it; the ACPI HPET table says so */
#define VHPET_SIZE              0x400ULL        /* §2.3.1: 1 KiB of registers */
#define VHPET_TIMERS            3               /* §2.2: at least 3 */
#define VHPET_HZ                100000000ULL    /* 100 MHz */
#define VHPET_PERIOD_FS         (1000000000000000ULL / VHPET_HZ)
#define VHPET_VENDOR            0x8086
/* I/O APIC inputs a comparator may be routed to outside legacy mode:
 * 20-23, beside the PCI INTx lines 16-19 (core/board.h). */
#define VHPET_ROUTE_CAP         0x00f00000u
#define VHPET_MIN_IRQ_GAP_NS    200000ULL

/* Register offsets (§2.3.1, Table 2). */
#define HPET_REG_CAP            0x000
#define HPET_REG_CONFIG         0x010
#define HPET_REG_ISR            0x020
#define HPET_REG_COUNTER        0x0f0
#define HPET_REG_TIMER(n)       (0x100 + 0x20 * (n))    /* Tn_CONFIG */
#define HPET_REG_CMP(n)         (0x108 + 0x20 * (n))
#define HPET_REG_FSB(n)         (0x110 + 0x20 * (n))

/* General Capabilities and ID (§2.3.4). */
#define HPET_CAP_REV_ID         0x01
#define HPET_CAP_NUM_TIM_SHIFT  8
#define HPET_CAP_COUNT_SIZE     (1u << 13)
#define HPET_CAP_LEG_RT         (1u << 15)
#define HPET_CAP_VENDOR_SHIFT   16
#define HPET_CAP_PERIOD_SHIFT   32

/* The low 32 bits of the capabilities: what the ACPI HPET table's Event
 * Timer Block ID repeats (IA-PC HPET 1.0a §3.2.4). */
#define VHPET_BLOCK_ID          (HPET_CAP_REV_ID | (VHPET_TIMERS - 1) << HPET_CAP_NUM_TIM_SHIFT | \
				 HPET_CAP_COUNT_SIZE | HPET_CAP_LEG_RT | \
				 (uint32_t)VHPET_VENDOR << HPET_CAP_VENDOR_SHIFT)

/* General Configuration (§2.3.5). */
#define HPET_CFG_ENABLE         (1u << 0)
#define HPET_CFG_LEGACY         (1u << 1)

/* Timer N Configuration and Capability (§2.3.8). */
#define HPET_TN_LEVEL           (1u << 1)
#define HPET_TN_INT_ENB         (1u << 2)
#define HPET_TN_PERIODIC        (1u << 3)
#define HPET_TN_PER_CAP         (1u << 4)
#define HPET_TN_SIZE_CAP        (1u << 5)
#define HPET_TN_VAL_SET         (1u << 6)
#define HPET_TN_32BIT           (1u << 8)
#define HPET_TN_ROUTE_SHIFT     9
#define HPET_TN_ROUTE           (0x1fu << HPET_TN_ROUTE_SHIFT)
#define HPET_TN_FSB_EN          (1u << 14)
#define HPET_TN_FSB_CAP         (1u << 15)
#define HPET_TN_ROUTE_CAP_SHIFT 32
#define HPET_TN_WRITABLE        (HPET_TN_LEVEL | HPET_TN_INT_ENB | HPET_TN_PERIODIC | \
				 HPET_TN_32BIT | HPET_TN_ROUTE)

/* Where a comparator's interrupt goes (set_irq's `line`): an I/O APIC
 * input 0-23, or, in legacy replacement mode, ISA IRQ 0 or 8. */
#define VHPET_LINE_ISA0         24
#define VHPET_LINE_ISA8         25
#define VHPET_NR_LINES          26

struct vhpet_timer {
	uint64_t config;        /* HPET_TN_WRITABLE bits */
	uint64_t next;          /* main counter value of the next match (unwrapped) */
	bool armed;             /* next is a match to come (a 64-bit one-shot fires once) */
	uint64_t period;        /* periodic: counts added per match */
	bool val_set;           /* Tn_VAL_SET_CNF: the next comparator write sets it */
	uint64_t quiet_until;   /* ns: no periodic pulse before this */
	bool pulse_due;         /* an edge pulse decided, not yet sent */
};

struct vhpet {
	spinlock_t lock;
	spinlock_t irq_lock;    /* orders set_irq calls; taken before lock */
	uint64_t config;        /* HPET_CFG_ENABLE | HPET_CFG_LEGACY */
	uint64_t isr;           /* Tn_INT_STS of level-triggered comparators */
	uint64_t count_off;     /* while enabled: counter = count_off + ticks(now) */
	uint64_t count_held;    /* while halted: the counter */
	struct vhpet_timer t[VHPET_TIMERS];
	bool sent[VHPET_NR_LINES];      /* each line's level after the last set_irq */
	struct lost_ticks lost;         /* timer 0's on legacy IRQ 0 */
	/* set_irq(ctx, line, asserted): the board maps the line and its polarity. */
	void (*set_irq)(void *ctx, unsigned line, bool asserted);
	void *irq_ctx;
	uint64_t (*now)(void *ctx);     /* VM virtual time, ns */
	void *now_ctx;
	uint64_t irq_pulses, irq_coalesced;     /* statistics */
};

/* Reset state (§2.3): counter halted at 0, every comparator off. */
void vhpet_init(struct vhpet *h, void (*set_irq)(void *ctx, unsigned line, bool asserted),
		void *irq_ctx, uint64_t (*now)(void *ctx), void *now_ctx);

/* MMIO handler for [VHPET_BASE, VHPET_BASE + VHPET_SIZE): gpa is taken
 * modulo VHPET_SIZE.  Returns IOBUS_EINVAL for a bad width. */
int vhpet_mmio(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val);

/* ENABLE_CNF: the main counter runs; halted, no comparator matches. */
bool vhpet_enabled(const struct vhpet *h);

/* Legacy replacement on: the PIT's and RTC's interrupts are cut off. */
bool vhpet_legacy(const struct vhpet *h);

/* Virtual time (ns) of the next interrupt a comparator whose line is in
 * `lines` (bit n = line n) would send, or NO_DEADLINE. */
uint64_t vhpet_next_deadline(const struct vhpet *h, uint32_t lines);

/* Deliver the matches due by now(). */
void vhpet_update(struct vhpet *h);

/* The line comparator n drives now (VHPET_LINE_*, or an I/O APIC input). */
unsigned vhpet_line(const struct vhpet *h, unsigned n);

/* The guest acknowledged ISA IRQ 0 while legacy replacement drives it:
 * true when a lost tick of timer 0 waits (vpit_irq_ack()'s counterpart). */
bool vhpet_irq0_ack(struct vhpet *h);

/* ISA IRQ 0 reaches a vCPU again after reaching none: drop timer 0's lost ticks. */
void vhpet_irq0_reset(struct vhpet *h);

/* Snapshot record (devices/devsnap.h): the counter, comparators, status
 * and line levels; the counter is kept against VM time, as the board's
 * clock is, so a restore needs no rebase here.  Version 2 added the lost
 * ticks. */
#define VHPET_SNAP_VERSION 2u
#define VHPET_SNAP_SIZE sizeof(struct vhpet)
size_t vhpet_save(const struct vhpet *h, void *buf, size_t len);
bool vhpet_load(struct vhpet *h, const void *buf, size_t len);

#endif
