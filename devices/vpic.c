/*
 * Emulated 8259A pair; see vpic.h.  Quoted headings ("Poll Command") are
 * sections of the Intel 8259A data sheet; ELCR is described in the PIIX
 * data sheets (82371FB/AB, "ELCR1/ELCR2").
 *
 * Departures from the chip, all on paths a PC guest does not rely on:
 * - An edge request stays latched in IRR until acknowledged, even if the
 *   input drops first (the data sheet wants IR held until INTA), so a
 *   source may pulse its line.  A level request follows its input, and one
 *   gone before INTA gives the spurious IRQ 7 ("Edge and Level Triggered
 *   Modes").
 * - The master's IR2 is re-latched whenever the slave has a request it
 *   would signal, so requests queued in the slave are not lost while its
 *   INT output stays high (KVM models the cascade the same way).
 * - The slave answers for the master's IR2 whatever the ICW3 slave ID,
 *   since it is wired there; MCS-80/85 mode (ICW4 bit 0 clear) is recorded
 *   but INTA still returns the 8086-mode vector, the only thing an x86 CPU
 *   can take.  ICW1 bits 2 and 7:5 (8080 call address) and ICW4 buffered
 *   mode have no effect.
 */
#include "devices/vpic.h"
#include "devices/devsnap.h"
#include "devices/iobus.h"
#include "lib/string.h"

#define ICW1            0x10    /* command port: bit 4 marks ICW1 */
#define ICW1_IC4        0x01
#define ICW1_SNGL       0x02
#define ICW1_LTIM       0x08
#define OCW3_SEL        0x08    /* command port, bit 4 clear: bit 3 marks OCW3 */
#define OCW3_RIS        0x01
#define OCW3_RR         0x02
#define OCW3_P          0x04
#define OCW3_SMM        0x20
#define OCW3_ESMM       0x40
#define ICW4_8086       0x01
#define ICW4_AEOI       0x02
#define ICW4_SFNM       0x10

/* PIIX: IRQ 0, 1, 2, 8 and 13 are edge-triggered only. */
#define ELCR_MASK_MASTER 0xf8
#define ELCR_MASK_SLAVE  0xde

static bool ir_level(const struct vpic_chip *c, unsigned ir)
{
	return c->ltim || (c->elcr & (1u << ir));
}

static uint8_t level_bits(const struct vpic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/* A level-triggered IRR bit follows its input ("Edge and Level Triggered Modes"). */
static void sync_level(struct vpic_chip *c)
{
	uint8_t lv = level_bits(c);

	c->irr = (uint8_t)((c->irr & ~lv) | (c->lines & lv));
}

static bool cascaded(const struct vpic_chip *m)
{
	return !m->single && (m->icw3 & (1u << VPIC_CASCADE_IR));
}

/* The first IR in `bits` in priority order, highest first, or -1. */
static int prio_first(const struct vpic_chip *c, uint8_t bits)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned ir = (c->lowest + 1 + i) & 7;
		if (bits & (1u << ir))
			return (int)ir;
	}
	return -1;
}

/*
 * The request this chip would signal on INT, or -1 ("Interrupt Sequence",
 * "Fully Nested Mode"): the highest unmasked IRR bit above every level in
 * service.  "Special Mask Mode": the ISR blocks nothing, only the IMR
 * does.  "Special Fully Nested Mode": on the master, a request from the
 * slave is let through while the slave's level is in service.
 */
static int chip_pending(const struct vpic_chip *c, bool master)
{
	uint8_t req = c->irr & ~c->imr;
	uint8_t isr = c->special_mask ? 0 : c->isr;

	for (unsigned i = 0; i < 8; i++) {
		unsigned ir = (c->lowest + 1 + i) & 7;
		uint8_t b = (uint8_t)(1u << ir);

		if (isr & b) {
			if (master && c->sfnm && cascaded(c) && ir == VPIC_CASCADE_IR && (req & b))
				return (int)ir;
			return -1;
		}
		if (req & b)
			return (int)ir;
	}
	return -1;
}

/* INTA on one chip for `ir` ("Interrupt Sequence", "Automatic End of Interrupt Mode"). */
static void chip_intack(struct vpic_chip *c, unsigned ir)
{
	uint8_t b = (uint8_t)(1u << ir);

	if (!ir_level(c, ir))
		c->irr &= ~b;
	if (!c->aeoi)
		c->isr |= b;
	else if (c->rotate_aeoi)
		c->lowest = (uint8_t)ir;       /* "Automatic Rotation" */
}

/*
 * Propagate the slave's INT to the master's IR2 and recompute INTR.
 * Returns whether INTR changed.  Lock held.
 */
static bool pic_update(struct vpic *p)
{
	struct vpic_chip *m = &p->chip[0];
	uint8_t b = 1u << VPIC_CASCADE_IR;

	if (chip_pending(&p->chip[1], false) >= 0) {
		m->lines |= b;
		m->irr |= b;
	} else {
		m->lines &= (uint8_t)~b;
		if (ir_level(m, VPIC_CASCADE_IR))
			m->irr &= (uint8_t)~b;
	}
	bool out = chip_pending(m, true) >= 0;
	if (out)
		p->intr_seen = true;
	if (out == p->intr)
		return false;
	__atomic_store_n(&p->intr, out, __ATOMIC_RELAXED);
	return true;
}

static void notify(struct vpic *p, bool changed, bool level)
{
	if (changed && p->ops && p->ops->pic_intr)
		p->ops->pic_intr(p->vm, level);
}

/* "Initialization Command Words": the effects of ICW1, a.-f. */
static void write_icw1(struct vpic_chip *c, uint8_t v)
{
	c->icw4_needed = v & ICW1_IC4;
	c->single = v & ICW1_SNGL;
	c->ltim = v & ICW1_LTIM;
	c->icw_next = 2;
	c->irr = c->isr = c->imr = 0;   /* edge sense reset: edges must come anew */
	c->lowest = 7;
	c->special_mask = c->read_isr = c->poll = false;
	c->rotate_aeoi = false;
	if (!c->icw4_needed)
		c->aeoi = c->sfnm = c->mode8086 = false;
	sync_level(c);                  /* asserted level inputs request at once */
}

static void write_icw(struct vpic_chip *c, uint8_t v)
{
	switch (c->icw_next) {
	case 2:
		c->base = v & 0xf8;     /* 8086 mode: T7-T3 */
		c->icw_next = !c->single ? 3 : c->icw4_needed ? 4 : 0;
		break;
	case 3:
		c->icw3 = v;
		c->icw_next = c->icw4_needed ? 4 : 0;
		break;
	default:
		c->mode8086 = v & ICW4_8086;
		c->aeoi = v & ICW4_AEOI;
		c->sfnm = v & ICW4_SFNM;
		c->icw_next = 0;
		break;
	}
}

/* The in-service level a non-specific EOI ends ("End of Interrupt", "Special Mask Mode"). */
static int eoi_target(const struct vpic_chip *c)
{
	return prio_first(c, c->special_mask ? c->isr & ~c->imr : c->isr);
}

/* OCW2: bits 7:5 are R, SL, EOI; bits 2:0 the level for SL commands. */
static void write_ocw2(struct vpic_chip *c, uint8_t v)
{
	unsigned level = v & 7;
	int ir;

	switch (v >> 5) {
	case 0:                         /* rotate in AEOI mode (clear) */
	case 4:                         /* rotate in AEOI mode (set) */
		c->rotate_aeoi = v & 0x80;
		break;
	case 1:                         /* non-specific EOI */
	case 5:                         /* rotate on non-specific EOI */
		ir = eoi_target(c);
		if (ir < 0)
			break;
		c->isr &= (uint8_t)~(1u << ir);
		if (v & 0x80)
			c->lowest = (uint8_t)ir;
		break;
	case 3:                         /* specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		break;
	case 7:                         /* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		c->lowest = (uint8_t)level;
		break;
	case 6:                         /* set priority: `level` becomes the lowest */
		c->lowest = (uint8_t)level;
		break;
	default:                        /* 2: no operation */
		break;
	}
}

static void write_ocw3(struct vpic_chip *c, uint8_t v)
{
	if (v & OCW3_ESMM)
		c->special_mask = v & OCW3_SMM;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
	if (v & OCW3_P)
		c->poll = true;
}

/*
 * "Poll Command": the read after OCW3 P=1 acknowledges the highest request
 * and returns it as I000 0W2W1W0, or 0 if there is none.
 */
static uint8_t poll_read(struct vpic_chip *c, bool master)
{
	int ir = chip_pending(c, master);

	c->poll = false;
	if (ir < 0)
		return 0;
	chip_intack(c, (unsigned)ir);
	return (uint8_t)(0x80 | ir);
}

static uint8_t port_read(struct vpic *p, uint16_t port)
{
	if (port >= VPIC_ELCR_PORT)
		return p->chip[port - VPIC_ELCR_PORT].elcr;

	bool master = port < VPIC_SLAVE_PORT;
	struct vpic_chip *c = &p->chip[master ? 0 : 1];

	if (c->poll)
		return poll_read(c, master);
	if (port & 1)
		return c->imr;          /* OCW1 */
	return c->read_isr ? c->isr : c->irr;   /* "Reading the 8259A Status" */
}

static void port_write(struct vpic *p, uint16_t port, uint8_t v)
{
	if (port >= VPIC_ELCR_PORT) {
		struct vpic_chip *c = &p->chip[port - VPIC_ELCR_PORT];
		c->elcr = v & c->elcr_mask;
		sync_level(c);
		return;
	}

	struct vpic_chip *c = &p->chip[port < VPIC_SLAVE_PORT ? 0 : 1];

	if (port & 1) {
		if (c->icw_next)
			write_icw(c, v);
		else
			c->imr = v;     /* OCW1 */
	} else if (v & ICW1) {
		write_icw1(c, v);
	} else if (v & OCW3_SEL) {
		write_ocw3(c, v);
	} else {
		write_ocw2(c, v);
	}
}

static bool vpic_port(uint16_t port)
{
	return port == VPIC_MASTER_PORT || port == VPIC_MASTER_PORT + 1 ||
	       port == VPIC_SLAVE_PORT || port == VPIC_SLAVE_PORT + 1 ||
	       port == VPIC_ELCR_PORT || port == VPIC_ELCR_PORT + 1;
}

static void chip_reset(struct vpic_chip *c, uint8_t base, uint8_t icw3, uint8_t elcr_mask)
{
	memset(c, 0, sizeof(*c));
	c->base = base;
	c->icw3 = icw3;
	c->imr = 0xff;
	c->lowest = 7;
	c->mode8086 = true;
	c->icw4_needed = true;
	c->elcr_mask = elcr_mask;
}

void vpic_init(struct vpic *p, const struct irq_ops *ops, void *vm)
{
	memset(p, 0, sizeof(*p));
	chip_reset(&p->chip[0], 0x08, 1u << VPIC_CASCADE_IR, ELCR_MASK_MASTER);
	chip_reset(&p->chip[1], 0x70, VPIC_CASCADE_IR, ELCR_MASK_SLAVE);
	p->ops = ops;
	p->vm = vm;
}

int vpic_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct vpic *p = dev;
	uint32_t out = 0;

	if (!vpic_port(port) || bytes < 1 || bytes > 4)
		return IOBUS_EINVAL;
	spin_lock(&p->lock);
	for (unsigned i = 0; i < bytes; i++) {
		uint16_t pt = (uint16_t)(port + i);
		uint8_t b = 0xff;

		if (in) {
			if (vpic_port(pt))
				b = port_read(p, pt);
			out |= (uint32_t)b << (8 * i);
		} else if (vpic_port(pt)) {
			port_write(p, pt, (uint8_t)(*val >> (8 * i)));
		}
	}
	bool changed = pic_update(p);
	bool level = p->intr;
	spin_unlock(&p->lock);
	if (in)
		*val = out;
	notify(p, changed, level);
	return 0;
}

void vpic_set_irq(struct vpic *p, unsigned irq, bool level)
{
	if (irq >= VPIC_NR_IRQS || irq == VPIC_CASCADE_IR)
		return;
	spin_lock(&p->lock);
	struct vpic_chip *c = &p->chip[irq >> 3];
	uint8_t b = (uint8_t)(1u << (irq & 7));
	bool was = c->lines & b;

	if (level)
		c->lines |= b;
	else
		c->lines &= (uint8_t)~b;
	if (ir_level(c, irq & 7))
		sync_level(c);
	else if (level && !was)
		c->irr |= b;            /* rising edge */
	bool changed = pic_update(p);
	bool now = p->intr;
	spin_unlock(&p->lock);
	notify(p, changed, now);
}

int vpic_ack(struct vpic *p)
{
	struct vpic_chip *m = &p->chip[0], *s = &p->chip[1];
	int vec;

	spin_lock(&p->lock);
	if (!p->intr_seen) {
		spin_unlock(&p->lock);
		return -1;
	}
	int ir = chip_pending(m, true);
	if (ir < 0) {
		vec = m->base | 7;              /* spurious IRQ 7: nothing in service */
		p->spurious++;
	} else {
		chip_intack(m, (unsigned)ir);
		if (ir == VPIC_CASCADE_IR && cascaded(m)) {
			int sir = chip_pending(s, false);
			if (sir < 0) {
				vec = s->base | 7;      /* spurious IRQ 15: the master's IR2 stays in service */
				p->spurious++;
			} else {
				chip_intack(s, (unsigned)sir);
				vec = s->base | sir;
			}
		} else {
			vec = m->base | ir;
		}
	}
	p->acks++;
	p->intr_seen = false;
	bool changed = pic_update(p);   /* sets intr_seen again if INTR stays up */
	bool level = p->intr;
	spin_unlock(&p->lock);
	notify(p, changed, level);
	return vec;
}

bool vpic_intr_asserted(const struct vpic *p)
{
	return __atomic_load_n(&p->intr, __ATOMIC_RELAXED);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

/* A record's initialization step and rotation base in their ranges. */
static bool vpic_rec_ok(const void *rec)
{
	const struct vpic *p = rec;

	return p->chip[0].icw_next <= 4 && p->chip[1].icw_next <= 4 &&
	       p->chip[0].lowest <= 7 && p->chip[1].lowest <= 7;
}

static const struct devsnap_field vpic_wiring[] = {
	DEVSNAP_FIELD(struct vpic, lock), DEVSNAP_FIELD(struct vpic, ops),
	DEVSNAP_FIELD(struct vpic, vm),
};
static const struct devsnap_desc vpic_snap = {
	sizeof(struct vpic), vpic_wiring, ARRAY_SIZE(vpic_wiring), vpic_rec_ok
};

size_t vpic_save(const struct vpic *d, void *buf, size_t len)
{
	return devsnap_save(&vpic_snap, d, buf, len);
}

bool vpic_load(struct vpic *d, const void *buf, size_t len)
{
	struct vpic s;

	return devsnap_load(&vpic_snap, d, &s, buf, len);
}
