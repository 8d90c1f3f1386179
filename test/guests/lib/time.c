/*
 * The TSC as the guests' clock, calibrated against PIT channel 2 the way
 * PC operating systems do.  Channel 2 counts down from 0xffff in mode 0
 * (Intel 8254 data sheet, mode 0), its gate on through bit 0 of port 0x61
 * (IBM PC/AT technical reference, port B).  The read-back command latches
 * its count and status together ("Read-Back Command": the status byte's
 * bit 7 is OUT, bit 6 NULL COUNT), between two TSC reads.
 *
 * Two such readings a few tens of ms apart, both before the count ran
 * out, say how many PIT ticks passed between two moments each known to
 * within one port write: the TSC's rate lies between two bounds, however
 * long the vCPU was held up between the readings.  Only a hold inside a
 * reading's own port write widens them (each run of readings keeps its
 * narrowest pair), so this holds on a host as busy as a time-shared vCPU
 * of a loaded CI machine, where a window timed by OUT2 rising was seldom
 * free of a hold (a 10 ms window is as long as a scheduler slice).
 */
#include "test/guests/lib/pc.h"

#define PIT_CH2         0x42
#define PIT_CTRL        0x43
#define PORT_B          0x61
#define PORTB_GATE2     0x01
#define PORTB_SPKR      0x02
#define PIT_RB_CH2      0xc8            /* read-back: latch count and status of counter 2 */
#define PIT_ST_OUT      0x80
#define PIT_ST_NULL     0x40
#define CAL_START       0xffff          /* ~54.9 ms */
#define CAL_END         (PIT_HZ / 500)  /* stop reading with 2 ms left */
#define CAL_MIN_TICKS   (PIT_HZ / 100)  /* a pair at least 10 ms apart */
#define CAL_RUNS        8
#define CAL_PRECISION   200             /* done when known to 1/200 */
#define CAL_MAX_TSC     (1ull << 36)    /* ~20 s at 3 GHz: the PIT is dead */

uint64_t tsc_khz;

struct pit_reading {
	uint64_t t0, t1;                /* the latch happened between these TSC reads */
	uint16_t count;
	uint8_t status;
};

static void pit_read(struct pit_reading *r)
{
	r->t0 = rdtsc();
	outb(PIT_CTRL, PIT_RB_CH2);
	r->t1 = rdtsc();
	r->status = inb(PIT_CH2);       /* status first, then LSB, MSB */
	r->count = inb(PIT_CH2);
	r->count |= (uint16_t)(inb(PIT_CH2) << 8);
}

/*
 * One countdown of channel 2.  Narrows [*lo, *hi], bounds on the TSC's
 * rate in kHz, with every pair of a first reading and a later one taken
 * while the count still ran (OUT low, count loaded) and at least
 * CAL_MIN_TICKS apart.  False if the count never moves.
 */
static bool calibrate_once(uint64_t *lo, uint64_t *hi)
{
	struct pit_reading a, r;
	uint64_t begin = rdtsc();
	bool have_a = false;

	outb(PORT_B, (inb(PORT_B) & ~PORTB_SPKR) | PORTB_GATE2);
	outb(PIT_CTRL, 0xb0);           /* channel 2, LSB then MSB, mode 0, binary */
	outb(PIT_CH2, CAL_START & 0xff);
	outb(PIT_CH2, CAL_START >> 8);  /* counting starts: OUT low until 0 */
	for (;;) {
		pit_read(&r);
		if (r.t1 - begin > CAL_MAX_TSC)
			return false;
		if (r.status & PIT_ST_NULL)
			continue;       /* the count is not loaded yet */
		if (r.status & PIT_ST_OUT)
			return true;    /* ran out: this countdown is done */
		if (!have_a) {
			a = r;
			have_a = true;
			continue;
		}
		/* ticks passed between the latches: the counts' difference, give
		 * or take the one tick each latch may lie inside. */
		uint32_t d = a.count > r.count ? a.count - r.count : 0;
		if (d >= CAL_MIN_TICKS) {
			uint64_t l = (r.t0 - a.t1) * PIT_HZ / (d + 1) / 1000;
			uint64_t h = (r.t1 - a.t0) * PIT_HZ / (d - 1) / 1000 + 1;
			if (l > *lo)
				*lo = l;
			if (h < *hi)
				*hi = h;
		}
		if (r.count < CAL_END)
			return true;
	}
}

bool time_init(void)
{
	uint64_t lo = 0, hi = UINT64_MAX;

	for (int i = 0; i < CAL_RUNS && (hi == UINT64_MAX || (hi - lo) * CAL_PRECISION > hi); i++) {
		if (!calibrate_once(&lo, &hi)) {
			guest_error("PIT channel 2 does not count down (read-back of port 0x43)");
			return false;
		}
		if (lo > hi) {
			guest_error("TSC calibration: PIT readings disagree (%lu..%lu kHz)", lo, hi);
			return false;
		}
	}
	if (hi == UINT64_MAX || !lo) {
		guest_error("TSC calibration: no two PIT readings 10 ms apart in %d countdowns", CAL_RUNS);
		return false;
	}
	tsc_khz = (lo + hi) / 2;
	if ((hi - lo) * CAL_PRECISION > hi)
		guest_printf("time: TSC %lu kHz, known only to %lu..%lu kHz\n", tsc_khz, lo, hi);
	return true;
}

uint64_t us_to_tsc(uint64_t us)
{
	return us * tsc_khz / 1000;
}

uint64_t tsc_to_us(uint64_t ticks)
{
	return tsc_khz ? ticks * 1000 / tsc_khz : 0;
}

void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us_to_tsc(us);

	while (rdtsc() < end)
		cpu_relax();
}
