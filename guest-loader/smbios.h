/*
 * SMBIOS tables for PC-like guests (DMTF DSP0134, SMBIOS 3.0): what an OS
 * and its tools (Linux's DMI code, dmidecode, systemd's virtualization
 * check) read to learn the machine's maker, model, serial and UUID, its
 * processor and its memory.
 *
 * Written: the 64-bit entry point "_SM3_" and the 32-bit one "_SM_" (for
 * older parsers) at the start of the range, 16-byte aligned, then the
 * structure table:
 *   type 0   BIOS: vendor kasane, "virtual machine" characteristic;
 *   type 1   system: kasane, product "kasane VM", the VM's name as its
 *            serial number, a UUID derived from that name (stable across
 *            restarts of the VM, different between VMs);
 *   type 3   enclosure;
 *   type 4   one processor socket with nr_vcpus cores;
 *   type 16  the memory array, type 17 one memory device of all its RAM,
 *            type 19 one mapped range per RAM region;
 *   type 32  boot status: no errors;
 *   type 127 end of table.
 * An OS finds the entry points by scanning 0xF0000-0xFFFFF on 16-byte
 * boundaries (DSP0134 §5.2.1, §5.2.2): the range must lie there.
 *
 * Pure logic, no global state: called while a VM is built, before any of
 * its vCPUs runs; touches guest RAM only through mm/guest_mem.h.
 */
#ifndef KASANE_GUEST_LOADER_SMBIOS_H
#define KASANE_GUEST_LOADER_SMBIOS_H

#include "lib/types.h"
#include "mm/guest_mem.h"

#define SMBIOS_MAX_RANGES       4
#define SMBIOS_MAX_NAME         64      /* the VM's name: longer is cut */

struct smbios_in {
	const char *vm_name;            /* serial number; seeds the UUID */
	const char *version;            /* kasane's version: BIOS and system version */
	const char *release_date;       /* its date, "MM/DD/YYYY" (§7.1) */
	unsigned nr_vcpus;              /* cores of the one socket, 1..255 */
	uint32_t cpuid_1_eax, cpuid_1_edx;      /* the processor ID (type 4) */
	const char *cpu_vendor;         /* e.g. "AuthenticAMD" */
	const char *cpu_brand;          /* CPUID 0x80000002-4, or "" */
	unsigned cpu_mhz;               /* 0: unknown */
	unsigned nr_ranges;             /* RAM regions, 1..SMBIOS_MAX_RANGES */
	struct { uint64_t base, size; } ram[SMBIOS_MAX_RANGES];
};

/* Bytes the entry points and tables need at most for in (a multiple of 16). */
#define SMBIOS_SIZE             0x1000

/*
 * Write the tables into guest RAM at [base, base + size), which must lie
 * in 0xF0000-0xFFFFF, be 16-byte aligned and guest RAM.  Returns 0, or
 * negative with a one-line reason in err; nothing is written unless in
 * and the range are valid.
 */
int smbios_build(struct guest_mem *m, gpa_t base, uint64_t size, const struct smbios_in *in,
		 char *err, size_t errlen);

#endif
