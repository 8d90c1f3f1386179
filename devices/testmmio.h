/*
 * The scratch MMIO page every VM has (include/kasane/abi.h, GUEST_TEST_MMIO_BASE):
 * GUEST_TEST_MMIO_SIZE bytes that read back what was last written,
 * initially zero.  It is not RAM, so each access exits and goes through
 * the instruction emulator: guest tests use it to check that emulation.
 */
#ifndef KASANE_DEVICES_TESTMMIO_H
#define KASANE_DEVICES_TESTMMIO_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "include/kasane/abi.h"

struct testmmio {
	spinlock_t lock;                /* makes each access atomic */
	gpa_t base;
	uint8_t bytes[GUEST_TEST_MMIO_SIZE];
};

/* A zeroed page at guest-physical base. */
void testmmio_init(struct testmmio *t, gpa_t base);

/*
 * MMIO handler (iobus): an access of 1, 2, 4 or 8 bytes at any offset,
 * little-endian.  Returns IOBUS_EINVAL for another width or an access not
 * wholly inside the page.
 */
int testmmio_access(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val);

#endif
