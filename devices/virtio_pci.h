/*
 * The modern virtio-pci transport (virtio 1.2 §4.1), shared by every
 * virtio device model (block, console, entropy, network).  A device model
 * embeds a struct virtio_pci, implements struct virtio_dev_ops and calls
 * virtio_pci_init(); the board plugs vp->fn into the VM's PCI bus with
 * vpci_add().
 *
 * What the guest sees (one function, non-transitional, §4.1.2):
 *   IDs      0x1af4:0x1040+n (n the device type, §5), revision 1,
 *            subsystem 0x1af4:0x1100
 *   BAR0     32-bit memory, 16 KiB: common configuration at 0x0000,
 *            ISR status at 0x1000, device configuration at 0x2000,
 *            notifications at 0x3000 (queue i at 0x3000 + 4*i:
 *            notify_off_multiplier 4, queue_notify_off i)
 *   BAR1     the MSI-X table and PBA: one vector per queue plus one for
 *            configuration changes; INTA as the fallback (§4.1.4.5)
 *   vendor capabilities (§4.1.4) for common, notify, ISR and device
 *   configuration (the last one only if the device has a config space),
 *   and the PCI configuration access capability (§4.1.4.9): a window
 *   through configuration space onto BAR0.  The driver writes the
 *   window's bar, offset and length (1, 2 or 4, offset a multiple of it),
 *   then reads or writes pci_cfg_data (an access wholly inside it); the
 *   device makes that access to BAR0.  A window that is not inside one of
 *   the other capabilities' ranges (§4.1.4.9.2) makes no access: data
 *   then reads as 0 and a write only stores the bytes.
 *
 * Features: the device's own bits plus VERSION_1, INDIRECT_DESC and
 * EVENT_IDX, which the transport implements.  FEATURES_OK is accepted only
 * with VERSION_1 and a subset of what was offered (§3.1.1).
 *
 * A guest that breaks the protocol (a bad ring, a status bit cleared, a
 * queue badly set up) puts the device in DEVICE_NEEDS_RESET (§2.1.1): one
 * line on the console says why, a configuration-change interrupt is sent
 * (§2.1.2), and no queue is served until the driver resets the device by
 * writing 0 to device_status.  Reset frees everything the device holds.
 *
 * Locking: vp->lock (taken by the BAR handler and virtio_pci_lock()) guards
 * the transport and the device model's state.  Every virtio_dev_ops hook
 * runs with it held, and so must every call below marked "lock held".
 * Order: vp->lock, then the PCI bus lock (interrupts).  Not for interrupt
 * handlers.  Guest memory is touched only through vp->mem, checked.
 */
#ifndef KASANE_DEVICES_VIRTIO_PCI_H
#define KASANE_DEVICES_VIRTIO_PCI_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/vpci.h"
#include "virtio/virtio.h"
#include "virtio/virtq.h"

#define VIRTIO_PCI_VENDOR       0x1af4
#define VIRTIO_PCI_DEVICE_BASE  0x1040  /* + device type (§4.1.2.1) */
#define VIRTIO_PCI_SUBSYS_ID    0x1100
#define VIRTIO_PCI_MAX_QUEUES   16
#define VIRTIO_MSI_NO_VECTOR    0xffff  /* §4.1.5.1.2 */

/* BAR0 layout. */
#define VIRTIO_PCI_BAR          0
#define VIRTIO_PCI_MSIX_BAR     1
#define VIRTIO_PCI_BAR_SIZE     0x4000
#define VIRTIO_PCI_COMMON_OFF   0x0000
#define VIRTIO_PCI_ISR_OFF      0x1000
#define VIRTIO_PCI_DEVICE_OFF   0x2000
#define VIRTIO_PCI_NOTIFY_OFF   0x3000
#define VIRTIO_PCI_REGION_SIZE  0x1000
#define VIRTIO_PCI_NOTIFY_MULT  4

/* Capability cfg_type values (§4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5
/* struct virtio_pci_cap (§4.1.4): byte offsets in a capability. */
#define VIRTIO_PCI_CAP_BAR        4
#define VIRTIO_PCI_CAP_OFFSET     8
#define VIRTIO_PCI_CAP_LENGTH     12
#define VIRTIO_PCI_CFG_DATA       16      /* struct virtio_pci_cfg_cap */

/* struct virtio_pci_common_cfg (§4.1.4.3): byte offsets. */
#define VIRTIO_PCI_COMMON_DFSELECT  0x00
#define VIRTIO_PCI_COMMON_DF        0x04
#define VIRTIO_PCI_COMMON_GFSELECT  0x08
#define VIRTIO_PCI_COMMON_GF        0x0c
#define VIRTIO_PCI_COMMON_MSIX      0x10
#define VIRTIO_PCI_COMMON_NUMQ      0x12
#define VIRTIO_PCI_COMMON_STATUS    0x14
#define VIRTIO_PCI_COMMON_CFGGEN    0x15
#define VIRTIO_PCI_COMMON_Q_SELECT  0x16
#define VIRTIO_PCI_COMMON_Q_SIZE    0x18
#define VIRTIO_PCI_COMMON_Q_MSIX    0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE  0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF    0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO  0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI  0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO  0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI  0x34
#define VIRTIO_PCI_COMMON_SIZE      0x3c  /* with queue_notif_config_data, queue_reset */

/* ISR status bits (§4.1.4.5). */
#define VIRTIO_PCI_ISR_QUEUE    0x1
#define VIRTIO_PCI_ISR_CONFIG   0x2

/* What a device model implements.  Every hook runs with vp->lock held. */
struct virtio_dev_ops {
	/* The device-type feature bits it offers (§5.x.3); the transport
	 * adds VERSION_1, INDIRECT_DESC and EVENT_IDX. */
	uint64_t (*features)(void *dev);
	/* Device configuration space (§4.1.4.6): an access of size 1, 2, 4
	 * or 8 at off, with off + size <= the cfg_size given at init.
	 * Reads get *val zeroed first.  cfg_write may be NULL (read-only). */
	void (*cfg_read)(void *dev, unsigned off, unsigned size, uint64_t *val);
	void (*cfg_write)(void *dev, unsigned off, unsigned size, uint64_t val);
	/* The driver notified queue q: enabled, DRIVER_OK set, no reset needed. */
	void (*notify)(void *dev, unsigned q);
	/* Back to the power-on state, giving back anything held (§2.4). */
	void (*reset)(void *dev);
	/* Optional: DRIVER_OK was just set; the features are in vp->features. */
	void (*driver_ok)(void *dev);
};

struct virtio_pci_queue {
	uint16_t size;                  /* as the driver set it (max at reset) */
	uint16_t max;                   /* the largest size the device takes */
	uint16_t msix;                  /* vector, or VIRTIO_MSI_NO_VECTOR */
	bool enabled;
	uint64_t desc, driver, device;  /* the driver's ring addresses */
	uint16_t batch_used;            /* used idx at the last interrupt decision */
	bool polling;                   /* notifications off; served at the VM's exits */
	uint8_t empty_polls;            /* looks in a row that found nothing */
	struct virtq vq;
	uint64_t notifies;              /* kicks seen */
};

/* Where a NEEDS_RESET reason line goes (the board prefixes the VM's name). */
typedef void (*virtio_say_fn)(void *ctx, const char *line);

struct virtio_pci {
	struct vpci_func fn;
	spinlock_t lock;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *mem;    /* the VM's RAM: every access checked */
	virtio_say_fn say;
	void *say_ctx;
	const char *kind;               /* "virtio-blk", for messages */
	unsigned nr_queues;
	unsigned cfg_size;              /* device configuration bytes */
	uint64_t offered;               /* device_feature */
	uint64_t features;              /* driver_feature; in force once FEATURES_OK */
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint8_t cfg_gen;
	uint8_t isr;
	uint16_t msix_config;
	uint16_t queue_sel;
	uint8_t cfg_cap;                /* the PCI_CFG capability's offset */
	struct virtio_pci_queue q[VIRTIO_PCI_MAX_QUEUES];
	uint64_t resets, needs_reset, interrupts;
	uint32_t polling;               /* queues polling (bit q): read without the lock */
};

/*
 * Describe the function at devfn: device type dev_type (§5), PCI class
 * code, nr_queues queues of at most qmax entries each (a power of two),
 * cfg_size bytes of device configuration (<= 0x1000).  mem is the VM's
 * RAM; say gets the one-line reasons.  Returns false if the queue count,
 * sizes or capabilities do not fit.
 */
bool virtio_pci_init(struct virtio_pci *vp, uint8_t devfn, unsigned dev_type,
		     uint32_t class_code, unsigned nr_queues, uint16_t qmax,
		     unsigned cfg_size, const struct virtio_dev_ops *ops, void *dev,
		     const struct guest_mem *mem, const char *kind, virtio_say_fn say,
		     void *say_ctx);

/* BAR0's handler (registered by virtio_pci_init; exported for tests). */
int virtio_pci_bar_access(void *vp, struct io_req *req);

static inline void virtio_pci_lock(struct virtio_pci *vp) { spin_lock(&vp->lock); }
static inline void virtio_pci_unlock(struct virtio_pci *vp) { spin_unlock(&vp->lock); }

/* Whether a feature was negotiated (lock held or DRIVER_OK seen). */
static inline bool virtio_pci_has(const struct virtio_pci *vp, unsigned bit)
{
	return (vp->features >> bit) & 1;
}

/* Whether queue q may be served now: DRIVER_OK, no reset needed, enabled. */
bool virtio_pci_queue_live(const struct virtio_pci *vp, unsigned q);

/*
 * Pop the next chain of queue q (lock held): 1 popped, 0 empty or the
 * queue not live, -1 the ring was bad (the device is now in NEEDS_RESET
 * with the reason said).
 */
int virtio_pci_pop(struct virtio_pci *vp, unsigned q, struct virtq_chain *c);

/* Hand a popped chain back with `written` bytes written (lock held). */
void virtio_pci_push(struct virtio_pci *vp, unsigned q, uint16_t head, uint32_t written);

/* After a batch of pushes: interrupt the driver if it asked (§2.7.7). */
void virtio_pci_interrupt(struct virtio_pci *vp, unsigned q);

/*
 * Serve queue q (lock held): with driver notifications off, pop each chain,
 * hand it to serve (which returns the bytes it wrote into the chain, or a
 * negative value after calling virtio_pci_fail), push it; then turn
 * notifications back on and look again (§2.7.10), at most 8 rounds of
 * 2 x queue size chains; last, the interrupt if one is due.
 */
void virtio_pci_serve(struct virtio_pci *vp, unsigned q,
		      int64_t (*serve)(void *dev, unsigned q, struct virtq_chain *c));

/*
 * Notification suppression while the device has work (§2.7.10): at a kick,
 * virtio_pci_kick_serve() serves queue q like virtio_pci_serve() but leaves
 * the driver's notifications off, and the queue "polls": the board calls
 * virtio_pci_poll() after every exit of the VM's vCPUs and with their
 * timers, so chains the driver adds meanwhile are served there, in
 * batches, without kicks of their own.  The queue counts as drained at a
 * look that finds nothing when the guest idles (idle: its vCPU executed
 * HLT with no interrupt waiting), or at the VIRTIO_PCI_EMPTY_POLLS-th
 * such look in a row (a guest busy with other work); then
 * notifications go back on, the device looks once more (the §2.7.10
 * re-check: a chain made available before the driver saw the change),
 * and polling ends.  Both lock held.
 */
#define VIRTIO_PCI_EMPTY_POLLS 64
void virtio_pci_kick_serve(struct virtio_pci *vp, unsigned q,
			   int64_t (*serve)(void *dev, unsigned q, struct virtq_chain *c));
void virtio_pci_poll(struct virtio_pci *vp, unsigned q, bool idle,
		     int64_t (*serve)(void *dev, unsigned q, struct virtq_chain *c));
/*
 * Make queue q poll, as after a kick, without serving it now.  After a
 * snapshot's restore: the restored ring may say "no notifications" (the
 * driver's RAM came back as it was while the device polled), and only a
 * look from the device, which ends with the §2.7.10 re-check, turns them
 * back on.
 */
void virtio_pci_poll_start(struct virtio_pci *vp, unsigned q);

/* Whether any queue polls: a hint read without the lock. */
static inline bool virtio_pci_polling(const struct virtio_pci *vp)
{
	return __atomic_load_n(&vp->polling, __ATOMIC_RELAXED) != 0;
}

/* The driver broke the protocol (lock held): NEEDS_RESET, the reason said
 * once on the console, a configuration interrupt. */
void virtio_pci_fail(struct virtio_pci *vp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The device configuration changed (lock held): bump config_generation
 * and interrupt. */
void virtio_pci_config_changed(struct virtio_pci *vp);

/*
 * Snapshot records (devices/devsnap.h).  The transport's part of a virtio
 * device's record: its identity (a record loads only into the same
 * function: device ID, devfn, queue count, configuration size, features
 * offered), the driver's settings (features, selectors, status,
 * config_generation, ISR, vectors) and each queue's set-up and device-side
 * indices (last_avail, the used index, the used index at the last
 * interrupt decision, EVENT_IDX and INDIRECT_DESC in force, broken).  The
 * MSI-X table and PBA and the INTx level are the PCI bus's record
 * (devices/vpci.h).  Each device model puts this first in its own record.
 */
#define VIRTIO_PCI_SNAP_VERSION 1

struct virtio_pci_queue_rec {
	uint16_t size, msix, last_avail, used_idx, batch_used;
	uint8_t enabled, event_idx, indirect, broken;
	uint8_t pad[4];
	uint64_t desc, driver, device, notifies;
};

struct virtio_pci_rec {
	uint16_t device_id;
	uint8_t devfn, nr_queues;
	uint32_t cfg_size;
	uint64_t offered;
	uint64_t features;
	uint32_t dfselect, gfselect;
	uint8_t status, cfg_gen, isr, pad;
	uint16_t msix_config, queue_sel;
	uint64_t resets, needs_reset, interrupts;
	struct virtio_pci_queue_rec q[VIRTIO_PCI_MAX_QUEUES];
};

/* The transport's state into *r (the VM paused, no lock taken). */
void virtio_pci_save(const struct virtio_pci *vp, struct virtio_pci_rec *r);
/* Whether r is a record of a function like vp (its identity fields). */
bool virtio_pci_rec_matches(const struct virtio_pci *vp, const struct virtio_pci_rec *r);
/* Whether r may be loaded into vp: its identity, and every value in
 * range (vectors, queue sizes, rings in the VM's RAM, status). */
bool virtio_pci_rec_ok(const struct virtio_pci *vp, const struct virtio_pci_rec *r);
/* Load r, which virtio_pci_rec_ok() accepted, into vp. */
void virtio_pci_load(struct virtio_pci *vp, const struct virtio_pci_rec *r);

#endif
