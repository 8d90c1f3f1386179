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
#include "devices/iobus.h"

struct testmmio {
	spinlock_t lock;                /* makes each access atomic */
	uint8_t bytes[GUEST_TEST_MMIO_SIZE];
};

/* A zeroed page. */
void testmmio_init(struct testmmio *t);

/*
 * MMIO handler (iobus): an access of 1, 2, 4 or 8 bytes at any offset
 * req->off, little-endian.  Returns IOBUS_EINVAL for another width or an
 * access not wholly inside the page.  The page may sit anywhere.
 */
int testmmio_access(void *dev, struct io_req *req);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring. */
#define TESTMMIO_SNAP_VERSION 1u
#define TESTMMIO_SNAP_SIZE sizeof(struct testmmio)
size_t testmmio_save(const struct testmmio *d, void *buf, size_t len);
bool testmmio_load(struct testmmio *d, const void *buf, size_t len);

#endif
