/*
 * The 8254 programmable interval timer as the guest sees it (Intel 8254
 * data sheet, order no. 231164), at ports 0x40-0x43, together with the
 * PC's port 0x61 (NMI status and control), whose bits 0 and 5 are the gate
 * and the output of channel 2.
 *
 * Nothing is simulated tick by tick: each channel remembers on which tick
 * of the 1.193182 MHz input clock its count was loaded, and its count and
 * output are computed from the VM's virtual time when the guest looks.
 * Channel 0's output drives ISA IRQ 0:
 *   - modes 2 and 3 (periodic): one pulse, set_irq(0, true) then
 *     set_irq(0, false), at each rising edge of the output, i.e. at the
 *     end of each period.  Pulses come no closer than VPIT_MIN_IRQ_GAP_NS,
 *     however short the period the guest programs (KVM bounds periodic
 *     guest timers alike); the count the guest reads back is not affected.
 *   - Lost ticks (periodic modes, devices/losttick.h): a period that ended
 *     while the vCPU was not running is owed to the guest, not merged into
 *     the next pulse.  Only one pulse is out at a time: the next waits
 *     until the guest acknowledges IRQ 0 (INTA at the PIC, or the I/O
 *     APIC's vector accepted by a local APIC: the board calls
 *     vpit_irq_ack()).  Periods that end meanwhile, or several at once,
 *     are counted in lost.missed and delivered one per acknowledge, within
 *     losttick.h's bounds (one per VPIT_MIN_IRQ_GAP_NS, LOST_TICKS_MAX,
 *     LOST_TICKS_ACK_WAIT_NS).  The backlog is dropped too when the guest
 *     reprograms channel 0 or opens IRQ 0 again after masking it
 *     (vpit_irq_reset(); a masked line loses its ticks on a PC too).  What
 *     is dropped is counted in irq_coalesced.
 *   - mode 0: the output goes high at terminal count and stays high, so
 *     IRQ 0 is raised once and lowered when channel 0 is reprogrammed.
 *   - mode 4: one pulse when the strobe ends (as Linux's one-shot PIT
 *     clock event device uses it).
 *   - modes 1 and 5 wait for a rising gate edge, and channel 0's gate is
 *     tied high on a PC: they never fire.
 *
 * Differences from the data sheet, as in QEMU's and bhyve's models:
 *   - a count written while a channel counts in mode 2 or 3 is loaded on
 *     the next clock, rather than at the end of the current cycle (mode 2)
 *     or half-cycle (mode 3);
 *   - after reset no channel counts until the guest programs it (there is
 *     no BIOS here to start channel 0 at 18.2 Hz).
 * BCD counting (control word bit 0) is supported: counts are 1-10000 and
 * are read and written as four BCD digits; a nibble above 9 is taken as 9.
 *
 * Each vpit has its own lock; all functions below take it, and call
 * set_irq only after dropping it.  None may be called from an interrupt
 * handler.
 */
#ifndef KASANE_DEVICES_VPIT_H
#define KASANE_DEVICES_VPIT_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/losttick.h"

#define PIT_HZ              1193182ULL  /* the PC's 14.31818 MHz / 12 */
/* Periodic IRQ 0 at most 5 kHz: the floor Linux KVM gives its PIT too
 * (min_timer_period_us = 200 us, arch/x86/kvm/i8254.c create_pit_timer). */
#define VPIT_MIN_IRQ_GAP_NS 200000ULL

#define PIT_PORT_CH0        0x40
#define PIT_PORT_CTRL       0x43
#define PIT_PORT_NMI_SC     0x61        /* PC "port B": NMI status and control */

/* Port 0x61 bits. */
#define NMI_SC_GATE2        0x01        /* channel 2 gate */
#define NMI_SC_SPKR         0x02        /* speaker data enable */
#define NMI_SC_WRITABLE     0x0f        /* bits 2, 3: SERR#/IOCHK# enables, kept */
#define NMI_SC_REFRESH      0x10        /* toggles every DRAM refresh cycle */
#define NMI_SC_OUT2         0x20        /* channel 2 output */

/* Control word (8254 data sheet, Figure 8 "Control Word Format"). */
#define PIT_CW_SC(cw)       (((cw) >> 6) & 3)   /* 3: read-back command */
#define PIT_CW_RW(cw)       (((cw) >> 4) & 3)   /* 0: counter latch command */
#define PIT_CW_MODE(cw)     (((cw) >> 1) & 7)
#define PIT_CW_BCD          0x01
#define PIT_RB_NCOUNT       0x20        /* read-back: 0 = latch the counts */
#define PIT_RB_NSTATUS      0x10        /* read-back: 0 = latch the statuses */
#define PIT_ST_OUT          0x80        /* status byte: OUT pin */
#define PIT_ST_NULL         0x40        /* status byte: null count */

#define PIT_RW_LSB          1
#define PIT_RW_MSB          2
#define PIT_RW_WORD         3           /* LSB, then MSB */

enum vpit_state {
	VPIT_IDLE,      /* no count written since the control word */
	VPIT_WAIT,      /* modes 1, 5: count written, waiting for a gate trigger */
	VPIT_RUN,       /* counting since tick `load` */
	VPIT_HELD,      /* gate low (modes 0, 2, 3, 4): counting suspended */
};

struct vpit_channel {
	uint8_t mode;           /* 0-5: 6 and 7 are folded into 2 and 3 */
	uint8_t cw_mode;        /* the mode bits as written, for the status byte */
	uint8_t rw;             /* PIT_RW_* */
	bool bcd;
	bool gate;
	uint8_t state;          /* enum vpit_state */
	uint32_t n;             /* the initial count in use: 1-65536 (BCD: 1-10000) */
	uint16_t cr;            /* the count register, raw as last written */
	uint16_t hold;          /* the counting element's value while not running */
	uint64_t load;          /* RUN: tick on which n was loaded */
	uint64_t held;          /* HELD: ticks counted before the gate fell */
	uint64_t null_until;    /* NULL COUNT until this tick (UINT64_MAX: until a trigger) */
	bool write_msb;         /* PIT_RW_WORD: the next write is the MSB */
	uint8_t write_lsb;
	bool read_msb;          /* PIT_RW_WORD: the next read is the MSB */
	bool count_latched, status_latched;
	uint16_t latch;         /* as the guest reads it (BCD if bcd) */
	uint8_t status;
};

struct vpit {
	spinlock_t lock;
	spinlock_t irq_lock;    /* orders set_irq calls; taken before lock */
	struct vpit_channel ch[3];
	uint8_t nmi_sc;         /* port 0x61, NMI_SC_WRITABLE bits */
	uint64_t irq_done;      /* channel 0 output edges up to this tick are delivered */
	uint64_t irq_quiet_until; /* ns: no periodic pulse before this */
	bool irq_level;         /* mode 0 holds IRQ 0 high */
	bool irq_pulse_due;     /* a pulse decided, not yet sent */
	bool irq_sent;          /* the line's level after the last set_irq */
	void (*set_irq)(void *vm, unsigned irq, bool level);
	void *vm;
	uint64_t (*now)(void *ctx);
	void *now_ctx;
	struct lost_ticks lost; /* channel 0's periodic ticks (devices/losttick.h) */
	uint64_t irq_pulses, irq_coalesced;     /* statistics */
	uint64_t irq_reinjected;                /* pulses that delivered a lost tick */
};

/*
 * Reset state: no channel counts, channels 0 and 1 gated on, channel 2's
 * gate (port 0x61 bit 0) off.  now() gives the VM's virtual time in ns.
 */
void vpit_init(struct vpit *p, void (*set_irq)(void *vm, unsigned irq, bool level), void *vm,
	       uint64_t (*now)(void *ctx), void *now_ctx);

/*
 * Port handler (iobus) for 0x40-0x43 and 0x61.  A 2- or 4-byte access is
 * taken as a byte access at `port`.  Port 0x43 reads as 0xff (the control
 * register is write-only).  Returns IOBUS_EINVAL for other ports.  A write
 * may move the next deadline: ask vpit_next_deadline() again.
 */
int vpit_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val);

/* Virtual time (ns) of the next IRQ 0 event, or NO_DEADLINE. */
uint64_t vpit_next_deadline(const struct vpit *p);

/* Deliver IRQ 0 events due by now(). */
void vpit_update(struct vpit *p);

/*
 * The guest acknowledged IRQ 0 (the board calls it at the INTA that takes
 * the PIT's vector from the PIC or a local APIC).  Returns true when a lost
 * tick waits: the board then services the VM's timers again soon, where
 * vpit_update() sends it.
 */
bool vpit_irq_ack(struct vpit *p);

/* IRQ 0 reaches a vCPU again after reaching none: drop the lost ticks. */
void vpit_irq_reset(struct vpit *p);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring.
 * Version 2 added the lost-tick state. */
#define VPIT_SNAP_VERSION 2u
#define VPIT_SNAP_SIZE sizeof(struct vpit)
size_t vpit_save(const struct vpit *d, void *buf, size_t len);
bool vpit_load(struct vpit *d, const void *buf, size_t len);

#endif
