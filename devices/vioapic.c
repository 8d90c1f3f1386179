/*
 * Emulated I/O APIC; see vioapic.h.  Section numbers refer to the Intel
 * 82093AA I/O APIC data sheet.
 *
 * A message is accepted the moment it is sent, so Delivery Status (bit 12)
 * always reads 0.  Only fixed and lowest-priority entries are treated as
 * level-triggered: NMI, INIT and ExtINT are edge-triggered whatever the
 * trigger bit says (SDM vol. 3A §11.6.1), and SMI requires edge mode
 * (§3.2.4), so for those Remote IRR is never set.  Entries with a reserved
 * delivery mode (3 or 6) send nothing.
 */
#include "devices/vioapic.h"
#include "devices/devsnap.h"
#include "devices/iobus.h"
#include "lib/string.h"

/* §3.2.4: bits of the low half the guest may write; 12 and 14 are read-only. */
#define RTE_LOW_WRITABLE  (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMODE | IOAPIC_RTE_DESTLOG | \
			   IOAPIC_RTE_ACTLOW | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED)
/* Bits 55:17 are reserved: only the destination is kept in the high half. */
#define RTE_HIGH_WRITABLE (0xffull << IOAPIC_RTE_DEST_SHIFT)

static unsigned rte_mode(uint64_t e)
{
	return (unsigned)(e & IOAPIC_RTE_DELMODE) >> 8;
}

/* Level semantics (Remote IRR) apply to fixed and lowest-priority entries only. */
static bool rte_level(uint64_t e)
{
	unsigned mode = rte_mode(e);

	return (e & IOAPIC_RTE_LEVEL) && (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST);
}

/* The pin's input as the entry sees it: polarity (bit 13) applied. */
static bool pin_asserted(const struct vioapic *io, unsigned pin)
{
	bool line = (io->lines >> pin) & 1;

	return line != !!(io->redir[pin] & IOAPIC_RTE_ACTLOW);
}

/*
 * Build the message for `pin` into *m; for a level entry set Remote IRR
 * (§3.2.4: set when the local APIC accepts the interrupt, which is now).
 * Returns false if the entry is masked or its delivery mode reserved.
 * Called with io->lock held.
 */
static bool pin_fire(struct vioapic *io, unsigned pin, struct apic_msg *m)
{
	uint64_t e = io->redir[pin];
	unsigned mode = rte_mode(e);

	if ((e & IOAPIC_RTE_MASKED) || mode == 3 || mode == APIC_DM_STARTUP)
		return false;
	memset(m, 0, sizeof(*m));
	m->dest = (uint32_t)(e >> IOAPIC_RTE_DEST_SHIFT);
	m->logical = e & IOAPIC_RTE_DESTLOG;
	m->delivery = (uint8_t)mode;
	m->vector = (uint8_t)(e & IOAPIC_RTE_VECTOR);
	m->level = rte_level(e);
	if (m->level)
		io->redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
	io->delivered++;
	return true;
}

/* A level pin sends while asserted and Remote IRR is clear.  Lock held. */
static bool level_service(struct vioapic *io, unsigned pin, struct apic_msg *m)
{
	uint64_t e = io->redir[pin];

	if (!rte_level(e) || (e & IOAPIC_RTE_REMOTE_IRR) || !pin_asserted(io, pin))
		return false;
	return pin_fire(io, pin, m);
}

static void deliver(struct vioapic *io, const struct apic_msg *m, unsigned n)
{
	if (!io->ops || !io->ops->apic_deliver)
		return;
	for (unsigned i = 0; i < n; i++)
		io->ops->apic_deliver(io->vm, &m[i]);
}

void vioapic_init(struct vioapic *io, uint8_t id, const struct irq_ops *ops, void *vm)
{
	memset(io, 0, sizeof(*io));
	io->id = id & 0x0f;
	for (unsigned i = 0; i < VIOAPIC_PINS; i++)
		io->redir[i] = IOAPIC_RTE_MASKED;      /* §3.2.4: mask is 1 after reset */
	io->ops = ops;
	io->vm = vm;
}

/* IOWIN read of the register IOREGSEL selects (§3.2).  Lock held. */
static uint32_t reg_read(const struct vioapic *io)
{
	unsigned r = io->regsel;

	switch (r) {
	case IOAPIC_REG_ID:
		return (uint32_t)io->id << 24;              /* §3.2.1 */
	case IOAPIC_REG_VER:
		return IOAPIC_VER_VALUE;                    /* §3.2.2 */
	case IOAPIC_REG_ARB:
		return (uint32_t)io->id << 24;              /* §3.2.3: loaded from the ID */
	}
	if (r >= IOAPIC_REG_REDTBL && r < IOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS) {
		uint64_t e = io->redir[(r - IOAPIC_REG_REDTBL) / 2];
		return (uint32_t)(r & 1 ? e >> 32 : e);
	}
	return 0;
}

/* IOWIN write.  Returns whether *m holds a message to send.  Lock held. */
static bool reg_write(struct vioapic *io, uint32_t val, struct apic_msg *m)
{
	unsigned r = io->regsel;

	if (r == IOAPIC_REG_ID) {
		io->id = (val >> 24) & 0x0f;
		return false;
	}
	if (r < IOAPIC_REG_REDTBL || r >= IOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS)
		return false;           /* version, arbitration: read-only; others absent */

	unsigned pin = (r - IOAPIC_REG_REDTBL) / 2;
	uint64_t e = io->redir[pin];

	if (r & 1) {
		e = (e & ~RTE_HIGH_WRITABLE) | (((uint64_t)val << 32) & RTE_HIGH_WRITABLE);
	} else {
		e = (e & ~RTE_LOW_WRITABLE) | (val & RTE_LOW_WRITABLE);
		/*
		 * Remote IRR means nothing for an edge entry; clearing it here is
		 * what lets a guest unstick a pin by switching it to edge and back
		 * (Linux does this on I/O APICs without an EOI register).
		 */
		if (!rte_level(e))
			e &= ~IOAPIC_RTE_REMOTE_IRR;
	}
	io->redir[pin] = e;
	/* Unmasking, or a new polarity or trigger mode, may leave a level pin due. */
	return level_service(io, pin, m);
}

int vioapic_mmio(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val)
{
	struct vioapic *io = dev;
	struct apic_msg m;
	bool send = false;

	if (gpa < VIOAPIC_BASE || gpa - VIOAPIC_BASE >= VIOAPIC_SIZE)
		return IOBUS_EINVAL;
	uint64_t off = gpa - VIOAPIC_BASE;

	if (bytes != 4 || (off != IOAPIC_IOREGSEL && off != IOAPIC_IOWIN)) {
		if (!write)
			*val = 0;
		return 0;
	}
	spin_lock(&io->lock);
	if (off == IOAPIC_IOREGSEL) {
		if (write)
			io->regsel = (uint8_t)*val;     /* bits 7:0; 31:8 reserved */
		else
			*val = io->regsel;
	} else if (write) {
		send = reg_write(io, (uint32_t)*val, &m);
	} else {
		*val = reg_read(io);
	}
	spin_unlock(&io->lock);
	if (send)
		deliver(io, &m, 1);
	return 0;
}

void vioapic_set_irq(struct vioapic *io, unsigned pin, bool level)
{
	struct apic_msg m;
	bool send = false;

	if (pin >= VIOAPIC_PINS)
		return;
	spin_lock(&io->lock);
	bool was = pin_asserted(io, pin);
	if (level)
		io->lines |= 1u << pin;
	else
		io->lines &= ~(1u << pin);
	bool now = pin_asserted(io, pin);

	if (rte_level(io->redir[pin]))
		send = level_service(io, pin, &m);
	else if (!was && now)
		send = pin_fire(io, pin, &m);   /* §3.2.4: a masked edge is dropped */
	spin_unlock(&io->lock);
	if (send)
		deliver(io, &m, 1);
}

void vioapic_pulse_irq(struct vioapic *io, unsigned pin)
{
	vioapic_set_irq(io, pin, true);
	vioapic_set_irq(io, pin, false);
}

void vioapic_eoi(struct vioapic *io, uint8_t vector)
{
	struct apic_msg m[VIOAPIC_PINS];
	unsigned n = 0;

	spin_lock(&io->lock);
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
		uint64_t e = io->redir[pin];

		if (!(e & IOAPIC_RTE_REMOTE_IRR) || (e & IOAPIC_RTE_VECTOR) != vector)
			continue;
		io->redir[pin] = e & ~IOAPIC_RTE_REMOTE_IRR;
		if (level_service(io, pin, &m[n]))
			n++;
	}
	spin_unlock(&io->lock);
	deliver(io, m, n);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

static const struct devsnap_field vioapic_wiring[] = {
	DEVSNAP_FIELD(struct vioapic, lock), DEVSNAP_FIELD(struct vioapic, ops),
	DEVSNAP_FIELD(struct vioapic, vm),
};
static const struct devsnap_desc vioapic_snap = {
	sizeof(struct vioapic), vioapic_wiring, ARRAY_SIZE(vioapic_wiring), NULL
};

size_t vioapic_save(const struct vioapic *d, void *buf, size_t len)
{
	return devsnap_save(&vioapic_snap, d, buf, len);
}

bool vioapic_load(struct vioapic *d, const void *buf, size_t len)
{
	struct vioapic s;

	return devsnap_load(&vioapic_snap, d, &s, buf, len);
}
