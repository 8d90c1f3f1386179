/* Inter-VM learning switches; see vswitch.h. */
#include "devices/vswitch.h"
#include "lib/string.h"
#include "lib/printf.h"

/* One entry of the filtering database (802.1D §7.9). */
struct fdb_entry {
	uint8_t mac[ETH_ALEN];
	bool used;
	struct vswitch_port *port;
	uint64_t seen_ns;               /* last frame from mac */
};

struct vswitch {
	bool used;
	char name[VSWITCH_NAME_MAX];
	spinlock_t lock;
	unsigned nr_ports;
	struct vswitch_port *port[VSWITCH_MAX_PORTS];
	struct fdb_entry fdb[VSWITCH_TABLE_SIZE];
};

static spinlock_t registry_lock = SPINLOCK_INIT;
static struct vswitch switches[VSWITCH_MAX];

void vswitch_format_mac(char *buf, const uint8_t m[ETH_ALEN])
{
	ksnprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Registry lock held. */
static struct vswitch *find_switch(const char *name)
{
	for (unsigned i = 0; i < VSWITCH_MAX; i++)
		if (switches[i].used && strcmp(switches[i].name, name) == 0)
			return &switches[i];
	return NULL;
}

int vswitch_attach(struct vswitch_port *p, const char *name, const uint8_t mac[ETH_ALEN],
		   const char *owner, const struct vswitch_port_ops *ops, void *ctx,
		   char *err, size_t errlen)
{
	struct vswitch *sw;
	size_t n = strnlen(name, VSWITCH_NAME_MAX);

	memset(p, 0, sizeof(*p));
	if (n == 0 || n >= VSWITCH_NAME_MAX) {
		ksnprintf(err, errlen, "bad switch name (1 to %d characters)", VSWITCH_NAME_MAX - 1);
		return -1;
	}
	spin_lock(&registry_lock);
	sw = find_switch(name);
	if (!sw) {
		for (unsigned i = 0; i < VSWITCH_MAX && !sw; i++)
			if (!switches[i].used)
				sw = &switches[i];
		if (!sw) {
			spin_unlock(&registry_lock);
			ksnprintf(err, errlen, "too many switches (at most %d)", VSWITCH_MAX);
			return -1;
		}
		memset(sw, 0, sizeof(*sw));
		memcpy(sw->name, name, n + 1);
		sw->used = true;
	}
	spin_lock(&sw->lock);
	int r = -1;
	char m[18];
	if (sw->nr_ports >= VSWITCH_MAX_PORTS) {
		ksnprintf(err, errlen, "switch '%s' has %d ports already", name, VSWITCH_MAX_PORTS);
		goto out;
	}
	for (unsigned i = 0; i < sw->nr_ports; i++) {
		if (memcmp(sw->port[i]->mac, mac, ETH_ALEN) == 0) {
			vswitch_format_mac(m, mac);
			ksnprintf(err, errlen, "MAC %s is already on switch '%s' (%s)", m, name,
				  sw->port[i]->owner);
			goto out;
		}
	}
	p->sw = sw;
	p->ops = ops;
	p->ctx = ctx;
	memcpy(p->mac, mac, ETH_ALEN);
	ksnprintf(p->owner, sizeof(p->owner), "%s", owner);
	sw->port[sw->nr_ports++] = p;
	r = 0;
out:
	if (sw->nr_ports == 0)
		sw->used = false;
	spin_unlock(&sw->lock);
	spin_unlock(&registry_lock);
	return r;
}

void vswitch_detach(struct vswitch_port *p)
{
	struct vswitch *sw = p->sw;

	if (!sw)
		return;
	spin_lock(&registry_lock);
	spin_lock(&sw->lock);
	for (unsigned i = 0; i < sw->nr_ports; i++) {
		if (sw->port[i] == p) {
			sw->port[i] = sw->port[--sw->nr_ports];
			break;
		}
	}
	for (unsigned i = 0; i < VSWITCH_TABLE_SIZE; i++)
		if (sw->fdb[i].used && sw->fdb[i].port == p)
			sw->fdb[i].used = false;
	p->q_count = 0;
	p->sw = NULL;
	if (sw->nr_ports == 0)
		sw->used = false;
	spin_unlock(&sw->lock);
	spin_unlock(&registry_lock);
}

static bool is_group(const uint8_t *mac)
{
	return mac[0] & 1;      /* I/G bit: broadcast and multicast (802-2014 §8.2) */
}

static bool fresh(const struct fdb_entry *e, uint64_t now_ns)
{
	return e->used && now_ns - e->seen_ns < VSWITCH_AGE_NS;
}

/* The entry for mac, or NULL; switch lock held. */
static struct fdb_entry *fdb_find(struct vswitch *sw, const uint8_t *mac)
{
	for (unsigned i = 0; i < VSWITCH_TABLE_SIZE; i++)
		if (sw->fdb[i].used && memcmp(sw->fdb[i].mac, mac, ETH_ALEN) == 0)
			return &sw->fdb[i];
	return NULL;
}

/* Learn that src is behind p (802.1D §7.8): its own entry, else a free or
 * aged one, else the one heard from longest ago.  Switch lock held. */
static void fdb_learn(struct vswitch *sw, const uint8_t *src, struct vswitch_port *p,
		      uint64_t now_ns)
{
	struct fdb_entry *e = fdb_find(sw, src), *oldest = &sw->fdb[0];

	for (unsigned i = 0; !e && i < VSWITCH_TABLE_SIZE; i++) {
		if (!fresh(&sw->fdb[i], now_ns))
			e = &sw->fdb[i];
		else if (sw->fdb[i].seen_ns < oldest->seen_ns)
			oldest = &sw->fdb[i];
	}
	if (!e)
		e = oldest;
	memcpy(e->mac, src, ETH_ALEN);
	e->used = true;
	e->port = p;
	e->seen_ns = now_ns;
}

/* Queue a copy for port to; false if its queue is full.  Switch lock held. */
static bool enqueue(struct vswitch_port *to, const uint8_t *frame, size_t len,
		    const struct vswitch_meta *meta)
{
	if (to->q_count >= VSWITCH_QUEUE_LEN) {
		to->st.rx_drops++;
		return false;
	}
	struct vswitch_frame *f = &to->q[(to->q_head + to->q_count) % VSWITCH_QUEUE_LEN];
	f->len = (uint16_t)len;
	f->meta = meta ? *meta : (struct vswitch_meta){ 0 };
	memcpy(f->data, frame, len);
	to->q_count++;
	to->st.rx_frames++;
	to->st.rx_bytes += len;
	to->ops->notify(to->ctx);
	return true;
}

unsigned vswitch_send(struct vswitch_port *p, const uint8_t *frame, size_t len,
		      const struct vswitch_meta *meta, uint64_t now_ns)
{
	struct vswitch *sw = p->sw;
	const uint8_t *dst = frame, *src = frame + ETH_ALEN;
	unsigned sent = 0;

	if (!sw || len < ETH_HLEN || len > VSWITCH_FRAME_MAX)
		return 0;
	spin_lock(&sw->lock);
	p->st.tx_frames++;
	p->st.tx_bytes += len;
	if (!is_group(src))
		fdb_learn(sw, src, p, now_ns);
	struct fdb_entry *e = is_group(dst) ? NULL : fdb_find(sw, dst);
	if (e && fresh(e, now_ns)) {
		/* Known: to its port only; one heard on the sender's own port is
		 * filtered (802.1D §7.7.1). */
		if (e->port != p)
			sent += enqueue(e->port, frame, len, meta);
	} else {
		for (unsigned i = 0; i < sw->nr_ports; i++)
			if (sw->port[i] != p)
				sent += enqueue(sw->port[i], frame, len, meta);
	}
	spin_unlock(&sw->lock);
	return sent;
}

void vswitch_count_tx_drop(struct vswitch_port *p)
{
	struct vswitch *sw = p->sw;

	if (!sw)
		return;
	spin_lock(&sw->lock);
	p->st.tx_drops++;
	spin_unlock(&sw->lock);
}

bool vswitch_port_recv(struct vswitch_port *p, struct vswitch_frame *out)
{
	struct vswitch *sw = p->sw;
	bool got = false;

	if (!sw)
		return false;
	spin_lock(&sw->lock);
	if (p->q_count) {
		const struct vswitch_frame *f = &p->q[p->q_head];
		out->len = f->len;
		out->meta = f->meta;
		memcpy(out->data, f->data, f->len);
		p->q_head = (p->q_head + 1) % VSWITCH_QUEUE_LEN;
		p->q_count--;
		got = true;
	}
	spin_unlock(&sw->lock);
	return got;
}

struct vswitch_stats vswitch_port_stats(struct vswitch_port *p)
{
	struct vswitch *sw = p->sw;
	struct vswitch_stats st;

	if (!sw)
		return p->st;
	spin_lock(&sw->lock);
	st = p->st;
	spin_unlock(&sw->lock);
	return st;
}

unsigned vswitch_count(void)
{
	unsigned n = 0;

	spin_lock(&registry_lock);
	for (unsigned i = 0; i < VSWITCH_MAX; i++)
		n += switches[i].used;
	spin_unlock(&registry_lock);
	return n;
}

void vswitch_report(void (*out)(void *ctx, const char *line), void *ctx)
{
	char line[200], m[18];

	spin_lock(&registry_lock);
	for (unsigned i = 0; i < VSWITCH_MAX; i++) {
		struct vswitch *sw = &switches[i];
		unsigned learned = 0;

		if (!sw->used)
			continue;
		spin_lock(&sw->lock);
		for (unsigned j = 0; j < VSWITCH_TABLE_SIZE; j++)
			learned += sw->fdb[j].used;
		ksnprintf(line, sizeof(line), "switch %s: %u port%s, %u address%s learned", sw->name,
			  sw->nr_ports, sw->nr_ports == 1 ? "" : "s", learned, learned == 1 ? "" : "es");
		out(ctx, line);
		for (unsigned j = 0; j < sw->nr_ports; j++) {
			const struct vswitch_port *p = sw->port[j];
			const struct vswitch_stats *s = &p->st;
			vswitch_format_mac(m, p->mac);
			ksnprintf(line, sizeof(line),
				  "  %s %s  tx %llu frames %llu bytes %llu drops  rx %llu frames %llu bytes %llu drops",
				  p->owner, m, (unsigned long long)s->tx_frames,
				  (unsigned long long)s->tx_bytes, (unsigned long long)s->tx_drops,
				  (unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
				  (unsigned long long)s->rx_drops);
			out(ctx, line);
		}
		spin_unlock(&sw->lock);
	}
	spin_unlock(&registry_lock);
}
