/*
 * Host tests for virtio-rng's ChaCha20 (RFC 8439 §2.3.2's test vector, and
 * the stream never repeating a block) and for virtio-console's line
 * assembly, both driven through a queue as a guest would.
 */
#include "test/unit/check.h"
#include "devices/virtio_rng.h"
#include "devices/virtio_console.h"

TEST(chacha20_rfc8439_vector)
{
	uint32_t key[8];
	uint8_t kb[32], out[64];
	const uint32_t nonce[3] = { 0x09000000, 0x4a000000, 0 };
	static const uint8_t want[64] = {
		0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
		0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
		0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
		0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
	};

	for (int i = 0; i < 32; i++)
		kb[i] = (uint8_t)i;
	for (int i = 0; i < 8; i++)
		key[i] = (uint32_t)kb[4 * i] | (uint32_t)kb[4 * i + 1] << 8 |
			 (uint32_t)kb[4 * i + 2] << 16 | (uint32_t)kb[4 * i + 3] << 24;
	chacha20_block(key, 1, nonce, out);
	CHECK(memcmp(out, want, 64) == 0);

	/* The generator: blocks 0, 1, 2... of the key, nonce 0. */
	struct chacha20 c;
	uint8_t s[200], b0[64], b1[64];
	const uint32_t zero[3] = { 0, 0, 0 };
	chacha20_seed(&c, kb);
	chacha20_fill(&c, s, 10);
	chacha20_fill(&c, s + 10, 190);
	chacha20_block(key, 0, zero, b0);
	chacha20_block(key, 1, zero, b1);
	CHECK(memcmp(s, b0, 64) == 0);
	CHECK(memcmp(s + 64, b1, 64) == 0);
	CHECK(memcmp(s, s + 64, 64) != 0);
}

/* ---- both devices through a queue ------------------------------------------- */

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (64 * 1024)
#define DESC     RAM_BASE
#define AVAIL    (RAM_BASE + 0x1000)
#define USED     (RAM_BASE + 0x2000)
#define BUF      (RAM_BASE + 0x4000)

static uint8_t *ram;
static struct guest_mem gm;
static struct iobus iob;
static struct iobus_region pio[4], mmio[4];
static struct vpci_bus bus;
static uint16_t avail;
static char lines[8][256];
static unsigned nlines;

static void f_msi(void *ctx, const struct apic_msg *m) {}
static unsigned f_route(void *ctx, unsigned slot, unsigned pin) { return 16; }
static void f_intx(void *ctx, unsigned gsi, bool asserted) {}
static const struct vpci_ops bus_ops = { f_msi, f_route, f_intx, NULL };

static void *hva(uint64_t gpa) { return ram + (gpa - RAM_BASE); }

static void setup(void)
{
	free(ram);
	ram = calloc(1, RAM_SIZE);
	memset(&gm, 0, sizeof(gm));
	gmem_add(&gm, RAM_BASE, RAM_SIZE, ram);
	iobus_init(&iob, pio, 4, mmio, 4);
	vpci_init(&bus, &iob, &bus_ops, NULL);
	avail = 0;
	nlines = 0;
}

static void go_live(struct virtio_pci *vp, unsigned q)
{
	CHECK(vpci_add(&bus, &vp->fn));
	vp->features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	vp->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		     VIRTIO_STATUS_DRIVER_OK;
	CHECK_EQ(virtq_init(&vp->q[q].vq, &gm, 8, DESC, AVAIL, USED), 0);
	vp->q[q].size = 8;
	vp->q[q].enabled = true;
}

/* One buffer at BUF of len bytes, made available and kicked on queue q. */
static uint32_t kick(struct virtio_pci *vp, unsigned q, uint32_t len, bool writable)
{
	struct virtq_desc d = { BUF, len, writable ? VIRTQ_DESC_F_WRITE : 0, 0 };
	uint16_t head = 0;
	memcpy(hva(DESC), &d, 16);
	memcpy(hva(AVAIL + 4 + 2 * (avail & 7)), &head, 2);
	avail++;
	memcpy(hva(AVAIL + 2), &avail, 2);
	struct io_req r = { .off = VIRTIO_PCI_NOTIFY_OFF + 4 * q, .size = 2, .write = true };
	virtio_pci_bar_access(vp, &r);
	uint32_t used;
	memcpy(&used, hva(USED + 4 + 8 * ((avail - 1) & 7) + 4), 4);
	return used;
}

static bool hw_none(uint64_t *v) { return false; }
static unsigned hw_calls;
static bool hw_fixed(uint64_t *v) { hw_calls++; *v = 0x0123456789abcdefULL; return true; }

TEST(rng_fills_buffers)
{
	static struct virtio_rng r;
	uint8_t seed[32] = { 1, 2, 3 };

	setup();
	CHECK(virtio_rng_init(&r, 0x28, &gm, hw_none, seed, NULL, NULL));
	CHECK_EQ(r.vp.fn.cfg[PCI_DEVICE_ID], 0x44);
	go_live(&r.vp, 0);
	CHECK_EQ(kick(&r.vp, 0, 100, true), 100);
	uint8_t want[100];
	struct chacha20 c;
	chacha20_seed(&c, seed);
	chacha20_fill(&c, want, 100);
	CHECK(memcmp(hva(BUF), want, 96) == 0);
	/* A huge buffer gets VIRTIO_RNG_MAX_REQ bytes; a read-only one none. */
	CHECK_EQ(kick(&r.vp, 0, 0x8000, true), VIRTIO_RNG_MAX_REQ);
	CHECK_EQ(kick(&r.vp, 0, 64, false), 0);

	/* With a hardware source, its bytes. */
	setup();
	CHECK(virtio_rng_init(&r, 0x28, &gm, hw_fixed, seed, NULL, NULL));
	go_live(&r.vp, 0);
	CHECK_EQ(kick(&r.vp, 0, 16, true), 16);
	CHECK_EQ(hw_calls, 2);
	uint64_t v;
	memcpy(&v, hva(BUF + 8), 8);
	CHECK_EQ(v, 0x0123456789abcdefULL);
}

static void line(void *ctx, const char *l, size_t len)
{
	if (nlines < 8)
		snprintf(lines[nlines], sizeof(lines[0]), "%.*s", (int)len, l);
	nlines++;
}

TEST(console_lines)
{
	static struct virtio_console vc;

	setup();
	CHECK(virtio_console_init(&vc, 0x30, &gm, line, NULL, NULL, NULL));
	go_live(&vc.vp, VIRTIO_CONSOLE_TX);
	memcpy(hva(BUF), "hello from hvc0\r\nsecond", 23);
	CHECK_EQ(kick(&vc.vp, VIRTIO_CONSOLE_TX, 23, false), 0);
	CHECK_EQ(nlines, 1);
	CHECK_STR(lines[0], "hello from hvc0");
	memcpy(hva(BUF), " half\n", 6);
	kick(&vc.vp, VIRTIO_CONSOLE_TX, 6, false);
	CHECK_EQ(nlines, 2);
	CHECK_STR(lines[1], "second half");
	/* A reset gives out the half line. */
	memcpy(hva(BUF), "tail", 4);
	kick(&vc.vp, VIRTIO_CONSOLE_TX, 4, false);
	struct io_req r = { .off = VIRTIO_PCI_COMMON_STATUS, .size = 1, .write = true, .val = 0 };
	virtio_pci_bar_access(&vc.vp, &r);
	CHECK_EQ(nlines, 3);
	CHECK_STR(lines[2], "tail");
}

int main(void)
{
	check_prog = "virtio_rng";
	RUN(chacha20_rfc8439_vector);
	RUN(rng_fills_buffers);
	RUN(console_lines);
	return check_finish();
}
