/*
 * Host tests for the virtio-pci transport (devices/virtio_pci.c): the test
 * plays the guest driver on a real PCI bus and I/O bus: it finds the
 * vendor capabilities in configuration space, places BAR0, and drives the
 * common configuration (feature negotiation, the status state machine,
 * queue set-up, reset), notifications and interrupts.  A fake device
 * records what the transport asks of it.
 */
#include "test/unit/check.h"
#include "devices/virtio_pci.h"

#define ECAM_BASE 0xe0000000ULL
#define ECAM(dev, fn, reg) ((uint32_t)(((dev) << 15) | ((fn) << 12) | (reg)))
#define SLOT      4
#define BAR_BASE  0xc0000000ULL
#define MSIX_BASE 0xc0010000ULL
#define RAM_BASE  0x100000ULL
#define RAM_SIZE  (64 * 1024)

struct fake_dev {
	unsigned notifies[4];
	unsigned resets;
	unsigned driver_oks;
	uint8_t cfg[8];
};

struct rig {
	struct iobus iob;
	struct iobus_region pio[8], mmio[8];
	struct vpci_bus bus;
	struct virtio_pci vp;
	struct fake_dev d;
	unsigned msgs;
	uint8_t last_vector;
	bool gsi_low[VPCI_MAX_GSI];
	unsigned says;
	char said[256];
	uint8_t *ram;
	struct guest_mem gm;
};

static void f_msi(void *ctx, const struct apic_msg *m)
{
	struct rig *r = ctx;
	r->msgs++;
	r->last_vector = m->vector;
}
static unsigned f_route(void *ctx, unsigned slot, unsigned pin) { return 16 + (slot + pin - 1) % 4; }
static void f_intx(void *ctx, unsigned gsi, bool asserted) { ((struct rig *)ctx)->gsi_low[gsi] = asserted; }
static const struct vpci_ops bus_ops = { f_msi, f_route, f_intx, NULL };

static uint64_t d_features(void *dev) { return 1ULL << 5; }
static void d_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
	memcpy(val, ((struct fake_dev *)dev)->cfg + off, size);
}
static void d_notify(void *dev, unsigned q) { ((struct fake_dev *)dev)->notifies[q]++; }
static void d_reset(void *dev) { ((struct fake_dev *)dev)->resets++; }
static void d_driver_ok(void *dev) { ((struct fake_dev *)dev)->driver_oks++; }
static const struct virtio_dev_ops dev_ops = {
	d_features, d_cfg_read, NULL, d_notify, d_reset, d_driver_ok,
};

static void say(void *ctx, const char *line)
{
	struct rig *r = ctx;
	r->says++;
	snprintf(r->said, sizeof(r->said), "%s", line);
}

static uint64_t mmio(struct rig *r, bool write, uint64_t gpa, unsigned size, uint64_t val)
{
	struct io_req q = { .addr = gpa, .size = (uint8_t)size, .write = write, .val = val };
	CHECK_EQ(iobus_mmio(&r->iob, &q), 0);
	return q.val;
}
static uint64_t cfg_rd(struct rig *r, unsigned reg, unsigned size)
{
	return mmio(r, false, ECAM_BASE + ECAM(SLOT, 0, reg), size, 0);
}
static void cfg_wr(struct rig *r, unsigned reg, unsigned size, uint64_t v)
{
	mmio(r, true, ECAM_BASE + ECAM(SLOT, 0, reg), size, v);
}
static uint64_t com_rd(struct rig *r, unsigned off, unsigned size)
{
	return mmio(r, false, BAR_BASE + VIRTIO_PCI_COMMON_OFF + off, size, 0);
}
static void com_wr(struct rig *r, unsigned off, unsigned size, uint64_t v)
{
	mmio(r, true, BAR_BASE + VIRTIO_PCI_COMMON_OFF + off, size, v);
}

/* A bus with the device at 00:04.0, BAR0 and the MSI-X BAR placed, memory on. */
static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));

	r->ram = aligned_alloc(4096, RAM_SIZE);
	memset(r->ram, 0, RAM_SIZE);
	gmem_add(&r->gm, RAM_BASE, RAM_SIZE, r->ram);
	iobus_init(&r->iob, r->pio, 8, r->mmio, 8);
	vpci_init(&r->bus, &r->iob, &bus_ops, r);
	iobus_add(&r->iob.mmio, ECAM_BASE, VPCI_ECAM_BUS_SIZE, vpci_ecam_mmio, &r->bus, NULL);
	memcpy(r->d.cfg, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	CHECK(virtio_pci_init(&r->vp, VPCI_DEVFN(SLOT, 0), VIRTIO_ID_BLOCK, 0x018000, 2, 8, 8,
			      &dev_ops, &r->d, &r->gm, "virtio-test", say, r));
	CHECK(vpci_add(&r->bus, &r->vp.fn));
	cfg_wr(r, PCI_BAR0, 4, BAR_BASE);
	cfg_wr(r, PCI_BAR0 + 4, 4, MSIX_BASE);
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return r;
}

static void rig_free(struct rig *r)
{
	free(r->ram);
	free(r);
}

/* The driver's start (§3.1.1) up to FEATURES_OK with the given features. */
static uint8_t negotiate(struct rig *r, uint64_t feat)
{
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	com_wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	com_wr(r, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)feat);
	com_wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	com_wr(r, VIRTIO_PCI_COMMON_GF, 4, feat >> 32);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK);
	return (uint8_t)com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1);
}

/* Queue q with rings at desc/avail/used, size n, then queue_enable. */
static void queue_setup(struct rig *r, unsigned q, unsigned n, uint64_t desc, uint64_t avail,
			uint64_t used)
{
	com_wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	com_wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, n);
	com_wr(r, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)desc);
	com_wr(r, VIRTIO_PCI_COMMON_Q_DESCHI, 4, desc >> 32);
	com_wr(r, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)avail);
	com_wr(r, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, avail >> 32);
	com_wr(r, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)used);
	com_wr(r, VIRTIO_PCI_COMMON_Q_USEDHI, 4, used >> 32);
	com_wr(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

#define V1 (1ULL << VIRTIO_F_VERSION_1)
#define STATUS_UP (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

TEST(ids_and_capabilities)
{
	struct rig *r = rig_new();
	unsigned seen = 0;

	CHECK_EQ(cfg_rd(r, PCI_VENDOR_ID, 2), 0x1af4);
	CHECK_EQ(cfg_rd(r, PCI_DEVICE_ID, 2), 0x1042);
	CHECK(cfg_rd(r, PCI_REVISION_ID, 1) >= 1);
	CHECK_EQ(cfg_rd(r, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	CHECK(cfg_rd(r, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	CHECK_EQ(cfg_rd(r, PCI_INTERRUPT_PIN, 1), 1);
	unsigned c = (unsigned)cfg_rd(r, PCI_CAPABILITY_LIST, 1);
	for (int n = 0; c && n < 16; n++, c = (unsigned)cfg_rd(r, c + 1, 1)) {
		if (cfg_rd(r, c, 1) != PCI_CAP_ID_VNDR)
			continue;
		unsigned type = (unsigned)cfg_rd(r, c + 3, 1);
		CHECK_EQ(cfg_rd(r, c + 4, 1), VIRTIO_PCI_BAR);
		uint32_t off = (uint32_t)cfg_rd(r, c + 8, 4), len = (uint32_t)cfg_rd(r, c + 12, 4);
		seen |= 1u << type;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			CHECK_EQ(off, VIRTIO_PCI_COMMON_OFF);
			CHECK(len >= VIRTIO_PCI_COMMON_SIZE);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			CHECK_EQ(cfg_rd(r, c + 2, 1), 20);
			CHECK_EQ(off, VIRTIO_PCI_NOTIFY_OFF);
			CHECK_EQ(cfg_rd(r, c + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			CHECK_EQ(off, VIRTIO_PCI_ISR_OFF);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			CHECK_EQ(off, VIRTIO_PCI_DEVICE_OFF);
			CHECK_EQ(len, 8);
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:
			CHECK_EQ(cfg_rd(r, c + 2, 1), 20);
			CHECK_EQ(c, r->vp.cfg_cap);
			break;
		}
	}
	CHECK_EQ(seen, 0x3e);
	/* The device configuration, through the BAR. */
	CHECK_EQ(mmio(r, false, BAR_BASE + VIRTIO_PCI_DEVICE_OFF + 4, 4, 0), 0x88776655);
	CHECK_EQ(mmio(r, false, BAR_BASE + VIRTIO_PCI_DEVICE_OFF + 8, 4, 0), 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	rig_free(r);
}

/* Point the PCI_CFG window (§4.1.4.9) at bar/off/len. */
static void window(struct rig *r, uint8_t bar, uint32_t off, uint32_t len)
{
	unsigned c = r->vp.cfg_cap;
	cfg_wr(r, c + VIRTIO_PCI_CAP_BAR, 1, bar);
	cfg_wr(r, c + VIRTIO_PCI_CAP_OFFSET, 4, off);
	cfg_wr(r, c + VIRTIO_PCI_CAP_LENGTH, 4, len);
}

TEST(pci_cfg_window)
{
	struct rig *r = rig_new();
	unsigned data = r->vp.cfg_cap + VIRTIO_PCI_CFG_DATA;

	/* Reads of the common configuration match the BAR's. */
	window(r, 0, VIRTIO_PCI_COMMON_NUMQ, 2);
	CHECK_EQ(cfg_rd(r, data, 2), 2);
	window(r, 0, VIRTIO_PCI_COMMON_DF, 4);
	CHECK_EQ(cfg_rd(r, data, 4), com_rd(r, VIRTIO_PCI_COMMON_DF, 4));
	window(r, 0, VIRTIO_PCI_DEVICE_OFF + 4, 4);
	CHECK_EQ(cfg_rd(r, data, 4), 0x88776655);
	window(r, 0, VIRTIO_PCI_DEVICE_OFF + 5, 1);
	CHECK_EQ(cfg_rd(r, data, 1), 0x66);
	/* A write through it: queue_select. */
	window(r, 0, VIRTIO_PCI_COMMON_Q_SELECT, 2);
	cfg_wr(r, data, 2, 1);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	cfg_wr(r, data, 2, 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	/* Windows §4.1.4.9.2 forbids: no access, data reads 0. */
	static const struct { uint8_t bar; uint32_t off, len; } bad[] = {
		{ 1, 0, 4 },                            /* the MSI-X BAR */
		{ 0, VIRTIO_PCI_COMMON_NUMQ, 3 },       /* length 3 */
		{ 0, VIRTIO_PCI_COMMON_NUMQ, 8 },       /* length 8 */
		{ 0, VIRTIO_PCI_COMMON_NUMQ, 0 },       /* length 0 */
		{ 0, VIRTIO_PCI_COMMON_NUMQ + 1, 2 },   /* unaligned */
		{ 0, VIRTIO_PCI_DEVICE_OFF + 8, 4 },    /* past the device config */
		{ 0, VIRTIO_PCI_BAR_SIZE, 4 },          /* past the BAR */
		{ 0, 0xfffffffc, 4 },                   /* wraps */
		{ 0, 0xffffffff, 0xffffffff },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		window(r, bad[i].bar, bad[i].off, bad[i].len);
		cfg_wr(r, data, 4, 0x12345678);
		CHECK_EQ(cfg_rd(r, data, 4), 0);
	}
	/* A forbidden write changed nothing: queue_select is still 0. */
	window(r, 0, VIRTIO_PCI_COMMON_Q_SELECT + 1, 2);
	cfg_wr(r, data, 2, 1);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	rig_free(r);
}

TEST(feature_negotiation)
{
	struct rig *r = rig_new();

	com_wr(r, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	uint64_t lo = com_rd(r, VIRTIO_PCI_COMMON_DF, 4);
	com_wr(r, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	uint64_t hi = com_rd(r, VIRTIO_PCI_COMMON_DF, 4);
	com_wr(r, VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_DF, 4), 0);
	uint64_t offered = lo | hi << 32;
	CHECK_EQ(offered, V1 | (1ULL << 5) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		 (1ULL << VIRTIO_RING_F_EVENT_IDX));

	/* Without VERSION_1: FEATURES_OK does not stick (§3.1.1 step 6). */
	CHECK(!(negotiate(r, 1ULL << 5) & VIRTIO_STATUS_FEATURES_OK));
	/* A bit not offered: refused too. */
	CHECK(!(negotiate(r, V1 | (1ULL << 6)) & VIRTIO_STATUS_FEATURES_OK));
	/* A subset with VERSION_1: accepted, and fixed from then on. */
	CHECK_EQ(negotiate(r, V1 | (1ULL << 5)), STATUS_UP);
	com_wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	com_wr(r, VIRTIO_PCI_COMMON_GF, 4, 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_GF, 4), 1u << 5);
	CHECK(virtio_pci_has(&r->vp, 5));
	CHECK(!virtio_pci_has(&r->vp, VIRTIO_RING_F_EVENT_IDX));
	CHECK_EQ(r->says, 0);
	rig_free(r);
}

TEST(status_state_machine)
{
	struct rig *r = rig_new();

	/* DRIVER_OK before FEATURES_OK: NEEDS_RESET, said once. */
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_DRIVER_OK);
	uint8_t st = (uint8_t)com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1);
	CHECK(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(!(st & VIRTIO_STATUS_DRIVER_OK));
	CHECK_EQ(r->says, 1);
	CHECK(strstr(r->said, "virtio-test 00:04.0: DRIVER_OK without FEATURES_OK; device needs reset"));
	CHECK_EQ(r->d.driver_oks, 0);
	/* INTx (no MSI-X yet): the configuration interrupt, ISR bit 1, cleared by reading. */
	CHECK(r->gsi_low[16 + SLOT % 4]);
	CHECK_EQ(mmio(r, false, BAR_BASE + VIRTIO_PCI_ISR_OFF, 1, 0), VIRTIO_PCI_ISR_CONFIG);
	CHECK(!r->gsi_low[16 + SLOT % 4]);
	CHECK_EQ(mmio(r, false, BAR_BASE + VIRTIO_PCI_ISR_OFF, 1, 0), 0);

	/* Reset clears everything and tells the device. */
	com_wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 1);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(r->d.resets, 1);

	/* The proper order: DRIVER_OK is taken and the device told. */
	CHECK_EQ(negotiate(r, V1), STATUS_UP);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, STATUS_UP | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1), STATUS_UP | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(r->d.driver_oks, 1);

	/* Clearing a bit (not a reset): NEEDS_RESET, bits kept. */
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	st = (uint8_t)com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1);
	CHECK_EQ(st, STATUS_UP | VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(r->says, 2);
	CHECK(strstr(r->said, "cleared status bits"));
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	CHECK_EQ(r->d.resets, 3);   /* negotiate() reset once more */
	rig_free(r);
}

TEST(queue_setup_and_notify)
{
	struct rig *r = rig_new();

	/* A queue that does not exist reads size 0. */
	com_wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	com_wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	com_wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);

	/* Enabling before FEATURES_OK is a protocol error. */
	queue_setup(r, 0, 8, RAM_BASE, RAM_BASE + 0x1000, RAM_BASE + 0x2000);
	CHECK(com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(strstr(r->said, "queue 0 enabled before FEATURES_OK"));

	/* A size that is no power of two; rings outside RAM. */
	negotiate(r, V1);
	queue_setup(r, 0, 6, RAM_BASE, RAM_BASE + 0x1000, RAM_BASE + 0x2000);
	CHECK(strstr(r->said, "queue 0 size 6"));
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	negotiate(r, V1);
	queue_setup(r, 0, 8, RAM_BASE + RAM_SIZE - 64, RAM_BASE + 0x1000, RAM_BASE + 0x2000);
	CHECK(strstr(r->said, "outside guest RAM"));
	negotiate(r, V1);
	queue_setup(r, 0, 8, 0xffffffffffff0000ULL, RAM_BASE + 0x1000, RAM_BASE + 0x2000);
	CHECK(strstr(r->said, "outside guest RAM"));

	/* A good queue: fields read back, then are frozen while enabled. */
	unsigned says = r->says;
	negotiate(r, V1 | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	queue_setup(r, 0, 4, RAM_BASE, RAM_BASE + 0x1000, RAM_BASE + 0x2000);
	CHECK_EQ(r->says, says);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 4);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_AVAILLO, 4), RAM_BASE + 0x1000);
	com_wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, 2);
	com_wr(r, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 4);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_DESCLO, 4), RAM_BASE);
	CHECK(r->vp.q[0].vq.event_idx);
	CHECK(!r->vp.q[0].vq.indirect);

	/* Notify before DRIVER_OK: not passed on; after: by address. */
	mmio(r, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(r->d.notifies[0], 0);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, STATUS_UP | VIRTIO_STATUS_DRIVER_OK);
	mmio(r, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(r->d.notifies[0], 1);
	/* Queue 1 is not enabled; odd offsets and bytes are not notifies. */
	mmio(r, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF + 4, 2, 1);
	mmio(r, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF + 2, 2, 0);
	mmio(r, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF, 1, 0);
	CHECK_EQ(r->d.notifies[0], 1);
	CHECK_EQ(r->d.notifies[1], 0);
	/* Bus mastering off: the device reads no ring, so serves nothing. */
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK(!virtio_pci_queue_live(&r->vp, 0));
	mmio(r, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(r->d.notifies[0], 1);
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK(virtio_pci_queue_live(&r->vp, 0));
	rig_free(r);
}

TEST(msix_vectors_and_bad_ring)
{
	struct rig *r = rig_new();

	/* Vectors: 0-2 exist (two queues + config); others read NO_VECTOR. */
	com_wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 2);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_MSIX, 2), 2);
	com_wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 3);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);

	negotiate(r, V1);
	com_wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 2);
	com_wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	com_wr(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, 0);
	queue_setup(r, 0, 4, RAM_BASE, RAM_BASE + 0x1000, RAM_BASE + 0x2000);
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, STATUS_UP | VIRTIO_STATUS_DRIVER_OK);
	/* MSI-X on: entry 2 -> vector 0x42, entry 0 -> 0x40. */
	for (unsigned e = 0; e < 3; e++) {
		mmio(r, true, MSIX_BASE + 16 * e, 4, 0xfee00000);
		mmio(r, true, MSIX_BASE + 16 * e + 8, 4, 0x40 + e);
		mmio(r, true, MSIX_BASE + 16 * e + 12, 4, 0);
	}
	unsigned c = (unsigned)cfg_rd(r, PCI_CAPABILITY_LIST, 1);
	while (c && cfg_rd(r, c, 1) != PCI_CAP_ID_MSIX)
		c = (unsigned)cfg_rd(r, c + 1, 1);
	CHECK(c);
	CHECK_EQ((cfg_rd(r, c + 2, 2) & PCI_MSIX_FLAGS_QSIZE) + 1, 3);
	cfg_wr(r, c + 2, 2, PCI_MSIX_FLAGS_ENABLE);

	/* A descriptor loop: popping it puts the device in NEEDS_RESET and
	 * sends the configuration vector. */
	struct virtq_desc d0 = { RAM_BASE + 0x3000, 16, VIRTQ_DESC_F_NEXT, 1 };
	struct virtq_desc d1 = { RAM_BASE + 0x3000, 16, VIRTQ_DESC_F_NEXT, 0 };
	memcpy(r->ram, &d0, 16);
	memcpy(r->ram + 16, &d1, 16);
	uint16_t one = 1;
	memcpy(r->ram + 0x1000 + 2, &one, 2);
	struct virtq_chain ch;
	virtio_pci_lock(&r->vp);
	CHECK_EQ(virtio_pci_pop(&r->vp, 0, &ch), -1);
	virtio_pci_unlock(&r->vp);
	CHECK(com_rd(r, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(strstr(r->said, "queue 0: descriptor loop"));
	CHECK_EQ(r->msgs, 1);
	CHECK_EQ(r->last_vector, 0x42);
	/* Nothing is served until reset. */
	virtio_pci_lock(&r->vp);
	CHECK_EQ(virtio_pci_pop(&r->vp, 0, &ch), 0);
	virtio_pci_unlock(&r->vp);
	mmio(r, true, BAR_BASE + VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(r->d.notifies[0], 0);
	/* Reset: queues disabled, back to their maximum size, vectors none. */
	com_wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	com_wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(com_rd(r, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	rig_free(r);
}

int main(void)
{
	check_prog = "virtio_pci";
	RUN(ids_and_capabilities);
	RUN(pci_cfg_window);
	RUN(feature_negotiation);
	RUN(status_state_machine);
	RUN(queue_setup_and_notify);
	RUN(msix_vectors_and_bad_ring);
	return check_finish();
}
