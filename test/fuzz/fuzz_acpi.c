/*
 * Fuzz target: the ACPI code kasane runs on the physical machine at boot:
 * drivers/acpi_boot.c (acpi_boot_init: RSDP from a Multiboot2 copy or the
 * BIOS-area scan, the FADT, \_S5 in the DSDT, the MADT) over
 * drivers/acpi.c, and acpi_parse_rsdp / acpi_parse_madt directly.
 *
 * Input: two control bytes (bit 0: the RSDP comes as a Multiboot2 copy,
 * else it is placed in the BIOS area at a 16-byte offset from bits 1-12;
 * bits 13-15 pick the copy's length), 36 bytes of RSDP, then the bytes at
 * physical TABLES_PA, where the tables point.  Physical memory is mapped
 * (map_phys_ro) as a fresh exact-size copy of each range asked for (or the
 * region itself when all of it is asked for), so ASan reports any read
 * past what was mapped; page 0 is never mapped, as in arch/x86/paging.c.
 *
 * Properties:
 *  - each log message is one line ending in its newline;
 *  - the maps asked for are bounded (every loop over firmware data is);
 *  - on success the MADT counts are within their arrays; power-off values
 *    are what PM1 control registers take (SLP_TYP 0-7, a port other than 0);
 *  - the six OEM ID bytes handed on are readable;
 *  - the parsers' errors are one line.
 */
#include "test/fuzz/fuzz.h"
#include <stdarg.h>
#include "drivers/acpi_boot.h"
#include "drivers/power.h"
#include "arch/x86/paging.h"
#include "kernel/log.h"

#define BIOS_PA    0xE0000ULL
#define BIOS_LEN   0x20000ULL
#define TABLES_PA  0x7f000000ULL
#define MAX_MAPS   (8 * ACPI_SDT_MAX_ENTRIES + 64)

static struct {
	const uint8_t *bios, *tables;
	size_t tables_len;
	void *maps[MAX_MAPS];
	int nr_maps;
} phys;

static const void *phys_copy(uint64_t pa, uint64_t len, const uint8_t *base, uint64_t base_pa,
			     uint64_t base_len)
{
	if (pa < base_pa || len > base_len || pa - base_pa > base_len - len)
		return NULL;
	/* A whole region (the BIOS-area scan) needs no copy: it is its own heap block. */
	if (pa == base_pa && len == base_len)
		return base;
	FUZZ_CHECK(phys.nr_maps < MAX_MAPS);
	void *p = malloc(len ? len : 1);
	memcpy(p, base + (pa - base_pa), len);
	phys.maps[phys.nr_maps++] = p;
	return p;
}

void *map_phys_ro(hpa_t pa, uint64_t len)
{
	const void *p = phys_copy(pa, len, phys.bios, BIOS_PA, BIOS_LEN);
	if (!p)
		p = phys_copy(pa, len, phys.tables, TABLES_PA, phys.tables_len);
	return (void *)p;
}

void printk(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n > 1 && (size_t)n < sizeof(buf) && buf[n - 1] == '\n');
	buf[n - 1] = '\0';
	fuzz_check_line(buf, sizeof(buf));
}

void platform_set_acpi_poweroff(uint16_t pm1a_cnt, uint16_t pm1b_cnt, uint16_t slp_typa,
				uint16_t slp_typb)
{
	FUZZ_CHECK(pm1a_cnt != 0 && slp_typa <= 7 && slp_typb <= 7);
}

void platform_set_reset_reg(uint8_t space, uint64_t addr, uint8_t value) {}
void platform_set_firmware_oem(const char oemid[6])
{
	volatile char sink = 0;
	for (int i = 0; i < 6; i++)     /* the six bytes must be readable */
		sink ^= oemid[i];
	(void)sink;
}

static void check_madt(const struct acpi_madt_info *m)
{
	FUZZ_CHECK(m->nr_cpus >= 0 && m->nr_cpus <= ACPI_MAX_CPUS);
	FUZZ_CHECK(m->nr_ioapics >= 0 && m->nr_ioapics <= ACPI_MAX_IOAPICS);
	FUZZ_CHECK(m->nr_overrides >= 0 && m->nr_overrides <= ACPI_MAX_OVERRIDES);
	FUZZ_CHECK(m->nr_nmis >= 0 && m->nr_nmis <= ACPI_MAX_NMIS);
	for (int i = 0; i < m->nr_nmis; i++)
		FUZZ_CHECK(m->nmi[i].lint <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ctl = (unsigned)fuzz_take(&in, 2);
	static const size_t copy_lens[8] = { 36, 20, 0, 8, 15, 19, 24, 35 };
	uint8_t rsdp[ACPI_RSDP_V2_LEN] = { 0 };
	static uint8_t *bios;
	static struct acpi_madt_info madt;
	char err[160];

	for (size_t i = 0; i < sizeof(rsdp); i++)
		rsdp[i] = (uint8_t)fuzz_take(&in, 1);
	if (!bios)
		bios = malloc(BIOS_LEN);
	memset(bios, 0, BIOS_LEN);
	uint8_t *tables = malloc(in.n ? in.n : 1);
	memcpy(tables, in.p, in.n);
	phys.bios = bios;
	phys.tables = tables;
	phys.tables_len = in.n;
	phys.nr_maps = 0;

	struct boot_info bi;
	memset(&bi, 0, sizeof(bi));
	bi.firmware = BOOT_FW_BIOS;
	uint8_t *copy = NULL;
	if (ctl & 1) {
		bi.rsdp_len = copy_lens[(ctl >> 13) & 7];
		copy = malloc(bi.rsdp_len ? bi.rsdp_len : 1);
		memcpy(copy, rsdp, bi.rsdp_len);
		bi.rsdp = copy;
		bi.rsdp_source = bi.rsdp_len >= 36 ? BOOT_RSDP_ACPI_NEW : BOOT_RSDP_ACPI_OLD;
	} else {
		memcpy(bios + (((ctl >> 1) & 0xfff) * 16) % (BIOS_LEN - sizeof(rsdp)), rsdp,
		       sizeof(rsdp));
	}
	memset(&madt, 0x5a, sizeof(madt));
	if (acpi_boot_init(&bi, &madt))
		check_madt(&madt);
	for (int i = 0; i < phys.nr_maps; i++)
		free(phys.maps[i]);
	phys.nr_maps = 0;

	/* The parsers on their own, over exact-size buffers. */
	uint64_t xsdt, rsdt;
	if (acpi_parse_rsdp(copy ? copy : rsdp, copy ? bi.rsdp_len : sizeof(rsdp), &xsdt, &rsdt,
			    err, sizeof(err)) < 0)
		fuzz_check_line(err, sizeof(err));
	memset(&madt, 0x5a, sizeof(madt));
	if (acpi_parse_madt(tables, in.n, &madt, err, sizeof(err)) < 0)
		fuzz_check_line(err, sizeof(err));
	else
		check_madt(&madt);
	free(copy);
	free(tables);
	return 0;
}
