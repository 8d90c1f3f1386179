/*
 * Emulated HPET; see vhpet.h.  "Spec" is the IA-PC HPET Specification
 * 1.0a.  A comparator's next match is kept as a main counter value in 64
 * bits, "unwrapped": a 32-bit comparator's match is the next counter value
 * whose low 32 bits equal it, so periods and wraps are plain additions.
 * Counter values are compared by their signed difference.
 */
#include "devices/vhpet.h"
#include "devices/iobus.h"
#include "devices/irq.h"
#include "devices/devsnap.h"
#include "lib/string.h"

#define NS_PER_TICK     (1000000000ULL / VHPET_HZ)
#define NO_LINE         VHPET_NR_LINES

_Static_assert(1000000000ULL % VHPET_HZ == 0, "the counter period is a whole number of ns");
_Static_assert(VHPET_TIMERS >= 3 && VHPET_TIMERS <= 32, "§2.2: 3 to 32 comparators");

static bool enabled(const struct vhpet *h)
{
	return h->config & HPET_CFG_ENABLE;
}

static uint64_t counter(const struct vhpet *h, uint64_t now)
{
	return enabled(h) ? h->count_off + now / NS_PER_TICK : h->count_held;
}

static bool after(uint64_t a, uint64_t b)       /* counter value a is past b */
{
	return (int64_t)(a - b) > 0;
}

static bool is32(const struct vhpet_timer *t)
{
	return t->config & HPET_TN_32BIT;
}

/* Comparator t's next match is reached at counter value c.  A 32-bit
 * match lies within 2^32 counts ahead; a 64-bit one anywhere ahead. */
static bool due(const struct vhpet_timer *t, uint64_t c)
{
	return is32(t) ? !after(t->next, c) : c >= t->next;
}

/* The comparator register as the guest reads it. */
static uint64_t cmp_value(const struct vhpet_timer *t)
{
	return is32(t) ? (uint32_t)t->next : t->next;
}

/*
 * Set the comparator to cmp with the counter at c: the match is the next
 * counter value after c that equals it (§2.3.9.1: a match is equality, so
 * a value already passed matches only after a wrap of the comparator's
 * width, never for 64 bits).
 */
static void rearm(struct vhpet_timer *t, uint64_t cmp, uint64_t c)
{
	if (is32(t)) {
		t->next = (c & ~0xffffffffULL) | (uint32_t)cmp;
		if (!after(t->next, c))
			t->next += 1ULL << 32;
		t->armed = true;
	} else {
		t->next = cmp;
		t->armed = cmp > c;
	}
}

unsigned vhpet_line(const struct vhpet *h, unsigned n)
{
	if (n >= VHPET_TIMERS)
		return NO_LINE;
	/* §2.3.3, Table 3: legacy replacement takes timers 0 and 1. */
	if ((h->config & HPET_CFG_LEGACY) && n < 2)
		return n == 0 ? VHPET_LINE_ISA0 : VHPET_LINE_ISA8;
	unsigned route = (unsigned)((h->t[n].config & HPET_TN_ROUTE) >> HPET_TN_ROUTE_SHIFT);
	return (VHPET_ROUTE_CAP >> route) & 1 ? route : NO_LINE;
}

/* Timer 0 drives ISA IRQ 0 with periodic edges: its lost ticks are owed. */
static bool owes_lost_ticks(const struct vhpet *h)
{
	uint64_t want = HPET_TN_INT_ENB | HPET_TN_PERIODIC;

	return (h->config & HPET_CFG_LEGACY) &&
	       (h->t[0].config & (want | HPET_TN_LEVEL)) == want && h->t[0].period;
}

/* Comparator n matched `matches` times, the last at VM time now. */
static void fire(struct vhpet *h, unsigned n, uint64_t matches, uint64_t now)
{
	struct vhpet_timer *t = &h->t[n];

	if (t->config & HPET_TN_LEVEL) {
		h->isr |= 1ULL << n;    /* §2.3.6: set whether or not the line is enabled */
	} else if (n == 0 && owes_lost_ticks(h)) {
		h->irq_coalesced += lost_ticks_count(&h->lost, matches, now, VHPET_MIN_IRQ_GAP_NS);
	} else if (t->config & HPET_TN_INT_ENB) {
		if (t->pulse_due) {
			h->irq_coalesced += matches;
		} else {
			t->pulse_due = true;
			h->irq_pulses++;
			h->irq_coalesced += matches - 1;
		}
	}
	if (t->config & HPET_TN_PERIODIC)
		t->quiet_until = now + VHPET_MIN_IRQ_GAP_NS;
}

/* Take the matches of comparator n up to counter value c. */
static void timer_run(struct vhpet *h, unsigned n, uint64_t c, uint64_t now)
{
	struct vhpet_timer *t = &h->t[n];
	uint64_t matches;

	if (!t->armed || !due(t, c))
		return;
	if ((t->config & HPET_TN_PERIODIC) && t->period) {
		if (now < t->quiet_until)
			return;                 /* coalesced into the next pulse */
		matches = (c - t->next) / t->period + 1;
		t->next += matches * t->period;
	} else if (is32(t)) {
		matches = ((c - t->next) >> 32) + 1;    /* again at each wrap */
		t->next += matches << 32;
	} else {
		matches = 1;
		t->armed = false;
	}
	fire(h, n, matches, now);
}

static void run_all(struct vhpet *h, uint64_t now)
{
	if (!enabled(h))
		return;                 /* §2.3.5: a halted counter matches nothing */
	uint64_t c = counter(h, now);
	for (unsigned n = 0; n < VHPET_TIMERS; n++)
		timer_run(h, n, c, now);
	/* Timer 0's owed ticks: one out at a time, the next once IRQ 0 was taken. */
	h->irq_coalesced += lost_ticks_expire(&h->lost, now);
	if (owes_lost_ticks(h) && !h->t[0].pulse_due && lost_ticks_take(&h->lost, now)) {
		h->t[0].pulse_due = true;
		h->irq_pulses++;
	}
}

/* Bring the lines in step with the comparators' state, outside the state lock. */
static void irq_flush(struct vhpet *h)
{
	bool level[VHPET_NR_LINES + 1] = { 0 }, pulse[VHPET_NR_LINES + 1] = { 0 };

	spin_lock(&h->irq_lock);
	spin_lock(&h->lock);
	for (unsigned n = 0; n < VHPET_TIMERS; n++) {
		struct vhpet_timer *t = &h->t[n];
		unsigned line = vhpet_line(h, n);
		/* §2.3.5: ENABLE_CNF = 0 disables every timer interrupt. */
		if ((t->config & HPET_TN_LEVEL) && (t->config & HPET_TN_INT_ENB) && enabled(h) &&
		    (h->isr >> n & 1))
			level[line] = true;
		pulse[line] |= t->pulse_due;
		t->pulse_due = false;
	}
	spin_unlock(&h->lock);

	for (unsigned line = 0; line < VHPET_NR_LINES; line++) {
		if (level[line] != h->sent[line]) {
			h->set_irq(h->irq_ctx, line, level[line]);
			h->sent[line] = level[line];
		}
		/* A line held asserted by another comparator shows no edge. */
		if (pulse[line] && !level[line]) {
			h->set_irq(h->irq_ctx, line, true);
			h->set_irq(h->irq_ctx, line, false);
		}
	}
	spin_unlock(&h->irq_lock);
}

void vhpet_init(struct vhpet *h, void (*set_irq)(void *ctx, unsigned line, bool asserted),
		void *irq_ctx, uint64_t (*now)(void *ctx), void *now_ctx)
{
	memset(h, 0, sizeof(*h));
	for (unsigned n = 0; n < VHPET_TIMERS; n++)
		h->t[n].next = ~0ULL;   /* the comparators' reset value: all ones */
	h->set_irq = set_irq;
	h->irq_ctx = irq_ctx;
	h->now = now;
	h->now_ctx = now_ctx;
}

bool vhpet_enabled(const struct vhpet *h)
{
	return __atomic_load_n(&h->config, __ATOMIC_RELAXED) & HPET_CFG_ENABLE;
}

bool vhpet_legacy(const struct vhpet *h)
{
	return __atomic_load_n(&h->config, __ATOMIC_RELAXED) & HPET_CFG_LEGACY;
}

/* ---- registers ------------------------------------------------------------ */

static uint64_t reg_read(struct vhpet *h, unsigned reg, uint64_t now)
{
	if (reg == HPET_REG_CAP)
		return VHPET_BLOCK_ID | VHPET_PERIOD_FS << HPET_CAP_PERIOD_SHIFT;
	if (reg == HPET_REG_CONFIG)
		return h->config;
	if (reg == HPET_REG_ISR)
		return h->isr;
	if (reg == HPET_REG_COUNTER)
		return counter(h, now);
	if (reg < HPET_REG_TIMER(0) || reg >= HPET_REG_TIMER(VHPET_TIMERS))
		return 0;
	const struct vhpet_timer *t = &h->t[(reg - HPET_REG_TIMER(0)) / 0x20];
	switch ((reg - HPET_REG_TIMER(0)) % 0x20) {
	case 0:
		return t->config | HPET_TN_PER_CAP | HPET_TN_SIZE_CAP |
		       (uint64_t)VHPET_ROUTE_CAP << HPET_TN_ROUTE_CAP_SHIFT;
	case 8:
		return cmp_value(t);
	default:
		return 0;       /* the FSB route: no FSB delivery */
	}
}

static void timer_config_write(struct vhpet *h, struct vhpet_timer *t, unsigned n,
			       uint64_t v, uint64_t c)
{
	uint64_t old = t->config;
	uint64_t route = v & HPET_TN_ROUTE;

	/* §2.3.8: a route the comparator cannot take is not taken. */
	if (!((VHPET_ROUTE_CAP >> (route >> HPET_TN_ROUTE_SHIFT)) & 1))
		route = old & HPET_TN_ROUTE;
	t->config = (v & HPET_TN_WRITABLE & ~HPET_TN_ROUTE) | route;
	if (v & HPET_TN_VAL_SET)
		t->val_set = true;
	if ((old ^ t->config) & HPET_TN_32BIT) {
		/* The width changed: the match follows the comparator's new
		 * width, from its low 32 bits (one of the widths is 32). */
		rearm(t, (uint32_t)t->next, c);
		if (is32(t))
			t->period = (uint32_t)t->period;
	}
	if (!(t->config & HPET_TN_LEVEL))
		h->isr &= ~(1ULL << n);     /* edge mode has no status */
}

static void cmp_write(struct vhpet_timer *t, uint64_t v, uint64_t mask, uint64_t c)
{
	uint64_t cmp = (cmp_value(t) & ~mask) | (v & mask);

	if (is32(t))
		cmp = (uint32_t)cmp;
	/* §2.3.9.2.2: in periodic mode a write sets the period, and with
	 * Tn_VAL_SET_CNF the comparator too; otherwise it is the comparator. */
	if (t->config & HPET_TN_PERIODIC) {
		t->period = (t->period & ~mask) | (v & mask);
		if (is32(t))
			t->period = (uint32_t)t->period;
		if (t->val_set)
			rearm(t, cmp, c);
	} else {
		rearm(t, cmp, c);
	}
	t->val_set = false;
}

static void reg_write(struct vhpet *h, unsigned reg, uint64_t v, uint64_t mask, uint64_t now)
{
	uint64_t c = counter(h, now);

	/* Timer 0 reprogrammed, or the block: its owed ticks are no longer due. */
	if (reg == HPET_REG_CONFIG || reg == HPET_REG_COUNTER ||
	    (reg >= HPET_REG_TIMER(0) && reg < HPET_REG_TIMER(1)))
		h->irq_coalesced += lost_ticks_drop(&h->lost, now);

	if (reg == HPET_REG_CONFIG) {
		uint64_t cfg = ((h->config & ~mask) | (v & mask)) & (HPET_CFG_ENABLE | HPET_CFG_LEGACY);
		if ((cfg & HPET_CFG_ENABLE) && !enabled(h))
			h->count_off = h->count_held - now / NS_PER_TICK;
		else if (!(cfg & HPET_CFG_ENABLE) && enabled(h))
			h->count_held = c;
		__atomic_store_n(&h->config, cfg, __ATOMIC_RELAXED);
	} else if (reg == HPET_REG_ISR) {
		h->isr &= ~(v & mask);  /* §2.3.6: write 1 to clear */
	} else if (reg == HPET_REG_COUNTER) {
		uint64_t nc = (c & ~mask) | (v & mask);
		if (enabled(h))
			h->count_off = nc - now / NS_PER_TICK;
		else
			h->count_held = nc;
		/* The comparators keep their values; their matches follow the new count. */
		for (unsigned n = 0; n < VHPET_TIMERS; n++)
			rearm(&h->t[n], cmp_value(&h->t[n]), nc);
	} else if (reg >= HPET_REG_TIMER(0) && reg < HPET_REG_TIMER(VHPET_TIMERS)) {
		unsigned n = (reg - HPET_REG_TIMER(0)) / 0x20;
		struct vhpet_timer *t = &h->t[n];
		switch ((reg - HPET_REG_TIMER(0)) % 0x20) {
		case 0:
			timer_config_write(h, t, n, (reg_read(h, reg, now) & ~mask) | (v & mask), c);
			break;
		case 8:
			cmp_write(t, v, mask, c);
			break;
		}
	}
}

int vhpet_mmio(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val)
{
	struct vhpet *h = dev;
	unsigned off = (unsigned)(gpa % VHPET_SIZE);

	/* §2.3.1: 32- and 64-bit accesses; smaller ones act on their bytes.
	 * An access across two registers has no meaning. */
	if ((bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) || (off & (bytes - 1)))
		return IOBUS_EINVAL;
	unsigned reg = off & ~7u, shift = (off & 7) * 8;
	uint64_t mask = (bytes == 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1) << shift;

	spin_lock(&h->lock);
	uint64_t now = h->now(h->now_ctx);
	run_all(h, now);        /* what the guest sees is up to date */
	if (write) {
		reg_write(h, reg, *val << shift, mask, now);
		run_all(h, now);
	} else {
		*val = (reg_read(h, reg, now) & mask) >> shift;
	}
	spin_unlock(&h->lock);
	irq_flush(h);
	return 0;
}

uint64_t vhpet_next_deadline(const struct vhpet *h, uint32_t lines)
{
	/* The lock is not part of the HPET's state: taking it keeps h logically const. */
	struct vhpet *w = (struct vhpet *)h;
	uint64_t best = NO_DEADLINE;

	spin_lock(&w->lock);
	for (unsigned n = 0; n < VHPET_TIMERS && enabled(w); n++) {
		const struct vhpet_timer *t = &w->t[n];
		unsigned line = vhpet_line(w, n);
		/* Only a match that would change a line is a deadline: a
		 * level-triggered line already asserted stays so. */
		if (!t->armed || !(t->config & HPET_TN_INT_ENB) || line == NO_LINE ||
		    !((lines >> line) & 1) || ((t->config & HPET_TN_LEVEL) && (w->isr >> n & 1)))
			continue;
		uint64_t ticks = t->next - w->count_off;        /* since VM time 0 */
		uint64_t ns = ticks > UINT64_MAX / NS_PER_TICK ? NO_DEADLINE : ticks * NS_PER_TICK;
		if ((t->config & HPET_TN_PERIODIC) && ns < t->quiet_until)
			ns = t->quiet_until;
		if (n == 0 && owes_lost_ticks(w) && lost_ticks_due(&w->lost))
			ns = 0;                 /* an owed tick may go out now */
		best = MIN(best, ns);
	}
	spin_unlock(&w->lock);
	return best;
}

void vhpet_update(struct vhpet *h)
{
	/* Halted, it matches nothing and its lines are as the last register
	 * write left them (vhpet_mmio flushed them): nothing to do. */
	if (!vhpet_enabled(h))
		return;
	spin_lock(&h->lock);
	run_all(h, h->now(h->now_ctx));
	spin_unlock(&h->lock);
	irq_flush(h);
}

bool vhpet_irq0_ack(struct vhpet *h)
{
	spin_lock(&h->lock);
	bool more = lost_ticks_ack(&h->lost);
	spin_unlock(&h->lock);
	return more;
}

void vhpet_irq0_reset(struct vhpet *h)
{
	spin_lock(&h->lock);
	h->irq_coalesced += lost_ticks_drop(&h->lost, h->now(h->now_ctx));
	spin_unlock(&h->lock);
}

/* ---- snapshot record (devices/devsnap.h) ------------------------------------ */

size_t vhpet_save(const struct vhpet *h, void *buf, size_t len)
{
	struct vhpet s;

	memcpy(&s, h, sizeof(s));
	s.lock = (spinlock_t)SPINLOCK_INIT;
	s.irq_lock = (spinlock_t)SPINLOCK_INIT;
	s.set_irq = NULL;
	s.irq_ctx = NULL;
	s.now = NULL;
	s.now_ctx = NULL;
	return devsnap_put(buf, len, &s, sizeof(s));
}

/* A byte that must be a bool: anything else would not be one the model wrote. */
static bool is_bool(const bool *b)
{
	uint8_t v;

	memcpy(&v, b, 1);
	return v <= 1;
}

bool vhpet_load(struct vhpet *h, const void *buf, size_t len)
{
	struct vhpet s;

	if (!devsnap_get(&s, sizeof(s), buf, len))
		return false;
	if ((s.config & ~(uint64_t)(HPET_CFG_ENABLE | HPET_CFG_LEGACY)) ||
	    (s.isr >> VHPET_TIMERS))
		return false;
	for (unsigned n = 0; n < VHPET_TIMERS; n++) {
		const struct vhpet_timer *t = &s.t[n];
		unsigned route = (unsigned)((t->config & HPET_TN_ROUTE) >> HPET_TN_ROUTE_SHIFT);
		if ((t->config & ~(uint64_t)HPET_TN_WRITABLE) ||
		    (route && !((VHPET_ROUTE_CAP >> route) & 1)) ||
		    !is_bool(&t->armed) || !is_bool(&t->val_set) || !is_bool(&t->pulse_due))
			return false;
	}
	for (unsigned line = 0; line < VHPET_NR_LINES; line++)
		if (!is_bool(&s.sent[line]))
			return false;
	if (!lost_ticks_ok(&s.lost))
		return false;
	s.lock = h->lock;
	s.irq_lock = h->irq_lock;
	s.set_irq = h->set_irq;
	s.irq_ctx = h->irq_ctx;
	s.now = h->now;
	s.now_ctx = h->now_ctx;
	memcpy(h, &s, sizeof(s));
	return true;
}
