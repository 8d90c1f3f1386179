/*
 * The GDB Remote Serial Protocol: framing, data encodings and packet
 * parsing (see core/gdb_proto.h).  GDB manual appendix E; section numbers
 * below are of that appendix.
 */
#include "core/gdb_proto.h"
#include "lib/string.h"

enum { RX_IDLE, RX_DATA, RX_ESCAPE, RX_CHECK1, RX_CHECK2 };

void gdb_rx_init(struct gdb_rx *rx)
{
	rx->state = RX_IDLE;
	rx->len = 0;
	rx->sum = 0;
	rx->check = 0;
	rx->overflow = false;
	rx->buf[0] = '\0';
}

uint8_t gdb_checksum(const char *data, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + (uint8_t)data[i]);
	return s;
}

int gdb_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Outside a packet, '+' and '-' acknowledge, 0x03 interrupts and anything
 * else is noise.  Inside, the checksum covers the data as sent, escapes
 * included (E.1); the data is kept as sent too (X decodes its own).  A
 * '$' inside a packet starts a new one: the sender gave up on the first.
 */
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c)
{
	int h;

	switch (rx->state) {
	case RX_IDLE:
		if (c == '$') {
			gdb_rx_init(rx);
			rx->state = RX_DATA;
		}
		return c == '+' ? GDB_RX_ACK : c == '-' ? GDB_RX_NAK :
		       c == 0x03 ? GDB_RX_INTERRUPT : GDB_RX_NONE;
	case RX_DATA:
	case RX_ESCAPE:
		if (c == '$') {
			gdb_rx_init(rx);
			rx->state = RX_DATA;
			return GDB_RX_NONE;
		}
		if (c == '#' && rx->state == RX_DATA) {
			rx->state = RX_CHECK1;
			return GDB_RX_NONE;
		}
		rx->state = (c == '}' && rx->state == RX_DATA) ? RX_ESCAPE : RX_DATA;
		rx->sum = (uint8_t)(rx->sum + c);
		if (rx->len < GDB_PACKET_MAX)
			rx->buf[rx->len++] = (char)c;
		else
			rx->overflow = true;
		return GDB_RX_NONE;
	case RX_CHECK1:
		h = gdb_hexval((char)c);
		rx->check = (uint8_t)((h < 0 ? 0 : h) << 4);
		rx->overflow |= h < 0;
		rx->state = RX_CHECK2;
		return GDB_RX_NONE;
	default:
		h = gdb_hexval((char)c);
		rx->state = RX_IDLE;
		rx->buf[rx->len] = '\0';
		if (h < 0 || rx->overflow || (uint8_t)(rx->check | h) != rx->sum)
			return GDB_RX_BAD;
		return GDB_RX_PACKET;
	}
}

static bool needs_escape(char c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

size_t gdb_frame(char *out, size_t cap, const char *data, size_t len)
{
	size_t n = 0;
	uint8_t sum = 0;

	if (cap < 4)
		return 0;
	out[n++] = '$';
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (needs_escape(c)) {
			if (n + 2 > cap - 3)
				return 0;
			out[n++] = '}';
			sum = (uint8_t)(sum + '}');
			c = (char)(c ^ 0x20);
		} else if (n + 1 > cap - 3) {
			return 0;
		}
		out[n++] = c;
		sum = (uint8_t)(sum + (uint8_t)c);
	}
	static const char hex[] = "0123456789abcdef";
	out[n++] = '#';
	out[n++] = hex[sum >> 4];
	out[n++] = hex[sum & 15];
	return n;
}

void gdb_hex_encode(char *out, const void *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
}

long gdb_hex_decode(const char *s, size_t n, void *out, size_t cap)
{
	uint8_t *o = out;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = gdb_hexval(s[2 * i]), lo = gdb_hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		o[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

long gdb_bin_decode(const char *s, size_t n, void *out, size_t cap)
{
	uint8_t *o = out;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '}') {
			if (++i == n)
				return -1;
			c = (uint8_t)(s[i] ^ 0x20);
		}
		if (k == cap)
			return -1;
		o[k++] = c;
	}
	return (long)k;
}

/* ---- parsing ------------------------------------------------------------ */

struct cursor {
	const char *p, *end;
};

static bool at_end(const struct cursor *c)
{
	return c->p == c->end;
}

static bool take(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool take_str(struct cursor *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n))
		return false;
	c->p += n;
	return true;
}

/* 1-16 hex digits. */
static bool hex_num(struct cursor *c, uint64_t *v)
{
	unsigned n = 0;
	int h;

	*v = 0;
	while (c->p < c->end && (h = gdb_hexval(*c->p)) >= 0) {
		if (++n > 16)
			return false;
		*v = *v << 4 | (uint64_t)h;
		c->p++;
	}
	return n > 0;
}

/* A thread id: "-1" (all), or hex (0: any).  No multiprocess ids: the
 * stub does not offer multiprocess+ (E.4, thread-id syntax). */
static bool thread_id(struct cursor *c, int64_t *t)
{
	uint64_t v;

	if (take_str(c, "-1")) {
		*t = GDB_THREAD_ALL;
		return true;
	}
	if (!hex_num(c, &v) || v > 0x7fffffff)
		return false;
	*t = (int64_t)v;
	return true;
}

/* "addr,len" as m, M, X and Z/z take it (len is Z's kind). */
static bool addr_len(struct cursor *c, struct gdb_cmd *cmd)
{
	return hex_num(c, &cmd->addr) && take(c, ',') && hex_num(c, &cmd->len);
}

static void parse_vcont(struct cursor *c, struct gdb_cmd *cmd)
{
	cmd->kind = GDB_CMD_VCONT;
	while (take(c, ';')) {
		if (cmd->nr_actions == GDB_MAX_ACTIONS || at_end(c))
			goto bad;
		struct gdb_action *a = &cmd->act[cmd->nr_actions++];
		a->action = *c->p++;
		a->thread = GDB_THREAD_ALL;
		if (a->action != 'c' && a->action != 's' && a->action != 't')
			goto bad;
		if (take(c, ':') && !thread_id(c, &a->thread))
			goto bad;
	}
	if (at_end(c) && cmd->nr_actions)
		return;
bad:
	cmd->kind = GDB_CMD_BAD;
}

static void parse_query(struct cursor *c, struct gdb_cmd *cmd)
{
	if (take_str(c, "Supported")) {
		cmd->kind = GDB_CMD_SUPPORTED;
	} else if (take_str(c, "Xfer:features:read:")) {
		size_t n = 0;
		cmd->kind = GDB_CMD_BAD;
		while (c->p < c->end && *c->p != ':') {
			if (n + 1 == sizeof(cmd->annex))
				return;
			cmd->annex[n++] = *c->p++;
		}
		cmd->annex[n] = '\0';
		if (take(c, ':') && addr_len(c, cmd) && at_end(c))
			cmd->kind = GDB_CMD_XFER_FEATURES;
	} else if (take_str(c, "fThreadInfo") && at_end(c)) {
		cmd->kind = GDB_CMD_THREAD_FIRST;
	} else if (take_str(c, "sThreadInfo") && at_end(c)) {
		cmd->kind = GDB_CMD_THREAD_NEXT;
	} else if (take_str(c, "Attached")) {
		cmd->kind = GDB_CMD_ATTACHED;
	} else if (take_str(c, "ThreadExtraInfo,")) {
		cmd->kind = thread_id(c, &cmd->thread) && at_end(c) ? GDB_CMD_THREAD_EXTRA : GDB_CMD_BAD;
	} else if (take(c, 'C') && at_end(c)) {
		cmd->kind = GDB_CMD_CURRENT_THREAD;
	}
}

void gdb_parse(const char *pkt, size_t len, struct gdb_cmd *cmd)
{
	struct cursor c = { pkt, pkt + len };
	uint64_t v;

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = GDB_CMD_UNKNOWN;
	if (!len)
		return;
	char op = *c.p++;
	/* From here a known command that does not parse is GDB_CMD_BAD. */
	switch (op) {
	case '?':
		cmd->kind = at_end(&c) ? GDB_CMD_STATUS : GDB_CMD_BAD;
		return;
	case 'g':
		cmd->kind = at_end(&c) ? GDB_CMD_READ_REGS : GDB_CMD_BAD;
		return;
	case 'G':
		cmd->kind = GDB_CMD_WRITE_REGS;
		cmd->data = c.p;
		cmd->data_len = (size_t)(c.end - c.p);
		return;
	case 'p':
		cmd->kind = hex_num(&c, &v) && at_end(&c) && v < 0x10000 ? GDB_CMD_READ_REG : GDB_CMD_BAD;
		cmd->reg = (unsigned)v;
		return;
	case 'P':
		cmd->kind = GDB_CMD_BAD;
		if (!hex_num(&c, &v) || v >= 0x10000 || !take(&c, '='))
			return;
		cmd->kind = GDB_CMD_WRITE_REG;
		cmd->reg = (unsigned)v;
		cmd->data = c.p;
		cmd->data_len = (size_t)(c.end - c.p);
		return;
	case 'm':
		cmd->kind = addr_len(&c, cmd) && at_end(&c) ? GDB_CMD_READ_MEM : GDB_CMD_BAD;
		return;
	case 'M':
	case 'X':
		cmd->kind = GDB_CMD_BAD;
		if (!addr_len(&c, cmd) || !take(&c, ':'))
			return;
		cmd->kind = op == 'M' ? GDB_CMD_WRITE_MEM : GDB_CMD_WRITE_MEM_BIN;
		cmd->data = c.p;
		cmd->data_len = (size_t)(c.end - c.p);
		return;
	case 'c':
	case 's':
		cmd->kind = op == 'c' ? GDB_CMD_CONTINUE : GDB_CMD_STEP;
		if (!at_end(&c)) {
			cmd->has_addr = hex_num(&c, &cmd->addr);
			if (!cmd->has_addr || !at_end(&c))
				cmd->kind = GDB_CMD_BAD;
		}
		return;
	case 'Z':
	case 'z':
		cmd->kind = GDB_CMD_BAD;
		if (!hex_num(&c, &v) || v > 4 || !take(&c, ',') || !addr_len(&c, cmd))
			return;
		/* Conditions and commands after ';' (E.2) are not offered. */
		if (!at_end(&c))
			return;
		cmd->type = (unsigned)v;
		cmd->kind = op == 'Z' ? GDB_CMD_INSERT_BP : GDB_CMD_REMOVE_BP;
		return;
	case 'H':
		cmd->kind = GDB_CMD_BAD;
		if (at_end(&c))
			return;
		cmd->op = *c.p++;
		if ((cmd->op == 'g' || cmd->op == 'c') && thread_id(&c, &cmd->thread) && at_end(&c))
			cmd->kind = GDB_CMD_SET_THREAD;
		return;
	case 'T':
		cmd->kind = thread_id(&c, &cmd->thread) && at_end(&c) ? GDB_CMD_THREAD_ALIVE : GDB_CMD_BAD;
		return;
	case 'D':
		/* "D" or "D;pid" (the pid is for multiprocess stubs). */
		cmd->kind = GDB_CMD_DETACH;
		return;
	case 'k':
		cmd->kind = GDB_CMD_KILL;
		return;
	case 'q':
		parse_query(&c, cmd);
		return;
	case 'Q':
		if (take_str(&c, "StartNoAckMode") && at_end(&c))
			cmd->kind = GDB_CMD_NO_ACK;
		return;
	case 'v':
		if (take_str(&c, "Cont?") && at_end(&c))
			cmd->kind = GDB_CMD_VCONT_QUERY;
		else if (take_str(&c, "Cont"))
			parse_vcont(&c, cmd);
		else if (take_str(&c, "Kill"))
			cmd->kind = GDB_CMD_KILL;
		return;
	default:
		return;
	}
}
