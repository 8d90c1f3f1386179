/*
 * A 16550A UART as the guest sees it (National Semiconductor PC16550D data
 * sheet).  Transmission is instant: THR is always empty (LSR THRE|TEMT) and
 * each byte the guest writes goes into a line buffer, handed whole to the
 * VM layer so that output of different VMs never interleaves.  Received
 * bytes come from vuart_rx() into a FIFO the guest drains through RBR.
 * The serial line has no errors: no parity, framing or break conditions,
 * and vuart_rx() refuses a byte rather than overrunning the FIFO, so only
 * loopback can overrun.
 *
 * Guest output is sanitized for the operator's terminal: '\r' is dropped,
 * bytes other than printable ASCII and '\t' become '.', so a guest cannot
 * send escape sequences to the hypervisor console.
 *
 * Each vuart has its own lock; all functions below take it.  None may be
 * called from an interrupt handler.
 */
#ifndef KASANE_DEVICES_VUART_H
#define KASANE_DEVICES_VUART_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/iobus.h"

#define VUART_NR_PORTS  8
#define VUART_FIFO_SIZE 16      /* the 16550A's receiver FIFO */
#define VUART_LINE_MAX  200     /* longer lines are delivered in pieces */

/* Register offsets from the base port (PC16550D register summary). */
#define UART_RBR 0      /* read, DLAB=0 */
#define UART_THR 0      /* write, DLAB=0 */
#define UART_DLL 0      /* DLAB=1 */
#define UART_IER 1      /* DLAB=0 */
#define UART_DLM 1      /* DLAB=1 */
#define UART_IIR 2      /* read */
#define UART_FCR 2      /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_ERBFI  0x01    /* received data available */
#define UART_IER_ETBEI  0x02    /* THR empty */
#define UART_IER_ELSI   0x04    /* receiver line status */
#define UART_IER_EDSSI  0x08    /* modem status */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00    /* modem status */
#define UART_IIR_THRI   0x02    /* THR empty */
#define UART_IIR_RDI    0x04    /* received data available / trigger level */
#define UART_IIR_RLSI   0x06    /* receiver line status */
#define UART_IIR_CTI    0x0c    /* character timeout (FIFO mode) */
#define UART_IIR_FIFO   0xc0    /* FIFOs enabled */

#define UART_FCR_ENABLE     0x01
#define UART_FCR_CLEAR_RX   0x02
#define UART_FCR_CLEAR_TX   0x04
#define UART_FCR_TRIGGER    0xc0

#define UART_LCR_DLAB   0x80

#define UART_MCR_DTR    0x01
#define UART_MCR_RTS    0x02
#define UART_MCR_OUT1   0x04
#define UART_MCR_OUT2   0x08
#define UART_MCR_LOOP   0x10

#define UART_LSR_DR     0x01
#define UART_LSR_OE     0x02
#define UART_LSR_THRE   0x20
#define UART_LSR_TEMT   0x40

#define UART_MSR_DCTS   0x01
#define UART_MSR_DDSR   0x02
#define UART_MSR_TERI   0x04
#define UART_MSR_DDCD   0x08
#define UART_MSR_CTS    0x10
#define UART_MSR_DSR    0x20
#define UART_MSR_RI     0x40
#define UART_MSR_DCD    0x80

/*
 * Receives each complete line of guest output, without its '\n' and also
 * NUL-terminated; len may be 0 for an empty line.  Called with the vuart's
 * lock held, on the vCPU that wrote the last byte: it must not call back
 * into this vuart.
 */
typedef void (*vuart_line_fn)(void *ctx, const char *line, size_t len);

struct vuart {
	spinlock_t lock;
	uint8_t ier, lcr, mcr, fcr, scr;
	uint8_t dll, dlm;
	uint8_t msr_delta;              /* MSR bits 0-3, cleared by reading MSR */
	bool thr_int;                   /* THRE interrupt pending (see IIR) */
	bool overrun;                   /* LSR OE, cleared by reading LSR */
	uint8_t rx[VUART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	char line[VUART_LINE_MAX + 1];
	size_t line_len;
	bool wrapped;                   /* the last line went out because it was full */
	vuart_line_fn line_out;
	void *ctx;
	uint64_t tx_bytes, rx_bytes, lines;     /* statistics */
};

/* The data sheet's reset state. */
void vuart_init(struct vuart *v, vuart_line_fn line_out, void *ctx);

/*
 * Port handler (iobus) for a region of VUART_NR_PORTS ports: req->off is
 * the register.  A 2- or 4-byte access is taken as a byte access to that
 * register: a write uses the low byte, a read returns the register
 * zero-extended.  Returns IOBUS_EINVAL for an offset outside the UART.
 */
int vuart_pio(void *dev, struct io_req *req);

/*
 * Offer one received byte.  Returns false if it was not taken (the FIFO is
 * full, or the UART is in loopback and its input is disconnected): keep
 * it and offer it again later.
 */
bool vuart_rx(struct vuart *v, uint8_t c);

/* Whether the UART asserts its interrupt output (IIR bit 0 clear). */
bool vuart_irq_pending(const struct vuart *v);

/* Deliver a partial line, if any (when the VM ends). */
void vuart_flush(struct vuart *v);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring. */
#define VUART_SNAP_VERSION 1u
#define VUART_SNAP_SIZE sizeof(struct vuart)
size_t vuart_save(const struct vuart *d, void *buf, size_t len);
bool vuart_load(struct vuart *d, const void *buf, size_t len);

#endif
