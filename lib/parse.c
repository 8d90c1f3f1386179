/* Number and size parsing shared by the command line and config parsers. */
#include "lib/types.h"
#include "lib/string.h"

static int digit_value(char c, int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

bool parse_u64(const char *s, const char **end, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;
	const char *p = s;
	int d, n = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2], 16) >= 0) {
		base = 16;
		p += 2;
	}
	while ((d = digit_value(*p, base)) >= 0) {
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * base + d;
		p++;
		n++;
	}
	if (end)
		*end = p;
	if (n == 0)
		return false;
	*out = v;
	return true;
}

bool parse_size(const char *s, size_t len, uint64_t *out)
{
	char buf[32];
	const char *end;
	uint64_t v, mult = 1;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!parse_u64(buf, &end, &v))
		return false;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': mult = KiB; end++; break;
	case 'm': case 'M': mult = MiB; end++; break;
	case 'g': case 'G': mult = GiB; end++; break;
	case 't': case 'T': mult = 1024 * GiB; end++; break;
	default:
		return false;
	}
	if (*end == 'i' && end[1] == 'B')   /* accept "MiB" */
		end += 2;
	else if (*end == 'B' && mult != 1)  /* and "MB" meaning MiB */
		end++;
	if (*end != '\0')
		return false;
	if (v > UINT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}
