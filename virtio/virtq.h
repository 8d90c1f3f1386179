/*
 * Device side of a virtio split virtqueue (virtio 1.2 §2.7), independent of
 * the transport.  The driver is the guest and is hostile: every ring entry,
 * descriptor and buffer address is a guest-physical address checked against
 * the VM's RAM map (mm/guest_mem.h) before use, every field the guest can
 * change is read exactly once into a local, and every walk is bounded.  A
 * protocol violation sets q->broken; the queue then refuses all work until
 * virtq_init() is called again, and the caller ends or resets the device.
 *
 * The rings are looked up in the RAM map on every call, so no host pointer
 * into guest memory is kept in struct virtq.  Each ring must lie inside one
 * RAM region.
 *
 * Not thread-safe: one vCPU or worker handles a queue at a time.  The guest
 * runs concurrently, so the barriers below follow §2.7.13 / §2.7.7.
 * Little-endian host assumed (x86-64), so ring fields need no swapping.
 * Pure logic: also built into the host unit tests.
 */
#ifndef KASANE_VIRTIO_VIRTQ_H
#define KASANE_VIRTIO_VIRTQ_H

#include "lib/types.h"
#include "mm/guest_mem.h"

#define VIRTQ_MAX_SIZE            32768   /* §2.7: Queue Size <= 32768 */
#define VIRTQ_MAX_SEGS            64      /* buffer segments per chain we accept */

/* struct virtq_desc.flags (§2.7.5) */
#define VIRTQ_DESC_F_NEXT         1
#define VIRTQ_DESC_F_WRITE        2
#define VIRTQ_DESC_F_INDIRECT     4
/* virtq_avail.flags (§2.7.6) and virtq_used.flags (§2.7.8) */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY    1

/* Guest-side layout, for reference and for tests (§2.7.5, §2.7.6, §2.7.8). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* Ring sizes in bytes for a queue of n entries (§2.7, "Virtqueue Part"). */
#define VIRTQ_DESC_BYTES(n)       (16ULL * (n))
#define VIRTQ_AVAIL_BYTES(n)      (6ULL + 2ULL * (n))   /* flags, idx, ring[n], used_event */
#define VIRTQ_USED_BYTES(n)       (6ULL + 8ULL * (n))   /* flags, idx, ring[n], avail_event */

struct virtq {
	uint16_t size;            /* queue size, power of 2, <= 32768 */
	gpa_t desc, avail, used;  /* ring GPAs as set by the driver */
	uint16_t last_avail;      /* next avail index to consume */
	uint16_t used_idx;        /* shadow of used->idx (the device owns it) */
	bool event_idx;           /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;            /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;              /* guest protocol violation seen; queue stopped */
};

/* One guest buffer segment; [addr, addr+len) was checked to be guest RAM. */
struct virtq_buf {
	gpa_t addr;
	uint32_t len;
	bool write;               /* device-writable */
};

/*
 * A popped descriptor chain.  Driver-readable segments come first, then the
 * device-writable ones (§2.7.4.2); out_len / in_len are their byte totals.
 */
struct virtq_chain {
	uint16_t head;            /* id to hand back to virtq_push() */
	int nr;
	struct virtq_buf seg[VIRTQ_MAX_SEGS];
	uint32_t out_len, in_len;
};

/*
 * Set up q for rings at desc/avail/used.  Checks that size is a power of two
 * in [1, 32768], the alignment of §2.7 (desc 16, avail 2, used 4) and that
 * each ring lies inside one guest RAM region.  Resets the indices to 0 and
 * clears event_idx / indirect: the caller sets those from the negotiated
 * features afterwards.  Returns 0, or -1 (q->broken set) on a bad setup.
 */
int virtq_init(struct virtq *q, const struct guest_mem *m, uint16_t size,
	       gpa_t desc, gpa_t avail, gpa_t used);

/*
 * Pop the next available chain into c.  Returns 1 if one was popped, 0 if
 * the ring is empty, -1 on a guest error: avail->idx more than size ahead,
 * descriptor index >= size, a loop (chain longer than its table), more than
 * VIRTQ_MAX_SEGS segments, a buffer not wholly in guest RAM, a readable
 * descriptor after a writable one, INDIRECT without the feature, INDIRECT
 * together with NEXT, a nested indirect table, an indirect table whose
 * length is 0 or not a multiple of 16 or that is not in one RAM region, or
 * byte totals above 4 GiB.  On error q->broken is set and a one-line reason
 * is written to err (if errlen > 0).  A broken queue always returns -1.
 */
int virtq_pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c,
	      char *err, size_t errlen);

/* True if the driver has made chains available that were not popped yet. */
bool virtq_pending(struct virtq *q, const struct guest_mem *m);

/*
 * Copy up to len bytes starting at byte off of the chain's driver-readable
 * part into dst, or from src into its device-writable part.  Return the
 * number of bytes copied (less than len if the part ends first).
 */
size_t virtq_chain_read(const struct guest_mem *m, const struct virtq_chain *c,
			size_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct guest_mem *m, const struct virtq_chain *c,
			 size_t off, const void *src, size_t len);

/*
 * Return chain head to the driver with `written` bytes written into its
 * device-writable part (§2.7.8).  The element is made visible before the
 * new used->idx.  head must come from virtq_pop() and be pushed once.
 * Returns 0, or -1 if the queue is broken or head is out of range.
 */
int virtq_push(struct virtq *q, const struct guest_mem *m, uint16_t head,
	       uint32_t written);

/*
 * After one or more pushes, whether the driver wants a used-buffer
 * notification (§2.7.7, §2.7.10).  old_used_idx is q->used_idx before the
 * batch.  Without EVENT_IDX: unless avail->flags has NO_INTERRUPT; with it:
 * if used_event lies in [old_used_idx, q->used_idx).  False if nothing was
 * pushed since old_used_idx or the queue is broken.
 */
bool virtq_should_notify(struct virtq *q, const struct guest_mem *m,
			 uint16_t old_used_idx);

/*
 * Ask the driver to send (enable) or skip (disable) available-buffer
 * notifications (§2.7.10): used->flags NO_NOTIFY without EVENT_IDX,
 * avail_event = q->last_avail with it (disabling then leaves avail_event
 * behind, so the driver kicks at most once more).  After enabling, the
 * caller must check virtq_pending() again: a chain made available before
 * the driver saw the change would otherwise never be processed.
 */
void virtq_set_notify(struct virtq *q, const struct guest_mem *m, bool enable);

#endif
