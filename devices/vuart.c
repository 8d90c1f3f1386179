/*
 * Emulated 16550A UART; see vuart.h.  References name the register
 * descriptions of the PC16550D data sheet (National Semiconductor).
 *
 * The interrupt output follows the INTR pin of the data sheet.  On a PC
 * board MCR.OUT2 gates that pin onto the IRQ line; that gate is not
 * modelled (QEMU does not model it either, and guests tested there may
 * leave OUT2 clear).
 */
#include "devices/vuart.h"
#include "devices/devsnap.h"
#include "lib/string.h"

/* Modem input lines (MSR bits 4-7) as the guest sees them. */
static uint8_t msr_lines(const struct vuart *v)
{
	uint8_t m = v->mcr;

	/* MCR bit 4: in loopback the modem inputs are wired to the outputs. */
	if (m & UART_MCR_LOOP)
		return (m & UART_MCR_RTS ? UART_MSR_CTS : 0) |
		       (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
		       (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
		       (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
	/* A connected terminal: clear to send, data set ready, carrier. */
	return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
}

static unsigned rx_capacity(const struct vuart *v)
{
	return v->fcr & UART_FCR_ENABLE ? VUART_FIFO_SIZE : 1;
}

/* FCR bits 6-7: the receiver FIFO trigger level. */
static unsigned rx_trigger(const struct vuart *v)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };
	return level[(v->fcr & UART_FCR_TRIGGER) >> 6];
}

/*
 * The highest-priority pending interrupt enabled in IER (IIR description):
 * receiver line status, received data, THR empty, modem status.  In FIFO
 * mode data below the trigger level is reported as a character timeout:
 * bytes arrive between guest runs, so by the time the guest looks they
 * have always waited more than four character times.
 */
static uint8_t iir_id(const struct vuart *v)
{
	if ((v->ier & UART_IER_ELSI) && v->overrun)
		return UART_IIR_RLSI;
	if ((v->ier & UART_IER_ERBFI) && v->rx_count) {
		if ((v->fcr & UART_FCR_ENABLE) && v->rx_count < rx_trigger(v))
			return UART_IIR_CTI;
		return UART_IIR_RDI;
	}
	if ((v->ier & UART_IER_ETBEI) && v->thr_int)
		return UART_IIR_THRI;
	if ((v->ier & UART_IER_EDSSI) && v->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void rx_clear(struct vuart *v)
{
	v->rx_head = v->rx_count = 0;
}

/*
 * Put a byte into the receiver.  When full, a FIFO keeps its contents and
 * loses the new byte; the single holding register of 16450 mode is
 * overwritten (LSR bit 1, OE).  Either way it is an overrun.
 */
static void rx_push(struct vuart *v, uint8_t c)
{
	if (v->rx_count == rx_capacity(v)) {
		v->overrun = true;
		if (v->fcr & UART_FCR_ENABLE)
			return;
		v->rx[v->rx_head] = c;
		return;
	}
	v->rx[(v->rx_head + v->rx_count) % VUART_FIFO_SIZE] = c;
	v->rx_count++;
}

static uint8_t rx_pop(struct vuart *v)
{
	if (!v->rx_count)
		return 0;
	uint8_t c = v->rx[v->rx_head];
	v->rx_head = (v->rx_head + 1) % VUART_FIFO_SIZE;
	v->rx_count--;
	return c;
}

static void line_deliver(struct vuart *v)
{
	v->line[v->line_len] = '\0';
	v->lines++;
	if (v->line_out)
		v->line_out(v->ctx, v->line, v->line_len);
	v->line_len = 0;
}

/*
 * A byte leaves through the serial line: into the line buffer, sanitized.
 * A full buffer goes out as a line of its own; a '\n' right after that
 * ends the same line rather than adding an empty one.
 */
static void tx_byte(struct vuart *v, uint8_t c)
{
	bool wrapped = v->wrapped;

	v->tx_bytes++;
	if (c == '\r')
		return;
	v->wrapped = false;
	if (c == '\n') {
		if (!wrapped)
			line_deliver(v);
		return;
	}
	if ((c < 0x20 || c > 0x7e) && c != '\t')
		c = '.';
	v->line[v->line_len++] = (char)c;
	if (v->line_len == VUART_LINE_MAX) {
		line_deliver(v);
		v->wrapped = true;
	}
}

static void write_mcr(struct vuart *v, uint8_t val)
{
	uint8_t old = msr_lines(v);

	v->mcr = val & 0x1f;
	uint8_t now = msr_lines(v);
	/* MSR bits 0-3: deltas for CTS, DSR, DCD on any change; TERI when RI falls. */
	v->msr_delta |= ((old ^ now) >> 4) & (UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		v->msr_delta |= UART_MSR_TERI;
}

static void write_fcr(struct vuart *v, uint8_t val)
{
	/* FCR: changing bit 0 clears both FIFOs; so do bits 1 and 2 (TX is always empty). */
	if (((val ^ v->fcr) & UART_FCR_ENABLE) || (val & UART_FCR_CLEAR_RX))
		rx_clear(v);
	v->fcr = val & (UART_FCR_ENABLE | UART_FCR_TRIGGER);
}

static void reg_write(struct vuart *v, unsigned reg, uint8_t val)
{
	bool dlab = v->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab) {
			v->dll = val;
			break;
		}
		if (v->mcr & UART_MCR_LOOP)
			rx_push(v, val);        /* MCR bit 4: transmitter looped to the receiver */
		else
			tx_byte(v, val);
		/* Sent at once: THR is empty again, which raises the THRE interrupt. */
		v->thr_int = true;
		break;
	case UART_IER:
		if (dlab) {
			v->dlm = val;
			break;
		}
		/* Enabling ETBEI while THR is empty raises THRE at once (as QEMU and real parts do). */
		if ((val ^ v->ier) & UART_IER_ETBEI)
			v->thr_int = val & UART_IER_ETBEI;
		v->ier = val & 0x0f;
		break;
	case UART_FCR:
		write_fcr(v, val);
		break;
	case UART_LCR:
		v->lcr = val;
		break;
	case UART_MCR:
		write_mcr(v, val);
		break;
	case UART_SCR:
		v->scr = val;
		break;
	default:
		break;  /* LSR and MSR writes: factory test only, ignored */
	}
}

static uint8_t reg_read(struct vuart *v, unsigned reg)
{
	bool dlab = v->lcr & UART_LCR_DLAB;
	uint8_t r;

	switch (reg) {
	case UART_RBR:
		return dlab ? v->dll : rx_pop(v);
	case UART_IER:
		return dlab ? v->dlm : v->ier;
	case UART_IIR:
		r = iir_id(v);
		/* Reading IIR clears a THRE interrupt it reports. */
		if (r == UART_IIR_THRI)
			v->thr_int = false;
		return r | (v->fcr & UART_FCR_ENABLE ? UART_IIR_FIFO : 0);
	case UART_LCR:
		return v->lcr;
	case UART_MCR:
		return v->mcr;
	case UART_LSR:
		r = UART_LSR_THRE | UART_LSR_TEMT;
		if (v->rx_count)
			r |= UART_LSR_DR;
		if (v->overrun)
			r |= UART_LSR_OE;
		v->overrun = false;
		return r;
	case UART_MSR:
		r = msr_lines(v) | v->msr_delta;
		v->msr_delta = 0;
		return r;
	default:
		return v->scr;
	}
}

void vuart_init(struct vuart *v, vuart_line_fn line_out, void *ctx)
{
	memset(v, 0, sizeof(*v));
	v->dll = 1;                     /* 115200 baud from the PC's 1.8432 MHz clock */
	v->line_out = line_out;
	v->ctx = ctx;
}

int vuart_pio(void *dev, struct io_req *req)
{
	struct vuart *v = dev;
	uint64_t reg = req->off;

	if (reg >= VUART_NR_PORTS)
		return IOBUS_EINVAL;
	spin_lock(&v->lock);
	if (req->write)
		reg_write(v, (unsigned)reg, (uint8_t)req->val);
	else
		req->val = reg_read(v, (unsigned)reg);
	spin_unlock(&v->lock);
	return 0;
}

bool vuart_rx(struct vuart *v, uint8_t c)
{
	bool taken = false;

	spin_lock(&v->lock);
	if (!(v->mcr & UART_MCR_LOOP) && v->rx_count < rx_capacity(v)) {
		rx_push(v, c);
		v->rx_bytes++;
		taken = true;
	}
	spin_unlock(&v->lock);
	return taken;
}

bool vuart_irq_pending(const struct vuart *v)
{
	/* The lock is not part of the UART's state: taking it keeps v logically const. */
	struct vuart *w = (struct vuart *)v;

	spin_lock(&w->lock);
	bool pending = iir_id(w) != UART_IIR_NO_INT;
	spin_unlock(&w->lock);
	return pending;
}

void vuart_flush(struct vuart *v)
{
	spin_lock(&v->lock);
	if (v->line_len)
		line_deliver(v);
	spin_unlock(&v->lock);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t vuart_save(const struct vuart *d, void *buf, size_t len)
{
	struct vuart s;

	memcpy(&s, d, sizeof(s));
	s.lock = (spinlock_t)SPINLOCK_INIT;
	s.line_out = NULL;
	s.ctx = NULL;
	return devsnap_put(buf, len, &s, sizeof(s));
}

bool vuart_load(struct vuart *d, const void *buf, size_t len)
{
	struct vuart s;

	if (!devsnap_get(&s, sizeof(s), buf, len) ||
	    s.rx_head >= VUART_FIFO_SIZE ||
	    s.rx_count > VUART_FIFO_SIZE ||
	    s.line_len > VUART_LINE_MAX)
		return false;
	s.lock = d->lock;
	s.line_out = d->line_out;
	s.ctx = d->ctx;
	memcpy(d, &s, sizeof(s));
	return true;
}
