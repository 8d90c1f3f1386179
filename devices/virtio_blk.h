/*
 * virtio-blk (virtio 1.2 §5.2) over the virtio-pci transport: a disk held
 * whole in hypervisor memory (a boot module), read-write or read-only.
 * One request queue of VIRTIO_BLK_QUEUE_SIZE entries; requests are served
 * in the notifying vCPU's exit, copied between the disk and guest RAM
 * through the checked virtqueue helpers.  After a kick the driver's
 * notifications stay off and the requests it adds are served at the VM's
 * next exits (virtio_blk_poll), until a look finds the queue drained
 * (devices/virtio_pci.h, virtio_pci_kick_serve).
 *
 * Requests: IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES.  A request
 * whose sectors reach past the disk's end, a write to a read-only disk, a
 * data length that is not whole sectors or a header too short gets
 * VIRTIO_BLK_S_IOERR; an unknown type VIRTIO_BLK_S_UNSUPP.  A chain with
 * no device-writable byte for the status puts the device in NEEDS_RESET.
 */
#ifndef KASANE_DEVICES_VIRTIO_BLK_H
#define KASANE_DEVICES_VIRTIO_BLK_H

#include "devices/virtio_pci.h"

#define VIRTIO_BLK_QUEUE_SIZE   256
#define VIRTIO_BLK_SECTOR       512
#define VIRTIO_BLK_SEG_MAX      (VIRTQ_MAX_SEGS - 2)    /* header and status take two */
#define VIRTIO_BLK_ID_BYTES     20
#define VIRTIO_BLK_MAX_DZ_SEGS  16      /* DISCARD / WRITE_ZEROES segments per request */
#define VIRTIO_BLK_MAX_DZ_SECTORS 0x400000u     /* 2 GiB per segment */

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (§5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_WZ_F_UNMAP     1u    /* discard/write-zeroes segment flags */

/* struct virtio_blk_config (§5.2.4): the fields kasane fills, and its size. */
#define VIRTIO_BLK_CFG_CAPACITY   0
#define VIRTIO_BLK_CFG_SEG_MAX    12
#define VIRTIO_BLK_CFG_NUM_QUEUES 34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG     40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN       44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS      48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG          52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP        56
#define VIRTIO_BLK_CFG_SIZE       72

/* The header every request starts with (§5.2.6). */
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* One DISCARD / WRITE_ZEROES segment (§5.2.6). */
struct virtio_blk_dz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/*
 * What a request asks, decided from its header and the chain's byte counts
 * alone (pure; the unit test's subject).  status is VIRTIO_BLK_S_OK when
 * the request may be carried out: then for IN and OUT [off, off + len) is
 * the disk's byte range, for DISCARD and WRITE_ZEROES nseg is the number
 * of segments to read, for GET_ID len is the ID bytes to write.
 * out_len/in_len are the chain's driver-readable and device-writable
 * totals; in_len >= 1 (the caller checks the status byte exists).
 */
struct vblk_plan {
	uint8_t status;
	uint32_t type;
	uint64_t off, len;
	unsigned nseg;
};
void vblk_plan(const struct virtio_blk_req_hdr *h, uint32_t out_len, uint32_t in_len,
	       uint64_t disk_bytes, bool ro, struct vblk_plan *p);

/* Check one DISCARD / WRITE_ZEROES segment; VIRTIO_BLK_S_OK or the status. */
uint8_t vblk_dz_check(const struct virtio_blk_dz_seg *s, uint32_t type, uint64_t disk_bytes);

struct virtio_blk {
	struct virtio_pci vp;
	uint8_t *data;                  /* the disk: size bytes, for kasane's life */
	uint64_t size;                  /* a multiple of VIRTIO_BLK_SECTOR */
	bool ro;
	char id[VIRTIO_BLK_ID_BYTES];   /* GET_ID's answer, NUL-padded */
	uint64_t reads, writes, flushes, errors;
};

/* A disk at devfn over data[0, size) (size a non-zero multiple of 512).
 * False if the transport cannot be set up. */
bool virtio_blk_init(struct virtio_blk *b, uint8_t devfn, const struct guest_mem *mem,
		     uint8_t *data, uint64_t size, bool ro, const char *id,
		     virtio_say_fn say, void *say_ctx);

/*
 * Serve requests added since the last look, if the queue polls (any CPU,
 * any context; does nothing if another CPU holds the device).  The board
 * calls it after every exit of the VM's vCPUs (idle: the exit was HLT and
 * no interrupt waits)
 * and with their timers.
 */
void virtio_blk_poll(struct virtio_blk *b, bool idle);

/*
 * Snapshot records (devices/devsnap.h).  The device's record is the
 * transport's (virtio_pci.h) and the disk's identity and counters:
 * requests are served whole where the device looks at its queue (a kick,
 * or a poll after an exit), so none is half done while the VM is paused;
 * chains made available and not yet served stay in the restored ring,
 * and the restored queue polls until it has served them.  The disk's contents are records of
 * their own, VIRTIO_BLK_SNAP_CHUNK bytes each (the last one shorter), for
 * a read-write disk: a restore puts back the disk as it was at the
 * snapshot, consistent with the guest's page cache in the restored RAM.
 */
#define VIRTIO_BLK_SNAP_VERSION 1
#define VIRTIO_BLK_SNAP_CHUNK   (2ULL << 20)

struct virtio_blk_rec {
	struct virtio_pci_rec t;
	uint64_t size;
	uint8_t ro, pad[3];
	char id[VIRTIO_BLK_ID_BYTES];
	uint64_t reads, writes, flushes, errors;
};
#define VIRTIO_BLK_SNAP_SIZE sizeof(struct virtio_blk_rec)

size_t virtio_blk_save(const struct virtio_blk *b, void *buf, size_t len);
bool virtio_blk_load(struct virtio_blk *b, const void *buf, size_t len);
/* Whether a record is one of a disk like b (transport and disk identity). */
bool virtio_blk_rec_matches(const struct virtio_blk *b, const void *buf, size_t len);

/* The disk's contents: its chunks, their sizes, and a copy out or back. */
uint64_t virtio_blk_chunks(const struct virtio_blk *b);
size_t virtio_blk_chunk_size(const struct virtio_blk *b, uint64_t chunk);
size_t virtio_blk_chunk_save(const struct virtio_blk *b, uint64_t chunk, void *buf, size_t len);
bool virtio_blk_chunk_load(struct virtio_blk *b, uint64_t chunk, const void *buf, size_t len);

#endif
