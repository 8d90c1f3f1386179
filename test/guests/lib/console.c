/*
 * COM1 output and a small printf for the test guests.  The UART is polled:
 * wait for LSR.THRE (bit 5, "transmitter holding register empty"), then
 * write THR (PC16550D datasheet, registers 0 and 5).
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

#define COM1_THR        (GUEST_COM1_PORT + 0)
#define COM1_LSR        (GUEST_COM1_PORT + 5)
#define LSR_THRE        0x20
#define THRE_POLLS      100000  /* a broken UART must not hang the test */

void guest_putc(char c)
{
	for (int i = 0; i < THRE_POLLS && !(inb(COM1_LSR) & LSR_THRE); i++)
		;
	outb(COM1_THR, (uint8_t)c);
}

void guest_puts(const char *s)
{
	while (*s)
		guest_putc(*s++);
}

/* Output sink: a bounded buffer, or the console when buf is NULL. */
struct sink {
	char *buf;
	size_t len, pos;
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf)
		guest_putc(c);
	else if (s->pos + 1 < s->len)
		s->buf[s->pos] = c;
	s->pos++;
}

/*
 * v / 10 and v % 10 on 64-bit values with 32-bit arithmetic only, so the
 * 32-bit guests need no libgcc: long division in 16-bit digits.
 */
static unsigned divmod10(uint64_t *v)
{
	uint32_t rem = 0;
	uint64_t q = 0;

	for (int shift = 48; shift >= 0; shift -= 16) {
		uint32_t cur = rem << 16 | (uint32_t)(*v >> shift & 0xffff);
		q |= (uint64_t)(cur / 10) << shift;
		rem = cur % 10;
	}
	*v = q;
	return rem;
}

static void put_num(struct sink *s, uint64_t v, unsigned base, bool neg,
		    int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		unsigned d = base == 16 ? (unsigned)(v & 15) : divmod10(&v);
		if (base == 16)
			v >>= 4;
		tmp[n++] = "0123456789abcdef"[d];
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		sink_put(s, pad);
	while (n)
		sink_put(s, tmp[--n]);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		char pad = ' ';
		int width = 0, lng = 0;
		if (*++fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		uint64_t u;
		int64_t d;
		switch (*fmt) {
		case 'd':
			d = lng >= 2 ? va_arg(ap, long long) :
			    lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(s, d < 0 ? 0 - (uint64_t)d : (uint64_t)d, 10, d < 0, width, pad);
			break;
		case 'u':
		case 'x':
			u = lng >= 2 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			put_num(s, u, *fmt == 'x' ? 16 : 10, false, width, pad);
			break;
		case 'p':
			sink_put(s, '0');
			sink_put(s, 'x');
			put_num(s, (uintptr_t)va_arg(ap, void *), 16, false, width, pad);
			break;
		case 'c':
			sink_put(s, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			for (str = str ? str : "(null)"; *str; str++)
				sink_put(s, *str);
			break;
		}
		case '%':
			sink_put(s, '%');
			break;
		default:        /* unknown conversion: show it, stop parsing */
			sink_put(s, '%');
			if (!*fmt)
				return;
			sink_put(s, *fmt);
		}
	}
}

void guest_printf(const char *fmt, ...)
{
	struct sink s = { NULL, 0, 0 };
	va_list ap;

	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
}

int guest_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct sink s = { buf, len, 0 };

	format(&s, fmt, ap);
	if (len)
		buf[s.pos < len ? s.pos : len - 1] = '\0';
	return (int)s.pos;
}

int guest_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}
