/*
 * The few string functions the guests use.  The compiler may also emit
 * calls to memcpy/memset/memmove/memcmp itself, so these must exist.
 */
#include "test/guests/lib/guest.h"

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;

	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++)
		if (*a != *b || !*a)
			return (uint8_t)*a - (uint8_t)*b;
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, SIZE_MAX);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool cmdline_get(const char *cmdline, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		while (is_space(*p))
			p++;
		const char *word = p;
		while (*p && !is_space(*p))
			p++;
		if ((size_t)(p - word) < klen || strncmp(word, key, klen))
			continue;
		const char *v = word + klen;
		if (v != p && *v != '=')
			continue;       /* "keyX": another word */
		if (v != p)
			v++;
		size_t n = 0;
		for (; v < p && n + 1 < len; v++)
			val[n++] = *v;
		if (len)
			val[n] = '\0';
		return true;
	}
	return false;
}

/* Parses digits at *s, advancing it; false on no digits or overflow. */
static bool parse_digits(const char **s, uint64_t *out)
{
	unsigned base = 10;
	const char *p = *s;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	const char *start = p;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		/* No 64-bit division: the 32-bit guests have no libgcc. */
		uint64_t lim = base == 16 ? UINT64_MAX >> 4 : 0x1999999999999999ull;
		if (v > lim || (base == 10 && v == lim && d > 5))
			return false;
		v = v * base + d;
	}
	if (p == start)
		return false;
	*s = p;
	*out = v;
	return true;
}

bool parse_u64(const char *s, uint64_t *out)
{
	return parse_digits(&s, out) && *s == '\0';
}

bool parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	unsigned shift = 0;

	if (!parse_digits(&s, &v))
		return false;
	switch (*s) {
	case 'K': case 'k': shift = 10; s++; break;
	case 'M': case 'm': shift = 20; s++; break;
	case 'G': case 'g': shift = 30; s++; break;
	}
	if (*s != '\0' || v > UINT64_MAX >> shift)
		return false;
	*out = v << shift;
	return true;
}
