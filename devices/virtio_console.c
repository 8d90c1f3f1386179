/*
 * virtio-console: see virtio_console.h.
 */
#include "devices/virtio_console.h"
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

/* Receive buffers stay with the device until there is input: none is
 * ever sent, so only the transmit queue is served. */
static void con_notify(void *dev, unsigned q)
{
	struct virtio_console *vc = dev;

	if (q == VIRTIO_CONSOLE_TX)
		virtio_pci_serve(&vc->vp, q, con_serve);
}

static void con_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
	/* cols 80, rows 25, max_nr_ports 1, emerg_wr 0; meaningful only with
	 * SIZE / MULTIPORT, which are not offered. */
	static const uint8_t img[VIRTIO_CONSOLE_CFG_SIZE] = { 80, 0, 25, 0, 1, 0, 0, 0 };

	if (off + size <= sizeof(img))
		memcpy(val, img + off, size);
}

/* The half line is given out, not kept across a reset. */
static void con_reset(void *dev)
{
	con_flush(dev);
}

static const struct virtio_dev_ops con_ops = {
	.cfg_read = con_cfg_read, .notify = con_notify, .reset = con_reset,
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
