/*
 * Ending the run on the physical machine.
 * - QEMU: isa-debug-exit at port 0xf4 (QEMU exits with status 2v+1),
 *   used only when fw_cfg at 0x510 identifies QEMU.
 * - ACPI soft-off: write SLP_TYP | SLP_EN to PM1a/PM1b_CNT (ACPI 6.x §4.8.3.2.1,
 *   §7.4.2.5 for \_S5).
 * - Reset: the FADT reset register if given (§4.8.3.6), else port 0xcf9,
 *   else the keyboard controller's pulse (0xfe to port 0x64).
 */
#include "drivers/power.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"

#define FW_CFG_PORT_SEL   0x510
#define FW_CFG_PORT_DATA  0x511
#define FW_CFG_SIGNATURE  0x0000
#define QEMU_EXIT_PORT    0xf4
#define SLP_EN            (1u << 13)

static int is_qemu = -1;
static uint16_t pm1a, pm1b, typa, typb;
static bool have_s5;
static uint8_t reset_space, reset_value;
static uint64_t reset_addr;

bool platform_is_qemu(void)
{
	if (is_qemu < 0) {
		char sig[4];
		outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
		for (int i = 0; i < 4; i++)
			sig[i] = inb(FW_CFG_PORT_DATA);
		is_qemu = sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U';
	}
	return is_qemu;
}

void platform_set_acpi_poweroff(uint16_t pm1a_cnt, uint16_t pm1b_cnt, uint16_t slp_typa,
				uint16_t slp_typb)
{
	pm1a = pm1a_cnt;
	pm1b = pm1b_cnt;
	typa = slp_typa;
	typb = slp_typb;
	have_s5 = pm1a != 0;
}

void platform_set_reset_reg(uint8_t space, uint64_t addr, uint8_t value)
{
	reset_space = space;
	reset_addr = addr;
	reset_value = value;
}

void platform_qemu_exit(int status)
{
	if (platform_is_qemu())
		outb(QEMU_EXIT_PORT, (uint8_t)status);
}

/*
 * Bochs: known by its BIOS's ACPI OEM ID when fw_cfg says it is not QEMU;
 * writing "Shutdown" to port 0x8900 ends the simulation (the Bochs BIOS's
 * APM power-off uses the same port).
 */
static bool bochs_firmware;

void platform_set_firmware_oem(const char oemid[6])
{
	/* Bochs's BIOS (and SeaBIOS) sign their ACPI tables "BOCHS ". */
	bochs_firmware = oemid[0] == 'B' && oemid[1] == 'O' && oemid[2] == 'C' &&
			 oemid[3] == 'H' && oemid[4] == 'S';
}

bool platform_is_bochs(void)
{
	return !platform_is_qemu() && bochs_firmware;
}

void platform_bochs_exit(void)
{
	const char *s = "Shutdown";

	if (!platform_is_bochs())
		return;
	while (*s)
		outb(0x8900, (uint8_t)*s++);
}

void platform_poweroff(void)
{
	if (!have_s5)
		return;
	outw(pm1a, (uint16_t)((inw(pm1a) & ~(7u << 10)) | (typa << 10) | SLP_EN));
	if (pm1b)
		outw(pm1b, (uint16_t)((inw(pm1b) & ~(7u << 10)) | (typb << 10) | SLP_EN));
	udelay(100000);
}

void platform_reset(void)
{
	/* Generic address space 1 = system I/O (ACPI 6.x §5.2.3.2). */
	if (reset_space == 1 && reset_addr && reset_addr <= 0xffff) {
		outb((uint16_t)reset_addr, reset_value);
		udelay(100000);
	}
	outb(0xcf9, 0x02);
	outb(0xcf9, 0x06);
	udelay(100000);
	outb(0x64, 0xfe);
	udelay(100000);
}
