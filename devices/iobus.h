/*
 * The I/O dispatch bus of one VM: port and MMIO range tables that route a
 * guest's IN/OUT and MMIO accesses to emulated devices.  Every device has
 * the same handler shape (as bhyve's inout handlers do), so the bus never
 * knows which devices exist.
 *
 * Ranges are added while the VM is being built, before any of its vCPUs
 * runs; after that the tables are read-only and lookups take no lock.  The
 * bus serializes nothing: each device locks its own state.  Per-range
 * access counters are bumped with relaxed atomics (statistics only).
 */
#ifndef KASANE_DEVICES_IOBUS_H
#define KASANE_DEVICES_IOBUS_H

#include "lib/types.h"

#define IOBUS_MAX_PIO   16
#define IOBUS_MAX_MMIO  16

/* Errors, shared by the bus and the device handlers.  All negative. */
#define IOBUS_UNMAPPED  (-1)    /* no device covers the access */
#define IOBUS_EINVAL    (-2)    /* bad width, or an access the device refuses */
#define IOBUS_EBUSY     (-3)    /* the new range overlaps an existing one */
#define IOBUS_ENOSPC    (-4)    /* the range table is full */

/*
 * Device handlers.  port/gpa is the absolute address of the access; bytes
 * is 1, 2 or 4 for port I/O and 1, 2, 4 or 8 for MMIO.  For reads the bus
 * zeroes *val before the call and keeps only the low `bytes` bytes of what
 * the handler stores; for writes *val holds the value, zero-extended.
 * Return 0, or a negative error (IOBUS_*): the VM layer ends the VM.
 * Called on the vCPU's thread with interrupts in any state; must not touch
 * guest memory.
 */
typedef int (*pio_handler_t)(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val);
typedef int (*mmio_handler_t)(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val);

struct iobus_pio_range {
	uint16_t first, last;           /* inclusive */
	pio_handler_t handler;
	void *dev;
	uint64_t count;                 /* accesses routed here */
};

struct iobus_mmio_range {
	uint64_t base, last;            /* inclusive: [base, base + len) */
	mmio_handler_t handler;
	void *dev;
	uint64_t count;
};

struct iobus {
	unsigned nr_pio, nr_mmio;
	struct iobus_pio_range pio[IOBUS_MAX_PIO];
	struct iobus_mmio_range mmio[IOBUS_MAX_MMIO];
	uint64_t pio_unassigned;        /* accesses to ports no device has */
	uint64_t mmio_unmapped;         /* MMIO accesses no device covers */
};

/* An empty bus.  A zero-filled struct iobus is empty too. */
void iobus_init(struct iobus *b);

/*
 * Give ports [first, first + count) to a device.  Returns 0, IOBUS_EINVAL
 * for count 0 or a range past port 0xffff, IOBUS_EBUSY if it overlaps a
 * range already added, IOBUS_ENOSPC if the table is full.
 */
int iobus_add_pio(struct iobus *b, uint16_t first, uint16_t count, pio_handler_t h, void *dev);

/* Same for guest-physical [base, base + len); len > 0, no wrap past 2^64. */
int iobus_add_mmio(struct iobus *b, uint64_t base, uint64_t len, mmio_handler_t h, void *dev);

/*
 * A guest port access (bytes 1, 2 or 4).  It goes to the device whose range
 * holds `port`, the first port of the access, even if the access runs on
 * into the next range or past the end of this one: the device sees the
 * whole access and decides (each device documents what it does with
 * wide accesses).  Ports no device has read as all ones for the width
 * (0xff, 0xffff, 0xffffffff: an ISA bus with nothing driving it) and
 * writes to them are dropped.
 * Returns 0, IOBUS_EINVAL for another width, or the device's error.
 */
int iobus_pio(struct iobus *b, bool in, uint16_t port, unsigned bytes, uint32_t *val);

/*
 * A guest MMIO access (bytes 1, 2, 4 or 8) to [gpa, gpa + bytes).  Returns
 * IOBUS_UNMAPPED unless one device's range covers all of it (an access
 * straddling two ranges or a range end is unmapped: the VM layer ends the
 * VM), IOBUS_EINVAL for another width, else the handler's result.
 */
int iobus_mmio(struct iobus *b, bool write, uint64_t gpa, unsigned bytes, uint64_t *val);

/* Whether some MMIO range holds gpa (to tell device pages from holes). */
bool iobus_mmio_covers(const struct iobus *b, uint64_t gpa);

#endif
