/*
 * QEMU's firmware configuration device, traditional I/O interface only
 * (QEMU docs/specs/fw_cfg.rst): a 16-bit selector at FW_CFG_PORT_SEL picks
 * an item and rewinds it, and reads of FW_CFG_PORT_DATA stream its bytes.
 *
 * Items: FW_CFG_SIGNATURE "QEMU", FW_CFG_ID (bit 0 only: no DMA interface),
 * FW_CFG_RAM_SIZE, FW_CFG_NB_CPUS, FW_CFG_MAX_CPUS, FW_CFG_FILE_DIR and
 * the named files added with fwcfg_add_file().  Any other selector is an
 * empty item that reads as zeros.
 *
 * Where kasane differs from QEMU, or the spec leaves a choice:
 *  - A 16- or 32-bit read of the data port returns that many consecutive
 *    item bytes, the first in the low byte (QEMU only accepts 8-bit data
 *    reads on the I/O interface).  Bytes past the end of the item read 0.
 *  - A read of the selector port returns the current selector: its low
 *    byte for an 8-bit read, zero-extended for a 32-bit one.
 *  - The selector is taken from 16- and 32-bit writes (low 16 bits) to the
 *    selector port; 8-bit writes to it are ignored.  So are all writes to
 *    the data port (current QEMU ignores them too).
 *  - Selector bit 14 (the obsolete write channel) is ignored, so 0x4000 |
 *    key reads item key, as in QEMU; keys with bit 15 (architecture-local)
 *    set name no item.
 *
 * Items are read-only once the VM runs; the lock covers the selector and
 * the read offset, which all vCPUs share.
 */
#ifndef KASANE_DEVICES_FWCFG_H
#define KASANE_DEVICES_FWCFG_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/iobus.h"

#define FW_CFG_FILE_FIRST   0x0020      /* selector of the first named file */
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL   0x8000
#define FW_CFG_ID_TRADITIONAL 0x1       /* FW_CFG_ID bit 0; bit 1 (DMA) clear */
#define FW_CFG_FILE_SIZE    64          /* FW_CFG_FILE_DIR entry */
#define FW_CFG_NAME_SIZE    56          /* name field, NUL included */

#define FWCFG_MAX_FILES     16

#define FWCFG_EINVAL        (-1)        /* empty or too long name */
#define FWCFG_ENOSPC        (-2)        /* FWCFG_MAX_FILES already */
#define FWCFG_EEXIST        (-3)        /* a file of that name exists */

struct fwcfg_file {
	char name[FW_CFG_NAME_SIZE];
	const uint8_t *data;            /* the caller's, not copied */
	uint32_t size;
};

struct fwcfg {
	spinlock_t lock;
	uint16_t sel;                   /* as last written */
	uint32_t off;                   /* next byte of the item, <= its size */
	uint64_t ram_size;
	uint16_t nr_cpus;
	unsigned nr_files;
	struct fwcfg_file files[FWCFG_MAX_FILES];
};

/* Selector FW_CFG_SIGNATURE at offset 0, no files. */
void fwcfg_init(struct fwcfg *f, uint64_t ram_size, uint16_t nr_cpus);

/*
 * Offer data[0, len) to the guest as file `name` (e.g. "etc/kasane/x",
 * 1 to 55 characters).  The data is not copied: it must stay unchanged
 * for the VM's life.  Call before the VM runs.  Returns the file's
 * selector (FW_CFG_FILE_FIRST upwards, in order of adding) or FWCFG_E*.
 */
int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, uint32_t len);

/*
 * Port handler (iobus) for the two ports from FW_CFG_PORT_SEL: req->off 0
 * is the selector, 1 the data port.  IOBUS_EINVAL for another offset.
 */
int fwcfg_pio(void *dev, struct io_req *req);

/* Snapshot records (devices/devsnap.h): the selector and the offset in its item. */
#define FWCFG_SNAP_VERSION 1u
#define FWCFG_SNAP_SIZE 8u
size_t fwcfg_save(const struct fwcfg *d, void *buf, size_t len);
bool fwcfg_load(struct fwcfg *d, const void *buf, size_t len);

#endif
