/*
 * Host tests for the ACPI HPET table of guest-loader/fwtables.c (IA-PC
 * HPET 1.0a §3.2.4): both root tables list it when the board has an HPET
 * and not otherwise, its fields say where the registers are and what
 * devices/vhpet.c offers, and ACPICA's disassembler reads it as the text
 * in test/unit/fw_hpet.dsl.
 */
#include "test/unit/check.h"
#include "test/unit/iasl.h"
#include "guest-loader/fwtables.h"
#include "devices/vhpet.h"

#define RAM_SIZE        (1u << 20)
#define FW_BASE         0xE0000u
#define FW_SIZE         0x20000u

static uint8_t ram[RAM_SIZE];

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static unsigned intx_gsi(unsigned slot, unsigned pin)
{
	return 16 + ((slot + pin) & 3);
}

/* The board's input (core/board.c board_fwtables), for 2 vCPUs. */
static struct fwtables_in make_in(bool hpet)
{
	struct fwtables_in in = {
		.nr_vcpus = 2, .ioapic_id = 2, .ioapic_addr = 0xFEC00000u,
		.lapic_addr = 0xFEE00000u, .pic = true,
		.ecam_base = 0xE0000000u, .ecam_size = 1u << 20,
		.mmio32_base = 0xC0000000u, .mmio32_size = 0x20000000u,
		.intx_gsi = intx_gsi,
		.pm1a_evt_port = 0x600, .pm1a_cnt_port = 0x604, .pm_tmr_port = 0x608,
		.reset_port = 0xCF9, .reset_value = 6, .sci_irq = 9, .s5_slp_typ = 5,
		.com1_port = 0x3F8, .com1_irq = 4, .rtc_port = 0x70, .rtc_irq = 8,
	};
	if (hpet) {
		in.hpet_base = VHPET_BASE;
		in.hpet_id = VHPET_BLOCK_ID;
		in.hpet_min_tick = VHPET_MIN_IRQ_GAP_NS * VHPET_HZ / 1000000000ULL;
	}
	return in;
}

static bool build(const struct fwtables_in *in, struct fwtables_layout *l)
{
	struct guest_mem m;
	char err[160] = "";

	memset(ram, 0, sizeof(ram));
	memset(&m, 0, sizeof(m));
	if (!gmem_add(&m, 0, RAM_SIZE, ram))
		return false;
	if (fwtables_build(&m, FW_BASE, FW_SIZE, in, err, sizeof(err)) ||
	    fwtables_place(in, FW_BASE, FW_SIZE, l, err, sizeof(err))) {
		printf("    %s\n", err);
		return false;
	}
	return true;
}

TEST(roots_list_it)
{
	struct fwtables_layout l;
	struct fwtables_in in = make_in(true);

	CHECK(build(&in, &l));
	CHECK(l.hpet != 0);
	const uint8_t *x = ram + l.xsdt, *r = ram + l.rsdt;
	CHECK_EQ(le32(x + 4), 36 + 4 * 8);
	CHECK_EQ(le32(r + 4), 36 + 4 * 4);
	CHECK_EQ(sum8(x, le32(x + 4)), 0);
	CHECK_EQ(sum8(r, le32(r + 4)), 0);
	CHECK_EQ(le64(x + 36 + 3 * 8), l.hpet);
	CHECK_EQ(le32(r + 36 + 3 * 4), l.hpet);
	CHECK(l.hpet >= l.start && l.hpet + 56 <= l.end);
}

TEST(no_hpet_no_table)
{
	struct fwtables_layout l;
	struct fwtables_in in = make_in(false);

	CHECK(build(&in, &l));
	CHECK_EQ(l.hpet, 0);
	CHECK_EQ(le32(ram + l.xsdt + 4), 36 + 3 * 8);
	CHECK_EQ(le32(ram + l.rsdt + 4), 36 + 3 * 4);
}

TEST(fields)
{
	struct fwtables_layout l;
	struct fwtables_in in = make_in(true);

	CHECK(build(&in, &l));
	const uint8_t *h = ram + l.hpet;
	CHECK(!memcmp(h, "HPET", 4));
	CHECK_EQ(le32(h + 4), 56);
	CHECK_EQ(sum8(h, 56), 0);
	CHECK_EQ(le32(h + 36), VHPET_BLOCK_ID);
	CHECK_EQ(h[40], 0);                     /* system memory */
	CHECK_EQ(le64(h + 44), VHPET_BASE);
	CHECK_EQ(h[52], 0);                     /* HPET number */
	CHECK_EQ(h[53] | h[54] << 8, 20000);    /* 200 us of 10 ns counts */
	/* A base that is not 1 KiB-aligned is refused. */
	in.hpet_base = VHPET_BASE + 0x10;
	char err[160] = "";
	CHECK(fwtables_place(&in, FW_BASE, FW_SIZE, &l, err, sizeof(err)) < 0);
	CHECK(strstr(err, "HPET") != NULL);
}

TEST(iasl_disassembly)
{
	struct fwtables_layout l;
	struct fwtables_in in = make_in(true);

	CHECK(build(&in, &l));
	CHECK(iasl_check("fw_hpet", ram + l.hpet, 56));
}

int main(void)
{
	check_start("fwhpet");
	RUN(roots_list_it);
	RUN(no_hpet_no_table);
	RUN(fields);
	RUN(iasl_disassembly);
	return check_finish();
}
