/*
 * Fuzz target: the GDB remote protocol layer of the guest debugger
 * (core/gdb_proto.c), which reads whatever arrives on COM2.
 *
 * Input: the bytes of the serial line, fed to the receiver one at a time;
 * every packet it delivers is parsed.
 *
 * Properties:
 *  - a delivered packet is at most GDB_PACKET_MAX bytes, NUL-terminated,
 *    and framing it again gives back a packet the receiver accepts with
 *    the same data (escapes and checksum round-trip);
 *  - the parsed command's data lies inside the packet, a vCont's actions
 *    one to GDB_MAX_ACTIONS and known, its Z type at most 4, its annex
 *    NUL-terminated;
 *  - hex and binary decoding of the command's data stay in their buffer
 *    and agree with the lengths they return.
 */
#include "test/fuzz/fuzz.h"
#include "core/gdb_proto.h"

static struct gdb_rx rx, rx2;
static char frame[2 * GDB_PACKET_MAX + 8];
static uint8_t out[GDB_PACKET_MAX];

static void check_packet(const char *p, size_t len)
{
	struct gdb_cmd c;

	FUZZ_CHECK(len <= GDB_PACKET_MAX && p[len] == '\0');
	size_t n = gdb_frame(frame, sizeof(frame), p, len);
	FUZZ_CHECK(n >= len + 4);
	gdb_rx_init(&rx2);
	enum gdb_rx_event ev = GDB_RX_NONE;
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(ev == GDB_RX_NONE);
		ev = gdb_rx_byte(&rx2, (uint8_t)frame[i]);
	}
	/* '$' in the data was escaped, so the receiver never restarts. */
	FUZZ_CHECK(ev == GDB_RX_PACKET);
	long k = gdb_bin_decode(rx2.buf, rx2.len, out, sizeof(out));
	FUZZ_CHECK(k == (long)len && memcmp(out, p, len) == 0);

	gdb_parse(p, len, &c);
	if (c.data) {
		FUZZ_CHECK(c.data >= p && c.data + c.data_len <= p + len);
		long h = gdb_hex_decode(c.data, c.data_len, out, sizeof(out));
		FUZZ_CHECK(h == -1 || (size_t)h * 2 == c.data_len);
		long b = gdb_bin_decode(c.data, c.data_len, out, sizeof(out));
		FUZZ_CHECK(b <= (long)c.data_len);
	}
	FUZZ_CHECK(c.nr_actions <= GDB_MAX_ACTIONS);
	FUZZ_CHECK(c.kind != GDB_CMD_VCONT || c.nr_actions > 0);
	for (unsigned i = 0; c.kind == GDB_CMD_VCONT && i < c.nr_actions; i++)
		FUZZ_CHECK(c.act[i].action && strchr("cst", c.act[i].action) &&
			   c.act[i].thread >= GDB_THREAD_ALL);
	if (c.kind == GDB_CMD_INSERT_BP || c.kind == GDB_CMD_REMOVE_BP)
		FUZZ_CHECK(c.type <= 4);
	FUZZ_CHECK(memchr(c.annex, '\0', sizeof(c.annex)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gdb_rx_init(&rx);
	for (size_t i = 0; i < size; i++) {
		enum gdb_rx_event ev = gdb_rx_byte(&rx, data[i]);
		FUZZ_CHECK(ev >= GDB_RX_NONE && ev <= GDB_RX_NAK);
		if (ev == GDB_RX_PACKET)
			check_packet(rx.buf, rx.len);
	}
	return 0;
}
