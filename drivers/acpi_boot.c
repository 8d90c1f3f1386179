/*
 * The hypervisor's use of the firmware's ACPI tables: the MADT for the
 * CPUs, and the FADT (with \_S5 from the DSDT) for power-off and reset.
 */
#include "drivers/acpi_boot.h"
#include "drivers/power.h"
#include "arch/x86/paging.h"
#include "kernel/log.h"
#include "lib/string.h"

static const void *map_identity(void *ctx, uint64_t pa, uint64_t len)
{
	return map_phys_ro(pa, len);
}

/*
 * Find the \_S5 package in the DSDT's AML and read SLP_TYPa/b (ACPI 6.x
 * §7.4.2.5, AML encoding §20.2).  Looks for NameOp "_S5_" PackageOp and
 * takes the first two integer elements.
 */
static bool find_s5(const uint8_t *aml, uint32_t len, uint16_t *a, uint16_t *b)
{
	for (uint32_t i = 0; i + 12 < len; i++) {
		if (memcmp(aml + i, "_S5_", 4) != 0)
			continue;
		if (i < 1 || (aml[i - 1] != 0x08 &&
			      !(i >= 2 && aml[i - 2] == 0x08 && aml[i - 1] == '\\')))
			continue;
		uint32_t p = i + 4;
		if (aml[p++] != 0x12)           /* PackageOp */
			continue;
		p += ((aml[p] >> 6) & 3) + 1;   /* PkgLength */
		p++;                            /* NumElements */
		uint16_t v[2];
		for (int k = 0; k < 2; k++) {
			if (p >= len)
				return false;
			if (aml[p] == 0x0a && p + 1 < len) {        /* BytePrefix */
				v[k] = aml[p + 1];
				p += 2;
			} else if (aml[p] == 0x00 || aml[p] == 0x01) { /* Zero/One */
				v[k] = aml[p];
				p += 1;
			} else if (aml[p] == 0x0b && p + 2 < len) { /* WordPrefix */
				v[k] = aml[p + 1] | (aml[p + 2] << 8);
				p += 3;
			} else {
				return false;
			}
		}
		*a = v[0] & 7;
		*b = v[1] & 7;
		return true;
	}
	return false;
}

static void setup_power(uint64_t rsdp_pa, const void *copy, size_t copy_len)
{
	char err[160];
	uint64_t pa;
	uint32_t len;

	if (acpi_find_table(map_identity, NULL, rsdp_pa, copy, copy_len, "FACP",
			    &pa, err, sizeof(err)) < 0) {
		pr_warn("acpi: no FADT (%s); power-off falls back to halt\n", err);
		return;
	}
	const uint8_t *fadt = acpi_map_table(map_identity, NULL, pa, "FACP", &len,
					     err, sizeof(err));
	if (!fadt || len < 116) {
		pr_warn("acpi: FADT unusable; power-off falls back to halt\n");
		return;
	}
	/* FADT fields (ACPI 6.x §5.2.9, Table 5.9): DSDT at 40, PM1a_CNT_BLK
	 * at 64, PM1b_CNT_BLK at 68, RESET_REG at 116 (GAS), RESET_VALUE at 128,
	 * X_DSDT at 140. */
	uint32_t dsdt32, pm1a, pm1b;
	uint64_t dsdt = 0;
	memcpy(&dsdt32, fadt + 40, 4);
	memcpy(&pm1a, fadt + 64, 4);
	memcpy(&pm1b, fadt + 68, 4);
	dsdt = dsdt32;
	if (len >= 148) {
		uint64_t x;
		memcpy(&x, fadt + 140, 8);
		if (x)
			dsdt = x;
	}
	if (len >= 129) {
		uint64_t addr;
		memcpy(&addr, fadt + 120, 8);
		platform_set_reset_reg(fadt[116], addr, fadt[128]);
	}
	uint32_t dlen;
	const uint8_t *d = dsdt ? acpi_map_table(map_identity, NULL, dsdt, "DSDT", &dlen,
						 err, sizeof(err)) : NULL;
	uint16_t a, b;
	if (d && pm1a && pm1a <= 0xffff && find_s5(d + 36, dlen - 36, &a, &b))
		platform_set_acpi_poweroff((uint16_t)pm1a, pm1b <= 0xffff ? (uint16_t)pm1b : 0, a, b);
	else
		pr_warn("acpi: no \\_S5 sleep state found; power-off falls back to halt\n");
}

/*
 * The RSDP: from the Multiboot2 ACPI tags when the loader gave them (GRUB
 * does on BIOS and UEFI); otherwise, on BIOS only, from the scan of the
 * EBDA and the BIOS ROM (ACPI 6.5 §5.2.5.1).  UEFI machines need not have
 * those areas at all, so there kasane does not look.
 */
static bool find_rsdp(const struct boot_info *bi, uint64_t *rsdp_pa)
{
	*rsdp_pa = 0;
	if (bi->rsdp) {
		pr_info("acpi: RSDP from the Multiboot2 %s tag\n",
			bi->rsdp_source == BOOT_RSDP_ACPI_NEW ? "ACPI 2.0+ (type 15)" :
			"ACPI 1.0 (type 14)");
		return true;
	}
	if (bi->firmware == BOOT_FW_UEFI) {
		pr_warn("acpi: no RSDP (no Multiboot2 ACPI tag, and UEFI has no BIOS areas to scan); booting one CPU\n");
		return false;
	}
	if (acpi_find_rsdp(map_identity, NULL, rsdp_pa) < 0) {
		pr_warn("acpi: no RSDP (no Multiboot2 ACPI tag, none in the BIOS areas); booting one CPU\n");
		return false;
	}
	pr_info("acpi: RSDP at 0x%llx, from the BIOS area scan\n", (unsigned long long)*rsdp_pa);
	return true;
}

bool acpi_boot_init(const struct boot_info *bi, struct acpi_madt_info *madt)
{
	char err[160];
	const void *rsdp_copy = bi->rsdp;
	size_t rsdp_len = bi->rsdp_len;
	uint64_t rsdp_pa, pa;
	uint32_t len;

	if (!find_rsdp(bi, &rsdp_pa))
		return false;
	/*
	 * The OEM ID is bytes 9-14 of the RSDP (ACPI 6.5 §5.2.5.3).  A
	 * Multiboot2 ACPI tag may be shorter than that: only a copy that
	 * holds at least the 20-byte ACPI 1.0 RSDP is read (found by
	 * test/fuzz/fuzz_acpi.c).
	 */
	const char *rsdp = rsdp_copy ? (rsdp_len >= ACPI_RSDP_V1_LEN ? rsdp_copy : NULL) :
			   map_phys_ro(rsdp_pa, ACPI_RSDP_V1_LEN);
	if (rsdp)
		platform_set_firmware_oem(rsdp + 9);    /* RSDP OEMID, ACPI 6.5 §5.2.5.3 */
	setup_power(rsdp_pa, rsdp_copy, rsdp_len);
	if (acpi_find_table(map_identity, NULL, rsdp_pa, rsdp_copy, rsdp_len, "APIC",
			    &pa, err, sizeof(err)) < 0) {
		pr_warn("acpi: no usable MADT: %s; booting one CPU\n", err);
		return false;
	}
	const void *t = acpi_map_table(map_identity, NULL, pa, "APIC", &len, err, sizeof(err));
	if (!t || acpi_parse_madt(t, len, madt, err, sizeof(err)) < 0) {
		pr_warn("acpi: broken MADT: %s; booting one CPU\n", err);
		return false;
	}
	return true;
}
