/*
 * stringio: the string port instructions where kasane's emulation has
 * edges (core/emul.c carries out INS/OUTS in batches of at most 4096
 * units per exit, and must check INS's destination before it reads the
 * port).  AMD APM vol. 3 "INS", "OUTS", "REP": each iteration moves one
 * unit and steps rSI/rDI by its size (down with DF=1); REP decrements rCX
 * per unit and the instruction completes only when rCX reaches 0; a fault
 * leaves rCX and rDI/rSI at the faulting iteration, so the guest can
 * resume by re-executing.
 *  1. Long REP: REP INSB/INSW/INSL of 10000 units from an unassigned port
 *     (all ones) into a zeroed buffer, forwards and with DF=1, must fill
 *     exactly the 10000 units and leave RCX 0 and RDI at the end; REP
 *     OUTSB of 10000 bytes to COM1's scratch register must leave the last
 *     byte there and RCX 0, RSI at the end; REP INSB of 10000 bytes from
 *     fw_cfg reads "QEMU", then zeros past the item's end.
 *  2. INS into a page that is not present: #PF (error code 0x2, CR2 the
 *     destination), and the port is not read: after mapping the page the
 *     repeated INS reads the first byte of fw_cfg's "QEMU" (each read of
 *     the data port consumes a byte, so a read made before the fault would
 *     be lost).  Also a REP INSB that crosses into the missing page (two
 *     bytes land, RCX and RDI stop at the fault, resumes with "MU"), an
 *     INSW whose second byte is on the missing page, and OUTSB from a
 *     missing page (#PF with error code 0, nothing written).
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "stringio";

#define COM1_SCR        (GUEST_COM1_PORT + 7)
#define UNASSIGNED_PORT 0x2e0
#define LONG            10000           /* > 2 batches of 4096 */
#define PF_W            0x2             /* #PF error code: write, not present, supervisor */

static uint8_t buf[LONG * 4 + 64] __attribute__((aligned(16)));
static uint8_t pages[2][4096] __attribute__((aligned(4096)));

/* Checks that exactly [lo, hi) of buf holds val and the rest is zero. */
static bool check_fill(const char *what, size_t lo, size_t hi, uint8_t val)
{
	for (size_t i = 0; i < sizeof(buf); i++) {
		uint8_t want = i >= lo && i < hi ? val : 0;
		if (buf[i] != want) {
			guest_fail("%s: byte %lu of the buffer is 0x%02x, expected 0x%02x "
				   "(units should fill bytes %lu-%lu)", what, (unsigned long)i,
				   buf[i], want, (unsigned long)lo, (unsigned long)hi - 1);
			return false;
		}
	}
	return true;
}

static void long_ins(unsigned size, bool backwards)
{
	char what[48];
	unsigned long rdi, rcx, bytes = (unsigned long)LONG * size;
	/* Forwards from buf + 16; backwards the first unit sits at the top. */
	uint8_t *start = backwards ? buf + 16 + bytes - size : buf + 16;

	guest_snprintf(what, sizeof(what), "%srep ins%c x %d from 0x%x", backwards ? "std; " : "",
		       size == 1 ? 'b' : size == 2 ? 'w' : 'l', LONG, UNASSIGNED_PORT);
	memset(buf, 0, sizeof(buf));
	rep_ins(size, UNASSIGNED_PORT, start, LONG, backwards, &rdi, &rcx);
	uintptr_t want_rdi = backwards ? (uintptr_t)start - bytes : (uintptr_t)start + bytes;
	bool ok = true;
	if (rcx != 0) {
		guest_fail("%s: RCX %lu, expected 0", what, rcx);
		ok = false;
	}
	if (rdi != want_rdi) {
		guest_fail("%s: RDI 0x%lx, expected 0x%lx (%ld bytes short)", what, rdi,
			   (unsigned long)want_rdi, (long)(backwards ? rdi - want_rdi : want_rdi - rdi));
		ok = false;
	}
	if (check_fill(what, 16, 16 + bytes, 0xff) && ok)
		guest_printf("stringio: %s ok\n", what);
}

static void long_outs(void)
{
	unsigned long s = (uintptr_t)buf, c = LONG;

	for (unsigned i = 0; i < LONG; i++)
		buf[i] = (uint8_t)(i * 7 + 3);  /* byte 4095 is 0xfc, byte 9999 is 0x74 */
	outb(COM1_SCR, 0);
	asm volatile("rep outsb" : "+S"(s), "+c"(c) : "d"(COM1_SCR) : "memory");
	uint8_t last = inb(COM1_SCR);
	bool ok = guest_check_eq("rep outsb x 10000 to COM1 scratch: RCX", c, 0);
	ok &= guest_check_eq("rep outsb x 10000 to COM1 scratch: RSI - start", s - (uintptr_t)buf, LONG);
	ok &= guest_check_eq("rep outsb x 10000 to COM1 scratch: last byte written", last, buf[LONG - 1]);
	if (ok)
		guest_printf("stringio: rep outsb x %d ok\n", LONG);
}

static void long_fwcfg(void)
{
	unsigned long rdi, rcx;

	memset(buf, 0xaa, sizeof(buf));
	fwcfg_select(FW_CFG_SIGNATURE);
	rep_ins(1, FW_CFG_PORT_DATA, buf, LONG, false, &rdi, &rcx);
	bool ok = guest_check_eq("rep insb x 10000 from fw_cfg: RCX", rcx, 0);
	ok &= guest_check_eq("rep insb x 10000 from fw_cfg: RDI - start", rdi - (uintptr_t)buf, LONG);
	if (memcmp(buf, "QEMU", 4)) {
		guest_fail("rep insb from fw_cfg read %02x %02x %02x %02x, expected \"QEMU\"",
			   buf[0], buf[1], buf[2], buf[3]);
		ok = false;
	}
	for (unsigned i = 4; i < sizeof(buf) && ok; i++) {
		uint8_t want = i < LONG ? 0 : 0xaa;
		if (buf[i] != want) {
			guest_fail("rep insb from fw_cfg: byte %u is 0x%02x, expected 0x%02x", i,
				   buf[i], want);
			ok = false;
		}
	}
	if (ok)
		guest_printf("stringio: rep insb x %d from fw_cfg ok\n", LONG);
}

/* ---- faults ------------------------------------------------------------- */

static uintptr_t missing(void)
{
	return (uintptr_t)pages[1];
}

static void unmap_missing(void)
{
	if (!pt_set_page(missing(), 0))
		guest_fail("cannot unmap page 0x%lx", (unsigned long)missing());
}

static void map_missing(void)
{
	if (!pt_set_page(missing(), PTE_P | PTE_W))
		guest_fail("cannot map page 0x%lx", (unsigned long)missing());
}

static bool check_pf(const char *what, unsigned long err, uintptr_t cr2)
{
	struct trap_info ti;

	if (!exception_check(what, EXC_PF, (long)err, &ti))
		return false;
	return guest_check_eq("CR2 of the #PF", ti.cr2, cr2);
}

/* One INSB into the missing page: no port read until it is there. */
static void ins_fault_single(void)
{
	unsigned long d = missing();

	fwcfg_select(FW_CFG_SIGNATURE);
	unmap_missing();
	expect_exception(EXC_PF);
	asm volatile("1: insb\n2:\n" EXTABLE("1b", "2b") : "+D"(d) : "d"(FW_CFG_PORT_DATA) : "memory");
	bool ok = check_pf("insb into a page that is not present", PF_W, missing());
	ok &= guest_check_eq("RDI after the faulting insb - start", d - missing(), 0);
	map_missing();
	asm volatile("insb" : "+D"(d) : "d"(FW_CFG_PORT_DATA) : "memory");
	if (pages[1][0] != 'Q') {
		guest_fail("insb after the #PF read 0x%02x ('%c'), expected 'Q': the faulting insb "
			   "consumed a byte of the port", pages[1][0],
			   pages[1][0] >= 0x20 && pages[1][0] < 0x7f ? pages[1][0] : '?');
		ok = false;
	}
	if (ok)
		guest_printf("stringio: insb into a missing page: #PF, no port read ok\n");
}

/* REP INSB of 4 bytes starting 2 bytes before the missing page. */
static void ins_fault_rep(void)
{
	uintptr_t start = missing() - 2;
	unsigned long d = start, c = 4;

	memset(pages[0] + 4092, 0, 4);
	fwcfg_select(FW_CFG_SIGNATURE);
	unmap_missing();
	expect_exception(EXC_PF);
	asm volatile("1: rep insb\n2:\n" EXTABLE("1b", "2b")
		     : "+D"(d), "+c"(c) : "d"(FW_CFG_PORT_DATA) : "memory");
	bool ok = check_pf("rep insb across into a page that is not present", PF_W, missing());
	ok &= guest_check_eq("RCX at the #PF", c, 2);
	ok &= guest_check_eq("RDI at the #PF - start", d - start, 2);
	map_missing();
	asm volatile("rep insb" : "+D"(d), "+c"(c) : "d"(FW_CFG_PORT_DATA) : "memory");
	ok &= guest_check_eq("RCX after resuming", c, 0);
	if (memcmp(pages[0] + 4094, "QE", 2) || memcmp(pages[1], "MU", 2)) {
		guest_fail("rep insb across the fault read %02x %02x | %02x %02x, expected \"QE\" | \"MU\"",
			   pages[0][4094], pages[0][4095], pages[1][0], pages[1][1]);
		ok = false;
	}
	if (ok)
		guest_printf("stringio: rep insb across into a missing page: resumed, nothing lost ok\n");
}

/* INSW whose second byte lies on the missing page. */
static void ins_fault_straddle(void)
{
	uintptr_t start = missing() - 1;
	unsigned long d = start;

	fwcfg_select(FW_CFG_SIGNATURE);
	unmap_missing();
	pages[0][4095] = 0;
	expect_exception(EXC_PF);
	asm volatile("1: insw\n2:\n" EXTABLE("1b", "2b") : "+D"(d) : "d"(FW_CFG_PORT_DATA) : "memory");
	bool ok = check_pf("insw straddling into a page that is not present", PF_W, missing());
	ok &= guest_check_eq("first byte written by the faulting insw", pages[0][4095], 0);
	map_missing();
	asm volatile("insw" : "+D"(d) : "d"(FW_CFG_PORT_DATA) : "memory");
	if (pages[0][4095] != 'Q' || pages[1][0] != 'E') {
		guest_fail("insw after the #PF read %02x %02x, expected \"QE\"", pages[0][4095],
			   pages[1][0]);
		ok = false;
	}
	if (ok)
		guest_printf("stringio: insw straddling into a missing page ok\n");
}

/* OUTSB from the missing page: #PF, the port is not written. */
static void outs_fault(void)
{
	unsigned long s = missing();

	map_missing();
	pages[1][0] = 0x5a;
	outb(COM1_SCR, 0x11);
	unmap_missing();
	expect_exception(EXC_PF);
	asm volatile("1: outsb\n2:\n" EXTABLE("1b", "2b") : "+S"(s) : "d"(COM1_SCR) : "memory");
	bool ok = check_pf("outsb from a page that is not present", 0, missing());
	ok &= guest_check_eq("COM1 scratch after the faulting outsb", inb(COM1_SCR), 0x11);
	ok &= guest_check_eq("RSI after the faulting outsb - start", s - missing(), 0);
	map_missing();
	if (ok)
		guest_printf("stringio: outsb from a missing page ok\n");
}

void test_main(void)
{
	long_ins(1, false);
	long_ins(2, false);
	long_ins(4, false);
	long_ins(1, true);
	long_ins(4, true);
	long_outs();
	long_fwcfg();

	pt_init();
	ins_fault_single();
	ins_fault_rep();
	ins_fault_straddle();
	outs_fault();
}
