/*
 * Firmware tables for SMP guests: ACPI (RSDP, XSDT, RSDT, FADT, DSDT,
 * MADT; ACPI 6.5 §5.2) and the Intel MP table (MultiProcessor
 * Specification 1.4 §4), written into guest RAM so that an unmodified OS
 * finds the VM's CPUs and interrupt controllers the way it would on a PC.
 *
 * The platform described: one local APIC per vCPU with APIC IDs 0..n-1,
 * one IOAPIC with 24 pins at GSI base 0, ISA IRQ 0 (PIT) wired to IOAPIC
 * pin 2 and every other ISA IRQ n to pin n, NMI on LINT1 of every CPU,
 * optionally a dual 8259 PIC.  The ACPI platform is "hardware-reduced"
 * (ACPI 6.5 §4.1): no SCI, PM timer or PM1 blocks, and a DSDT without AML.
 *
 * Placement: the tables are packed at the top of [base, base+size), so
 * with the usual 0xE0000-0xFFFFF both the RSDP and the MP floating pointer
 * lie where OSes scan (ACPI 6.5 §5.2.5.1: 0xE0000-0xFFFFF; MP 1.4 §4:
 * 0xF0000-0xFFFFF).  The range must end below 4 GiB (RSDT and MP pointers
 * are 32 bits wide).  With base and size 16-byte aligned, fwtables_size()
 * bytes are enough.
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
};

/* Where fwtables_build puts each table (guest-physical addresses). */
struct fwtables_layout {
	gpa_t start, end;       /* [start, end) is everything written */
	gpa_t rsdp;             /* 16-byte aligned */
	gpa_t mpfp;             /* MP floating pointer, 16-byte aligned */
	gpa_t xsdt, rsdt, fadt, dsdt, madt;
	gpa_t mpct;             /* MP configuration table */
};

/* Bytes the tables take (a multiple of 16); 0 if in is not valid. */
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
