/* Host tests for the GDB remote protocol layer (core/gdb_proto.c). */
#include "test/unit/check.h"
#include "core/gdb_proto.h"

static enum gdb_rx_event feed(struct gdb_rx *rx, const char *s)
{
	enum gdb_rx_event ev = GDB_RX_NONE;

	for (; *s; s++) {
		ev = gdb_rx_byte(rx, (uint8_t)*s);
		if (ev != GDB_RX_NONE && s[1])
			return (enum gdb_rx_event)-1;      /* an event before the end */
	}
	return ev;
}

static void parse(const char *s, struct gdb_cmd *c)
{
	gdb_parse(s, strlen(s), c);
}

TEST(checksum_and_frame)
{
	char out[64];

	/* "$OK#9a": 'O' + 'K' = 0x4f + 0x4b = 0x9a (GDB manual E.1). */
	CHECK_EQ(gdb_checksum("OK", 2), 0x9a);
	size_t n = gdb_frame(out, sizeof(out), "OK", 2);
	out[n] = '\0';
	CHECK_STR(out, "$OK#9a");
	/* '#', '$', '}' and '*' go out escaped: '}' then the byte ^ 0x20. */
	n = gdb_frame(out, sizeof(out), "a#b$}*", 6);
	out[n] = '\0';
	CHECK_EQ(n, 14);
	CHECK(memcmp(out, "$a}\x03" "b}\x04}]}\x0a#", 12) == 0);
	char sum[3];
	snprintf(sum, sizeof(sum), "%02x", gdb_checksum(out + 1, n - 4));
	CHECK(memcmp(out + n - 2, sum, 2) == 0);
	CHECK_EQ(gdb_frame(out, 5, "OK", 2), 0);        /* no room: nothing */
	CHECK_EQ(gdb_frame(out, 6, "OK", 2), 6);
}

TEST(receiver)
{
	static struct gdb_rx rx;

	gdb_rx_init(&rx);
	CHECK_EQ(feed(&rx, "$OK#9a"), GDB_RX_PACKET);
	CHECK_STR(rx.buf, "OK");
	CHECK_EQ(feed(&rx, "$OK#9b"), GDB_RX_BAD);
	CHECK_EQ(feed(&rx, "$OK#9A"), GDB_RX_PACKET);  /* upper-case hex */
	CHECK_EQ(feed(&rx, "$OK#zz"), GDB_RX_BAD);
	CHECK_EQ(feed(&rx, "+"), GDB_RX_ACK);
	CHECK_EQ(feed(&rx, "-"), GDB_RX_NAK);
	CHECK_EQ(feed(&rx, "\x03"), GDB_RX_INTERRUPT);
	CHECK_EQ(feed(&rx, "junk"), GDB_RX_NONE);
	/* A '$' inside a packet starts again; 0x03 inside is data. */
	CHECK_EQ(feed(&rx, "$abc$g#67"), GDB_RX_PACKET);
	CHECK_STR(rx.buf, "g");
	/* An escaped '#' inside X data does not end the packet. */
	char pkt[32];
	const char data[] = "X0,1:}\x03";
	snprintf(pkt, sizeof(pkt), "$%s#%02x", data, gdb_checksum(data, strlen(data)));
	CHECK_EQ(feed(&rx, pkt), GDB_RX_PACKET);
	CHECK_EQ(rx.len, strlen(data));
	/* Longer than GDB_PACKET_MAX: refused, and the next one is fine. */
	gdb_rx_byte(&rx, '$');
	for (int i = 0; i < GDB_PACKET_MAX + 10; i++)
		gdb_rx_byte(&rx, 'a');
	CHECK_EQ(feed(&rx, "#00"), GDB_RX_BAD);
	CHECK_EQ(feed(&rx, "$OK#9a"), GDB_RX_PACKET);
}

TEST(hex_and_binary)
{
	uint8_t b[8];
	char h[9] = { 0 };

	CHECK_EQ(gdb_hex_decode("0aFf", 4, b, sizeof(b)), 2);
	CHECK_EQ(b[0], 0x0a);
	CHECK_EQ(b[1], 0xff);
	CHECK_EQ(gdb_hex_decode("0aF", 3, b, sizeof(b)), -1);
	CHECK_EQ(gdb_hex_decode("0g", 2, b, sizeof(b)), -1);
	CHECK_EQ(gdb_hex_decode("000000", 6, b, 2), -1);
	gdb_hex_encode(h, "\x12\xab", 2);
	CHECK_STR(h, "12ab");
	CHECK_EQ(gdb_bin_decode("a}\x03}]", 5, b, sizeof(b)), 3);
	CHECK_EQ(b[1], '#');
	CHECK_EQ(b[2], '}');
	CHECK_EQ(gdb_bin_decode("a}", 2, b, sizeof(b)), -1);
	CHECK_EQ(gdb_bin_decode("abc", 3, b, 2), -1);
}

TEST(commands)
{
	struct gdb_cmd c;

	parse("?", &c);
	CHECK_EQ(c.kind, GDB_CMD_STATUS);
	parse("m2000a0,10", &c);
	CHECK_EQ(c.kind, GDB_CMD_READ_MEM);
	CHECK_EQ(c.addr, 0x2000a0);
	CHECK_EQ(c.len, 0x10);
	parse("mffffffffffffffff0,1", &c);        /* 17 digits */
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("m10", &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("M10,2:abcd", &c);
	CHECK_EQ(c.kind, GDB_CMD_WRITE_MEM);
	CHECK_EQ(c.data_len, 4);
	CHECK(memcmp(c.data, "abcd", 4) == 0);
	parse("X10,0:", &c);
	CHECK_EQ(c.kind, GDB_CMD_WRITE_MEM_BIN);
	CHECK_EQ(c.data_len, 0);
	parse("p10", &c);
	CHECK_EQ(c.kind, GDB_CMD_READ_REG);
	CHECK_EQ(c.reg, 16);
	parse("P10=0011223344556677", &c);
	CHECK_EQ(c.kind, GDB_CMD_WRITE_REG);
	CHECK_EQ(c.data_len, 16);
	parse("Z0,2000a0,1", &c);
	CHECK_EQ(c.kind, GDB_CMD_INSERT_BP);
	CHECK_EQ(c.type, 0);
	CHECK_EQ(c.addr, 0x2000a0);
	parse("z2,206028,8", &c);
	CHECK_EQ(c.kind, GDB_CMD_REMOVE_BP);
	CHECK_EQ(c.type, 2);
	CHECK_EQ(c.len, 8);
	parse("Z5,0,1", &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("Z0,10,1;X1,0", &c);                 /* conditions: not offered */
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("c", &c);
	CHECK_EQ(c.kind, GDB_CMD_CONTINUE);
	CHECK(!c.has_addr);
	parse("s1000", &c);
	CHECK_EQ(c.kind, GDB_CMD_STEP);
	CHECK(c.has_addr);
	CHECK_EQ(c.addr, 0x1000);
	parse("Hg2", &c);
	CHECK_EQ(c.kind, GDB_CMD_SET_THREAD);
	CHECK_EQ(c.op, 'g');
	CHECK_EQ(c.thread, 2);
	parse("Hc-1", &c);
	CHECK_EQ(c.thread, GDB_THREAD_ALL);
	parse("Hx1", &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("T1", &c);
	CHECK_EQ(c.kind, GDB_CMD_THREAD_ALIVE);
	parse("qSupported:multiprocess+;swbreak+", &c);
	CHECK_EQ(c.kind, GDB_CMD_SUPPORTED);
	parse("qXfer:features:read:target.xml:0,ffb", &c);
	CHECK_EQ(c.kind, GDB_CMD_XFER_FEATURES);
	CHECK_STR(c.annex, "target.xml");
	CHECK_EQ(c.len, 0xffb);
	parse("qXfer:features:read:target.xml:0", &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("qfThreadInfo", &c);
	CHECK_EQ(c.kind, GDB_CMD_THREAD_FIRST);
	parse("qsThreadInfo", &c);
	CHECK_EQ(c.kind, GDB_CMD_THREAD_NEXT);
	parse("qC", &c);
	CHECK_EQ(c.kind, GDB_CMD_CURRENT_THREAD);
	parse("qThreadExtraInfo,2", &c);
	CHECK_EQ(c.kind, GDB_CMD_THREAD_EXTRA);
	CHECK_EQ(c.thread, 2);
	parse("qRcmd,68656c70", &c);
	CHECK_EQ(c.kind, GDB_CMD_UNKNOWN);
	parse("D", &c);
	CHECK_EQ(c.kind, GDB_CMD_DETACH);
	parse("QStartNoAckMode", &c);
	CHECK_EQ(c.kind, GDB_CMD_NO_ACK);
}

TEST(vcont)
{
	struct gdb_cmd c;

	parse("vCont?", &c);
	CHECK_EQ(c.kind, GDB_CMD_VCONT_QUERY);
	parse("vCont;s:2;c", &c);
	CHECK_EQ(c.kind, GDB_CMD_VCONT);
	CHECK_EQ(c.nr_actions, 2);
	CHECK_EQ(c.act[0].action, 's');
	CHECK_EQ(c.act[0].thread, 2);
	CHECK_EQ(c.act[1].action, 'c');
	CHECK_EQ(c.act[1].thread, GDB_THREAD_ALL);
	parse("vCont", &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("vCont;q", &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	parse("vCont;s:", &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
	char many[128] = "vCont";
	for (int i = 0; i <= GDB_MAX_ACTIONS; i++)
		strcat(many, ";c");
	parse(many, &c);
	CHECK_EQ(c.kind, GDB_CMD_BAD);
}

int main(void)
{
	check_start("gdb_proto");
	RUN(checksum_and_frame);
	RUN(receiver);
	RUN(hex_and_binary);
	RUN(commands);
	RUN(vcont);
	return check_finish();
}
