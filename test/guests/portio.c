/*
 * portio: IN/OUT in 8, 16 and 32-bit widths and the string forms
 * (INS/OUTS, with REP and with DF=1), against three kinds of port:
 *  - fw_cfg (QEMU docs/specs/fw_cfg.rst): FW_CFG_SIGNATURE reads "QEMU".
 *    Assumption shared with kasane's fw_cfg: a 16- or 32-bit read of the
 *    data port returns the next 2 or 4 bytes of the item, little-endian
 *    (QEMU itself only allows byte reads of the I/O data port).
 *  - COM1's scratch register (PC16550D register 7): reads back what was
 *    written; REP OUTSB to THR must print "portio: rep outsb ok".
 *  - an unassigned port (0x2e0): reads all ones in every width, writes
 *    are ignored.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "portio";

#define COM1_SCR        (GUEST_COM1_PORT + 7)
#define UNASSIGNED_PORT 0x2e0

static const char outs_line[] = "portio: rep outsb ok\n";

static void check_ins(const char *what, unsigned size, bool backwards, uint16_t port,
		      const char *want)
{
	uint8_t buf[16] = { 0 };
	unsigned long count = 4 / size, rdi, rcx;
	uint8_t *start = backwards ? buf + 8 + 4 - size : buf + 8;
	uint8_t expect[4];

	/* With DF=1 unit k (the k-th read) is stored at start - k * size. */
	for (unsigned k = 0; k < count; k++)
		memcpy(backwards ? expect + 4 - (k + 1) * size : expect + k * size,
		       want + k * size, size);
	fwcfg_select(FW_CFG_SIGNATURE);
	rep_ins(size, port, start, count, backwards, &rdi, &rcx);
	unsigned long want_rdi = backwards ? (uintptr_t)start - 4 : (uintptr_t)start + 4;
	if (memcmp(buf + 8, expect, 4) || buf[7] || buf[12])
		guest_fail("%s read bytes %02x %02x %02x %02x (before %02x, after %02x), "
			   "expected %02x %02x %02x %02x", what, buf[8], buf[9], buf[10],
			   buf[11], buf[7], buf[12], expect[0], expect[1], expect[2], expect[3]);
	else if (rcx != 0 || rdi != want_rdi)
		guest_fail("%s left RCX %lu RDI 0x%lx, expected 0 and 0x%lx", what, rcx,
			   rdi, want_rdi);
	else
		guest_printf("portio: %s ok\n", what);
}

static void test_fwcfg(void)
{
	char sig[5] = { 0 };

	fwcfg_select(FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(FW_CFG_PORT_DATA);
	if (memcmp(sig, "QEMU", 4))
		guest_fail("inb 0x511 x4 after selecting the signature read \"%s\", "
			   "expected \"QEMU\"", sig);
	else
		guest_printf("portio: inb fw_cfg signature \"%s\" ok\n", sig);

	fwcfg_select(FW_CFG_SIGNATURE);
	guest_check_eq("inw 0x511 (bytes 0-1 of \"QEMU\")", inw(FW_CFG_PORT_DATA), 0x4551);
	guest_check_eq("inw 0x511 (bytes 2-3 of \"QEMU\")", inw(FW_CFG_PORT_DATA), 0x554d);
	fwcfg_select(FW_CFG_SIGNATURE);
	guest_check_eq("inl 0x511 (\"QEMU\")", inl(FW_CFG_PORT_DATA), 0x554d4551);
	uint32_t id = (uint32_t)fwcfg_read_le(FW_CFG_ID, 4);
	fwcfg_select(FW_CFG_ID);
	guest_check_eq("inl 0x511 of FW_CFG_ID vs four inb", inl(FW_CFG_PORT_DATA), id);

	check_ins("rep insb fw_cfg", 1, false, FW_CFG_PORT_DATA, "QEMU");
	check_ins("rep insw fw_cfg", 2, false, FW_CFG_PORT_DATA, "QEMU");
	check_ins("rep insl fw_cfg", 4, false, FW_CFG_PORT_DATA, "QEMU");
	check_ins("std; rep insb fw_cfg", 1, true, FW_CFG_PORT_DATA, "QEMU");
	check_ins("std; rep insw fw_cfg", 2, true, FW_CFG_PORT_DATA, "QEMU");
}

static void test_uart(void)
{
	static const uint8_t vals[] = { 0x00, 0x5a, 0xa5, 0xff, 0x01 };
	bool ok = true;

	for (unsigned i = 0; i < ARRAY_SIZE(vals); i++) {
		outb(COM1_SCR, vals[i]);
		uint8_t got = inb(COM1_SCR);
		if (got != vals[i]) {
			guest_fail("inb 0x3ff returned 0x%x after outb 0x%x", got, vals[i]);
			ok = false;
		}
	}
	if (ok)
		guest_printf("portio: COM1 scratch register ok\n");

	unsigned long s = (uintptr_t)outs_line, c = sizeof(outs_line) - 1;
	asm volatile("rep outsb" : "+S"(s), "+c"(c) : "d"(GUEST_COM1_PORT) : "memory");
	if (c != 0 || s != (uintptr_t)outs_line + sizeof(outs_line) - 1)
		guest_fail("rep outsb left RCX %lu RSI 0x%lx", c, s);
}

static void test_unassigned(void)
{
	outb(UNASSIGNED_PORT, 0x12);
	outw(UNASSIGNED_PORT, 0x1234);
	outl(UNASSIGNED_PORT, 0x12345678);
	guest_check_eq("inb 0x2e0 (unassigned)", inb(UNASSIGNED_PORT), 0xff);
	guest_check_eq("inw 0x2e0 (unassigned)", inw(UNASSIGNED_PORT), 0xffff);
	guest_check_eq("inl 0x2e0 (unassigned)", inl(UNASSIGNED_PORT), 0xffffffff);

	uint32_t buf[3] = { 0 };
	unsigned long rdi, rcx;
	rep_ins(4, UNASSIGNED_PORT, &buf[0], 2, false, &rdi, &rcx);
	if (buf[0] != 0xffffffff || buf[1] != 0xffffffff || buf[2] != 0)
		guest_fail("rep insl from 0x2e0 read 0x%x 0x%x 0x%x, expected all ones twice",
			   buf[0], buf[1], buf[2]);
	guest_printf("portio: unassigned port done\n");
}

void test_main(void)
{
	test_fwcfg();
	test_uart();
	test_unassigned();
}
