/*
 * Host tests for drivers/acpi.c.  Tables are built here with correct
 * checksums and then broken on purpose.  Physical memory is a list of
 * regions; every map call returns a fresh heap copy of exactly the bytes
 * asked for, so ASan reports any read past what the code mapped.
 */
#include "test/unit/check.h"
#include "drivers/acpi.h"

/* ---- fake physical memory ---------------------------------------------- */

struct region { uint64_t pa, len; uint8_t *bytes; };

struct phys {
	struct region r[8];
	int nr;
	void *maps[1 << 14];
	int nr_maps;
};

static uint8_t *phys_add(struct phys *m, uint64_t pa, uint64_t len)
{
	struct region *r = &m->r[m->nr++];

	r->pa = pa;
	r->len = len;
	r->bytes = calloc(1, len);
	return r->bytes;
}

static const void *phys_map(void *ctx, uint64_t pa, uint64_t len)
{
	struct phys *m = ctx;

	for (int i = 0; i < m->nr; i++) {
		struct region *r = &m->r[i];
		if (pa >= r->pa && len <= r->len && pa - r->pa <= r->len - len) {
			if (m->nr_maps == (int)(sizeof(m->maps) / sizeof(m->maps[0])))
				abort();
			void *copy = malloc(len);
			memcpy(copy, r->bytes + (pa - r->pa), len);
			m->maps[m->nr_maps++] = copy;
			return copy;
		}
	}
	return NULL;
}

static void phys_free(struct phys *m)
{
	for (int i = 0; i < m->nr; i++)
		free(m->r[i].bytes);
	for (int i = 0; i < m->nr_maps; i++)
		free(m->maps[i]);
	free(m);
}

/* Low memory 0..1 MiB plus a region for tables at 0x7FE0000. */
#define TABLES_PA 0x7FE0000ull

static struct phys *phys_new(uint8_t **low, uint8_t **tables)
{
	struct phys *m = calloc(1, sizeof(*m));

	*low = phys_add(m, 0, 0x100000);
	*tables = phys_add(m, TABLES_PA, 0x10000);
	return m;
}

/* ---- table builders ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

/* Make bytes [0, len) sum to 0 by adjusting the byte at csum_off. */
static void fix_sum(uint8_t *p, size_t len, size_t csum_off)
{
	uint8_t sum = 0;

	p[csum_off] = 0;
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	p[csum_off] = (uint8_t)-sum;
}

static void build_rsdp(uint8_t *p, int rev, uint32_t rsdt, uint64_t xsdt)
{
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "KASANE", 6);
	p[15] = rev;
	put32(p + 16, rsdt);
	if (rev >= 2) {
		put32(p + 20, 36);
		put64(p + 24, xsdt);
		fix_sum(p, 20, 8);
		fix_sum(p, 36, 32);
	} else {
		fix_sum(p, 20, 8);
	}
}

static void build_header(uint8_t *p, const char *sig, uint32_t len)
{
	memset(p, 0, 36);
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = 1;
	memcpy(p + 10, "KASANE", 6);
}

/* Returns the table's length. */
static uint32_t build_sdt(uint8_t *p, bool xsdt, const uint64_t *pa, int n)
{
	int esz = xsdt ? 8 : 4;
	uint32_t len = 36 + n * esz;

	build_header(p, xsdt ? "XSDT" : "RSDT", len);
	for (int i = 0; i < n; i++) {
		if (xsdt)
			put64(p + 36 + i * 8, pa[i]);
		else
			put32(p + 36 + i * 4, (uint32_t)pa[i]);
	}
	fix_sum(p, len, 9);
	return len;
}

static uint32_t build_table(uint8_t *p, const char *sig, uint32_t len)
{
	build_header(p, sig, len);
	fix_sum(p, len, 9);
	return len;
}

struct madt { uint8_t b[8192]; uint32_t len; };

static void madt_begin(struct madt *m, uint32_t lapic, uint32_t flags)
{
	memset(m, 0, sizeof(*m));
	build_header(m->b, "APIC", 44);
	put32(m->b + 36, lapic);
	put32(m->b + 40, flags);
	m->len = 44;
}

static uint8_t *madt_entry(struct madt *m, uint8_t type, uint8_t len)
{
	uint8_t *e = m->b + m->len;

	e[0] = type;
	e[1] = len;
	m->len += len;
	return e;
}

static void madt_lapic(struct madt *m, uint8_t uid, uint8_t id, uint32_t fl)
{
	uint8_t *e = madt_entry(m, 0, 8);
	e[2] = uid;
	e[3] = id;
	put32(e + 4, fl);
}

static void madt_x2apic(struct madt *m, uint32_t id, uint32_t uid, uint32_t fl)
{
	uint8_t *e = madt_entry(m, 9, 16);
	put32(e + 4, id);
	put32(e + 8, fl);
	put32(e + 12, uid);
}

static void madt_ioapic(struct madt *m, uint8_t id, uint32_t addr, uint32_t gsi)
{
	uint8_t *e = madt_entry(m, 1, 12);
	e[2] = id;
	put32(e + 4, addr);
	put32(e + 8, gsi);
}

static void madt_override(struct madt *m, uint8_t irq, uint32_t gsi, uint16_t fl)
{
	uint8_t *e = madt_entry(m, 2, 10);
	e[3] = irq;
	put32(e + 4, gsi);
	put16(e + 8, fl);
}

/* Set the length and checksum; the entries can be broken afterwards. */
static void madt_finish(struct madt *m)
{
	put32(m->b + 4, m->len);
	fix_sum(m->b, m->len, 9);
}

static char err[160];

/* Parse from an exact-size heap copy so over-reads are caught. */
static int parse(const struct madt *m, size_t len, struct acpi_madt_info *out)
{
	uint8_t *copy = malloc(len);
	int rc;

	memcpy(copy, m->b, len);
	err[0] = '\0';
	rc = acpi_parse_madt(copy, len, out, err, sizeof(err));
	free(copy);
	return rc;
}

static struct acpi_madt_info info;

/* ---- MADT ---------------------------------------------------------------- */

static void build_qemu_madt(struct madt *m)
{
	madt_begin(m, 0xFEE00000, 1);
	for (int i = 0; i < 4; i++)
		madt_lapic(m, i, i, 1);
	madt_ioapic(m, 0, 0xFEC00000, 0);
	madt_override(m, 0, 2, 0);
	madt_override(m, 9, 9, 0xD);
	uint8_t *e = madt_entry(m, 4, 6);       /* LINT1 NMI on all CPUs */
	e[2] = 0xFF;
	e[5] = 1;
	madt_finish(m);
}

TEST(madt_qemu_like)
{
	struct madt m;

	build_qemu_madt(&m);
	CHECK_EQ(parse(&m, m.len, &info), 0);
	CHECK_EQ(info.lapic_addr, 0xFEE00000);
	CHECK(info.pcat_compat);
	CHECK_EQ(info.nr_cpus, 4);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(info.cpu[i].apic_id, i);
		CHECK_EQ(info.cpu[i].acpi_uid, i);
		CHECK(info.cpu[i].enabled);
		CHECK(!info.cpu[i].x2apic);
	}
	CHECK_EQ(info.nr_ioapics, 1);
	CHECK_EQ(info.ioapic[0].id, 0);
	CHECK_EQ(info.ioapic[0].addr, 0xFEC00000);
	CHECK_EQ(info.ioapic[0].gsi_base, 0);
	CHECK_EQ(info.nr_overrides, 2);
	CHECK_EQ(info.override[0].source_irq, 0);
	CHECK_EQ(info.override[0].gsi, 2);
	CHECK_EQ(info.override[1].source_irq, 9);
	CHECK_EQ(info.override[1].gsi, 9);
	CHECK_EQ(info.override[1].flags, ACPI_MPS_TRIGGER_LEVEL | ACPI_MPS_POLARITY_HIGH);
	CHECK_EQ(info.nr_nmis, 1);
	CHECK_EQ(info.nmi[0].acpi_uid, ACPI_NMI_ALL_CPUS);
	CHECK_EQ(info.nmi[0].lint, 1);
	CHECK(!info.truncated);

	/* A buffer longer than the table is fine; the Length field rules. */
	CHECK_EQ(parse(&m, m.len + 100, &info), 0);
	CHECK_EQ(info.nr_cpus, 4);
}

TEST(madt_x2apic_entries)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 0);
	madt_x2apic(&m, 0, 0, 1);
	madt_x2apic(&m, 300, 7, 1);
	madt_x2apic(&m, 0x10000, 8, 1);
	madt_x2apic(&m, 0xFFFFFFFF, 9, 1);      /* broadcast ID: ignored */
	uint8_t *e = madt_entry(&m, 0xA, 12);
	put16(e + 2, 0x5);
	put32(e + 4, 7);
	e[8] = 1;
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), 0);
	CHECK(!info.pcat_compat);
	CHECK_EQ(info.nr_cpus, 3);
	CHECK_EQ(info.cpu[1].apic_id, 300);
	CHECK_EQ(info.cpu[1].acpi_uid, 7);
	CHECK(info.cpu[1].x2apic && info.cpu[1].enabled);
	CHECK_EQ(info.cpu[2].apic_id, 0x10000);
	CHECK_EQ(info.nr_nmis, 1);
	CHECK_EQ(info.nmi[0].acpi_uid, 7);
	CHECK_EQ(info.nmi[0].flags, 5);
	CHECK_EQ(info.nmi[0].lint, 1);
}

TEST(madt_disabled_and_duplicate_cpus)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 1);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 0);        /* unusable: ignored */
	madt_lapic(&m, 2, 2, 2);        /* online capable, not started now */
	madt_lapic(&m, 3, 3, 3);        /* enabled wins over online capable */
	madt_lapic(&m, 4, 0xFF, 1);     /* broadcast ID: ignored */
	madt_x2apic(&m, 0, 0, 1);       /* same CPU again as x2APIC */
	madt_x2apic(&m, 2, 2, 1);       /* enables CPU 2 */
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), 0);
	CHECK_EQ(info.nr_cpus, 3);
	CHECK_EQ(info.cpu[0].apic_id, 0);
	CHECK(!info.cpu[0].x2apic);
	CHECK_EQ(info.cpu[1].apic_id, 2);
	CHECK(info.cpu[1].enabled && !info.cpu[1].online_capable);
	CHECK_EQ(info.cpu[2].apic_id, 3);
	CHECK(info.cpu[2].enabled && !info.cpu[2].online_capable);

	madt_begin(&m, 0xFEE00000, 1);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 2);
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), 0);
	CHECK_EQ(info.nr_cpus, 2);
	CHECK(!info.cpu[1].enabled && info.cpu[1].online_capable);
}

TEST(madt_lapic_override_and_unknown_type)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 1);
	uint8_t *e = madt_entry(&m, 0x10, 20);  /* unknown: skipped */
	memset(e + 2, 0xAA, 18);
	e = madt_entry(&m, 5, 12);
	put64(e + 4, 0x1FEE00000ull);
	madt_lapic(&m, 0, 0, 1);
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), 0);
	CHECK_EQ(info.lapic_addr, 0x1FEE00000ull);
	CHECK_EQ(info.nr_cpus, 1);
}

TEST(madt_bad_checksum)
{
	struct madt m;

	build_qemu_madt(&m);
	m.b[50] ^= 1;
	CHECK_EQ(parse(&m, m.len, &info), -1);
	CHECK(strstr(err, "bad checksum") != NULL);
}

TEST(madt_bad_signature)
{
	struct madt m;

	build_qemu_madt(&m);
	memcpy(m.b, "FACP", 4);
	fix_sum(m.b, m.len, 9);
	CHECK_EQ(parse(&m, m.len, &info), -1);
	CHECK_STR(err, "MADT has signature \"FACP\", expected \"APIC\"");
}

TEST(madt_zero_length_entry)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 1);
	madt_entry(&m, 0, 8)[1] = 0;
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), -1);
	CHECK_STR(err, "MADT entry at offset 0x2c has length 0");
}

TEST(madt_entry_past_end)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 1);
	madt_lapic(&m, 0, 0, 1);
	madt_ioapic(&m, 0, 0xFEC00000, 0);
	m.len -= 4;                     /* table ends inside the I/O APIC entry */
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), -1);
	CHECK_STR(err, "MADT entry at offset 0x34 (type 1, length 12) runs past "
		  "the table end at 0x3c");

	/* A single trailing byte cannot even hold an entry header. */
	madt_begin(&m, 0xFEE00000, 1);
	madt_lapic(&m, 0, 0, 1);
	m.len += 1;
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), -1);
	CHECK_STR(err, "MADT entry at offset 0x34 runs past the table end at 0x35");
}

TEST(madt_short_known_entry)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 1);
	madt_entry(&m, 9, 8);           /* x2APIC entry needs 16 bytes */
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), -1);
	CHECK_STR(err, "MADT entry at offset 0x2c (type 9) has length 8, "
		  "expected at least 16");

	madt_begin(&m, 0xFEE00000, 1);
	madt_entry(&m, 0x42, 1);
	madt_finish(&m);
	CHECK_EQ(parse(&m, m.len, &info), -1);
}

TEST(madt_bad_table_length)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 1);
	m.len = 40;
	madt_finish(&m);
	CHECK_EQ(parse(&m, 44, &info), -1);
	CHECK_STR(err, "MADT has length 40, expected 44..44");

	CHECK_EQ(parse(&m, 40, &info), -1);
	CHECK_STR(err, "MADT is 40 bytes, expected at least 44");

	/* Length field larger than what the caller mapped. */
	build_qemu_madt(&m);
	CHECK_EQ(parse(&m, m.len - 1, &info), -1);
	CHECK(strstr(err, "MADT has length") != NULL);

	put32(m.b + 4, 0xFFFFFFFF);
	CHECK_EQ(parse(&m, 100, &info), -1);
	CHECK_STR(err, "MADT has length 4294967295, expected 44..100");
	CHECK_EQ(acpi_parse_madt(NULL, 0, &info, err, sizeof(err)), -1);
}

TEST(madt_too_many_entries)
{
	struct madt m;

	madt_begin(&m, 0xFEE00000, 1);
	for (int i = 0; i < 300; i++)
		madt_x2apic(&m, i, i, 1);
	for (int i = 0; i < ACPI_MAX_IOAPICS + 1; i++)
		madt_ioapic(&m, i, 0xFEC00000 + i * 0x1000, i * 24);
	madt_override(&m, 0, 2, 0);
	madt_finish(&m);
	CHECK(m.len < sizeof(m.b));
	CHECK_EQ(parse(&m, m.len, &info), 0);
	CHECK(info.truncated);
	CHECK_EQ(info.nr_cpus, ACPI_MAX_CPUS);
	CHECK_EQ(info.cpu[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
	CHECK_EQ(info.nr_ioapics, ACPI_MAX_IOAPICS);
	CHECK_EQ(info.nr_overrides, 1);         /* parsing went on */
}

/* Random corruption with a fixed-up checksum must never read out of bounds. */
TEST(madt_random_corruption)
{
	struct madt m;
	uint32_t seed = 12345;
	int ok = 0;

	for (int iter = 0; iter < 20000; iter++) {
		build_qemu_madt(&m);
		madt_x2apic(&m, 300, 5, 1);
		madt_finish(&m);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			uint32_t off = 36 + (seed >> 8) % (m.len - 36);
			seed = seed * 1103515245 + 12345;
			m.b[off] = (uint8_t)(seed >> 16);
		}
		fix_sum(m.b, m.len, 9);
		if (parse(&m, m.len, &info) == 0) {
			ok++;
			CHECK(info.nr_cpus <= ACPI_MAX_CPUS);
		} else {
			CHECK(strncmp(err, "MADT entry at offset 0x", 23) == 0);
		}
	}
	CHECK(ok > 0);
}

TEST(error_buffer_small)
{
	struct madt m;
	char small[8];

	madt_begin(&m, 0xFEE00000, 1);
	madt_entry(&m, 0, 8)[1] = 0;
	madt_finish(&m);
	memset(small, 'x', sizeof(small));
	CHECK_EQ(acpi_parse_madt(m.b, m.len, &info, small, sizeof(small)), -1);
	CHECK_STR(small, "MADT en");
	CHECK_EQ(acpi_parse_madt(m.b, m.len, &info, NULL, 0), -1);
}

/* ---- RSDP -------------------------------------------------------------- */

TEST(rsdp_parse)
{
	uint8_t p[40];
	uint64_t x, r;

	build_rsdp(p, 0, 0x7FE1000, 0);
	CHECK_EQ(acpi_parse_rsdp(p, 20, &x, &r, err, sizeof(err)), 0);
	CHECK_EQ(r, 0x7FE1000);
	CHECK_EQ(x, 0);

	build_rsdp(p, 2, 0x7FE1000, 0x17FE2000ull);
	CHECK_EQ(acpi_parse_rsdp(p, 36, &x, &r, err, sizeof(err)), 0);
	CHECK_EQ(r, 0x7FE1000);
	CHECK_EQ(x, 0x17FE2000ull);

	CHECK_EQ(acpi_parse_rsdp(p, 20, &x, &r, err, sizeof(err)), -1);
	CHECK_STR(err, "RSDP revision 2 is 20 bytes, expected at least 36");

	p[30] ^= 0x10;                  /* breaks only the extended checksum */
	CHECK_EQ(acpi_parse_rsdp(p, 36, &x, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "RSDP extended checksum") != NULL);

	build_rsdp(p, 2, 0x7FE1000, 0x17FE2000ull);
	put32(p + 20, 1000);
	fix_sum(p, 36, 32);
	CHECK_EQ(acpi_parse_rsdp(p, 36, &x, &r, err, sizeof(err)), -1);
	CHECK_STR(err, "RSDP revision 2 has length 1000, expected 36..36");

	build_rsdp(p, 0, 0x7FE1000, 0);
	p[17] ^= 1;
	CHECK_EQ(acpi_parse_rsdp(p, 20, &x, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "RSDP checksum over the first 20 bytes") != NULL);

	build_rsdp(p, 0, 0x7FE1000, 0);
	p[0] = 'X';
	CHECK_EQ(acpi_parse_rsdp(p, 20, &x, &r, err, sizeof(err)), -1);
	CHECK_STR(err, "RSDP signature is wrong, expected \"RSD PTR \"");
	CHECK_EQ(acpi_parse_rsdp(p, 19, &x, &r, err, sizeof(err)), -1);
}

TEST(rsdp_scan_bios_area)
{
	uint8_t *low, *tab;
	struct phys *m = phys_new(&low, &tab);
	uint64_t pa = 0;

	CHECK_EQ(acpi_find_rsdp(phys_map, m, &pa), -1);

	/* A bad-checksum candidate first, a v2 one with a bad extended
	 * checksum next, then the good one. */
	build_rsdp(low + 0xE0000, 0, 0x1000, 0);
	low[0xE0000 + 16] ^= 1;
	build_rsdp(low + 0xE8000, 2, 0x1000, 0x2000);
	low[0xE8000 + 30] ^= 1;
	build_rsdp(low + 0xF5A40, 2, 0x1000, 0x2000);
	build_rsdp(low + 0xF0008, 0, 0x1000, 0);   /* not 16-byte aligned */
	CHECK_EQ(acpi_find_rsdp(phys_map, m, &pa), 0);
	CHECK_EQ(pa, 0xF5A40);

	/* The EBDA is searched first. */
	put16(low + 0x40E, 0x9FC0);
	build_rsdp(low + 0x9FFE0, 0, 0x1000, 0);   /* last fit */
	CHECK_EQ(acpi_find_rsdp(phys_map, m, &pa), 0);
	CHECK_EQ(pa, 0x9FFE0);

	/* Only the first KiB of the EBDA is searched. */
	memset(low + 0x9FFE0, 0, 20);
	put16(low + 0x40E, 0x9F80);     /* EBDA at 0x9F800: scan to 0x9FC00 */
	build_rsdp(low + 0x9FC00, 0, 0x1000, 0);
	CHECK_EQ(acpi_find_rsdp(phys_map, m, &pa), 0);
	CHECK_EQ(pa, 0xF5A40);
	build_rsdp(low + 0x9FBE0, 0, 0x1000, 0);
	CHECK_EQ(acpi_find_rsdp(phys_map, m, &pa), 0);
	CHECK_EQ(pa, 0x9FBE0);

	/* An EBDA segment pointing at nonsense is ignored. */
	put16(low + 0x40E, 0xFFFF);
	CHECK_EQ(acpi_find_rsdp(phys_map, m, &pa), 0);
	CHECK_EQ(pa, 0xF5A40);
	phys_free(m);
}

TEST(rsdp_scan_unmapped)
{
	struct phys *m = calloc(1, sizeof(*m));
	uint64_t pa;

	CHECK_EQ(acpi_find_rsdp(phys_map, m, &pa), -1);
	phys_free(m);
}

/* ---- RSDT / XSDT --------------------------------------------------------- */

/* Lay out: RSDP v2 at 0xF0000, XSDT and RSDT each listing FACP + APIC. */
#define XSDT_PA   (TABLES_PA + 0x000)
#define RSDT_PA   (TABLES_PA + 0x100)
#define FACP_PA   (TABLES_PA + 0x200)
#define APIC_X_PA (TABLES_PA + 0x400)
#define APIC_R_PA (TABLES_PA + 0x800)

static struct phys *make_tables(uint8_t **low_out, uint8_t **tab_out)
{
	uint8_t *low, *tab;
	struct phys *m = phys_new(&low, &tab);
	struct madt madt;
	uint64_t xs[] = { FACP_PA, APIC_X_PA }, rs[] = { FACP_PA, APIC_R_PA };

	build_rsdp(low + 0xF0000, 2, RSDT_PA, XSDT_PA);
	build_sdt(tab + (XSDT_PA - TABLES_PA), true, xs, 2);
	build_sdt(tab + (RSDT_PA - TABLES_PA), false, rs, 2);
	build_table(tab + (FACP_PA - TABLES_PA), "FACP", 276);
	build_qemu_madt(&madt);
	memcpy(tab + (APIC_X_PA - TABLES_PA), madt.b, madt.len);
	memcpy(tab + (APIC_R_PA - TABLES_PA), madt.b, madt.len);
	*low_out = low;
	*tab_out = tab;
	return m;
}

static int find(struct phys *m, uint64_t *pa)
{
	err[0] = '\0';
	*pa = 0;
	return acpi_find_table(phys_map, m, 0xF0000, NULL, 0, "APIC", pa, err,
			       sizeof(err));
}

TEST(find_xsdt_preferred)
{
	uint8_t *low, *tab;
	struct phys *m = make_tables(&low, &tab);
	uint64_t pa;
	uint32_t len;

	CHECK_EQ(find(m, &pa), 0);
	CHECK_EQ(pa, APIC_X_PA);

	const void *t = acpi_map_table(phys_map, m, pa, "APIC", &len, err,
				       sizeof(err));
	CHECK(t != NULL);
	CHECK_EQ(acpi_parse_madt(t, len, &info, err, sizeof(err)), 0);
	CHECK_EQ(info.nr_cpus, 4);

	/* The same through a Multiboot2-style copy of the RSDP. */
	uint8_t copy[36];
	memcpy(copy, low + 0xF0000, 36);
	memset(low + 0xF0000, 0, 36);
	CHECK_EQ(acpi_find_table(phys_map, m, 0, copy, 36, "APIC", &pa, err,
				 sizeof(err)), 0);
	CHECK_EQ(pa, APIC_X_PA);
	CHECK_EQ(acpi_find_table(phys_map, m, 0, copy, 20, "APIC", &pa, err,
				 sizeof(err)), -1);
	CHECK_EQ(acpi_find_table(phys_map, m, 0, NULL, 0, "APIC", &pa, err,
				 sizeof(err)), -1);
	phys_free(m);
}

TEST(find_rsdt_only)
{
	uint8_t *low, *tab;
	struct phys *m = make_tables(&low, &tab);
	uint64_t pa;

	build_rsdp(low + 0xF0000, 0, RSDT_PA, 0);
	CHECK_EQ(find(m, &pa), 0);
	CHECK_EQ(pa, APIC_R_PA);

	CHECK_EQ(acpi_find_table(phys_map, m, 0xF0000, NULL, 0, "HPET", &pa,
				 err, sizeof(err)), -1);
	CHECK_STR(err, "no HPET table in the RSDT at 0x7fe0100 (2 entries, 0 "
		  "not mapped)");
	phys_free(m);
}

TEST(find_broken_xsdt_falls_back)
{
	uint8_t *low, *tab;
	struct phys *m = make_tables(&low, &tab);
	uint64_t pa;

	tab[XSDT_PA - TABLES_PA + 40] ^= 1;     /* XSDT checksum */
	CHECK_EQ(find(m, &pa), 0);
	CHECK_EQ(pa, APIC_R_PA);

	tab[RSDT_PA - TABLES_PA + 0] = 'X';     /* RSDT signature */
	CHECK_EQ(find(m, &pa), -1);
	CHECK_STR(err, "table at 0x7fe0100 has signature \"XSDT\", expected "
		  "\"RSDT\" (XSDT unusable: XSDT table at 0x7fe0000 has a bad "
		  "checksum (sums to 0x1, expected 0))");
	phys_free(m);
}

TEST(find_unmapped_entry)
{
	uint8_t *low, *tab;
	struct phys *m = make_tables(&low, &tab);
	uint64_t pa;
	uint64_t xs[] = { 0x80000000ull, FACP_PA, 0xFFFFFFFFFFFFFFF0ull };

	build_sdt(tab + (XSDT_PA - TABLES_PA), true, xs, 3);
	CHECK_EQ(find(m, &pa), -1);
	CHECK_STR(err, "no APIC table in the XSDT at 0x7fe0000 (3 entries, 2 "
		  "not mapped)");

	/* An unmapped entry before the MADT does not hide it. */
	uint64_t xs2[] = { 0x80000000ull, 0, APIC_X_PA };
	build_sdt(tab + (XSDT_PA - TABLES_PA), true, xs2, 3);
	CHECK_EQ(find(m, &pa), 0);
	CHECK_EQ(pa, APIC_X_PA);

	/* XSDT itself unmapped and no RSDT. */
	build_rsdp(low + 0xF0000, 2, 0, 0x90000000ull);
	CHECK_EQ(find(m, &pa), -1);
	CHECK_STR(err, "XSDT table header at 0x90000000 is not mapped");
	phys_free(m);
}

TEST(find_huge_or_broken_table)
{
	uint8_t *low, *tab;
	struct phys *m = make_tables(&low, &tab);
	uint8_t *apic = tab + (APIC_X_PA - TABLES_PA);
	uint32_t apic_len = apic[4] | apic[5] << 8;
	uint64_t pa;

	put32(apic + 4, 0xFFFFFFFF);
	CHECK_EQ(find(m, &pa), -1);
	CHECK_STR(err, "APIC table at 0x7fe0400 has length 4294967295, "
		  "expected 36..1048576");

	put32(apic + 4, 0xFFFF0);       /* runs past the mapped region */
	CHECK_EQ(find(m, &pa), -1);
	CHECK_STR(err, "APIC table at 0x7fe0400 (1048560 bytes) is not mapped");

	put32(apic + 4, 20);
	CHECK_EQ(find(m, &pa), -1);
	CHECK(strstr(err, "has length 20") != NULL);

	put32(apic + 4, apic_len);      /* right length, stale checksum */
	apic[40] ^= 1;
	CHECK_EQ(find(m, &pa), -1);
	CHECK(strstr(err, "APIC table at 0x7fe0400 has a bad checksum") != NULL);

	/* A huge XSDT is rejected by length, then the RSDT is used. */
	put32(tab + 4, 0xFFFFFF00);
	apic[40] ^= 1;
	CHECK_EQ(find(m, &pa), 0);
	CHECK_EQ(pa, APIC_R_PA);
	phys_free(m);
}

TEST(find_too_many_entries)
{
	uint8_t *low, *tab;
	struct phys *m = make_tables(&low, &tab);
	static uint64_t xs[ACPI_SDT_MAX_ENTRIES + 1];
	uint64_t pa;

	for (int i = 0; i <= ACPI_SDT_MAX_ENTRIES; i++)
		xs[i] = FACP_PA;
	build_sdt(tab + (XSDT_PA - TABLES_PA), true, xs, ACPI_SDT_MAX_ENTRIES + 1);
	build_rsdp(low + 0xF0000, 2, 0, XSDT_PA);
	CHECK_EQ(find(m, &pa), -1);
	CHECK_STR(err, "XSDT has 1025 entries, at most 1024 supported");
	phys_free(m);
}

int main(void)
{
	check_start("acpi");
	RUN(madt_qemu_like);
	RUN(madt_x2apic_entries);
	RUN(madt_disabled_and_duplicate_cpus);
	RUN(madt_lapic_override_and_unknown_type);
	RUN(madt_bad_checksum);
	RUN(madt_bad_signature);
	RUN(madt_zero_length_entry);
	RUN(madt_entry_past_end);
	RUN(madt_short_known_entry);
	RUN(madt_bad_table_length);
	RUN(madt_too_many_entries);
	RUN(madt_random_corruption);
	RUN(error_buffer_small);
	RUN(rsdp_parse);
	RUN(rsdp_scan_bios_area);
	RUN(rsdp_scan_unmapped);
	RUN(find_xsdt_preferred);
	RUN(find_rsdt_only);
	RUN(find_broken_xsdt_falls_back);
	RUN(find_unmapped_entry);
	RUN(find_huge_or_broken_table);
	RUN(find_too_many_entries);
	return check_finish();
}
