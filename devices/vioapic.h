/*
 * An I/O APIC as the guest sees it (Intel 82093AA I/O APIC data sheet):
 * 24 input pins, each with a redirection entry that turns a pin event into
 * an interrupt message for the local APICs.  Messages leave through
 * irq_ops->apic_deliver; EOIs of level-triggered vectors come back through
 * vioapic_eoi().
 *
 * Input lines: vioapic_set_irq() gives the electrical level of a pin.  An
 * active-low pin (polarity bit 13) is asserted while its line is low.
 * Lines start low, so the VM layer drives the idle level of the pins it
 * reports as active-low high once, when it creates the VM.
 *
 * Each vioapic has its own lock; every function below takes it, and calls
 * irq_ops->apic_deliver after dropping it, so a callback may call back in.
 * None may be called from an interrupt handler.  No guest memory is touched.
 */
#ifndef KASANE_DEVICES_VIOAPIC_H
#define KASANE_DEVICES_VIOAPIC_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/irq.h"

#define VIOAPIC_BASE    0xfec00000ull   /* MP spec / PC default */
#define VIOAPIC_SIZE    0x1000          /* the MMIO range to register */
#define VIOAPIC_PINS    24

/* Memory-mapped registers (82093AA §3.1), offsets from the base. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN    0x10

/* Indirect registers selected through IOREGSEL (82093AA §3.2). */
#define IOAPIC_REG_ID       0x00
#define IOAPIC_REG_VER      0x01
#define IOAPIC_REG_ARB      0x02
#define IOAPIC_REG_REDTBL   0x10        /* entry n: low half 0x10 + 2n, high half 0x11 + 2n */

#define IOAPIC_VERSION      0x11
#define IOAPIC_VER_VALUE    (((uint32_t)(VIOAPIC_PINS - 1) << 16) | IOAPIC_VERSION)

/* Redirection entry fields (82093AA §3.2.4). */
#define IOAPIC_RTE_VECTOR       0xffull
#define IOAPIC_RTE_DELMODE      (7ull << 8)
#define IOAPIC_RTE_DESTLOG      (1ull << 11)
#define IOAPIC_RTE_DELIVS       (1ull << 12)    /* read-only; always 0 here */
#define IOAPIC_RTE_ACTLOW       (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR   (1ull << 14)    /* read-only */
#define IOAPIC_RTE_LEVEL        (1ull << 15)
#define IOAPIC_RTE_MASKED       (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT   56

struct vioapic {
	spinlock_t lock;
	uint8_t id;                     /* IOAPICID bits 27:24 */
	uint8_t regsel;                 /* IOREGSEL */
	uint32_t lines;                 /* electrical level of each input pin */
	uint64_t redir[VIOAPIC_PINS];
	const struct irq_ops *ops;
	void *vm;
	uint64_t delivered;             /* messages sent (statistics) */
};

/* The reset state: every entry masked, all lines low.  id is 4 bits. */
void vioapic_init(struct vioapic *io, uint8_t id, const struct irq_ops *ops, void *vm);

/*
 * MMIO handler (iobus) for [VIOAPIC_BASE, VIOAPIC_BASE + VIOAPIC_SIZE).
 * Only 4-byte accesses to IOREGSEL and IOWIN do anything (82093AA §3.1
 * defines only 32-bit accesses to them); every other offset or width reads
 * as 0 and ignores writes.  Returns IOBUS_EINVAL for an address outside
 * the range.
 */
int vioapic_mmio(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val);

/*
 * Drive input pin `pin` (0-23) to `level`.  Edge-triggered pins send a
 * message when the pin becomes asserted; level-triggered ones while it is
 * asserted and Remote IRR is clear.  Masked pins send nothing (a masked
 * edge is lost; a level pin asserted when unmasked sends then).  Pins past
 * 23 are ignored.
 */
void vioapic_set_irq(struct vioapic *io, unsigned pin, bool level);

/* An edge on `pin`: high, then low. */
void vioapic_pulse_irq(struct vioapic *io, unsigned pin);

/*
 * A local APIC EOI'd `vector` (irq_ops->eoi): clear Remote IRR of every
 * pin with that vector, and send again for those still asserted.
 */
void vioapic_eoi(struct vioapic *io, uint8_t vector);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring. */
#define VIOAPIC_SNAP_VERSION 1u
#define VIOAPIC_SNAP_SIZE sizeof(struct vioapic)
size_t vioapic_save(const struct vioapic *d, void *buf, size_t len);
bool vioapic_load(struct vioapic *d, const void *buf, size_t len);

#endif
