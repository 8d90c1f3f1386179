/*
 * acpi: the ACPI firmware and fixed hardware as an OS finds them (ACPI
 * 6.5 §5.2, §4.8).
 *  - tables: the RSDP in 0xE0000-0xFFFFF (revision 2), the XSDT and every
 *    table it lists with a valid checksum; the FADT (revision 6, full
 *    ACPI: SCI 9, no SMI command port, PM1a event/control blocks, a
 *    32-bit PM timer, the reset register 0xcf9 with value 6, each also as
 *    an X_ Generic Address Structure; legacy devices, no 8042, no VGA,
 *    MSI), its FACS (64-byte aligned) and DSDT (checksum, \_S5), the MADT
 *    (the SCI's level/active-high override) and the MCFG;
 *  - PM1_CNT.SCI_EN reads 1 (always in ACPI mode);
 *  - the PM timer counts at 3.579545 MHz: 3 ticks per tick of the PIT
 *    (both divide the PC's 14.31818 MHz crystal), timed over a PIT
 *    channel 2 window whose ends are each bracketed by two PM timer
 *    reads, so a vCPU held up anywhere only widens the bounds;
 *  - then the guest writes the SLP_TYP of \_S5 with SLP_EN to PM1a_CNT,
 *    which must end the VM with status 0, "powered off" (the manifest
 *    checks that).  A failed check ends it through the exit port instead.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "acpi";

#define BIOS_AREA       0xe0000u
#define BIOS_END        0x100000u
#define HDR             36
#define TABLE_MAX       0x10000u

#define PM_TIMER_HZ     3579545u
/* The window's start is known only between the IN before the OUT that
 * starts it and the IN after: no window narrows that.  On Bochs these
 * exits run at a tick per instruction and span 0.9-1.04 % of the window. */
#define RATE_TOL_PCT    2
#define TRIES           50
#define SPIN_MAX        4096            /* PAUSEs before a window's poll: beyond one poll on Bochs */
#define PIT_CH2         0x42
#define PIT_CTRL        0x43
#define PORT_B          0x61
#define PORTB_GATE2     0x01
#define PORTB_SPKR      0x02
#define PORTB_OUT2      0x20
#define CAL_PIT         59659u          /* 50 ms of the 1.193182 MHz PIT */
#define PM1_SCI_EN      0x0001u
#define PM1_SLP_EN      0x2000u
#define PM1_SLP_TYP_SHIFT 10

static uint32_t rd16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* A pointer the compiler cannot see through (low memory is identity-mapped). */
static const uint8_t *phys(uint64_t pa)
{
	uintptr_t p = (uintptr_t)pa;

	asm("" : "+r"(p));
	return (const uint8_t *)p;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static const uint8_t *find_rsdp(void)
{
	for (uint32_t a = BIOS_AREA; a < BIOS_END; a += 16) {
		const uint8_t *r = phys(a);
		if (!memcmp(r, "RSD PTR ", 8) && !sum8(r, 20) && r[15] >= 2 &&
		    rd32(r + 20) >= 36 && rd32(r + 20) <= BIOS_END - a && !sum8(r, rd32(r + 20)))
			return r;
	}
	return NULL;
}

/* The table at pa if its length and checksum are sane (and sig matches). */
static const uint8_t *table_at(uint64_t pa, const char *sig)
{
	if (!pa || pa >= (1ull << 32) - TABLE_MAX)
		return NULL;
	const uint8_t *t = phys(pa);
	uint32_t len = rd32(t + 4);
	if (len < HDR || len > TABLE_MAX || sum8(t, len) || (sig && memcmp(t, sig, 4)))
		return NULL;
	return t;
}

static const uint8_t *xsdt_find(const uint8_t *xsdt, const char *sig)
{
	uint32_t n = (rd32(xsdt + 4) - HDR) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = table_at(rd64(xsdt + HDR + 8 * i), NULL);
		if (!t)
			guest_fail("XSDT entry %u: no valid table at 0x%lx", i,
				   (unsigned long)rd64(xsdt + HDR + 8 * i));
		else if (!memcmp(t, sig, 4))
			return t;
	}
	guest_fail("the XSDT lists no %s", sig);
	return NULL;
}

static void check_gas_io(const char *what, const uint8_t *g, uint32_t port, unsigned bits)
{
	if (g[0] != 1 || g[1] != bits || rd64(g + 4) != port)
		guest_fail("FADT %s: space %u, %u bits at 0x%lx; want I/O, %u bits at 0x%x",
			   what, g[0], g[1], (unsigned long)rd64(g + 4), bits, port);
}

/*
 * The FADT's fields.  Returns the PM1a_CNT port (0 if the FADT is unusable)
 * and the PM timer's port in *tmr.
 */
static uint16_t check_fadt(const uint8_t *f, uint16_t *tmr, const uint8_t **dsdt)
{
	uint32_t flags = rd32(f + 112);
	uint16_t boot = (uint16_t)rd16(f + 109);

	guest_check_eq("FADT length", rd32(f + 4), 276);
	guest_check_eq("FADT revision", f[8], 6);
	guest_check_eq("FADT HW_REDUCED_ACPI", flags >> 20 & 1, 0);
	guest_check_eq("FADT TMR_VAL_EXT (32-bit PM timer)", flags >> 8 & 1, 1);
	guest_check_eq("FADT RESET_REG_SUP", flags >> 10 & 1, 1);
	guest_check_eq("FADT SCI_INT", rd16(f + 46), 9);
	guest_check_eq("FADT SMI_CMD", rd32(f + 48), 0);
	guest_check_eq("FADT PM1a_EVT_BLK", rd32(f + 56), 0x600);
	guest_check_eq("FADT PM1a_CNT_BLK", rd32(f + 64), 0x604);
	guest_check_eq("FADT PM_TMR_BLK", rd32(f + 76), 0x608);
	guest_check_eq("FADT PM1_EVT_LEN", f[88], 4);
	guest_check_eq("FADT PM1_CNT_LEN", f[89], 2);
	guest_check_eq("FADT PM_TMR_LEN", f[91], 4);
	guest_check_eq("FADT CENTURY", f[108], 0x32);
	guest_check_eq("FADT IAPC_BOOT_ARCH legacy devices", boot & 1, 1);
	guest_check_eq("FADT IAPC_BOOT_ARCH 8042", boot >> 1 & 1, 0);
	guest_check_eq("FADT IAPC_BOOT_ARCH VGA not present", boot >> 2 & 1, 1);
	guest_check_eq("FADT IAPC_BOOT_ARCH MSI not supported", boot >> 3 & 1, 0);
	check_gas_io("RESET_REG", f + 116, 0xcf9, 8);
	guest_check_eq("FADT RESET_VALUE", f[128], 6);
	check_gas_io("X_PM1a_EVT_BLK", f + 148, 0x600, 32);
	check_gas_io("X_PM1a_CNT_BLK", f + 172, 0x604, 16);
	check_gas_io("X_PM_TMR_BLK", f + 208, 0x608, 32);

	/* §5.2.10: the FACS, named by both fields, 64-byte aligned. */
	uint64_t facs = rd64(f + 132);
	guest_check_eq("FADT FIRMWARE_CTRL = X_FIRMWARE_CTRL", rd32(f + 36), facs);
	if (!facs || facs % 64 || facs >= BIOS_END || memcmp(phys(facs), "FACS", 4) ||
	    rd32(phys(facs) + 4) < 64)
		guest_fail("no valid 64-byte aligned FACS at 0x%lx", (unsigned long)facs);

	uint64_t d = rd64(f + 140);
	guest_check_eq("FADT DSDT = X_DSDT", rd32(f + 40), d);
	*dsdt = table_at(d, "DSDT");
	if (!*dsdt)
		guest_fail("no valid DSDT at 0x%lx", (unsigned long)d);
	*tmr = (uint16_t)rd32(f + 76);
	return guest_result() == RESULT_SUCCESS ? (uint16_t)rd32(f + 64) : 0;
}

/*
 * SLP_TYPa of \_S5 as an OS reads it: Name(_S5_, Package(n) {SLP_TYPa,
 * ...}) with a one-byte PkgLength (§20.2.4), the value a Zero, One or
 * BytePrefix constant (§20.2.3).  -1 if not found.
 */
static int s5_slp_typ(const uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint32_t i = HDR; i + 9 <= len; i++) {
		const uint8_t *p = dsdt + i;
		if (p[0] != 0x08 || memcmp(p + 1, "_S5_", 4) || p[5] != 0x12 || p[6] >= 0x40)
			continue;
		if (p[8] == 0x00 || p[8] == 0x01)
			return p[8];
		if (p[8] == 0x0a)
			return p[9];
	}
	return -1;
}

/* The SCI's override in the MADT (§5.2.12.5): ISA IRQ 9, level, active-high. */
static void check_madt_sci(const uint8_t *m)
{
	uint32_t len = rd32(m + 4);

	for (uint32_t off = 44; off + 2 <= len && m[off + 1] >= 2; off += m[off + 1])
		if (m[off] == 2 && m[off + 1] >= 10 && m[off + 3] == 9) {
			guest_check_eq("MADT SCI override GSI", rd32(m + off + 4), 9);
			guest_check_eq("MADT SCI override flags", rd16(m + off + 8), 0xd);
			return;
		}
	guest_fail("the MADT has no interrupt source override for the SCI (IRQ 9)");
}

/*
 * One PIT channel 2 window of CAL_PIT ticks (mode 0: OUT2, port 0x61 bit
 * 5, rises at terminal count; Intel 8254 data sheet), measured in PM timer
 * ticks.  Both clocks come from the PC's 14.31818 MHz crystal, /12 and /4,
 * so the window is 3 x CAL_PIT PM ticks long.  Its start (the MSB write)
 * and end (OUT2 seen high) are each bracketed by two PM timer reads, so
 * the true length lies in [*lo, *hi] however long the vCPU was held up.
 * The poll starts after 'spin' PAUSEs: see check_timer_rate.  False if
 * OUT2 never rises.
 */
static bool pit_window(uint16_t tmr, uint32_t spin, uint32_t *lo, uint32_t *hi)
{
	outb(PORT_B, (inb(PORT_B) & ~PORTB_SPKR) | PORTB_GATE2);
	outb(PIT_CTRL, 0xb0);                   /* channel 2, LSB then MSB, mode 0 */
	outb(PIT_CH2, CAL_PIT & 0xff);
	uint32_t s0 = inl(tmr);
	outb(PIT_CH2, CAL_PIT >> 8);            /* counting starts */
	uint32_t s1 = inl(tmr), e0 = s1, e1;

	for (uint32_t i = 0; i < spin; i++)
		cpu_relax();
	for (;;) {
		uint32_t before = inl(tmr);
		bool high = inb(PORT_B) & PORTB_OUT2;
		e1 = inl(tmr);
		if (high)
			break;
		e0 = before;
		if (e1 - s0 > 100 * 3 * CAL_PIT)
			return false;
	}
	*lo = e0 - s1;
	*hi = e1 - s0;
	return true;
}

/*
 * The PM timer's rate against the PIT: 3 PM ticks per PIT tick, within
 * RATE_TOL_PCT.  Every window's bounds hold the true length, so they are
 * intersected until they agree to RATE_TOL_PCT (a busy host holds the
 * vCPU up anywhere: each window only narrows what is known).  Where the
 * window's end falls between two polls depends on when the polls began:
 * each window starts polling after a different number of PAUSEs, so that
 * on a deterministic machine, where nothing else moves it, the end still
 * falls at other places in the bracket.  On Bochs each window gave the
 * same bounds, 1.5 % apart (the exits of the start and of one poll);
 * with the shifted polls they close in on the start's own bracket.
 */
static void check_timer_rate(uint16_t tmr)
{
	const uint32_t want = 3 * CAL_PIT, slack = want * RATE_TOL_PCT / 100;
	uint32_t lo = 0, hi = UINT32_MAX;

	for (int i = 0; i < TRIES && hi - lo > slack; i++) {
		uint32_t l, h;
		if (!pit_window(tmr, (uint32_t)i * 613 % SPIN_MAX, &l, &h)) {
			guest_fail("PIT channel 2 never ended a %u-tick window", CAL_PIT);
			return;
		}
		lo = l > lo ? l : lo;
		hi = h < hi ? h : hi;
		if (lo > hi) {
			guest_fail("PM timer: windows of %u PIT ticks disagree (%u-%u ticks)",
				   CAL_PIT, hi, lo);
			return;
		}
	}
	guest_printf("acpi: PM timer: %u-%u ticks in %u PIT ticks (want %u)\n",
		     lo, hi, CAL_PIT, want);
	if (hi - lo > slack)
		guest_error("PM timer: %d windows left it between %u and %u ticks", TRIES, lo, hi);
	else if (hi < want - slack || lo > want + slack)
		guest_fail("PM timer: %u-%u ticks in %u PIT ticks, not 3.579545 MHz",
			   lo, hi, CAL_PIT);
}

void test_main(void)
{
	const uint8_t *rsdp = find_rsdp();

	if (!rsdp) {
		guest_fail("no ACPI 2.0 RSDP in 0x%x-0x%x", BIOS_AREA, BIOS_END);
		return;
	}
	const uint8_t *xsdt = table_at(rd64(rsdp + 24), "XSDT");
	if (!xsdt) {
		guest_fail("RSDP at %p: no valid XSDT", (const void *)rsdp);
		return;
	}
	const uint8_t *fadt = xsdt_find(xsdt, "FACP");
	const uint8_t *madt = xsdt_find(xsdt, "APIC");
	const uint8_t *mcfg = xsdt_find(xsdt, "MCFG");
	if (!fadt || !madt || !mcfg)
		return;
	check_madt_sci(madt);
	guest_check_eq("MCFG length", rd32(mcfg + 4), 60);
	guest_check_eq("MCFG ECAM base", rd64(mcfg + 44), 0xe0000000u);
	guest_check_eq("MCFG segment", rd16(mcfg + 52), 0);
	guest_check_eq("MCFG start bus", mcfg[54], 0);

	uint16_t tmr;
	const uint8_t *dsdt = NULL;
	uint16_t cnt = check_fadt(fadt, &tmr, &dsdt);
	if (!cnt)
		return;
	int typ = s5_slp_typ(dsdt);
	if (typ < 0 || typ > 7) {
		guest_fail("the DSDT has no Name(_S5_, Package() {SLP_TYP, ...})");
		return;
	}
	guest_printf("acpi: tables valid; DSDT %u bytes, \\_S5 SLP_TYP %d\n",
		     rd32(dsdt + 4), typ);

	guest_check_eq("PM1_CNT.SCI_EN", inw(cnt) & PM1_SCI_EN, PM1_SCI_EN);
	guest_check_eq("reset register before any write", inb(0xcf9), 0);

	uint32_t t0 = inl(tmr), t1 = inl(tmr);
	if (t1 == t0 && inl(tmr) == t0)
		guest_fail("the PM timer does not count (0x%x)", t0);
	else
		check_timer_rate(tmr);
	if (guest_result() != RESULT_SUCCESS)
		return;

	guest_printf("acpi: entering S5 (SLP_TYP %d, SLP_EN) through PM1a_CNT 0x%x\n", typ, cnt);
	outw(cnt, (uint16_t)(typ << PM1_SLP_TYP_SHIFT | PM1_SLP_EN));
	uint32_t start = inl(tmr);
	while (inl(tmr) - start < PM_TIMER_HZ)
		cpu_relax();
	guest_fail("still running 1 s after entering S5");
}
