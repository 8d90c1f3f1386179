/*
 * The TSC as the guests' clock, calibrated against PIT channel 2 the way
 * PC operating systems do: channel 2 in mode 0 (interrupt on terminal
 * count) counts down a known number of 1.193182 MHz ticks while the TSC
 * is read; its output is visible in bit 5 of port 0x61, its gate is bit 0
 * (Intel 8254 data sheet, mode 0; IBM PC/AT technical reference, port B).
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
#define CAL_RUNS        3
#define CAL_MAX_TSC     (1ull << 36)    /* ~20 s at 3 GHz: the PIT is dead */

uint64_t tsc_khz;

/* TSC ticks for one CAL_MS window, or 0 if OUT2 does not rise. */
static uint64_t calibrate_once(void)
{
	outb(PORT_B, (inb(PORT_B) & ~PORTB_SPKR) | PORTB_GATE2);
	outb(PIT_CTRL, 0xb0);           /* channel 2, LSB then MSB, mode 0, binary */
	outb(PIT_CH2, CAL_LATCH & 0xff);
	outb(PIT_CH2, CAL_LATCH >> 8);  /* counting starts: OUT2 low until 0 */
	uint64_t t0 = rdtsc(), t;
	do {
		t = rdtsc();
		if (t - t0 > CAL_MAX_TSC)
			return 0;
	} while (!(inb(PORT_B) & PORTB_OUT2));
	return t - t0;
}

bool time_init(void)
{
	uint64_t best = 0;

	for (int i = 0; i < CAL_RUNS; i++) {
		uint64_t d = calibrate_once();
		if (!d) {
			guest_error("PIT channel 2 output (port 0x61 bit 5) never rose");
			return false;
		}
		/* The shortest window is the one least disturbed by preemption. */
		if (!best || d < best)
			best = d;
	}
	tsc_khz = best / CAL_MS;
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
