/*
 * Firmware tables for PC-like guests: ACPI (RSDP, XSDT, RSDT, FADT, FACS,
 * DSDT, MADT, MCFG; ACPI 6.5 §5.2, PCI Firmware 3.2 §4.1.2) and the Intel
 * MP table (MultiProcessor Specification 1.4 §4), written into guest RAM
 * so that an unmodified OS finds the VM's CPUs, interrupt controllers,
 * PCI host bridge and ACPI fixed hardware the way it would on a PC.
 *
 * The platform described: one local APIC per vCPU with APIC IDs 0..n-1,
 * one IOAPIC with 24 pins at GSI base 0, ISA IRQ 0 (PIT) wired to IOAPIC
 * pin 2 and every other ISA IRQ n to pin n, the SCI on an ISA IRQ (level,
 * active-high, as the MADT override says), NMI on LINT1 of every CPU,
 * optionally a dual 8259 PIC.  Full (not hardware-reduced) ACPI: PM1a
 * event and control blocks, the PM timer and a reset register, ACPI mode
 * always on (no SMI command port).  The DSDT (AML, built with aml.h) has
 * the PCI root bridge \_SB.PCI0 with its windows and INTx routing, the
 * motherboard resources (ECAM, PM ports), COM1, the RTC and \_S5.
 * The MP table has the ISA bus (ID 0) and PCI bus 0 (ID 1), with the same
 * PCI INTx routing as the _PRT (level, active-low).
 *
 * Placement: the tables are packed at the top of [base, base+size), so
 * with the usual 0xE0000-0xFFFFF both the RSDP and the MP floating pointer
 * lie where OSes scan (ACPI 6.5 §5.2.5.1: 0xE0000-0xFFFFF; MP 1.4 §4:
 * 0xF0000-0xFFFFF).  The range must end below 4 GiB (RSDT and MP pointers
 * are 32 bits wide).  With base and size 64-byte aligned (the FACS's
 * alignment), fwtables_size() bytes are enough.
 *
 * Pure logic, no global state: called while a VM is built, before any of
 * its vCPUs runs; touches guest RAM only through mm/guest_mem.h.
 */
#ifndef KASANE_GUEST_LOADER_FWTABLES_H
#define KASANE_GUEST_LOADER_FWTABLES_H

#include "lib/types.h"
#include "mm/guest_mem.h"

#define FWTABLES_MAX_VCPUS      255     /* APIC IDs 0..254; 0xFF is broadcast */

struct fwtables_in {
	unsigned nr_vcpus;      /* 1..FWTABLES_MAX_VCPUS, APIC IDs 0..n-1 */
	uint8_t ioapic_id;      /* must not be a local APIC ID (>= nr_vcpus) */
	uint32_t ioapic_addr;   /* IOAPIC MMIO base, e.g. 0xFEC00000 */
	uint32_t lapic_addr;    /* local APIC MMIO base, e.g. 0xFEE00000 */
	bool pic;               /* dual 8259 present: MADT PCAT_COMPAT */

	/* PCI host bridge 00:00.0, segment 0. */
	uint64_t ecam_base;     /* 1 MiB aligned, below 4 GiB */
	uint64_t ecam_size;     /* 1 MiB per bus, buses 0..size/1MiB-1 (1-256) */
	uint32_t mmio32_base, mmio32_size;      /* 32-bit BAR window */
	uint64_t mmio64_base, mmio64_size;      /* 64-bit BAR window; size 0: none */
	/* IOAPIC GSI of INTx pin (0-3 = INTA-INTD) of device slot (1-31). */
	unsigned (*intx_gsi)(unsigned slot, unsigned pin);

	/* ACPI fixed hardware (ACPI 6.5 §4.8), all in I/O space. */
	uint16_t pm1a_evt_port; /* PM1a_EVT_BLK, 4 ports: status, enable */
	uint16_t pm1a_cnt_port; /* PM1a_CNT_BLK, 2 ports */
	uint16_t pm_tmr_port;   /* PM_TMR_BLK, 4 ports, 32-bit timer */
	uint16_t reset_port;    /* RESET_REG, 1 port */
	uint8_t reset_value;
	uint8_t sci_irq;        /* ISA IRQ of the SCI: 1-15, not 2 */
	uint8_t s5_slp_typ;     /* SLP_TYP of S5 (\_S5), 0-7 */
	uint8_t rtc_century;    /* CMOS index of the century byte, 0: none */

	/* Legacy devices in the DSDT. */
	uint16_t com1_port;     /* 8 ports */
	uint8_t com1_irq;
	uint16_t rtc_port;      /* 2 ports */
	uint8_t rtc_irq;

	/* The HPET (IA-PC HPET 1.0a §3.2.4): its registers' base, 0 for none;
	 * the low 32 bits of its capabilities; the fewest counts between
	 * periodic interrupts it delivers. */
	uint64_t hpet_base;
	uint32_t hpet_id;
	uint16_t hpet_min_tick;
};

/* Where fwtables_build puts each table (guest-physical addresses). */
struct fwtables_layout {
	gpa_t start, end;       /* [start, end) is everything written */
	gpa_t rsdp;             /* 16-byte aligned */
	gpa_t mpfp;             /* MP floating pointer, 16-byte aligned */
	gpa_t facs;             /* 64-byte aligned */
	gpa_t xsdt, rsdt, fadt, dsdt, madt, mcfg;
	gpa_t hpet;             /* 0 without an HPET */
	gpa_t mpct;             /* MP configuration table */
};

/* Bytes the tables take (a multiple of 64); 0 if in is not valid. */
size_t fwtables_size(const struct fwtables_in *in);

/*
 * Check in and the range, and work out where each table goes, without
 * touching guest memory.  Lets a loader learn the RSDP address for boot
 * information (e.g. a Multiboot2 ACPI tag).  Returns 0, or negative with
 * a one-line reason in err.
 */
int fwtables_place(const struct fwtables_in *in, gpa_t base, uint64_t size,
		   struct fwtables_layout *out, char *err, size_t errlen);

/*
 * Build the tables in guest RAM inside [base, base+size), at the places
 * fwtables_place gives.  Returns 0, or negative with a one-line reason in
 * err.  Nothing is written unless the inputs are valid and the whole
 * target range is guest RAM, and never anything outside that range.
 */
int fwtables_build(struct guest_mem *m, gpa_t base, uint64_t size,
		   const struct fwtables_in *in, char *err, size_t errlen);

#endif
