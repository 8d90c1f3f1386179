/*
 * Host tests for devices/vlapic.c.  The tests play the guest (MMIO and MSR
 * accesses) and the VM layer (fake clock, recording irq_ops that also check
 * the vlapic's lock is free whenever they are called).
 */
#include "test/unit/check.h"
#include "devices/vlapic.h"

#define BASE VLAPIC_BASE_DEFAULT

/* ---- fakes ------------------------------------------------------------------ */

static uint64_t clk;                    /* VM time, ns */
static uint64_t fake_now(void *ctx) { return *(uint64_t *)ctx; }

static struct {
	int nmsg, neoi;
	struct apic_msg msg[8];
	uint8_t eoi[8];
	bool locked;                    /* a callback ran with the lock held */
} rec;

static void check_unlocked(struct vlapic *vl)
{
	if (!spin_trylock(&vl->lock))
		rec.locked = true;
	else
		spin_unlock(&vl->lock);
}

static void rec_deliver(void *vm, const struct apic_msg *m)
{
	check_unlocked(vm);
	if (rec.nmsg < 8)
		rec.msg[rec.nmsg] = *m;
	rec.nmsg++;
}

static void rec_eoi(void *vm, uint8_t vector)
{
	check_unlocked(vm);
	if (rec.neoi < 8)
		rec.eoi[rec.neoi] = vector;
	rec.neoi++;
}

static const struct irq_ops ops = { .apic_deliver = rec_deliver, .eoi = rec_eoi };

#define TSC_KHZ 2000000u                /* guest TSC at 2 GHz */

static void setup(struct vlapic *vl, uint32_t id, bool bsp)
{
	memset(&rec, 0, sizeof(rec));
	clk = 0;
	vlapic_init(vl, id, bsp, TSC_KHZ, &ops, vl, fake_now, &clk);
}

static uint32_t rd(struct vlapic *vl, unsigned off)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;
	CHECK_EQ(vlapic_mmio(vl, false, BASE + off, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct vlapic *vl, unsigned off, uint32_t val)
{
	uint64_t v = val;
	CHECK_EQ(vlapic_mmio(vl, true, BASE + off, 4, &v), 0);
}

static void enable(struct vlapic *vl)
{
	wr(vl, APIC_REG_SVR, APIC_SVR_ENABLE | 0xff);
}

static uint32_t esr(struct vlapic *vl)
{
	wr(vl, APIC_REG_ESR, 0);
	return rd(vl, APIC_REG_ESR);
}

static bool bit(struct vlapic *vl, unsigned reg, unsigned vector)
{
	return rd(vl, reg + (vector / 32) * 16) & (1u << (vector % 32));
}

static bool to_x2apic(struct vlapic *vl)
{
	return vlapic_set_apic_base(vl, BASE | APIC_BASE_EN | APIC_BASE_EXTD);
}

/* ---- registers ------------------------------------------------------------- */

TEST(reset_state)
{
	struct vlapic vl;
	setup(&vl, 3, false);
	CHECK_EQ(vlapic_get_apic_base(&vl), 0xfee00800);
	CHECK_EQ(rd(&vl, APIC_REG_ID), 0x03000000);
	CHECK_EQ(rd(&vl, APIC_REG_VERSION), 0x00050014);
	CHECK_EQ(rd(&vl, APIC_REG_SVR), 0xff);
	CHECK_EQ(rd(&vl, APIC_REG_DFR), 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_LDR), 0);
	CHECK_EQ(rd(&vl, APIC_REG_TPR), 0);
	CHECK_EQ(rd(&vl, APIC_REG_PPR), 0);
	for (unsigned off = APIC_REG_LVT_TIMER; off <= APIC_REG_LVT_ERROR; off += 16)
		CHECK_EQ(rd(&vl, off), APIC_LVT_MASKED);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_CMCI), APIC_LVT_MASKED);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_ICR), 0);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 0);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_DCR), 0);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(rd(&vl, APIC_REG_IRR + i * 16) | rd(&vl, APIC_REG_ISR + i * 16) |
			 rd(&vl, APIC_REG_TMR + i * 16), 0);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);

	setup(&vl, 0, true);
	CHECK_EQ(vlapic_get_apic_base(&vl), 0xfee00900);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_LINT0), 0x700);   /* virtual wire */
	CHECK_EQ(rd(&vl, APIC_REG_LVT_LINT1), APIC_LVT_MASKED);
}

TEST(readonly_and_reserved)
{
	struct vlapic vl;
	setup(&vl, 3, false);
	enable(&vl);
	vlapic_set_irq(&vl, 0x40, true);
	wr(&vl, APIC_REG_ID, 0x07000000);
	wr(&vl, APIC_REG_VERSION, 0);
	wr(&vl, APIC_REG_PPR, 0xf0);
	wr(&vl, APIC_REG_IRR + 0x20, 0);
	wr(&vl, APIC_REG_TMR + 0x20, 0);
	wr(&vl, APIC_REG_ISR + 0x20, 0xffffffff);
	wr(&vl, APIC_REG_TIMER_CCR, 55);
	CHECK_EQ(rd(&vl, APIC_REG_ID), 0x03000000);
	CHECK_EQ(rd(&vl, APIC_REG_VERSION), 0x00050014);
	CHECK_EQ(rd(&vl, APIC_REG_PPR), 0);
	CHECK_EQ(rd(&vl, APIC_REG_IRR + 0x20), 1);
	CHECK_EQ(rd(&vl, APIC_REG_TMR + 0x20), 1);
	CHECK_EQ(rd(&vl, APIC_REG_ISR + 0x20), 0);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 0);
	CHECK_EQ(rd(&vl, APIC_REG_EOI), 0);
	CHECK_EQ(esr(&vl), 0);                          /* read-only is not an error */

	/* Writable fields only. */
	wr(&vl, APIC_REG_TPR, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_TPR), 0xff);
	wr(&vl, APIC_REG_LDR, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_LDR), 0xff000000);
	wr(&vl, APIC_REG_DFR, 0);
	CHECK_EQ(rd(&vl, APIC_REG_DFR), 0x0fffffff);
	wr(&vl, APIC_REG_ICR_HI, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_ICR_HI), 0xff000000);
	wr(&vl, APIC_REG_TIMER_DCR, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_DCR), 0xb);
	wr(&vl, APIC_REG_LVT_ERROR, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_ERROR), 0x100ff);
	wr(&vl, APIC_REG_LVT_LINT0, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_LINT0), 0x1a7ff);
	wr(&vl, APIC_REG_LVT_TIMER, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_TIMER), 0x700ff);
	wr(&vl, APIC_REG_SVR, 0xffffffff);
	CHECK_EQ(rd(&vl, APIC_REG_SVR), 0x3ff);         /* no EOI suppression */

	/* Reserved offsets: read 0, ESR bit 7.  SELF IPI is x2APIC-only. */
	wr(&vl, APIC_REG_LVT_ERROR, APIC_LVT_MASKED | 0xfe);
	CHECK_EQ(rd(&vl, 0x040), 0);
	CHECK_EQ(esr(&vl), APIC_ESR_ILLEGAL_REG);
	CHECK_EQ(esr(&vl), 0);
	wr(&vl, APIC_REG_SELF_IPI, 0x77);
	CHECK_EQ(esr(&vl), APIC_ESR_ILLEGAL_REG);
	CHECK(!bit(&vl, APIC_REG_IRR, 0x77));

	/* Other widths and offsets: read 0, writes dropped, no error. */
	uint64_t v = 0x1234;
	CHECK_EQ(vlapic_mmio(&vl, false, BASE + APIC_REG_ID, 1, &v), 0);
	CHECK_EQ(v, 0);
	v = 0x77;
	CHECK_EQ(vlapic_mmio(&vl, true, BASE + APIC_REG_TPR, 8, &v), 0);
	CHECK_EQ(vlapic_mmio(&vl, true, BASE + APIC_REG_TPR + 4, 4, &v), 0);
	CHECK_EQ(vlapic_mmio(&vl, false, BASE + APIC_REG_TPR + 4, 4, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(rd(&vl, APIC_REG_TPR), 0xff);
	CHECK_EQ(esr(&vl), 0);
}

TEST(svr_enable_disable)
{
	struct vlapic vl;
	setup(&vl, 1, false);
	/* Software-disabled after reset: fixed interrupts dropped, LVT stays masked. */
	vlapic_set_irq(&vl, 0x50, false);
	CHECK(!bit(&vl, APIC_REG_IRR, 0x50));
	wr(&vl, APIC_REG_LVT_TIMER, 0x30);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_TIMER), APIC_LVT_MASKED | 0x30);

	enable(&vl);
	CHECK_EQ(rd(&vl, APIC_REG_SVR), 0x1ff);
	wr(&vl, APIC_REG_LVT_TIMER, 0x30);
	wr(&vl, APIC_REG_LVT_LINT1, 0x400);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_TIMER), 0x30);
	vlapic_set_irq(&vl, 0x50, false);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x50);

	/* Disabling masks every LVT and hides (but keeps) IRR. */
	wr(&vl, APIC_REG_SVR, 0xef);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_TIMER), APIC_LVT_MASKED | 0x30);
	CHECK_EQ(rd(&vl, APIC_REG_LVT_LINT1), APIC_LVT_MASKED | 0x400);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	CHECK(bit(&vl, APIC_REG_IRR, 0x50));
	CHECK_EQ(vlapic_accept(&vl, 0x50), 0xef);       /* spurious vector */
	enable(&vl);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x50);
}

/* ---- priority ---------------------------------------------------------------- */

TEST(ppr_table)
{
	static const struct { uint8_t tpr; int isr; uint8_t ppr; } cases[] = {
		{ 0x00, -1,   0x00 },
		{ 0x35, -1,   0x35 },
		{ 0x00, 0x41, 0x40 },
		{ 0x35, 0x41, 0x40 },   /* ISR class higher */
		{ 0x45, 0x41, 0x45 },   /* equal class: TPR */
		{ 0x4f, 0x4e, 0x4f },
		{ 0x50, 0x41, 0x50 },
		{ 0x20, 0xff, 0xf0 },
		{ 0xff, 0xff, 0xff },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vlapic vl;
		setup(&vl, 0, false);
		enable(&vl);
		if (cases[i].isr >= 0) {
			vlapic_set_irq(&vl, cases[i].isr, false);
			CHECK_EQ(vlapic_accept(&vl, cases[i].isr), cases[i].isr);
		}
		wr(&vl, APIC_REG_TPR, cases[i].tpr);
		if (rd(&vl, APIC_REG_PPR) != cases[i].ppr)
			printf("    case %u\n", i);
		CHECK_EQ(rd(&vl, APIC_REG_PPR), cases[i].ppr);
	}
}

TEST(nested_priority_and_eoi_order)
{
	struct vlapic vl;
	setup(&vl, 0, false);
	enable(&vl);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	vlapic_set_irq(&vl, 0x31, false);
	vlapic_set_irq(&vl, 0x52, false);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x52);
	CHECK_EQ(vlapic_accept(&vl, 0x52), 0x52);
	CHECK(bit(&vl, APIC_REG_ISR, 0x52));
	CHECK(!bit(&vl, APIC_REG_IRR, 0x52));
	CHECK_EQ(rd(&vl, APIC_REG_PPR), 0x50);
	vlapic_set_irq(&vl, 0x5f, false);               /* same class: waits */
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	vlapic_set_irq(&vl, 0x61, false);               /* nests */
	CHECK_EQ(vlapic_pending_vector(&vl), 0x61);
	CHECK_EQ(vlapic_accept(&vl, 0x61), 0x61);
	CHECK_EQ(rd(&vl, APIC_REG_PPR), 0x60);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);

	wr(&vl, APIC_REG_EOI, 0);                       /* retires 0x61 */
	CHECK(!bit(&vl, APIC_REG_ISR, 0x61));
	CHECK(bit(&vl, APIC_REG_ISR, 0x52));
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	wr(&vl, APIC_REG_EOI, 0);                       /* retires 0x52 */
	CHECK_EQ(rd(&vl, APIC_REG_PPR), 0);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x5f);
	CHECK_EQ(vlapic_accept(&vl, 0x5f), 0x5f);
	wr(&vl, APIC_REG_EOI, 0);

	/* TPR holds back classes at or below its own. */
	wr(&vl, APIC_REG_TPR, 0x30);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	CHECK_EQ(vlapic_accept(&vl, 0x31), 0xff);       /* spurious, ISR untouched */
	CHECK_EQ(rd(&vl, APIC_REG_ISR + 0x10), 0);
	vlapic_set_cr8(&vl, 2);
	CHECK_EQ(rd(&vl, APIC_REG_TPR), 0x20);
	CHECK_EQ(vlapic_get_cr8(&vl), 2);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x31);

	wr(&vl, APIC_REG_EOI, 0);                       /* nothing in service: no-op */
	CHECK_EQ(rec.neoi, 0);
}

TEST(tmr_and_eoi_broadcast)
{
	struct vlapic vl;
	setup(&vl, 0, false);
	enable(&vl);
	vlapic_set_irq(&vl, 0x40, true);
	vlapic_set_irq(&vl, 0x90, false);
	CHECK(bit(&vl, APIC_REG_TMR, 0x40));
	CHECK(!bit(&vl, APIC_REG_TMR, 0x90));
	CHECK_EQ(vlapic_accept(&vl, 0x90), 0x90);
	wr(&vl, APIC_REG_EOI, 0);
	CHECK_EQ(rec.neoi, 0);                          /* edge: no broadcast */
	CHECK_EQ(vlapic_accept(&vl, 0x40), 0x40);
	wr(&vl, APIC_REG_EOI, 0);
	CHECK_EQ(rec.neoi, 1);
	CHECK_EQ(rec.eoi[0], 0x40);
	CHECK(!rec.locked);
	/* Edge acceptance clears the TMR bit again. */
	vlapic_set_irq(&vl, 0x40, false);
	CHECK(!bit(&vl, APIC_REG_TMR, 0x40));
}

TEST(esr_illegal_vector)
{
	struct vlapic vl;
	setup(&vl, 0, false);
	enable(&vl);
	vlapic_set_irq(&vl, 5, false);
	CHECK(!bit(&vl, APIC_REG_IRR, 5));
	CHECK_EQ(rd(&vl, APIC_REG_ESR), 0);             /* not latched before a write */
	wr(&vl, APIC_REG_ESR, 0);
	CHECK_EQ(rd(&vl, APIC_REG_ESR), APIC_ESR_RECV_ILLEGAL);
	CHECK_EQ(rd(&vl, APIC_REG_ESR), APIC_ESR_RECV_ILLEGAL);
	wr(&vl, APIC_REG_ESR, 0);
	CHECK_EQ(rd(&vl, APIC_REG_ESR), 0);

	/* With the error LVT unmasked the error raises its vector. */
	wr(&vl, APIC_REG_LVT_ERROR, 0xfe);
	vlapic_set_irq(&vl, 15, true);
	CHECK_EQ(vlapic_pending_vector(&vl), 0xfe);
	CHECK_EQ(esr(&vl), APIC_ESR_RECV_ILLEGAL);
	/* An illegal error vector is logged, without recursion. */
	wr(&vl, APIC_REG_LVT_ERROR, 0x02);
	vlapic_set_irq(&vl, 1, false);
	CHECK_EQ(esr(&vl), APIC_ESR_RECV_ILLEGAL);
}

/* ---- timer ------------------------------------------------------------------ */

TEST(timer_oneshot)
{
	static const struct { uint32_t dcr, div; } divs[] = {
		{ 0xb, 1 }, { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 },
		{ 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(divs); i++) {
		struct vlapic vl;
		uint64_t d = divs[i].div;
		setup(&vl, 0, false);
		enable(&vl);
		clk = 5000;
		wr(&vl, APIC_REG_TIMER_DCR, divs[i].dcr);
		wr(&vl, APIC_REG_LVT_TIMER, 0x40);
		wr(&vl, APIC_REG_TIMER_ICR, 1000);
		CHECK_EQ(vlapic_timer_deadline(&vl), 5000 + 1000 * d);
		CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 1000);
		clk = 5000 + d - 1;                     /* less than one tick */
		CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 1000);
		clk = 5000 + d;
		CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 999);
		clk = 5000 + 250 * d + d / 2;
		CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 750);
		vlapic_timer_update(&vl, 5000 + 1000 * d - 1);
		CHECK_EQ(vlapic_pending_vector(&vl), -1);
		clk = 5000 + 1000 * d - 1;
		CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 1);
		vlapic_timer_update(&vl, 5000 + 1000 * d);
		CHECK_EQ(vlapic_pending_vector(&vl), 0x40);
		CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
		clk = 5000 + 1000 * d;
		CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 0);
		CHECK_EQ(rd(&vl, APIC_REG_TIMER_ICR), 1000);
		CHECK_EQ(vlapic_accept(&vl, 0x40), 0x40);
		wr(&vl, APIC_REG_EOI, 0);
		vlapic_timer_update(&vl, 5000 + 5000 * d);      /* fires once only */
		CHECK_EQ(vlapic_pending_vector(&vl), -1);
		CHECK_EQ(vl.timer_fired, 1);
	}
}

TEST(timer_oneshot_details)
{
	struct vlapic vl;
	setup(&vl, 0, false);
	enable(&vl);
	wr(&vl, APIC_REG_LVT_TIMER, 0x40);
	wr(&vl, APIC_REG_TIMER_DCR, 0xb);               /* divide by 1 */
	wr(&vl, APIC_REG_TIMER_ICR, 100);
	/* An MMIO access past the deadline fires it too (catch-up). */
	clk = 150;
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 0);
	CHECK(bit(&vl, APIC_REG_IRR, 0x40));
	/* Rewriting the initial count restarts; 0 stops. */
	wr(&vl, APIC_REG_TIMER_ICR, 100);
	CHECK_EQ(vlapic_timer_deadline(&vl), 250);
	wr(&vl, APIC_REG_TIMER_ICR, 0);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
	/* Changing the divider applies to the remaining count. */
	wr(&vl, APIC_REG_TIMER_ICR, 100);
	clk = 190;
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 60);
	wr(&vl, APIC_REG_TIMER_DCR, 0x0);               /* divide by 2 */
	CHECK_EQ(vlapic_timer_deadline(&vl), 190 + 120);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 60);
	/* Largest period: 2^32-1 ticks divided by 128, no overflow. */
	wr(&vl, APIC_REG_TIMER_DCR, 0xa);
	wr(&vl, APIC_REG_TIMER_ICR, 0xffffffff);
	CHECK_EQ(vlapic_timer_deadline(&vl), 190 + 0xffffffffULL * 128);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 0xffffffff);
}

TEST(timer_periodic)
{
	struct vlapic vl;
	const uint64_t P = 1000000;                     /* the period, ns */
	setup(&vl, 0, false);
	enable(&vl);
	clk = 1000;
	wr(&vl, APIC_REG_TIMER_DCR, 0x0);               /* divide by 2 */
	wr(&vl, APIC_REG_LVT_TIMER, (APIC_TIMER_PERIODIC << APIC_LVT_TIMER_SHIFT) | 0x50);
	wr(&vl, APIC_REG_TIMER_ICR, P / 2);
	CHECK_EQ(vlapic_timer_deadline(&vl), 1000 + P);
	for (uint64_t k = 1; k <= 5; k++) {
		/* The VM layer is late by k*7 ns; the next period must not drift. */
		vlapic_timer_update(&vl, 1000 + k * P + k * 7);
		CHECK_EQ(vlapic_pending_vector(&vl), 0x50);
		CHECK_EQ(vlapic_accept(&vl, 0x50), 0x50);
		wr(&vl, APIC_REG_EOI, 0);
		CHECK_EQ(vlapic_timer_deadline(&vl), 1000 + (k + 1) * P);
	}
	CHECK_EQ(vl.timer_fired, 5);
	CHECK_EQ(vl.timer_missed, 0);
	clk = 1000 + 5 * P + P / 4;
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 3 * P / 8);

	/* Far behind: one interrupt, the skipped periods counted. */
	vlapic_timer_update(&vl, 1000 + 9 * P + P / 2);  /* deadlines 6P..9P */
	CHECK_EQ(vl.timer_fired, 6);
	CHECK_EQ(vl.timer_missed, 3);
	CHECK_EQ(vlapic_timer_deadline(&vl), 1000 + 10 * P);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x50);
	CHECK_EQ(vlapic_accept(&vl, 0x50), 0x50);
	wr(&vl, APIC_REG_EOI, 0);

	/* Masked: keeps counting, sets no IRR, and asks nobody to wake for it. */
	wr(&vl, APIC_REG_LVT_TIMER, (APIC_TIMER_PERIODIC << APIC_LVT_TIMER_SHIFT) |
				    APIC_LVT_MASKED | 0x50);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
	vlapic_timer_update(&vl, 1000 + 10 * P);
	vlapic_timer_update(&vl, 1000 + 11 * P);
	CHECK_EQ(vl.timer_fired, 8);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	CHECK(!bit(&vl, APIC_REG_IRR, 0x50));
	clk = 1000 + 11 * P + P / 2;
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), P / 4);
	/* Unmasked after periods passed unseen: counting went on, no interrupt
	 * for them, the next deadline is reported again. */
	clk = 1000 + 14 * P + P / 2;
	wr(&vl, APIC_REG_LVT_TIMER, (APIC_TIMER_PERIODIC << APIC_LVT_TIMER_SHIFT) | 0x50);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	CHECK_EQ(vlapic_timer_deadline(&vl), 1000 + 15 * P);
}

/* A periodic count shorter than VLAPIC_MIN_PERIOD_NS fires at the floor;
 * one-shot keeps its exact count. */
TEST(timer_periodic_floor)
{
	struct vlapic vl;
	setup(&vl, 0, false);
	enable(&vl);
	clk = 500;
	wr(&vl, APIC_REG_TIMER_DCR, 0xb);               /* divide by 1 */
	wr(&vl, APIC_REG_LVT_TIMER, (APIC_TIMER_PERIODIC << APIC_LVT_TIMER_SHIFT) | 0x50);
	wr(&vl, APIC_REG_TIMER_ICR, 1);
	CHECK_EQ(vlapic_timer_deadline(&vl), 500 + VLAPIC_MIN_PERIOD_NS);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 1);
	vlapic_timer_update(&vl, 500 + VLAPIC_MIN_PERIOD_NS);
	CHECK_EQ(vl.timer_fired, 1);
	CHECK_EQ(vlapic_timer_deadline(&vl), 500 + 2 * VLAPIC_MIN_PERIOD_NS);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x50);
	CHECK_EQ(vlapic_accept(&vl, 0x50), 0x50);
	wr(&vl, APIC_REG_EOI, 0);
	wr(&vl, APIC_REG_LVT_TIMER, (APIC_TIMER_ONESHOT << APIC_LVT_TIMER_SHIFT) | 0x50);
	clk = 1000000;
	wr(&vl, APIC_REG_TIMER_ICR, 1);
	CHECK_EQ(vlapic_timer_deadline(&vl), 1000001);
}

TEST(timer_tsc_deadline)
{
	struct vlapic vl;
	const uint32_t lvt = (APIC_TIMER_TSC_DEADLINE << APIC_LVT_TIMER_SHIFT) | 0x60;
	setup(&vl, 0, false);
	enable(&vl);

	/* Not in TSC-deadline mode: the MSR reads 0 and ignores writes. */
	vlapic_write_tsc_deadline(&vl, 5000, 0, 0);
	CHECK_EQ(vlapic_read_tsc_deadline(&vl), 0);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);

	wr(&vl, APIC_REG_LVT_TIMER, lvt);
	/* 2 GHz: 2001 ticks after now is 1000.5 ns, rounded up. */
	clk = 1000;
	vlapic_write_tsc_deadline(&vl, 4001, 1000, 2000);
	CHECK_EQ(vlapic_read_tsc_deadline(&vl), 4001);
	CHECK_EQ(vlapic_timer_deadline(&vl), 2001);
	wr(&vl, APIC_REG_TIMER_ICR, 100);               /* ignored in this mode */
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_ICR), 0);
	CHECK_EQ(rd(&vl, APIC_REG_TIMER_CCR), 0);
	vlapic_timer_update(&vl, 2000);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	vlapic_timer_update(&vl, 2001);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x60);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
	clk = 2001;
	CHECK_EQ(vlapic_read_tsc_deadline(&vl), 0);     /* disarmed once fired */
	CHECK_EQ(vlapic_accept(&vl, 0x60), 0x60);
	wr(&vl, APIC_REG_EOI, 0);

	/* A deadline already past fires at once. */
	vlapic_write_tsc_deadline(&vl, 100, 2001, 4002);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x60);
	CHECK_EQ(vlapic_accept(&vl, 0x60), 0x60);
	wr(&vl, APIC_REG_EOI, 0);

	/* Writing 0 disarms. */
	vlapic_write_tsc_deadline(&vl, 1000000, 2001, 4002);
	CHECK(vlapic_timer_deadline(&vl) != NO_DEADLINE);
	vlapic_write_tsc_deadline(&vl, 0, 2001, 4002);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
	vlapic_timer_update(&vl, 1000000000);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);

	/* A deadline that passed before the 0 was written has fired already,
	 * even with no timer update in between. */
	vlapic_write_tsc_deadline(&vl, 6000, 2001, 4002);       /* 999 ns later */
	vlapic_write_tsc_deadline(&vl, 0, 3500, 7000);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x60);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
	CHECK_EQ(vlapic_accept(&vl, 0x60), 0x60);
	wr(&vl, APIC_REG_EOI, 0);

	/* Leaving the mode disarms; so does entering it. */
	vlapic_write_tsc_deadline(&vl, 1000000, 2001, 4002);
	wr(&vl, APIC_REG_LVT_TIMER, 0x60);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
	wr(&vl, APIC_REG_TIMER_ICR, 100);
	CHECK(vlapic_timer_deadline(&vl) != NO_DEADLINE);
	wr(&vl, APIC_REG_LVT_TIMER, lvt);
	CHECK_EQ(vlapic_timer_deadline(&vl), NO_DEADLINE);
	CHECK_EQ(vlapic_read_tsc_deadline(&vl), 0);

	/* Huge deadlines neither overflow nor fire. */
	vlapic_write_tsc_deadline(&vl, UINT64_MAX, 2001, 0);
	CHECK(vlapic_timer_deadline(&vl) > 2001);
	vlapic_timer_update(&vl, 1ULL << 62);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);
	vlapic_write_tsc_deadline(&vl, (1ULL << 62) + 2000, 1ULL << 40, 1ULL << 62);
	CHECK_EQ(vlapic_timer_deadline(&vl), (1ULL << 40) + 1000);
}

/* ---- IPIs ----------------------------------------------------------------- */

static uint32_t icr(unsigned dm, unsigned vector, unsigned sh, bool logical, bool assert, bool level)
{
	return vector | dm << 8 | (logical ? APIC_ICR_LOGICAL : 0) | (assert ? APIC_ICR_ASSERT : 0) |
	       (level ? APIC_ICR_LEVEL : 0) | sh << 18;
}

/*
 * A posted interrupt (vlapic_post_begin/end) leaves IRR while the CPU
 * holds it: the same vector sent again meanwhile is a second interrupt,
 * pending after the first's EOI if the guest took the first, merged with
 * it if not.  Left in IRR, a taken post would swallow the second (an IPI
 * lost: Linux's smp_call_function then waits for ever).
 */
TEST(post_keeps_the_same_vector_sent_again)
{
	struct vlapic vl;

	setup(&vl, 0, true);
	enable(&vl);
	vlapic_set_irq(&vl, 0xfc, false);
	CHECK_EQ(vlapic_pending_vector(&vl), 0xfc);
	vlapic_post_begin(&vl, 0xfc);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);       /* with the CPU, not pending twice */
	CHECK(!bit(&vl, APIC_REG_IRR, 0xfc));
	vlapic_set_irq(&vl, 0xfc, false);               /* sent again while the guest runs */
	CHECK_EQ(vlapic_post_end(&vl, true), 0xfc);     /* the guest took the first */
	CHECK(bit(&vl, APIC_REG_ISR, 0xfc));
	CHECK(bit(&vl, APIC_REG_IRR, 0xfc));            /* the second waits */
	CHECK_EQ(vlapic_pending_vector(&vl), -1);       /* behind the first, same class */
	wr(&vl, APIC_REG_EOI, 0);
	CHECK_EQ(vlapic_pending_vector(&vl), 0xfc);     /* then it comes */
	CHECK_EQ(vlapic_accept(&vl, 0xfc), 0xfc);
	wr(&vl, APIC_REG_EOI, 0);

	/* Not taken: back in IRR, one interrupt with the one sent meanwhile. */
	vlapic_set_irq(&vl, 0x41, false);
	vlapic_post_begin(&vl, 0x41);
	vlapic_set_irq(&vl, 0x41, false);
	CHECK_EQ(vlapic_post_end(&vl, false), -1);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x41);
	CHECK_EQ(vlapic_accept(&vl, 0x41), 0x41);
	wr(&vl, APIC_REG_EOI, 0);
	CHECK_EQ(vlapic_pending_vector(&vl), -1);

	/* Only a vector in IRR is posted, one at a time; without a post the
	 * end does nothing; a reset drops a post. */
	vlapic_post_begin(&vl, 0x42);
	CHECK_EQ(vlapic_post_end(&vl, true), -1);
	CHECK(!bit(&vl, APIC_REG_ISR, 0x42));
	vlapic_set_irq(&vl, 0x43, false);
	vlapic_set_irq(&vl, 0x44, false);
	vlapic_post_begin(&vl, 0x44);
	vlapic_post_begin(&vl, 0x43);                   /* ignored: 0x44 is out */
	CHECK(bit(&vl, APIC_REG_IRR, 0x43));
	vlapic_reset(&vl);
	CHECK_EQ(vlapic_post_end(&vl, true), -1);
	CHECK(!bit(&vl, APIC_REG_ISR, 0x44));

	/* A snapshot record taken with a post out loads with it pending. */
	static uint8_t rec[VLAPIC_SNAP_SIZE];
	enable(&vl);
	vlapic_set_irq(&vl, 0x45, false);
	vlapic_post_begin(&vl, 0x45);
	CHECK_EQ(vlapic_save(&vl, rec, sizeof(rec)), VLAPIC_SNAP_SIZE);
	CHECK(vlapic_load(&vl, rec, sizeof(rec)));
	CHECK_EQ(vlapic_post_end(&vl, true), -1);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x45);
}

TEST(icr_messages)
{
	struct vlapic vl;
	setup(&vl, 2, true);
	enable(&vl);

	wr(&vl, APIC_REG_ICR_HI, 0x03000000);
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_FIXED, 0x45, 0, false, true, false));
	CHECK_EQ(rec.nmsg, 1);
	CHECK_EQ(rec.msg[0].dest, 3);
	CHECK_EQ(rec.msg[0].vector, 0x45);
	CHECK_EQ(rec.msg[0].delivery, APIC_DM_FIXED);
	CHECK(!rec.msg[0].logical);
	CHECK(!rec.msg[0].level);
	CHECK_EQ(rec.msg[0].shorthand, 0);
	CHECK_EQ(rec.msg[0].src, 2);
	CHECK(!rec.locked);
	CHECK_EQ(rd(&vl, APIC_REG_ICR_LO) & APIC_ICR_PENDING, 0);
	CHECK_EQ(rd(&vl, APIC_REG_ICR_LO), 0x4045);

	wr(&vl, APIC_REG_ICR_HI, 0x0c000000);
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_LOWEST, 0x46, 0, true, true, true) | APIC_ICR_PENDING);
	CHECK_EQ(rec.msg[1].dest, 0x0c);
	CHECK(rec.msg[1].logical);
	CHECK(rec.msg[1].level);
	CHECK_EQ(rec.msg[1].delivery, APIC_DM_LOWEST);
	CHECK_EQ(rd(&vl, APIC_REG_ICR_LO) & APIC_ICR_PENDING, 0);

	/* INIT assert, then the de-assert that is ignored, then two SIPIs. */
	wr(&vl, APIC_REG_ICR_HI, 0x01000000);
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_INIT, 0, 0, false, true, true));
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_INIT, 0, 0, false, false, true));
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_STARTUP, 0x9a, 0, false, true, false));
	CHECK_EQ(rec.nmsg, 4);
	CHECK_EQ(rec.msg[2].delivery, APIC_DM_INIT);
	CHECK_EQ(rec.msg[2].dest, 1);
	CHECK_EQ(rec.msg[3].delivery, APIC_DM_STARTUP);
	CHECK_EQ(rec.msg[3].vector, 0x9a);

	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_NMI, 0, 3, false, true, false));
	CHECK_EQ(rec.msg[4].delivery, APIC_DM_NMI);
	CHECK_EQ(rec.msg[4].shorthand, 3);
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_FIXED, 0x47, 1, false, true, false));
	CHECK_EQ(rec.msg[5].shorthand, 1);
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_FIXED, 0x48, 2, false, true, false));
	CHECK_EQ(rec.msg[6].shorthand, 2);
	CHECK_EQ(rec.nmsg, 7);

	/* A fixed IPI with an illegal vector is not sent (ESR bit 5). */
	wr(&vl, APIC_REG_ICR_LO, icr(APIC_DM_FIXED, 0x0e, 0, false, true, false));
	CHECK_EQ(rec.nmsg, 7);
	CHECK_EQ(esr(&vl), APIC_ESR_SEND_ILLEGAL);
	CHECK_EQ(vl.ipis_sent, 7);
}

static struct apic_msg msg(uint32_t dest, bool logical, uint8_t sh, uint32_t src)
{
	return (struct apic_msg){ .dest = dest, .logical = logical, .shorthand = sh,
				  .delivery = APIC_DM_FIXED, .vector = 0x40, .src = src };
}

TEST(match_xapic)
{
	struct vlapic vl;
	struct apic_msg m;
	setup(&vl, 5, false);
	m = msg(5, false, 0, 0);    CHECK(vlapic_match_dest(&vl, &m));
	m = msg(6, false, 0, 0);    CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0x105, false, 0, 0); CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0xff, false, 0, 0); CHECK(vlapic_match_dest(&vl, &m));
	/* Shorthands ignore dest. */
	m = msg(9, false, 1, 5);    CHECK(vlapic_match_dest(&vl, &m));
	m = msg(9, false, 1, 4);    CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(9, false, 2, 5);    CHECK(vlapic_match_dest(&vl, &m));
	m = msg(9, false, 3, 5);    CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(9, false, 3, 4);    CHECK(vlapic_match_dest(&vl, &m));

	/* Logical flat: LDR bit set in the mask. */
	m = msg(0x04, true, 0, 0);  CHECK(!vlapic_match_dest(&vl, &m));  /* LDR 0 */
	wr(&vl, APIC_REG_LDR, 0x04000000);
	CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0x0b, true, 0, 0);  CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0xff, true, 0, 0);  CHECK(vlapic_match_dest(&vl, &m));

	/* Logical cluster: cluster in bits 7:4, members in 3:0. */
	wr(&vl, APIC_REG_DFR, 0x0fffffff);
	wr(&vl, APIC_REG_LDR, 0x32000000);
	m = msg(0x32, true, 0, 0);  CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0x3e, true, 0, 0);  CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0x3d, true, 0, 0);  CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0x22, true, 0, 0);  CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0xff, true, 0, 0);  CHECK(vlapic_match_dest(&vl, &m));
}

TEST(match_x2apic)
{
	struct vlapic vl;
	struct apic_msg m;
	setup(&vl, 0x25, false);
	CHECK(to_x2apic(&vl));
	uint64_t ldr = 0;
	CHECK(vlapic_msr_read(&vl, 0x80d, &ldr));
	CHECK_EQ(ldr, (2u << 16) | (1u << 5));
	m = msg(0x25, false, 0, 0);        CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0x125, false, 0, 0);       CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0xffffffff, false, 0, 0);  CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0xff, false, 0, 0);        CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0x20020, true, 0, 0);      CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0x2ffff, true, 0, 0);      CHECK(vlapic_match_dest(&vl, &m));
	m = msg(0x2ffdf, true, 0, 0);      CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0x30020, true, 0, 0);      CHECK(!vlapic_match_dest(&vl, &m));
	m = msg(0xff, true, 0, 0);         CHECK(!vlapic_match_dest(&vl, &m)); /* cluster 0 */
	m = msg(0xffffffff, true, 0, 0);   CHECK(vlapic_match_dest(&vl, &m));
	m = msg(1, false, 3, 0x25);        CHECK(!vlapic_match_dest(&vl, &m));
}

/* ---- x2APIC ------------------------------------------------------------------ */

TEST(apic_base_transitions)
{
	struct vlapic vl;
	uint64_t v;
	setup(&vl, 1, true);
	const uint64_t xapic = BASE | APIC_BASE_EN | APIC_BASE_BSP;
	const uint64_t x2 = xapic | APIC_BASE_EXTD;

	CHECK(!vlapic_msr_read(&vl, 0x802, &v));        /* #GP in xAPIC mode */
	CHECK(!vlapic_msr_write(&vl, 0x808, 0));
	CHECK(!vlapic_set_apic_base(&vl, 0xfec00000 | APIC_BASE_EN));   /* relocation */
	CHECK(!vlapic_set_apic_base(&vl, xapic | (1ULL << 9)));         /* reserved */
	CHECK(!vlapic_set_apic_base(&vl, xapic | 1));
	CHECK(!vlapic_set_apic_base(&vl, xapic | (1ULL << 52)));
	CHECK(!vlapic_set_apic_base(&vl, BASE | APIC_BASE_EXTD));       /* invalid state */
	CHECK_EQ(vlapic_get_apic_base(&vl), xapic);

	wr(&vl, APIC_REG_TPR, 0x20);
	wr(&vl, APIC_REG_LVT_LINT1, APIC_LVT_MASKED | 0x400);
	CHECK(vlapic_set_apic_base(&vl, BASE | APIC_BASE_EN | APIC_BASE_EXTD)); /* BSP bit ignored */
	CHECK_EQ(vlapic_get_apic_base(&vl), x2);
	v = 0;
	CHECK(vlapic_msr_read(&vl, 0x808, &v));         /* registers kept */
	CHECK_EQ(v, 0x20);
	CHECK_EQ(rd(&vl, APIC_REG_ID), 0xffffffff);     /* MMIO is not the APIC */
	wr(&vl, APIC_REG_TPR, 0x30);
	CHECK(vlapic_msr_read(&vl, 0x808, &v));
	CHECK_EQ(v, 0x20);

	CHECK(!vlapic_set_apic_base(&vl, xapic));       /* x2APIC -> xAPIC */
	CHECK(vlapic_set_apic_base(&vl, x2));           /* no change */
	CHECK(vlapic_set_apic_base(&vl, BASE | APIC_BASE_BSP));         /* -> disabled */
	CHECK_EQ(vlapic_get_apic_base(&vl), BASE | APIC_BASE_BSP);
	CHECK(!vlapic_msr_read(&vl, 0x808, &v));
	CHECK_EQ(rd(&vl, APIC_REG_TPR), 0xffffffff);
	vlapic_set_irq(&vl, 0x40, false);
	CHECK(!vlapic_set_apic_base(&vl, x2));          /* disabled -> x2APIC */
	CHECK(vlapic_set_apic_base(&vl, xapic));        /* disabled -> xAPIC */
	CHECK_EQ(rd(&vl, APIC_REG_ID), 0x01000000);     /* ID survives */
	CHECK_EQ(rd(&vl, APIC_REG_TPR), 0);             /* the rest was reset */
	CHECK_EQ(rd(&vl, APIC_REG_LVT_LINT1), APIC_LVT_MASKED);
	CHECK_EQ(rd(&vl, APIC_REG_IRR + 0x20), 0);

	/* INIT keeps the mode and the ID. */
	CHECK(vlapic_set_apic_base(&vl, x2));
	CHECK(vlapic_msr_write(&vl, 0x808, 0x40));
	vlapic_reset(&vl);
	CHECK_EQ(vlapic_get_apic_base(&vl), x2);
	CHECK(vlapic_msr_read(&vl, 0x808, &v));
	CHECK_EQ(v, 0);
	CHECK(vlapic_msr_read(&vl, 0x80d, &v));
	CHECK_EQ(v, 1u << 1);
}

TEST(x2apic_msrs)
{
	struct vlapic vl;
	uint64_t v;
	setup(&vl, 0x12345, false);
	CHECK(to_x2apic(&vl));
	CHECK(vlapic_msr_read(&vl, 0x802, &v));
	CHECK_EQ(v, 0x12345);
	CHECK(vlapic_msr_read(&vl, 0x803, &v));
	CHECK_EQ(v, 0x00050014);
	CHECK(vlapic_msr_read(&vl, 0x80d, &v));
	CHECK_EQ(v, (0x1234u << 16) | (1u << 5));

	/* Read-only, reserved and write-only registers: #GP. */
	CHECK(!vlapic_msr_write(&vl, 0x802, 0));
	CHECK(!vlapic_msr_write(&vl, 0x803, 0));
	CHECK(!vlapic_msr_write(&vl, 0x80a, 0));
	CHECK(!vlapic_msr_write(&vl, 0x80d, 0));
	CHECK(!vlapic_msr_write(&vl, 0x810, 0));        /* ISR */
	CHECK(!vlapic_msr_write(&vl, 0x839, 0));        /* current count */
	CHECK(!vlapic_msr_read(&vl, 0x80e, &v));        /* no DFR */
	CHECK(!vlapic_msr_write(&vl, 0x80e, 0));
	CHECK(!vlapic_msr_read(&vl, 0x831, &v));        /* ICR is one MSR */
	CHECK(!vlapic_msr_write(&vl, 0x831, 0));
	CHECK(!vlapic_msr_read(&vl, 0x809, &v));        /* no APR */
	CHECK(!vlapic_msr_read(&vl, 0x80c, &v));        /* no RRD */
	CHECK(!vlapic_msr_read(&vl, 0x804, &v));
	CHECK(!vlapic_msr_read(&vl, 0x80b, &v));        /* EOI is write-only */
	CHECK(!vlapic_msr_read(&vl, 0x83f, &v));        /* so is SELF IPI */
	CHECK(!vlapic_msr_read(&vl, 0x8ff, &v));
	CHECK(!vlapic_msr_read(&vl, 0x900, &v));
	CHECK(!vlapic_msr_read(&vl, 0x7ff, &v));

	/* Reserved bits: #GP, register unchanged. */
	CHECK(vlapic_msr_write(&vl, 0x808, 0x30));
	CHECK(!vlapic_msr_write(&vl, 0x808, 0x130));
	CHECK(!vlapic_msr_write(&vl, 0x808, 1ULL << 32));
	CHECK(vlapic_msr_read(&vl, 0x808, &v));
	CHECK_EQ(v, 0x30);
	CHECK(!vlapic_msr_write(&vl, 0x80b, 1));        /* EOI must be 0 */
	CHECK(vlapic_msr_write(&vl, 0x80b, 0));
	CHECK(!vlapic_msr_write(&vl, 0x828, 1));        /* ESR must be 0 */
	CHECK(vlapic_msr_write(&vl, 0x828, 0));
	CHECK(!vlapic_msr_write(&vl, 0x80f, 0x11ff));   /* SVR bit 12 */
	CHECK(vlapic_msr_write(&vl, 0x80f, 0x1ff));
	CHECK(!vlapic_msr_write(&vl, 0x832, 0x80000040)); /* LVT timer */
	CHECK(!vlapic_msr_write(&vl, 0x83e, 0x4));      /* DCR bit 2 */
	CHECK(vlapic_msr_write(&vl, 0x83e, 0xb));
	CHECK(vlapic_msr_write(&vl, 0x838, 0xffffffff)); /* initial count */

	/* ICR: one 64-bit write, 32-bit destination. */
	CHECK(!vlapic_msr_write(&vl, 0x830, (7ULL << 32) | 0x2040));   /* bit 13 */
	CHECK_EQ(rec.nmsg, 0);
	CHECK(vlapic_msr_write(&vl, 0x830, (0x10002ULL << 32) | APIC_ICR_LOGICAL | 0x40));
	CHECK_EQ(rec.nmsg, 1);
	CHECK_EQ(rec.msg[0].dest, 0x10002);
	CHECK(rec.msg[0].logical);
	CHECK_EQ(rec.msg[0].vector, 0x40);
	CHECK_EQ(rec.msg[0].src, 0x12345);
	CHECK(vlapic_msr_read(&vl, 0x830, &v));
	CHECK_EQ(v, (0x10002ULL << 32) | APIC_ICR_LOGICAL | 0x40);

	/* SELF IPI: local, edge, no message. */
	CHECK(!vlapic_msr_write(&vl, 0x83f, 0x140));
	CHECK(vlapic_msr_write(&vl, 0x83f, 0x41));
	CHECK_EQ(rec.nmsg, 1);
	CHECK(vlapic_msr_read(&vl, 0x822, &v));         /* IRR 0x40-0x5f */
	CHECK_EQ(v, 2);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x41);
	CHECK(vlapic_msr_write(&vl, 0x83f, 3));         /* illegal vector */
	CHECK(vlapic_msr_write(&vl, 0x828, 0));
	CHECK(vlapic_msr_read(&vl, 0x828, &v));
	CHECK_EQ(v, APIC_ESR_RECV_ILLEGAL);
}

/* ---- the VM layer's side ---------------------------------------------------- */

TEST(extint_and_pic)
{
	struct vlapic vl;
	setup(&vl, 0, true);
	CHECK(vlapic_extint_ready(&vl));
	CHECK(vlapic_accepts_pic(&vl));
	wr(&vl, APIC_REG_LVT_LINT0, 0x700 | APIC_LVT_MASKED);
	CHECK(!vlapic_extint_ready(&vl));
	CHECK(!vlapic_accepts_pic(&vl));
	enable(&vl);
	wr(&vl, APIC_REG_LVT_LINT0, 0x000);             /* fixed, not ExtINT */
	CHECK(!vlapic_accepts_pic(&vl));
	wr(&vl, APIC_REG_LVT_LINT0, 0x700);
	CHECK(vlapic_accepts_pic(&vl));
	wr(&vl, APIC_REG_SVR, 0xff);                    /* masks LINT0 */
	CHECK(!vlapic_accepts_pic(&vl));

	setup(&vl, 1, false);                           /* APs: masked at reset */
	CHECK(!vlapic_extint_ready(&vl));
	CHECK(!vlapic_accepts_pic(&vl));
	CHECK(vlapic_set_apic_base(&vl, BASE));         /* hardware-disabled */
	CHECK(!vlapic_extint_ready(&vl));
	CHECK(vlapic_accepts_pic(&vl));
}

TEST(deliver_nmi_init_sipi)
{
	struct vlapic vl;
	struct apic_msg m = { .delivery = APIC_DM_NMI };
	uint8_t sipi = 0;
	setup(&vl, 0, false);                           /* software-disabled */
	CHECK(!vlapic_nmi_pending(&vl));
	vlapic_deliver(&vl, &m);
	CHECK(vlapic_nmi_pending(&vl));
	CHECK(vlapic_nmi_ack(&vl));
	CHECK(!vlapic_nmi_pending(&vl));
	CHECK(!vlapic_nmi_ack(&vl));

	CHECK_EQ(vlapic_take_events(&vl, &sipi), 0);
	m.delivery = APIC_DM_INIT;
	vlapic_deliver(&vl, &m);
	m.delivery = APIC_DM_STARTUP;
	m.vector = 0x9a;
	vlapic_deliver(&vl, &m);
	CHECK_EQ(vlapic_take_events(&vl, &sipi), VLAPIC_EV_INIT | VLAPIC_EV_SIPI);
	CHECK_EQ(sipi, 0x9a);
	CHECK_EQ(vlapic_take_events(&vl, &sipi), 0);

	m.delivery = APIC_DM_FIXED;
	m.vector = 0x40;
	m.level = true;
	vlapic_deliver(&vl, &m);                        /* dropped while disabled */
	CHECK(!bit(&vl, APIC_REG_IRR, 0x40));
	enable(&vl);
	vlapic_deliver(&vl, &m);
	CHECK(bit(&vl, APIC_REG_IRR, 0x40));
	CHECK(bit(&vl, APIC_REG_TMR, 0x40));
	m.delivery = APIC_DM_LOWEST;
	m.vector = 0x50;
	m.level = false;
	vlapic_deliver(&vl, &m);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x50);
	m.delivery = APIC_DM_SMI;
	m.vector = 0x60;
	vlapic_deliver(&vl, &m);
	CHECK_EQ(vlapic_pending_vector(&vl), 0x50);
	CHECK(!vlapic_nmi_pending(&vl));
}

/* LINT0/LINT1 edges follow their LVT entries (SDM vol. 3A §11.5.1, §11.4.3). */
TEST(lint_edges)
{
	struct vlapic vl;
	setup(&vl, 0, false);
	enable(&vl);
	vlapic_lint_edge(&vl, 1);                       /* masked after reset */
	CHECK(!vlapic_nmi_pending(&vl));
	wr(&vl, APIC_REG_LVT_LINT1, APIC_DM_NMI << APIC_LVT_DM_SHIFT);
	vlapic_lint_edge(&vl, 1);
	CHECK(vlapic_nmi_pending(&vl));
	vlapic_lint_edge(&vl, 1);                       /* merges with the latched one */
	CHECK(vlapic_nmi_ack(&vl));
	CHECK(!vlapic_nmi_ack(&vl));
	wr(&vl, APIC_REG_LVT_LINT0, APIC_DM_FIXED << APIC_LVT_DM_SHIFT | 0x44);
	vlapic_lint_edge(&vl, 0);
	CHECK(bit(&vl, APIC_REG_IRR, 0x44));
	CHECK(!bit(&vl, APIC_REG_TMR, 0x44));
	CHECK(!vlapic_nmi_pending(&vl));
	vlapic_lint_edge(&vl, 2);                       /* no such pin */
	CHECK(!vlapic_nmi_pending(&vl));
	CHECK(vlapic_set_apic_base(&vl, BASE));         /* hardware-disabled: LINT1 is NMI */
	vlapic_lint_edge(&vl, 1);
	CHECK(vlapic_nmi_pending(&vl));
}

int main(void)
{
	check_start("vlapic");
	RUN(reset_state);
	RUN(readonly_and_reserved);
	RUN(svr_enable_disable);
	RUN(ppr_table);
	RUN(nested_priority_and_eoi_order);
	RUN(tmr_and_eoi_broadcast);
	RUN(esr_illegal_vector);
	RUN(timer_oneshot);
	RUN(timer_oneshot_details);
	RUN(timer_periodic);
	RUN(timer_periodic_floor);
	RUN(timer_tsc_deadline);
	RUN(icr_messages);
	RUN(match_xapic);
	RUN(match_x2apic);
	RUN(apic_base_transitions);
	RUN(x2apic_msrs);
	RUN(extint_and_pic);
	RUN(deliver_nmi_init_sipi);
	RUN(lint_edges);
	RUN(post_keeps_the_same_vector_sent_again);
	return check_finish();
}
