/* Formatted output into a bounded buffer; see printf.h. */
#include "lib/printf.h"

struct out {
	char *buf;
	size_t n;     /* capacity */
	size_t len;   /* characters produced so far (may exceed n) */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int count)
{
	while (count-- > 0)
		put(o, c);
}

struct spec {
	bool left, zero, plus, space, alt;
	int width, prec;       /* prec < 0: none */
};

static void emit_str(struct out *o, const struct spec *sp, const char *s)
{
	int len = 0;

	if (!s)
		s = "(null)";
	/* With a precision, at most prec bytes are read: the string need not
	 * be NUL-terminated (C11 7.21.6.1p8).  Checking s[len] first read one
	 * byte past a "%.*s" span (found by test/fuzz/fuzz_config.c). */
	while ((sp->prec < 0 || len < sp->prec) && s[len])
		len++;
	if (!sp->left)
		pad(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, ' ', sp->width - len);
}

static void emit_num(struct out *o, const struct spec *sp, uint64_t v,
		     bool neg, unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int nd = 0, plen = 0, zeros = 0, total;
	char sign = 0;

	do {
		tmp[nd++] = digits[v % base];
		v /= base;
	} while (v);
	if (sp->prec == 0 && nd == 1 && tmp[0] == '0')
		nd = 0;
	if (neg)
		sign = '-';
	else if (sp->plus)
		sign = '+';
	else if (sp->space)
		sign = ' ';
	if (prefix)
		while (prefix[plen])
			plen++;
	if (sp->prec > nd)
		zeros = sp->prec - nd;
	total = nd + zeros + plen + (sign ? 1 : 0);
	if (sp->zero && !sp->left && sp->prec < 0 && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}
	if (!sp->left)
		pad(o, ' ', sp->width - total);
	if (sign)
		put(o, sign);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	while (nd)
		put(o, tmp[--nd]);
	if (sp->left)
		pad(o, ' ', sp->width - total);
}

int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = { buf, n, 0 };

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		struct spec sp = { .prec = -1 };
		p++;
		for (;; p++) {
			if (*p == '-') sp.left = true;
			else if (*p == '0') sp.zero = true;
			else if (*p == '+') sp.plus = true;
			else if (*p == ' ') sp.space = true;
			else if (*p == '#') sp.alt = true;
			else break;
		}
		if (*p == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			p++;
		} else {
			while (*p >= '0' && *p <= '9')
				sp.width = sp.width * 10 + (*p++ - '0');
		}
		if (*p == '.') {
			p++;
			sp.prec = 0;
			if (*p == '*') {
				sp.prec = va_arg(ap, int);
				if (sp.prec < 0)
					sp.prec = -1;
				p++;
			} else {
				while (*p >= '0' && *p <= '9')
					sp.prec = sp.prec * 10 + (*p++ - '0');
			}
		}
		int lng = 0;   /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
		for (;; p++) {
			if (*p == 'l') lng++;
			else if (*p == 'h') lng--;
			else if (*p == 'z' || *p == 'j' || *p == 't') lng = 2;
			else break;
		}
		uint64_t u;
		int64_t s;
		switch (*p) {
		case 'd':
		case 'i':
			if (lng >= 2) s = va_arg(ap, long long);
			else if (lng == 1) s = va_arg(ap, long);
			else s = va_arg(ap, int);
			if (lng == -1) s = (short)s;
			if (lng <= -2) s = (signed char)s;
			emit_num(&o, &sp, s < 0 ? -(uint64_t)s : (uint64_t)s,
				 s < 0, 10, false, NULL);
			break;
		case 'u': case 'x': case 'X': case 'o':
			if (lng >= 2) u = va_arg(ap, unsigned long long);
			else if (lng == 1) u = va_arg(ap, unsigned long);
			else u = va_arg(ap, unsigned int);
			if (lng == -1) u = (unsigned short)u;
			if (lng <= -2) u = (unsigned char)u;
			if (*p == 'u')
				emit_num(&o, &sp, u, false, 10, false, NULL);
			else if (*p == 'o')
				emit_num(&o, &sp, u, false, 8, false,
					 sp.alt && u ? "0" : NULL);
			else
				emit_num(&o, &sp, u, false, 16, *p == 'X',
					 sp.alt && u ? (*p == 'X' ? "0X" : "0x") : NULL);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			emit_num(&o, &sp, u, false, 16, false, "0x");
			break;
		case 's':
			emit_str(&o, &sp, va_arg(ap, const char *));
			break;
		case 'c': {
			char c[2] = { (char)va_arg(ap, int), 0 };
			sp.prec = 1;
			emit_str(&o, &sp, c);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			p--;   /* trailing '%': stop at the NUL */
			break;
		default:
			/* Unknown conversion: print it literally. */
			put(&o, '%');
			put(&o, *p);
			break;
		}
	}
	if (n)
		buf[o.len < n ? o.len : n - 1] = '\0';
	return (int)o.len;
}

int ksnprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = kvsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		kvsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void kstr_oneline(char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			*s = '?';
}
