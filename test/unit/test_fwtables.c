/*
 * Host tests for guest-loader/fwtables.c.  The tables are built into a
 * fake 1 MiB of guest RAM and read back the way an OS would: the RSDP and
 * the MP floating pointer are found by scanning, every checksum and length
 * is verified, and the MADT is parsed with drivers/acpi.c as a second,
 * independent reader.  ACPICA's disassembler is the third: every ACPI
 * table of a sample VM must disassemble to the text in test/unit/fw_*.dsl.
 */
#include "test/unit/check.h"
#include "test/unit/bytes.h"
#include "test/unit/iasl.h"
#include "guest-loader/fwtables.h"
#include "drivers/acpi.h"

#define RAM_SIZE        (1u << 20)
#define BIOS_BASE       0xE0000u
#define BIOS_SIZE       0x20000u
#define LAPIC_ADDR      0xFEE00000u
#define IOAPIC_ADDR     0xFEC00000u

static uint8_t *ram;            /* guest-physical 0..RAM_SIZE */

/* acpi_map_fn over the fake RAM (contiguous, whatever the gmem regions). */
static const void *ram_map(void *ctx, uint64_t pa, uint64_t len)
{
	if (pa >= RAM_SIZE || len > RAM_SIZE - pa)
		return NULL;
	return ram + pa;
}

static void ram_reset(uint8_t fill, struct guest_mem *m)
{
	memset(ram, fill, RAM_SIZE);
	memset(m, 0, sizeof(*m));
	CHECK(gmem_add(m, 0, RAM_SIZE, ram));
}

/* The swizzle of the board (core/board.h board_pci_intx_gsi). */
static unsigned intx_gsi(unsigned slot, unsigned pin)
{
	return 16 + ((slot + pin) & 3);
}

static struct fwtables_in make_in(unsigned n, bool pic)
{
	return (struct fwtables_in){
		.nr_vcpus = n, .ioapic_id = (uint8_t)(n & 0xf), .ioapic_addr = IOAPIC_ADDR,
		.lapic_addr = LAPIC_ADDR, .pic = pic,
		.ecam_base = 0xE0000000u, .ecam_size = 1u << 20,
		.mmio32_base = 0xC0000000u, .mmio32_size = 0x20000000u,
		.mmio64_base = 0x800000000ull, .mmio64_size = 0x800000000ull,
		.intx_gsi = intx_gsi,
		.pm1a_evt_port = 0x600, .pm1a_cnt_port = 0x604, .pm_tmr_port = 0x608,
		.reset_port = 0xCF9, .reset_value = 6, .sci_irq = 9, .s5_slp_typ = 5,
		.rtc_century = 0x32,
		.com1_port = 0x3F8, .com1_irq = 4, .rtc_port = 0x70, .rtc_irq = 8,
	};
}

/* ---- ACPI, read back as an OS does --------------------------------------- */

/* Walk a root table; each entry must be a valid, 8-aligned table in range. */
static int walk_root(uint64_t pa, const char *sig, unsigned entsize,
		     uint64_t out[], const struct fwtables_layout *l)
{
	char err[160] = "";
	uint32_t len, tlen;
	const uint8_t *t = acpi_map_table(ram_map, NULL, pa, sig, &len, err,
					  sizeof(err));

	CHECK(t != NULL);
	if (!t) {
		printf("    %s\n", err);
		return 0;
	}
	CHECK_EQ(t[8], 1);                      /* revision */
	CHECK(memcmp(t + 10, "KASANE", 6) == 0);
	CHECK_EQ((len - 36) % entsize, 0);
	int n = (int)((len - 36) / entsize);
	for (int i = 0; i < n && i < 8; i++) {
		const uint8_t *e = t + 36 + i * entsize;
		out[i] = entsize == 8 ? le64(e) : le32(e);
		CHECK_EQ(out[i] % 8, 0);
		CHECK(out[i] >= l->start && out[i] < l->end);
		CHECK(acpi_map_table(ram_map, NULL, out[i], NULL, &tlen, err,
				     sizeof(err)) != NULL);
		CHECK(out[i] + tlen <= l->end);
	}
	return n;
}

/* A Generic Address Structure (§5.2.3.2) naming an I/O port block. */
static void check_gas_io(const uint8_t *g, uint16_t port, unsigned bits, unsigned access)
{
	CHECK_EQ(g[0], 1);                      /* system I/O */
	CHECK_EQ(g[1], bits);
	CHECK_EQ(g[2], 0);
	CHECK_EQ(g[3], access);
	CHECK_EQ(le64(g + 4), port);
}

static void check_fadt(uint64_t pa, const struct fwtables_layout *l,
		       const struct fwtables_in *in)
{
	char err[160] = "";
	uint32_t len, dlen;
	const uint8_t *f = acpi_map_table(ram_map, NULL, pa, "FACP", &len, err,
					  sizeof(err));

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(len, 276);
	CHECK_EQ(f[8], 6);                      /* revision */
	CHECK_EQ(f[131], 5);                    /* FADT Minor Version */
	uint32_t flags = le32(f + 112);
	CHECK(!(flags & (1u << 20)));           /* not HW_REDUCED_ACPI */
	CHECK(flags & (1u << 0));               /* WBINVD */
	CHECK(flags & (1u << 8));               /* TMR_VAL_EXT: 32-bit timer */
	CHECK(flags & (1u << 10));              /* RESET_REG_SUP */
	CHECK(!(flags & (1u << 4)));            /* fixed power button */
	CHECK(!(flags & (1u << 6)));            /* RTC_STS and RTC_EN in PM1 (not FIX_RTC) */
	uint16_t boot = le16(f + 109);
	CHECK(boot & (1u << 0));                /* legacy devices */
	CHECK(!(boot & (1u << 1)));             /* no 8042 */
	CHECK(boot & (1u << 2));                /* no VGA */
	CHECK(!(boot & (1u << 3)));             /* MSI works */
	CHECK(!(boot & (1u << 5)));             /* CMOS RTC present */
	CHECK_EQ(le16(f + 46), in->sci_irq);
	CHECK_EQ(le32(f + 48), 0);              /* no SMI_CMD: always ACPI mode */
	CHECK_EQ(le32(f + 56), in->pm1a_evt_port);
	CHECK_EQ(le32(f + 64), in->pm1a_cnt_port);
	CHECK_EQ(le32(f + 76), in->pm_tmr_port);
	CHECK_EQ(f[88], 4);
	CHECK_EQ(f[89], 2);
	CHECK_EQ(f[91], 4);
	CHECK_EQ(f[108], in->rtc_century);
	check_gas_io(f + 116, in->reset_port, 8, 1);
	CHECK_EQ(f[128], in->reset_value);
	check_gas_io(f + 148, in->pm1a_evt_port, 32, 2);
	check_gas_io(f + 172, in->pm1a_cnt_port, 16, 2);
	check_gas_io(f + 208, in->pm_tmr_port, 32, 3);

	/* FACS (§5.2.10): 64-byte aligned, named twice. */
	CHECK_EQ(le32(f + 36), l->facs);
	CHECK_EQ(le64(f + 132), l->facs);
	CHECK_EQ(l->facs % 64, 0);
	const uint8_t *facs = ram + l->facs;
	CHECK(memcmp(facs, "FACS", 4) == 0);
	CHECK_EQ(le32(facs + 4), 64);
	CHECK_EQ(facs[32], 2);

	uint64_t dsdt = le64(f + 140);
	CHECK_EQ(le32(f + 40), dsdt);
	CHECK_EQ(dsdt, l->dsdt);
	const uint8_t *d = acpi_map_table(ram_map, NULL, dsdt, "DSDT", &dlen,
					  err, sizeof(err));
	CHECK(d != NULL);
	CHECK(dlen > 36);
	CHECK_EQ(dsdt % 8, 0);
	CHECK(dsdt + dlen <= l->madt);
}

/* PCI Firmware 3.2 §4.1.2. */
static void check_mcfg(uint64_t pa, const struct fwtables_in *in)
{
	char err[160] = "";
	uint32_t len;
	const uint8_t *t = acpi_map_table(ram_map, NULL, pa, "MCFG", &len, err,
					  sizeof(err));

	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(len, 60);
	CHECK_EQ(le64(t + 44), in->ecam_base);
	CHECK_EQ(le16(t + 52), 0);
	CHECK_EQ(t[54], 0);
	CHECK_EQ(t[55], in->ecam_size / (1u << 20) - 1);
}

static void check_madt(uint64_t pa, const struct fwtables_in *in)
{
	static struct acpi_madt_info mi;
	char err[160] = "";
	uint32_t len;
	const uint8_t *t = acpi_map_table(ram_map, NULL, pa, "APIC", &len, err,
					  sizeof(err));

	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(len, 44 + 8 * in->nr_vcpus + 12 + 2 * 10 + 6);
	CHECK_EQ(t[8], 6);
	CHECK_EQ(acpi_parse_madt(t, len, &mi, err, sizeof(err)), 0);
	CHECK_EQ(mi.lapic_addr, in->lapic_addr);
	CHECK_EQ(mi.pcat_compat, in->pic);
	CHECK(!mi.truncated);
	CHECK_EQ(mi.nr_cpus, in->nr_vcpus);
	for (int i = 0; i < mi.nr_cpus; i++) {
		CHECK_EQ(mi.cpu[i].apic_id, i);
		CHECK_EQ(mi.cpu[i].acpi_uid, i);
		CHECK(mi.cpu[i].enabled && !mi.cpu[i].x2apic);
	}
	CHECK_EQ(mi.nr_ioapics, 1);
	CHECK_EQ(mi.ioapic[0].id, in->ioapic_id);
	CHECK_EQ(mi.ioapic[0].addr, in->ioapic_addr);
	CHECK_EQ(mi.ioapic[0].gsi_base, 0);
	CHECK_EQ(mi.nr_overrides, 2);
	CHECK_EQ(mi.override[0].bus, 0);
	CHECK_EQ(mi.override[0].source_irq, 0);
	CHECK_EQ(mi.override[0].gsi, 2);
	CHECK_EQ(mi.override[0].flags, 0);
	CHECK_EQ(mi.override[1].bus, 0);        /* the SCI: level, active-high */
	CHECK_EQ(mi.override[1].source_irq, in->sci_irq);
	CHECK_EQ(mi.override[1].gsi, in->sci_irq);
	CHECK_EQ(mi.override[1].flags, 0xd);
	CHECK_EQ(mi.nr_nmis, 1);
	CHECK_EQ(mi.nmi[0].acpi_uid, ACPI_NMI_ALL_CPUS);
	CHECK_EQ(mi.nmi[0].lint, 1);
	CHECK_EQ(mi.nmi[0].flags, 0);

	/* The entries must tile the table exactly. */
	uint32_t off = 44;
	int steps = 0;
	while (off + 2 <= len && steps++ < 300) {
		CHECK(t[off + 1] >= 2);
		if (t[off + 1] < 2)
			break;
		off += t[off + 1];
	}
	CHECK_EQ(off, len);
}

static void check_acpi(const struct fwtables_in *in, const struct fwtables_layout *l)
{
	char err[160] = "";
	uint64_t rsdp_pa = 0, xsdt_pa, rsdt_pa, table_pa;
	uint64_t x[8], r[8];

	CHECK_EQ(acpi_find_rsdp(ram_map, NULL, &rsdp_pa), 0);
	CHECK_EQ(rsdp_pa, l->rsdp);
	CHECK(rsdp_pa >= BIOS_BASE && rsdp_pa < BIOS_BASE + BIOS_SIZE);
	CHECK_EQ(rsdp_pa % 16, 0);
	const uint8_t *p = ram + rsdp_pa;
	CHECK_EQ(sum8(p, 20), 0);
	CHECK_EQ(sum8(p, 36), 0);
	CHECK_EQ(p[15], 2);
	CHECK_EQ(le32(p + 20), 36);
	CHECK(memcmp(p + 9, "KASANE", 6) == 0);
	CHECK_EQ(acpi_parse_rsdp(p, 36, &xsdt_pa, &rsdt_pa, err, sizeof(err)), 0);
	CHECK_EQ(xsdt_pa, l->xsdt);
	CHECK_EQ(rsdt_pa, l->rsdt);

	int nx = walk_root(xsdt_pa, "XSDT", 8, x, l);
	int nr = walk_root(rsdt_pa, "RSDT", 4, r, l);
	CHECK_EQ(nx, 3);
	CHECK_EQ(nr, 3);
	for (int i = 0; i < nx && i < nr; i++)
		CHECK_EQ(x[i], r[i]);

	CHECK_EQ(acpi_find_table(ram_map, NULL, rsdp_pa, NULL, 0, "FACP",
				 &table_pa, err, sizeof(err)), 0);
	CHECK_EQ(table_pa, l->fadt);
	check_fadt(table_pa, l, in);
	CHECK_EQ(acpi_find_table(ram_map, NULL, rsdp_pa, NULL, 0, "MCFG",
				 &table_pa, err, sizeof(err)), 0);
	CHECK_EQ(table_pa, l->mcfg);
	check_mcfg(table_pa, in);
	CHECK_EQ(acpi_find_table(ram_map, NULL, rsdp_pa, NULL, 0, "APIC",
				 &table_pa, err, sizeof(err)), 0);
	CHECK_EQ(table_pa, l->madt);
	check_madt(table_pa, in);
}

/* ---- MP table, read back as an OS does (MP spec 1.4 §4) -------------------- */

static uint64_t mp_scan(uint64_t base, uint64_t len)
{
	for (uint64_t pa = base; pa + 16 <= base + len; pa += 16) {
		const uint8_t *p = ram + pa;
		if (memcmp(p, "_MP_", 4) == 0 && p[8] == 1 && sum8(p, 16) == 0)
			return pa;
	}
	return 0;
}

static void check_mp(const struct fwtables_in *in, const struct fwtables_layout *l)
{
	/* Linux's order: first KiB, last KiB of 640 KiB, then the BIOS ROM. */
	CHECK_EQ(mp_scan(0, 0x400), 0);
	CHECK_EQ(mp_scan(639 * 0x400, 0x400), 0);
	uint64_t fp_pa = mp_scan(0xF0000, 0x10000);
	CHECK_EQ(fp_pa, l->mpfp);
	if (!fp_pa)
		return;
	const uint8_t *fp = ram + fp_pa;
	CHECK_EQ(fp[9], 4);                     /* spec revision 1.4 */
	for (int i = 11; i < 16; i++)
		CHECK_EQ(fp[i], 0);             /* byte 1 = 0: table present */

	uint32_t ct_pa = le32(fp + 4);
	CHECK_EQ(ct_pa, l->mpct);
	CHECK(ct_pa >= l->start && ct_pa + 44 <= l->end);
	if (ct_pa < l->start || ct_pa + 44 > l->end)
		return;
	const uint8_t *ct = ram + ct_pa;
	uint16_t blen = le16(ct + 4);
	CHECK(memcmp(ct, "PCMP", 4) == 0);
	CHECK_EQ(blen, 44 + 20 * in->nr_vcpus + 8 * (2 + 1 + 15 + 124 + 2));
	CHECK(ct_pa + blen <= l->end);
	if (ct_pa + blen > l->end)
		return;
	CHECK_EQ(sum8(ct, blen), 0);
	CHECK_EQ(ct[6], 4);
	CHECK(memcmp(ct + 8, "KASANE  ", 8) == 0);
	CHECK_EQ(le16(ct + 34), in->nr_vcpus + 144);
	CHECK_EQ(le32(ct + 36), in->lapic_addr);
	CHECK_EQ(le16(ct + 40), 0);             /* no extended table */

	unsigned cpus = 0, bps = 0, buses = 0, ioapics = 0, lints = 0, pci_ints = 0;
	uint32_t irq_seen = 0;
	int prev_type = 0;
	uint32_t off = 44;
	for (unsigned k = 0; k < le16(ct + 34) && off < blen; k++) {
		const uint8_t *e = ct + off;
		CHECK(e[0] <= 4 && e[0] >= prev_type);  /* sorted by type */
		prev_type = e[0];
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[1], cpus);
			CHECK_EQ(e[2], 0x14);
			CHECK(e[3] & 1);
			if (e[3] & 2) {
				bps++;
				CHECK_EQ(e[1], 0);
			}
			CHECK_EQ((le32(e + 4) >> 8) & 0xF, 6);
			CHECK(le32(e + 8) & (1u << 9));     /* APIC */
			cpus++;
			off += 20;
			continue;
		case 1:
			CHECK_EQ(e[1], buses);
			CHECK(memcmp(e + 2, buses ? "PCI   " : "ISA   ", 6) == 0);
			buses++;
			break;
		case 2:
			CHECK_EQ(e[1], in->ioapic_id);
			CHECK_EQ(e[2], 0x11);
			CHECK_EQ(e[3], 1);
			CHECK_EQ(le32(e + 4), in->ioapic_addr);
			ioapics++;
			break;
		case 3:
			CHECK_EQ(e[1], 0);              /* INT */
			if (e[4] == 1) {                /* PCI: device << 2 | pin */
				CHECK_EQ(le16(e + 2), 0xf);     /* level, active-low */
				CHECK(e[5] >> 2 >= 1 && e[5] >> 2 <= 31);
				CHECK_EQ(e[6], in->ioapic_id);
				CHECK_EQ(e[7], in->intx_gsi(e[5] >> 2, e[5] & 3));
				pci_ints++;
				break;
			}
			CHECK_EQ(le16(e + 2), 0);
			CHECK_EQ(e[4], 0);              /* ISA bus */
			CHECK(e[5] < 16 && e[5] != 2);
			CHECK(!(irq_seen & (1u << e[5])));
			irq_seen |= 1u << (e[5] & 31);
			CHECK_EQ(e[6], in->ioapic_id);
			CHECK_EQ(e[7], e[5] == 0 ? 2 : e[5]);
			break;
		case 4:
			CHECK_EQ(e[1], lints == 0 ? 3 : 1);     /* ExtINT, NMI */
			CHECK_EQ(e[6], 0xFF);
			CHECK_EQ(e[7], lints);                  /* LINT0, LINT1 */
			lints++;
			break;
		}
		off += 8;
	}
	CHECK_EQ(off, blen);
	CHECK_EQ(cpus, in->nr_vcpus);
	CHECK_EQ(bps, 1);
	CHECK_EQ(buses, 2);
	CHECK_EQ(pci_ints, 124);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(irq_seen, 0xFFFB);
	CHECK_EQ(lints, 2);
}

/* ---- tests ---------------------------------------------------------------- */

static void build_and_check(unsigned n, bool pic)
{
	struct guest_mem m;
	struct fwtables_layout l;
	struct fwtables_in in = make_in(n, pic);
	char err[160] = "";

	ram_reset(0, &m);
	CHECK_EQ(fwtables_place(&in, BIOS_BASE, BIOS_SIZE, &l, err, sizeof(err)), 0);
	CHECK_EQ(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)), 0);
	if (err[0])
		printf("    %s\n", err);
	CHECK_EQ(l.end - l.start, fwtables_size(&in));
	CHECK_EQ(l.end, BIOS_BASE + BIOS_SIZE);
	CHECK(l.start >= 0xF0000);              /* MP pointer in the ROM area */
	gpa_t t[] = { l.facs, l.rsdp, l.mpfp, l.xsdt, l.rsdt, l.fadt, l.dsdt, l.madt,
		      l.mcfg, l.mpct };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_EQ(t[i] % 8, 0);
		CHECK(t[i] >= l.start && t[i] < l.end);
	}
	for (uint64_t pa = 0; pa < RAM_SIZE; pa++)
		if ((pa < l.start || pa >= l.end) && ram[pa]) {
			CHECK_EQ(ram[pa], 0);
			break;
		}
	check_acpi(&in, &l);
	check_mp(&in, &l);
}

TEST(build_1cpu) { build_and_check(1, true); }
TEST(build_4cpus) { build_and_check(4, true); }
TEST(build_16cpus) { build_and_check(16, true); }
TEST(build_255cpus_no_pic) { build_and_check(255, false); }

TEST(size_formula)
{
	struct fwtables_in in = make_in(1, true);

	CHECK_EQ(fwtables_size(&in), 3904);
	in = make_in(255, true);
	CHECK_EQ(fwtables_size(&in), 11008);
	CHECK_EQ(fwtables_size(&in) % 64, 0);
	in.nr_vcpus = 0;
	CHECK_EQ(fwtables_size(&in), 0);
	CHECK_EQ(fwtables_size(NULL), 0);
}

/* Exactly fwtables_size() bytes suffice; nothing outside them is touched. */
TEST(exact_fit)
{
	struct guest_mem m;
	struct fwtables_in in = make_in(4, true);
	struct fwtables_layout l;
	size_t need = fwtables_size(&in);
	gpa_t base = 0x100000 - need;
	char err[160] = "";

	ram_reset(0xA5, &m);
	CHECK_EQ(fwtables_build(&m, base, need, &in, err, sizeof(err)), 0);
	CHECK_EQ(fwtables_place(&in, base, need, &l, err, sizeof(err)), 0);
	CHECK_EQ(l.start, base);
	for (uint64_t pa = 0; pa < base; pa++)
		if (ram[pa] != 0xA5) {
			CHECK_EQ(ram[pa], 0xA5);
			break;
		}
	CHECK_EQ(sum8(ram + l.rsdp, 36), 0);
	CHECK_EQ(sum8(ram + l.mpfp, 16), 0);
}

TEST(too_small_writes_nothing)
{
	struct guest_mem m;
	struct fwtables_in in = make_in(16, true);
	size_t need = fwtables_size(&in);
	uint8_t *copy = malloc(RAM_SIZE);
	char err[160] = "";

	ram_reset(0xA5, &m);
	memcpy(copy, ram, RAM_SIZE);
	CHECK(fwtables_build(&m, 0xF0000, need - 16, &in, err, sizeof(err)) < 0);
	CHECK(strstr(err, "bytes") != NULL);
	/* An unaligned base costs the bytes up to the next 16-byte boundary. */
	CHECK(fwtables_build(&m, 0xF0008, need, &in, err, sizeof(err)) < 0);
	CHECK(fwtables_build(&m, 0xF0000, 1, &in, err, sizeof(err)) < 0);
	CHECK(memcmp(copy, ram, RAM_SIZE) == 0);
	free(copy);
}

TEST(not_ram_writes_nothing)
{
	struct guest_mem m = { 0 };
	struct fwtables_in in = make_in(4, true);
	char err[160] = "";

	memset(ram, 0xA5, RAM_SIZE);
	/* RAM ends 256 bytes below the top, inside where the tables go. */
	CHECK(gmem_add(&m, 0, 0xFFF00, ram));
	CHECK(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)) < 0);
	CHECK(strstr(err, "RAM") != NULL);
	for (uint64_t pa = 0; pa < RAM_SIZE; pa++)
		if (ram[pa] != 0xA5) {
			CHECK_EQ(ram[pa], 0xA5);
			break;
		}
}

/*
 * Tables straddling two guest_mem regions are written across the seam;
 * the DSDT, built in place, must lie in one region, else nothing is
 * written past its header and the build fails with a reason.
 */
TEST(split_regions)
{
	struct guest_mem m = { 0 };
	struct fwtables_in in = make_in(16, true);
	struct fwtables_layout l;
	char err[160] = "";

	CHECK_EQ(fwtables_place(&in, BIOS_BASE, BIOS_SIZE, &l, err, sizeof(err)), 0);
	gpa_t seam = l.mpct + 8;
	memset(ram, 0, RAM_SIZE);
	CHECK(gmem_add(&m, 0, seam, ram));
	CHECK(gmem_add(&m, seam, RAM_SIZE - seam, ram + seam));
	CHECK_EQ(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)), 0);
	check_acpi(&in, &l);
	check_mp(&in, &l);

	seam = l.dsdt + 100;
	memset(&m, 0, sizeof(m));
	CHECK(gmem_add(&m, 0, seam, ram));
	CHECK(gmem_add(&m, seam, RAM_SIZE - seam, ram + seam));
	err[0] = 0;
	CHECK(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)) < 0);
	CHECK(err[0] != 0);
}

/* The sample VM's tables, as ACPICA's disassembler reads them. */
TEST(iasl_disassembly)
{
	struct guest_mem m;
	struct fwtables_layout l;
	struct fwtables_in in = make_in(2, true);
	char err[160] = "";

	ram_reset(0, &m);
	CHECK_EQ(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)), 0);
	CHECK_EQ(fwtables_place(&in, BIOS_BASE, BIOS_SIZE, &l, err, sizeof(err)), 0);
	CHECK(iasl_check("fw_dsdt", ram + l.dsdt, le32(ram + l.dsdt + 4)));
	CHECK(iasl_check("fw_facp", ram + l.fadt, le32(ram + l.fadt + 4)));
	CHECK(iasl_check("fw_facs", ram + l.facs, 64));
	CHECK(iasl_check("fw_apic", ram + l.madt, le32(ram + l.madt + 4)));
	CHECK(iasl_check("fw_mcfg", ram + l.mcfg, le32(ram + l.mcfg + 4)));
}

/* Four ECAM buses: the MCFG and PCI0's _CRS say buses 0-3; no 64-bit window. */
TEST(bus_range_and_no_mmio64)
{
	struct guest_mem m;
	struct fwtables_layout l;
	struct fwtables_in in = make_in(1, true);
	char err[160] = "";
	/* WordBusNumber (ACPI 6.5 §6.4.3.5.3): producer, MinFixed, MaxFixed,
	 * granularity 0, 0-3, translation 0, length 4. */
	static const uint8_t bus03[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0,
					 3, 0, 0, 0, 4, 0 };

	in.ecam_size = 4u << 20;
	in.mmio64_size = 0;
	ram_reset(0, &m);
	CHECK_EQ(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)), 0);
	CHECK_EQ(fwtables_place(&in, BIOS_BASE, BIOS_SIZE, &l, err, sizeof(err)), 0);
	CHECK_EQ(ram[l.mcfg + 55], 3);
	uint32_t dlen = le32(ram + l.dsdt + 4);
	bool found = false, qword = false;
	for (uint32_t i = 36; i + sizeof(bus03) <= dlen; i++) {
		found |= memcmp(ram + l.dsdt + i, bus03, sizeof(bus03)) == 0;
		qword |= ram[l.dsdt + i] == 0x8a && ram[l.dsdt + i + 1] == 43;
	}
	CHECK(found);
	CHECK(!qword);
	CHECK_EQ(sum8(ram + l.dsdt, dlen), 0);
}

TEST(bad_inputs)
{
	struct guest_mem m;
	struct fwtables_layout l;
	char err[160];
	struct fwtables_in in;

	ram_reset(0, &m);
#define BAD(expr) do { err[0] = 0; CHECK((expr) < 0); CHECK(err[0] != 0); } while (0)
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, NULL, err, sizeof(err)));
	in = make_in(0, true);
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(256, true);
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.ioapic_id = 16;                      /* beyond the 4-bit ID register */
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.lapic_addr = 0;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in.lapic_addr = LAPIC_ADDR + 0x10;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.ioapic_addr = 0;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.ecam_base += 0x1000;                 /* not 1 MiB aligned */
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.ecam_size = 257u << 20;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.mmio32_size = 0x40000001u;           /* past 4 GiB */
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.mmio64_base = 0x80000000u;           /* below 4 GiB */
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.intx_gsi = NULL;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.sci_irq = 2;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.pm_tmr_port = 0xfffe;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	in.s5_slp_typ = 8;
	BAD(fwtables_build(&m, BIOS_BASE, BIOS_SIZE, &in, err, sizeof(err)));
	in = make_in(4, true);
	BAD(fwtables_build(&m, BIOS_BASE, 0, &in, err, sizeof(err)));
	BAD(fwtables_place(&in, 0xFFFFF000, 0x2000, &l, err, sizeof(err)));
	BAD(fwtables_place(&in, UINT64_MAX - 0x100, 0x1000, &l, err, sizeof(err)));
	CHECK_EQ(fwtables_place(&in, 0xFFFFE000, 0x2000, &l, err, sizeof(err)), 0);
	CHECK_EQ(l.end, 4 * GiB);
	/* A NULL err buffer is allowed. */
	CHECK(fwtables_build(&m, BIOS_BASE, 0, &in, NULL, 0) < 0);
#undef BAD
	for (uint64_t pa = 0; pa < RAM_SIZE; pa++)
		if (ram[pa]) {
			CHECK_EQ(ram[pa], 0);
			break;
		}
}

int main(void)
{
	ram = calloc(1, RAM_SIZE);
	check_start("fwtables");
	RUN(build_1cpu);
	RUN(build_4cpus);
	RUN(build_16cpus);
	RUN(build_255cpus_no_pic);
	RUN(size_formula);
	RUN(exact_fit);
	RUN(too_small_writes_nothing);
	RUN(not_ram_writes_nothing);
	RUN(split_regions);
	RUN(iasl_disassembly);
	RUN(bus_range_and_no_mmio64);
	RUN(bad_inputs);
	free(ram);
	return check_finish();
}
