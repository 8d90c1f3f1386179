/*
 * virtio-rng, the entropy device (virtio 1.2 §5.4), over the virtio-pci
 * transport: one request queue whose device-writable buffers are filled
 * with random bytes.  The bytes come from the board's hardware source
 * (RDSEED, else RDRAND) when it gives them, else from a ChaCha20 stream
 * (RFC 8439 §2.3) keyed by the seed given at init.
 */
#ifndef KASANE_DEVICES_VIRTIO_RNG_H
#define KASANE_DEVICES_VIRTIO_RNG_H

#include "devices/virtio_pci.h"

#define VIRTIO_RNG_QUEUE_SIZE   64
#define VIRTIO_RNG_MAX_REQ      4096    /* bytes given per request at most */

/* The hardware source: true with 8 fresh random bytes in *v. */
typedef bool (*virtio_rng_hw_fn)(uint64_t *v);

/* ChaCha20 as a stream generator: key, nonce 0, a 64-bit block counter. */
struct chacha20 {
	uint32_t key[8];
	uint64_t counter;
	uint8_t block[64];
	unsigned used;                  /* bytes of block already given */
};

void chacha20_seed(struct chacha20 *c, const uint8_t key[32]);
/* The RFC 8439 block function: state from key, counter and nonce. */
void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
		    uint8_t out[64]);
void chacha20_fill(struct chacha20 *c, uint8_t *dst, size_t len);

struct virtio_rng {
	struct virtio_pci vp;
	virtio_rng_hw_fn hw;            /* NULL: ChaCha20 only */
	struct chacha20 prng;
	uint64_t bytes, hw_bytes;
};

bool virtio_rng_init(struct virtio_rng *r, uint8_t devfn, const struct guest_mem *mem,
		     virtio_rng_hw_fn hw, const uint8_t seed[32], virtio_say_fn say,
		     void *say_ctx);

/*
 * Snapshot records (devices/devsnap.h): the transport's and the ChaCha20
 * generator's state (key, block counter, the block being given out).
 * Nothing is held between requests.  A restore goes back to the
 * generator's state at the snapshot: where the host has RDSEED or RDRAND
 * the bytes come from the hardware and nothing repeats; without them the
 * stream after a restore repeats the one after the snapshot (this
 * fallback is no source of real entropy, as the README says).
 */
#define VIRTIO_RNG_SNAP_VERSION 1

struct virtio_rng_rec {
	struct virtio_pci_rec t;
	struct chacha20 prng;
	uint64_t bytes, hw_bytes;
};
#define VIRTIO_RNG_SNAP_SIZE sizeof(struct virtio_rng_rec)

size_t virtio_rng_save(const struct virtio_rng *r, void *buf, size_t len);
bool virtio_rng_load(struct virtio_rng *r, const void *buf, size_t len);
bool virtio_rng_rec_matches(const struct virtio_rng *r, const void *buf, size_t len);

#endif
