/*
 * Host tests for the AML builder (guest-loader/aml.c): encodings checked
 * byte by byte against ACPI 6.5 §20.2 and §6.4, bounded buffers, errors,
 * and a block using every builder call disassembled by ACPICA's iasl
 * (test/unit/aml_all.dsl).
 */
#include "test/unit/check.h"
#include "test/unit/iasl.h"
#include "guest-loader/aml.h"

static uint8_t buf[4096];

#define EXPECT_BYTES(a, ...) do {                                              \
	static const uint8_t want_[] = { __VA_ARGS__ };                        \
	char err_[160] = "";                                                   \
	CHECK_EQ(aml_finish((a), err_, sizeof(err_)), sizeof(want_));          \
	CHECK(memcmp(buf, want_, sizeof(want_)) == 0);                         \
} while (0)

TEST(integers)
{
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ull);
	EXPECT_BYTES(&a, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01,
		     0x0c, 0x00, 0x00, 0x01, 0x00,
		     0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
}

TEST(names)
{
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_name_string(&a, "_HID");
	aml_name_string(&a, "\\_SB.PCI0");
	aml_name_string(&a, "^RTC");
	aml_name_string(&a, "\\A.B.C");
	aml_name_string(&a, "\\");              /* the root: no segments is an error */
	char err[160];
	CHECK(aml_finish(&a, err, sizeof(err)) < 0);
	CHECK(strstr(err, "name") != NULL);

	aml_init(&a, buf, sizeof(buf));
	aml_name_string(&a, "_HID");
	aml_name_string(&a, "\\_SB.PCI0");
	aml_name_string(&a, "^RTC");
	aml_name_string(&a, "\\A.B.C");
	EXPECT_BYTES(&a, '_', 'H', 'I', 'D',
		     '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		     '^', 'R', 'T', 'C', '_',
		     '\\', 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');

	const char *bad[] = { "", "TOOLONG", "0ABC", "ab", "A..B", "A.", "_S B" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_name_string(&a, bad[i]);
		CHECK(aml_finish(&a, NULL, 0) < 0);
	}
}

/* EISAID (§6.1.5): PNP0A08 is 0x41d00a08 stored most significant byte first. */
TEST(eisaid)
{
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "PNP0A08");
	aml_eisaid(&a, "PNP0501");
	EXPECT_BYTES(&a, 0x0c, 0x41, 0xd0, 0x0a, 0x08, 0x0c, 0x41, 0xd0, 0x05, 0x01);
	const char *bad[] = { "PNP0A0", "PNP0A088", "pnp0A08", "PNP0G08", "P1P0A08" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_eisaid(&a, bad[i]);
		CHECK(aml_finish(&a, NULL, 0) < 0);
	}
}

/* §20.2.4: one byte up to 63, then 2, 3 bytes; the length counts itself. */
TEST(pkglength)
{
	struct aml a;
	static const struct { size_t body; size_t enc; uint8_t b0, b1, b2; } c[] = {
		{ 62, 1, 63, 0, 0 },
		{ 63, 2, 0x41, 0x04, 0 },       /* 65 = 0x41 */
		{ 4093, 2, 0x4f, 0xff, 0 },     /* 4095 */
		{ 4094, 3, 0x81, 0x00, 0x01 },  /* 4097 */
	};
	static uint8_t big[8192];

	static uint8_t z[8192];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		aml_init(&a, big, sizeof(big));
		aml_package_begin(&a, 0);               /* body: NumElements, then ours */
		aml_bytes(&a, z, c[i].body - 1);
		aml_end(&a);
		CHECK_EQ(aml_finish(&a, NULL, 0), 1 + c[i].enc + c[i].body);
		CHECK_EQ(big[0], 0x12);
		CHECK_EQ(big[1], c[i].b0);
		if (c[i].enc > 1)
			CHECK_EQ(big[2], c[i].b1);
		if (c[i].enc > 2)
			CHECK_EQ(big[3], c[i].b2);
		CHECK_EQ(big[1 + c[i].enc], 0);         /* NumElements */
	}
}

/* A resource template ends with an End Tag whose checksum zeroes the sum. */
TEST(resource_template)
{
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_restemplate_begin(&a);
	aml_res_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&a, 1u << 4);
	aml_end(&a);
	static const uint8_t want[] = {
		0x11, 0x10, 0x0a, 0x0d,                 /* Buffer, PkgLength, BufferSize */
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		0x22, 0x10, 0x00,
		0x79,                                   /* End Tag, then its checksum */
	};
	CHECK_EQ(aml_finish(&a, NULL, 0), sizeof(want) + 1);
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	uint8_t sum = 0;
	for (int i = 4; i < 17; i++)
		sum = (uint8_t)(sum + buf[i]);
	CHECK_EQ(sum, 0);
	CHECK_EQ(buf[16], (uint8_t)-(0x47 + 0x01 + 0xf8 + 0x03 + 0xf8 + 0x03 + 0x01 + 0x08 +
				     0x22 + 0x10 + 0x79));
}

/* Nothing past cap; the count stays exact, so a NULL buffer measures. */
TEST(bounded)
{
	struct aml a, m;
	char err[160] = "";
	static uint8_t small[40];

	memset(small, 0xa5, sizeof(small));
	aml_init(&m, NULL, 0);
	aml_init(&a, small, 32);
	struct aml *both[] = { &m, &a };
	for (int i = 0; i < 2; i++) {
		aml_scope_begin(both[i], "\\_SB");
		aml_device_begin(both[i], "COM1");
		aml_name(both[i], "_HID");
		aml_eisaid(both[i], "PNP0501");
		aml_name(both[i], "_STR");
		aml_string(both[i], "a string too long for 32 bytes");
		aml_end(both[i]);
		aml_end(both[i]);
	}
	CHECK(aml_finish(&a, err, sizeof(err)) < 0);
	CHECK(strstr(err, "needs") != NULL);
	CHECK_EQ(a.len, m.len);
	for (int i = 32; i < 40; i++)
		CHECK_EQ(small[i], 0xa5);
	CHECK(aml_finish(&m, NULL, 0) < 0);     /* measured, not stored */
	aml_init(&a, buf, m.len);
	aml_scope_begin(&a, "X");
	aml_end(&a);
	CHECK_EQ(aml_finish(&a, NULL, 0), 6);
}

TEST(structure_errors)
{
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_scope_begin(&a, "\\_SB");
	CHECK(aml_finish(&a, NULL, 0) < 0);     /* left open */
	aml_init(&a, buf, sizeof(buf));
	aml_end(&a);
	CHECK(aml_finish(&a, NULL, 0) < 0);
	aml_init(&a, buf, sizeof(buf));
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(&a, 1);
	CHECK(aml_finish(&a, NULL, 0) < 0);
	aml_init(&a, buf, sizeof(buf));
	aml_method_begin(&a, "M", 8, false);
	aml_end(&a);
	CHECK(aml_finish(&a, NULL, 0) < 0);
	aml_init(&a, buf, sizeof(buf));
	aml_package_begin(&a, 256);
	aml_end(&a);
	CHECK(aml_finish(&a, NULL, 0) < 0);
	aml_init(&a, buf, sizeof(buf));
	aml_restemplate_begin(&a);
	aml_res_word_io(&a, 0, 0xffff);         /* length 0x10000 does not fit */
	aml_end(&a);
	CHECK(aml_finish(&a, NULL, 0) < 0);
	aml_init(&a, buf, sizeof(buf));
	aml_string(&a, "\xe9");
	CHECK(aml_finish(&a, NULL, 0) < 0);
}

static void le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Every builder call once, in a DSDT that iasl must read back as expected. */
TEST(iasl_every_call)
{
	static uint8_t t[4096];
	struct aml a;

	aml_init(&a, t + 36, sizeof(t) - 36);
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "DEV0");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0C02");
	aml_name(&a, "_STR");
	aml_string(&a, "kasane");
	aml_name(&a, "BUF0");
	aml_buffer_begin(&a);
	aml_bytes(&a, "\x01\x02\x03", 3);
	aml_end(&a);
	aml_name(&a, "_CRS");
	aml_restemplate_begin(&a);
	aml_res_io(&a, 0x600, 0x600, 1, 16);
	aml_res_irq_noflags(&a, 1u << 3 | 1u << 11);
	aml_res_interrupt(&a, true, true, true, 17);
	aml_res_interrupt(&a, false, false, false, 40);
	aml_res_mem32_fixed(&a, true, 0xe0000000u, 0x100000);
	aml_res_word_bus(&a, 0, 0xff);
	aml_res_word_io(&a, 0xd00, 0xffff);
	aml_res_dword_mem(&a, 0xc0000000u, 0xdfffffffu);
	aml_res_qword_mem(&a, 0x800000000ull, 0xfffffffffull);
	aml_end(&a);
	aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_end(&a);
	aml_method_begin(&a, "MTH1", 2, true);
	aml_return(&a);
	aml_integer(&a, 0x123456789abcull);
	aml_end(&a);
	aml_end(&a);
	aml_end(&a);
	aml_name(&a, "\\_SB.DEV0.PKG0");
	aml_package_begin(&a, 3);
	aml_integer(&a, 0);
	aml_integer(&a, 0x1234);
	aml_string(&a, "x");
	aml_end(&a);
	long n = aml_finish(&a, NULL, 0);
	CHECK(n > 0);
	if (n <= 0)
		return;
	uint32_t len = (uint32_t)(36 + n);
	memcpy(t, "DSDT", 4);
	le32_put(t + 4, len);
	t[8] = 2;
	memcpy(t + 10, "KASANEAMLTEST ", 14);
	le32_put(t + 24, 1);
	memcpy(t + 28, "KSNE", 4);
	le32_put(t + 32, 1);
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)-sum;
	CHECK(iasl_check("aml_all", t, len));
}

int main(void)
{
	check_start("aml");
	RUN(integers);
	RUN(names);
	RUN(eisaid);
	RUN(pkglength);
	RUN(resource_template);
	RUN(bounded);
	RUN(structure_errors);
	RUN(iasl_every_call);
	return check_finish();
}
