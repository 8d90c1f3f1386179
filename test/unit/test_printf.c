/* Host tests for lib/printf.c and lib/parse.c, compared with known strings. */
#include "test/unit/check.h"
#include "lib/printf.h"
#include "lib/string.h"

static char buf[256];

#define FMT(expect, ...) do {                                   \
	int _r = ksnprintf(buf, sizeof(buf), __VA_ARGS__);      \
	CHECK_STR(buf, expect);                                 \
	CHECK_EQ(_r, strlen(expect));                           \
} while (0)

TEST(integers)
{
	FMT("0", "%d", 0);
	FMT("-42", "%d", -42);
	FMT("-2147483648", "%d", (int)0x80000000);
	FMT("4294967295", "%u", 0xffffffffu);
	FMT("18446744073709551615", "%llu", 0xffffffffffffffffull);
	FMT("-9223372036854775808", "%lld", (long long)0x8000000000000000ull);
	FMT("deadbeef", "%x", 0xdeadbeef);
	FMT("DEADBEEF", "%X", 0xdeadbeef);
	FMT("0x1f", "%#x", 0x1f);
	FMT("17", "%o", 15);
	FMT("+5", "%+d", 5);
	FMT("ff", "%hhx", 0x1ff);
	FMT("-1", "%hd", 0xffff);
	FMT("123456789012", "%zu", (size_t)123456789012ull);
}

TEST(width_and_padding)
{
	FMT("   42", "%5d", 42);
	FMT("42   |", "%-5d|", 42);
	FMT("00042", "%05d", 42);
	FMT("-0042", "%05d", -42);
	FMT("0000000000001000", "%016llx", 0x1000ull);
	FMT("00012", "%.5d", 12);
	FMT("   ab", "%*s", 5, "ab");
	FMT("ab   |", "%-*s|", 5, "ab");
	FMT("abc", "%.3s", "abcdef");
	FMT("ab", "%.*s", 2, "abcdef");
	FMT("x", "%c", 'x');
	FMT("100%", "%d%%", 100);
	{ const char *nul = NULL; FMT("(null)", "%s", nul); }
	FMT("0x1234", "%p", (void *)0x1234);
}

TEST(truncation)
{
	char small[8];
	int r = ksnprintf(small, sizeof(small), "%s", "0123456789");
	CHECK_EQ(r, 10);
	CHECK_STR(small, "0123456");
	r = ksnprintf(small, 1, "abc");
	CHECK_EQ(r, 3);
	CHECK_EQ(small[0], 0);
	r = ksnprintf(NULL, 0, "%d", 12345);
	CHECK_EQ(r, 5);
}

TEST(numbers_and_sizes)
{
	uint64_t v;
	const char *end;

	CHECK(parse_u64("123", &end, &v) && v == 123 && *end == 0);
	CHECK(parse_u64("0x1F", &end, &v) && v == 0x1f);
	CHECK(parse_u64("18446744073709551615", &end, &v) && v == UINT64_MAX);
	CHECK(!parse_u64("18446744073709551616", &end, &v));
	CHECK(!parse_u64("x", &end, &v));
	CHECK(parse_size("16M", 3, &v) && v == 16ull << 20);
	CHECK(parse_size("4G", 2, &v) && v == 4ull << 30);
	CHECK(parse_size("512k", 4, &v) && v == 512ull << 10);
	CHECK(parse_size("64MiB", 5, &v) && v == 64ull << 20);
	CHECK(parse_size("4096", 4, &v) && v == 4096);
	CHECK(!parse_size("16Q", 3, &v));
	CHECK(!parse_size("", 0, &v));
	CHECK(!parse_size("99999999999999T", 15, &v));
	CHECK(!parse_size("16M ", 4, &v));
}

int main(void)
{
	check_start("printf");
	RUN(integers);
	RUN(width_and_padding);
	RUN(truncation);
	RUN(numbers_and_sizes);
	return check_finish();
}
