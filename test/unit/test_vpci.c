/*
 * Host tests for the PCI bus model: configuration space through both
 * access paths as the I/O bus calls them, BAR sizing and relocation seen
 * through a real struct iobus, MSI and MSI-X messages (decoding, masking,
 * pending bits), INTx routing and its gates.  A fake board records what
 * the bus hands it.
 */
#include "test/unit/check.h"
#include "devices/vpci.h"
#include "devices/pci_testdev.h"

#define MAX_MSGS 32
#define ECAM(dev, fn, reg) ((uint32_t)(((dev) << 15) | ((fn) << 12) | (reg)))

struct fake_board {
	unsigned n;
	struct apic_msg msg[MAX_MSGS];
	bool gsi[VPCI_MAX_GSI];
	unsigned intx_calls;
	unsigned dropped;
	uint64_t drop_addr;
};

static void f_msi(void *ctx, const struct apic_msg *m)
{
	struct fake_board *f = ctx;

	if (f->n < MAX_MSGS)
		f->msg[f->n] = *m;
	f->n++;
}

static unsigned f_route(void *ctx, unsigned slot, unsigned pin)
{
	return 16 + (slot + pin - 1) % 4;
}

static void f_intx(void *ctx, unsigned gsi, bool level)
{
	struct fake_board *f = ctx;

	f->gsi[gsi] = level;
	f->intx_calls++;
}

static void f_dropped(void *ctx, uint8_t devfn, uint64_t addr, uint32_t data)
{
	struct fake_board *f = ctx;

	f->dropped++;
	f->drop_addr = addr;
}

static const struct vpci_ops fake_ops = { f_msi, f_route, f_intx, f_dropped };

struct rig {
	struct fake_board f;
	struct iobus iob;
	struct iobus_region pio[16], mmio[16];
	struct vpci_bus bus;
	struct pci_testdev td;
};

static struct rig *rig_new(bool testdev)
{
	struct rig *r = calloc(1, sizeof(*r));

	iobus_init(&r->iob, r->pio, 16, r->mmio, 16);
	vpci_init(&r->bus, &r->iob, &fake_ops, &r->f);
	iobus_add(&r->iob.pio, VPCI_CFG_ADDR_PORT, 1, vpci_cfg_addr_pio, &r->bus, NULL);
	iobus_add(&r->iob.pio, VPCI_CFG_DATA_PORT, 4, vpci_cfg_data_pio, &r->bus, NULL);
	iobus_add(&r->iob.mmio, 0xe0000000, VPCI_ECAM_BUS_SIZE, vpci_ecam_mmio, &r->bus, NULL);
	if (testdev) {
		pci_testdev_init(&r->td, VPCI_DEVFN(3, 0));
		CHECK(vpci_add(&r->bus, &r->td.fn));
	}
	return r;
}

static uint64_t pio(struct rig *r, bool write, uint16_t port, unsigned size, uint64_t val)
{
	struct io_req q = { .addr = port, .size = (uint8_t)size, .write = write, .val = val };
	CHECK_EQ(iobus_pio(&r->iob, &q), 0);
	return q.val;
}

/* An MMIO access; *ok says whether a region took it. */
static uint64_t mmio(struct rig *r, bool write, uint64_t gpa, unsigned size, uint64_t val,
		     bool *ok)
{
	struct io_req q = { .addr = gpa, .size = (uint8_t)size, .write = write, .val = val };
	int e = iobus_mmio(&r->iob, &q);
	if (ok)
		*ok = e == 0;
	return q.val;
}

static uint64_t ecam_rd(struct rig *r, uint32_t off, unsigned size)
{
	bool ok;
	uint64_t v = mmio(r, false, 0xe0000000 + off, size, 0, &ok);
	CHECK(ok);
	return v;
}

static void ecam_wr(struct rig *r, uint32_t off, unsigned size, uint64_t v)
{
	bool ok;
	mmio(r, true, 0xe0000000 + off, size, v, &ok);
	CHECK(ok);
}

static uint32_t conf1_rd(struct rig *r, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	pio(r, true, 0xcf8, 4, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
	return (uint32_t)pio(r, false, (uint16_t)(0xcfc + (reg & 3)), size, 0);
}

static void conf1_wr(struct rig *r, unsigned dev, unsigned fn, unsigned reg, unsigned size,
		     uint32_t v)
{
	pio(r, true, 0xcf8, 4, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
	pio(r, true, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

TEST(host_bridge_header)
{
	struct rig *r = rig_new(false);

	CHECK_EQ(conf1_rd(r, 0, 0, 0, 4), 0x29c08086);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, 0), 4), 0x29c08086);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, 0x08), 4) >> 8, 0x060000);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, PCI_HEADER_TYPE), 1), 0);
	/* Read-only IDs and class. */
	ecam_wr(r, ECAM(0, 0, 0), 4, 0x12345678);
	ecam_wr(r, ECAM(0, 0, 8), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, 0), 4), 0x29c08086);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, 8), 4), 0x06000000);
	/* Absent functions and the extended space. */
	CHECK_EQ(conf1_rd(r, 1, 0, 0, 4), 0xffffffff);
	CHECK_EQ(conf1_rd(r, 0, 1, 0, 2), 0xffff);
	CHECK_EQ(ecam_rd(r, ECAM(31, 7, 0), 4), 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, 0x100), 4), 0);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, 0xffc), 4), 0);
	/* No capabilities: status bit 4 clear, pointer 0. */
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, PCI_STATUS), 2) & PCI_STATUS_CAP_LIST, 0);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, PCI_CAPABILITY_LIST), 1), 0);
	/* Writing to an absent function changes nothing. */
	ecam_wr(r, ECAM(5, 0, 0x3c), 4, 0);
	CHECK_EQ(ecam_rd(r, ECAM(5, 0, 0x3c), 4), 0xffffffff);
	free(r);
}

TEST(config_address_port)
{
	struct rig *r = rig_new(false);

	/* Bits 30:24 and 1:0 read as zero. */
	pio(r, true, 0xcf8, 4, 0xffffffff);
	CHECK_EQ(pio(r, false, 0xcf8, 4, 0), 0x80fffffc);
	/* Not a dword: not CONFIG_ADDRESS. */
	pio(r, true, 0xcf8, 4, 0x80000000);
	pio(r, true, 0xcf8, 2, 0x1234);
	CHECK_EQ(pio(r, false, 0xcf8, 4, 0), 0x80000000);
	CHECK_EQ(pio(r, false, 0xcf8, 1, 0), 0xff);
	/* Enable clear: data reads ones.  Another bus: ones. */
	pio(r, true, 0xcf8, 4, 0x00000000);
	CHECK_EQ(pio(r, false, 0xcfc, 4, 0), 0xffffffff);
	pio(r, true, 0xcf8, 4, 0x80010000);
	CHECK_EQ(pio(r, false, 0xcfc, 4, 0), 0xffffffff);
	/* Byte and word lanes of 0xcfc-0xcff. */
	CHECK_EQ(conf1_rd(r, 0, 0, 0, 1), 0x86);
	CHECK_EQ(conf1_rd(r, 0, 0, 1, 1), 0x80);
	CHECK_EQ(conf1_rd(r, 0, 0, 2, 2), 0x29c0);
	CHECK_EQ(conf1_rd(r, 0, 0, 3, 1), 0x29);
	/* A dword at 0xcfe: two bytes of the register, two past 0xcff. */
	pio(r, true, 0xcf8, 4, 0x80000000);
	CHECK_EQ(pio(r, false, 0xcfe, 4, 0), 0xffff29c0);
	free(r);
}

/* AMD's IO ECS (NB_CFG EnableCf8ExtCfg): CONFIG_ADDRESS bits 27:24 reach
 * registers 0x100-0xfff only while the board has it on. */
TEST(amd_extended_config_address)
{
	struct rig *r = rig_new(false);

	/* Off: bits 27:24 read as zero, and register 0x100 is register 0. */
	pio(r, true, 0xcf8, 4, 0x81000000);
	CHECK_EQ(pio(r, false, 0xcf8, 4, 0), 0x80000000);
	CHECK_EQ(pio(r, false, 0xcfc, 4, 0), 0x29c08086);
	/* On: kept, and the access goes to the extended space (zeros). */
	vpci_set_io_ecs(&r->bus, true);
	CHECK(vpci_io_ecs(&r->bus));
	pio(r, true, 0xcf8, 4, 0x81000000);
	CHECK_EQ(pio(r, false, 0xcf8, 4, 0), 0x81000000);
	CHECK_EQ(pio(r, false, 0xcfc, 4, 0), 0);
	pio(r, true, 0xcf8, 4, 0xff000000);
	CHECK_EQ(pio(r, false, 0xcf8, 4, 0), 0x8f000000);
	/* Turned off again: the register number loses its high bits. */
	pio(r, true, 0xcf8, 4, 0x81000000);
	vpci_set_io_ecs(&r->bus, false);
	CHECK_EQ(pio(r, false, 0xcfc, 4, 0), 0x29c08086);
	free(r);
}

TEST(command_and_status_bits)
{
	struct rig *r = rig_new(true);

	conf1_wr(r, 3, 0, PCI_COMMAND, 2, 0xffff);
	CHECK_EQ(conf1_rd(r, 3, 0, PCI_COMMAND, 2), 0x0547);
	/* Capabilities present. */
	CHECK(conf1_rd(r, 3, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* Status: read-only bits survive, error bits are write-1-to-clear. */
	r->td.fn.cfg[PCI_STATUS + 1] |= 0x20;   /* received master abort */
	conf1_wr(r, 3, 0, PCI_STATUS, 2, 0);
	CHECK(conf1_rd(r, 3, 0, PCI_STATUS, 2) & 0x2000);
	conf1_wr(r, 3, 0, PCI_STATUS, 2, 0xffff);
	CHECK_EQ(conf1_rd(r, 3, 0, PCI_STATUS, 2) & 0x2000, 0);
	CHECK(conf1_rd(r, 3, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* Interrupt line writable, pin not; the pin's GSI is filled in. */
	CHECK_EQ(conf1_rd(r, 3, 0, PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(conf1_rd(r, 3, 0, PCI_INTERRUPT_LINE, 1), 19);
	conf1_wr(r, 3, 0, PCI_INTERRUPT_LINE, 2, 0x040a);
	CHECK_EQ(conf1_rd(r, 3, 0, PCI_INTERRUPT_LINE, 2), 0x010a);
	free(r);
}

TEST(capability_list)
{
	struct rig *r = rig_new(true);
	unsigned at = (unsigned)ecam_rd(r, ECAM(3, 0, PCI_CAPABILITY_LIST), 1);
	unsigned ids[8], n = 0;

	while (at && n < 8) {
		CHECK_EQ(at & 3, 0);
		CHECK(at >= 0x40);
		ids[n++] = (unsigned)ecam_rd(r, ECAM(3, 0, at), 1);
		at = (unsigned)ecam_rd(r, ECAM(3, 0, at + 1), 1);
	}
	CHECK_EQ(n, 2);
	CHECK_EQ(ids[0], PCI_CAP_ID_MSIX);
	CHECK_EQ(ids[1], PCI_CAP_ID_MSI);
	/* The list cannot be rewritten. */
	ecam_wr(r, ECAM(3, 0, PCI_CAPABILITY_LIST), 1, 0x80);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, PCI_CAPABILITY_LIST), 1), 0x40);
	/* Capability space runs out. */
	struct vpci_func fn;
	vpci_func_init(&fn, 0, 1, 2, 0, 0, NULL, NULL);
	CHECK_EQ(vpci_func_cap(&fn, 9, 0xb0), 0x40);
	CHECK_EQ(vpci_func_cap(&fn, 9, 0x10), 0xf0);
	CHECK_EQ(vpci_func_cap(&fn, 9, 4), 0);
	CHECK_EQ(vpci_func_cap(&fn, 9, 1), 0);
	free(r);
}

TEST(bar_sizing)
{
	struct rig *r = rig_new(true);

	/* I/O BAR of 32 ports: 16-bit decode. */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x10), 4), 0x1);
	ecam_wr(r, ECAM(3, 0, 0x10), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x10), 4), 0x0000ffe1);
	/* 32-bit memory BAR of 4 KiB. */
	ecam_wr(r, ECAM(3, 0, 0x14), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x14), 4), 0xfffff000);
	/* 64-bit prefetchable BAR of 64 KiB, both halves. */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x18), 4), 0xc);
	ecam_wr(r, ECAM(3, 0, 0x18), 4, 0xffffffff);
	ecam_wr(r, ECAM(3, 0, 0x1c), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x18), 4), 0xffff000c);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x1c), 4), 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x18), 8), 0xffffffffffff000cULL);
	/* MSI-X BAR: 4 KiB; BAR5, ROM and CardBus are absent. */
	ecam_wr(r, ECAM(3, 0, 0x20), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x20), 4), 0xfffff000);
	ecam_wr(r, ECAM(3, 0, 0x24), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x24), 4), 0);
	ecam_wr(r, ECAM(3, 0, 0x30), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x30), 4), 0);
	/* A byte write into a BAR keeps the type bits. */
	ecam_wr(r, ECAM(3, 0, 0x14), 1, 0xff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x14), 4), 0xfffff000);
	free(r);
}

TEST(bar_decode_and_relocation)
{
	struct rig *r = rig_new(true);
	bool ok;

	ecam_wr(r, ECAM(3, 0, 0x10), 4, 0xc000);
	ecam_wr(r, ECAM(3, 0, 0x14), 4, 0xc0001000);
	ecam_wr(r, ECAM(3, 0, 0x18), 4, 0x00010000);
	ecam_wr(r, ECAM(3, 0, 0x1c), 4, 0x8);           /* 0x8_0001_0000 */
	/* Decode off: nothing there. */
	CHECK_EQ(pio(r, false, 0xc000, 4, 0), 0xffffffff);
	mmio(r, false, 0xc0001000, 4, 0, &ok);
	CHECK(!ok);
	/* I/O only. */
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_IO);
	CHECK_EQ(pio(r, false, 0xc000, 4, 0), PCI_TESTDEV_MAGIC_VALUE);
	CHECK_EQ(pio(r, false, 0xc000 + PCI_TESTDEV_WHICH, 4, 0), 0);
	mmio(r, false, 0xc0001000, 4, 0, &ok);
	CHECK(!ok);
	/* Memory too: both memory BARs, the 64-bit one above 4 GiB. */
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_EQ(mmio(r, false, 0xc0001000, 4, 0, &ok), PCI_TESTDEV_MAGIC_VALUE);
	CHECK(ok);
	CHECK_EQ(mmio(r, false, 0x800010000ULL + PCI_TESTDEV_WHICH, 4, 0, &ok), 2);
	CHECK(ok);
	mmio(r, true, 0x800010000ULL + PCI_TESTDEV_SCRATCH, 4, 0xabcd, &ok);
	CHECK_EQ(pio(r, false, 0xc000 + PCI_TESTDEV_SCRATCH, 4, 0), 0xabcd);
	/* Relocate the 32-bit BAR while decoding: old address gone. */
	ecam_wr(r, ECAM(3, 0, 0x14), 4, 0xc0100000);
	mmio(r, false, 0xc0001000, 4, 0, &ok);
	CHECK(!ok);
	CHECK_EQ(mmio(r, false, 0xc0100000 + PCI_TESTDEV_WHICH, 4, 0, &ok), 1);
	CHECK(ok);
	/* Upper half of the 64-bit BAR moves it. */
	ecam_wr(r, ECAM(3, 0, 0x1c), 4, 0x9);
	mmio(r, false, 0x800010000ULL, 4, 0, &ok);
	CHECK(!ok);
	mmio(r, false, 0x900010000ULL, 4, 0, &ok);
	CHECK(ok);
	/* Two BARs trade places, one write each: BAR1 onto the MSI-X BAR does
	 * not decode until the MSI-X BAR moves away, then both do. */
	ecam_wr(r, ECAM(3, 0, 0x20), 4, 0xc0200000);
	ecam_wr(r, ECAM(3, 0, 0x14), 4, 0xc0200000);
	mmio(r, false, 0xc0100000, 4, 0, &ok);
	CHECK(!ok);
	CHECK_EQ(mmio(r, false, 0xc0200000 + 12, 4, 0, &ok), 1);   /* MSI-X entry 0 masked */
	ecam_wr(r, ECAM(3, 0, 0x20), 4, 0xc0100000);
	CHECK_EQ(mmio(r, false, 0xc0200000 + PCI_TESTDEV_WHICH, 4, 0, &ok), 1);
	CHECK(ok);
	CHECK_EQ(mmio(r, false, 0xc0100000 + 12, 4, 0, &ok), 1);
	CHECK(ok);
	/* Sizing while decoding (all ones) lands on nothing mappable or an
	 * overlap; restoring the address maps it again. */
	ecam_wr(r, ECAM(3, 0, 0x10), 4, 0xffffffff);    /* ports 0xffe0: allowed */
	CHECK_EQ(pio(r, false, 0xffe0, 4, 0), PCI_TESTDEV_MAGIC_VALUE);
	ecam_wr(r, ECAM(3, 0, 0x10), 4, 0xc000);
	CHECK_EQ(pio(r, false, 0xc000, 4, 0), PCI_TESTDEV_MAGIC_VALUE);
	CHECK_EQ(pio(r, false, 0xffe0, 4, 0), 0xffffffff);
	/* Memory decode off again removes the memory BARs only. */
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_IO);
	mmio(r, false, 0xc0200000, 4, 0, &ok);
	CHECK(!ok);
	CHECK_EQ(pio(r, false, 0xc000, 4, 0), PCI_TESTDEV_MAGIC_VALUE);
	free(r);
}

TEST(bar_over_another_device)
{
	struct rig *r = rig_new(true);
	bool ok;

	/* Onto ECAM itself: refused while the ECAM region is there. */
	ecam_wr(r, ECAM(3, 0, 0x14), 4, 0xe0000000);
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY);
	CHECK_EQ(ecam_rd(r, ECAM(0, 0, 0), 4), 0x29c08086);
	ecam_wr(r, ECAM(3, 0, 0x14), 4, 0xc0000000);
	CHECK_EQ(mmio(r, false, 0xc0000000, 4, 0, &ok), PCI_TESTDEV_MAGIC_VALUE);
	CHECK(ok);
	/* Ports past 0xffff cannot be written. */
	ecam_wr(r, ECAM(3, 0, 0x10), 4, 0x12340000);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x10), 4), 0x1);
	free(r);
}

TEST(unaligned_and_wide_config_access)
{
	struct rig *r = rig_new(true);

	/* A word at offset 3 reads header byte 3 and byte 4 of the next dword. */
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, 0x0005);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 3), 2), 0x0500 | (PCI_TESTDEV_DEVICE >> 8));
	/* A qword read across two dwords. */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0), 8),
		 (uint64_t)ecam_rd(r, ECAM(3, 0, 4), 4) << 32 | 0x00051b36);
	/* A dword write at offset 2 (status + the next dword's byte 0-1). */
	ecam_wr(r, ECAM(3, 0, 0x3a), 4, 0x00ff0000);    /* bytes 0x3c-0x3d: line, pin */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, 0x3c), 2), 0x01ff);
	/* The last bytes of bus 0's window, and function 7 of device 31. */
	CHECK_EQ(ecam_rd(r, 0xffffc, 4), 0xffffffff);
	free(r);
}

/* Program the test function's MSI-X entry n and enable MSI-X. */
static void msix_setup(struct rig *r, uint64_t bar, unsigned n, uint32_t addr, uint32_t data,
		       bool masked)
{
	bool ok;

	mmio(r, true, bar + 16 * n, 4, addr, &ok);
	CHECK(ok);
	mmio(r, true, bar + 16 * n + 4, 4, 0, &ok);
	mmio(r, true, bar + 16 * n + 8, 4, data, &ok);
	mmio(r, true, bar + 16 * n + 12, 4, masked, &ok);
}

static struct rig *rig_msix(uint64_t *bar)
{
	struct rig *r = rig_new(true);

	*bar = 0xc0010000;
	ecam_wr(r, ECAM(3, 0, 0x20), 4, (uint32_t)*bar);
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return r;
}

static unsigned msix_cap(struct rig *r)
{
	return (unsigned)ecam_rd(r, ECAM(3, 0, PCI_CAPABILITY_LIST), 1);
}

TEST(msix_registers)
{
	uint64_t bar;
	struct rig *r = rig_msix(&bar);
	unsigned cap = msix_cap(r);
	bool ok;

	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 2), 2), 3);      /* 4 vectors */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 4), 4), 4);      /* table at 0 in BAR4 */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 8), 4), 0x804);  /* PBA at 0x800 */
	/* Every vector starts masked. */
	for (unsigned n = 0; n < 4; n++)
		CHECK_EQ(mmio(r, false, bar + 16 * n + 12, 4, 0, &ok), 1);
	/* Table size read-only; enable and function mask writable. */
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, 0xffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 2), 2), 0xc003);
	/* Entry fields: address bits 1:0 and control's reserved bits read 0. */
	mmio(r, true, bar, 8, 0x12345678fee01007ULL, &ok);
	CHECK_EQ(mmio(r, false, bar, 8, 0, &ok), 0x12345678fee01004ULL);
	mmio(r, true, bar + 12, 4, 0xfffffffe, &ok);
	CHECK_EQ(mmio(r, false, bar + 12, 4, 0, &ok), 0);
	/* Entries past the table, odd widths and the PBA do nothing. */
	mmio(r, true, bar + 16 * 4, 4, 0x1234, &ok);
	CHECK(ok);
	CHECK_EQ(mmio(r, false, bar + 16 * 4, 4, 0, &ok), 0);
	mmio(r, true, bar + 8, 2, 0x55, &ok);
	CHECK_EQ(mmio(r, false, bar + 8, 4, 0, &ok), 0);
	CHECK_EQ(mmio(r, false, bar + 2, 4, 0, &ok), 0);
	mmio(r, true, bar + 0x800, 8, ~0ULL, &ok);
	CHECK_EQ(mmio(r, false, bar + 0x800, 8, 0, &ok), 0);
	free(r);
}

TEST(msix_messages_and_masking)
{
	uint64_t bar;
	struct rig *r = rig_msix(&bar);
	unsigned cap = msix_cap(r);
	bool ok;

	/* Physical, fixed: vector 0x41 to APIC 2. */
	msix_setup(r, bar, 1, 0xfee02000, 0x41, false);
	/* Logical, lowest priority: vector 0x52 to logical mask 0x0c. */
	msix_setup(r, bar, 2, 0xfee0c004, 0x152, false);
	/* Not enabled yet: refused. */
	CHECK(!vpci_msix_raise(&r->td.fn, 1));
	CHECK_EQ(r->f.n, 0);
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSIX_FLAGS_ENABLE);
	CHECK(vpci_msix_raise(&r->td.fn, 1));
	CHECK_EQ(r->f.n, 1);
	CHECK_EQ(r->f.msg[0].dest, 2);
	CHECK(!r->f.msg[0].logical);
	CHECK_EQ(r->f.msg[0].delivery, APIC_DM_FIXED);
	CHECK_EQ(r->f.msg[0].vector, 0x41);
	CHECK(!r->f.msg[0].level);
	CHECK(vpci_msix_raise(&r->td.fn, 2));
	CHECK_EQ(r->f.n, 2);
	CHECK_EQ(r->f.msg[1].dest, 0x0c);
	CHECK(r->f.msg[1].logical);
	CHECK_EQ(r->f.msg[1].delivery, APIC_DM_LOWEST);
	CHECK_EQ(r->f.msg[1].vector, 0x52);
	/* Out of range. */
	CHECK(!vpci_msix_raise(&r->td.fn, 4));
	/* Entry mask: held pending, sent on unmask, pending cleared. */
	mmio(r, true, bar + 16 + 12, 4, 1, &ok);
	CHECK(vpci_msix_raise(&r->td.fn, 1));
	CHECK_EQ(r->f.n, 2);
	CHECK_EQ(mmio(r, false, bar + 0x800, 8, 0, &ok), 0x2);
	CHECK_EQ(mmio(r, false, bar + 0x800, 4, 0, &ok), 0x2);
	mmio(r, true, bar + 16 + 12, 4, 0, &ok);
	CHECK_EQ(r->f.n, 3);
	CHECK_EQ(r->f.msg[2].vector, 0x41);
	CHECK_EQ(mmio(r, false, bar + 0x800, 8, 0, &ok), 0);
	/* Function mask: every vector held; clearing it sends both. */
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	CHECK(vpci_msix_raise(&r->td.fn, 1));
	CHECK(vpci_msix_raise(&r->td.fn, 2));
	CHECK(vpci_msix_raise(&r->td.fn, 1));   /* one pending bit, one message */
	CHECK_EQ(r->f.n, 3);
	CHECK_EQ(mmio(r, false, bar + 0x800, 8, 0, &ok), 0x6);
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(r->f.n, 5);
	CHECK_EQ(mmio(r, false, bar + 0x800, 8, 0, &ok), 0);
	/* Unmasking an entry that still has the function mask on sends nothing. */
	mmio(r, true, bar + 16 + 12, 4, 1, &ok);
	CHECK(vpci_msix_raise(&r->td.fn, 1));
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	mmio(r, true, bar + 16 + 12, 4, 0, &ok);
	CHECK_EQ(r->f.n, 5);
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(r->f.n, 6);
	free(r);
}

TEST(msix_needs_bus_master_and_apic_address)
{
	uint64_t bar;
	struct rig *r = rig_msix(&bar);
	unsigned cap = msix_cap(r);

	msix_setup(r, bar, 0, 0xfee00000, 0x30, false);
	msix_setup(r, bar, 3, 0x00100000, 0x30, false);     /* RAM: a DMA write */
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSIX_FLAGS_ENABLE);
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY);
	CHECK(vpci_msix_raise(&r->td.fn, 0));
	CHECK_EQ(r->f.n, 0);
	CHECK_EQ(r->td.fn.msi_dropped, 1);
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK(vpci_msix_raise(&r->td.fn, 0));
	CHECK_EQ(r->f.n, 1);
	CHECK(vpci_msix_raise(&r->td.fn, 3));
	CHECK_EQ(r->f.n, 1);
	CHECK_EQ(r->f.dropped, 1);
	CHECK_EQ(r->f.drop_addr, 0x00100000);
	free(r);
}

TEST(msi_decode)
{
	struct apic_msg m;

	/* Physical fixed, edge. */
	CHECK(vpci_msi_decode(0xfee03000, 0x0031, &m));
	CHECK_EQ(m.dest, 3);
	CHECK(!m.logical);
	CHECK_EQ(m.delivery, APIC_DM_FIXED);
	CHECK_EQ(m.vector, 0x31);
	CHECK(!m.level);
	CHECK_EQ(m.shorthand, 0);
	/* Logical (DM), lowest priority, level. */
	CHECK(vpci_msi_decode(0xfeef0004, 0x8141, &m));
	CHECK_EQ(m.dest, 0xf0);
	CHECK(m.logical);
	CHECK_EQ(m.delivery, APIC_DM_LOWEST);
	CHECK(m.level);
	/* RH with fixed delivery: one of the destinations. */
	CHECK(vpci_msi_decode(0xfee0100c, 0x0041, &m));
	CHECK(m.logical);
	CHECK_EQ(m.delivery, APIC_DM_LOWEST);
	/* NMI and INIT pass; SMI, ExtINT and the reserved modes do not. */
	CHECK(vpci_msi_decode(0xfee00000, 0x0400, &m));
	CHECK_EQ(m.delivery, APIC_DM_NMI);
	CHECK(vpci_msi_decode(0xfee00000, 0x0500, &m));
	CHECK_EQ(m.delivery, APIC_DM_INIT);
	CHECK(!vpci_msi_decode(0xfee00000, 0x0200, &m));
	CHECK(!vpci_msi_decode(0xfee00000, 0x0300, &m));
	CHECK(!vpci_msi_decode(0xfee00000, 0x0600, &m));
	CHECK(!vpci_msi_decode(0xfee00000, 0x0700, &m));
	/* Outside 0xfee00000-0xfeefffff. */
	CHECK(!vpci_msi_decode(0xfed00000, 0x31, &m));
	CHECK(!vpci_msi_decode(0xfef00000, 0x31, &m));
	CHECK(!vpci_msi_decode(0x1fee00000ULL, 0x31, &m));
}

TEST(msi_messages_and_masking)
{
	struct rig *r = rig_new(true);
	unsigned cap = (unsigned)ecam_rd(r, ECAM(3, 0, ecam_rd(r, ECAM(3, 0, 0x34), 1) + 1), 1);

	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap), 1), PCI_CAP_ID_MSI);
	/* 4 vectors, 64-bit, per-vector masking. */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 2), 2), 0x0184);
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_MASTER);
	ecam_wr(r, ECAM(3, 0, cap + 4), 4, 0xfee01003);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 4), 4), 0xfee01000);
	ecam_wr(r, ECAM(3, 0, cap + 8), 4, 0);
	ecam_wr(r, ECAM(3, 0, cap + 12), 4, 0xffff4060);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 12), 4), 0x4060);
	/* Mask bits: only the 4 vectors'. */
	ecam_wr(r, ECAM(3, 0, cap + 16), 4, 0xffffffff);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 16), 4), 0xf);
	ecam_wr(r, ECAM(3, 0, cap + 16), 4, 0);
	/* Off: refused. */
	CHECK(!vpci_msi_raise(&r->td.fn, 0));
	/* One vector enabled (MME 0): vector 1 refused. */
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSI_FLAGS_ENABLE);
	CHECK(vpci_msi_raise(&r->td.fn, 0));
	CHECK(!vpci_msi_raise(&r->td.fn, 1));
	CHECK_EQ(r->f.n, 1);
	CHECK_EQ(r->f.msg[0].vector, 0x60);
	CHECK_EQ(r->f.msg[0].dest, 1);
	CHECK(!r->f.msg[0].level);      /* trigger (bit 15) clear: edge */
	/* MME = 2 (4 vectors): the low two data bits carry the vector. */
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSI_FLAGS_ENABLE | (2 << 4));
	CHECK(vpci_msi_raise(&r->td.fn, 3));
	CHECK_EQ(r->f.msg[1].vector, 0x63);
	/* MME past MMC counts as MMC. */
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSI_FLAGS_ENABLE | (5 << 4));
	CHECK(!vpci_msi_raise(&r->td.fn, 4));
	/* Masked: pending bit, sent on unmask. */
	ecam_wr(r, ECAM(3, 0, cap + 16), 4, 0x4);
	CHECK(vpci_msi_raise(&r->td.fn, 2));
	CHECK_EQ(r->f.n, 2);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 20), 4), 0x4);
	ecam_wr(r, ECAM(3, 0, cap + 20), 4, 0);         /* pending is read-only */
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 20), 4), 0x4);
	ecam_wr(r, ECAM(3, 0, cap + 16), 4, 0);
	CHECK_EQ(r->f.n, 3);
	CHECK_EQ(r->f.msg[2].vector, 0x62);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, cap + 20), 4), 0);
	free(r);
}

TEST(intx_routing_and_gates)
{
	struct rig *r = rig_new(true);
	struct pci_testdev td2;

	/* Slot 3 INTA: GSI 19 by the fake swizzle. */
	vpci_intx(&r->td.fn, true);
	CHECK(r->f.gsi[19]);
	CHECK(ecam_rd(r, ECAM(3, 0, PCI_STATUS), 2) & PCI_STATUS_INTERRUPT);
	/* Interrupt Disable drops the pin, status still shows it. */
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_INTX_DISABLE);
	CHECK(!r->f.gsi[19]);
	CHECK(ecam_rd(r, ECAM(3, 0, PCI_STATUS), 2) & PCI_STATUS_INTERRUPT);
	ecam_wr(r, ECAM(3, 0, PCI_COMMAND), 2, 0);
	CHECK(r->f.gsi[19]);
	/* A second device sharing GSI 19 (slot 7 INTA): wired-OR. */
	pci_testdev_init(&td2, VPCI_DEVFN(7, 0));
	CHECK(vpci_add(&r->bus, &td2.fn));
	CHECK_EQ(ecam_rd(r, ECAM(7, 0, PCI_INTERRUPT_LINE), 1), 19);
	vpci_intx(&td2.fn, true);
	vpci_intx(&r->td.fn, false);
	CHECK(r->f.gsi[19]);
	vpci_intx(&td2.fn, false);
	CHECK(!r->f.gsi[19]);
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, PCI_STATUS), 2) & PCI_STATUS_INTERRUPT, 0);
	/* MSI-X enabled: no INTx. */
	unsigned cap = msix_cap(r);
	vpci_intx(&r->td.fn, true);
	CHECK(r->f.gsi[19]);
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, PCI_MSIX_FLAGS_ENABLE);
	CHECK(!r->f.gsi[19]);
	ecam_wr(r, ECAM(3, 0, cap + 2), 2, 0);
	CHECK(r->f.gsi[19]);
	/* Taken slot. */
	CHECK(!vpci_add(&r->bus, &td2.fn));
	free(r);
}

TEST(multifunction_header)
{
	struct rig *r = rig_new(true);
	struct pci_testdev f2;

	CHECK_EQ(ecam_rd(r, ECAM(3, 0, PCI_HEADER_TYPE), 1), 0);
	pci_testdev_init(&f2, VPCI_DEVFN(3, 2));
	CHECK(vpci_add(&r->bus, &f2.fn));
	CHECK_EQ(ecam_rd(r, ECAM(3, 0, PCI_HEADER_TYPE), 1), 0x80);
	CHECK_EQ(ecam_rd(r, ECAM(3, 2, 0), 4), 0x00051b36);
	/* INTA of function 2 of slot 3 is still slot 3's INTA. */
	CHECK_EQ(ecam_rd(r, ECAM(3, 2, PCI_INTERRUPT_LINE), 1), 19);
	free(r);
}

TEST(bad_set_up)
{
	struct vpci_func fn;
	int dummy;

	vpci_func_init(&fn, 0, 1, 2, 0, 0, NULL, NULL);
	io_handler_t h = (io_handler_t)(void *)&dummy;
	CHECK(!vpci_func_bar(&fn, 6, VPCI_BAR_MEM32, false, 4096, h, NULL));
	CHECK(!vpci_func_bar(&fn, 5, VPCI_BAR_MEM64, false, 4096, h, NULL));
	CHECK(!vpci_func_bar(&fn, 0, VPCI_BAR_MEM32, false, 4095, h, NULL));
	CHECK(!vpci_func_bar(&fn, 0, VPCI_BAR_MEM32, false, 8, h, NULL));
	CHECK(!vpci_func_bar(&fn, 0, VPCI_BAR_IO, false, 512, h, NULL));
	CHECK(!vpci_func_bar(&fn, 0, VPCI_BAR_IO, false, 16, NULL, NULL));
	CHECK(vpci_func_bar(&fn, 0, VPCI_BAR_MEM64, false, 1ULL << 33, h, NULL));
	CHECK_EQ(vpci_cfg_get(&fn, 0x14, 4), 0);
	CHECK_EQ(fn.wmask[0x14], 0xfe);         /* upper half: bit 32 reads 0 when sized */
	CHECK(!vpci_func_bar(&fn, 1, VPCI_BAR_MEM32, false, 4096, h, NULL));
	CHECK(!vpci_func_msi(&fn, 3, false));
	CHECK(!vpci_func_msix(&fn, 65, 2));
	CHECK(!vpci_func_msix(&fn, 4, 0));      /* BAR0 taken */
	/* Accessors stay inside the 256 bytes. */
	vpci_cfg_put(&fn, 254, 4, 0xffffffff);
	CHECK_EQ(vpci_cfg_get(&fn, 254, 4), 0);
	CHECK_EQ(vpci_cfg_get(&fn, 256, 1), 0);
}

int main(void)
{
	check_start("vpci");
	RUN(host_bridge_header);
	RUN(config_address_port);
	RUN(command_and_status_bits);
	RUN(capability_list);
	RUN(bar_sizing);
	RUN(bar_decode_and_relocation);
	RUN(bar_over_another_device);
	RUN(unaligned_and_wide_config_access);
	RUN(msix_registers);
	RUN(msix_messages_and_masking);
	RUN(msix_needs_bus_master_and_apic_address);
	RUN(msi_decode);
	RUN(msi_messages_and_masking);
	RUN(intx_routing_and_gates);
	RUN(multifunction_header);
	RUN(bad_set_up);
	return check_finish();
}
