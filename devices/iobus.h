/*
 * The I/O dispatch bus of one VM: a port space and an MMIO space, each a
 * table of regions that routes a guest's IN/OUT or MMIO access to an
 * emulated device.  Every device has the same handler shape (as bhyve's
 * inout handlers do), so the bus never knows which devices exist.
 *
 * Regions can be added, moved and removed while the VM runs (a PCI BAR
 * moves when the guest reprograms it), safely against the VM's other
 * vCPUs dispatching at the same time:
 *  - Writers (add, move, remove) take the space's spinlock and bump its
 *    sequence count around the change (odd while it is under way).
 *  - Readers (dispatch) take no lock: they copy the matching region and
 *    check that the sequence count was even and unchanged, or try again;
 *    after a few tries they take the lock, so a lookup always ends.  The
 *    handler is called after the lookup, outside any bus protection, so
 *    it may itself add, move or remove regions.
 *  - So a handler may run just after its region was moved or removed, by
 *    an access that was routed before the change: that access counts as
 *    made before it.  req->off is the offset in the region as it was
 *    matched, so a relocatable device decodes by it, never by its own
 *    idea of its base.  Device state lives as long as the VM: dev must
 *    stay valid until no vCPU of the VM can run, even after a remove.
 * The bus serializes nothing else: each device locks its own state.
 * Lookups are never made from interrupt handlers, so the writers' lock
 * need not mask interrupts.  Per-region access counters are bumped with
 * relaxed atomics after the lookup (statistics only: an access racing a
 * remove may count for the region that next takes its slot).
 */
#ifndef KASANE_DEVICES_IOBUS_H
#define KASANE_DEVICES_IOBUS_H

#include "lib/types.h"
#include "kernel/spinlock.h"

/* Errors, shared by the bus and the device handlers.  All negative. */
#define IOBUS_UNMAPPED  (-1)    /* no device covers the access */
#define IOBUS_EINVAL    (-2)    /* bad width, or an access the device refuses */
#define IOBUS_EBUSY     (-3)    /* the new range overlaps an existing one */
#define IOBUS_ENOSPC    (-4)    /* the region table is full */

struct vcpu;                    /* core/vm.h: opaque to devices/ */

/*
 * One guest access, port or MMIO.  The VM layer fills vcpu, addr, size,
 * write and (for writes) val; the bus fills off and, for reads, val.
 */
struct io_req {
	struct vcpu *vcpu;      /* the vCPU making the access */
	uint64_t addr;          /* port or guest-physical address of its first byte */
	uint64_t off;           /* addr minus the base of the region it was routed to */
	uint64_t val;           /* write: the value, masked to size; read: the result */
	uint8_t size;           /* bytes: 1, 2 or 4 for ports; 1, 2, 4 or 8 for MMIO */
	bool write;
};

/*
 * Device handler.  For reads the bus zeroes req->val before the call and
 * keeps only the low `size` bytes of what the handler stores.  Return 0,
 * or a negative error (IOBUS_*): the VM layer ends the VM.  Called on the
 * vCPU's thread with interrupts in any state and no bus lock held; must
 * not touch guest memory.
 */
typedef int (*io_handler_t)(void *dev, struct io_req *req);

struct iobus_space;

/* A region: a handle from iobus_add(), valid until iobus_remove(). */
struct iobus_region {
	uint64_t base, last;            /* inclusive; base > last in a free slot */
	io_handler_t handler;           /* NULL in a free slot */
	void *dev;
	uint64_t count;                 /* accesses routed here */
	struct iobus_space *space;
};

/* One address space: its region table (the caller's storage) and lock. */
struct iobus_space {
	uint32_t seq;                   /* odd while a writer changes the table */
	unsigned used;                  /* slots [0, used) may hold regions */
	unsigned cap;
	uint64_t limit;                 /* the highest address: 0xffff or ~0 */
	struct iobus_region *slot;
	spinlock_t lock;                /* serializes writers */
	uint64_t misses;                /* accesses no region took */
};

struct iobus {
	struct iobus_space pio, mmio;
};

/*
 * An empty bus whose tables are pio[0, nr_pio) and mmio[0, nr_mmio) (the
 * caller's storage, for the bus's life; the capacities are the caller's
 * choice).
 */
void iobus_init(struct iobus *b, struct iobus_region *pio, unsigned nr_pio,
		struct iobus_region *mmio, unsigned nr_mmio);

/*
 * Give [base, base + len) of space s (&b->pio or &b->mmio) to a device;
 * *out (if out is not NULL) gets the region's handle.  Returns 0,
 * IOBUS_EINVAL for len 0, a range past the space's limit (port 0xffff,
 * or wrapping past 2^64) or no handler, IOBUS_EBUSY if it overlaps a
 * region of s, IOBUS_ENOSPC if the table is full.  Any CPU, any time.
 */
int iobus_add(struct iobus_space *s, uint64_t base, uint64_t len, io_handler_t h, void *dev,
	      struct iobus_region **out);

/*
 * Move region r to start at base, keeping its length, handler, device
 * and count.  Returns 0, IOBUS_EINVAL if the range would pass the space's
 * limit or r is not a live region, IOBUS_EBUSY if it would overlap
 * another region (r is then left where it was).
 */
int iobus_move(struct iobus_region *r, uint64_t base);

/* Remove region r; its handle is dead afterwards.  IOBUS_EINVAL if r is not live. */
int iobus_remove(struct iobus_region *r);

/*
 * A guest port access (size 1, 2 or 4).  It goes to the
 * device whose region holds addr, the first port of the access, even if
 * the access runs on into the next region or past the end of this one:
 * the device sees the whole access and decides (each device documents
 * what it does with wide accesses).  Ports no device has read as all
 * ones for the width (0xff, 0xffff, 0xffffffff: an ISA bus with nothing
 * driving it) and writes to them are dropped.
 * Returns 0, IOBUS_EINVAL for another width, or the device's error.
 */
int iobus_pio(struct iobus *b, struct io_req *req);

/*
 * A guest MMIO access (size 1, 2, 4 or 8) to [addr, addr + size).
 * Returns IOBUS_UNMAPPED unless one region covers all of it (an access
 * straddling two regions or a region end is unmapped: the VM layer ends
 * the VM), IOBUS_EINVAL for another width, else the handler's result.
 */
int iobus_mmio(struct iobus *b, struct io_req *req);

/* Whether some MMIO region holds gpa now (to tell device pages from holes). */
bool iobus_mmio_covers(struct iobus *b, uint64_t gpa);

#endif
