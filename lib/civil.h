/*
 * Calendar arithmetic, header-only and freestanding (the test guests use
 * it too): days since 1970-01-01 of a proleptic Gregorian date, by
 * H. Hinnant's "days_from_civil" method (eras of 400 years).
 */
#ifndef KASANE_LIB_CIVIL_H
#define KASANE_LIB_CIVIL_H

#include <stdint.h>

static inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

#endif
