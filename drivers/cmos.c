/*
 * The physical machine's CMOS real-time clock, read once at boot to give
 * guests' virtual RTCs the wall-clock time (Motorola MC146818A data sheet:
 * registers 0,2,4,7,8,9 and 0x32 century; register A bit 7 UIP; register B
 * bit 2 binary, bit 1 24-hour).
 */
#include "drivers/cmos.h"
#include "arch/x86/cpu.h"
#include "lib/civil.h"

uint64_t boot_epoch_seconds;

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);        /* bit 7 clear: NMI stays enabled */
	return inb(0x71);
}

static unsigned from_bcd(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

void cmos_read_time(void)
{
	uint8_t s, mi, h, d, mo, y, c, b;

	/* Wait (bounded) for no update in progress, then read twice until stable. */
	for (int tries = 0; tries < 5; tries++) {
		for (int i = 0; i < 100000 && (cmos_read(0x0a) & 0x80); i++)
			cpu_relax();
		s = cmos_read(0); mi = cmos_read(2); h = cmos_read(4);
		d = cmos_read(7); mo = cmos_read(8); y = cmos_read(9); c = cmos_read(0x32);
		if (s == cmos_read(0) && mi == cmos_read(2) && h == cmos_read(4))
			break;
	}
	b = cmos_read(0x0b);
	bool bin = b & 0x04, h24 = b & 0x02;
	unsigned hour = from_bcd(h & 0x7f, bin);
	if (!h24) {
		hour %= 12;
		if (h & 0x80)
			hour += 12;
	}
	unsigned year = from_bcd(y, bin);
	unsigned century = from_bcd(c, bin);
	year += (century >= 19 && century <= 30) ? century * 100 : (year < 70 ? 2000 : 1900);
	unsigned month = from_bcd(mo, bin), day = from_bcd(d, bin);
	if (month < 1 || month > 12 || day < 1 || day > 31) {
		boot_epoch_seconds = 0;         /* a broken clock: start at 1970 */
		return;
	}
	boot_epoch_seconds = (uint64_t)days_from_civil(year, month, day) * 86400 +
			     hour * 3600 + from_bcd(mi, bin) * 60 + from_bcd(s, bin);
}
