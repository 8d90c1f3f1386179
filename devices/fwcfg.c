/*
 * fw_cfg, traditional I/O interface; see fwcfg.h.  Section names refer to
 * QEMU docs/specs/fw_cfg.rst.  Items are not stored as byte arrays: each
 * byte is computed from the VM's parameters when the guest reads it.
 */
#include "devices/fwcfg.h"
#include "devices/devsnap.h"
#include "include/kasane/abi.h"
#include "lib/string.h"

void fwcfg_init(struct fwcfg *f, uint64_t ram_size, uint16_t nr_cpus)
{
	memset(f, 0, sizeof(*f));
	f->sel = FW_CFG_SIGNATURE;
	f->ram_size = ram_size;
	f->nr_cpus = nr_cpus;
}

int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, uint32_t len)
{
	size_t n = strnlen(name, FW_CFG_NAME_SIZE);

	if (n == 0 || n == FW_CFG_NAME_SIZE)
		return FWCFG_EINVAL;
	for (unsigned i = 0; i < f->nr_files; i++)
		if (strcmp(f->files[i].name, name) == 0)
			return FWCFG_EEXIST;
	if (f->nr_files == FWCFG_MAX_FILES)
		return FWCFG_ENOSPC;
	struct fwcfg_file *e = &f->files[f->nr_files];
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, name, n);
	e->data = data;
	e->size = len;
	return FW_CFG_FILE_FIRST + f->nr_files++;
}

/* Byte i of an n-byte integer, little- or big-endian. */
static uint8_t le_byte(uint64_t x, uint32_t i) { return (uint8_t)(x >> (8 * i)); }
static uint8_t be_byte(uint64_t x, uint32_t n, uint32_t i) { return (uint8_t)(x >> (8 * (n - 1 - i))); }

/*
 * "File Directory": a 32-bit big-endian count, then one 64-byte entry per
 * file: u32 size, u16 select, u16 reserved (all big-endian), char name[56].
 */
static uint8_t file_dir_byte(const struct fwcfg *f, uint32_t off)
{
	if (off < 4)
		return be_byte(f->nr_files, 4, off);
	off -= 4;
	const struct fwcfg_file *e = &f->files[off / FW_CFG_FILE_SIZE];
	uint32_t i = off % FW_CFG_FILE_SIZE;
	if (i < 4)
		return be_byte(e->size, 4, i);
	if (i < 6)
		return be_byte(FW_CFG_FILE_FIRST + off / FW_CFG_FILE_SIZE, 2, i - 4);
	if (i < 8)
		return 0;
	return (uint8_t)e->name[i - 8];
}

/* Size of the item under selector key (0 for no item). */
static uint32_t item_size(const struct fwcfg *f, uint16_t key)
{
	switch (key) {
	case FW_CFG_SIGNATURE:
	case FW_CFG_ID:
		return 4;
	case FW_CFG_RAM_SIZE:
		return 8;
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		return 2;
	case FW_CFG_FILE_DIR:
		return 4 + FW_CFG_FILE_SIZE * f->nr_files;
	}
	if (key >= FW_CFG_FILE_FIRST && key - FW_CFG_FILE_FIRST < (int)f->nr_files)
		return f->files[key - FW_CFG_FILE_FIRST].size;
	return 0;
}

/* Byte off (< item_size) of the item under key. */
static uint8_t item_byte(const struct fwcfg *f, uint16_t key, uint32_t off)
{
	switch (key) {
	case FW_CFG_SIGNATURE:
		return (uint8_t)"QEMU"[off];
	case FW_CFG_ID:
		return le_byte(FW_CFG_ID_TRADITIONAL, off);
	case FW_CFG_RAM_SIZE:
		return le_byte(f->ram_size, off);
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		return le_byte(f->nr_cpus, off);
	case FW_CFG_FILE_DIR:
		return file_dir_byte(f, off);
	}
	return f->files[key - FW_CFG_FILE_FIRST].data[off];
}

/* "Data Register": the next byte of the selected item, 0 past its end. */
static uint8_t data_read_byte(struct fwcfg *f)
{
	uint16_t key = f->sel & ~FW_CFG_WRITE_CHANNEL;

	if (f->off >= item_size(f, key))
		return 0;
	return item_byte(f, key, f->off++);
}

int fwcfg_pio(void *dev, struct io_req *req)
{
	struct fwcfg *f = dev;
	unsigned bytes = req->size;

	if (req->off > FW_CFG_PORT_DATA - FW_CFG_PORT_SEL)
		return IOBUS_EINVAL;
	if (bytes != 1 && bytes != 2 && bytes != 4)
		return IOBUS_EINVAL;
	spin_lock(&f->lock);
	if (req->off == 0) {
		if (!req->write) {
			req->val = bytes == 1 ? f->sel & 0xff : f->sel;
		} else if (bytes >= 2) {
			/* "Selector (Control) Register": selecting rewinds the item. */
			f->sel = (uint16_t)req->val;
			f->off = 0;
		}
	} else if (!req->write) {
		uint32_t v = 0;
		for (unsigned i = 0; i < bytes; i++)
			v |= (uint32_t)data_read_byte(f) << (8 * i);
		req->val = v;
	}
	spin_unlock(&f->lock);
	return 0;
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

/* The guest's position only: the items are the board's, built from the VM's
 * config.  Any offset is safe (data_read_byte() reads 0 past an item). */
struct fwcfg_rec {
	uint16_t sel;
	uint16_t pad;
	uint32_t off;
};

size_t fwcfg_save(const struct fwcfg *d, void *buf, size_t len)
{
	struct fwcfg_rec r = { .sel = d->sel, .off = d->off };

	return devsnap_put(buf, len, &r, sizeof(r));
}

bool fwcfg_load(struct fwcfg *d, const void *buf, size_t len)
{
	struct fwcfg_rec r;

	if (!devsnap_get(&r, sizeof(r), buf, len))
		return false;
	d->sel = r.sel;
	d->off = r.off;
	return true;
}
