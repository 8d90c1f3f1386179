/*
 * The GDB Remote Serial Protocol, as pure logic (no VMs, no hardware):
 * packet framing and checksums, hex and binary data, and the parsing of
 * one packet into a command.  core/gdbstub.c executes the commands.  The
 * bytes come from whoever is on the serial line: every length and number
 * is bounded here.  Also built into the host unit test and the fuzzer.
 *
 * Protocol reference: GDB manual, appendix E "GDB Remote Serial
 * Protocol" (E.1 Overview: $data#cs framing, '+'/'-' acks, '}' escapes;
 * E.8 Interrupts: a lone 0x03 byte).
 */
#ifndef KASANE_CORE_GDB_PROTO_H
#define KASANE_CORE_GDB_PROTO_H

#include "lib/types.h"

/* The largest packet either side sends (told to gdb as PacketSize). */
#define GDB_PACKET_MAX  4096

enum gdb_rx_event {
	GDB_RX_NONE,            /* nothing complete yet */
	GDB_RX_PACKET,          /* a packet with a good checksum: rx->buf, rx->len */
	GDB_RX_BAD,             /* a packet with a bad checksum or too long: answer '-' */
	GDB_RX_INTERRUPT,       /* Ctrl-C (0x03) outside a packet */
	GDB_RX_ACK,             /* '+' */
	GDB_RX_NAK,             /* '-': send the last packet again */
};

/* The receiver: fed one byte at a time. */
struct gdb_rx {
	int state;
	uint8_t sum, check;
	bool overflow;
	size_t len;
	char buf[GDB_PACKET_MAX + 1];   /* NUL-terminated at GDB_RX_PACKET */
};

void gdb_rx_init(struct gdb_rx *rx);
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c);

/* The modulo-256 sum of the packet data (E.1). */
uint8_t gdb_checksum(const char *data, size_t len);

/*
 * Frame data as "$data#cs", escaping '$', '#', '}' and '*' as '}' and the
 * byte XOR 0x20.  Returns the framed length, or 0 if it does not fit cap.
 */
size_t gdb_frame(char *out, size_t cap, const char *data, size_t len);

int gdb_hexval(char c);                 /* -1 if not a hex digit */
/* Hex digits of n bytes at in into out (2n characters, not terminated). */
void gdb_hex_encode(char *out, const void *in, size_t n);
/* Decode 2n hex digits into at most cap bytes; -1 if odd, bad or too long. */
long gdb_hex_decode(const char *s, size_t n, void *out, size_t cap);
/* Undo the binary escapes of an X packet's data; -1 if bad or too long. */
long gdb_bin_decode(const char *s, size_t n, void *out, size_t cap);

enum gdb_cmd_kind {
	GDB_CMD_UNKNOWN,        /* answered with an empty packet (E.1) */
	GDB_CMD_BAD,            /* a known command, malformed: answered E01 */
	GDB_CMD_STATUS,         /* ? */
	GDB_CMD_READ_REGS,      /* g */
	GDB_CMD_WRITE_REGS,     /* G hex */
	GDB_CMD_READ_REG,       /* p n */
	GDB_CMD_WRITE_REG,      /* P n=hex */
	GDB_CMD_READ_MEM,       /* m addr,len */
	GDB_CMD_WRITE_MEM,      /* M addr,len:hex */
	GDB_CMD_WRITE_MEM_BIN,  /* X addr,len:binary */
	GDB_CMD_CONTINUE,       /* c [addr] */
	GDB_CMD_STEP,           /* s [addr] */
	GDB_CMD_VCONT,          /* vCont;action[:thread]... */
	GDB_CMD_VCONT_QUERY,    /* vCont? */
	GDB_CMD_INSERT_BP,      /* Zt,addr,kind */
	GDB_CMD_REMOVE_BP,      /* zt,addr,kind */
	GDB_CMD_SUPPORTED,      /* qSupported[:features] */
	GDB_CMD_XFER_FEATURES,  /* qXfer:features:read:annex:offset,length */
	GDB_CMD_THREAD_FIRST,   /* qfThreadInfo */
	GDB_CMD_THREAD_NEXT,    /* qsThreadInfo */
	GDB_CMD_CURRENT_THREAD, /* qC */
	GDB_CMD_ATTACHED,       /* qAttached */
	GDB_CMD_THREAD_EXTRA,   /* qThreadExtraInfo,thread */
	GDB_CMD_SET_THREAD,     /* Hop thread */
	GDB_CMD_THREAD_ALIVE,   /* T thread */
	GDB_CMD_DETACH,         /* D */
	GDB_CMD_KILL,           /* k, vKill */
	GDB_CMD_NO_ACK,         /* QStartNoAckMode */
};

#define GDB_MAX_ACTIONS 16
#define GDB_THREAD_ALL  (-1)    /* thread id -1: all threads */
#define GDB_THREAD_ANY  0       /* thread id 0: any thread */

struct gdb_action {
	char action;            /* 'c', 's', or 't' (stop) */
	int64_t thread;         /* GDB_THREAD_ALL if none given */
};

struct gdb_cmd {
	enum gdb_cmd_kind kind;
	uint64_t addr, len;     /* m, M, X, Z, qXfer (offset, length) */
	unsigned reg;           /* p, P */
	unsigned type;          /* Z/z: 0-4 */
	char op;                /* H: 'g' or 'c' */
	int64_t thread;         /* H, T, qThreadExtraInfo */
	bool has_addr;          /* c, s: resume at addr */
	const char *data;       /* G, P, M: hex; X: escaped binary; inside the packet */
	size_t data_len;
	char annex[32];         /* qXfer */
	unsigned nr_actions;    /* vCont */
	struct gdb_action act[GDB_MAX_ACTIONS];
};

/* Parse one packet's data (as gdb_rx delivered it) into *c. */
void gdb_parse(const char *pkt, size_t len, struct gdb_cmd *c);

#endif
