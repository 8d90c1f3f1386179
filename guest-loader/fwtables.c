/*
 * ACPI and MP tables for guests; see fwtables.h.  Section numbers are from
 * the ACPI 6.5 specification and the Intel MultiProcessor Specification
 * 1.4.  Tables are written field by field, little-endian, through a cursor
 * that keeps every byte inside the checked range and sums the bytes for
 * the checksum of the table being written.
 */
#include "guest-loader/fwtables.h"
#include "guest-loader/aml.h"
#include "lib/printf.h"
#include "lib/string.h"

/* ---- ACPI constants ------------------------------------------------------ */

#define ACPI_OEM_ID             "KASANE"        /* 6 bytes */
#define ACPI_OEM_TABLE_ID       "KASANEVM"      /* 8 bytes */
#define ACPI_CREATOR_ID         "KSNE"
#define ACPI_HDR_LEN            36              /* §5.2.6 */

#define RSDP_LEN                36              /* §5.2.5.3 */
#define RSDP_V1_LEN             20              /* covered by the first checksum */
#define NR_ROOT_TABLES          3               /* FACP, APIC, MCFG; HPET if there is one */
#define NR_ROOTS(in)            (NR_ROOT_TABLES + ((in)->hpet_base != 0))
#define XSDT_LEN(in)            (ACPI_HDR_LEN + NR_ROOTS(in) * 8)       /* §5.2.8 */
#define RSDT_LEN(in)            (ACPI_HDR_LEN + NR_ROOTS(in) * 4)       /* §5.2.7 */
#define HPET_LEN                56              /* IA-PC HPET 1.0a §3.2.4, Table 3 */
#define FADT_LEN                276             /* §5.2.9, revision 6 */
#define FACS_LEN                64              /* §5.2.10 */
#define FACS_ALIGN              64
#define MADT_FIXED_LEN          44              /* §5.2.12 */
#define MCFG_LEN                (ACPI_HDR_LEN + 8 + 16) /* PCI Firmware 3.2 §4.1.2 */

#define FADT_REVISION           6
#define FADT_MINOR_VERSION      5               /* ACPI 6.5, errata 0 */
#define MADT_REVISION           6
#define DSDT_REVISION           2               /* 64-bit AML integers */
#define FACS_VERSION            2               /* §5.2.10, Table 5.14 */
#define MCFG_REVISION           1

#define ECAM_BUS_SIZE           (1ull << 20)    /* 32 devices x 8 functions x 4 KiB */
#define PCI_SLOTS               32
#define IOAPIC_PINS             24

/* Generic Address Structure, §5.2.3.2. */
#define GAS_SYSTEM_MEMORY       0
#define GAS_SYSTEM_IO           1
#define GAS_ACCESS_BYTE         1
#define GAS_ACCESS_WORD         2
#define GAS_ACCESS_DWORD        3

/* Fixed-hardware block lengths the FADT gives (§4.8.3). */
#define PM1_EVT_LEN             4
#define PM1_CNT_LEN             2
#define PM_TMR_LEN              4

/* C2 and C3 latencies above these mean "not supported" (§5.2.9). */
#define P_LVL2_NONE             101
#define P_LVL3_NONE             1001

/* FADT Fixed Feature Flags, §5.2.9, Table 5.10. */
#define FADT_WBINVD             (1u << 0)
#define FADT_PROC_C1            (1u << 2)       /* HLT works on every CPU */
#define FADT_PWR_BUTTON         (1u << 4)       /* left clear: fixed power button */
#define FADT_SLP_BUTTON         (1u << 5)       /* no fixed sleep button */
#define FADT_FIX_RTC            (1u << 6)       /* left clear: RTC_STS/RTC_EN in PM1 */
#define FADT_TMR_VAL_EXT        (1u << 8)       /* 32-bit PM timer */
#define FADT_RESET_REG_SUP      (1u << 10)

/* IA-PC Boot Architecture Flags, §5.2.9.3. */
#define IAPC_LEGACY_DEVICES     (1u << 0)       /* COM1, RTC, PIT on ISA */
#define IAPC_8042               (1u << 1)       /* left clear: no 8042 */
#define IAPC_VGA_NOT_PRESENT    (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED  (1u << 3)       /* left clear: MSI works */
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)     /* left clear: RTC present */

/* MADT, §5.2.12. */
#define MADT_PCAT_COMPAT        1u
#define MADT_LAPIC              0               /* §5.2.12.2 */
#define MADT_LAPIC_LEN          8
#define MADT_LAPIC_ENABLED      1u
#define MADT_IOAPIC             1               /* §5.2.12.3 */
#define MADT_IOAPIC_LEN         12
#define MADT_OVERRIDE           2               /* §5.2.12.5 */
#define MADT_OVERRIDE_LEN       10
#define MADT_LAPIC_NMI          4               /* §5.2.12.7 */
#define MADT_LAPIC_NMI_LEN      6
#define MADT_UID_ALL            0xFF
#define MPS_INTI_CONFORMING     0               /* Table 5.26: bus defaults */
#define MPS_INTI_HIGH_LEVEL     0x000d          /* active-high (01), level (11) */

/* ---- MP table constants (MP spec 1.4 §4) --------------------------------- */

#define MPFP_LEN                16              /* §4.1 */
#define MPCT_HDR_LEN            44              /* §4.2 */
#define MP_SPEC_REV             4               /* version 1.4 */
#define MP_OEM_ID               "KASANE  "      /* 8 bytes, space-filled */
#define MP_PRODUCT_ID           "VM          "  /* 12 bytes */

#define MP_PROC                 0               /* §4.3.1 */
#define MP_PROC_LEN             20
#define MP_PROC_EN              1u
#define MP_PROC_BP              2u
#define MP_BUS                  1               /* §4.3.2 */
#define MP_IOAPIC               2               /* §4.3.3 */
#define MP_IOAPIC_EN            1u
#define MP_IOINT                3               /* §4.3.4 */
#define MP_LINT                 4               /* §4.3.5 */
#define MP_ENTRY_LEN            8               /* every type but MP_PROC */
#define MP_INT_INT              0               /* interrupt types, Table 4-9 */
#define MP_INT_NMI              1
#define MP_INT_EXTINT           3
#define MP_ALL_LAPICS           0xFF
#define MP_ISA_BUS              0
#define MP_PCI_BUS              1               /* bus ID of PCI bus 0 */
#define MP_NR_BUSES             2
#define MP_NR_PCI_IOINTS        ((PCI_SLOTS - 1) * 4)   /* devices 1-31, INTA-INTD */
#define MP_PCI_INTI             0x000f          /* Table 4-10: active-low, level */
#define MP_ISA_IRQS             16
#define MP_NR_IOINTS            (MP_ISA_IRQS - 1)       /* IRQ 2 is the cascade */
#define MP_NR_LINTS             2

/*
 * What the processor entries report; informational only (OSes take the
 * real values from CPUID and the APIC version registers).  Must match the
 * versions the emulated local APIC and IOAPIC report.
 */
#define FW_LAPIC_VERSION        0x14
#define FW_IOAPIC_VERSION       0x11
#define FW_CPU_SIGNATURE        0x600           /* family 6, model 0, stepping 0 */
#define FW_CPU_FEATURES         0x331           /* CPUID.1:EDX FPU TSC MSR CX8 APIC */

_Static_assert(sizeof(ACPI_OEM_ID) == 6 + 1, "ACPI OEMID is 6 bytes");
_Static_assert(sizeof(ACPI_OEM_TABLE_ID) == 8 + 1, "OEM Table ID is 8 bytes");
_Static_assert(sizeof(MP_OEM_ID) == 8 + 1, "MP OEM ID is 8 bytes");
_Static_assert(sizeof(MP_PRODUCT_ID) == 12 + 1, "MP product ID is 12 bytes");

/* ---- sizes and placement ------------------------------------------------- */

static uint32_t madt_len(unsigned n)
{
	return MADT_FIXED_LEN + n * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
	       2 * MADT_OVERRIDE_LEN + MADT_LAPIC_NMI_LEN;
}

static unsigned mpct_entries(unsigned n)
{
	return n + MP_NR_BUSES + 1 + MP_NR_IOINTS + MP_NR_PCI_IOINTS + MP_NR_LINTS;
}

static uint32_t mpct_len(unsigned n)
{
	return MPCT_HDR_LEN + n * MP_PROC_LEN +
	       (MP_NR_BUSES + 1 + MP_NR_IOINTS + MP_NR_PCI_IOINTS + MP_NR_LINTS) *
	       MP_ENTRY_LEN;
}

static int check_in(const struct fwtables_in *in, char *err, size_t errlen)
{
	if (!in)
		return errf(err, errlen, "no firmware table input given");
	if (in->nr_vcpus < 1 || in->nr_vcpus > FWTABLES_MAX_VCPUS)
		return errf(err, errlen, "%u vCPUs; the MADT and MP table "
			       "describe 1..%u", in->nr_vcpus, FWTABLES_MAX_VCPUS);
	/* The 82093AA's ID register has 4 bits (§3.2.1).  I/O APIC IDs need
	 * not differ from local APIC IDs with xAPIC (separate namespaces;
	 * QEMU's PCs use 0 for both), so a VM with 16 vCPUs may share one. */
	if (in->ioapic_id > 15)
		return errf(err, errlen, "IOAPIC ID %u does not fit the 4-bit "
			       "ID register", in->ioapic_id);
	if (in->lapic_addr == 0 || !IS_ALIGNED(in->lapic_addr, PAGE_SIZE))
		return errf(err, errlen, "local APIC address 0x%x is not a "
			       "non-zero 4 KiB-aligned address", in->lapic_addr);
	if (in->ioapic_addr == 0)
		return errf(err, errlen, "IOAPIC address is 0");
	if (!IS_ALIGNED(in->ecam_base, ECAM_BUS_SIZE) || !in->ecam_size ||
	    !IS_ALIGNED(in->ecam_size, ECAM_BUS_SIZE) || in->ecam_size > 256 * ECAM_BUS_SIZE ||
	    in->ecam_base + in->ecam_size > 4 * GiB)
		return errf(err, errlen, "ECAM 0x%llx+0x%llx is not 1-256 buses of 1 MiB "
			    "below 4 GiB", (unsigned long long)in->ecam_base,
			    (unsigned long long)in->ecam_size);
	if (!in->mmio32_size || (uint64_t)in->mmio32_base + in->mmio32_size > 4 * GiB)
		return errf(err, errlen, "32-bit PCI window 0x%x+0x%x is empty or "
			    "passes 4 GiB", in->mmio32_base, in->mmio32_size);
	if (in->mmio64_size && (in->mmio64_base < 4 * GiB ||
				in->mmio64_base + in->mmio64_size < in->mmio64_base))
		return errf(err, errlen, "64-bit PCI window 0x%llx+0x%llx is not above "
			    "4 GiB", (unsigned long long)in->mmio64_base,
			    (unsigned long long)in->mmio64_size);
	if (!in->intx_gsi)
		return errf(err, errlen, "no PCI INTx routing given");
	for (unsigned slot = 1; slot < PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++)
			if (in->intx_gsi(slot, pin) >= IOAPIC_PINS)
				return errf(err, errlen, "INTx routing: device %u pin %u "
					    "to GSI %u, past the IOAPIC", slot, pin,
					    in->intx_gsi(slot, pin));
	if (!in->pm1a_evt_port || !in->pm1a_cnt_port || !in->pm_tmr_port ||
	    !in->reset_port || in->pm1a_evt_port > 0x10000 - PM1_EVT_LEN ||
	    in->pm1a_cnt_port > 0x10000 - PM1_CNT_LEN || in->pm_tmr_port > 0x10000 - PM_TMR_LEN)
		return errf(err, errlen, "an ACPI fixed-hardware port is 0 or runs past 0xffff");
	if (in->sci_irq == 0 || in->sci_irq == 2 || in->sci_irq > 15)
		return errf(err, errlen, "SCI on ISA IRQ %u; 1-15 but 2 are possible",
			    in->sci_irq);
	if (in->s5_slp_typ > 7)
		return errf(err, errlen, "S5 SLP_TYP %u does not fit 3 bits", in->s5_slp_typ);
	if (in->com1_irq > 15 || in->rtc_irq > 15 || !in->com1_port || !in->rtc_port)
		return errf(err, errlen, "COM1 or RTC without a port or on IRQ past 15");
	/* IA-PC HPET 1.0a §2.3.1: the registers take a 1 KiB-aligned 1 KiB. */
	if (!IS_ALIGNED(in->hpet_base, 0x400))
		return errf(err, errlen, "HPET at 0x%llx is not 1 KiB-aligned",
			    (unsigned long long)in->hpet_base);
	return 0;
}

/* ---- the DSDT's AML (ACPI 6.5 §5.2.11.1; built with aml.h) ------------------- */

static uint64_t last(uint64_t base, uint64_t size)
{
	return base + size - 1;
}

/*
 * \_SB.PCI0, the PCI Express root bridge (§6.1.5 _HID PNP0A08, _CID
 * PNP0A03; PCI Firmware 3.2 §4.1.1).  _CRS (§6.2.2): the buses ECAM
 * covers, the configuration ports it consumes, I/O below and above them,
 * and the memory windows.  _PRT (§6.2.13): GSI form (Source 0), so every
 * INTx is level-triggered, active-low and shareable.
 */
static void dsdt_pci0(struct aml *a, const struct fwtables_in *in)
{
	uint16_t last_bus = (uint16_t)(in->ecam_size / ECAM_BUS_SIZE - 1);

	aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_UID");
	aml_integer(a, 0);

	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_res_word_bus(a, 0, last_bus);
	aml_res_io(a, 0xcf8, 0xcf8, 1, 8);     /* CONFIG_ADDRESS, CONFIG_DATA */
	aml_res_word_io(a, 0x0000, 0x0cf7);
	aml_res_word_io(a, 0x0d00, 0xffff);
	aml_res_dword_mem(a, in->mmio32_base, (uint32_t)last(in->mmio32_base, in->mmio32_size));
	if (in->mmio64_size)
		aml_res_qword_mem(a, in->mmio64_base, last(in->mmio64_base, in->mmio64_size));
	aml_end(a);

	aml_name(a, "_PRT");
	aml_package_begin(a, (PCI_SLOTS - 1) * 4);
	for (unsigned slot = 1; slot < PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* any function */
			aml_integer(a, pin);
			aml_integer(a, 0);      /* Source: none, a GSI */
			aml_integer(a, in->intx_gsi(slot, pin));
			aml_end(a);
		}
	aml_end(a);
	aml_end(a);
}

/* A device with a _HID and a _CRS; the caller writes the descriptors and
 * closes the template and the device with aml_end() twice. */
static void dsdt_device(struct aml *a, const char *name, const char *hid, int uid)
{
	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	if (uid >= 0) {
		aml_name(a, "_UID");
		aml_integer(a, (uint64_t)uid);
	}
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
}

static void dsdt_aml(struct aml *a, const struct fwtables_in *in)
{
	aml_scope_begin(a, "\\_SB");
	dsdt_pci0(a, in);

	/* Motherboard resources (PNP0C02): ECAM (PCI Firmware 3.2 §4.1.2
	 * asks for it to be reserved here) and the fixed-hardware ports. */
	dsdt_device(a, "MRES", "PNP0C02", 0);
	aml_res_mem32_fixed(a, true, (uint32_t)in->ecam_base, (uint32_t)in->ecam_size);
	aml_res_io(a, in->pm1a_evt_port, in->pm1a_evt_port, 1, PM1_EVT_LEN);
	aml_res_io(a, in->pm1a_cnt_port, in->pm1a_cnt_port, 1, PM1_CNT_LEN);
	aml_res_io(a, in->pm_tmr_port, in->pm_tmr_port, 1, PM_TMR_LEN);
	aml_end(a);
	aml_end(a);

	dsdt_device(a, "COM1", "PNP0501", 1);          /* 16550A UART */
	aml_res_io(a, in->com1_port, in->com1_port, 1, 8);
	aml_res_irq_noflags(a, (uint16_t)(1u << in->com1_irq));
	aml_end(a);
	aml_end(a);

	dsdt_device(a, "RTC", "PNP0B00", -1);          /* AT real-time clock */
	aml_res_io(a, in->rtc_port, in->rtc_port, 1, 2);
	aml_res_irq_noflags(a, (uint16_t)(1u << in->rtc_irq));
	aml_end(a);
	aml_end(a);
	aml_end(a);

	/* \_S5 (§7.4.2): SLP_TYPa, SLP_TYPb, reserved, reserved. */
	aml_name(a, "_S5");
	aml_package_begin(a, 4);
	aml_integer(a, in->s5_slp_typ);
	aml_integer(a, in->s5_slp_typ);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
}

static uint32_t dsdt_len(const struct fwtables_in *in)
{
	struct aml a;

	aml_init(&a, NULL, 0);
	dsdt_aml(&a, in);
	return (uint32_t)(ACPI_HDR_LEN + a.len);
}

/* Lay the tables out from offset 0; returns the total size. */
static uint64_t layout_from(const struct fwtables_in *in, gpa_t start,
			    struct fwtables_layout *l)
{
	gpa_t p = start;

	l->start = start;
	l->facs = p;  p += FACS_LEN;
	l->rsdp = p;  p += ALIGN_UP(RSDP_LEN, 16);
	l->mpfp = p;  p += MPFP_LEN;
	l->xsdt = p;  p += ALIGN_UP(XSDT_LEN(in), 8);
	l->rsdt = p;  p += ALIGN_UP(RSDT_LEN(in), 8);
	l->fadt = p;  p += ALIGN_UP(FADT_LEN, 8);
	l->dsdt = p;  p += ALIGN_UP(dsdt_len(in), 8);
	l->madt = p;  p += ALIGN_UP(madt_len(in->nr_vcpus), 8);
	l->mcfg = p;  p += ALIGN_UP(MCFG_LEN, 8);
	l->mpct = p;  p += ALIGN_UP(mpct_len(in->nr_vcpus), 8);
	l->hpet = 0;
	if (in->hpet_base) {
		l->hpet = p;  p += ALIGN_UP(HPET_LEN, 8);
	}
	l->end = start + ALIGN_UP(p - start, FACS_ALIGN);
	return l->end - start;
}

size_t fwtables_size(const struct fwtables_in *in)
{
	struct fwtables_layout l;

	if (check_in(in, NULL, 0))
		return 0;
	return (size_t)layout_from(in, 0, &l);
}

int fwtables_place(const struct fwtables_in *in, gpa_t base, uint64_t size,
		   struct fwtables_layout *out, char *err, size_t errlen)
{
	if (check_in(in, err, errlen))
		return -1;
	if (size == 0 || base + size < base || base + size > 4 * GiB)
		return errf(err, errlen, "firmware table range 0x%llx+0x%llx "
			       "does not end below 4 GiB",
			       (unsigned long long)base, (unsigned long long)size);

	uint64_t need = layout_from(in, 0, out);
	gpa_t top = ALIGN_DOWN(base + size, FACS_ALIGN);
	if (top < base || top - base < need)
		return errf(err, errlen, "firmware tables for %u vCPUs need "
			       "%llu bytes, range 0x%llx+0x%llx has too few",
			       in->nr_vcpus, (unsigned long long)need,
			       (unsigned long long)base, (unsigned long long)size);
	layout_from(in, top - need, out);
	return 0;
}

/* ---- the checked cursor ---------------------------------------------------- */

struct fw_out {
	struct guest_mem *m;
	gpa_t lo, pos, end;     /* writes stay in [lo, end); next at pos */
	uint8_t sum;            /* of the bytes of the current table */
	bool bad;
};

static void out_bytes(struct fw_out *o, const void *src, size_t n)
{
	const uint8_t *b = src;

	if (o->bad || o->pos < o->lo || n > o->end - o->pos ||
	    !gmem_write(o->m, o->pos, src, n)) {
		o->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		o->sum = (uint8_t)(o->sum + b[i]);
	o->pos += n;
}

static void out_u8(struct fw_out *o, uint8_t v)
{
	out_bytes(o, &v, 1);
}

static void out_u16(struct fw_out *o, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	out_bytes(o, b, 2);
}

static void out_u32(struct fw_out *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	out_bytes(o, b, 4);
}

static void out_u64(struct fw_out *o, uint64_t v)
{
	out_u32(o, (uint32_t)v);
	out_u32(o, (uint32_t)(v >> 32));
}

static void out_zero(struct fw_out *o, size_t n)
{
	static const uint8_t zero[16];

	while (n && !o->bad) {
		size_t k = MIN(n, sizeof(zero));
		out_bytes(o, zero, k);
		n -= k;
	}
}

/*
 * Take n bytes that something else wrote in place at pos (the AML): check
 * and sum them as if written through the cursor.
 */
static void out_placed(struct fw_out *o, size_t n)
{
	const uint8_t *b = gmem_ptr(o->m, o->pos, n);

	if (o->bad || !b || n > o->end - o->pos) {
		o->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		o->sum = (uint8_t)(o->sum + b[i]);
	o->pos += n;
}

/* Zero-fill up to gpa (the next table's start). */
static void out_pad_to(struct fw_out *o, gpa_t gpa)
{
	if (gpa < o->pos)
		o->bad = true;
	else
		out_zero(o, gpa - o->pos);
}

/* Start a checksummed structure at gpa. */
static void out_begin(struct fw_out *o, gpa_t gpa)
{
	out_pad_to(o, gpa);
	o->sum = 0;
}

/*
 * Store the checksum byte at gpa (already written as 0) so that the bytes
 * summed since out_begin add up to 0; later bytes keep summing from there.
 */
static void out_checksum(struct fw_out *o, gpa_t gpa)
{
	uint8_t c = (uint8_t)-o->sum;

	if (o->bad || gpa < o->lo || gpa >= o->pos ||
	    !gmem_write(o->m, gpa, &c, 1)) {
		o->bad = true;
		return;
	}
	o->sum = (uint8_t)(o->sum + c);
}

/* A structure started at gpa must have come out exactly len bytes long. */
static void out_check_len(struct fw_out *o, gpa_t gpa, uint32_t len)
{
	if (o->pos - gpa != len)
		o->bad = true;
}

/* ---- ACPI ------------------------------------------------------------------ */

/* System description table header, §5.2.6; the checksum is fixed later. */
static void acpi_header(struct fw_out *o, gpa_t at, const char sig[4],
			uint32_t len, uint8_t rev)
{
	out_begin(o, at);
	out_bytes(o, sig, 4);
	out_u32(o, len);
	out_u8(o, rev);
	out_u8(o, 0);                           /* checksum */
	out_bytes(o, ACPI_OEM_ID, 6);
	out_bytes(o, ACPI_OEM_TABLE_ID, 8);
	out_u32(o, 1);                          /* OEM revision */
	out_bytes(o, ACPI_CREATOR_ID, 4);
	out_u32(o, 1);                          /* creator revision */
}

static void acpi_finish(struct fw_out *o, gpa_t at, uint32_t len)
{
	out_check_len(o, at, len);
	out_checksum(o, at + 9);
}

/* §5.2.5.3: revision 2, first checksum over 20 bytes, extended over 36. */
static void acpi_rsdp(struct fw_out *o, const struct fwtables_layout *l)
{
	out_begin(o, l->rsdp);
	out_bytes(o, "RSD PTR ", 8);
	out_u8(o, 0);                           /* checksum */
	out_bytes(o, ACPI_OEM_ID, 6);
	out_u8(o, 2);                           /* revision */
	out_u32(o, (uint32_t)l->rsdt);
	out_checksum(o, l->rsdp + 8);
	out_u32(o, RSDP_LEN);
	out_u64(o, l->xsdt);
	out_u8(o, 0);                           /* extended checksum */
	out_zero(o, 3);
	out_check_len(o, l->rsdp, RSDP_LEN);
	out_checksum(o, l->rsdp + 32);
}

/* §5.2.8 and §5.2.7: both roots list the FADT, the MADT and the MCFG,
 * and the HPET table if there is one. */
static void acpi_roots(struct fw_out *o, const struct fwtables_layout *l,
		       const struct fwtables_in *in)
{
	acpi_header(o, l->xsdt, "XSDT", XSDT_LEN(in), 1);
	out_u64(o, l->fadt);
	out_u64(o, l->madt);
	out_u64(o, l->mcfg);
	if (l->hpet)
		out_u64(o, l->hpet);
	acpi_finish(o, l->xsdt, XSDT_LEN(in));

	acpi_header(o, l->rsdt, "RSDT", RSDT_LEN(in), 1);
	out_u32(o, (uint32_t)l->fadt);
	out_u32(o, (uint32_t)l->madt);
	out_u32(o, (uint32_t)l->mcfg);
	if (l->hpet)
		out_u32(o, (uint32_t)l->hpet);
	acpi_finish(o, l->rsdt, RSDT_LEN(in));
}

/*
 * The HPET description table (IA-PC HPET 1.0a §3.2.4, Table 3): the Event
 * Timer Block ID (the capabilities' low 32 bits), the registers' base as
 * a Generic Address Structure in system memory (64-bit registers), HPET
 * number 0, the minimum periodic tick, and no page protection (the
 * registers share their 4 KiB page with nothing else of the guest's).
 */
static void acpi_hpet(struct fw_out *o, const struct fwtables_layout *l,
		      const struct fwtables_in *in)
{
	if (!l->hpet)
		return;
	acpi_header(o, l->hpet, "HPET", HPET_LEN, 1);
	out_u32(o, in->hpet_id);
	out_u8(o, GAS_SYSTEM_MEMORY);
	out_u8(o, 64);                          /* register bit width */
	out_u8(o, 0);                           /* bit offset */
	out_u8(o, 0);                           /* access size: undefined (any) */
	out_u64(o, in->hpet_base);
	out_u8(o, 0);                           /* HPET number */
	out_u16(o, in->hpet_min_tick);
	out_u8(o, 0);                           /* page protection: none given */
	acpi_finish(o, l->hpet, HPET_LEN);
}

/* Generic Address Structure (§5.2.3.2) of an I/O port block. */
static void out_gas_io(struct fw_out *o, uint16_t port, uint8_t bytes, uint8_t access)
{
	out_u8(o, GAS_SYSTEM_IO);
	out_u8(o, (uint8_t)(bytes * 8));        /* register bit width */
	out_u8(o, 0);                           /* bit offset */
	out_u8(o, access);
	out_u64(o, port);
}

/*
 * FADT revision 6 (§5.2.9, Table 5.9), full ACPI: the fixed hardware is
 * in I/O space, named both by the 32-bit block fields and by the X_
 * Generic Address Structures.  SMI_CMD = 0: the platform is always in
 * ACPI mode (§4.8.2.1.1; PM1_CNT.SCI_EN reads 1).  No GPE blocks, no PM2
 * block, no PM1b blocks, no C2/C3.
 */
static void acpi_fadt(struct fw_out *o, const struct fwtables_layout *l,
		      const struct fwtables_in *in)
{
	acpi_header(o, l->fadt, "FACP", FADT_LEN, FADT_REVISION);
	out_u32(o, (uint32_t)l->facs);          /* 36 FIRMWARE_CTRL */
	out_u32(o, (uint32_t)l->dsdt);          /* 40 DSDT */
	out_u8(o, 0);                           /* 44 reserved */
	out_u8(o, 0);                           /* 45 Preferred_PM_Profile: unspecified */
	out_u16(o, in->sci_irq);                /* 46 SCI_INT */
	out_u32(o, 0);                          /* 48 SMI_CMD: none */
	out_u8(o, 0);                           /* 52 ACPI_ENABLE */
	out_u8(o, 0);                           /* 53 ACPI_DISABLE */
	out_u8(o, 0);                           /* 54 S4BIOS_REQ */
	out_u8(o, 0);                           /* 55 PSTATE_CNT */
	out_u32(o, in->pm1a_evt_port);          /* 56 PM1a_EVT_BLK */
	out_u32(o, 0);                          /* 60 PM1b_EVT_BLK */
	out_u32(o, in->pm1a_cnt_port);          /* 64 PM1a_CNT_BLK */
	out_u32(o, 0);                          /* 68 PM1b_CNT_BLK */
	out_u32(o, 0);                          /* 72 PM2_CNT_BLK */
	out_u32(o, in->pm_tmr_port);            /* 76 PM_TMR_BLK */
	out_u32(o, 0);                          /* 80 GPE0_BLK */
	out_u32(o, 0);                          /* 84 GPE1_BLK */
	out_u8(o, PM1_EVT_LEN);                 /* 88 PM1_EVT_LEN */
	out_u8(o, PM1_CNT_LEN);                 /* 89 PM1_CNT_LEN */
	out_u8(o, 0);                           /* 90 PM2_CNT_LEN */
	out_u8(o, PM_TMR_LEN);                  /* 91 PM_TMR_LEN */
	out_u8(o, 0);                           /* 92 GPE0_BLK_LEN */
	out_u8(o, 0);                           /* 93 GPE1_BLK_LEN */
	out_u8(o, 0);                           /* 94 GPE1_BASE */
	out_u8(o, 0);                           /* 95 CST_CNT */
	out_u16(o, P_LVL2_NONE);                /* 96 P_LVL2_LAT */
	out_u16(o, P_LVL3_NONE);                /* 98 P_LVL3_LAT */
	out_u16(o, 0);                          /* 100 FLUSH_SIZE */
	out_u16(o, 0);                          /* 102 FLUSH_STRIDE */
	out_u8(o, 0);                           /* 104 DUTY_OFFSET */
	out_u8(o, 0);                           /* 105 DUTY_WIDTH */
	out_u8(o, 0);                           /* 106 DAY_ALRM: none */
	out_u8(o, 0);                           /* 107 MON_ALRM: none */
	out_u8(o, in->rtc_century);             /* 108 CENTURY */
	out_u16(o, IAPC_LEGACY_DEVICES | IAPC_VGA_NOT_PRESENT); /* 109 IAPC_BOOT_ARCH */
	out_u8(o, 0);                           /* 111 reserved */
	out_u32(o, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
		   FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP);     /* 112 Flags */
	out_gas_io(o, in->reset_port, 1, GAS_ACCESS_BYTE);     /* 116 RESET_REG */
	out_u8(o, in->reset_value);             /* 128 RESET_VALUE */
	out_u16(o, 0);                          /* 129 ARM_BOOT_ARCH */
	out_u8(o, FADT_MINOR_VERSION);          /* 131 FADT Minor Version */
	out_u64(o, l->facs);                    /* 132 X_FIRMWARE_CTRL */
	out_u64(o, l->dsdt);                    /* 140 X_DSDT */
	out_gas_io(o, in->pm1a_evt_port, PM1_EVT_LEN, GAS_ACCESS_WORD); /* 148 */
	out_zero(o, 12);                        /* 160 X_PM1b_EVT_BLK */
	out_gas_io(o, in->pm1a_cnt_port, PM1_CNT_LEN, GAS_ACCESS_WORD); /* 172 */
	out_zero(o, 12);                        /* 184 X_PM1b_CNT_BLK */
	out_zero(o, 12);                        /* 196 X_PM2_CNT_BLK */
	out_gas_io(o, in->pm_tmr_port, PM_TMR_LEN, GAS_ACCESS_DWORD); /* 208 */
	out_zero(o, 2 * 12);                    /* 220 X_GPE0_BLK, X_GPE1_BLK */
	out_zero(o, 2 * 12);                    /* 244 SLEEP_CONTROL/STATUS_REG: none */
	out_bytes(o, "KASANE\0\0", 8);          /* 268 Hypervisor Vendor Identity */
	acpi_finish(o, l->fadt, FADT_LEN);
}

/* FACS (§5.2.10): no waking vector (no S1-S4), the global lock free. */
static void acpi_facs(struct fw_out *o, const struct fwtables_layout *l)
{
	out_begin(o, l->facs);
	out_bytes(o, "FACS", 4);
	out_u32(o, FACS_LEN);
	out_u32(o, 0);                          /* hardware signature */
	out_u32(o, 0);                          /* firmware waking vector */
	out_u32(o, 0);                          /* global lock */
	out_u32(o, 0);                          /* flags: no S4BIOS, no 64-bit wake */
	out_u64(o, 0);                          /* X firmware waking vector */
	out_u8(o, FACS_VERSION);
	out_zero(o, 3);
	out_u32(o, 0);                          /* OSPM flags */
	out_zero(o, 24);
	out_check_len(o, l->facs, FACS_LEN);
}

/*
 * §5.2.11.1: the definition block, its AML built in place.  Returns -1
 * with the reason in err if the builder refused the AML (a bug here, as
 * the input was checked); a cursor fault only marks o bad.
 */
static int acpi_dsdt(struct fw_out *o, const struct fwtables_layout *l,
		     const struct fwtables_in *in, char *err, size_t errlen)
{
	uint32_t len = dsdt_len(in);
	struct aml a;

	acpi_header(o, l->dsdt, "DSDT", len, DSDT_REVISION);
	if (o->bad)
		return 0;
	aml_init(&a, gmem_ptr(o->m, o->pos, len - ACPI_HDR_LEN), len - ACPI_HDR_LEN);
	dsdt_aml(&a, in);
	if (aml_finish(&a, err, errlen) < 0)
		return -1;
	out_placed(o, len - ACPI_HDR_LEN);
	acpi_finish(o, l->dsdt, len);
	return 0;
}

/* PCI Firmware 3.2 §4.1.2: one ECAM allocation for segment 0. */
static void acpi_mcfg(struct fw_out *o, const struct fwtables_layout *l,
		      const struct fwtables_in *in)
{
	acpi_header(o, l->mcfg, "MCFG", MCFG_LEN, MCFG_REVISION);
	out_zero(o, 8);                         /* reserved */
	out_u64(o, in->ecam_base);
	out_u16(o, 0);                          /* PCI segment group */
	out_u8(o, 0);                           /* start bus */
	out_u8(o, (uint8_t)(in->ecam_size / ECAM_BUS_SIZE - 1));  /* end bus */
	out_u32(o, 0);
	acpi_finish(o, l->mcfg, MCFG_LEN);
}

/*
 * §5.2.12.  Two Interrupt Source Overrides (§5.2.12.5): the PIT's IRQ 0
 * is wired to IOAPIC pin 2, as on PCs; the SCI's ISA line is level-
 * triggered and active-high (the override the FADT's SCI_INT needs on a
 * PC, where the line is otherwise taken as ISA edge).  Every other ISA
 * IRQ is identity-mapped with the ISA defaults.
 */
static void acpi_madt(struct fw_out *o, const struct fwtables_layout *l,
		      const struct fwtables_in *in)
{
	acpi_header(o, l->madt, "APIC", madt_len(in->nr_vcpus), MADT_REVISION);
	out_u32(o, in->lapic_addr);
	out_u32(o, in->pic ? MADT_PCAT_COMPAT : 0);

	for (unsigned i = 0; i < in->nr_vcpus; i++) {
		out_u8(o, MADT_LAPIC);
		out_u8(o, MADT_LAPIC_LEN);
		out_u8(o, (uint8_t)i);          /* ACPI processor UID */
		out_u8(o, (uint8_t)i);          /* APIC ID */
		out_u32(o, MADT_LAPIC_ENABLED);
	}

	out_u8(o, MADT_IOAPIC);
	out_u8(o, MADT_IOAPIC_LEN);
	out_u8(o, in->ioapic_id);
	out_u8(o, 0);
	out_u32(o, in->ioapic_addr);
	out_u32(o, 0);                          /* GSI base */

	out_u8(o, MADT_OVERRIDE);
	out_u8(o, MADT_OVERRIDE_LEN);
	out_u8(o, 0);                           /* bus: ISA */
	out_u8(o, 0);                           /* source: IRQ 0 */
	out_u32(o, 2);                          /* GSI 2 */
	out_u16(o, MPS_INTI_CONFORMING);

	out_u8(o, MADT_OVERRIDE);
	out_u8(o, MADT_OVERRIDE_LEN);
	out_u8(o, 0);                           /* bus: ISA */
	out_u8(o, in->sci_irq);
	out_u32(o, in->sci_irq);                /* identity-mapped */
	out_u16(o, MPS_INTI_HIGH_LEVEL);

	out_u8(o, MADT_LAPIC_NMI);
	out_u8(o, MADT_LAPIC_NMI_LEN);
	out_u8(o, MADT_UID_ALL);
	out_u16(o, MPS_INTI_CONFORMING);
	out_u8(o, 1);                           /* LINT1 */
	acpi_finish(o, l->madt, madt_len(in->nr_vcpus));
}

/* ---- MP table -------------------------------------------------------------- */

/* §4.1: one paragraph; feature byte 1 = 0 (a configuration table is
 * present), byte 2 bit 7 (IMCRP) = 0: virtual wire mode, no IMCR. */
static void mp_floating(struct fw_out *o, const struct fwtables_layout *l)
{
	out_begin(o, l->mpfp);
	out_bytes(o, "_MP_", 4);
	out_u32(o, (uint32_t)l->mpct);
	out_u8(o, MPFP_LEN / 16);
	out_u8(o, MP_SPEC_REV);
	out_u8(o, 0);                           /* checksum */
	out_zero(o, 5);                         /* feature bytes 1-5 */
	out_check_len(o, l->mpfp, MPFP_LEN);
	out_checksum(o, l->mpfp + 10);
}

static void mp_entry8(struct fw_out *o, uint8_t type, uint8_t a, uint16_t b,
		      uint8_t c, uint8_t d, uint8_t e, uint8_t f)
{
	out_u8(o, type);
	out_u8(o, a);
	out_u16(o, b);
	out_u8(o, c);
	out_u8(o, d);
	out_u8(o, e);
	out_u8(o, f);
}

/* §4.2 header, then §4.3 entries in type order.  No extended table. */
static void mp_config(struct fw_out *o, const struct fwtables_layout *l,
		      const struct fwtables_in *in)
{
	out_begin(o, l->mpct);
	out_bytes(o, "PCMP", 4);
	out_u16(o, (uint16_t)mpct_len(in->nr_vcpus));
	out_u8(o, MP_SPEC_REV);
	out_u8(o, 0);                           /* checksum */
	out_bytes(o, MP_OEM_ID, 8);
	out_bytes(o, MP_PRODUCT_ID, 12);
	out_u32(o, 0);                          /* OEM table pointer */
	out_u16(o, 0);                          /* OEM table size */
	out_u16(o, (uint16_t)mpct_entries(in->nr_vcpus));
	out_u32(o, in->lapic_addr);
	out_u16(o, 0);                          /* extended table length */
	out_u8(o, 0);                           /* extended table checksum */
	out_u8(o, 0);

	for (unsigned i = 0; i < in->nr_vcpus; i++) {           /* §4.3.1 */
		out_u8(o, MP_PROC);
		out_u8(o, (uint8_t)i);
		out_u8(o, FW_LAPIC_VERSION);
		out_u8(o, MP_PROC_EN | (i == 0 ? MP_PROC_BP : 0));
		out_u32(o, FW_CPU_SIGNATURE);
		out_u32(o, FW_CPU_FEATURES);
		out_zero(o, 8);
	}

	out_u8(o, MP_BUS);                                      /* §4.3.2 */
	out_u8(o, MP_ISA_BUS);
	out_bytes(o, "ISA   ", 6);
	out_u8(o, MP_BUS);
	out_u8(o, MP_PCI_BUS);
	out_bytes(o, "PCI   ", 6);

	out_u8(o, MP_IOAPIC);                                   /* §4.3.3 */
	out_u8(o, in->ioapic_id);
	out_u8(o, FW_IOAPIC_VERSION);
	out_u8(o, MP_IOAPIC_EN);
	out_u32(o, in->ioapic_addr);

	/* §4.3.4: ISA IRQ n on pin n, IRQ 0 on pin 2, IRQ 2 (cascade) absent. */
	for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		mp_entry8(o, MP_IOINT, MP_INT_INT, MPS_INTI_CONFORMING,
			  MP_ISA_BUS, irq, in->ioapic_id, irq == 0 ? 2 : irq);
	}
	/* §4.3.4, PCI: source IRQ = device << 2 | pin; the _PRT's routing. */
	for (unsigned slot = 1; slot < PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++)
			mp_entry8(o, MP_IOINT, MP_INT_INT, MP_PCI_INTI, MP_PCI_BUS,
				  (uint8_t)(slot << 2 | pin), in->ioapic_id,
				  (uint8_t)in->intx_gsi(slot, pin));

	/* §4.3.5: 8259 output (ExtINT) on LINT0, NMI on LINT1, of every CPU. */
	mp_entry8(o, MP_LINT, MP_INT_EXTINT, MPS_INTI_CONFORMING, MP_ISA_BUS,
		  0, MP_ALL_LAPICS, 0);
	mp_entry8(o, MP_LINT, MP_INT_NMI, MPS_INTI_CONFORMING, MP_ISA_BUS,
		  0, MP_ALL_LAPICS, 1);
	out_check_len(o, l->mpct, mpct_len(in->nr_vcpus));
	out_checksum(o, l->mpct + 7);
}

/* ---- entry point ------------------------------------------------------------- */

int fwtables_build(struct guest_mem *m, gpa_t base, uint64_t size,
		   const struct fwtables_in *in, char *err, size_t errlen)
{
	struct fwtables_layout l;

	if (fwtables_place(in, base, size, &l, err, errlen))
		return -1;
	if (!gmem_is_ram(m, l.start, l.end - l.start))
		return errf(err, errlen, "firmware tables at 0x%llx-0x%llx "
			       "are not all in guest RAM",
			       (unsigned long long)l.start,
			       (unsigned long long)l.end - 1);

	struct fw_out o = { .m = m, .lo = l.start, .pos = l.start, .end = l.end };
	acpi_facs(&o, &l);
	acpi_rsdp(&o, &l);
	mp_floating(&o, &l);
	acpi_roots(&o, &l, in);
	acpi_fadt(&o, &l, in);
	if (acpi_dsdt(&o, &l, in, err, errlen))
		return -1;
	acpi_madt(&o, &l, in);
	acpi_mcfg(&o, &l, in);
	mp_config(&o, &l, in);
	acpi_hpet(&o, &l, in);
	out_pad_to(&o, l.end);
	if (o.bad || o.pos != l.end)
		return errf(err, errlen, "writing firmware tables stopped at "
			       "0x%llx of 0x%llx-0x%llx",
			       (unsigned long long)o.pos,
			       (unsigned long long)l.start,
			       (unsigned long long)l.end - 1);
	return 0;
}
