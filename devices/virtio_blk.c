/*
 * virtio-blk: see virtio_blk.h.
 */
#include "devices/virtio_blk.h"
#include "devices/devsnap.h"
#include "lib/string.h"

#define HDR_BYTES ((uint32_t)sizeof(struct virtio_blk_req_hdr))
#define SEG_BYTES ((uint32_t)sizeof(struct virtio_blk_dz_seg))

/* Whether sectors [sector, sector + bytes/512) lie on the disk; no overflow. */
static bool on_disk(uint64_t sector, uint64_t bytes, uint64_t disk_bytes)
{
	uint64_t sectors = disk_bytes / VIRTIO_BLK_SECTOR;

	return sector <= sectors && bytes / VIRTIO_BLK_SECTOR <= sectors - sector;
}

void vblk_plan(const struct virtio_blk_req_hdr *h, uint32_t out_len, uint32_t in_len,
	       uint64_t disk_bytes, bool ro, struct vblk_plan *p)
{
	*p = (struct vblk_plan){ .status = VIRTIO_BLK_S_OK, .type = h->type };
	if (out_len < HDR_BYTES || in_len < 1) {
		p->status = VIRTIO_BLK_S_IOERR;
		return;
	}
	uint32_t data_out = out_len - HDR_BYTES;    /* after the header */
	uint32_t data_in = in_len - 1;              /* before the status byte */

	switch (h->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool in = h->type == VIRTIO_BLK_T_IN;
		uint64_t len = in ? data_in : data_out;
		/* §5.2.6.1: data in whole sectors; the other direction holds
		 * nothing but the header or the status. */
		if ((len % VIRTIO_BLK_SECTOR) || (in ? data_out : data_in) != 0 ||
		    !on_disk(h->sector, len, disk_bytes) || (!in && ro)) {
			p->status = VIRTIO_BLK_S_IOERR;
			return;
		}
		p->off = h->sector * VIRTIO_BLK_SECTOR;
		p->len = len;
		return;
	}
	case VIRTIO_BLK_T_FLUSH:
		return;
	case VIRTIO_BLK_T_GET_ID:
		p->len = MIN(data_in, VIRTIO_BLK_ID_BYTES);
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		/* §5.2.6.2: whole segments, at most max_*_seg of them; nothing
		 * may change a read-only disk. */
		if (ro || data_out == 0 || data_out % SEG_BYTES ||
		    data_out / SEG_BYTES > VIRTIO_BLK_MAX_DZ_SEGS || data_in != 0) {
			p->status = VIRTIO_BLK_S_IOERR;
			return;
		}
		p->nseg = data_out / SEG_BYTES;
		return;
	default:
		p->status = VIRTIO_BLK_S_UNSUPP;
		return;
	}
}

uint8_t vblk_dz_check(const struct virtio_blk_dz_seg *s, uint32_t type, uint64_t disk_bytes)
{
	/* §5.2.6.2: unknown flags, or unmap on a discard, are unsupported. */
	if ((s->flags & ~VIRTIO_BLK_WZ_F_UNMAP) ||
	    (type == VIRTIO_BLK_T_DISCARD && (s->flags & VIRTIO_BLK_WZ_F_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (s->num_sectors > VIRTIO_BLK_MAX_DZ_SECTORS ||
	    !on_disk(s->sector, (uint64_t)s->num_sectors * VIRTIO_BLK_SECTOR, disk_bytes))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: every segment checked before any is applied. */
static uint8_t blk_dz(struct virtio_blk *b, const struct virtq_chain *c, const struct vblk_plan *p)
{
	struct virtio_blk_dz_seg seg[VIRTIO_BLK_MAX_DZ_SEGS];
	const struct guest_mem *m = b->vp.mem;

	for (unsigned i = 0; i < p->nseg; i++) {
		if (virtq_chain_read(m, c, HDR_BYTES + i * SEG_BYTES, &seg[i], SEG_BYTES) != SEG_BYTES)
			return VIRTIO_BLK_S_IOERR;
		uint8_t st = vblk_dz_check(&seg[i], p->type, b->size);
		if (st != VIRTIO_BLK_S_OK)
			return st;
	}
	/* A discarded range's contents are unspecified (§5.2.6.2): kept as
	 * they are.  Written zeroes are zeroes. */
	if (p->type == VIRTIO_BLK_T_WRITE_ZEROES)
		for (unsigned i = 0; i < p->nseg; i++)
			memset(b->data + seg[i].sector * VIRTIO_BLK_SECTOR, 0,
			       (size_t)seg[i].num_sectors * VIRTIO_BLK_SECTOR);
	return VIRTIO_BLK_S_OK;
}

static int64_t blk_serve(void *dev, unsigned q, struct virtq_chain *c)
{
	struct virtio_blk *b = dev;
	const struct guest_mem *m = b->vp.mem;
	struct virtio_blk_req_hdr h = { 0 };
	struct vblk_plan p;
	uint32_t data = 0;

	if (c->in_len == 0) {
		virtio_pci_fail(&b->vp, "request %u has no device-writable byte for its status",
				c->head);
		return -1;
	}
	virtq_chain_read(m, c, 0, &h, MIN(c->out_len, HDR_BYTES));
	vblk_plan(&h, c->out_len, c->in_len, b->size, b->ro, &p);
	if (p.status == VIRTIO_BLK_S_OK) {
		switch (p.type) {
		case VIRTIO_BLK_T_IN:
			data = (uint32_t)virtq_chain_write(m, c, 0, b->data + p.off, p.len);
			b->reads++;
			break;
		case VIRTIO_BLK_T_OUT:
			virtq_chain_read(m, c, HDR_BYTES, b->data + p.off, p.len);
			b->writes++;
			break;
		case VIRTIO_BLK_T_FLUSH:
			b->flushes++;       /* the disk is RAM: nothing to write back */
			break;
		case VIRTIO_BLK_T_GET_ID:
			data = (uint32_t)virtq_chain_write(m, c, 0, b->id, p.len);
			break;
		default:
			p.status = blk_dz(b, c, &p);
			break;
		}
	}
	if (p.status != VIRTIO_BLK_S_OK)
		b->errors++;
	/* §5.2.6: the status is the last device-writable byte. */
	virtq_chain_write(m, c, c->in_len - 1, &p.status, 1);
	return (int64_t)data + 1;
}

static void blk_notify(void *dev, unsigned q)
{
	struct virtio_blk *b = dev;

	virtio_pci_kick_serve(&b->vp, q, blk_serve);
}

void virtio_blk_poll(struct virtio_blk *b, bool idle)
{
	/* A CPU that holds the lock serves or configures the disk now. */
	if (!virtio_pci_polling(&b->vp) || !spin_trylock(&b->vp.lock))
		return;
	virtio_pci_poll(&b->vp, 0, idle, blk_serve);
	virtio_pci_unlock(&b->vp);
}

static uint64_t blk_features(void *dev)
{
	struct virtio_blk *b = dev;
	uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
		     VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);

	return b->ro ? f | VIRTIO_BIT(VIRTIO_BLK_F_RO) : f;
}

static void blk_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
	struct virtio_blk *b = dev;
	uint8_t img[VIRTIO_BLK_CFG_SIZE];

	memset(img, 0, sizeof(img));
#define PUT(o, n, x) do { uint64_t _x = (x); memcpy(img + (o), &_x, (n)); } while (0)
	PUT(VIRTIO_BLK_CFG_CAPACITY, 8, b->size / VIRTIO_BLK_SECTOR);
	PUT(VIRTIO_BLK_CFG_SEG_MAX, 4, VIRTIO_BLK_SEG_MAX);
	PUT(VIRTIO_BLK_CFG_NUM_QUEUES, 2, 1);
	PUT(VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4, VIRTIO_BLK_MAX_DZ_SECTORS);
	PUT(VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4, VIRTIO_BLK_MAX_DZ_SEGS);
	PUT(VIRTIO_BLK_CFG_DISCARD_ALIGN, 4, 1);
	PUT(VIRTIO_BLK_CFG_MAX_WZ_SECTORS, 4, VIRTIO_BLK_MAX_DZ_SECTORS);
	PUT(VIRTIO_BLK_CFG_MAX_WZ_SEG, 4, VIRTIO_BLK_MAX_DZ_SEGS);
	PUT(VIRTIO_BLK_CFG_WZ_MAY_UNMAP, 1, 1);
#undef PUT
	if (off + size <= sizeof(img))
		memcpy(val, img + off, size);
}

/* Nothing is held between requests: every request completes in its kick. */
static void blk_reset(void *dev)
{
}

static const struct virtio_dev_ops blk_ops = {
	.features = blk_features, .cfg_read = blk_cfg_read, .notify = blk_notify,
	.reset = blk_reset,
};

bool virtio_blk_init(struct virtio_blk *b, uint8_t devfn, const struct guest_mem *mem,
		     uint8_t *data, uint64_t size, bool ro, const char *id,
		     virtio_say_fn say, void *say_ctx)
{
	memset(b, 0, sizeof(*b));
	if (size == 0 || size % VIRTIO_BLK_SECTOR)
		return false;
	b->data = data;
	b->size = size;
	b->ro = ro;
	/* §5.2.6: the ID is 20 bytes, NUL-terminated only if shorter. */
	for (size_t i = 0; i < VIRTIO_BLK_ID_BYTES && id && id[i]; i++)
		b->id[i] = id[i];
	/* PCI class 01 80 00: mass storage, other (as QEMU's virtio-blk-pci). */
	return virtio_pci_init(&b->vp, devfn, VIRTIO_ID_BLOCK, 0x018000, 1, VIRTIO_BLK_QUEUE_SIZE,
			       VIRTIO_BLK_CFG_SIZE, &blk_ops, b, mem, "virtio-blk", say, say_ctx);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t virtio_blk_save(const struct virtio_blk *b, void *buf, size_t len)
{
	struct virtio_blk_rec r;

	memset(&r, 0, sizeof(r));
	virtio_pci_save(&b->vp, &r.t);
	r.size = b->size;
	r.ro = b->ro;
	memcpy(r.id, b->id, sizeof(r.id));
	r.reads = b->reads;
	r.writes = b->writes;
	r.flushes = b->flushes;
	r.errors = b->errors;
	return devsnap_put(buf, len, &r, sizeof(r));
}

bool virtio_blk_rec_matches(const struct virtio_blk *b, const void *buf, size_t len)
{
	struct virtio_blk_rec r;

	return devsnap_get(&r, sizeof(r), buf, len) && virtio_pci_rec_matches(&b->vp, &r.t) &&
	       r.size == b->size && r.ro == b->ro && !memcmp(r.id, b->id, sizeof(r.id));
}

bool virtio_blk_load(struct virtio_blk *b, const void *buf, size_t len)
{
	struct virtio_blk_rec r;

	if (!virtio_blk_rec_matches(b, buf, len))
		return false;
	memcpy(&r, buf, sizeof(r));
	if (!virtio_pci_rec_ok(&b->vp, &r.t))
		return false;
	virtio_pci_load(&b->vp, &r.t);
	virtio_pci_poll_start(&b->vp, 0);       /* chains made available before the snapshot */
	b->reads = r.reads;
	b->writes = r.writes;
	b->flushes = r.flushes;
	b->errors = r.errors;
	return true;
}

uint64_t virtio_blk_chunks(const struct virtio_blk *b)
{
	return (b->size + VIRTIO_BLK_SNAP_CHUNK - 1) / VIRTIO_BLK_SNAP_CHUNK;
}

size_t virtio_blk_chunk_size(const struct virtio_blk *b, uint64_t chunk)
{
	if (chunk >= virtio_blk_chunks(b))
		return 0;
	return (size_t)MIN(VIRTIO_BLK_SNAP_CHUNK, b->size - chunk * VIRTIO_BLK_SNAP_CHUNK);
}

size_t virtio_blk_chunk_save(const struct virtio_blk *b, uint64_t chunk, void *buf, size_t len)
{
	size_t n = virtio_blk_chunk_size(b, chunk);

	if (!n || len < n)
		return 0;
	memcpy(buf, b->data + chunk * VIRTIO_BLK_SNAP_CHUNK, n);
	return n;
}

bool virtio_blk_chunk_load(struct virtio_blk *b, uint64_t chunk, const void *buf, size_t len)
{
	size_t n = virtio_blk_chunk_size(b, chunk);

	if (!n || len != n || b->ro)
		return false;
	memcpy(b->data + chunk * VIRTIO_BLK_SNAP_CHUNK, buf, n);
	return true;
}
