/*
 * ACPI table discovery and MADT parsing for the physical machine.
 *
 * The tables come from firmware and are not trusted: every length, count
 * and pointer is checked, every loop is bounded, and any problem is reported
 * as a one-line message in err (the caller then boots on one CPU).
 * Physical memory is reached only through an acpi_map_fn, so the host unit
 * tests can feed recorded or hand-built tables.
 *
 * All functions return 0 on success and -1 on error.  Pure logic: no global
 * state, safe to call on any CPU.
 */
#ifndef KASANE_DRIVERS_ACPI_H
#define KASANE_DRIVERS_ACPI_H

#include "lib/types.h"

/*
 * Map [pa, pa+len) for reading; NULL if not accessible.  Every pointer
 * returned must stay valid until the acpi_* call that asked for it returns
 * (a direct map of physical memory satisfies this).
 */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t pa, uint64_t len);

#define ACPI_RSDP_V1_LEN        20      /* ACPI 6.5 §5.2.5.3: checksum covers these */
#define ACPI_RSDP_V2_LEN        36
#define ACPI_SDT_HEADER_LEN     36      /* ACPI 6.5 §5.2.6 */
#define ACPI_MADT_MIN_LEN       44      /* header + local APIC address + flags */
#define ACPI_TABLE_MAX_LEN      (1 * MiB)       /* sanity bound for any table */
#define ACPI_SDT_MAX_ENTRIES    1024    /* sanity bound for RSDT/XSDT */

#define ACPI_MAX_CPUS           256
#define ACPI_MAX_IOAPICS        16
#define ACPI_MAX_OVERRIDES      32
#define ACPI_MAX_NMIS           32

/* acpi_nmi.acpi_uid value meaning "every processor" (0xFF in type 4 entries). */
#define ACPI_NMI_ALL_CPUS       0xFFFFFFFFu

/* MPS INTI flags of overrides and NMI entries, ACPI 6.5 Table 5.26. */
#define ACPI_MPS_POLARITY_MASK  0x3
#define ACPI_MPS_POLARITY_HIGH  0x1
#define ACPI_MPS_POLARITY_LOW   0x3
#define ACPI_MPS_TRIGGER_MASK   0xC
#define ACPI_MPS_TRIGGER_EDGE   0x4
#define ACPI_MPS_TRIGGER_LEVEL  0xC

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t acpi_uid;
	bool enabled;           /* usable now (flags bit 0) */
	bool online_capable;    /* disabled but may be hot-added (flags bit 1, ACPI 6.3) */
	bool x2apic;            /* from a Processor Local x2APIC entry */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;
	uint32_t gsi_base;
};

struct acpi_override {
	uint8_t bus;            /* 0 = ISA */
	uint8_t source_irq;
	uint32_t gsi;
	uint16_t flags;         /* ACPI_MPS_* */
};

struct acpi_nmi {
	uint32_t acpi_uid;      /* ACPI_NMI_ALL_CPUS for every processor */
	uint16_t flags;         /* ACPI_MPS_* */
	uint8_t lint;           /* LINT0 or LINT1 */
};

struct acpi_madt_info {
	uint64_t lapic_addr;    /* after any Local APIC Address Override */
	bool pcat_compat;       /* dual 8259s present (MADT flags bit 0) */
	int nr_cpus;
	struct acpi_cpu cpu[ACPI_MAX_CPUS];
	int nr_ioapics;
	struct acpi_ioapic ioapic[ACPI_MAX_IOAPICS];
	int nr_overrides;
	struct acpi_override override[ACPI_MAX_OVERRIDES];
	int nr_nmis;
	struct acpi_nmi nmi[ACPI_MAX_NMIS];
	bool truncated;         /* some entries did not fit in the arrays above */
};

/*
 * Find the RSDP the BIOS way (ACPI 6.5 §5.2.5.1): the first KiB of the EBDA
 * (real-mode segment at 0x40E), then 0xE0000-0xFFFFF, on 16-byte
 * boundaries.  Candidates with a bad checksum are skipped.
 */
int acpi_find_rsdp(acpi_map_fn map, void *ctx, uint64_t *rsdp_pa);

/*
 * Check an RSDP of len bytes (ACPI 6.5 §5.2.5.3): signature, the 20-byte
 * checksum, and for revision >= 2 the length and extended checksum.
 * *xsdt_pa is 0 for revision < 2.
 */
int acpi_parse_rsdp(const void *rsdp, size_t len, uint64_t *xsdt_pa,
		    uint64_t *rsdt_pa, char *err, size_t errlen);

/*
 * Map the system description table at pa and check its header
 * (ACPI 6.5 §5.2.6): length in [36, ACPI_TABLE_MAX_LEN] and checksum, and
 * the signature if sig is not NULL.  Returns the mapping, or NULL with a
 * message in err.  *len gets the table's length.
 */
const void *acpi_map_table(acpi_map_fn map, void *ctx, uint64_t pa,
			   const char *sig, uint32_t *len, char *err,
			   size_t errlen);

/*
 * Find the table with signature sig through the XSDT (preferred) or RSDT.
 * The RSDP is either a copy of rsdp_copy_len bytes (e.g. from a Multiboot2
 * ACPI tag) or, if rsdp_copy is NULL, read at rsdp_pa.  Entries that cannot
 * be mapped are skipped; the first one with signature sig must be valid.
 */
int acpi_find_table(acpi_map_fn map, void *ctx, uint64_t rsdp_pa,
		    const void *rsdp_copy, size_t rsdp_copy_len,
		    const char sig[4], uint64_t *table_pa, char *err,
		    size_t errlen);

/*
 * Parse the MADT (ACPI 6.5 §5.2.12) in madt[0..len).  The table's own
 * Length field must fit in len.  Unknown entry types are skipped.
 */
int acpi_parse_madt(const void *madt, size_t len, struct acpi_madt_info *out,
		    char *err, size_t errlen);

#endif
