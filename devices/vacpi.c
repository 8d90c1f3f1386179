/*
 * ACPI fixed hardware and the reset register; see vacpi.h.  Section
 * numbers are from the ACPI 6.5 specification.
 */
#include "devices/vacpi.h"
#include "devices/devsnap.h"
#include "devices/iobus.h"
#include "devices/irq.h"
#include "lib/string.h"

#define NS_PER_S        1000000000ULL
#define TMR_HALF_SHIFT  31              /* TMR_STS: bit 31 toggles (TMR_VAL_EXT) */

/* PM1_CNT bits the guest can set and read back. */
#define CNT_KEPT        (ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP)
/* PM1_EN bits of events this chipset has. */
#define EN_KEPT         VACPI_PM1_EVENTS

/* Timer ticks from time 0 to ns: floor(ns * HZ / 1e9), in 64 bits. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return ns / NS_PER_S * ACPI_PM_TIMER_HZ + ns % NS_PER_S * ACPI_PM_TIMER_HZ / NS_PER_S;
}

/* The first ns at which tick t has begun. */
static uint64_t ticks_to_ns(uint64_t t)
{
	uint64_t s = t / ACPI_PM_TIMER_HZ;

	return s * NS_PER_S + (t % ACPI_PM_TIMER_HZ * NS_PER_S + ACPI_PM_TIMER_HZ - 1) /
			      ACPI_PM_TIMER_HZ;
}

void vacpi_init(struct vacpi *a, const struct vacpi_ports *ports,
		const struct vacpi_ops *ops, void *ctx)
{
	memset(a, 0, sizeof(*a));
	a->port = *ports;
	a->ops = ops;
	a->ctx = ctx;
	a->tmr_half = ns_to_ticks(ops->now(ctx)) >> TMR_HALF_SHIFT;
}

/* Lock held.  TMR_STS for every toggle of bit 31 up to now; the count. */
static uint64_t account(struct vacpi *a)
{
	uint64_t t = ns_to_ticks(a->ops->now(a->ctx));

	if (t >> TMR_HALF_SHIFT != a->tmr_half) {
		a->tmr_half = t >> TMR_HALF_SHIFT;
		a->sts |= ACPI_PM1_TMR;
	}
	return t;
}

static bool sci_level(const struct vacpi *a)
{
	return (a->sts & a->en & VACPI_PM1_EVENTS) != 0;
}

/* irq_lock held, lock not: bring the SCI line to want. */
static void sync_sci(struct vacpi *a, bool want)
{
	if (want != a->sci_sent) {
		a->sci_sent = want;
		a->ops->set_sci(a->ctx, want);
	}
}

uint32_t vacpi_timer(struct vacpi *a)
{
	spin_lock(&a->lock);
	uint32_t t = (uint32_t)account(a);

	spin_unlock(&a->lock);
	return t;
}

/* Lock held.  Byte i of a block as the guest reads it. */
static uint8_t read_byte(struct vacpi *a, int block, unsigned i)
{
	uint32_t v;

	switch (block) {
	case 0:
		account(a);
		v = (uint32_t)a->sts | (uint32_t)a->en << 16;
		break;
	case 1:
		v = a->cnt | ACPI_PM1_SCI_EN;
		break;
	case 2:
		v = (uint32_t)account(a);
		break;
	default:
		v = a->reset_reg;
		break;
	}
	return (uint8_t)(v >> (8 * i));
}

/* What a write asks of the board, done after the lock is dropped. */
struct vacpi_effect {
	bool sleep, reset;
	unsigned slp_typ;
};

/* Lock held.  Byte i of a block written with b. */
static void write_byte(struct vacpi *a, int block, unsigned i, uint8_t b,
		       struct vacpi_effect *fx)
{
	uint16_t v = (uint16_t)(b << (8 * (i & 1))), m = (uint16_t)(0xff << (8 * (i & 1)));

	switch (block) {
	case 0:
		if (i < 2) {
			account(a);
			a->sts &= (uint16_t)~v;         /* write 1 to clear */
		} else {
			a->en = (uint16_t)((a->en & ~m) | (v & EN_KEPT));
		}
		break;
	case 1:
		a->cnt = (uint16_t)((a->cnt & ~m) | (v & CNT_KEPT));
		if (v & ACPI_PM1_SLP_EN) {
			fx->sleep = true;
			fx->slp_typ = (a->cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT;
		}
		break;
	case 2:
		break;                                  /* the timer is read-only */
	default:
		a->reset_reg = b;
		if (b & VACPI_RST_CPU)
			fx->reset = true;
		break;
	}
}

/* Which block port lies in: 0 event, 1 control, 2 timer, 3 reset; -1 none.  *off: its offset. */
static int block_of(const struct vacpi *a, uint16_t port, unsigned *off, unsigned *len)
{
	static const unsigned lens[4] = { VACPI_EVT_LEN, VACPI_CNT_LEN, VACPI_TMR_LEN, 1 };
	const uint16_t base[4] = { a->port.pm1a_evt, a->port.pm1a_cnt, a->port.pm_tmr,
				   a->port.reset };

	for (int b = 0; b < 4; b++)
		if (port >= base[b] && (unsigned)(port - base[b]) < lens[b]) {
			*off = port - base[b];
			*len = lens[b];
			return b;
		}
	return -1;
}

int vacpi_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct vacpi *a = dev;
	struct vacpi_effect fx = { 0 };
	unsigned off, len;
	int block = block_of(a, port, &off, &len);

	if (block < 0 || (bytes != 1 && bytes != 2 && bytes != 4))
		return IOBUS_EINVAL;

	spin_lock(&a->irq_lock);
	spin_lock(&a->lock);
	uint32_t r = 0;
	for (unsigned i = 0; i < bytes; i++) {
		if (off + i >= len) {
			r |= 0xffu << (8 * i);          /* past the block: nothing drives it */
			continue;
		}
		if (in)
			r |= (uint32_t)read_byte(a, block, off + i) << (8 * i);
		else
			write_byte(a, block, off + i, (uint8_t)(*val >> (8 * i)), &fx);
	}
	bool sci = sci_level(a);
	spin_unlock(&a->lock);
	sync_sci(a, sci);
	spin_unlock(&a->irq_lock);

	if (in)
		*val = r;
	if (fx.sleep)
		a->ops->sleep(a->ctx, fx.slp_typ);
	if (fx.reset)
		a->ops->reset(a->ctx);
	return 0;
}

/* A status bit set by the chipset, and the SCI brought to its level. */
static void raise_status(struct vacpi *a, uint16_t bit)
{
	spin_lock(&a->irq_lock);
	spin_lock(&a->lock);
	a->sts |= bit;
	bool sci = sci_level(a);
	spin_unlock(&a->lock);
	sync_sci(a, sci);
	spin_unlock(&a->irq_lock);
}

void vacpi_power_button(struct vacpi *a)
{
	raise_status(a, ACPI_PM1_PWRBTN);
}

void vacpi_rtc_alarm(struct vacpi *a)
{
	raise_status(a, ACPI_PM1_RTC);
}

bool vacpi_rtc_enabled(struct vacpi *a)
{
	spin_lock(&a->lock);
	bool on = a->en & ACPI_PM1_RTC;
	spin_unlock(&a->lock);
	return on;
}

uint64_t vacpi_next_deadline(struct vacpi *a)
{
	spin_lock(&a->lock);
	uint64_t d = NO_DEADLINE;

	if ((a->en & ACPI_PM1_TMR) && !(a->sts & ACPI_PM1_TMR))
		d = ticks_to_ns((a->tmr_half + 1) << TMR_HALF_SHIFT);
	spin_unlock(&a->lock);
	return d;
}

void vacpi_update(struct vacpi *a)
{
	spin_lock(&a->irq_lock);
	spin_lock(&a->lock);
	account(a);
	bool sci = sci_level(a);
	spin_unlock(&a->lock);
	sync_sci(a, sci);
	spin_unlock(&a->irq_lock);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t vacpi_save(const struct vacpi *d, void *buf, size_t len)
{
	struct vacpi s;

	memcpy(&s, d, sizeof(s));
	s.lock = (spinlock_t)SPINLOCK_INIT;
	s.irq_lock = (spinlock_t)SPINLOCK_INIT;
	s.port = (struct vacpi_ports){ 0 };
	s.ops = NULL;
	s.ctx = NULL;
	return devsnap_put(buf, len, &s, sizeof(s));
}

bool vacpi_load(struct vacpi *d, const void *buf, size_t len)
{
	struct vacpi s;

	if (!devsnap_get(&s, sizeof(s), buf, len))
		return false;
	s.lock = d->lock;
	s.irq_lock = d->irq_lock;
	s.port = d->port;
	s.ops = d->ops;
	s.ctx = d->ctx;
	memcpy(d, &s, sizeof(s));
	return true;
}
