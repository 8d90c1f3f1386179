/*
 * Emulated MC146818A RTC and CMOS RAM; see vrtc.h.  "Data sheet" is the
 * Motorola MC146818A data sheet; register and bit names are its own.
 */
#include "devices/vrtc.h"
#include "devices/devsnap.h"
#include "devices/iobus.h"
#include "devices/irq.h"
#include "lib/string.h"

#define NS_PER_S        1000000000ULL
#define SECS_PER_DAY    86400
#define DIV_HZ          32768ULL        /* the 32.768 kHz time base */

/* ---- calendar --------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return a % b < 0 ? q - 1 : q;
}

/*
 * Days from 1 March of year -400 to y-m-d, proleptic Gregorian.  Years are
 * taken to start on 1 March, so that a leap day is the last day of its
 * year, and counted from -400 so that all is non-negative for y >= -400.
 * Month lengths from March repeat 31 30 31 30 31 in two runs of five,
 * which (153 * month + 2) / 5 sums.  After H. Hinnant, "chrono-compatible
 * low-level date algorithms".
 */
static int64_t civil_days(int64_t y, unsigned m, unsigned d)
{
	if (m <= 2)
		y--;
	int64_t yy = y + 400;
	int64_t doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
	return yy * 365 + yy / 4 - yy / 100 + yy / 400 + doy;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	return civil_days(y, m, d) - civil_days(1970, 1, 1);
}

/* The inverse, for days >= days_from_civil(-400, 3, 1). */
static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + civil_days(1970, 1, 1);
	int64_t era = z / 146097, doe = z % 146097;     /* 400 years are 146097 days */
	/* Year of era: undo the leap days of every 4th, 100th and 400th year. */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (unsigned)((5 * doy + 2) / 153);  /* March = 0 */

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = era * 400 + yoe - 400 + (*m <= 2);
}

/* The clock's range: 0000-01-01 00:00:00 to 9999-12-31 23:59:59. */
static int64_t secs_min(void)
{
	return days_from_civil(0, 1, 1) * SECS_PER_DAY;
}

static int64_t secs_max(void)
{
	return days_from_civil(10000, 1, 1) * SECS_PER_DAY - 1;
}

/* ---- register formats ----------------------------------------------------- */

static uint8_t to_reg(const struct vrtc *r, unsigned v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_DM)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned from_reg(const struct vrtc *r, uint8_t v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_DM)
		return v;
	return (v >> 4) * 10u + (v & 0xfu);
}

/* Hours 0-23 as the hours register shows them: 12-hour mode is 1-12 with bit 7 for PM. */
static uint8_t hour_to_reg(const struct vrtc *r, unsigned h)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return to_reg(r, h);
	return (uint8_t)(to_reg(r, h % 12 ? h % 12 : 12) | (h >= 12 ? RTC_HOUR_PM : 0));
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Registers 0-9 and the century from r->secs. */
static void render(struct vrtc *r)
{
	int64_t days = floor_div(r->secs, SECS_PER_DAY), y;
	unsigned sod = (unsigned)(r->secs - days * SECS_PER_DAY), m, d;

	civil_from_days(days, &y, &m, &d);
	r->cmos[RTC_SEC] = to_reg(r, sod % 60);
	r->cmos[RTC_MIN] = to_reg(r, sod / 60 % 60);
	r->cmos[RTC_HOUR] = hour_to_reg(r, sod / 3600);
	r->cmos[RTC_DOW] = to_reg(r, (unsigned)((days % 7 + 11) % 7 + 1));    /* 1970-01-01: Thursday, 5 */
	r->cmos[RTC_DAY] = to_reg(r, d);
	r->cmos[RTC_MONTH] = to_reg(r, m);
	r->cmos[RTC_YEAR] = to_reg(r, (unsigned)(y % 100));
	r->cmos[RTC_CENTURY] = to_reg(r, (unsigned)(y / 100 % 100));
}

/* The time registers 0-9 and the century hold, as seconds since 1970. */
static int64_t parse(const struct vrtc *r)
{
	const uint8_t *c = r->cmos;
	unsigned s = clamp(from_reg(r, c[RTC_SEC]), 0, 59);
	unsigned mi = clamp(from_reg(r, c[RTC_MIN]), 0, 59);
	unsigned h;

	if (r->cmos[RTC_REG_B] & RTC_B_24H) {
		h = clamp(from_reg(r, c[RTC_HOUR]), 0, 23);
	} else {
		h = clamp(from_reg(r, c[RTC_HOUR] & ~RTC_HOUR_PM), 1, 12) % 12;
		if (c[RTC_HOUR] & RTC_HOUR_PM)
			h += 12;
	}
	unsigned d = clamp(from_reg(r, c[RTC_DAY]), 1, 31);
	unsigned m = clamp(from_reg(r, c[RTC_MONTH]), 1, 12);
	unsigned y = clamp(from_reg(r, c[RTC_YEAR]), 0, 99) +
		     100 * clamp(from_reg(r, c[RTC_CENTURY]), 0, 99);
	/* A day past the month's end runs on into the next month. */
	return days_from_civil(y, m, d) * SECS_PER_DAY + h * 3600 + mi * 60 + s;
}

/* ---- update cycle, alarm, periodic interrupt ----------------------------- */

/* Time and calendar advance (data sheet: SET stops updates; DV 11x holds the divider in reset). */
static bool clock_running(const struct vrtc *r)
{
	return !(r->cmos[RTC_REG_B] & RTC_B_SET) && (r->cmos[RTC_REG_A] & RTC_A_DV) <= RTC_A_DV_32K;
}

static bool divider_running(uint8_t reg_a)
{
	return (reg_a & RTC_A_DV) <= RTC_A_DV_32K;
}

/* Ticks of the periodic interrupt, in 32.768 kHz divider ticks; 0 when off. */
static uint64_t pf_period(const struct vrtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & RTC_A_RS;

	/* Data sheet, "Periodic Interrupt Rate" table, 32.768 kHz column. */
	if ((r->cmos[RTC_REG_A] & RTC_A_DV) != RTC_A_DV_32K || rs == 0)
		return 0;
	if (rs <= 2)
		return 64ULL << rs;                     /* 256 Hz, 128 Hz */
	return 1ULL << (rs - 1);                        /* 32768 >> (rs - 1) Hz */
}

static uint64_t div_ticks(const struct vrtc *r, uint64_t now)
{
	uint64_t d = now > r->div_base ? now - r->div_base : 0;
	return d / NS_PER_S * DIV_HZ + d % NS_PER_S * DIV_HZ / NS_PER_S;
}

/* The first ns at which div_ticks() reaches t. */
static uint64_t div_ticks_to_ns(const struct vrtc *r, uint64_t t)
{
	uint64_t s = t / DIV_HZ;

	if (s + 1 >= (UINT64_MAX - r->div_base) / NS_PER_S)
		return NO_DEADLINE;
	return r->div_base + s * NS_PER_S + (t % DIV_HZ * NS_PER_S + DIV_HZ - 1) / DIV_HZ;
}

/* An alarm byte of 11xxxxxx matches any value (data sheet, "Alarm"). */
static bool alarm_field(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;
}

static bool alarm_at(const struct vrtc *r, int64_t secs)
{
	unsigned sod = (unsigned)(secs - floor_div(secs, SECS_PER_DAY) * SECS_PER_DAY);

	return alarm_field(r->cmos[RTC_SEC_ALARM], to_reg(r, sod % 60)) &&
	       alarm_field(r->cmos[RTC_MIN_ALARM], to_reg(r, sod / 60 % 60)) &&
	       alarm_field(r->cmos[RTC_HOUR_ALARM], hour_to_reg(r, sod / 3600));
}

/*
 * Whether one of the times in (from, from + k] matches the alarm.  A day
 * holds every time of day, so at most the last 86400 are looked at; each
 * is looked at once over the life of the VM.
 */
static bool alarm_between(const struct vrtc *r, int64_t from, uint64_t k)
{
	uint64_t i = k > SECS_PER_DAY ? k - SECS_PER_DAY : 0;

	while (i++ < k)
		if (alarm_at(r, from + (int64_t)i))
			return true;
	return false;
}

static bool irqf(const struct vrtc *r)
{
	/* PF, AF, UF sit at the bit positions of PIE, AIE, UIE. */
	return r->cmos[RTC_REG_C] & r->cmos[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
}

/* Run the clock and the divider up to now, setting flags.  Lock held. */
static void rtc_sync(struct vrtc *r, uint64_t now)
{
	if (clock_running(r)) {
		if (now >= r->next_update) {
			uint64_t k = (now - r->next_update) / NS_PER_S + 1;
			int64_t from = r->secs;
			r->next_update += k * NS_PER_S;
			r->secs += (int64_t)k;
			if (r->secs > secs_max())
				r->secs = secs_min();   /* past 9999: round to year 0 */
			r->updates += k;
			r->cmos[RTC_REG_C] |= RTC_C_UF;
			if (alarm_between(r, from, k)) {
				if (!(r->cmos[RTC_REG_C] & RTC_C_AF) &&
				    (r->cmos[RTC_REG_B] & RTC_B_AIE))
					r->alarm_event = true;
				r->cmos[RTC_REG_C] |= RTC_C_AF;
			}
		}
		render(r);
	}
	uint64_t t = div_ticks(r, now), p = pf_period(r);
	if (p && t / p > r->pf_done / p) {
		uint64_t n = t / p - r->pf_done / p;
		bool was = r->cmos[RTC_REG_C] & RTC_C_PF;
		r->cmos[RTC_REG_C] |= RTC_C_PF;
		if (r->cmos[RTC_REG_B] & RTC_B_PIE)
			r->pf_coalesced += was ? n : n - 1;
	}
	r->pf_done = t;
	r->irq_want = irqf(r);
}

/* ---- registers -------------------------------------------------------------- */

static uint8_t reg_read(struct vrtc *r, unsigned idx, uint64_t now)
{
	uint8_t v;

	switch (idx) {
	case RTC_REG_A:
		v = r->cmos[RTC_REG_A];
		if (clock_running(r) && now + VRTC_UIP_NS >= r->next_update)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		/* Reading C clears it, and IRQF with it. */
		v = r->cmos[RTC_REG_C] | (irqf(r) ? RTC_C_IRQF : 0);
		r->cmos[RTC_REG_C] = 0;
		r->irq_want = false;
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;               /* the battery is always good */
	default:
		return r->cmos[idx];
	}
}

static void reg_write(struct vrtc *r, unsigned idx, uint8_t v, uint64_t now)
{
	bool was_running = clock_running(r);
	uint8_t old_a = r->cmos[RTC_REG_A];

	switch (idx) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_DOW:
	case RTC_DAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		r->cmos[idx] = v;
		if (was_running)
			r->secs = parse(r);     /* the phase of the second is kept */
		break;
	case RTC_REG_A:
		r->cmos[idx] = v & ~RTC_A_UIP;  /* UIP is read-only */
		if (!divider_running(old_a) && divider_running(v)) {
			r->div_base = now;
			r->pf_done = 0;
		} else {
			r->pf_done = div_ticks(r, now);
		}
		break;
	case RTC_REG_B:
		/* Register B, UIE: "the SET bit going high clears the UIE bit". */
		if (v & RTC_B_SET)
			v &= (uint8_t)~RTC_B_UIE;
		r->cmos[idx] = v;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;                          /* read-only */
	default:
		r->cmos[idx] = v;
		break;
	}
	if (clock_running(r)) {
		if (!was_running) {
			/* The first update comes 0.5 s after the divider restarts, 1 s after SET clears. */
			r->secs = parse(r);
			r->next_update = now + (idx == RTC_REG_A ? NS_PER_S / 2 : NS_PER_S);
		}
		render(r);
	}
	r->irq_want = irqf(r);
}

/* Bring IRQ 8 to IRQF.  irq_lock keeps concurrent callers' calls in order.  Without r->lock. */
static void irq_flush(struct vrtc *r)
{
	spin_lock(&r->irq_lock);
	spin_lock(&r->lock);
	bool want = r->irq_want;
	spin_unlock(&r->lock);
	if (want != r->irq_sent) {
		r->set_irq(r->vm, VRTC_IRQ, want);
		r->irq_sent = want;
	}
	spin_unlock(&r->irq_lock);
}

/* Little-endian, saturated to `bytes` bytes. */
static void cmos_put(struct vrtc *r, unsigned idx, uint64_t v, unsigned bytes)
{
	uint64_t max = (1ULL << (8 * bytes)) - 1;

	v = MIN(v, max);
	for (unsigned i = 0; i < bytes; i++)
		r->cmos[idx + i] = (uint8_t)(v >> (8 * i));
}

void vrtc_init(struct vrtc *r, uint64_t epoch_seconds, uint64_t ram_below_4g, uint64_t ram_above_4g,
	       void (*set_irq)(void *vm, unsigned irq, bool level), void *vm,
	       uint64_t (*now)(void *ctx), void *now_ctx)
{
	memset(r, 0, sizeof(*r));
	r->set_irq = set_irq;
	r->vm = vm;
	r->now = now;
	r->now_ctx = now_ctx;
	r->cmos[RTC_REG_A] = RTC_A_DV_32K | 6;
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->secs = epoch_seconds > (uint64_t)secs_max() ? secs_max() : (int64_t)epoch_seconds;
	r->div_base = now(now_ctx);
	r->next_update = r->div_base + NS_PER_S;
	render(r);

	/* Memory sizes, in the layout of QEMU's pc_cmos_init(). */
	uint64_t ext = ram_below_4g > MiB ? (ram_below_4g - MiB) / KiB : 0;
	cmos_put(r, 0x15, MIN(ram_below_4g / KiB, 640), 2);            /* base memory, KiB */
	cmos_put(r, 0x17, ext, 2);                                      /* KiB above 1 MiB */
	cmos_put(r, 0x30, ext, 2);
	cmos_put(r, 0x34, ram_below_4g > 16 * MiB ? (ram_below_4g - 16 * MiB) / (64 * KiB) : 0, 2);
	cmos_put(r, 0x5b, ram_above_4g / (64 * KiB), 3);               /* 64 KiB above 4 GiB */
}

int vrtc_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct vrtc *r = dev;

	if (port != RTC_PORT_INDEX && port != RTC_PORT_DATA)
		return IOBUS_EINVAL;
	spin_lock(&r->lock);
	if (port == RTC_PORT_INDEX) {
		if (in)
			*val = r->index;
		else
			r->index = (uint8_t)*val;
	} else {
		uint64_t now = r->now(r->now_ctx);
		unsigned idx = r->index & (VRTC_CMOS_SIZE - 1);
		rtc_sync(r, now);
		if (in)
			*val = reg_read(r, idx, now);
		else
			reg_write(r, idx, (uint8_t)*val, now);
	}
	spin_unlock(&r->lock);
	if (port == RTC_PORT_DATA)
		irq_flush(r);
	return 0;
}

uint64_t vrtc_next_deadline(const struct vrtc *r)
{
	/* The lock is not part of the RTC's state: taking it keeps r logically const. */
	struct vrtc *w = (struct vrtc *)r;
	uint64_t d = NO_DEADLINE;

	spin_lock(&w->lock);
	uint8_t b = w->cmos[RTC_REG_B];
	if (!w->irq_want) {
		if (clock_running(w) && (b & (RTC_B_UIE | RTC_B_AIE)))
			d = w->next_update;
		uint64_t p = pf_period(w);
		if (p && (b & RTC_B_PIE))
			d = MIN(d, div_ticks_to_ns(w, (w->pf_done / p + 1) * p));
	}
	spin_unlock(&w->lock);
	return d;
}

void vrtc_update(struct vrtc *r)
{
	spin_lock(&r->lock);
	rtc_sync(r, r->now(r->now_ctx));
	spin_unlock(&r->lock);
	irq_flush(r);
}

bool vrtc_take_alarm(struct vrtc *r)
{
	spin_lock(&r->lock);
	bool a = r->alarm_event;
	r->alarm_event = false;
	spin_unlock(&r->lock);
	return a;
}

bool vrtc_nmi_masked(const struct vrtc *r)
{
	return __atomic_load_n(&r->index, __ATOMIC_RELAXED) & RTC_INDEX_NMI;
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

static const struct devsnap_field vrtc_wiring[] = {
	DEVSNAP_FIELD(struct vrtc, lock), DEVSNAP_FIELD(struct vrtc, irq_lock),
	DEVSNAP_FIELD(struct vrtc, set_irq), DEVSNAP_FIELD(struct vrtc, vm),
	DEVSNAP_FIELD(struct vrtc, now), DEVSNAP_FIELD(struct vrtc, now_ctx),
};
static const struct devsnap_desc vrtc_snap = {
	sizeof(struct vrtc), vrtc_wiring, ARRAY_SIZE(vrtc_wiring), NULL
};

size_t vrtc_save(const struct vrtc *d, void *buf, size_t len)
{
	return devsnap_save(&vrtc_snap, d, buf, len);
}

bool vrtc_load(struct vrtc *d, const void *buf, size_t len)
{
	struct vrtc s;

	return devsnap_load(&vrtc_snap, d, &s, buf, len);
}
