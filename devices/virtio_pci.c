/*
 * The modern virtio-pci transport: see virtio_pci.h.
 *
 * Notifications take the fast path of the I/O bus: a write to BAR0 at
 * 0x3000 + 4*q is routed by address alone to notify_write(), which needs
 * neither the value nor the rest of the transport's registers.
 */
#include "devices/virtio_pci.h"
#include "lib/printf.h"
#include "lib/string.h"

#define RING_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | \
		       VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) | \
		       VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX))

/* ---- capabilities (§4.1.4) -------------------------------------------- */

/* struct virtio_pci_cap: cfg_type, bar, id, padding, offset, length. */
static bool add_cap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len,
		    bool notify)
{
	unsigned caplen = notify ? 20 : 16;
	uint8_t c = vpci_func_cap(&vp->fn, PCI_CAP_ID_VNDR, caplen);

	if (!c)
		return false;
	vpci_cfg_put(&vp->fn, c + 2, 1, caplen);
	vpci_cfg_put(&vp->fn, c + 3, 1, type);
	vpci_cfg_put(&vp->fn, c + 4, 1, VIRTIO_PCI_BAR);
	vpci_cfg_put(&vp->fn, c + 8, 4, off);
	vpci_cfg_put(&vp->fn, c + 12, 4, len);
	if (notify)     /* §4.1.4.4: notify_off_multiplier */
		vpci_cfg_put(&vp->fn, c + 16, 4, VIRTIO_PCI_NOTIFY_MULT);
	return true;
}

/*
 * Whether [off, off + len) of BAR bar is an access the window may make
 * (§4.1.4.9.2): len 1, 2 or 4, aligned to itself, inside the range of one
 * of the other capabilities (all in BAR0).
 */
static bool window_ok(const struct virtio_pci *vp, uint8_t bar, uint32_t off, uint32_t len)
{
	uint64_t end = (uint64_t)off + len;

	if (bar != VIRTIO_PCI_BAR || (len != 1 && len != 2 && len != 4) || off % len)
		return false;
	if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_REGION_SIZE)
		return end <= VIRTIO_PCI_DEVICE_OFF + (uint64_t)vp->cfg_size;
	return end <= VIRTIO_PCI_BAR_SIZE;
}

/*
 * The PCI configuration access capability (§4.1.4.9.1): an access to
 * pci_cfg_data is made to the BAR at the window's offset, cap.length
 * bytes.  Called without the bus lock (vpci_func_ops.cfg_direct), so that
 * the BAR access may interrupt; the capability's bytes are read and
 * written under it.
 */
static bool cfg_window(void *dev, struct vpci_func *fn, unsigned off, unsigned size,
		       bool write, uint64_t *val)
{
	struct virtio_pci *vp = dev;
	unsigned c = vp->cfg_cap, data = c + VIRTIO_PCI_CFG_DATA;

	if (!c || off < data || off + size > data + 4)
		return false;
	spin_lock(&fn->bus->lock);
	if (write)
		vpci_cfg_put(fn, off, size, (uint32_t)*val);
	uint8_t bar = (uint8_t)vpci_cfg_get(fn, c + VIRTIO_PCI_CAP_BAR, 1);
	uint32_t boff = vpci_cfg_get(fn, c + VIRTIO_PCI_CAP_OFFSET, 4);
	uint32_t len = vpci_cfg_get(fn, c + VIRTIO_PCI_CAP_LENGTH, 4);
	uint32_t bytes = vpci_cfg_get(fn, data, 4);
	spin_unlock(&fn->bus->lock);

	bool ok = window_ok(vp, bar, boff, len);
	struct io_req req = { .off = boff, .size = ok ? len : 1, .write = write,
			      .val = ok && len < 4 ? bytes & ((1u << (8 * len)) - 1) : bytes };
	if (ok)
		virtio_pci_bar_access(vp, &req);
	if (write)
		return true;
	spin_lock(&fn->bus->lock);
	/* The first cap.length bytes take what was read; no access: 0. */
	vpci_cfg_put(fn, data, ok ? len : 4, ok ? (uint32_t)req.val : 0);
	*val = vpci_cfg_get(fn, off, size);
	spin_unlock(&fn->bus->lock);
	return true;
}

static const struct vpci_func_ops window_ops = { .cfg_direct = cfg_window };

/* The PCI_CFG capability: bar, offset, length and data writable. */
static bool add_cfg_cap(struct virtio_pci *vp)
{
	uint8_t c = vpci_func_cap(&vp->fn, PCI_CAP_ID_VNDR, VIRTIO_PCI_CFG_DATA + 4);

	if (!c)
		return false;
	vpci_cfg_put(&vp->fn, c + 2, 1, VIRTIO_PCI_CFG_DATA + 4);
	vpci_cfg_put(&vp->fn, c + 3, 1, VIRTIO_PCI_CAP_PCI_CFG);
	vpci_cfg_wmask(&vp->fn, c + VIRTIO_PCI_CAP_BAR, 1, 0xff);
	vpci_cfg_wmask(&vp->fn, c + VIRTIO_PCI_CAP_OFFSET, 4, 0xffffffff);
	vpci_cfg_wmask(&vp->fn, c + VIRTIO_PCI_CAP_LENGTH, 4, 0xffffffff);
	vpci_cfg_wmask(&vp->fn, c + VIRTIO_PCI_CFG_DATA, 4, 0xffffffff);
	vp->cfg_cap = c;
	return true;
}

bool virtio_pci_init(struct virtio_pci *vp, uint8_t devfn, unsigned dev_type,
		     uint32_t class_code, unsigned nr_queues, uint16_t qmax,
		     unsigned cfg_size, const struct virtio_dev_ops *ops, void *dev,
		     const struct guest_mem *mem, const char *kind, virtio_say_fn say,
		     void *say_ctx)
{
	memset(vp, 0, sizeof(*vp));
	if (nr_queues == 0 || nr_queues > VIRTIO_PCI_MAX_QUEUES ||
	    nr_queues + 1 > VPCI_MSIX_MAX || qmax == 0 || (qmax & (qmax - 1)) ||
	    qmax > VIRTQ_MAX_SIZE || cfg_size > VIRTIO_PCI_REGION_SIZE)
		return false;
	vp->ops = ops;
	vp->dev = dev;
	vp->mem = mem;
	vp->kind = kind;
	vp->say = say;
	vp->say_ctx = say_ctx;
	vp->nr_queues = nr_queues;
	vp->cfg_size = cfg_size;
	for (unsigned i = 0; i < nr_queues; i++)
		vp->q[i].max = qmax;

	/* §4.1.2.1: non-transitional ID 0x1040 + type, revision >= 1. */
	vpci_func_init(&vp->fn, devfn, VIRTIO_PCI_VENDOR,
		       (uint16_t)(VIRTIO_PCI_DEVICE_BASE + dev_type), class_code, 1, &window_ops, vp);
	vpci_func_subsystem(&vp->fn, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
	if (!vpci_func_bar(&vp->fn, VIRTIO_PCI_BAR, VPCI_BAR_MEM32, false, VIRTIO_PCI_BAR_SIZE,
			   virtio_pci_bar_access, vp) ||
	    !add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
		     VIRTIO_PCI_REGION_SIZE, false) ||
	    !add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
		     VIRTIO_PCI_REGION_SIZE, true) ||
	    !add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, VIRTIO_PCI_REGION_SIZE, false) ||
	    (cfg_size && !add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
				  cfg_size, false)) ||
	    !add_cfg_cap(vp) ||
	    !vpci_func_msix(&vp->fn, nr_queues + 1, VIRTIO_PCI_MSIX_BAR))
		return false;
	vpci_func_intx_pin(&vp->fn, 1);
	vp->offered = (ops->features ? ops->features(dev) : 0) | RING_FEATURES;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (unsigned i = 0; i < nr_queues; i++) {
		vp->q[i].size = qmax;
		vp->q[i].msix = VIRTIO_MSI_NO_VECTOR;
	}
	return true;
}

/* ---- interrupts (§4.1.5.4) -------------------------------------------- */

/* MSI-X vector `vec` if MSI-X is on (nothing for NO_VECTOR, §4.1.5.1.2),
 * else INTA with the ISR bit. */
static void raise(struct virtio_pci *vp, uint16_t vec, uint8_t isr_bit)
{
	vp->interrupts++;
	if (vpci_msix_enabled(&vp->fn)) {
		if (vec != VIRTIO_MSI_NO_VECTOR)
			vpci_msix_raise(&vp->fn, vec);
		return;
	}
	vp->isr |= isr_bit;
	vpci_intx(&vp->fn, true);
}

void virtio_pci_interrupt(struct virtio_pci *vp, unsigned q)
{
	struct virtio_pci_queue *pq = &vp->q[q];

	if (q >= vp->nr_queues)
		return;
	if (virtq_should_notify(&pq->vq, vp->mem, pq->batch_used))
		raise(vp, pq->msix, VIRTIO_PCI_ISR_QUEUE);
	pq->batch_used = pq->vq.used_idx;
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	vp->cfg_gen++;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		raise(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

void virtio_pci_fail(struct virtio_pci *vp, const char *fmt, ...)
{
	char line[200];
	va_list ap;

	if (vp->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;         /* said once per reset */
	vp->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	vp->needs_reset++;
	int n = ksnprintf(line, sizeof(line), "%s 00:%02x.%u: ", vp->kind, vp->fn.devfn >> 3,
			  vp->fn.devfn & 7);
	va_start(ap, fmt);
	kvsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	ksnprintf(line + n, sizeof(line) - (size_t)n, "; device needs reset");
	kstr_oneline(line);
	if (vp->say)
		vp->say(vp->say_ctx, line);
	/* §2.1.2: the device SHOULD send a configuration change notification. */
	raise(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

/* ---- queues ------------------------------------------------------------- */

/* PCI 3.0 §6.2.2: without Bus Master Enable the function makes no memory
 * access, so no ring is read or written. */
bool virtio_pci_queue_live(const struct virtio_pci *vp, unsigned q)
{
	return q < vp->nr_queues && vp->q[q].enabled &&
	       (vpci_cfg_get(&vp->fn, PCI_COMMAND, 2) & PCI_COMMAND_MASTER) &&
	       (vp->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET |
			      VIRTIO_STATUS_FAILED)) == VIRTIO_STATUS_DRIVER_OK;
}

int virtio_pci_pop(struct virtio_pci *vp, unsigned q, struct virtq_chain *c)
{
	char why[120];

	if (!virtio_pci_queue_live(vp, q))
		return 0;
	int r = virtq_pop(&vp->q[q].vq, vp->mem, c, why, sizeof(why));
	if (r < 0)
		virtio_pci_fail(vp, "queue %u: %s", q, why);
	return r;
}

void virtio_pci_push(struct virtio_pci *vp, unsigned q, uint16_t head, uint32_t written)
{
	if (q < vp->nr_queues && virtq_push(&vp->q[q].vq, vp->mem, head, written) < 0)
		virtio_pci_fail(vp, "queue %u: used ring no longer in guest RAM", q);
}

/*
 * Pop, serve and push up to 2 x queue size chains, the driver's
 * notifications off meanwhile.  Returns how many were served, or -1 if the
 * queue is no longer live (a bad chain put the device in NEEDS_RESET).
 */
static int serve_batch(struct virtio_pci *vp, unsigned q,
		       int64_t (*serve)(void *dev, unsigned q, struct virtq_chain *c))
{
	struct virtq_chain c;
	struct virtq *vq = &vp->q[q].vq;
	unsigned budget = 2u * vq->size;
	int n = 0;

	virtq_set_notify(vq, vp->mem, false);
	while ((unsigned)n < budget) {
		int r = virtio_pci_pop(vp, q, &c);
		if (r <= 0)
			break;
		int64_t w = serve(vp->dev, q, &c);
		if (w < 0 || !virtio_pci_queue_live(vp, q))
			return -1;
		virtio_pci_push(vp, q, c.head, (uint32_t)w);
		n++;
	}
	return virtio_pci_queue_live(vp, q) ? n : -1;
}

void virtio_pci_serve(struct virtio_pci *vp, unsigned q,
		      int64_t (*serve)(void *dev, unsigned q, struct virtq_chain *c))
{
	if (!virtio_pci_queue_live(vp, q))
		return;
	for (int round = 0; round < 8; round++) {
		if (serve_batch(vp, q, serve) < 0)
			return;
		/* §2.7.10: on again, then look: a chain made available before
		 * the driver saw it would otherwise wait for the next kick. */
		virtq_set_notify(&vp->q[q].vq, vp->mem, true);
		virtio_pci_interrupt(vp, q);
		if (!virtq_pending(&vp->q[q].vq, vp->mem))
			return;
	}
}

/* ---- notification suppression while the device has work (§2.7.10) ------ */

static void poll_stop(struct virtio_pci *vp, unsigned q)
{
	vp->q[q].polling = false;
	__atomic_and_fetch(&vp->polling, ~(1u << q), __ATOMIC_RELAXED);
}

void virtio_pci_kick_serve(struct virtio_pci *vp, unsigned q,
			   int64_t (*serve)(void *dev, unsigned q, struct virtq_chain *c))
{
	struct virtio_pci_queue *pq = &vp->q[q];

	if (!virtio_pci_queue_live(vp, q))
		return;
	if (serve_batch(vp, q, serve) < 0) {
		poll_stop(vp, q);
		return;
	}
	virtio_pci_interrupt(vp, q);
	/* Notifications stay off: the VM's next exits look again. */
	pq->polling = true;
	pq->empty_polls = 0;
	__atomic_or_fetch(&vp->polling, 1u << q, __ATOMIC_RELAXED);
}

void virtio_pci_poll_start(struct virtio_pci *vp, unsigned q)
{
	if (q >= vp->nr_queues || !vp->q[q].enabled)
		return;
	vp->q[q].polling = true;
	vp->q[q].empty_polls = 0;
	__atomic_or_fetch(&vp->polling, 1u << q, __ATOMIC_RELAXED);
}

void virtio_pci_poll(struct virtio_pci *vp, unsigned q, bool idle,
		     int64_t (*serve)(void *dev, unsigned q, struct virtq_chain *c))
{
	struct virtio_pci_queue *pq = &vp->q[q];

	if (q >= vp->nr_queues || !pq->polling)
		return;
	if (!virtio_pci_queue_live(vp, q)) {
		poll_stop(vp, q);
		return;
	}
	int n = serve_batch(vp, q, serve);
	if (n < 0) {
		poll_stop(vp, q);
		return;
	}
	if (n > 0) {
		pq->empty_polls = 0;
		virtio_pci_interrupt(vp, q);
		return;
	}
	if (!idle && ++pq->empty_polls < VIRTIO_PCI_EMPTY_POLLS)
		return;
	/* Drained: notifications back on, then one more look (§2.7.10), for
	 * a chain made available before the driver could see the change. */
	virtq_set_notify(&pq->vq, vp->mem, true);
	if (!virtq_pending(&pq->vq, vp->mem)) {
		poll_stop(vp, q);
		return;
	}
	pq->empty_polls = 0;
	if (serve_batch(vp, q, serve) < 0)
		poll_stop(vp, q);
	else
		virtio_pci_interrupt(vp, q);
}

/* ---- reset and status (§2.1, §2.4, §3.1.1) ----------------------------- */

static void device_reset(struct virtio_pci *vp)
{
	if (vp->ops->reset)
		vp->ops->reset(vp->dev);
	vp->features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->status = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->queue_sel = 0;
	__atomic_store_n(&vp->polling, 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < vp->nr_queues; i++) {
		struct virtio_pci_queue *pq = &vp->q[i];
		*pq = (struct virtio_pci_queue){ .size = pq->max, .max = pq->max,
						 .msix = VIRTIO_MSI_NO_VECTOR };
	}
	if (vp->isr) {
		vp->isr = 0;
		vpci_intx(&vp->fn, false);
	}
	vp->resets++;
}

static void status_write(struct virtio_pci *vp, uint8_t v)
{
	uint8_t old = vp->status;

	if (v == 0) {
		device_reset(vp);
		return;
	}
	/* NEEDS_RESET is the device's bit; a driver write of it means nothing. */
	v &= (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint8_t drv_old = old & (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (drv_old & ~v) {
		/* §2.1.2: the driver MUST NOT clear a device status bit. */
		virtio_pci_fail(vp, "driver cleared status bits 0x%x (status 0x%x written over 0x%x)",
				drv_old & ~v, v, old);
		return;
	}
	uint8_t add = v & (uint8_t)~old;
	if (add & VIRTIO_STATUS_FEATURES_OK) {
		/* §3.1.1 step 5: accept only what was offered, with VERSION_1
		 * (§6.1: a device without legacy support requires it). */
		if (!(v & VIRTIO_STATUS_DRIVER) || (vp->features & ~vp->offered) ||
		    !virtio_pci_has(vp, VIRTIO_F_VERSION_1))
			add &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !((old | add) & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_pci_fail(vp, "DRIVER_OK without FEATURES_OK");
		add &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	}
	vp->status |= add;
	if ((add & VIRTIO_STATUS_DRIVER_OK) && vp->ops->driver_ok)
		vp->ops->driver_ok(vp->dev);
}

/* queue_enable = 1 (§4.1.5.1.3): the rings are checked now. */
static void queue_enable(struct virtio_pci *vp, unsigned q)
{
	struct virtio_pci_queue *pq = &vp->q[q];

	if (pq->enabled)
		return;
	if (!(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_pci_fail(vp, "queue %u enabled before FEATURES_OK", q);
		return;
	}
	if (pq->size == 0 || pq->size > pq->max || (pq->size & (pq->size - 1))) {
		virtio_pci_fail(vp, "queue %u size %u (expected a power of two up to %u)",
				q, pq->size, pq->max);
		return;
	}
	if (virtq_init(&pq->vq, vp->mem, pq->size, pq->desc, pq->driver, pq->device) < 0) {
		virtio_pci_fail(vp, "queue %u rings 0x%llx/0x%llx/0x%llx misaligned or outside "
				"guest RAM", q, (unsigned long long)pq->desc,
				(unsigned long long)pq->driver, (unsigned long long)pq->device);
		return;
	}
	pq->vq.indirect = virtio_pci_has(vp, VIRTIO_RING_F_INDIRECT_DESC);
	pq->vq.event_idx = virtio_pci_has(vp, VIRTIO_RING_F_EVENT_IDX);
	pq->batch_used = 0;
	pq->enabled = true;
}

/* ---- the common configuration structure (§4.1.4.3) -------------------- */

static uint64_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
	uint8_t img[0x40];
	struct virtio_pci_queue *pq = vp->queue_sel < vp->nr_queues ? &vp->q[vp->queue_sel] : NULL;
	uint64_t v = 0;

	memset(img, 0, sizeof(img));
#define PUT(o, n, x) do { uint64_t _x = (x); memcpy(img + (o), &_x, (n)); } while (0)
	PUT(VIRTIO_PCI_COMMON_DFSELECT, 4, vp->dfselect);
	PUT(VIRTIO_PCI_COMMON_DF, 4, vp->dfselect < 2 ? vp->offered >> (32 * vp->dfselect) : 0);
	PUT(VIRTIO_PCI_COMMON_GFSELECT, 4, vp->gfselect);
	PUT(VIRTIO_PCI_COMMON_GF, 4, vp->gfselect < 2 ? vp->features >> (32 * vp->gfselect) : 0);
	PUT(VIRTIO_PCI_COMMON_MSIX, 2, vp->msix_config);
	PUT(VIRTIO_PCI_COMMON_NUMQ, 2, vp->nr_queues);
	PUT(VIRTIO_PCI_COMMON_STATUS, 1, vp->status);
	PUT(VIRTIO_PCI_COMMON_CFGGEN, 1, vp->cfg_gen);
	PUT(VIRTIO_PCI_COMMON_Q_SELECT, 2, vp->queue_sel);
	if (pq) {       /* §4.1.4.3.2: size 0 for a queue that does not exist */
		PUT(VIRTIO_PCI_COMMON_Q_SIZE, 2, pq->size);
		PUT(VIRTIO_PCI_COMMON_Q_MSIX, 2, pq->msix);
		PUT(VIRTIO_PCI_COMMON_Q_ENABLE, 2, pq->enabled);
		PUT(VIRTIO_PCI_COMMON_Q_NOFF, 2, vp->queue_sel);
		PUT(VIRTIO_PCI_COMMON_Q_DESCLO, 8, pq->desc);
		PUT(VIRTIO_PCI_COMMON_Q_AVAILLO, 8, pq->driver);
		PUT(VIRTIO_PCI_COMMON_Q_USEDLO, 8, pq->device);
	} else {
		PUT(VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	}
#undef PUT
	if (off + size <= sizeof(img))
		memcpy(&v, img + off, size);
	return v;
}

/* A vector the function has, else NO_VECTOR (§4.1.5.1.2: read back to see). */
static uint16_t vector_ok(struct virtio_pci *vp, uint64_t v)
{
	return v < vp->nr_queues + 1u ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* Set a 32-bit half (size 4 at off, hi if off is the upper half) or all of
 * a 64-bit address field. */
static void addr_write(uint64_t *field, unsigned off, unsigned base, unsigned size, uint64_t v)
{
	if (size == 8 && off == base)
		*field = v;
	else if (size == 4 && off == base)
		*field = (*field & ~0xffffffffULL) | (uint32_t)v;
	else if (size == 4 && off == base + 4)
		*field = (*field & 0xffffffffULL) | (v << 32);
}

static void common_write(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t v)
{
	struct virtio_pci_queue *pq = vp->queue_sel < vp->nr_queues ? &vp->q[vp->queue_sel] : NULL;
	/* Queue fields are the driver's only while the queue is disabled
	 * (§4.1.4.3.2); writes to a queue that does not exist are dropped. */
	bool qw = pq && !pq->enabled;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		if (size == 4)
			vp->dfselect = (uint32_t)v;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		if (size == 4)
			vp->gfselect = (uint32_t)v;
		return;
	case VIRTIO_PCI_COMMON_GF:
		/* Features are fixed once FEATURES_OK is set (§3.1.1). */
		if (size == 4 && vp->gfselect < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned sh = 32 * vp->gfselect;
			vp->features = (vp->features & ~(0xffffffffULL << sh)) | (v << sh);
		}
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		if (size == 2)
			vp->msix_config = vector_ok(vp, v);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		if (size == 1)
			status_write(vp, (uint8_t)v);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		if (size == 2)
			vp->queue_sel = (uint16_t)v;
		return;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (size == 2 && qw)
			pq->size = (uint16_t)v;
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (size == 2 && pq)
			pq->msix = vector_ok(vp, v);
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* §4.1.4.3.2: the driver MUST NOT write 0; a 0 is ignored. */
		if (size == 2 && pq && v == 1)
			queue_enable(vp, vp->queue_sel);
		return;
	}
	if (!qw)
		return;
	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VIRTIO_PCI_COMMON_Q_AVAILLO)
		addr_write(&pq->desc, off, VIRTIO_PCI_COMMON_Q_DESCLO, size, v);
	else if (off >= VIRTIO_PCI_COMMON_Q_AVAILLO && off < VIRTIO_PCI_COMMON_Q_USEDLO)
		addr_write(&pq->driver, off, VIRTIO_PCI_COMMON_Q_AVAILLO, size, v);
	else if (off >= VIRTIO_PCI_COMMON_Q_USEDLO && off < VIRTIO_PCI_COMMON_SIZE - 4)
		addr_write(&pq->device, off, VIRTIO_PCI_COMMON_Q_USEDLO, size, v);
}

/* ---- BAR0 --------------------------------------------------------------- */

/* The fast path: a notify write names its queue by address (§4.1.4.4). */
static void notify_write(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	uint64_t q = off / VIRTIO_PCI_NOTIFY_MULT;

	if ((off % VIRTIO_PCI_NOTIFY_MULT) || (size != 2 && size != 4) || q >= vp->nr_queues)
		return;
	vp->q[q].notifies++;
	if (virtio_pci_queue_live(vp, (unsigned)q))
		vp->ops->notify(vp->dev, (unsigned)q);
}

/*
 * Accesses wider than a field or not aligned to their size are dropped
 * (writes) or read 0; each structure takes the widths the spec gives its
 * fields (§4.1.3.1).
 */
int virtio_pci_bar_access(void *dev, struct io_req *req)
{
	struct virtio_pci *vp = dev;
	uint64_t off = req->off;
	unsigned size = req->size;
	unsigned region = (unsigned)(off / VIRTIO_PCI_REGION_SIZE);
	uint64_t roff = off % VIRTIO_PCI_REGION_SIZE;

	if (!req->write)
		req->val = 0;
	if (off >= VIRTIO_PCI_BAR_SIZE || (off & (size - 1)))
		return 0;
	spin_lock(&vp->lock);
	switch (region) {
	case VIRTIO_PCI_COMMON_OFF / VIRTIO_PCI_REGION_SIZE:
		if (roff + size > VIRTIO_PCI_COMMON_SIZE)
			break;
		if (req->write)
			common_write(vp, (unsigned)roff, size, req->val);
		else
			req->val = common_read(vp, (unsigned)roff, size);
		break;
	case VIRTIO_PCI_ISR_OFF / VIRTIO_PCI_REGION_SIZE:
		/* §4.1.4.5.1: reading clears the status and INTx. */
		if (!req->write && roff == 0) {
			req->val = vp->isr;
			if (vp->isr) {
				vp->isr = 0;
				vpci_intx(&vp->fn, false);
			}
		}
		break;
	case VIRTIO_PCI_DEVICE_OFF / VIRTIO_PCI_REGION_SIZE:
		if (roff + size > vp->cfg_size)
			break;
		if (!req->write)
			vp->ops->cfg_read(vp->dev, (unsigned)roff, size, &req->val);
		else if (vp->ops->cfg_write)
			vp->ops->cfg_write(vp->dev, (unsigned)roff, size, req->val);
		break;
	case VIRTIO_PCI_NOTIFY_OFF / VIRTIO_PCI_REGION_SIZE:
		if (req->write)
			notify_write(vp, roff, size);
		break;
	}
	spin_unlock(&vp->lock);
	return 0;
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

void virtio_pci_save(const struct virtio_pci *vp, struct virtio_pci_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->device_id = (uint16_t)vpci_cfg_get(&vp->fn, PCI_DEVICE_ID, 2);
	r->devfn = vp->fn.devfn;
	r->nr_queues = (uint8_t)vp->nr_queues;
	r->cfg_size = vp->cfg_size;
	r->offered = vp->offered;
	r->features = vp->features;
	r->dfselect = vp->dfselect;
	r->gfselect = vp->gfselect;
	r->status = vp->status;
	r->cfg_gen = vp->cfg_gen;
	r->isr = vp->isr;
	r->msix_config = vp->msix_config;
	r->queue_sel = vp->queue_sel;
	r->resets = vp->resets;
	r->needs_reset = vp->needs_reset;
	r->interrupts = vp->interrupts;
	for (unsigned i = 0; i < vp->nr_queues; i++) {
		const struct virtio_pci_queue *pq = &vp->q[i];
		struct virtio_pci_queue_rec *q = &r->q[i];
		q->size = pq->size;
		q->msix = pq->msix;
		q->enabled = pq->enabled;
		q->desc = pq->desc;
		q->driver = pq->driver;
		q->device = pq->device;
		q->notifies = pq->notifies;
		if (!pq->enabled)
			continue;       /* the rings are the driver's set-up only once enabled */
		q->last_avail = pq->vq.last_avail;
		q->used_idx = pq->vq.used_idx;
		q->batch_used = pq->batch_used;
		q->event_idx = pq->vq.event_idx;
		q->indirect = pq->vq.indirect;
		q->broken = pq->vq.broken;
	}
}

bool virtio_pci_rec_matches(const struct virtio_pci *vp, const struct virtio_pci_rec *r)
{
	return r->device_id == vpci_cfg_get(&vp->fn, PCI_DEVICE_ID, 2) &&
	       r->devfn == vp->fn.devfn && r->nr_queues == vp->nr_queues &&
	       r->cfg_size == vp->cfg_size && r->offered == vp->offered;
}

static bool vector_in_range(const struct virtio_pci *vp, uint16_t v)
{
	return v == VIRTIO_MSI_NO_VECTOR || v < vp->nr_queues + 1u;
}

bool virtio_pci_rec_ok(const struct virtio_pci *vp, const struct virtio_pci_rec *r)
{
	bool fok = r->status & VIRTIO_STATUS_FEATURES_OK;

	if (!virtio_pci_rec_matches(vp, r) || r->isr & ~(VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG) ||
	    !vector_in_range(vp, r->msix_config) ||
	    /* status_write's rules (§3.1.1): FEATURES_OK only for what was
	     * offered, with VERSION_1; DRIVER_OK only after FEATURES_OK. */
	    (fok && ((r->features & ~r->offered) || !(r->features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))) ||
	    ((r->status & VIRTIO_STATUS_DRIVER_OK) && !fok))
		return false;
	for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
		const struct virtio_pci_queue_rec *q = &r->q[i];
		static const struct virtio_pci_queue_rec none;
		struct virtq t;

		if (i >= vp->nr_queues) {
			if (memcmp(q, &none, sizeof(none)))
				return false;
			continue;
		}
		if (!vector_in_range(vp, q->msix))
			return false;
		if (!q->enabled) {
			if (q->last_avail || q->used_idx || q->batch_used || q->event_idx ||
			    q->indirect || q->broken)
				return false;
			continue;
		}
		/* queue_enable()'s checks, against the VM's RAM as it is now. */
		if (!fok || q->size == 0 || q->size > vp->q[i].max || (q->size & (q->size - 1)) ||
		    virtq_init(&t, vp->mem, q->size, q->desc, q->driver, q->device) < 0 ||
		    q->event_idx != ((r->features >> VIRTIO_RING_F_EVENT_IDX) & 1) ||
		    q->indirect != ((r->features >> VIRTIO_RING_F_INDIRECT_DESC) & 1) ||
		    q->broken > 1)
			return false;
	}
	return true;
}

void virtio_pci_load(struct virtio_pci *vp, const struct virtio_pci_rec *r)
{
	vp->features = r->features;
	vp->dfselect = r->dfselect;
	vp->gfselect = r->gfselect;
	vp->status = r->status;
	vp->cfg_gen = r->cfg_gen;
	vp->isr = r->isr;
	vp->msix_config = r->msix_config;
	vp->queue_sel = r->queue_sel;
	vp->resets = r->resets;
	vp->needs_reset = r->needs_reset;
	vp->interrupts = r->interrupts;
	__atomic_store_n(&vp->polling, 0, __ATOMIC_RELAXED);    /* see virtio_pci_poll_start */
	for (unsigned i = 0; i < vp->nr_queues; i++) {
		struct virtio_pci_queue *pq = &vp->q[i];
		const struct virtio_pci_queue_rec *q = &r->q[i];
		*pq = (struct virtio_pci_queue){
			.size = q->size, .max = pq->max, .msix = q->msix, .enabled = q->enabled,
			.desc = q->desc, .driver = q->driver, .device = q->device,
			.notifies = q->notifies,
		};
		if (!q->enabled)
			continue;
		virtq_init(&pq->vq, vp->mem, q->size, q->desc, q->driver, q->device);
		pq->vq.last_avail = q->last_avail;
		pq->vq.used_idx = q->used_idx;
		pq->vq.event_idx = q->event_idx;
		pq->vq.indirect = q->indirect;
		pq->vq.broken = q->broken;
		pq->batch_used = q->batch_used;
	}
}
