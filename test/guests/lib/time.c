/*
 * The TSC as the guests' clock, calibrated against PIT channel 2 the way
 * PC operating systems do: channel 2 in mode 0 (interrupt on terminal
 * count) counts down a known number of 1.193182 MHz ticks while the TSC
 * is read; its output is visible in bit 5 of port 0x61, its gate is bit 0
 * (Intel 8254 data sheet, mode 0; IBM PC/AT technical reference, port B).
 * Each run bounds the window's length from below and above whatever held
 * the vCPU up; the runs narrow the bounds until they agree to 0.5 %, or
 * else the lower bound is taken, so the result holds however busy the
 * host is.
 */
#include "test/guests/lib/pc.h"

#define PIT_CH2         0x42
#define PIT_CTRL        0x43
#define PORT_B          0x61
#define PORTB_GATE2     0x01
#define PORTB_SPKR      0x02
#define PORTB_OUT2      0x20
#define CAL_MS          10
#define CAL_LATCH       (PIT_HZ * CAL_MS / 1000)
#define CAL_RUNS        20
#define CAL_PRECISION   200             /* done when known to 1/200 of the window */
#define CAL_MAX_TSC     (1ull << 36)    /* ~20 s at 3 GHz: the PIT is dead */

uint64_t tsc_khz;

/*
 * One CAL_MS window.  Each port access is a VM exit, and the vCPU may be
 * held up anywhere, so the window's start (the second counter write) and
 * its end (OUT2 rising between two reads) are each known only between two
 * TSC readings: the window lasted between *lo and *hi TSC ticks, however
 * long the vCPU was held up.  False if OUT2 never rises.
 */
static bool calibrate_once(uint64_t *lo, uint64_t *hi)
{
	outb(PORT_B, (inb(PORT_B) & ~PORTB_SPKR) | PORTB_GATE2);
	outb(PIT_CTRL, 0xb0);           /* channel 2, LSB then MSB, mode 0, binary */
	outb(PIT_CH2, CAL_LATCH & 0xff);
	uint64_t s0 = rdtsc();
	outb(PIT_CH2, CAL_LATCH >> 8);  /* counting starts: OUT2 low until 0 */
	uint64_t s1 = rdtsc(), e0 = s1, e1;

	for (;;) {
		uint64_t before = rdtsc();
		bool high = inb(PORT_B) & PORTB_OUT2;
		e1 = rdtsc();
		if (high)
			break;
		e0 = before;            /* still low when read after this */
		if (e1 - s0 > CAL_MAX_TSC)
			return false;
	}
	*lo = e0 - s1;
	*hi = e1 - s0;
	return true;
}

bool time_init(void)
{
	uint64_t lo = 0, hi = 0;

	/* Every run's bounds hold the true length: narrow them down. */
	for (int i = 0; i < CAL_RUNS && (i == 0 || (hi - lo) * CAL_PRECISION > hi); i++) {
		uint64_t l, h;
		if (!calibrate_once(&l, &h)) {
			guest_error("PIT channel 2 output (port 0x61 bit 5) never rose");
			return false;
		}
		if (i == 0 || l > lo)
			lo = l;
		if (i == 0 || h < hi)
			hi = h;
		if (lo > hi) {
			guest_error("TSC calibration: PIT windows disagree (%lu..%lu TSC ticks)", hi, lo);
			return false;
		}
	}
	/* Bounds that never agreed (a vCPU that time-shares its CPU is held
	 * up inside most windows) give their lower one: held-up reads only
	 * stretch the upper bound, and a clock taken as slightly slow makes
	 * a "not faster than" check err on the safe side. */
	if ((hi - lo) * CAL_PRECISION > hi)
		tsc_khz = lo / CAL_MS;
	else
		tsc_khz = (lo + hi) / 2 / CAL_MS;
	if (!tsc_khz) {
		guest_error("TSC does not advance during a %d ms PIT window", CAL_MS);
		return false;
	}
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
