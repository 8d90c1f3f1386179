/*
 * virtio-console: see virtio_console.h.
 */
#include "devices/virtio_console.h"
#include "devices/devsnap.h"
#include "lib/string.h"

static void con_flush(struct virtio_console *vc)
{
	if (vc->len && vc->line_fn)
		vc->line_fn(vc->line_ctx, vc->line, vc->len);
	vc->len = 0;
}

/* A byte of output: CR dropped, LF ends the line, a full line is cut. */
static void con_byte(struct virtio_console *vc, char ch)
{
	if (ch == '\r')
		return;
	if (ch == '\n') {
		con_flush(vc);
		return;
	}
	if (vc->len == sizeof(vc->line))
		con_flush(vc);
	vc->line[vc->len++] = ch;
}

static int64_t con_serve(void *dev, unsigned q, struct virtq_chain *c)
{
	struct virtio_console *vc = dev;
	char buf[256];
	uint32_t want = MIN(c->out_len, (uint32_t)VIRTIO_CONSOLE_MAX_REQ), done = 0;

	if (q != VIRTIO_CONSOLE_TX)
		return 0;
	while (done < want) {
		size_t n = virtq_chain_read(vc->vp.mem, c, done, buf,
					    MIN(want - done, (uint32_t)sizeof(buf)));
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			con_byte(vc, buf[i]);
		done += (uint32_t)n;
	}
	vc->bytes += done;
	vc->dropped += c->out_len - done;
	return 0;       /* nothing written into a transmit buffer */
}

/* ---- input: the receive queue ----------------------------------------------- */

/*
 * The typed bytes into the receive buffers the driver posted (lock held),
 * each buffer taking what fits; then the interrupt if the driver wants
 * one.  Out of buffers with bytes left: ask the driver to kick when it
 * posts one (§2.7.10), and look once more for one posted before it saw that.
 */
static void con_rx_flush(struct virtio_console *vc)
{
	struct virtio_pci *vp = &vc->vp;
	struct virtq_chain c;
	bool any = false;

	/* Bounded: each round takes at least one byte, or stops. */
	while (vc->rx_n && virtio_pci_queue_live(vp, VIRTIO_CONSOLE_RX)) {
		int r = virtio_pci_pop(vp, VIRTIO_CONSOLE_RX, &c);
		if (r == 0) {
			virtq_set_notify(&vp->q[VIRTIO_CONSOLE_RX].vq, vp->mem, true);
			r = virtio_pci_pop(vp, VIRTIO_CONSOLE_RX, &c);
		}
		if (r <= 0)
			break;
		uint32_t done = 0;
		while (done < c.in_len && vc->rx_n) {
			unsigned run = MIN(vc->rx_n, VIRTIO_CONSOLE_RX_BUF - vc->rx_head);
			size_t n = virtq_chain_write(vp->mem, &c, done, vc->rx + vc->rx_head,
						     MIN(run, c.in_len - done));
			if (n == 0)
				break;
			vc->rx_head = (vc->rx_head + (unsigned)n) % VIRTIO_CONSOLE_RX_BUF;
			vc->rx_n -= (unsigned)n;
			vc->rx_bytes += n;
			done += (uint32_t)n;
		}
		virtio_pci_push(vp, VIRTIO_CONSOLE_RX, c.head, done);
		any = true;
		if (done == 0)
			break;  /* a buffer with no writable byte: given back empty */
	}
	if (any)
		virtio_pci_interrupt(vp, VIRTIO_CONSOLE_RX);
}

bool virtio_console_input(struct virtio_console *vc, uint8_t ch)
{
	struct virtio_pci *vp = &vc->vp;
	bool taken = true;

	virtio_pci_lock(vp);
	if (vc->rx_n < VIRTIO_CONSOLE_RX_BUF) {
		vc->rx[(vc->rx_head + vc->rx_n) % VIRTIO_CONSOLE_RX_BUF] = ch;
		vc->rx_n++;
	} else if (virtio_pci_queue_live(vp, VIRTIO_CONSOLE_RX)) {
		taken = false;
	} else {
		vc->rx_dropped++;
	}
	con_rx_flush(vc);
	virtio_pci_unlock(vp);
	return taken;
}

static void con_notify(void *dev, unsigned q)
{
	struct virtio_console *vc = dev;

	if (q == VIRTIO_CONSOLE_TX)
		virtio_pci_serve(&vc->vp, q, con_serve);
	else
		con_rx_flush(vc);
}

/* Receive buffers posted before DRIVER_OK were not served at their kick. */
static void con_driver_ok(void *dev)
{
	con_rx_flush(dev);
}

static void con_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
	/* cols 80, rows 25, max_nr_ports 1, emerg_wr 0; meaningful only with
	 * SIZE / MULTIPORT, which are not offered. */
	static const uint8_t img[VIRTIO_CONSOLE_CFG_SIZE] = { 80, 0, 25, 0, 1, 0, 0, 0 };

	if (off + size <= sizeof(img))
		memcpy(val, img + off, size);
}

/* The half line is given out, not kept across a reset; typed bytes wait
 * for the next driver (they are the operator's, not the driver's). */
static void con_reset(void *dev)
{
	con_flush(dev);
}

static const struct virtio_dev_ops con_ops = {
	.cfg_read = con_cfg_read, .notify = con_notify, .reset = con_reset,
	.driver_ok = con_driver_ok,
};

bool virtio_console_init(struct virtio_console *vc, uint8_t devfn, const struct guest_mem *mem,
			 virtio_console_line_fn line_fn, void *line_ctx, virtio_say_fn say,
			 void *say_ctx)
{
	memset(vc, 0, sizeof(*vc));
	vc->line_fn = line_fn;
	vc->line_ctx = line_ctx;
	/* PCI class 07 80 00: simple communication controller, other. */
	return virtio_pci_init(&vc->vp, devfn, VIRTIO_ID_CONSOLE, 0x078000, 2,
			       VIRTIO_CONSOLE_QUEUE_SIZE, VIRTIO_CONSOLE_CFG_SIZE, &con_ops, vc,
			       mem, "virtio-console", say, say_ctx);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t virtio_console_save(const struct virtio_console *vc, void *buf, size_t len)
{
	struct virtio_console_rec r;

	memset(&r, 0, sizeof(r));
	virtio_pci_save(&vc->vp, &r.t);
	r.len = (uint32_t)vc->len;
	memcpy(r.line, vc->line, vc->len);
	r.rx_head = vc->rx_head;
	r.rx_n = vc->rx_n;
	memcpy(r.rx, vc->rx, sizeof(r.rx));
	r.bytes = vc->bytes;
	r.dropped = vc->dropped;
	r.rx_bytes = vc->rx_bytes;
	r.rx_dropped = vc->rx_dropped;
	return devsnap_put(buf, len, &r, sizeof(r));
}

bool virtio_console_rec_matches(const struct virtio_console *vc, const void *buf, size_t len)
{
	struct virtio_console_rec r;

	return devsnap_get(&r, sizeof(r), buf, len) && virtio_pci_rec_matches(&vc->vp, &r.t);
}

bool virtio_console_load(struct virtio_console *vc, const void *buf, size_t len)
{
	struct virtio_console_rec r;

	if (!devsnap_get(&r, sizeof(r), buf, len) || r.len > VIRTIO_CONSOLE_LINE ||
	    r.rx_head >= VIRTIO_CONSOLE_RX_BUF || r.rx_n > VIRTIO_CONSOLE_RX_BUF ||
	    !virtio_pci_rec_ok(&vc->vp, &r.t))
		return false;
	virtio_pci_load(&vc->vp, &r.t);
	vc->len = r.len;
	memcpy(vc->line, r.line, sizeof(vc->line));
	vc->rx_head = r.rx_head;
	vc->rx_n = r.rx_n;
	memcpy(vc->rx, r.rx, sizeof(vc->rx));
	vc->bytes = r.bytes;
	vc->dropped = r.dropped;
	vc->rx_bytes = r.rx_bytes;
	vc->rx_dropped = r.rx_dropped;
	return true;
}
