/*
 * virtio-console (virtio 1.2 §5.3) over the virtio-pci transport: one
 * port (hvc0 in Linux), no MULTIPORT, no SIZE.  Queue 0 is port 0's
 * receiveq (kasane sends nothing on it: the operator's keys go to COM1),
 * queue 1 its transmitq: what the guest writes is cut into lines and
 * handed to the line callback, which the board prefixes with the VM's
 * name as it does COM1's lines.
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

typedef void (*virtio_console_line_fn)(void *ctx, const char *line, size_t len);

struct virtio_console {
	struct virtio_pci vp;
	virtio_console_line_fn line_fn;
	void *line_ctx;
	char line[VIRTIO_CONSOLE_LINE];
	size_t len;
	uint64_t bytes, dropped;
};

bool virtio_console_init(struct virtio_console *vc, uint8_t devfn, const struct guest_mem *mem,
			 virtio_console_line_fn line_fn, void *line_ctx, virtio_say_fn say,
			 void *say_ctx);

#endif
