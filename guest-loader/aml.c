/*
 * The AML builder; see aml.h.  Opcodes and encodings are from ACPI 6.5
 * §20.2 (AML grammar) and §6.4 (resource data types).
 */
#include "guest-loader/aml.h"
#include "lib/printf.h"
#include "lib/string.h"

/* §20.2.3-§20.2.5 opcodes. */
#define ZERO_OP         0x00
#define ONE_OP          0x01
#define NAME_OP         0x08
#define BYTE_PREFIX     0x0a
#define WORD_PREFIX     0x0b
#define DWORD_PREFIX    0x0c
#define STRING_PREFIX   0x0d
#define QWORD_PREFIX    0x0e
#define SCOPE_OP        0x10
#define BUFFER_OP       0x11
#define PACKAGE_OP      0x12
#define METHOD_OP       0x14
#define DUAL_NAME       0x2e
#define MULTI_NAME      0x2f
#define EXT_OP          0x5b
#define DEVICE_OP       0x82            /* after EXT_OP */
#define ROOT_CHAR       '\\'
#define PARENT_CHAR     '^'
#define RETURN_OP       0xa4

#define PKGLEN_MAX      0x0fffffffu     /* 28 bits (§20.2.4) */

/* §6.4 descriptor tags. */
#define RES_IRQ2        0x22            /* small, IRQ, 2 bytes: no flags */
#define RES_IO          0x47            /* small, I/O port, 7 bytes */
#define RES_END         0x79            /* small, End Tag, 1 byte */
#define RES_MEM32_FIXED 0x86
#define RES_DWORD       0x87
#define RES_WORD        0x88
#define RES_EXT_IRQ     0x89
#define RES_QWORD       0x8a

/* Address space descriptor fields (§6.4.3.5, Table 6.47). */
#define ADDR_MEM        0
#define ADDR_IO         1
#define ADDR_BUS        2
#define ADDR_MIN_FIXED  (1u << 2)
#define ADDR_MAX_FIXED  (1u << 3)
#define MEM_RW          (1u << 0)
#define IO_ENTIRE_RANGE 3u

/* Extended interrupt flags (§6.4.3.6). */
#define EXT_IRQ_CONSUMER (1u << 0)
#define EXT_IRQ_EDGE     (1u << 1)
#define EXT_IRQ_LOW      (1u << 2)
#define EXT_IRQ_SHARED   (1u << 3)

enum { K_SCOPE, K_DEVICE, K_METHOD, K_PACKAGE, K_BUFFER, K_RESTEMPLATE };

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = buf ? cap : 0;
}

static void bad(struct aml *a, const char *why)
{
	if (!a->bad)
		a->bad = why;
}

long aml_finish(const struct aml *a, char *err, size_t errlen)
{
	if (a->bad)
		return errf(err, errlen, "AML: %s", a->bad);
	if (a->depth)
		return errf(err, errlen, "AML: %u objects left open", a->depth);
	if (a->overflow)
		return errf(err, errlen, "AML needs %zu bytes, the buffer has %zu",
			    a->len, a->cap);
	return (long)a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!n)
		return;
	if (!a->overflow && n <= a->cap - a->len)
		memcpy(a->buf + a->len, p, n);
	else
		a->overflow = true;
	a->len += n;
}

static void byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

/* Insert n bytes at offset at (the start of an open object). */
static void insert(struct aml *a, size_t at, const uint8_t *p, size_t n)
{
	if (!a->overflow && n <= a->cap - a->len) {
		memmove(a->buf + at + n, a->buf + at, a->len - at);
		memcpy(a->buf + at, p, n);
	} else {
		a->overflow = true;
	}
	a->len += n;
}

/* ---- names ------------------------------------------------------------------ */

static bool seg_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* One NameSeg from s (1-4 chars up to '.' or NUL); returns its length or 0. */
static size_t seg_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !seg_char(s[n], n == 0))
			return 0;
		n++;
	}
	return n;
}

void aml_name_string(struct aml *a, const char *name)
{
	const char *s = name;

	if (*s == ROOT_CHAR)
		byte(a, (uint8_t)*s++);
	else
		while (*s == PARENT_CHAR)
			byte(a, (uint8_t)*s++);

	unsigned nsegs = 0;
	for (const char *p = s; ; p++) {
		size_t n = seg_len(p);
		if (!n || nsegs == 255) {
			bad(a, "malformed name");
			return;
		}
		nsegs++;
		p += n;
		if (!*p)
			break;
	}
	if (nsegs == 2)
		byte(a, DUAL_NAME);
	else if (nsegs > 2) {
		byte(a, MULTI_NAME);
		byte(a, (uint8_t)nsegs);
	}
	for (unsigned i = 0; i < nsegs; i++) {
		size_t n = seg_len(s);
		char seg[4] = { '_', '_', '_', '_' };
		memcpy(seg, s, n);
		aml_bytes(a, seg, 4);
		s += n + 1;
	}
}

/* ---- data objects ------------------------------------------------------------- */

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		byte(a, ZERO_OP);
	else if (v == 1)
		byte(a, ONE_OP);
	else if (v <= 0xff) {
		byte(a, BYTE_PREFIX);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		byte(a, WORD_PREFIX);
		le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		byte(a, DWORD_PREFIX);
		le(a, v, 4);
	} else {
		byte(a, QWORD_PREFIX);
		le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	byte(a, STRING_PREFIX);
	for (; *s; s++) {
		if ((uint8_t)*s > 0x7f) {
			bad(a, "string is not ASCII");
			return;
		}
		byte(a, (uint8_t)*s);
	}
	byte(a, 0);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strnlen(id, 8) != 7) {
		bad(a, "EISAID is not 7 characters");
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			bad(a, "EISAID vendor is not 3 letters");
			return;
		}
		v = v << 5 | (uint32_t)(id[i] - 0x40);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);
		if (d < 0) {
			bad(a, "EISAID product is not 4 hex digits");
			return;
		}
		v = v << 4 | (uint32_t)d;
	}
	/* The compressed ID is stored most significant byte first. */
	uint8_t b[5] = { DWORD_PREFIX, (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };
	aml_bytes(a, b, sizeof(b));
}

void aml_name(struct aml *a, const char *name)
{
	byte(a, NAME_OP);
	aml_name_string(a, name);
}

void aml_return(struct aml *a)
{
	byte(a, RETURN_OP);
}

/* ---- objects with a PkgLength ------------------------------------------------ */

static void open_obj(struct aml *a, uint8_t kind)
{
	if (a->depth == AML_MAX_DEPTH) {
		bad(a, "objects nested too deep");
		return;
	}
	a->open[a->depth].start = a->len;
	a->open[a->depth].kind = kind;
	a->depth++;
}

void aml_scope_begin(struct aml *a, const char *name)
{
	byte(a, SCOPE_OP);
	open_obj(a, K_SCOPE);
	aml_name_string(a, name);
}

void aml_device_begin(struct aml *a, const char *name)
{
	byte(a, EXT_OP);
	byte(a, DEVICE_OP);
	open_obj(a, K_DEVICE);
	aml_name_string(a, name);
}

void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	byte(a, METHOD_OP);
	open_obj(a, K_METHOD);
	aml_name_string(a, name);
	if (nargs > 7)
		bad(a, "method with more than 7 arguments");
	byte(a, (uint8_t)((nargs & 7) | (serialized ? 1u << 3 : 0)));   /* MethodFlags */
}

void aml_package_begin(struct aml *a, unsigned nelems)
{
	byte(a, PACKAGE_OP);
	open_obj(a, K_PACKAGE);
	if (nelems > 255)
		bad(a, "package with more than 255 elements");
	byte(a, (uint8_t)nelems);               /* NumElements */
}

void aml_buffer_begin(struct aml *a)
{
	byte(a, BUFFER_OP);
	open_obj(a, K_BUFFER);
}

void aml_restemplate_begin(struct aml *a)
{
	byte(a, BUFFER_OP);
	open_obj(a, K_RESTEMPLATE);
}

/* Integer encoding of v, as aml_integer writes it, into b; returns its length. */
static size_t encode_integer(uint64_t v, uint8_t b[9])
{
	struct aml t;

	aml_init(&t, b, 9);
	aml_integer(&t, v);
	return t.len;
}

void aml_end(struct aml *a)
{
	if (!a->depth) {
		bad(a, "aml_end() without an open object");
		return;
	}
	a->depth--;
	size_t start = a->open[a->depth].start;
	uint8_t kind = a->open[a->depth].kind;

	if (kind == K_RESTEMPLATE) {
		/* End Tag (§6.4.2.9): the checksum makes all descriptor bytes sum to 0. */
		uint8_t sum = RES_END;
		if (!a->overflow)
			for (size_t i = start; i < a->len; i++)
				sum = (uint8_t)(sum + a->buf[i]);
		byte(a, RES_END);
		byte(a, (uint8_t)-sum);
	}
	if (kind == K_BUFFER || kind == K_RESTEMPLATE) {
		uint8_t b[9];
		insert(a, start, b, encode_integer(a->len - start, b));        /* BufferSize */
	}

	/* PkgLength counts its own bytes (§20.2.4). */
	size_t n = a->len - start, k = 1;
	while (k < 4 && n + k > (k == 1 ? 0x3fu : (1u << (4 + 8 * (k - 1))) - 1))
		k++;
	if (n + k > PKGLEN_MAX) {
		bad(a, "object longer than a PkgLength can say");
		return;
	}
	uint32_t total = (uint32_t)(n + k);
	uint8_t p[4];
	if (k == 1) {
		p[0] = (uint8_t)total;
	} else {
		p[0] = (uint8_t)((k - 1) << 6 | (total & 0xf));
		for (size_t i = 1; i < k; i++)
			p[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	insert(a, start, p, k);
}

/* ---- resource descriptors -------------------------------------------------------- */

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	byte(a, RES_IO);
	byte(a, 1);                             /* 16-bit decode */
	le(a, min, 2);
	le(a, max, 2);
	byte(a, align);
	byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, uint16_t mask)
{
	byte(a, RES_IRQ2);
	le(a, mask, 2);
}

void aml_res_interrupt(struct aml *a, bool level, bool active_low, bool shared, uint32_t gsi)
{
	byte(a, RES_EXT_IRQ);
	le(a, 6, 2);                            /* length of what follows */
	byte(a, (uint8_t)(EXT_IRQ_CONSUMER | (level ? 0 : EXT_IRQ_EDGE) |
			  (active_low ? EXT_IRQ_LOW : 0) | (shared ? EXT_IRQ_SHARED : 0)));
	byte(a, 1);                             /* interrupt table length */
	le(a, gsi, 4);
}

void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len)
{
	byte(a, RES_MEM32_FIXED);
	le(a, 9, 2);
	byte(a, writable ? MEM_RW : 0);
	le(a, base, 4);
	le(a, len, 4);
}

/* Address space descriptor of width w bytes (2, 4, 8): §6.4.3.5.1-3. */
static void res_addr(struct aml *a, uint8_t tag, unsigned w, uint8_t type, uint8_t tflags,
		     uint64_t min, uint64_t max)
{
	if (max < min || (w < 8 && max - min >= (1ull << (8 * w)) - 1) ||
	    (w == 8 && max - min == ~0ull)) {
		bad(a, "address range ends before it starts, or its length does not fit");
		return;
	}
	byte(a, tag);
	le(a, 3 + 5 * w, 2);                    /* length of what follows */
	byte(a, type);
	byte(a, ADDR_MIN_FIXED | ADDR_MAX_FIXED);       /* producer, positive decode */
	byte(a, tflags);
	le(a, 0, w);                            /* granularity */
	le(a, min, w);
	le(a, max, w);
	le(a, 0, w);                            /* translation offset */
	le(a, max - min + 1, w);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD, 2, ADDR_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD, 2, ADDR_IO, IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	res_addr(a, RES_DWORD, 4, ADDR_MEM, MEM_RW, min, max);
}

void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max)
{
	res_addr(a, RES_QWORD, 8, ADDR_MEM, MEM_RW, min, max);
}
