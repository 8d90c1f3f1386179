/*
 * Host tests for the SMBIOS tables (guest-loader/smbios.c): the entry
 * points found and checked as Linux's DMI scan finds them (16-byte steps
 * through 0xF0000-0xFFFFF), and every structure walked by its length and
 * string set as a parser does (DSP0134 §6.1).
 */
#include "test/unit/check.h"
#include "test/unit/bytes.h"
#include "guest-loader/smbios.h"

#define RAM_SIZE        (1u << 20)

static uint8_t *ram;

static void ram_reset(struct guest_mem *m)
{
	if (!ram)
		ram = malloc(RAM_SIZE);         /* one buffer: pointers into it stay valid */
	memset(ram, 0xa5, RAM_SIZE);
	memset(m, 0, sizeof(*m));
	CHECK(gmem_add(m, 0, RAM_SIZE, ram));
}

static struct smbios_in make_in(const char *name, unsigned cpus)
{
	struct smbios_in in = {
		.vm_name = name, .version = "0.1.0", .release_date = "12/03/2026",
		.nr_vcpus = cpus, .cpuid_1_eax = 0x00a20f10, .cpuid_1_edx = 0x178bfbff,
		.cpu_vendor = "AuthenticAMD", .cpu_brand = "AMD EPYC 7313", .cpu_mhz = 3000,
		.nr_ranges = 2,
	};
	in.ram[0].base = 0;
	in.ram[0].size = 3ull << 30;
	in.ram[1].base = 4ull << 30;
	in.ram[1].size = 5ull << 30;
	return in;
}

/* The structure of this type (the first), or NULL; *strs: its string set. */
struct found { const uint8_t *s; const char *str[8]; unsigned nstr; };

static bool find(const uint8_t *tab, uint32_t len, uint8_t type, unsigned nth, struct found *f)
{
	uint32_t at = 0;

	while (at + 4 <= len) {
		const uint8_t *s = tab + at;
		uint32_t end = at + s[1];
		CHECK(s[1] >= 4 && end <= len);
		/* Strings: up to the double NUL. */
		memset(f, 0, sizeof(*f));
		f->s = s;
		uint32_t p = end;
		if (tab[p] == 0)
			p++;
		while (p < len && tab[p]) {
			if (f->nstr < 8)
				f->str[f->nstr++] = (const char *)tab + p;
			p += (uint32_t)strlen((const char *)tab + p) + 1;
		}
		CHECK(p < len && tab[p] == 0);
		if (s[0] == type && nth-- == 0)
			return true;
		if (s[0] == 127)
			return false;
		at = p + 1;
	}
	return false;
}

static const char *sget(const struct found *f, unsigned field)
{
	unsigned n = f->s[field];
	return n && n <= f->nstr ? f->str[n - 1] : "";
}

/* Linux's scan: a 32-byte window moved in 16-byte steps, _SM3_ first. */
static const uint8_t *scan(const char *anchor, size_t alen)
{
	for (uint32_t a = 0xf0000; a < 0x100000; a += 16)
		if (!memcmp(ram + a, anchor, alen))
			return ram + a;
	return NULL;
}

TEST(entry_points)
{
	struct guest_mem m;
	char err[128];

	ram_reset(&m);
	struct smbios_in in = make_in("web", 2);
	CHECK_EQ(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)), 0);
	const uint8_t *e3 = scan("_SM3_", 5);
	CHECK(e3);
	CHECK_EQ(e3[6], 0x18);
	CHECK_EQ(sum8(e3, e3[6]), 0);
	CHECK_EQ(e3[7], 3);
	uint32_t max = le32(e3 + 0x0c);
	uint64_t tab = le64(e3 + 0x10);
	CHECK(tab > 0xf0000 && tab + max <= 0xf0000 + SMBIOS_SIZE);
	const uint8_t *e2 = scan("_SM_", 4);
	CHECK(e2);
	CHECK_EQ(e2[5], 0x1f);
	CHECK_EQ(sum8(e2, 0x1f), 0);
	CHECK(!memcmp(e2 + 0x10, "_DMI_", 5));
	CHECK_EQ(sum8(e2 + 0x10, 0x0f), 0);
	CHECK_EQ(le32(e2 + 0x18), tab);
	CHECK_EQ(le16(e2 + 0x16), max);
	/* The structure count is right, and the table ends with type 127. */
	struct found f;
	unsigned n = 0;
	for (uint8_t t = 0; t < 128; t++)
		for (unsigned k = 0; find(ram + tab, max, t, k, &f); k++)
			n++;
	CHECK_EQ(n, le16(e2 + 0x1c));
	CHECK(find(ram + tab, max, 127, 0, &f));
	CHECK_EQ((size_t)(f.s + 6 - (ram + tab)), max);  /* 4 bytes and the double NUL */
}

TEST(system_and_bios)
{
	struct guest_mem m;
	char err[128];
	struct found f;

	ram_reset(&m);
	struct smbios_in in = make_in("scanner", 4);
	CHECK_EQ(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)), 0);
	const uint8_t *tab = ram + le64(scan("_SM3_", 5) + 0x10);
	uint32_t max = le32(scan("_SM3_", 5) + 0x0c);
	CHECK(find(tab, max, 0, 0, &f));
	CHECK_STR(sget(&f, 4), "kasane");
	CHECK_STR(sget(&f, 8), "12/03/2026");
	CHECK(f.s[0x13] & (1u << 4));                   /* a virtual machine */
	CHECK(find(tab, max, 1, 0, &f));
	CHECK_STR(sget(&f, 4), "kasane");
	CHECK_STR(sget(&f, 5), "kasane VM");
	CHECK_STR(sget(&f, 7), "scanner");
	uint8_t uuid[16];
	memcpy(uuid, f.s + 8, 16);
	CHECK_EQ(uuid[7] >> 4, 8);                      /* version 8 */
	CHECK_EQ(uuid[8] >> 6, 2);                      /* variant 10b */
	/* The same name gives the same UUID; another name another. */
	ram_reset(&m);
	CHECK_EQ(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)), 0);
	CHECK(find(tab, max, 1, 0, &f));
	CHECK(!memcmp(uuid, f.s + 8, 16));
	in.vm_name = "scanneR";
	ram_reset(&m);
	CHECK_EQ(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)), 0);
	tab = ram + le64(scan("_SM3_", 5) + 0x10);
	CHECK(find(tab, max, 1, 0, &f));
	CHECK(memcmp(uuid, f.s + 8, 16));
}

TEST(processor_and_memory)
{
	struct guest_mem m;
	char err[128];
	struct found f;

	ram_reset(&m);
	struct smbios_in in = make_in("db", 6);
	CHECK_EQ(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)), 0);
	const uint8_t *e3 = scan("_SM3_", 5);
	const uint8_t *tab = ram + le64(e3 + 0x10);
	uint32_t max = le32(e3 + 0x0c);
	CHECK(find(tab, max, 4, 0, &f));
	CHECK_EQ(f.s[1], 0x30);
	CHECK_STR(sget(&f, 7), "AuthenticAMD");
	CHECK_STR(sget(&f, 0x10), "AMD EPYC 7313");
	CHECK_EQ(le32(f.s + 8), 0x00a20f10);
	CHECK_EQ(f.s[0x23], 6);
	CHECK_EQ(le16(f.s + 0x2a), 6);
	CHECK(!find(tab, max, 4, 1, &f));               /* one socket */
	/* 8 GiB in all: 8192 MiB in the 16-bit size field. */
	CHECK(find(tab, max, 17, 0, &f));
	CHECK_EQ(le16(f.s + 0x0c), 8192);
	CHECK(find(tab, max, 16, 0, &f));
	CHECK_EQ(le32(f.s + 7), 8u << 20);              /* KiB */
	/* One mapped range per region, in KiB, end inclusive. */
	CHECK(find(tab, max, 19, 0, &f));
	CHECK_EQ(le32(f.s + 4), 0);
	CHECK_EQ(le32(f.s + 8), (3u << 20) - 1);
	CHECK(find(tab, max, 19, 1, &f));
	CHECK_EQ(le32(f.s + 4), 4u << 20);
	CHECK_EQ(le32(f.s + 8), (9u << 20) - 1);
	CHECK(!find(tab, max, 19, 2, &f));
	CHECK(find(tab, max, 32, 0, &f));
	/* Past 4 TiB the extended fields carry the range. */
	in.ram[1].size = 8ull << 40;
	ram_reset(&m);
	CHECK_EQ(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)), 0);
	tab = ram + le64(scan("_SM3_", 5) + 0x10);
	max = le32(scan("_SM3_", 5) + 0x0c);
	CHECK(find(tab, max, 19, 1, &f));
	CHECK_EQ(le32(f.s + 8), 0xffffffffu);
	CHECK_EQ(le64(f.s + 0x17), (4ull << 30) + (8ull << 40) - 1);
	CHECK(find(tab, max, 17, 0, &f));
	CHECK_EQ(le16(f.s + 0x0c), 0x7fff);
	CHECK_EQ(le32(f.s + 0x1c), (uint32_t)(((8ull << 40) + (3ull << 30)) >> 20));
}

TEST(bad_inputs_write_nothing)
{
	struct guest_mem m;
	char err[128];

	ram_reset(&m);
	struct smbios_in in = make_in("x", 1);
	CHECK(smbios_build(&m, 0xe0000, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	CHECK(smbios_build(&m, 0xff800, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	CHECK(smbios_build(&m, 0xf0008, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	in.nr_vcpus = 0;
	CHECK(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	in = make_in("x", 256);
	CHECK(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	in = make_in("x", 1);
	in.nr_ranges = 0;
	CHECK(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	in = make_in("x", 1);
	in.ram[1].size = 0;
	CHECK(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	for (uint32_t a = 0xe0000; a < RAM_SIZE; a++)
		if (ram[a] != 0xa5) {
			CHECK(!"written");
			break;
		}
	/* Not guest RAM. */
	struct guest_mem none = { 0 };
	in = make_in("x", 1);
	CHECK(smbios_build(&none, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)) < 0);
	/* Long strings are cut, never overrun. */
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	in.vm_name = longname;
	ram_reset(&m);
	CHECK_EQ(smbios_build(&m, 0xf0000, SMBIOS_SIZE, &in, err, sizeof(err)), 0);
	for (uint32_t a = 0xf0000 + SMBIOS_SIZE; a < RAM_SIZE; a++)
		if (ram[a] != 0xa5) {
			CHECK(!"written past the range");
			break;
		}
}

int main(void)
{
	check_start("smbios");
	RUN(entry_points);
	RUN(system_and_bios);
	RUN(processor_and_memory);
	RUN(bad_inputs_write_nothing);
	return check_finish();
}
