/*
 * Host tests for the 8254 PIT model: the guest's port accesses against a
 * fake VM clock, with IRQ 0 recorded.
 */
#include "test/unit/check.h"
#include "devices/vpit.h"
#include "devices/iobus.h"
#include "devices/irq.h"

static uint64_t clk;    /* VM virtual time, ns */

static uint64_t fake_now(void *ctx)
{
	return clk;
}

struct irqlog {
	int n;
	unsigned irq[64];
	bool level[64];
};

static void fake_irq(void *vm, unsigned irq, bool level)
{
	struct irqlog *l = vm;

	if (l->n < 64) {
		l->irq[l->n] = irq;
		l->level[l->n] = level;
	}
	l->n++;
}

static void setup(struct vpit *p, struct irqlog *l, uint64_t start)
{
	memset(l, 0, sizeof(*l));
	clk = start;
	vpit_init(p, fake_irq, l, fake_now, NULL);
}

static void out(struct vpit *p, uint16_t port, uint8_t v)
{
	uint32_t x = v;
	CHECK_EQ(vpit_pio(p, false, port, 1, &x), 0);
}

static uint8_t in(struct vpit *p, uint16_t port)
{
	uint32_t x = 0;
	CHECK_EQ(vpit_pio(p, true, port, 1, &x), 0);
	return (uint8_t)x;
}

/* LSB then MSB. */
static uint16_t in16(struct vpit *p, uint16_t port)
{
	uint8_t lo = in(p, port);
	return (uint16_t)(lo | in(p, port) << 8);
}

/* Input-clock ticks at ns, and the first ns of tick t (exact, 128-bit). */
static uint64_t ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static uint64_t tick_ns(uint64_t t)
{
	return (uint64_t)(((unsigned __int128)t * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

/* A pulse on IRQ 0 at log position i. */
static bool is_pulse(const struct irqlog *l, int i)
{
	return l->n >= i + 2 && l->irq[i] == 0 && l->level[i] && l->irq[i + 1] == 0 && !l->level[i + 1];
}

/* Linux's pit_calibrate_tsc(): gate on, speaker off, channel 2 mode 0, wait for OUT2. */
TEST(calibrate_channel2_mode0)
{
	struct vpit p;
	struct irqlog l;
	const uint16_t latch = 1193182 / 20;            /* 50 ms */

	setup(&p, &l, 1234567);
	out(&p, 0x61, (in(&p, 0x61) & ~0x02) | 0x01);
	out(&p, 0x43, 0xb0);
	out(&p, 0x42, latch & 0xff);
	uint64_t t0 = ticks(clk);
	out(&p, 0x42, latch >> 8);
	uint64_t rise = tick_ns(t0 + 1 + latch);        /* loaded on the next clock */
	CHECK(rise - 1234567 >= 50000000 - 2000 && rise - 1234567 <= 50000000 + 2000);

	CHECK_EQ(in(&p, 0x61) & 0x20, 0);
	clk = rise - 1;
	CHECK_EQ(in(&p, 0x61) & 0x20, 0);
	clk = rise;
	CHECK_EQ(in(&p, 0x61) & 0x21, 0x21);            /* OUT2 high, gate still on */
	clk += 1000000000;
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);            /* and stays high */
	/* Channel 2 is no interrupt source. */
	CHECK_EQ(vpit_next_deadline(&p), NO_DEADLINE);
	vpit_update(&p);
	CHECK_EQ(l.n, 0);

	/* Gate low suspends mode 0 counting; gate high resumes it. */
	out(&p, 0x43, 0xb0);
	out(&p, 0x42, 100);
	t0 = ticks(clk);
	out(&p, 0x42, 0);
	clk = tick_ns(t0 + 1 + 40);
	out(&p, 0x61, 0x00);
	clk += 10000000;
	CHECK_EQ(in(&p, 0x61) & 0x20, 0);
	CHECK_EQ(in(&p, 0x42), 60);
	CHECK_EQ(in(&p, 0x42), 0);
	uint64_t t1 = ticks(clk);
	out(&p, 0x61, 0x01);
	clk = tick_ns(t1 + 59);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0);
	clk = tick_ns(t1 + 60);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);
}

/* Linux's quick_pit_calibrate(): count 0xffff, then live LSB/MSB reads. */
TEST(calibrate_live_reads)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 0);
	out(&p, 0x61, 0x01);
	out(&p, 0x43, 0xb0);
	out(&p, 0x42, 0xff);
	out(&p, 0x42, 0xff);                            /* loaded on tick 1 */
	for (uint64_t e = 0; e < 60000; e += 997) {
		clk = tick_ns(1 + e);
		uint16_t want = (uint16_t)(0xffff - e);
		CHECK_EQ(in(&p, 0x42), want & 0xff);
		CHECK_EQ(in(&p, 0x42), want >> 8);
	}
}

/* Mode 2 on channel 0: a pulse at the end of each period; latched readback. */
TEST(mode2_periodic_irq0)
{
	struct vpit p;
	struct irqlog l;
	const uint32_t n = 11932;                       /* 100 Hz */

	setup(&p, &l, 0);
	CHECK_EQ(vpit_next_deadline(&p), NO_DEADLINE);
	out(&p, 0x43, 0x34);
	out(&p, 0x40, n & 0xff);
	out(&p, 0x40, n >> 8);                          /* loaded on tick 1 */
	CHECK_EQ(l.n, 0);
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(1 + n));
	clk = tick_ns(1 + n) - 1;
	vpit_update(&p);
	CHECK_EQ(l.n, 0);
	clk = tick_ns(1 + n);
	vpit_update(&p);
	CHECK_EQ(l.n, 2);
	CHECK(is_pulse(&l, 0));
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(1 + 2 * n));
	CHECK(!vpit_irq_ack(&p));                       /* the guest takes it: nothing owed */
	vpit_update(&p);                                /* nothing more due */
	CHECK_EQ(l.n, 2);
	clk = tick_ns(1 + 2 * n);
	vpit_update(&p);
	CHECK_EQ(l.n, 4);
	CHECK(is_pulse(&l, 2));
	CHECK_EQ(p.irq_pulses, 2);
	CHECK_EQ(p.irq_coalesced, 0);

	/* Counter latch command: the count at the latch, however late it is read. */
	clk = tick_ns(1 + 2 * n + 1000);
	out(&p, 0x43, 0x00);
	clk += 3000000;
	out(&p, 0x43, 0x00);                            /* a second latch is ignored */
	CHECK_EQ(in(&p, 0x40), (n - 1000) & 0xff);
	CHECK_EQ(in(&p, 0x40), (n - 1000) >> 8);
	/* Released: live reads again. */
	uint64_t e = ticks(clk) - 1;
	uint32_t live = n - e % n;
	CHECK_EQ(in(&p, 0x40), live & 0xff);
	CHECK_EQ(in(&p, 0x40), live >> 8);
	/* OUT is low for the one clock while the count is 1: see it on channel 2. */
	out(&p, 0x61, 0x01);
	out(&p, 0x43, 0xb4);
	out(&p, 0x42, 10);
	uint64_t t0 = ticks(clk);
	out(&p, 0x42, 0);
	clk = tick_ns(t0 + 1 + 8);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);
	clk = tick_ns(t0 + 1 + 9);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0);
	CHECK_EQ(in(&p, 0x42), 1);
	CHECK_EQ(in(&p, 0x42), 0);
	clk = tick_ns(t0 + 1 + 10);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);
	CHECK_EQ(in(&p, 0x42), 10);
	CHECK_EQ(in(&p, 0x42), 0);
}

/* Mode 3: square wave halves and count-by-two readback; periodic IRQ 0. */
TEST(mode3_square_wave)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 5000);
	out(&p, 0x61, 0x01);
	out(&p, 0x43, 0xb6);                            /* channel 2, mode 3 */
	out(&p, 0x42, 1000 & 0xff);
	uint64_t t0 = ticks(clk) + 1;
	out(&p, 0x42, 1000 >> 8);
	clk = tick_ns(t0 + 10);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);
	out(&p, 0x43, 0x80);
	CHECK_EQ(in16(&p, 0x42), 980);
	clk = tick_ns(t0 + 499);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);
	clk = tick_ns(t0 + 500);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0);
	clk = tick_ns(t0 + 510);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0);
	out(&p, 0x43, 0x80);
	CHECK_EQ(in16(&p, 0x42), 980);
	clk = tick_ns(t0 + 1000);
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);

	/* Odd count 5: high for 3 clocks (4, 2, 0), low for 2 (4, 2). */
	out(&p, 0x43, 0x96);                            /* channel 2, LSB only, mode 3 */
	out(&p, 0x42, 5);
	t0 = ticks(clk) + 1;
	static const uint8_t cnt[5] = { 4, 2, 0, 4, 2 };
	for (unsigned e = 0; e < 10; e++) {
		clk = tick_ns(t0 + e);
		CHECK_EQ(!!(in(&p, 0x61) & 0x20), e % 5 < 3);
		CHECK_EQ(in(&p, 0x42), cnt[e % 5]);
	}

	/* Channel 0, count 0 (65536), mode 7 (= mode 3): a pulse each 65536 clocks. */
	out(&p, 0x43, 0x3e);
	out(&p, 0x40, 0);
	t0 = ticks(clk) + 1;
	out(&p, 0x40, 0);
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(t0 + 65536));
	clk = tick_ns(t0 + 65536);
	vpit_update(&p);
	CHECK(is_pulse(&l, 0));
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(t0 + 2 * 65536));
	out(&p, 0x43, 0xc2);                            /* read-back status: mode as written */
	CHECK_EQ(in(&p, 0x40) & 0x3f, 0x3e);
}

/* Read and write flip-flops in the three access modes. */
TEST(lobyte_hibyte_flipflop)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 0);
	out(&p, 0x43, 0x50);                            /* channel 1, LSB only, mode 0 */
	out(&p, 0x41, 0x34);
	clk = tick_ns(ticks(clk) + 1);
	CHECK_EQ(in(&p, 0x41), 0x34);
	CHECK_EQ(in(&p, 0x41), 0x34);                   /* no flip-flop */
	out(&p, 0x43, 0x60);                            /* MSB only */
	out(&p, 0x41, 0x12);
	clk = tick_ns(ticks(clk) + 1);
	CHECK_EQ(in(&p, 0x41), 0x12);
	CHECK_EQ(in(&p, 0x41), 0x12);
	out(&p, 0x43, 0x40);                            /* latch */
	clk = tick_ns(ticks(clk) + 5);
	CHECK_EQ(in(&p, 0x41), 0x12);
	CHECK_EQ(in(&p, 0x41), 0x11);                   /* released: 0x1200 - 5 live */

	/* LSB/MSB: reads and writes interleave (data sheet, "Read Operations"). */
	out(&p, 0x43, 0x74);                            /* channel 1, word, mode 2 */
	out(&p, 0x41, 0x34);
	out(&p, 0x41, 0x12);
	clk = tick_ns(ticks(clk) + 1);
	out(&p, 0x43, 0x40);
	CHECK_EQ(in(&p, 0x41), 0x34);                   /* read LSB */
	out(&p, 0x41, 0x78);                            /* write new LSB */
	CHECK_EQ(in(&p, 0x41), 0x12);                   /* read MSB */
	out(&p, 0x41, 0x56);                            /* write new MSB: 0x5678 */
	clk = tick_ns(ticks(clk) + 1);
	CHECK_EQ(in(&p, 0x41), 0x78);
	CHECK_EQ(in(&p, 0x41), 0x56);
	/* A control word resets the flip-flops. */
	CHECK_EQ(in(&p, 0x41), 0x78);
	out(&p, 0x43, 0x74);
	CHECK_EQ(in(&p, 0x41), 0x78);                   /* LSB again (count held) */
	out(&p, 0x41, 0xcd);
	out(&p, 0x43, 0x74);
	out(&p, 0x41, 0x02);
	out(&p, 0x41, 0x01);
	clk = tick_ns(ticks(clk) + 1);
	CHECK_EQ(in(&p, 0x41), 0x02);
	CHECK_EQ(in(&p, 0x41), 0x01);
}

/* Read-back command: status and count, in that order; null count. */
TEST(readback_status)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 0);
	out(&p, 0x43, 0x34);
	out(&p, 0x40, 1000 & 0xff);
	out(&p, 0x40, 1000 >> 8);
	out(&p, 0x43, 0xe2);                            /* status only, channel 0 */
	CHECK_EQ(in(&p, 0x40), 0xf4);                   /* OUT, NULL, word, mode 2 */
	clk = tick_ns(1);
	out(&p, 0x43, 0xc2);                            /* count and status */
	clk = tick_ns(50);
	CHECK_EQ(in(&p, 0x40), 0xb4);                   /* loaded: null count clear */
	CHECK_EQ(in(&p, 0x40), 1000 & 0xff);
	CHECK_EQ(in(&p, 0x40), 1000 >> 8);
	CHECK_EQ(in(&p, 0x40), (1000 - 49) & 0xff);     /* live again */
	CHECK_EQ(in(&p, 0x40), (1000 - 49) >> 8);

	/* Several channels at once; a status latched twice keeps the first. */
	out(&p, 0x61, 0x01);
	out(&p, 0x43, 0x90);                            /* channel 2, LSB, mode 0 */
	out(&p, 0x42, 20);
	clk = tick_ns(ticks(clk) + 1);
	out(&p, 0x43, 0xea);                            /* statuses of channels 0 and 2 */
	clk = tick_ns(ticks(clk) + 25);
	out(&p, 0x43, 0xe8);
	CHECK_EQ(in(&p, 0x42), 0x10);                   /* OUT low, LSB, mode 0 */
	CHECK_EQ(in(&p, 0x40), 0xb4);
	out(&p, 0x43, 0xe8);
	CHECK_EQ(in(&p, 0x42), 0x90);                   /* now at terminal count */
	/* Channel 1 was never programmed: mode 3 and null count after reset. */
	out(&p, 0x43, 0xe4);
	CHECK_EQ(in(&p, 0x41), 0xf6);
	/* Port 0x43 is write-only. */
	CHECK_EQ(in(&p, 0x43), 0xff);
}

/* Mode 0 on channel 0: IRQ 0 high at terminal count until reprogrammed. */
TEST(mode0_terminal_count_level)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 777);
	out(&p, 0x43, 0x30);
	out(&p, 0x40, 100);
	uint64_t t0 = ticks(clk);
	out(&p, 0x40, 0);
	uint64_t tc = tick_ns(t0 + 1 + 100);
	CHECK_EQ(vpit_next_deadline(&p), tc);
	clk = tc - 1;
	vpit_update(&p);
	CHECK_EQ(l.n, 0);
	clk = tc;
	vpit_update(&p);
	CHECK_EQ(l.n, 1);
	CHECK(l.irq[0] == 0 && l.level[0]);
	CHECK_EQ(vpit_next_deadline(&p), NO_DEADLINE);
	clk += 1000000000;                              /* the count wraps; OUT stays high */
	vpit_update(&p);
	CHECK_EQ(l.n, 1);
	/* A new count: the first byte already sets OUT low. */
	out(&p, 0x40, 50);
	CHECK_EQ(l.n, 2);
	CHECK(l.irq[1] == 0 && !l.level[1]);
	t0 = ticks(clk);
	out(&p, 0x40, 0);
	CHECK_EQ(l.n, 2);
	clk = tick_ns(t0 + 1 + 50);
	vpit_update(&p);
	CHECK_EQ(l.n, 3);
	CHECK(l.level[2]);
	/* A control word lowers it too. */
	out(&p, 0x43, 0x34);
	CHECK_EQ(l.n, 4);
	CHECK(!l.level[3]);
	CHECK_EQ(vpit_next_deadline(&p), NO_DEADLINE);  /* no count yet */
}

/* Mode 4 (Linux's one-shot clock events): one pulse after the strobe. */
TEST(mode4_oneshot)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 0);
	out(&p, 0x43, 0x38);
	out(&p, 0x40, 50);
	out(&p, 0x40, 0);
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(1 + 51));
	clk = tick_ns(1 + 51);
	vpit_update(&p);
	CHECK_EQ(l.n, 2);
	CHECK(is_pulse(&l, 0));
	CHECK_EQ(vpit_next_deadline(&p), NO_DEADLINE);
	/* Rewriting the count (no control word) restarts it. */
	uint64_t t0 = ticks(clk);
	out(&p, 0x40, 10);
	out(&p, 0x40, 0);
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(t0 + 1 + 11));
}

/* Program channel 0 periodic (mode 2) with count n at time 0: loaded on tick 1. */
static void periodic_ch0(struct vpit *p, struct irqlog *l, uint32_t n)
{
	setup(p, l, 0);
	out(p, 0x43, 0x34);
	out(p, 0x40, n & 0xff);
	out(p, 0x40, n >> 8);
}

/*
 * The guest is not run for a while: every missed period is delivered, one
 * pulse per acknowledge, the next not before the guest took the last.
 */
TEST(lost_ticks_reinjected)
{
	struct vpit p;
	struct irqlog l;
	const uint32_t n = 1193;                        /* about 1 ms */

	periodic_ch0(&p, &l, n);
	clk = tick_ns(1 + 10 * n + n / 2);              /* 10 periods ended unseen */
	vpit_update(&p);
	CHECK_EQ(l.n, 2);
	CHECK(is_pulse(&l, 0));
	CHECK_EQ(p.lost.missed, 9);
	CHECK_EQ(p.irq_coalesced, 0);
	vpit_update(&p);                                /* not taken yet: no second pulse */
	CHECK_EQ(l.n, 2);
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(1 + 11 * n));
	for (int k = 1; k <= 9; k++) {
		CHECK(vpit_irq_ack(&p));                /* a lost tick waits */
		CHECK_EQ(vpit_next_deadline(&p), 0);    /* ... and may go out now */
		vpit_update(&p);
		CHECK_EQ(l.n, 2 + 2 * k);
		CHECK(is_pulse(&l, 2 * k));
	}
	CHECK_EQ(p.lost.missed, 0);
	CHECK_EQ(p.irq_reinjected, 9);
	CHECK(!vpit_irq_ack(&p));
	CHECK_EQ(vpit_next_deadline(&p), tick_ns(1 + 11 * n));
	clk = tick_ns(1 + 11 * n);
	vpit_update(&p);
	CHECK_EQ(l.n, 22);
	CHECK_EQ(p.irq_pulses, 11);
	CHECK_EQ(p.irq_coalesced, 0);
	/* A period that ends while the last pulse is out waits for its acknowledge. */
	clk = tick_ns(1 + 12 * n);
	vpit_update(&p);
	CHECK_EQ(l.n, 22);
	CHECK_EQ(p.lost.missed, 1);
	CHECK(vpit_irq_ack(&p));
	vpit_update(&p);
	CHECK_EQ(l.n, 24);
	CHECK(!vpit_irq_ack(&p));
	/* A very long absence: the backlog stays bounded. */
	clk += 3600ULL * 1000000000;
	vpit_update(&p);
	CHECK_EQ(l.n, 26);
	CHECK_EQ(p.lost.missed, LOST_TICKS_MAX - 1);
	CHECK(p.irq_coalesced > 3000000);
}

/* Lost ticks a guest does not take are dropped: reprogramming, reopening IRQ 0, no acknowledge. */
TEST(lost_ticks_dropped)
{
	struct vpit p;
	struct irqlog l;
	const uint32_t n = 11932;                       /* 10 ms */

	periodic_ch0(&p, &l, n);
	clk = tick_ns(1 + 5 * n);
	vpit_update(&p);
	CHECK_EQ(p.lost.missed, 4);
	vpit_irq_reset(&p);                             /* IRQ 0 opened again */
	CHECK_EQ(p.lost.missed, 0);
	CHECK_EQ(p.irq_coalesced, 4);
	CHECK(!vpit_irq_ack(&p));
	/* Never acknowledged: after LOST_TICKS_ACK_WAIT_NS the wait ends. */
	clk = tick_ns(1 + 6 * n);
	vpit_update(&p);
	CHECK_EQ(l.n, 4);                               /* the wait was dropped too */
	clk += LOST_TICKS_ACK_WAIT_NS / 2;
	vpit_update(&p);
	CHECK_EQ(l.n, 4);
	CHECK(p.lost.missed > 0);
	clk += LOST_TICKS_ACK_WAIT_NS / 2;
	vpit_update(&p);
	CHECK_EQ(l.n, 6);                               /* a fresh pulse, the backlog gone */
	CHECK_EQ(p.lost.missed, 0);
	/* Reprogramming channel 0 drops the backlog. */
	clk += 20 * 1000000ULL;
	vpit_update(&p);
	CHECK(p.lost.missed > 0);
	out(&p, 0x43, 0x34);
	CHECK_EQ(p.lost.missed, 0);
	CHECK(!vpit_irq_ack(&p));
	/* A tiny period counts at most one tick per floor gap. */
	out(&p, 0x40, 2);
	out(&p, 0x40, 0);
	uint64_t t0 = clk;
	clk += 10 * VPIT_MIN_IRQ_GAP_NS;
	vpit_update(&p);
	CHECK(p.lost.missed <= 10);
	CHECK(p.lost.missed >= 8);
	(void)t0;
}

/* A tiny period cannot make IRQ 0 fire more often than the floor allows. */
TEST(rate_floor)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 0);
	out(&p, 0x43, 0x34);
	out(&p, 0x40, 2);
	out(&p, 0x40, 0);
	uint64_t d = vpit_next_deadline(&p);
	CHECK_EQ(d, tick_ns(3));
	clk = d;
	vpit_update(&p);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(vpit_next_deadline(&p), d + VPIT_MIN_IRQ_GAP_NS);
	CHECK(!vpit_irq_ack(&p));
	clk = d + VPIT_MIN_IRQ_GAP_NS - 1;
	vpit_update(&p);
	CHECK_EQ(l.n, 2);
	clk = d + VPIT_MIN_IRQ_GAP_NS;
	vpit_update(&p);
	CHECK_EQ(l.n, 4);
	/* The count itself still runs at full speed. */
	uint64_t e = ticks(clk) - 1;
	CHECK_EQ(in(&p, 0x40), 2 - e % 2);
}

/* BCD counting: 1-10000, read and written as BCD digits. */
TEST(bcd_counts)
{
	struct vpit p;
	struct irqlog l;

	setup(&p, &l, 0);
	out(&p, 0x43, 0x75);                            /* channel 1, word, mode 2, BCD */
	out(&p, 0x41, 0x00);
	out(&p, 0x41, 0x10);                            /* 1000 */
	clk = tick_ns(1 + 10);
	CHECK_EQ(in(&p, 0x41), 0x90);
	CHECK_EQ(in(&p, 0x41), 0x09);                   /* 0990 */
	out(&p, 0x43, 0x75);
	out(&p, 0x41, 0x00);
	uint64_t t0 = ticks(clk) + 1;
	out(&p, 0x41, 0x00);                            /* 0 = 10000 */
	clk = tick_ns(t0 + 1);
	CHECK_EQ(in(&p, 0x41), 0x99);
	CHECK_EQ(in(&p, 0x41), 0x99);
	clk = tick_ns(t0 + 10000);
	CHECK_EQ(in(&p, 0x41), 0x00);
	CHECK_EQ(in(&p, 0x41), 0x00);
}

/* Port 0x61: writable bits kept, refresh toggle, OUT2; wrong ports refused. */
TEST(port61_and_ports)
{
	struct vpit p;
	struct irqlog l;
	uint32_t v = 0;

	setup(&p, &l, 0);
	out(&p, 0x61, 0xff);
	CHECK_EQ(in(&p, 0x61) & 0xcf, 0x0f);
	out(&p, 0x61, 0x02);
	uint8_t a = in(&p, 0x61) & 0x10;
	clk += 15085;
	uint8_t b = in(&p, 0x61) & 0x10;
	CHECK(a != b);
	CHECK_EQ(in(&p, 0x61) & 0x0f, 0x02);
	/* Mode 2 on channel 2 with the gate low: OUT high, count held until the gate rises. */
	out(&p, 0x43, 0x94);
	out(&p, 0x42, 100);
	clk += 1000000;
	CHECK_EQ(in(&p, 0x61) & 0x20, 0x20);
	CHECK_EQ(in(&p, 0x42), 100);
	uint64_t t0 = ticks(clk);
	out(&p, 0x61, 0x01);
	clk = tick_ns(t0 + 1 + 30);
	CHECK_EQ(in(&p, 0x42), 70);
	out(&p, 0x61, 0x00);                            /* falls: count held, OUT high */
	clk += 5000000;
	CHECK_EQ(in(&p, 0x42), 70);
	t0 = ticks(clk);
	out(&p, 0x61, 0x01);                            /* rises: reloaded */
	clk = tick_ns(t0 + 1 + 5);
	CHECK_EQ(in(&p, 0x42), 95);

	CHECK_EQ(vpit_pio(&p, true, 0x44, 1, &v), IOBUS_EINVAL);
	CHECK_EQ(vpit_pio(&p, false, 0x60, 1, &v), IOBUS_EINVAL);
	/* A wide write is a byte write at its port. */
	v = 0xabcd0034;
	CHECK_EQ(vpit_pio(&p, false, 0x43, 4, &v), 0);
	CHECK_EQ(p.ch[0].mode, 2);
}

int main(void)
{
	check_start("vpit");
	RUN(calibrate_channel2_mode0);
	RUN(calibrate_live_reads);
	RUN(mode2_periodic_irq0);
	RUN(mode3_square_wave);
	RUN(lobyte_hibyte_flipflop);
	RUN(readback_status);
	RUN(mode0_terminal_count_level);
	RUN(mode4_oneshot);
	RUN(lost_ticks_reinjected);
	RUN(lost_ticks_dropped);
	RUN(rate_floor);
	RUN(bcd_counts);
	RUN(port61_and_ports);
	return check_finish();
}
