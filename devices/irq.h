/*
 * How emulated interrupt sources and controllers of one VM talk to each
 * other and to the VM layer.  Pure interfaces: the models (vlapic, vioapic,
 * vpic, vpit, vrtc) know nothing of vCPUs, CPUs or the scheduler; they
 * call back through struct irq_ops, which core/ implements (and host unit
 * tests fake).
 *
 * Time: every model takes "now" as nanoseconds of the VM's virtual time
 * (monotonic, starts at 0 when the VM is created, shared by its vCPUs).
 * A model with a timer reports its next deadline in the same unit; the VM
 * layer arranges to call the model's update function at or after it.
 * Locking: each model instance has its own spinlock inside; callbacks are
 * made with no model lock held unless documented otherwise.
 */
#ifndef KASANE_DEVICES_IRQ_H
#define KASANE_DEVICES_IRQ_H

#include "lib/types.h"

#define NO_DEADLINE  UINT64_MAX

/* Local APIC delivery modes (SDM vol. 3A §11.6.1, Table 11-... ICR bits 10:8). */
enum apic_delivery {
	APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
	APIC_DM_INIT = 5, APIC_DM_STARTUP = 6, APIC_DM_EXTINT = 7,
};

/* An interrupt message as an IOAPIC redirection entry or an ICR describes it. */
struct apic_msg {
	uint32_t dest;          /* APIC id (physical) or logical mask */
	bool logical;           /* destination mode */
	uint8_t shorthand;      /* 0 none, 1 self, 2 all incl. self, 3 all but self */
	uint8_t delivery;       /* enum apic_delivery */
	uint8_t vector;
	bool level;             /* level-triggered (for EOI forwarding to the IOAPIC) */
	uint32_t src;           /* sending APIC id (for shorthands) */
};

struct irq_ops {
	/* Deliver a message to the VM's local APICs (IOAPIC, MSI, IPI). */
	void (*apic_deliver)(void *vm, const struct apic_msg *m);
	/* The master PIC's INTR output changed (to the BSP's LINT0 / ExtINT). */
	void (*pic_intr)(void *vm, bool asserted);
	/* A level-triggered vector was EOI'd at a local APIC: the IOAPIC clears
	 * Remote IRR for pins using it (SDM vol. 3A §11.8.5; 82093AA §3.2.4). */
	void (*eoi)(void *vm, uint8_t vector);
};

#endif
