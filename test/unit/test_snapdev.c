/*
 * Snapshot records of the device models (devices/devsnap.h): for each
 * model, state set up through its guest interface is saved, loaded into
 * a fresh instance with other wiring, and must read back the same (the
 * guest's view and a second save, byte for byte) while the new instance
 * keeps its own wiring.  A short buffer, a record of another length and a
 * record with a field out of range are refused, leaving the model as it
 * was.
 */
#include "check.h"
#include "devices/vuart.h"
#include "devices/fwcfg.h"
#include "devices/testmmio.h"
#include "devices/vioapic.h"
#include "devices/vpic.h"
#include "devices/vpit.h"
#include "devices/vrtc.h"
#include "devices/vacpi.h"
#include "devices/vlapic.h"
#include "devices/vpci.h"
#include "devices/pci_testdev.h"
#include "devices/iobus.h"

static uint64_t clk_a, clk_b;

static uint64_t now_a(void *ctx) { return clk_a; }
static uint64_t now_b(void *ctx) { return clk_b; }
static void irq_cb(void *vm, unsigned irq, bool level) { }
static void line_cb(void *ctx, const char *s, size_t n) { }
static void deliver(void *vm, const struct apic_msg *m) { }
static void pic_intr(void *vm, bool a) { }
static void eoi(void *vm, uint8_t v) { }
static const struct irq_ops ops_a = { deliver, pic_intr, eoi }, ops_b = { deliver, pic_intr, eoi };
static int ctx_a, ctx_b;

static uint8_t rec[64 * 1024], rec2[64 * 1024];

/* Save a, load the record into b, save b again: the same bytes. */
#define ROUND_TRIP(save, load, a, b, size) do {                                   \
	size_t n_ = save(a, rec, sizeof(rec));                                      \
	CHECK_EQ(n_, (size));                                                       \
	CHECK_EQ(save(a, rec, n_ - 1), 0);      /* too short */                      \
	CHECK(!load(b, rec, n_ - 1));           /* another length */                 \
	CHECK(load(b, rec, n_));                                                    \
	CHECK_EQ(save(b, rec2, sizeof(rec2)), n_);                                  \
	CHECK(memcmp(rec, rec2, n_) == 0);                                          \
} while (0)

static uint32_t pio_n(int (*fn)(void *, bool, uint16_t, unsigned, uint32_t *), void *dev,
		      bool in, uint16_t port, unsigned bytes, uint32_t val)
{
	fn(dev, in, port, bytes, &val);
	return val;
}
#define pio32(fn, dev, in, port, val) pio_n(fn, dev, in, port, 1, val)

static uint64_t req(int (*fn)(void *, struct io_req *), void *dev, bool write, uint64_t off,
		    unsigned size, uint64_t val)
{
	struct io_req r = { .off = off, .addr = off, .size = (uint8_t)size, .write = write, .val = val };
	fn(dev, &r);
	return r.val;
}

TEST(uart_round_trip)
{
	static struct vuart a, b;

	vuart_init(&a, line_cb, &ctx_a);
	vuart_init(&b, line_cb, &ctx_b);
	req(vuart_pio, &a, true, 3, 1, 0x1b);           /* LCR */
	req(vuart_pio, &a, true, 2, 1, 0x01);           /* FCR: FIFOs on */
	req(vuart_pio, &a, true, 7, 1, 0x5a);           /* scratch */
	req(vuart_pio, &a, true, 0, 1, 'h');            /* a line begun */
	vuart_rx(&a, 'x');
	vuart_rx(&a, 'y');
	ROUND_TRIP(vuart_save, vuart_load, &a, &b, VUART_SNAP_SIZE);
	CHECK(b.ctx == &ctx_b);
	CHECK_EQ(req(vuart_pio, &b, false, 3, 1, 0), 0x1b);
	CHECK_EQ(req(vuart_pio, &b, false, 7, 1, 0), 0x5a);
	CHECK_EQ(req(vuart_pio, &b, false, 0, 1, 0), 'x');
	CHECK_EQ(req(vuart_pio, &b, false, 0, 1, 0), 'y');
	CHECK_EQ(b.line_len, 1);
	/* A FIFO index out of range: refused, b as it was. */
	struct vuart bad = a;
	bad.rx_head = VUART_FIFO_SIZE;
	size_t n = vuart_save(&bad, rec, sizeof(rec));
	CHECK(!vuart_load(&b, rec, n));
	CHECK_EQ(req(vuart_pio, &b, false, 7, 1, 0), 0x5a);
}

TEST(fwcfg_round_trip)
{
	static struct fwcfg a, b;
	static const uint8_t data[] = "payload";

	fwcfg_init(&a, 64 << 20, 2);
	fwcfg_init(&b, 64 << 20, 2);
	fwcfg_add_file(&a, "etc/x", data, sizeof(data));
	fwcfg_add_file(&b, "etc/x", data, sizeof(data));
	req(fwcfg_pio, &a, true, 0, 2, 0x20);           /* the first file */
	CHECK_EQ(req(fwcfg_pio, &a, false, 1, 1, 0), 'p');
	CHECK_EQ(req(fwcfg_pio, &a, false, 1, 1, 0), 'a');
	ROUND_TRIP(fwcfg_save, fwcfg_load, &a, &b, FWCFG_SNAP_SIZE);
	CHECK_EQ(req(fwcfg_pio, &b, false, 1, 1, 0), 'y');
	CHECK_EQ(req(fwcfg_pio, &b, false, 0, 2, 0), 0x20);
}

TEST(testmmio_round_trip)
{
	static struct testmmio a, b;

	testmmio_init(&a);
	testmmio_init(&b);
	req(testmmio_access, &a, true, 0x10, 8, 0x1122334455667788ull);
	ROUND_TRIP(testmmio_save, testmmio_load, &a, &b, TESTMMIO_SNAP_SIZE);
	CHECK_EQ(req(testmmio_access, &b, false, 0x10, 8, 0), 0x1122334455667788ull);
}

TEST(ioapic_round_trip)
{
	static struct vioapic a, b;
	uint64_t v;

	vioapic_init(&a, 4, &ops_a, &ctx_a);
	vioapic_init(&b, 4, &ops_b, &ctx_b);
	v = 0x10 + 2 * 5;                               /* IOREGSEL: pin 5's low dword */
	vioapic_mmio(&a, true, 0xfec00000, 4, &v);
	v = 0x8031;                                     /* level, vector 0x31, unmasked */
	vioapic_mmio(&a, true, 0xfec00010, 4, &v);
	vioapic_set_irq(&a, 5, true);                   /* delivered: Remote IRR */
	ROUND_TRIP(vioapic_save, vioapic_load, &a, &b, VIOAPIC_SNAP_SIZE);
	CHECK(b.ops == &ops_b && b.vm == &ctx_b);
	vioapic_mmio(&b, false, 0xfec00010, 4, &v);
	CHECK_EQ(v & 0xffff, 0x8031 | (1u << 14));
}

TEST(pic_round_trip)
{
	static struct vpic a, b;

	vpic_init(&a, &ops_a, &ctx_a);
	vpic_init(&b, &ops_b, &ctx_b);
	/* ICW1-4, then a mask (8259A data sheet). */
	pio32(vpic_pio, &a, false, 0x20, 0x11);
	pio32(vpic_pio, &a, false, 0x21, 0x20);
	pio32(vpic_pio, &a, false, 0x21, 0x04);
	pio32(vpic_pio, &a, false, 0x21, 0x01);
	pio32(vpic_pio, &a, false, 0x21, 0xfa);
	vpic_set_irq(&a, 0, true);
	ROUND_TRIP(vpic_save, vpic_load, &a, &b, VPIC_SNAP_SIZE);
	CHECK(b.ops == &ops_b && b.vm == &ctx_b);
	CHECK_EQ(pio32(vpic_pio, &b, true, 0x21, 0), 0xfa);
	CHECK_EQ(vpic_ack(&b), 0x20);
	struct vpic bad = a;
	bad.chip[1].icw_next = 9;
	CHECK(!vpic_load(&b, rec, vpic_save(&bad, rec, sizeof(rec))));
}

TEST(pit_round_trip)
{
	static struct vpit a, b;

	clk_a = 1000000;
	clk_b = 1000000;
	vpit_init(&a, irq_cb, &ctx_a, now_a, &ctx_a);
	vpit_init(&b, irq_cb, &ctx_b, now_b, &ctx_b);
	pio32(vpit_pio, &a, false, 0x43, 0x34);         /* channel 0, LSB/MSB, mode 2 */
	pio32(vpit_pio, &a, false, 0x40, 0x00);
	pio32(vpit_pio, &a, false, 0x40, 0x10);         /* 4096 */
	clk_a += 500000;
	ROUND_TRIP(vpit_save, vpit_load, &a, &b, VPIT_SNAP_SIZE);
	CHECK(b.now == now_b && b.now_ctx == &ctx_b && b.vm == &ctx_b);
	clk_b = clk_a;                                  /* the same VM time */
	CHECK_EQ(vpit_next_deadline(&b), vpit_next_deadline(&a));
	pio32(vpit_pio, &a, false, 0x43, 0x00);         /* latch channel 0 */
	pio32(vpit_pio, &b, false, 0x43, 0x00);
	CHECK_EQ(pio32(vpit_pio, &b, true, 0x40, 0), pio32(vpit_pio, &a, true, 0x40, 0));
	struct vpit bad = a;
	bad.ch[1].n = 0;                                /* a divisor */
	CHECK(!vpit_load(&b, rec, vpit_save(&bad, rec, sizeof(rec))));
	bad = a;
	bad.ch[2].mode = 6;
	CHECK(!vpit_load(&b, rec, vpit_save(&bad, rec, sizeof(rec))));
}

TEST(rtc_round_trip)
{
	static struct vrtc a, b;

	clk_a = clk_b = 0;
	vrtc_init(&a, 1700000000, 64 << 20, 0, irq_cb, &ctx_a, now_a, &ctx_a);
	vrtc_init(&b, 1600000000, 64 << 20, 0, irq_cb, &ctx_b, now_b, &ctx_b);
	pio32(vrtc_pio, &a, false, 0x70, 0x40);         /* CMOS byte 0x40 */
	pio32(vrtc_pio, &a, false, 0x71, 0x77);
	ROUND_TRIP(vrtc_save, vrtc_load, &a, &b, VRTC_SNAP_SIZE);
	CHECK(b.now == now_b && b.vm == &ctx_b);
	CHECK_EQ(pio32(vrtc_pio, &b, true, 0x71, 0), 0x77);
	pio32(vrtc_pio, &b, false, 0x70, 0x09);         /* the year: a's clock, not b's */
	pio32(vrtc_pio, &a, false, 0x70, 0x09);
	CHECK_EQ(pio32(vrtc_pio, &b, true, 0x71, 0), pio32(vrtc_pio, &a, true, 0x71, 0));
}

TEST(acpi_round_trip)
{
	static struct vacpi a, b;
	static const struct vacpi_ops ao = { NULL, NULL, NULL, now_a }, bo = { NULL, NULL, NULL, now_b };
	const struct vacpi_ports pa = { 0x600, 0x604, 0x608, 0xcf9 }, pb = { 0x700, 0x704, 0x708, 0xcf9 };

	vacpi_init(&a, &pa, &ao, &ctx_a);
	vacpi_init(&b, &pb, &bo, &ctx_b);
	pio_n(vacpi_pio, &a, false, 0x602, 2, 0x0100);  /* PM1a_EN: power button */
	ROUND_TRIP(vacpi_save, vacpi_load, &a, &b, VACPI_SNAP_SIZE);
	CHECK(b.ops == &bo && b.ctx == &ctx_b);
	CHECK_EQ(b.port.pm1a_evt, 0x700);               /* the board's ports stay */
	CHECK_EQ(pio_n(vacpi_pio, &b, true, 0x702, 2, 0), 0x0100);
}

TEST(lapic_round_trip)
{
	static struct vlapic a, b, c;
	uint64_t v;

	clk_a = clk_b = 5000000;
	vlapic_init(&a, 1, false, 2000000, &ops_a, &ctx_a, now_a, &ctx_a);
	vlapic_init(&b, 1, false, 2000000, &ops_b, &ctx_b, now_b, &ctx_b);
	vlapic_init(&c, 1, false, 3000000, &ops_b, &ctx_b, now_b, &ctx_b);
	v = 0x1ff;
	vlapic_mmio(&a, true, 0xfee000f0, 4, &v);       /* SVR: enabled */
	v = 0x20000 | 0x40;
	vlapic_mmio(&a, true, 0xfee00320, 4, &v);       /* LVT timer: periodic, 0x40 */
	v = 100000;
	vlapic_mmio(&a, true, 0xfee00380, 4, &v);       /* initial count */
	vlapic_set_irq(&a, 0x55, false);
	ROUND_TRIP(vlapic_save, vlapic_load, &a, &b, VLAPIC_SNAP_SIZE);
	CHECK(b.ops == &ops_b && b.now == now_b);
	CHECK(vlapic_load(&c, rec, VLAPIC_SNAP_SIZE));
	CHECK_EQ(c.tsc_khz, 3000000);                   /* this host's rate, a divisor */
	CHECK_EQ(vlapic_timer_deadline(&b), vlapic_timer_deadline(&a));
	CHECK_EQ(vlapic_pending_vector(&b), 0x55);
}

struct pci_rig {
	struct iobus iob;
	struct iobus_region pio[16], mmio[16];
	struct vpci_bus bus;
	struct pci_testdev td;
};

static void f_msi(void *ctx, const struct apic_msg *m) { }
static unsigned f_route(void *ctx, unsigned slot, unsigned pin) { return 16; }
static unsigned intx_calls;
static void f_intx(void *ctx, unsigned gsi, bool level) { intx_calls++; }
static const struct vpci_ops pci_ops = { f_msi, f_route, f_intx, NULL };

static void pci_rig_init(struct pci_rig *r)
{
	memset(r, 0, sizeof(*r));
	iobus_init(&r->iob, r->pio, 16, r->mmio, 16);
	vpci_init(&r->bus, &r->iob, &pci_ops, r);
	pci_testdev_init(&r->td, VPCI_DEVFN(3, 0));
	CHECK(vpci_add(&r->bus, &r->td.fn));
}

static uint64_t cfg_off(unsigned off) { return (uint64_t)VPCI_DEVFN(3, 0) << 12 | off; }

TEST(pci_round_trip)
{
	static struct pci_rig a, b;

	pci_rig_init(&a);
	pci_rig_init(&b);
	vpci_cfg_write(&a.bus, (uint32_t)cfg_off(PCI_BAR0), 4, 0xc000);
	vpci_cfg_write(&a.bus, (uint32_t)cfg_off(PCI_COMMAND), 2, PCI_COMMAND_IO);
	vpci_intx(&a.td.fn, true);
	a.td.scratch = 0xabcd;
	ROUND_TRIP(vpci_save, vpci_load, &a.bus, &b.bus, vpci_snap_size(&a.bus));
	ROUND_TRIP(pci_testdev_save, pci_testdev_load, &a.td, &b.td, PCI_TESTDEV_SNAP_SIZE);
	CHECK_EQ(vpci_cfg_read(&b.bus, (uint32_t)cfg_off(PCI_BAR0), 4), 0xc001);
	/* The BAR decodes on b's bus where the restored registers say. */
	struct io_req r = { .addr = 0xc000 + PCI_TESTDEV_SCRATCH, .size = 4 };
	CHECK_EQ(iobus_pio(&b.iob, &r), 0);
	CHECK_EQ(r.val, 0xabcd);
	CHECK(b.bus.gsi_level[16]);
	/* A bus with other functions does not take the record. */
	static struct pci_rig c;
	memset(&c, 0, sizeof(c));
	iobus_init(&c.iob, c.pio, 16, c.mmio, 16);
	vpci_init(&c.bus, &c.iob, &pci_ops, &c);
	CHECK(!vpci_load(&c.bus, rec, vpci_save(&a.bus, rec, sizeof(rec))));
}

int main(void)
{
	check_start("snapdev");
	RUN(uart_round_trip);
	RUN(fwcfg_round_trip);
	RUN(testmmio_round_trip);
	RUN(ioapic_round_trip);
	RUN(pic_round_trip);
	RUN(pit_round_trip);
	RUN(rtc_round_trip);
	RUN(acpi_round_trip);
	RUN(lapic_round_trip);
	RUN(pci_round_trip);
	return check_finish();
}
