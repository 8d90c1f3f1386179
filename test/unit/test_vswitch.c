/*
 * Host tests for the inter-VM switch: learning and ageing, flooding of
 * group and unknown addresses, isolation between switches, bounded
 * per-port queues with counted drops, duplicate MACs, the switch's life.
 */
#include "test/unit/check.h"
#include "devices/vswitch.h"

#define SEC 1000000000ULL

struct owner {
	struct vswitch_port port;
	int notified;
};

static void notify(void *ctx)
{
	((struct owner *)ctx)->notified++;
}

static const struct vswitch_port_ops ops = { notify };

static void mac_of(uint8_t m[ETH_ALEN], int n)
{
	const uint8_t base[ETH_ALEN] = { 0x52, 0x54, 0x00, 0, 0, 0 };
	memcpy(m, base, ETH_ALEN);
	m[5] = (uint8_t)n;
}

static void attach(struct owner *o, const char *sw, int n)
{
	uint8_t m[ETH_ALEN];
	char err[128] = "", name[16];

	memset(o, 0, sizeof(*o));
	mac_of(m, n);
	snprintf(name, sizeof(name), "vm%d net0", n);
	CHECK_EQ(vswitch_attach(&o->port, sw, m, name, &ops, o, err, sizeof(err)), 0);
}

/* Three ports a, b, c on "lan" with MACs 1, 2, 3; and their detach. */
static void attach3(struct owner *a, struct owner *b, struct owner *c)
{
	attach(a, "lan", 1);
	attach(b, "lan", 2);
	attach(c, "lan", 3);
}

static void detach3(struct owner *a, struct owner *b, struct owner *c)
{
	vswitch_detach(&a->port);
	vswitch_detach(&b->port);
	vswitch_detach(&c->port);
}

static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A 60-byte frame from MAC n to dst, its payload byte tag. */
static unsigned send(struct owner *o, int from, const uint8_t *dst, uint8_t tag, uint64_t now)
{
	uint8_t f[60];

	memset(f, tag, sizeof(f));
	memcpy(f, dst, ETH_ALEN);
	mac_of(f + ETH_ALEN, from);
	f[12] = 0x08;
	f[13] = 0x00;
	return vswitch_send(&o->port, f, sizeof(f), NULL, now);
}

static unsigned send_to(struct owner *o, int from, int to, uint8_t tag, uint64_t now)
{
	uint8_t d[ETH_ALEN];

	mac_of(d, to);
	return send(o, from, d, tag, now);
}

/* How many frames wait for o; they are taken. */
static int drain(struct owner *o)
{
	static struct vswitch_frame f;
	int n = 0;

	while (vswitch_port_recv(&o->port, &f))
		n++;
	return n;
}

TEST(flood_then_learn)
{
	static struct owner a, b, c;

	attach3(&a, &b, &c);
	/* b's address is unknown: flooded to b and c, never back to a. */
	CHECK_EQ(send_to(&a, 1, 2, 0x11, 1 * SEC), 2);
	CHECK_EQ(drain(&a), 0);
	CHECK_EQ(drain(&b), 1);
	CHECK_EQ(drain(&c), 1);
	CHECK(b.notified == 1 && c.notified == 1 && a.notified == 0);
	/* a was learned from that frame: b's reply goes to a alone. */
	CHECK_EQ(send_to(&b, 2, 1, 0x22, 2 * SEC), 1);
	CHECK_EQ(drain(&a), 1);
	CHECK_EQ(drain(&c), 0);
	/* Now b is known too. */
	CHECK_EQ(send_to(&a, 1, 2, 0x33, 3 * SEC), 1);
	CHECK_EQ(drain(&b), 1);
	CHECK_EQ(drain(&c), 0);
	/* A frame to an address learned on the sender's own port is filtered. */
	CHECK_EQ(send_to(&a, 1, 1, 0x44, 4 * SEC), 0);
	struct vswitch_stats s = vswitch_port_stats(&a.port);
	CHECK_EQ(s.tx_frames, 3);
	CHECK_EQ(s.tx_bytes, 180);
	CHECK_EQ(s.rx_frames, 1);
	CHECK_EQ(s.rx_bytes, 60);
	detach3(&a, &b, &c);
	CHECK_EQ(vswitch_count(), 0);
}

TEST(frame_content)
{
	static struct owner a, b;
	static struct vswitch_frame f;
	struct vswitch_meta m = { true, 34, 16 };
	uint8_t d[ETH_ALEN];

	attach(&a, "lan", 1);
	attach(&b, "lan", 2);
	uint8_t fr[100];
	mac_of(d, 2);
	for (unsigned i = 0; i < sizeof(fr); i++)
		fr[i] = (uint8_t)(i * 7);
	memcpy(fr, d, ETH_ALEN);
	CHECK_EQ(vswitch_send(&a.port, fr, sizeof(fr), &m, 5), 1);
	CHECK(vswitch_port_recv(&b.port, &f));
	CHECK_EQ(f.len, sizeof(fr));
	CHECK(memcmp(f.data, fr, sizeof(fr)) == 0);
	CHECK(f.meta.needs_csum && f.meta.csum_start == 34 && f.meta.csum_offset == 16);
	CHECK(!vswitch_port_recv(&b.port, &f));
	/* Runts and frames over the largest are not switched (the owner drops them). */
	CHECK_EQ(vswitch_send(&a.port, fr, ETH_HLEN - 1, NULL, 6), 0);
	static uint8_t big[VSWITCH_FRAME_MAX + 1];
	memcpy(big, bcast, ETH_ALEN);
	CHECK_EQ(vswitch_send(&a.port, big, sizeof(big), NULL, 6), 0);
	CHECK_EQ(vswitch_send(&a.port, big, VSWITCH_FRAME_MAX, NULL, 6), 1);
	vswitch_count_tx_drop(&a.port);
	CHECK_EQ(vswitch_port_stats(&a.port).tx_drops, 1);
	vswitch_detach(&a.port);
	vswitch_detach(&b.port);
}

TEST(group_addresses_flood)
{
	static struct owner a, b, c;
	const uint8_t mcast[ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };

	attach3(&a, &b, &c);
	send_to(&b, 2, 1, 0, 1);
	send_to(&c, 3, 1, 0, 1);
	drain(&a);
	drain(&b);
	drain(&c);
	/* Broadcast and multicast reach every other port, even with all learned. */
	CHECK_EQ(send(&a, 1, bcast, 1, 2), 2);
	CHECK_EQ(send(&a, 1, mcast, 2, 2), 2);
	CHECK_EQ(drain(&a), 0);
	CHECK_EQ(drain(&b), 2);
	CHECK_EQ(drain(&c), 2);
	/* A group source address is never learned: a frame to it floods. */
	CHECK_EQ(send(&b, 0, mcast, 3, 3), 2);
	uint8_t f[60];
	memset(f, 0, sizeof(f));
	mac_of(f, 1);
	memcpy(f + ETH_ALEN, mcast, ETH_ALEN);
	CHECK_EQ(vswitch_send(&b.port, f, sizeof(f), NULL, 3), 1);
	CHECK_EQ(send(&c, 3, mcast, 4, 4), 2);
	detach3(&a, &b, &c);
}

TEST(ageing)
{
	static struct owner a, b, c;

	attach3(&a, &b, &c);
	send_to(&b, 2, 1, 0, 10 * SEC);
	drain(&a);
	drain(&c);
	/* Within the ageing time b's address is known... */
	CHECK_EQ(send_to(&a, 1, 2, 0, 10 * SEC + VSWITCH_AGE_NS - 1), 1);
	/* ...after it, the entry is gone and frames to b flood again. */
	CHECK_EQ(send_to(&a, 1, 2, 0, 10 * SEC + VSWITCH_AGE_NS), 2);
	/* Hearing b again refreshes it. */
	send_to(&b, 2, 1, 0, 10 * SEC + VSWITCH_AGE_NS + 1);
	CHECK_EQ(send_to(&a, 1, 2, 0, 10 * SEC + 2 * VSWITCH_AGE_NS), 1);
	detach3(&a, &b, &c);
}

TEST(moved_address)
{
	static struct owner a, b, c;

	attach3(&a, &b, &c);
	send_to(&b, 9, 1, 0, 1);
	CHECK_EQ(send_to(&a, 1, 9, 0, 2), 1);
	CHECK_EQ(drain(&b), 1);
	/* Address 9 now speaks from c: the table follows it. */
	send_to(&c, 9, 1, 0, 3);
	drain(&b);
	drain(&c);
	CHECK_EQ(send_to(&a, 1, 9, 0, 4), 1);
	CHECK_EQ(drain(&c), 1);
	CHECK_EQ(drain(&b), 0);
	detach3(&a, &b, &c);
}

TEST(table_full_replaces_oldest)
{
	static struct owner a, b, c;

	attach3(&a, &b, &c);
	/* b speaks with VSWITCH_TABLE_SIZE addresses, 0x100 + i at time i + 1. */
	for (int i = 0; i < VSWITCH_TABLE_SIZE; i++) {
		uint8_t f[60];
		memset(f, 0, sizeof(f));
		memcpy(f, bcast, ETH_ALEN);
		mac_of(f + ETH_ALEN, 0);
		f[ETH_ALEN + 4] = (uint8_t)((0x100 + i) >> 8);
		f[ETH_ALEN + 5] = (uint8_t)(0x100 + i);
		vswitch_send(&b.port, f, sizeof(f), NULL, (uint64_t)i + 1);
		drain(&a);
		drain(&c);
	}
	/* One more (a's) replaces the oldest, 0x100; c's own then replaces
	 * 0x101; 0x102 stays known. */
	send_to(&a, 1, 0xff, 0, 1000);
	drain(&b);
	drain(&c);
	uint8_t d[ETH_ALEN];
	mac_of(d, 0);
	d[4] = 1;
	d[5] = 2;
	CHECK_EQ(send(&c, 3, d, 0, 1001), 1);
	d[5] = 0;
	CHECK_EQ(send(&c, 3, d, 0, 1002), 2);
	detach3(&a, &b, &c);
}

TEST(isolation_between_switches)
{
	static struct owner a, b, x;

	attach(&a, "lan", 1);
	attach(&b, "lan", 2);
	attach(&x, "dmz", 3);
	CHECK_EQ(vswitch_count(), 2);
	/* Broadcasts, unknowns and even x's own address stay on their switch. */
	CHECK_EQ(send(&a, 1, bcast, 0, 1), 1);
	CHECK_EQ(send_to(&a, 1, 3, 0, 1), 1);
	CHECK_EQ(send_to(&b, 2, 3, 0, 1), 1);
	CHECK_EQ(send(&x, 3, bcast, 0, 1), 0);
	CHECK_EQ(send_to(&x, 3, 1, 0, 2), 0);
	CHECK_EQ(drain(&x), 0);
	CHECK_EQ(x.notified, 0);
	CHECK_EQ(vswitch_port_stats(&x.port).rx_frames, 0);
	CHECK_EQ(vswitch_port_stats(&x.port).tx_frames, 2);
	CHECK_EQ(drain(&a), 1);
	vswitch_detach(&a.port);
	vswitch_detach(&b.port);
	vswitch_detach(&x.port);
	CHECK_EQ(vswitch_count(), 0);
}

TEST(bounded_queues)
{
	static struct owner flood, a, b, victim;

	attach(&flood, "lan", 1);
	attach(&a, "lan", 2);
	attach(&b, "lan", 3);
	attach(&victim, "lan", 4);
	/* a makes itself known; then the flooder fills every other port's
	 * queue with broadcasts. */
	send(&a, 2, bcast, 0, 1);
	drain(&flood);
	drain(&b);
	drain(&victim);
	for (int i = 0; i < 3 * VSWITCH_QUEUE_LEN; i++)
		send(&flood, 1, bcast, 0, 1);
	struct vswitch_stats s = vswitch_port_stats(&victim.port);
	CHECK_EQ(s.rx_frames, VSWITCH_QUEUE_LEN + 1);
	CHECK_EQ(s.rx_drops, 2 * VSWITCH_QUEUE_LEN);
	CHECK_EQ(vswitch_port_stats(&flood.port).tx_frames, 3 * VSWITCH_QUEUE_LEN);
	/* a drains its queue: b's frames to a get through at once, whatever
	 * the flooder does meanwhile, while the full victim only counts drops. */
	CHECK_EQ(drain(&a), VSWITCH_QUEUE_LEN);
	CHECK_EQ(send_to(&b, 3, 2, 0x5a, 2), 1);
	send(&flood, 1, bcast, 0, 3);
	static struct vswitch_frame f;
	CHECK(vswitch_port_recv(&a.port, &f));
	CHECK(f.data[20] == 0x5a);
	CHECK_EQ(vswitch_port_stats(&a.port).rx_drops, 2 * VSWITCH_QUEUE_LEN);
	CHECK_EQ(vswitch_port_stats(&victim.port).rx_drops, 2 * VSWITCH_QUEUE_LEN + 1);
	/* Frames come out in order. */
	drain(&b);
	for (int i = 0; i < 5; i++)
		send_to(&a, 2, 3, (uint8_t)i, 4);
	for (int i = 0; i < 5; i++) {
		CHECK(vswitch_port_recv(&b.port, &f));
		CHECK_EQ(f.data[20], i);
	}
	vswitch_detach(&flood.port);
	vswitch_detach(&a.port);
	vswitch_detach(&b.port);
	vswitch_detach(&victim.port);
}

TEST(duplicate_mac_and_limits)
{
	static struct owner a, b, c, p[VSWITCH_MAX_PORTS + 1];
	uint8_t m[ETH_ALEN];
	char err[128] = "";

	attach(&a, "lan", 1);
	mac_of(m, 1);
	CHECK_EQ(vswitch_attach(&b.port, "lan", m, "vm9 net1", &ops, &b, err, sizeof(err)), -1);
	CHECK_STR(err, "MAC 52:54:00:00:00:01 is already on switch 'lan' (vm1 net0)");
	/* The same MAC on another switch is fine. */
	CHECK_EQ(vswitch_attach(&c.port, "dmz", m, "vm9 net1", &ops, &c, err, sizeof(err)), 0);
	CHECK_EQ(vswitch_attach(&b.port, "", m, "x", &ops, &b, err, sizeof(err)), -1);
	CHECK_EQ(vswitch_count(), 2);
	vswitch_detach(&a.port);
	vswitch_detach(&c.port);
	CHECK_EQ(vswitch_count(), 0);
	/* A full switch refuses one more port. */
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++)
		attach(&p[i], "big", 10 + i);
	mac_of(m, 200);
	CHECK_EQ(vswitch_attach(&p[VSWITCH_MAX_PORTS].port, "big", m, "x", &ops, NULL, err,
				sizeof(err)), -1);
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++)
		vswitch_detach(&p[i].port);
	CHECK_EQ(vswitch_count(), 0);
	/* A detached port's queue is gone and nothing reaches it. */
	attach(&a, "lan", 1);
	attach(&b, "lan", 2);
	send(&a, 1, bcast, 0, 1);
	vswitch_detach(&b.port);
	CHECK(!vswitch_port_recv(&b.port, &(struct vswitch_frame){ 0 }));
	CHECK_EQ(send(&a, 1, bcast, 0, 2), 0);
	vswitch_detach(&a.port);
}

static void collect(void *ctx, const char *line)
{
	strcat(ctx, line);
	strcat(ctx, "\n");
}

TEST(report)
{
	static struct owner a, b;
	static char text[1024];

	attach(&a, "lan", 1);
	attach(&b, "lan", 2);
	send(&a, 1, bcast, 0, 1);
	text[0] = 0;
	vswitch_report(collect, text);
	CHECK_STR(text, "switch lan: 2 ports, 1 address learned\n"
		  "  vm1 net0 52:54:00:00:00:01  tx 1 frames 60 bytes 0 drops  rx 0 frames 0 bytes 0 drops\n"
		  "  vm2 net0 52:54:00:00:00:02  tx 0 frames 0 bytes 0 drops  rx 1 frames 60 bytes 0 drops\n");
	vswitch_detach(&a.port);
	vswitch_detach(&b.port);
}

int main(void)
{
	check_start("vswitch");
	RUN(flood_then_learn);
	RUN(frame_content);
	RUN(group_addresses_flood);
	RUN(ageing);
	RUN(moved_address);
	RUN(table_full_replaces_oldest);
	RUN(isolation_between_switches);
	RUN(bounded_queues);
	RUN(duplicate_mac_and_limits);
	RUN(report);
	return check_finish();
}
