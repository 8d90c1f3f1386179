/*
 * fwcfg: kasane's fw_cfg device (QEMU docs/specs/fw_cfg.rst, I/O ports):
 * signature "QEMU", FW_CFG_ID bit 0 (traditional interface) set, and
 * FW_CFG_NB_CPUS / FW_CFG_RAM_SIZE equal to what the VM was configured
 * with, given on this guest's command line as expect_cpus=N and
 * expect_mem=SIZE (K/M/G suffixes).  Also lists the file directory.
 */
#include "test/guests/lib/guest.h"

const char test_name[] = "fwcfg";

#define MAX_FILES       64

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* FW_CFG_FILE_DIR: 32-bit BE count, then 64-byte entries (size BE32, select BE16, reserved, name[56]). */
static void list_files(void)
{
	uint8_t hdr[4], ent[64];

	fwcfg_select(FW_CFG_FILE_DIR);
	fwcfg_read(hdr, sizeof(hdr));
	uint32_t n = be32(hdr);
	guest_printf("fwcfg: %u files\n", n);
	for (uint32_t i = 0; i < n && i < MAX_FILES; i++) {
		fwcfg_read(ent, sizeof(ent));
		ent[63] = '\0';
		guest_printf("fwcfg:   0x%04x %6u %s\n", (unsigned)(ent[4] << 8 | ent[5]),
			     be32(ent), (const char *)ent + 8);
	}
}

static bool want_value(const char *cmdline, const char *key, bool size, uint64_t *out)
{
	char buf[32];

	if (!cmdline_get(cmdline, key, buf, sizeof(buf)) ||
	    !(size ? parse_size(buf, out) : parse_u64(buf, out))) {
		guest_error("command line \"%s\" lacks a valid %s=", cmdline, key);
		return false;
	}
	return true;
}

void test_main(void)
{
	char sig[5] = { 0 };
	uint64_t want_cpus, want_mem;

	fwcfg_select(FW_CFG_SIGNATURE);
	fwcfg_read(sig, 4);
	if (memcmp(sig, "QEMU", 4)) {
		guest_fail("signature \"%s\", expected \"QEMU\"", sig);
		return;
	}
	uint32_t id = (uint32_t)fwcfg_read_le(FW_CFG_ID, 4);
	uint64_t cpus = fwcfg_read_le(FW_CFG_NB_CPUS, 2);
	uint64_t max_cpus = fwcfg_read_le(FW_CFG_MAX_CPUS, 2);
	uint64_t mem = fwcfg_read_le(FW_CFG_RAM_SIZE, 8);
	guest_printf("fwcfg: signature ok, id 0x%x, %lu cpus (max %lu), RAM 0x%lx\n",
		     id, cpus, max_cpus, mem);
	if (!(id & 1))
		guest_fail("FW_CFG_ID 0x%x: bit 0 (traditional interface) clear", id);
	if (max_cpus < cpus)
		guest_fail("FW_CFG_MAX_CPUS %lu is below FW_CFG_NB_CPUS %lu", max_cpus, cpus);
	list_files();

	if (!mb2_valid(boot_info)) {
		guest_error("RDI 0x%lx is not a valid Multiboot2 information structure", boot_info);
		return;
	}
	const char *cmdline = mb2_cmdline(boot_info);
	guest_printf("fwcfg: command line \"%s\"\n", cmdline);
	if (want_value(cmdline, "expect_cpus", false, &want_cpus))
		guest_check_eq("FW_CFG_NB_CPUS", cpus, want_cpus);
	if (want_value(cmdline, "expect_mem", true, &want_mem))
		guest_check_eq("FW_CFG_RAM_SIZE", mem, want_mem);
}
