/* Little-endian field readers and the 8-bit checksum, for host tests that
 * parse firmware tables written into a fake guest RAM. */
#ifndef KASANE_TEST_UNIT_BYTES_H
#define KASANE_TEST_UNIT_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The sum of n bytes, mod 256: 0 for a table with a valid checksum. */
static inline uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

#endif
