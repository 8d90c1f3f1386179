/*
 * The PC's pair of cascaded 8259A interrupt controllers (Intel 8259A data
 * sheet) with the PIIX edge/level control registers: master at ports
 * 0x20/0x21, slave at 0xa0/0xa1 wired to the master's IR2, ELCR at
 * 0x4d0/0x4d1.  IRQ n is input n of the master (0-7) or input n - 8 of
 * the slave (8-15).  IRQ 2 is the cascade and has no outside input.
 *
 * The master's INTR output goes to the VM layer through
 * irq_ops->pic_intr, called after each change with no lock held.  Two
 * changes made concurrently may be reported out of order, so take the
 * callback as a hint to look again: vpic_intr_asserted() and vpic_ack()
 * are authoritative.
 *
 * State before the guest initializes the pair: vector bases 0x08 and 0x70,
 * cascade on IR2, 8086 mode, as a PC BIOS leaves them, but with every IRQ
 * masked so that nothing arrives before the guest asks for it.
 *
 * One lock covers both chips; every function below takes it except
 * vpic_init() (called before the VM runs) and vpic_intr_asserted().  None
 * may be called from an interrupt handler.  No guest memory is touched.
 */
#ifndef KASANE_DEVICES_VPIC_H
#define KASANE_DEVICES_VPIC_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/irq.h"

#define VPIC_MASTER_PORT    0x20        /* command; data at +1 */
#define VPIC_SLAVE_PORT     0xa0
#define VPIC_ELCR_PORT      0x4d0       /* master's ELCR; slave's at +1 */
#define VPIC_NR_IRQS        16
#define VPIC_CASCADE_IR     2           /* master input the slave drives */

/* One 8259A. */
struct vpic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;          /* level of each IR input */
	uint8_t elcr;           /* PIIX ELCR: 1 = level-triggered input */
	uint8_t elcr_mask;      /* ELCR bits the guest may set */
	uint8_t base;           /* ICW2 bits 7:3 */
	uint8_t icw3;
	uint8_t lowest;         /* the IR of lowest priority (rotation) */
	uint8_t icw_next;       /* 0: initialized; else the ICW (2-4) expected next */
	bool icw4_needed, single, ltim;
	bool aeoi, rotate_aeoi, sfnm, mode8086;
	bool read_isr;          /* OCW3 RIS: the command port reads ISR, else IRR */
	bool poll;              /* OCW3 P: the next read is a poll */
	bool special_mask;      /* OCW3 SMM */
};

struct vpic {
	spinlock_t lock;
	struct vpic_chip chip[2];       /* master, slave */
	bool intr;                      /* the master's INTR output */
	bool intr_seen;                 /* INTR asserted at some time since the last INTA */
	const struct irq_ops *ops;
	void *vm;
	uint64_t acks, spurious;        /* statistics */
};

void vpic_init(struct vpic *p, const struct irq_ops *ops, void *vm);

/*
 * Port handler (iobus) for 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1.  A 2- or
 * 4-byte access is split into byte accesses to consecutive ports, as the
 * ISA bridge does; bytes falling on ports outside these six read 0xff and
 * are dropped on write.  Returns IOBUS_EINVAL if `port` is not one of the
 * six.
 */
int vpic_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val);

/* Drive IRQ line `irq` (0-15) to `level`.  IRQ 2 and numbers past 15 are ignored. */
void vpic_set_irq(struct vpic *p, unsigned irq, bool level);

/*
 * The CPU's interrupt acknowledge: returns the vector the pair puts on the
 * bus and does the 8259A's INTA bookkeeping (ISR, IRR, AEOI, the slave's
 * too when the master picks IR2).  If INTR is asserted now, or has been
 * since the last INTA, but the request went away, that is the 8259A's
 * spurious IRQ 7 (or 15 through the slave) and nothing is marked in
 * service.  Returns -1 if INTR has not been asserted since the last INTA:
 * there is nothing to acknowledge.
 */
int vpic_ack(struct vpic *p);

/* Whether the master's INTR output is asserted now.  Lock-free. */
bool vpic_intr_asserted(const struct vpic *p);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring. */
#define VPIC_SNAP_VERSION 1u
#define VPIC_SNAP_SIZE sizeof(struct vpic)
size_t vpic_save(const struct vpic *d, void *buf, size_t len);
bool vpic_load(struct vpic *d, const void *buf, size_t len);

#endif
