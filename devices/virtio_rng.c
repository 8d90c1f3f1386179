/*
 * virtio-rng: see virtio_rng.h.
 */
#include "devices/virtio_rng.h"
#include "devices/devsnap.h"
#include "lib/string.h"

/* ---- ChaCha20 (RFC 8439 §2.1-§2.3) ------------------------------------- */

static uint32_t rotl(uint32_t v, unsigned n)
{
	return v << n | v >> (32 - n);
}

#define QR(a, b, c, d) do {                                     \
	a += b; d ^= a; d = rotl(d, 16);                         \
	c += d; b ^= c; b = rotl(b, 12);                         \
	a += b; d ^= a; d = rotl(d, 8);                          \
	c += d; b ^= c; b = rotl(b, 7);                          \
} while (0)

void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
		    uint8_t out[64])
{
	/* §2.3: "expand 32-byte k", the key, the counter, the nonce. */
	uint32_t s[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	uint32_t x[16];

	for (int i = 0; i < 8; i++)
		s[4 + i] = key[i];
	s[12] = counter;
	s[13] = nonce[0];
	s[14] = nonce[1];
	s[15] = nonce[2];
	memcpy(x, s, sizeof(x));
	for (int i = 0; i < 10; i++) {          /* 20 rounds: column, diagonal */
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t v = x[i] + s[i];
		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
}

void chacha20_seed(struct chacha20 *c, const uint8_t key[32])
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 8; i++)
		c->key[i] = (uint32_t)key[4 * i] | (uint32_t)key[4 * i + 1] << 8 |
			    (uint32_t)key[4 * i + 2] << 16 | (uint32_t)key[4 * i + 3] << 24;
	c->used = sizeof(c->block);
}

/* The 64-bit block counter spans the counter word and the nonce's first
 * word, so the stream does not repeat within 2^64 blocks. */
void chacha20_fill(struct chacha20 *c, uint8_t *dst, size_t len)
{
	while (len) {
		if (c->used == sizeof(c->block)) {
			uint32_t nonce[3] = { (uint32_t)(c->counter >> 32), 0, 0 };
			chacha20_block(c->key, (uint32_t)c->counter, nonce, c->block);
			c->counter++;
			c->used = 0;
		}
		size_t n = MIN(len, sizeof(c->block) - c->used);
		memcpy(dst, c->block + c->used, n);
		/* Given bytes are not kept: nothing later can reveal them. */
		memset(c->block + c->used, 0, n);
		c->used += (unsigned)n;
		dst += n;
		len -= n;
	}
}

/* ---- the device ------------------------------------------------------------ */

/* 8 bytes from the hardware, else from the stream. */
static void rng_fill(struct virtio_rng *r, uint8_t *dst, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v;
		size_t n = MIN((size_t)8, len - i);
		if (r->hw && r->hw(&v)) {
			r->hw_bytes += n;
		} else {
			chacha20_fill(&r->prng, (uint8_t *)&v, 8);
		}
		memcpy(dst + i, &v, n);
	}
}

static int64_t rng_serve(void *dev, unsigned q, struct virtq_chain *c)
{
	struct virtio_rng *r = dev;
	uint8_t buf[256];
	uint32_t want = MIN(c->in_len, (uint32_t)VIRTIO_RNG_MAX_REQ), done = 0;

	while (done < want) {
		uint32_t n = MIN(want - done, (uint32_t)sizeof(buf));
		rng_fill(r, buf, n);
		size_t w = virtq_chain_write(r->vp.mem, c, done, buf, n);
		done += (uint32_t)w;
		if (w < n)
			break;
	}
	memset(buf, 0, sizeof(buf));
	r->bytes += done;
	return done;
}

static void rng_notify(void *dev, unsigned q)
{
	struct virtio_rng *r = dev;

	virtio_pci_serve(&r->vp, q, rng_serve);
}

static void rng_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
}

/* Nothing is held between requests. */
static void rng_reset(void *dev)
{
}

static const struct virtio_dev_ops rng_ops = {
	.cfg_read = rng_cfg_read, .notify = rng_notify, .reset = rng_reset,
};

bool virtio_rng_init(struct virtio_rng *r, uint8_t devfn, const struct guest_mem *mem,
		     virtio_rng_hw_fn hw, const uint8_t seed[32], virtio_say_fn say,
		     void *say_ctx)
{
	memset(r, 0, sizeof(*r));
	r->hw = hw;
	chacha20_seed(&r->prng, seed);
	/* PCI class 00 ff 00, as QEMU's virtio-rng-pci; no configuration space. */
	return virtio_pci_init(&r->vp, devfn, VIRTIO_ID_ENTROPY, 0x00ff00, 1, VIRTIO_RNG_QUEUE_SIZE,
			       0, &rng_ops, r, mem, "virtio-rng", say, say_ctx);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t virtio_rng_save(const struct virtio_rng *r, void *buf, size_t len)
{
	struct virtio_rng_rec rec;

	memset(&rec, 0, sizeof(rec));
	virtio_pci_save(&r->vp, &rec.t);
	memcpy(&rec.prng, &r->prng, sizeof(rec.prng));
	rec.bytes = r->bytes;
	rec.hw_bytes = r->hw_bytes;
	size_t n = devsnap_put(buf, len, &rec, sizeof(rec));
	memset(&rec, 0, sizeof(rec));   /* the key stays in the record only */
	return n;
}

bool virtio_rng_rec_matches(const struct virtio_rng *r, const void *buf, size_t len)
{
	struct virtio_rng_rec rec;
	bool ok = devsnap_get(&rec, sizeof(rec), buf, len) && virtio_pci_rec_matches(&r->vp, &rec.t);

	memset(&rec, 0, sizeof(rec));
	return ok;
}

bool virtio_rng_load(struct virtio_rng *r, const void *buf, size_t len)
{
	struct virtio_rng_rec rec;
	bool ok = devsnap_get(&rec, sizeof(rec), buf, len) && virtio_pci_rec_ok(&r->vp, &rec.t) &&
		  rec.prng.used <= sizeof(rec.prng.block);

	if (ok) {
		virtio_pci_load(&r->vp, &rec.t);
		memcpy(&r->prng, &rec.prng, sizeof(r->prng));
		r->bytes = rec.bytes;
		r->hw_bytes = rec.hw_bytes;
	}
	memset(&rec, 0, sizeof(rec));
	return ok;
}
