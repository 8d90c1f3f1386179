/*
 * Host tests for the HPET model: the guest's register accesses against a
 * fake VM clock, with every interrupt line change recorded.  The
 * sequences are the ones Linux's arch/x86/kernel/hpet.c makes (legacy
 * periodic tick, one-shot events) and the corners of the IA-PC HPET
 * Specification 1.0a (32-bit wrap, level status, routes, halting).
 */
#include "test/unit/check.h"
#include "devices/vhpet.h"
#include "devices/iobus.h"
#include "devices/irq.h"

static uint64_t clk;    /* VM virtual time, ns */

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return clk;
}

struct irqlog {
	int n;
	unsigned line[256];
	bool level[256];
};

static void fake_irq(void *ctx, unsigned line, bool asserted)
{
	struct irqlog *l = ctx;

	if (l->n < 256) {
		l->line[l->n] = line;
		l->level[l->n] = asserted;
	}
	l->n++;
}

/* Pulses (an assert followed by a deassert) seen on line. */
static int pulses(const struct irqlog *l, unsigned line)
{
	int p = 0;

	for (int i = 0; i + 1 < l->n && i + 1 < 256; i++)
		if (l->line[i] == line && l->level[i] && l->line[i + 1] == line && !l->level[i + 1])
			p++;
	return p;
}

static void setup(struct vhpet *h, struct irqlog *l)
{
	memset(l, 0, sizeof(*l));
	clk = 1000;
	vhpet_init(h, fake_irq, l, fake_now, NULL);
}

static uint32_t rd32(struct vhpet *h, unsigned off)
{
	uint64_t v = 0;
	CHECK_EQ(vhpet_mmio(h, false, VHPET_BASE + off, 4, &v), 0);
	return (uint32_t)v;
}

static uint64_t rd64(struct vhpet *h, unsigned off)
{
	uint64_t v = 0;
	CHECK_EQ(vhpet_mmio(h, false, VHPET_BASE + off, 8, &v), 0);
	return v;
}

static void wr32(struct vhpet *h, unsigned off, uint32_t val)
{
	uint64_t v = val;
	CHECK_EQ(vhpet_mmio(h, true, VHPET_BASE + off, 4, &v), 0);
}

static void wr64(struct vhpet *h, unsigned off, uint64_t val)
{
	CHECK_EQ(vhpet_mmio(h, true, VHPET_BASE + off, 8, &val), 0);
}

TEST(capabilities)
{
	struct vhpet h;
	struct irqlog l;

	setup(&h, &l);
	uint32_t id = rd32(&h, HPET_REG_CAP);
	CHECK_EQ(id & 0xff, 1);                         /* REV_ID */
	CHECK_EQ((id >> 8) & 0x1f, VHPET_TIMERS - 1);   /* NUM_TIM_CAP: last timer's number */
	CHECK(id & HPET_CAP_COUNT_SIZE);
	CHECK(id & HPET_CAP_LEG_RT);
	CHECK_EQ(id >> 16, 0x8086);
	CHECK_EQ(rd32(&h, HPET_REG_CAP + 4), 10000000);  /* 10 ns in fs */
	CHECK_EQ(rd64(&h, HPET_REG_CAP) >> 32, 10000000);
	for (unsigned n = 0; n < VHPET_TIMERS; n++) {
		uint64_t cfg = rd64(&h, HPET_REG_TIMER(n));
		CHECK(cfg & HPET_TN_PER_CAP);
		CHECK(cfg & HPET_TN_SIZE_CAP);
		CHECK(!(cfg & HPET_TN_FSB_CAP));
		CHECK_EQ(cfg >> 32, VHPET_ROUTE_CAP);
		CHECK_EQ(cfg & HPET_TN_INT_ENB, 0);
		CHECK_EQ(rd64(&h, HPET_REG_CMP(n)), ~0ULL);
	}
	/* Capabilities are read-only. */
	wr32(&h, HPET_REG_CAP, 0);
	CHECK_EQ(rd32(&h, HPET_REG_CAP), id);
	/* Misaligned and odd-sized accesses are refused. */
	uint64_t v;
	CHECK_EQ(vhpet_mmio(&h, false, VHPET_BASE + 2, 4, &v), IOBUS_EINVAL);
	CHECK_EQ(vhpet_mmio(&h, false, VHPET_BASE, 3, &v), IOBUS_EINVAL);
	/* A byte of a register reads as that byte. */
	CHECK_EQ(vhpet_mmio(&h, false, VHPET_BASE + 2, 1, &v), 0);
	CHECK_EQ(v, 0x86);
}

TEST(counter_runs_halts_and_is_written)
{
	struct vhpet h;
	struct irqlog l;

	setup(&h, &l);
	CHECK_EQ(rd64(&h, HPET_REG_COUNTER), 0);
	clk += 5000;
	CHECK_EQ(rd64(&h, HPET_REG_COUNTER), 0);        /* halted after reset */
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	clk += 1000000;                                 /* 1 ms = 100000 counts */
	CHECK_EQ(rd64(&h, HPET_REG_COUNTER), 100000);
	wr32(&h, HPET_REG_CONFIG, 0);
	clk += 1000000;
	CHECK_EQ(rd64(&h, HPET_REG_COUNTER), 100000);   /* halted: holds */
	/* Linux's hpet_reset_counter: two 32-bit writes while halted. */
	wr32(&h, HPET_REG_COUNTER, 0);
	wr32(&h, HPET_REG_COUNTER + 4, 0);
	CHECK_EQ(rd64(&h, HPET_REG_COUNTER), 0);
	wr64(&h, HPET_REG_COUNTER, 0x123456789aULL);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	clk += 100;
	CHECK_EQ(rd64(&h, HPET_REG_COUNTER), 0x123456789aULL + 10);
	CHECK_EQ(rd32(&h, HPET_REG_COUNTER + 4), 0x12);
	CHECK_EQ(l.n, 0);
}

/* Linux's legacy tick: hpet_clkevt_set_state_periodic() on channel 0. */
TEST(legacy_periodic_tick)
{
	struct vhpet h;
	struct irqlog l;
	const uint32_t delta = 400000;                  /* 4 ms: HZ = 250 */

	setup(&h, &l);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	clk += 12345;
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_LEGACY);     /* stop the counter */
	uint32_t now = rd32(&h, HPET_REG_COUNTER);
	uint32_t cfg = rd32(&h, HPET_REG_TIMER(0));
	cfg |= HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET | HPET_TN_32BIT;
	wr32(&h, HPET_REG_TIMER(0), cfg);
	wr32(&h, HPET_REG_CMP(0), now + delta);
	wr32(&h, HPET_REG_CMP(0), delta);               /* the period only */
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE | HPET_CFG_LEGACY);
	CHECK(vhpet_legacy(&h));
	CHECK_EQ(vhpet_line(&h, 0), VHPET_LINE_ISA0);
	CHECK_EQ(vhpet_line(&h, 1), VHPET_LINE_ISA8);
	CHECK_EQ(rd32(&h, HPET_REG_CMP(0)), now + delta);

	uint64_t first = vhpet_next_deadline(&h, 1u << VHPET_LINE_ISA0);
	/* 4 ms on, to the 10 ns count the counter was halted in. */
	CHECK(first <= clk + 4000000 && first + 10 > clk + 4000000);
	/* Only lines that reach a CPU make deadlines. */
	CHECK_EQ(vhpet_next_deadline(&h, 1u << VHPET_LINE_ISA8), NO_DEADLINE);
	clk = first - 1;
	vhpet_update(&h);
	CHECK_EQ(l.n, 0);
	for (int i = 1; i <= 5; i++) {
		clk = vhpet_next_deadline(&h, ~0u);
		CHECK_EQ(clk, first + (uint64_t)(i - 1) * 4000000);
		vhpet_update(&h);
		CHECK_EQ(pulses(&l, VHPET_LINE_ISA0), i);
		CHECK(!vhpet_irq0_ack(&h));             /* the guest takes it: nothing owed */
	}
	CHECK_EQ(l.n, 10);
	/* 3.5 periods without a look: one pulse now, the comparator moved on
	 * by every period, and the two lost ticks owed (devices/losttick.h). */
	clk += 14000000;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, VHPET_LINE_ISA0), 6);
	CHECK_EQ(h.lost.missed, 2);
	CHECK_EQ(h.irq_coalesced, 0);
	CHECK_EQ(rd32(&h, HPET_REG_CMP(0)), now + delta * 9);
	vhpet_update(&h);                               /* not taken yet: no second pulse */
	CHECK_EQ(pulses(&l, VHPET_LINE_ISA0), 6);
	for (int i = 7; i <= 8; i++) {
		CHECK(vhpet_irq0_ack(&h));              /* a lost tick waits ... */
		CHECK_EQ(vhpet_next_deadline(&h, 1u << VHPET_LINE_ISA0), 0);    /* ... due now */
		vhpet_update(&h);
		CHECK_EQ(pulses(&l, VHPET_LINE_ISA0), i);
	}
	CHECK(!vhpet_irq0_ack(&h));
	CHECK(vhpet_next_deadline(&h, ~0u) > clk);
	/* A very long absence: the backlog stays bounded. */
	clk += 3600ULL * 1000000000;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, VHPET_LINE_ISA0), 9);
	CHECK_EQ(h.lost.missed, LOST_TICKS_MAX - 1);
	/* IRQ 0 reopened after masking: nothing owed. */
	vhpet_irq0_reset(&h);
	CHECK_EQ(h.lost.missed, 0);
	CHECK(!vhpet_irq0_ack(&h));
	/* Halting the counter stops the tick. */
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_LEGACY);
	CHECK_EQ(vhpet_next_deadline(&h, ~0u), NO_DEADLINE);
	clk += 100000000;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, VHPET_LINE_ISA0), 9);
}

/* Linux's one-shot event: comparator = counter + delta, 32-bit mode, on a
 * routed I/O APIC input; a match fires once, and again only at the wrap. */
TEST(oneshot_32bit_routed_and_wrap)
{
	struct vhpet h;
	struct irqlog l;

	setup(&h, &l);
	wr32(&h, HPET_REG_TIMER(2), HPET_TN_INT_ENB | HPET_TN_32BIT | 21u << HPET_TN_ROUTE_SHIFT);
	CHECK_EQ(vhpet_line(&h, 2), 21);
	wr64(&h, HPET_REG_COUNTER, 0xfffff000ULL);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	uint32_t cnt = rd32(&h, HPET_REG_COUNTER);
	wr32(&h, HPET_REG_CMP(2), cnt + 0x2000);        /* across the 32-bit wrap */
	uint64_t d = vhpet_next_deadline(&h, 1u << 21);
	CHECK_EQ(d, clk + 0x2000 * 10);
	clk = d;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, 21), 1);
	clk += 1000000;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, 21), 1);
	/* The next match is a whole 32-bit wrap later (about 43 s). */
	CHECK_EQ(vhpet_next_deadline(&h, ~0u), d + (1ULL << 32) * 10);
	clk = d + (1ULL << 32) * 10;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, 21), 2);
	/* A value already passed matches only after the wrap, not now. */
	cnt = rd32(&h, HPET_REG_COUNTER);
	wr32(&h, HPET_REG_CMP(2), cnt - 5);
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, 21), 2);
	CHECK_EQ(vhpet_next_deadline(&h, ~0u), clk + ((1ULL << 32) - 5) * 10);
}

TEST(oneshot_64bit_fires_once)
{
	struct vhpet h;
	struct irqlog l;

	setup(&h, &l);
	wr32(&h, HPET_REG_TIMER(1), HPET_TN_INT_ENB | 20u << HPET_TN_ROUTE_SHIFT);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	wr64(&h, HPET_REG_CMP(1), 500);
	CHECK_EQ(vhpet_next_deadline(&h, ~0u), clk + 5000);
	clk += 5000;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, 20), 1);
	CHECK_EQ(vhpet_next_deadline(&h, ~0u), NO_DEADLINE);
	CHECK_EQ(rd64(&h, HPET_REG_CMP(1)), 500);
	/* Set in the past: never matches. */
	wr64(&h, HPET_REG_CMP(1), 10);
	clk += 100000000;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, 20), 1);
	/* The counter set back below the comparator: it matches again. */
	wr64(&h, HPET_REG_COUNTER, 0);
	clk += 100;
	vhpet_update(&h);
	CHECK_EQ(pulses(&l, 20), 2);
}

TEST(level_status_and_enable)
{
	struct vhpet h;
	struct irqlog l;

	setup(&h, &l);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	/* Interrupt off: the status is still set, the line stays quiet. */
	wr32(&h, HPET_REG_TIMER(2), HPET_TN_LEVEL | 22u << HPET_TN_ROUTE_SHIFT);
	wr64(&h, HPET_REG_CMP(2), rd64(&h, HPET_REG_COUNTER) + 100);
	CHECK_EQ(vhpet_next_deadline(&h, ~0u), NO_DEADLINE);
	clk += 2000;
	CHECK_EQ(rd32(&h, HPET_REG_ISR), 1u << 2);
	CHECK_EQ(l.n, 0);
	/* Enabling the interrupt asserts the line while the status is set. */
	wr32(&h, HPET_REG_TIMER(2), HPET_TN_LEVEL | HPET_TN_INT_ENB | 22u << HPET_TN_ROUTE_SHIFT);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.line[0], 22);
	CHECK(l.level[0]);
	wr32(&h, HPET_REG_ISR, 0);                      /* writing 0 does nothing */
	CHECK_EQ(rd32(&h, HPET_REG_ISR), 1u << 2);
	wr32(&h, HPET_REG_ISR, 1u << 2);                /* write 1 to clear */
	CHECK_EQ(rd32(&h, HPET_REG_ISR), 0);
	CHECK_EQ(l.n, 2);
	CHECK(!l.level[1]);
	/* Periodic and level: each period sets the status again. */
	wr32(&h, HPET_REG_TIMER(2), HPET_TN_LEVEL | HPET_TN_INT_ENB | HPET_TN_PERIODIC |
				    HPET_TN_VAL_SET | 22u << HPET_TN_ROUTE_SHIFT);
	wr64(&h, HPET_REG_CMP(2), rd64(&h, HPET_REG_COUNTER) + 100000);
	clk = vhpet_next_deadline(&h, ~0u);
	vhpet_update(&h);
	CHECK_EQ(l.n, 3);
	CHECK(l.level[2]);
	/* Asserted: the next match changes no line, so it is no deadline. */
	CHECK_EQ(vhpet_next_deadline(&h, ~0u), NO_DEADLINE);
	/* Halting the counter drops every line (§2.3.5). */
	wr32(&h, HPET_REG_CONFIG, 0);
	CHECK_EQ(l.n, 4);
	CHECK(!l.level[3]);
	/* To edge mode: the status goes. */
	wr32(&h, HPET_REG_TIMER(2), HPET_TN_INT_ENB | 22u << HPET_TN_ROUTE_SHIFT);
	CHECK_EQ(rd32(&h, HPET_REG_ISR), 0);
}

TEST(routes_and_legacy_switch)
{
	struct vhpet h;
	struct irqlog l;

	setup(&h, &l);
	/* A route outside Tn_INT_ROUTE_CAP is not taken (§2.3.8). */
	wr32(&h, HPET_REG_TIMER(0), 20u << HPET_TN_ROUTE_SHIFT);
	wr32(&h, HPET_REG_TIMER(0), 5u << HPET_TN_ROUTE_SHIFT);
	CHECK_EQ((rd32(&h, HPET_REG_TIMER(0)) & HPET_TN_ROUTE) >> HPET_TN_ROUTE_SHIFT, 20);
	CHECK_EQ(vhpet_line(&h, 0), 20);
	/* The FSB enable bit cannot be set: no FSB delivery. */
	wr32(&h, HPET_REG_TIMER(0), HPET_TN_FSB_EN | 20u << HPET_TN_ROUTE_SHIFT);
	CHECK_EQ(rd32(&h, HPET_REG_TIMER(0)) & HPET_TN_FSB_EN, 0);
	/* Timer 2 keeps its route in legacy mode. */
	wr32(&h, HPET_REG_TIMER(2), 23u << HPET_TN_ROUTE_SHIFT);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_LEGACY);
	CHECK_EQ(vhpet_line(&h, 0), VHPET_LINE_ISA0);
	CHECK_EQ(vhpet_line(&h, 2), 23);
	/* Timer 1's level-triggered status moves with the legacy switch. */
	wr32(&h, HPET_REG_TIMER(1), HPET_TN_LEVEL | HPET_TN_INT_ENB | 21u << HPET_TN_ROUTE_SHIFT);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_LEGACY | HPET_CFG_ENABLE);
	wr64(&h, HPET_REG_CMP(1), rd64(&h, HPET_REG_COUNTER) + 1);
	clk += 10;
	vhpet_update(&h);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.line[0], VHPET_LINE_ISA8);
	CHECK(l.level[0]);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(l.line[1], 21);
	CHECK(l.level[1]);
	CHECK_EQ(l.line[2], VHPET_LINE_ISA8);
	CHECK(!l.level[2]);
}

/* A periodic comparator faster than the floor: pulses are coalesced to
 * one per VHPET_MIN_IRQ_GAP_NS, the comparator still counts every period. */
TEST(periodic_floor)
{
	struct vhpet h;
	struct irqlog l;

	setup(&h, &l);
	wr32(&h, HPET_REG_TIMER(0), HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET |
				    20u << HPET_TN_ROUTE_SHIFT);
	wr64(&h, HPET_REG_CMP(0), 100);                 /* 1 us */
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	uint64_t start = clk, last = 0;
	int n = 0;
	while (clk < start + 10000000 && n < 1000) {
		uint64_t d = vhpet_next_deadline(&h, ~0u);
		CHECK(d != NO_DEADLINE);
		clk = MAX(d, clk + 1);
		int before = pulses(&l, 20);
		vhpet_update(&h);
		if (pulses(&l, 20) != before) {
			CHECK(!last || clk - last >= VHPET_MIN_IRQ_GAP_NS);
			last = clk;
		}
		n++;
	}
	CHECK(pulses(&l, 20) >= 45 && pulses(&l, 20) <= 51);
	uint64_t counted = rd64(&h, HPET_REG_COUNTER);
	CHECK_EQ(rd64(&h, HPET_REG_CMP(0)) / 100, counted / 100 + 1);
}

/* A snapshot record carries the running counter and a periodic comparator
 * into a fresh HPET with its own wiring; a record the model did not write
 * (a bad route, a config bit it has no use for, a non-bool) is refused
 * and leaves the HPET as it was. */
TEST(snapshot_roundtrip_and_hostile_records)
{
	struct vhpet h, r;
	struct irqlog l, lr;
	uint8_t rec[VHPET_SNAP_SIZE + 8];

	setup(&h, &l);
	wr32(&h, HPET_REG_TIMER(2), HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET |
		 (21u << HPET_TN_ROUTE_SHIFT));
	wr64(&h, HPET_REG_CMP(2), 100000);
	wr64(&h, HPET_REG_CMP(2), 100000);
	wr32(&h, HPET_REG_CONFIG, HPET_CFG_ENABLE);
	clk += 1234567;
	uint64_t count = rd64(&h, HPET_REG_COUNTER), due = vhpet_next_deadline(&h, ~0u);
	CHECK_EQ(vhpet_save(&h, rec, sizeof(rec) - 9), 0);      /* too short */
	size_t n = vhpet_save(&h, rec, sizeof(rec));
	CHECK_EQ(n, VHPET_SNAP_SIZE);

	memset(&lr, 0, sizeof(lr));
	vhpet_init(&r, fake_irq, &lr, fake_now, NULL);
	CHECK(!vhpet_load(&r, rec, n - 1));
	CHECK(vhpet_load(&r, rec, n));
	CHECK_EQ(rd64(&r, HPET_REG_COUNTER), count);
	CHECK_EQ(vhpet_next_deadline(&r, ~0u), due);
	CHECK_EQ(vhpet_line(&r, 2), 21);
	int before = pulses(&l, 21);
	clk = due;
	vhpet_update(&r);
	CHECK_EQ(pulses(&lr, 21), 1);                   /* on r's own wiring */
	CHECK_EQ(pulses(&l, 21), before);

	struct vhpet bad;
	memcpy(&bad, rec, sizeof(bad));
	bad.t[0].config |= 5u << HPET_TN_ROUTE_SHIFT;   /* not in VHPET_ROUTE_CAP */
	vhpet_init(&r, fake_irq, &lr, fake_now, NULL);
	CHECK(!vhpet_load(&r, &bad, sizeof(bad)));
	CHECK(!vhpet_enabled(&r));
	memcpy(&bad, rec, sizeof(bad));
	bad.config |= 1u << 5;
	CHECK(!vhpet_load(&r, &bad, sizeof(bad)));
	memcpy(&bad, rec, sizeof(bad));
	memset(&bad.t[1].armed, 7, 1);
	CHECK(!vhpet_load(&r, &bad, sizeof(bad)));
	memcpy(&bad, rec, sizeof(bad));
	bad.isr = 1ULL << VHPET_TIMERS;
	CHECK(!vhpet_load(&r, &bad, sizeof(bad)));
	CHECK(!vhpet_enabled(&r));
}

int main(void)
{
	check_start("vhpet");
	RUN(capabilities);
	RUN(counter_runs_halts_and_is_written);
	RUN(legacy_periodic_tick);
	RUN(oneshot_32bit_routed_and_wrap);
	RUN(oneshot_64bit_fires_once);
	RUN(level_status_and_enable);
	RUN(routes_and_legacy_switch);
	RUN(periodic_floor);
	RUN(snapshot_roundtrip_and_hostile_records);
	return check_finish();
}

