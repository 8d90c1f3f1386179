/*
 * virtio-console (virtio 1.2 §5.3) over the virtio-pci transport: one
 * port (hvc0 in Linux), no MULTIPORT, no SIZE.  Queue 0 is port 0's
 * receiveq, queue 1 its transmitq (§5.3.2).  What the guest writes is cut
 * into lines and handed to the line callback, which the board prefixes
 * with the VM's name as it does COM1's lines.  What the operator types
 * while the console's input focus is on the VM's hvc0 (core/conin.c)
 * comes in through virtio_console_input(): it waits in a buffer of
 * VIRTIO_CONSOLE_RX_BUF bytes and goes into the receive buffers the
 * driver posts, as many bytes to a buffer as fit, in order.  While the
 * driver is live but has posted no buffer, a full buffer refuses the
 * byte (the caller holds it, as it does for a full UART FIFO); before
 * DRIVER_OK, or after the driver broke the device, nobody may ever read,
 * so a full buffer drops the byte and counts it.
 */
#ifndef KASANE_DEVICES_VIRTIO_CONSOLE_H
#define KASANE_DEVICES_VIRTIO_CONSOLE_H

#include "devices/virtio_pci.h"

#define VIRTIO_CONSOLE_QUEUE_SIZE 64
#define VIRTIO_CONSOLE_LINE      200    /* longer lines are cut */
#define VIRTIO_CONSOLE_MAX_REQ   4096   /* bytes taken from one buffer at most */
#define VIRTIO_CONSOLE_CFG_SIZE  12     /* cols, rows, max_nr_ports, emerg_wr (§5.3.4) */
#define VIRTIO_CONSOLE_RX        0
#define VIRTIO_CONSOLE_TX        1
#define VIRTIO_CONSOLE_RX_BUF    256    /* typed bytes waiting for receive buffers */

typedef void (*virtio_console_line_fn)(void *ctx, const char *line, size_t len);

struct virtio_console {
	struct virtio_pci vp;
	virtio_console_line_fn line_fn;
	void *line_ctx;
	char line[VIRTIO_CONSOLE_LINE];
	size_t len;
	uint64_t bytes, dropped;
	/* Input: rx_n bytes from rx[rx_head], in a ring. */
	uint8_t rx[VIRTIO_CONSOLE_RX_BUF];
	unsigned rx_head, rx_n;
	uint64_t rx_bytes, rx_dropped;
};

bool virtio_console_init(struct virtio_console *vc, uint8_t devfn, const struct guest_mem *mem,
			 virtio_console_line_fn line_fn, void *line_ctx, virtio_say_fn say,
			 void *say_ctx);

/*
 * One byte typed for the guest (any CPU; takes the transport's lock).
 * False if the driver is live and the buffer is full: call again later
 * with the same byte.
 */
bool virtio_console_input(struct virtio_console *vc, uint8_t c);

/*
 * Snapshot records (devices/devsnap.h): the transport's, the half line
 * the guest wrote, and the typed bytes not yet delivered.
 */
#define VIRTIO_CONSOLE_SNAP_VERSION 1

struct virtio_console_rec {
	struct virtio_pci_rec t;
	uint32_t len, rx_head, rx_n, pad;
	char line[VIRTIO_CONSOLE_LINE];
	uint8_t rx[VIRTIO_CONSOLE_RX_BUF];
	uint64_t bytes, dropped, rx_bytes, rx_dropped;
};
#define VIRTIO_CONSOLE_SNAP_SIZE sizeof(struct virtio_console_rec)

size_t virtio_console_save(const struct virtio_console *vc, void *buf, size_t len);
bool virtio_console_load(struct virtio_console *vc, const void *buf, size_t len);
bool virtio_console_rec_matches(const struct virtio_console *vc, const void *buf, size_t len);

#endif
