/*
 * Host tests for the MC146818A RTC / CMOS model: the guest's port accesses
 * against a fake VM clock, with IRQ 8 recorded.
 */
#include "test/unit/check.h"
#include "devices/vrtc.h"
#include "devices/iobus.h"
#include "devices/irq.h"

#define S 1000000000ULL

static uint64_t clk;    /* VM virtual time, ns */

static uint64_t fake_now(void *ctx)
{
	return clk;
}

struct irqlog {
	int n;
	unsigned irq;
	bool level;             /* the last call's */
};

static void fake_irq(void *vm, unsigned irq, bool level)
{
	struct irqlog *l = vm;

	l->n++;
	l->irq = irq;
	l->level = level;
}

static void setup(struct vrtc *r, struct irqlog *l, uint64_t epoch, uint64_t start)
{
	memset(l, 0, sizeof(*l));
	clk = start;
	vrtc_init(r, epoch, 512 * MiB, 0, fake_irq, l, fake_now, NULL);
}

static uint8_t rd(struct vrtc *r, uint8_t idx)
{
	uint32_t v = idx;
	CHECK_EQ(vrtc_pio(r, false, 0x70, 1, &v), 0);
	v = 0;
	CHECK_EQ(vrtc_pio(r, true, 0x71, 1, &v), 0);
	return (uint8_t)v;
}

static void wr(struct vrtc *r, uint8_t idx, uint8_t val)
{
	uint32_t v = idx;
	CHECK_EQ(vrtc_pio(r, false, 0x70, 1, &v), 0);
	v = val;
	CHECK_EQ(vrtc_pio(r, false, 0x71, 1, &v), 0);
}

/* Registers 0-9 and the century, as a string for compact checks. */
static const char *regs(struct vrtc *r)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "%02x%02x-%02x-%02x %02x:%02x:%02x dow%x",
		 rd(r, RTC_CENTURY), rd(r, RTC_YEAR), rd(r, RTC_MONTH), rd(r, RTC_DAY),
		 rd(r, RTC_HOUR), rd(r, RTC_MIN), rd(r, RTC_SEC), rd(r, RTC_DOW));
	return buf;
}

TEST(time_bcd_and_binary)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);                   /* Tuesday 2023-11-14 22:13:20 UTC */
	CHECK_STR(regs(&r), "2023-11-14 22:13:20 dow3");
	clk = 5 * S + S / 2;
	CHECK_STR(regs(&r), "2023-11-14 22:13:25 dow3");
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_DM);
	CHECK_EQ(rd(&r, RTC_SEC), 25);
	CHECK_EQ(rd(&r, RTC_MIN), 13);
	CHECK_EQ(rd(&r, RTC_HOUR), 22);
	CHECK_EQ(rd(&r, RTC_DAY), 14);
	CHECK_EQ(rd(&r, RTC_MONTH), 11);
	CHECK_EQ(rd(&r, RTC_YEAR), 23);
	CHECK_EQ(rd(&r, RTC_CENTURY), 20);
	CHECK_EQ(rd(&r, RTC_DOW), 3);
	CHECK_EQ(rd(&r, RTC_REG_D), RTC_D_VRT);
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
	/* A long time later (no vrtc_update in between): 2023-11-15 22:13:25 + 1 h. */
	clk += 25ULL * 3600 * S;
	wr(&r, RTC_REG_B, RTC_B_24H);
	CHECK_STR(regs(&r), "2023-11-15 23:13:25 dow4");
}

TEST(twelve_hour_mode)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);                   /* 22:13:20 */
	wr(&r, RTC_REG_B, 0);                           /* 12-hour BCD */
	CHECK_EQ(rd(&r, RTC_HOUR), 0x80 | 0x10);        /* 10 PM */
	wr(&r, RTC_REG_B, RTC_B_DM);
	CHECK_EQ(rd(&r, RTC_HOUR), 0x80 | 10);
	/* Midnight is 12 AM, noon 12 PM, 1 PM is 1 with the PM bit. */
	setup(&r, &l, 1700000000 - 22 * 3600 - 13 * 60 - 20, 0);
	wr(&r, RTC_REG_B, 0);
	CHECK_EQ(rd(&r, RTC_HOUR), 0x12);
	clk = 12ULL * 3600 * S;
	CHECK_EQ(rd(&r, RTC_HOUR), 0x92);
	clk = 13ULL * 3600 * S;
	CHECK_EQ(rd(&r, RTC_HOUR), 0x81);
	/* Setting the time in 12-hour mode: 11 PM. */
	wr(&r, RTC_REG_B, RTC_B_SET);
	wr(&r, RTC_HOUR, 0x80 | 0x11);
	wr(&r, RTC_REG_B, 0);
	wr(&r, RTC_REG_B, RTC_B_24H);
	CHECK_EQ(rd(&r, RTC_HOUR), 0x23);
}

TEST(date_rollover)
{
	static const struct { uint64_t epoch; const char *before, *after; } c[] = {
		{ 1709164799, "2024-02-28 23:59:59 dow4", "2024-02-29 00:00:00 dow5" },  /* leap year */
		{ 1677628799, "2023-02-28 23:59:59 dow3", "2023-03-01 00:00:00 dow4" },
		{ 951782399, "2000-02-28 23:59:59 dow2", "2000-02-29 00:00:00 dow3" },   /* by 400 */
		{ 4107542399, "2100-02-28 23:59:59 dow1", "2100-03-01 00:00:00 dow2" },  /* not by 100 */
		{ 4102444799, "2099-12-31 23:59:59 dow5", "2100-01-01 00:00:00 dow6" },  /* century */
		{ 0, "1970-01-01 00:00:00 dow5", "1970-01-01 00:00:01 dow5" },
	};
	struct vrtc r;
	struct irqlog l;

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		setup(&r, &l, c[i].epoch, 3 * S);
		CHECK_STR(regs(&r), c[i].before);
		clk += S;
		CHECK_STR(regs(&r), c[i].after);
	}
}

/* A naive calendar as the reference: walk years and months. */
static void naive_date(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned year = 1970;

	for (;;) {
		bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
		if (days < 365u + leap)
			break;
		days -= 365 + leap;
		year++;
	}
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	unsigned mon = 0;
	while (days >= mdays[mon] + (mon == 1 && leap)) {
		days -= mdays[mon] + (mon == 1 && leap);
		mon++;
	}
	*y = year;
	*m = mon + 1;
	*d = (unsigned)days + 1;
}

/* Every 13th day from 1970 to 2500, read in binary, and set back through SET. */
TEST(calendar_against_naive)
{
	struct vrtc r;
	struct irqlog l;
	int bad = 0;

	for (uint64_t days = 0; days < 194000 && bad < 5; days += 13) {
		unsigned y, m, d;
		naive_date(days, &y, &m, &d);
		setup(&r, &l, days * 86400 + 45296, 0);         /* 12:34:56 */
		wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_DM);
		unsigned gy = rd(&r, RTC_CENTURY) * 100u + rd(&r, RTC_YEAR);
		if (gy != y || rd(&r, RTC_MONTH) != m || rd(&r, RTC_DAY) != d ||
		    rd(&r, RTC_DOW) != (days + 4) % 7 + 1 || rd(&r, RTC_HOUR) != 12) {
			printf("    day %llu: want %u-%u-%u, got %u-%u-%u\n", (unsigned long long)days,
			       y, m, d, gy, rd(&r, RTC_MONTH), rd(&r, RTC_DAY));
			bad++;
		}
		/* Written back as the guest would (the time then runs from it). */
		wr(&r, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_DM);
		wr(&r, RTC_SEC, 0);
		wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_DM);
		clk += 1 * S;
		rd(&r, RTC_SEC);
		if (r.secs != (int64_t)(days * 86400 + 45241)) {
			printf("    day %llu: set back to %lld\n", (unsigned long long)days, (long long)r.secs);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
}

TEST(set_freezes_and_writes)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	wr(&r, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE);
	CHECK_EQ(rd(&r, RTC_REG_B), RTC_B_SET | RTC_B_24H);     /* SET clears UIE */
	clk = 10 * S;
	CHECK_STR(regs(&r), "2023-11-14 22:13:20 dow3");        /* frozen */
	CHECK_EQ(rd(&r, RTC_REG_A) & RTC_A_UIP, 0);
	clk = 10 * S + 999756000;
	CHECK_EQ(rd(&r, RTC_REG_A) & RTC_A_UIP, 0);
	wr(&r, RTC_SEC, 0x05);
	wr(&r, RTC_MIN, 0x04);
	wr(&r, RTC_HOUR, 0x03);
	wr(&r, RTC_DAY, 0x02);
	wr(&r, RTC_MONTH, 0x01);
	wr(&r, RTC_YEAR, 0x30);
	clk = 20 * S;
	CHECK_EQ(rd(&r, RTC_SEC), 0x05);
	wr(&r, RTC_REG_B, RTC_B_24H);                   /* runs from the written time */
	CHECK_STR(regs(&r), "2030-01-02 03:04:05 dow4");
	clk = 21 * S - 1;
	CHECK_EQ(rd(&r, RTC_SEC), 0x05);
	clk = 21 * S;
	CHECK_EQ(rd(&r, RTC_SEC), 0x06);
	/* Writing a time register without SET: the clock goes on from it. */
	wr(&r, RTC_MIN, 0x59);
	clk = 22 * S + S / 2;
	CHECK_STR(regs(&r), "2030-01-02 03:59:07 dow4");
	/* Nonsense values are clamped, not trusted. */
	wr(&r, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	wr(&r, RTC_MONTH, 0x99);
	wr(&r, RTC_DAY, 0xff);
	wr(&r, RTC_HOUR, 0xff);
	wr(&r, RTC_REG_B, RTC_B_24H);
	CHECK_STR(regs(&r), "2030-12-31 23:59:07 dow3");
}

TEST(register_c_clears_and_lowers)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);
	wr(&r, RTC_REG_A, 0x20);                        /* no periodic rate */
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(vrtc_next_deadline(&r), 1 * S);
	clk = S;
	vrtc_update(&r);
	CHECK_EQ(l.n, 1);
	CHECK(l.irq == 8 && l.level);
	CHECK_EQ(vrtc_next_deadline(&r), NO_DEADLINE);  /* already asserted */
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	CHECK_EQ(l.n, 2);
	CHECK(!l.level);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	CHECK_EQ(l.n, 2);
	/* Writes to C and D are ignored. */
	wr(&r, RTC_REG_C, 0xff);
	wr(&r, RTC_REG_D, 0x00);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	CHECK_EQ(rd(&r, RTC_REG_D), RTC_D_VRT);
	/* A flag set while its interrupt was off raises IRQ 8 when enabled. */
	wr(&r, RTC_REG_B, RTC_B_24H);
	clk = 2 * S;
	vrtc_update(&r);
	CHECK_EQ(l.n, 2);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	CHECK_EQ(l.n, 3);
	CHECK(l.level);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	CHECK(!l.level);
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

TEST(periodic_1024hz)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_PIE);       /* A = 0x26: rate 6 */
	for (uint64_t k = 1; k <= 2000; k++) {
		uint64_t due = ceil_div(k * 32 * S, 32768);     /* k * 976562.5 ns */
		CHECK_EQ(vrtc_next_deadline(&r), due);
		clk = due - 1;
		vrtc_update(&r);
		CHECK(!l.level);
		clk = due;
		vrtc_update(&r);
		CHECK(l.level);
		uint8_t c = rd(&r, RTC_REG_C);
		CHECK_EQ(c & (RTC_C_IRQF | RTC_C_PF), RTC_C_IRQF | RTC_C_PF);
		CHECK(!l.level);
		if (check_cur_failed)
			break;
	}
	CHECK_EQ(r.pf_coalesced, 0);
	/* Missed periods: one flag. */
	clk += 10 * 976563;
	vrtc_update(&r);
	CHECK_EQ(r.pf_coalesced, 9);
}

TEST(periodic_2hz)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 7 * S);
	wr(&r, RTC_REG_A, 0x2f);                        /* rate 15 */
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	CHECK_EQ(vrtc_next_deadline(&r), 7 * S + S / 2);
	clk = 7 * S + S / 2 - 1;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_PF, 0);
	clk = 7 * S + S / 2;
	vrtc_update(&r);
	CHECK(l.level);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
	CHECK_EQ(vrtc_next_deadline(&r), 8 * S);
	/* Rate 0 stops it; so does another divider. */
	wr(&r, RTC_REG_A, 0x20);
	CHECK_EQ(vrtc_next_deadline(&r), NO_DEADLINE);
	clk = 20 * S;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_PF, 0);
	wr(&r, RTC_REG_A, 0x0f);                        /* 4.194304 MHz time base */
	clk = 30 * S;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_PF, 0);
	/* Rates 1, 2 are 256 and 128 Hz. */
	wr(&r, RTC_REG_A, 0x21);
	CHECK_EQ(vrtc_next_deadline(&r), 30 * S + S / 256);
	wr(&r, RTC_REG_A, 0x22);
	CHECK_EQ(vrtc_next_deadline(&r), 30 * S + S / 128);
}

TEST(update_interrupt_each_second)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 123);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	for (unsigned k = 1; k <= 5; k++) {
		CHECK_EQ(vrtc_next_deadline(&r), 123 + k * S);
		clk = 123 + k * S - 1;
		vrtc_update(&r);
		CHECK(!l.level);
		clk = 123 + k * S;
		vrtc_update(&r);
		CHECK(l.level);
		CHECK_EQ(rd(&r, RTC_SEC), 0x20 + k);
		CHECK_EQ(rd(&r, RTC_REG_C) & (RTC_C_IRQF | RTC_C_UF | RTC_C_AF), RTC_C_IRQF | RTC_C_UF);
	}
	CHECK_EQ(r.updates, 5);
	CHECK_EQ(l.n, 10);
}

TEST(alarm_dont_care)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);                   /* 22:13:20 */
	wr(&r, RTC_REG_A, 0x20);                        /* no periodic flags */
	wr(&r, RTC_SEC_ALARM, 0x30);
	wr(&r, RTC_MIN_ALARM, 0xc0);                    /* any minute */
	wr(&r, RTC_HOUR_ALARM, 0xff);                   /* any hour */
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	clk = 9 * S;
	vrtc_update(&r);
	CHECK(!l.level);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_C_UF);          /* UF is set whether enabled or not */
	clk = 10 * S;
	vrtc_update(&r);
	CHECK(l.level);
	CHECK(vrtc_take_alarm(&r));                     /* the chipset's RTC_STS event */
	CHECK(!vrtc_take_alarm(&r));                    /* taken once */
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	clk = 69 * S;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_AF, 0);
	/* Missed while not looking: 22:14:30 passed. */
	clk = 75 * S;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_AF, RTC_C_AF);
	/* An exact alarm in 12-hour mode: 10:15:00 PM. */
	wr(&r, RTC_REG_B, RTC_B_AIE);
	wr(&r, RTC_SEC_ALARM, 0x00);
	wr(&r, RTC_MIN_ALARM, 0x15);
	wr(&r, RTC_HOUR_ALARM, 0x80 | 0x10);
	rd(&r, RTC_REG_C);
	clk = 99 * S;                                   /* 22:14:59 */
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_AF, 0);
	clk = 100 * S;
	vrtc_update(&r);
	CHECK(l.level);
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_AF, RTC_C_AF);
	CHECK(vrtc_take_alarm(&r));
	/* Without AIE the alarm sets AF but asserts nothing: no event. */
	wr(&r, RTC_REG_B, 0);
	clk += 86400 * S;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_AF, RTC_C_AF);
	CHECK(!vrtc_take_alarm(&r));
	wr(&r, RTC_REG_B, RTC_B_AIE);
	/* 10:15 AM does not match: a day minus 12 hours later, plus a bit. */
	clk = 100 * S + 12ULL * 3600 * S;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_AF, 0);
	/* Many days unobserved still see it. */
	clk += 40ULL * 86400 * S;
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_C_AF, RTC_C_AF);
}

TEST(uip_window)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);
	clk = S - VRTC_UIP_NS - 1;
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
	CHECK_EQ(rd(&r, RTC_SEC), 0x20);
	clk = S - VRTC_UIP_NS;
	CHECK_EQ(rd(&r, RTC_REG_A), 0x80 | 0x26);
	clk = S - 1;
	CHECK_EQ(rd(&r, RTC_REG_A), 0x80 | 0x26);
	CHECK_EQ(rd(&r, RTC_SEC), 0x20);
	clk = S;
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
	CHECK_EQ(rd(&r, RTC_SEC), 0x21);
	/* A guest polling for UIP sees it rise within a second (bounded loop). */
	unsigned polls = 0;
	while (!(rd(&r, RTC_REG_A) & RTC_A_UIP) && polls < 100000) {
		clk += 100000;
		polls++;
	}
	CHECK(polls > 0 && polls < 100000);
	CHECK(clk >= 2 * S - VRTC_UIP_NS && clk < 2 * S);
	/* UIP is read-only. */
	wr(&r, RTC_REG_A, 0xa6);
	clk = S * 5 / 2;
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
}

TEST(divider_reset)
{
	struct vrtc r;
	struct irqlog l;

	setup(&r, &l, 1700000000, 0);
	clk = S / 4;
	wr(&r, RTC_REG_A, 0x70);                        /* divider held in reset */
	clk = 50 * S;
	CHECK_EQ(rd(&r, RTC_SEC), 0x20);
	CHECK_EQ(rd(&r, RTC_REG_A), 0x70);
	wr(&r, RTC_REG_A, 0x26);                        /* first update 0.5 s later */
	clk = 50 * S + S / 2 - 1;
	CHECK_EQ(rd(&r, RTC_SEC), 0x20);
	clk = 50 * S + S / 2;
	CHECK_EQ(rd(&r, RTC_SEC), 0x21);
	/* The periodic phase restarts with the divider too. */
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	CHECK(l.level);                                 /* PF from the first 0.5 s */
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_UF);
	CHECK_EQ(vrtc_next_deadline(&r), 50 * S + ceil_div((16384 + 32) * S, 32768));
}

TEST(cmos_memory_sizes)
{
	struct vrtc r;
	struct irqlog l;

	memset(&l, 0, sizeof(l));
	vrtc_init(&r, 0, 512 * MiB, 0, fake_irq, &l, fake_now, NULL);
	CHECK_EQ(rd(&r, 0x15) | rd(&r, 0x16) << 8, 640);
	CHECK_EQ(rd(&r, 0x17) | rd(&r, 0x18) << 8, 0xffff);     /* 511 MiB in KiB, saturated */
	CHECK_EQ(rd(&r, 0x30) | rd(&r, 0x31) << 8, 0xffff);
	CHECK_EQ(rd(&r, 0x34) | rd(&r, 0x35) << 8, (512 - 16) * 16);
	CHECK_EQ(rd(&r, 0x5b) | rd(&r, 0x5c) << 8 | rd(&r, 0x5d) << 16, 0);

	vrtc_init(&r, 0, 3 * GiB, 3 * GiB, fake_irq, &l, fake_now, NULL);       /* 6 GiB */
	CHECK_EQ(rd(&r, 0x15) | rd(&r, 0x16) << 8, 640);
	CHECK_EQ(rd(&r, 0x17) | rd(&r, 0x18) << 8, 0xffff);
	CHECK_EQ(rd(&r, 0x34) | rd(&r, 0x35) << 8, (3072 - 16) * 16);
	CHECK_EQ(rd(&r, 0x5b), 0x00);
	CHECK_EQ(rd(&r, 0x5c), 0xc0);                   /* 3 GiB / 64 KiB = 0xc000 */
	CHECK_EQ(rd(&r, 0x5d), 0x00);

	vrtc_init(&r, 0, 3 * GiB, 61 * GiB, fake_irq, &l, fake_now, NULL);      /* 64 GiB */
	CHECK_EQ(rd(&r, 0x5b) | rd(&r, 0x5c) << 8 | rd(&r, 0x5d) << 16, 61 * 16384);
	vrtc_init(&r, 0, 3 * GiB, 1024 * GiB, fake_irq, &l, fake_now, NULL);    /* saturated */
	CHECK_EQ(rd(&r, 0x5b) | rd(&r, 0x5c) << 8 | rd(&r, 0x5d) << 16, 0xffffff);

	vrtc_init(&r, 0, 16 * MiB, 0, fake_irq, &l, fake_now, NULL);
	CHECK_EQ(rd(&r, 0x17) | rd(&r, 0x18) << 8, 15 * 1024);
	CHECK_EQ(rd(&r, 0x34) | rd(&r, 0x35) << 8, 0);
}

TEST(index_port_and_ram)
{
	struct vrtc r;
	struct irqlog l;
	uint32_t v;

	setup(&r, &l, 1700000000, 0);
	CHECK(!vrtc_nmi_masked(&r));
	v = 0x80 | RTC_REG_A;                           /* Linux's CMOS_READ keeps NMIs off so */
	CHECK_EQ(vrtc_pio(&r, false, 0x70, 1, &v), 0);
	CHECK(vrtc_nmi_masked(&r));
	v = 0;
	CHECK_EQ(vrtc_pio(&r, true, 0x70, 1, &v), 0);
	CHECK_EQ(v, 0x8a);
	CHECK_EQ(vrtc_pio(&r, true, 0x71, 1, &v), 0);
	CHECK_EQ(v, 0x26);                              /* bit 7 is not part of the index */
	v = 0x40;
	CHECK_EQ(vrtc_pio(&r, false, 0x70, 1, &v), 0);
	CHECK(!vrtc_nmi_masked(&r));
	wr(&r, 0x40, 0x5a);
	wr(&r, 0x7f, 0xa5);
	CHECK_EQ(rd(&r, 0x40), 0x5a);
	CHECK_EQ(rd(&r, 0x7f), 0xa5);
	CHECK_EQ(vrtc_pio(&r, true, 0x72, 1, &v), IOBUS_EINVAL);
	CHECK_EQ(vrtc_pio(&r, false, 0x6f, 1, &v), IOBUS_EINVAL);
}

int main(void)
{
	check_start("vrtc");
	RUN(time_bcd_and_binary);
	RUN(twelve_hour_mode);
	RUN(date_rollover);
	RUN(calendar_against_naive);
	RUN(set_freezes_and_writes);
	RUN(register_c_clears_and_lowers);
	RUN(periodic_1024hz);
	RUN(periodic_2hz);
	RUN(update_interrupt_each_second);
	RUN(alarm_dont_care);
	RUN(uip_window);
	RUN(divider_reset);
	RUN(cmos_memory_sizes);
	RUN(index_port_and_ram);
	return check_finish();
}
