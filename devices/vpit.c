/*
 * Emulated 8254 PIT; see vpit.h.  "Data sheet" is the Intel 8254
 * Programmable Interval Timer data sheet (231164); section names are its
 * own ("Mode 2 - Rate Generator", "Read-Back Command", ...).
 *
 * Time is kept in ticks of the input clock counted from VM time 0, so a
 * channel's state is the tick its count was loaded on.  The data sheet
 * has a written count reach the counting element on the next CLK pulse,
 * which does not decrement it: a count written during tick t is loaded on
 * tick t + 1 and, in mode 0, OUT goes high on tick t + 1 + N.
 */
#include "devices/vpit.h"
#include "devices/devsnap.h"
#include "devices/iobus.h"
#include "devices/irq.h"
#include "lib/string.h"

#define NS_PER_S    1000000000ULL
#define REFRESH_NS  15085ULL    /* a BIOS runs channel 1 in mode 2 with count 18 */

/* Ticks from time 0 to ns: floor(ns * PIT_HZ / 1e9), in 64 bits. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return ns / NS_PER_S * PIT_HZ + ns % NS_PER_S * PIT_HZ / NS_PER_S;
}

/* The first ns at which ns_to_ticks() reaches t (NO_DEADLINE past 2^64 ns). */
static uint64_t ticks_to_ns(uint64_t t)
{
	uint64_t s = t / PIT_HZ;

	if (s >= UINT64_MAX / NS_PER_S)
		return NO_DEADLINE;
	return s * NS_PER_S + (t % PIT_HZ * NS_PER_S + PIT_HZ - 1) / PIT_HZ;
}

static bool periodic(const struct vpit_channel *c)
{
	return c->mode == 2 || c->mode == 3;
}

/* Counts wrap modulo this; a written 0 stands for it ("Counter 0 value 0 means 2^16 / 10^4"). */
static uint32_t modulus(const struct vpit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint32_t count_from_cr(const struct vpit_channel *c)
{
	uint32_t v = c->cr;

	if (c->bcd) {
		v = 0;
		for (int shift = 12; shift >= 0; shift -= 4)
			v = v * 10 + MIN((c->cr >> shift) & 0xfu, 9u);
	}
	return v ? v : modulus(c);
}

/* A counting element value as the guest reads it: binary or four BCD digits. */
static uint16_t count_to_guest(const struct vpit_channel *c, uint32_t v)
{
	v %= modulus(c);
	if (!c->bcd)
		return (uint16_t)v;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* Ticks counted by a RUN or HELD channel at tick t; -1 before its count is loaded. */
static int64_t elapsed(const struct vpit_channel *c, uint64_t t)
{
	if (c->state == VPIT_HELD)
		return (int64_t)c->held;
	return t < c->load ? -1 : (int64_t)(t - c->load);
}

/* The OUT pin at tick t (data sheet, "Mode Definitions" and Figure 19). */
static bool chan_out(const struct vpit_channel *c, uint64_t t)
{
	if (c->state == VPIT_IDLE || c->state == VPIT_WAIT)
		return c->mode != 0;            /* mode 0 sets OUT low, the others high */
	if (c->state == VPIT_HELD && periodic(c))
		return true;                    /* modes 2, 3: GATE low forces OUT high */
	int64_t e = elapsed(c, t);
	if (e < 0)
		return c->mode != 0;
	uint64_t u = (uint64_t)e, n = c->n;
	switch (c->mode) {
	case 0:                                 /* high from terminal count on */
	case 1:                                 /* low from the trigger to terminal count */
		return u >= n;
	case 2:
		return u % n != n - 1;          /* low while the count is 1 */
	case 3:
		return u % n < (n + 1) / 2;     /* high half first, the longer one for odd N */
	default:
		return u != n;                  /* 4, 5: low for one clock at terminal count */
	}
}

/* The counting element at tick t, binary, below modulus(c). */
static uint32_t chan_count(const struct vpit_channel *c, uint64_t t)
{
	uint32_t m = modulus(c);

	if (c->state == VPIT_IDLE || c->state == VPIT_WAIT)
		return c->hold;
	int64_t e = elapsed(c, t);
	if (e < 0)
		return c->hold;
	uint64_t u = (uint64_t)e, n = c->n;
	switch (c->mode) {
	case 2:                                 /* N, N-1, ..., 1, reload */
		return (uint32_t)((n - u % n) % m);
	case 3: {
		/*
		 * Mode 3 counts down by two in each half: N, N-2, ..., 2 for
		 * even N; for odd N it loads N-1 and runs to 0 in the high half
		 * and to 2 in the low half.
		 */
		uint64_t p = u % n, half = (n + 1) / 2;
		if (p >= half)
			p -= half;
		return (uint32_t)(((n & ~1ULL) - 2 * p) % m);
	}
	default:                                /* N down to 0, then wraps on */
		return (uint32_t)((n + m - u % m) % m);
	}
}

/* Status byte (data sheet, "Read-Back Command", Figure 12). */
static uint8_t chan_status(const struct vpit_channel *c, uint64_t t)
{
	return (uint8_t)((chan_out(c, t) ? PIT_ST_OUT : 0) | (t < c->null_until ? PIT_ST_NULL : 0) |
			 c->rw << 4 | c->cw_mode << 1 | (c->bcd ? PIT_CW_BCD : 0));
}

/* "Counter Latch Command": a second latch before the count is read is ignored. */
static void chan_latch(struct vpit_channel *c, uint64_t t)
{
	if (c->count_latched)
		return;
	c->latch = count_to_guest(c, chan_count(c, t));
	c->count_latched = true;
}

/* A control word for this channel: all its control logic is reset. */
static void chan_control(struct vpit_channel *c, uint8_t cw, uint64_t t)
{
	c->hold = (uint16_t)chan_count(c, t);
	c->rw = PIT_CW_RW(cw);
	c->cw_mode = PIT_CW_MODE(cw);
	c->mode = c->cw_mode > 5 ? c->cw_mode - 4 : c->cw_mode;
	c->bcd = cw & PIT_CW_BCD;
	c->state = VPIT_IDLE;
	c->null_until = UINT64_MAX;
	c->write_msb = c->read_msb = false;
	c->count_latched = c->status_latched = false;
}

/* A count was written to the count register during tick t. */
static void chan_load(struct vpit_channel *c, uint64_t t)
{
	c->hold = (uint16_t)chan_count(c, t);
	if (c->mode == 1 || c->mode == 5) {
		/* Loaded by the next gate trigger; a running one-shot goes on. */
		c->null_until = UINT64_MAX;
		if (c->state == VPIT_IDLE)
			c->state = VPIT_WAIT;
		return;
	}
	c->n = count_from_cr(c);
	c->null_until = t + 1;
	if (c->gate) {
		c->state = VPIT_RUN;
		c->load = t + 1;
	} else {
		c->state = VPIT_HELD;           /* loaded, but GATE low disables counting */
		c->held = 0;
	}
}

static void chan_set_gate(struct vpit_channel *c, bool gate, uint64_t t)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	c->hold = (uint16_t)chan_count(c, t);
	if (c->mode == 1 || c->mode == 5) {
		/* A rising edge (re)triggers: the count is loaded on the next clock. */
		if (gate && c->state != VPIT_IDLE) {
			c->n = count_from_cr(c);
			c->load = t + 1;
			c->state = VPIT_RUN;
			if (c->null_until == UINT64_MAX)
				c->null_until = t + 1;
		}
		return;
	}
	if (!gate && c->state == VPIT_RUN) {
		int64_t e = elapsed(c, t);
		c->held = e < 0 ? 0 : (uint64_t)e;
		c->state = VPIT_HELD;
	} else if (gate && c->state == VPIT_HELD) {
		/* Modes 2, 3: a rising gate reloads the count; modes 0, 4 resume. */
		if (periodic(c))
			c->load = t + 1;
		else
			c->load = c->held > t ? 0 : t - c->held;
		c->state = VPIT_RUN;
	}
}

/* A read of a counter's data port, through its latches and read flip-flop. */
static uint8_t chan_read(struct vpit_channel *c, uint64_t t)
{
	if (c->status_latched) {        /* status first, then a latched count */
		c->status_latched = false;
		return c->status;
	}
	uint16_t v = c->count_latched ? c->latch : count_to_guest(c, chan_count(c, t));
	switch (c->rw) {
	case PIT_RW_LSB:
		c->count_latched = false;
		return (uint8_t)v;
	case PIT_RW_MSB:
		c->count_latched = false;
		return (uint8_t)(v >> 8);
	default:
		c->read_msb = !c->read_msb;
		if (c->read_msb)
			return (uint8_t)v;
		c->count_latched = false;
		return (uint8_t)(v >> 8);
	}
}

/* Forget the lost ticks (they count as coalesced) and the wait for an
 * acknowledge; periods count again from now on. */
static void lost_drop(struct vpit *p)
{
	p->irq_coalesced += lost_ticks_drop(&p->lost, p->now(p->now_ctx));
}

/* Channel 0 was reprogrammed: its output is no longer the old one. */
static void irq0_reset(struct vpit *p, uint64_t t)
{
	p->irq_level = false;
	p->irq_done = t;
	lost_drop(p);
}

static void chan_write(struct vpit *p, unsigned i, uint8_t b, uint64_t t)
{
	struct vpit_channel *c = &p->ch[i];

	switch (c->rw) {
	case PIT_RW_LSB:
		c->cr = b;
		break;
	case PIT_RW_MSB:
		c->cr = (uint16_t)(b << 8);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = b;
			c->write_msb = true;
			/* Mode 0: writing the first byte stops counting and sets OUT low. */
			if (c->mode == 0) {
				c->hold = (uint16_t)chan_count(c, t);
				c->state = VPIT_IDLE;
				if (i == 0)
					irq0_reset(p, t);
			}
			return;
		}
		c->write_msb = false;
		c->cr = (uint16_t)(c->write_lsb | b << 8);
		break;
	}
	chan_load(c, t);
	if (i == 0)
		irq0_reset(p, t);
}

static void pit_control(struct vpit *p, uint8_t cw, uint64_t t)
{
	unsigned sc = PIT_CW_SC(cw);

	if (sc == 3) {
		/* Read-back: bits 1-3 select counters 0-2; bits 5, 4 are active low. */
		for (unsigned i = 0; i < 3; i++) {
			struct vpit_channel *c = &p->ch[i];
			if (!(cw & (2u << i)))
				continue;
			if (!(cw & PIT_RB_NCOUNT))
				chan_latch(c, t);
			if (!(cw & PIT_RB_NSTATUS) && !c->status_latched) {
				c->status = chan_status(c, t);
				c->status_latched = true;
			}
		}
		return;
	}
	if (PIT_CW_RW(cw) == 0) {
		chan_latch(&p->ch[sc], t);
		return;
	}
	chan_control(&p->ch[sc], cw, t);
	if (sc == 0)
		irq0_reset(p, t);
}

/* The first tick after `after` with an IRQ 0 event of channel c, or UINT64_MAX. */
static uint64_t next_event(const struct vpit_channel *c, uint64_t after)
{
	uint64_t t;

	if (c->state != VPIT_RUN)
		return UINT64_MAX;
	switch (c->mode) {
	case 0:
		t = c->load + c->n;             /* OUT rises at terminal count */
		break;
	case 2:
	case 3:                                 /* OUT rises as each period ends */
		if (after < c->load)
			return c->load + c->n;
		return c->load + ((after - c->load) / c->n + 1) * c->n;
	case 4:
		t = c->load + c->n + 1;         /* OUT rises after the one-clock strobe */
		break;
	default:
		return UINT64_MAX;
	}
	return t > after ? t : UINT64_MAX;
}

/* The number of IRQ 0 events of channel c on ticks (a, b]. */
static uint64_t events_between(const struct vpit_channel *c, uint64_t a, uint64_t b)
{
	if (c->state != VPIT_RUN || b <= a)
		return 0;
	if (periodic(c)) {
		uint64_t fa = a < c->load ? 0 : (a - c->load) / c->n;
		uint64_t fb = b < c->load ? 0 : (b - c->load) / c->n;
		return fb - fa;
	}
	return next_event(c, a) <= b;
}

/*
 * Bring IRQ 0 to the state the model wants.  irq_lock keeps the calls of
 * concurrent callers in the order their states were decided.  Called
 * without p->lock.
 */
static void irq_flush(struct vpit *p)
{
	spin_lock(&p->irq_lock);
	spin_lock(&p->lock);
	bool level = p->irq_level;
	bool pulse = p->irq_pulse_due;
	p->irq_pulse_due = false;
	spin_unlock(&p->lock);

	if (!level && p->irq_sent) {
		p->set_irq(p->vm, 0, false);
		p->irq_sent = false;
	}
	if (pulse) {
		p->set_irq(p->vm, 0, true);
		p->set_irq(p->vm, 0, false);
		p->irq_sent = false;
	}
	if (level && !p->irq_sent) {
		p->set_irq(p->vm, 0, true);
		p->irq_sent = true;
	}
	spin_unlock(&p->irq_lock);
}

void vpit_init(struct vpit *p, void (*set_irq)(void *vm, unsigned irq, bool level), void *vm,
	       uint64_t (*now)(void *ctx), void *now_ctx)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < 3; i++) {
		struct vpit_channel *c = &p->ch[i];
		c->mode = c->cw_mode = 3;
		c->rw = PIT_RW_WORD;
		c->gate = i != 2;               /* gates 0, 1 are tied high on a PC */
		c->state = VPIT_IDLE;
		c->n = 65536;
		c->null_until = UINT64_MAX;
	}
	p->set_irq = set_irq;
	p->vm = vm;
	p->now = now;
	p->now_ctx = now_ctx;
}

int vpit_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct vpit *p = dev;
	uint8_t b = (uint8_t)*val;

	if ((port < PIT_PORT_CH0 || port > PIT_PORT_CTRL) && port != PIT_PORT_NMI_SC)
		return IOBUS_EINVAL;
	spin_lock(&p->lock);
	uint64_t now = p->now(p->now_ctx), t = ns_to_ticks(now);
	if (port == PIT_PORT_NMI_SC) {
		if (in)
			*val = p->nmi_sc | ((now / REFRESH_NS) & 1 ? NMI_SC_REFRESH : 0) |
			       (chan_out(&p->ch[2], t) ? NMI_SC_OUT2 : 0);
		else {
			p->nmi_sc = b & NMI_SC_WRITABLE;
			chan_set_gate(&p->ch[2], b & NMI_SC_GATE2, t);
		}
	} else if (port == PIT_PORT_CTRL) {
		if (in)
			*val = 0xff;
		else
			pit_control(p, b, t);
	} else {
		unsigned i = port - PIT_PORT_CH0;
		if (in)
			*val = chan_read(&p->ch[i], t);
		else
			chan_write(p, i, b, t);
	}
	spin_unlock(&p->lock);
	if (!in)
		irq_flush(p);
	return 0;
}

uint64_t vpit_next_deadline(const struct vpit *p)
{
	/* The lock is not part of the PIT's state: taking it keeps p logically const. */
	struct vpit *w = (struct vpit *)p;
	uint64_t ns = NO_DEADLINE;

	spin_lock(&w->lock);
	const struct vpit_channel *c = &w->ch[0];
	uint64_t t = next_event(c, w->irq_done);
	if (t != UINT64_MAX) {
		ns = ticks_to_ns(t);
		if (periodic(c) && ns < w->irq_quiet_until)
			ns = w->irq_quiet_until;
	}
	if (periodic(c) && lost_ticks_due(&w->lost))
		ns = 0;                         /* a lost tick may go out now */
	spin_unlock(&w->lock);
	return ns;
}

void vpit_update(struct vpit *p)
{
	spin_lock(&p->lock);
	struct vpit_channel *c = &p->ch[0];
	uint64_t now = p->now(p->now_ctx), t = ns_to_ticks(now);
	p->irq_coalesced += lost_ticks_expire(&p->lost, now);  /* the guest does not take IRQ 0 */
	uint32_t owed = p->lost.missed;         /* ticks left over from earlier updates */
	if (t > p->irq_done && !(periodic(c) && now < p->irq_quiet_until)) {
		uint64_t n = events_between(c, p->irq_done, t);
		p->irq_done = t;
		if (n && c->mode == 0) {
			p->irq_level = true;
		} else if (n && periodic(c)) {
			p->irq_coalesced += lost_ticks_count(&p->lost, n, now, VPIT_MIN_IRQ_GAP_NS);
			p->irq_quiet_until = now + VPIT_MIN_IRQ_GAP_NS;
		} else if (n && p->irq_pulse_due) {
			p->irq_coalesced += n;  /* another vCPU has yet to send the last one */
		} else if (n) {
			p->irq_pulse_due = true;
			p->irq_pulses++;
			p->irq_coalesced += n - 1;
		}
	}
	/* One periodic pulse out at a time: the next once the guest took it. */
	if (periodic(c) && !p->irq_pulse_due && lost_ticks_take(&p->lost, now)) {
		p->irq_pulse_due = true;
		p->irq_pulses++;
		if (owed)
			p->irq_reinjected++;    /* a tick that was lost */
	}
	spin_unlock(&p->lock);
	irq_flush(p);
}

bool vpit_irq_ack(struct vpit *p)
{
	spin_lock(&p->lock);
	bool more = lost_ticks_ack(&p->lost);
	spin_unlock(&p->lock);
	return more;
}

void vpit_irq_reset(struct vpit *p)
{
	spin_lock(&p->lock);
	lost_drop(p);
	spin_unlock(&p->lock);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

/* A record's channels: every field in the range the model keeps it in. */
static bool vpit_rec_ok(const void *rec)
{
	const struct vpit_channel *ch = ((const struct vpit *)rec)->ch;

	for (unsigned i = 0; i < 3; i++)
		if (ch[i].mode > 5 || ch[i].rw < PIT_RW_LSB || ch[i].rw > PIT_RW_WORD ||
		    ch[i].state > VPIT_HELD || ch[i].n < 1 || ch[i].n > 65536)
			return false;
	return lost_ticks_ok(&((const struct vpit *)rec)->lost);
}

static const struct devsnap_field vpit_wiring[] = {
	DEVSNAP_FIELD(struct vpit, lock), DEVSNAP_FIELD(struct vpit, irq_lock),
	DEVSNAP_FIELD(struct vpit, set_irq), DEVSNAP_FIELD(struct vpit, vm),
	DEVSNAP_FIELD(struct vpit, now), DEVSNAP_FIELD(struct vpit, now_ctx),
};
static const struct devsnap_desc vpit_snap = {
	sizeof(struct vpit), vpit_wiring, ARRAY_SIZE(vpit_wiring), vpit_rec_ok
};

size_t vpit_save(const struct vpit *d, void *buf, size_t len)
{
	return devsnap_save(&vpit_snap, d, buf, len);
}

bool vpit_load(struct vpit *d, const void *buf, size_t len)
{
	struct vpit s;

	return devsnap_load(&vpit_snap, d, &s, buf, len);
}
