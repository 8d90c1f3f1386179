/*
 * pci: PCI bus 0 as a guest's firmware and drivers find it (PCI Local Bus
 * 3.0), run with 2 vCPUs and `pci_testdev = on` (devices/pci_testdev.h):
 *  1. enumeration of every function of bus 0 through configuration
 *     mechanism #1 (0xcf8/0xcfc, §3.2.2.3.2) and through ECAM at
 *     0xe0000000: both give the same 256 bytes for each function; the
 *     host bridge at 00:00.0 has class 06 00 00;
 *  2. the test function's capability list (MSI-X, MSI) and BAR sizing
 *     (§6.2.5.1): I/O 32 ports, 32-bit memory 4 KiB, 64-bit prefetchable
 *     64 KiB, the MSI-X BAR 4 KiB;
 *  3. BARs programmed, the 64-bit one above 4 GiB within the CPU's
 *     physical address width: the I/O BAR answers only with I/O decode
 *     on, and after a move only at its new port; each memory BAR answers
 *     at its address with its own index, and shares the scratch register;
 *  4. MSI-X (§6.8.2): vector to the AP by physical APIC id; to the AP by
 *     logical destination (flat model, lowest priority); an entry masked
 *     holds the message in the PBA until unmasked; the function mask too;
 *  5. MSI (§6.8.1): 4 vectors, the low data bits carry the vector; a
 *     masked vector is pending until unmasked;
 *  6. INTx: INTA of slot 3 through the IOAPIC at GSI 16 + (slot + pin) % 4
 *     = 19, level-triggered, active low; Interrupt Disable holds it off.
 * Command line: `expect=bridge` checks a VM without the test function
 * (the host bridge alone); `mode=touch-disabled` reads the 32-bit memory
 * BAR with memory decode off, which ends the VM (no device there).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "pci";

#define ECAM_BASE       0xe0000000ul
#define TD_VENDOR       0x1b36
#define TD_DEVICE       0x0005
#define TD_SLOT         3
#define TD_MAGIC        0x7e57de70u
#define R_SCRATCH       0x04
#define R_MSIX          0x08
#define R_MSI           0x0c
#define R_INTX          0x10
#define R_WHICH         0x14

#define IO_BASE         0xc000
#define IO_BASE2        0xc100
#define MEM32_BASE      0xc0000000ul
#define MEM32_BASE2     0xc0100000ul
#define MSIX_BASE       0xc0010000ul
#define MEM64_BASE      0x200000000ull  /* 8 GiB */

#define VEC_BASE        0x40
#define VEC_INTX        0x60
#define APIC_DFR        0x0e0
#define WAIT_US         20000000        /* only a failure waits this long */
#define QUIET_US        20000

static volatile unsigned hits[MAX_CPUS][32];    /* per CPU, vector - VEC_BASE */
static volatile unsigned ready;
static uint16_t io_base = IO_BASE;
static volatile unsigned intx_runs;

/* ---- configuration space ------------------------------------------------- */

static uint32_t conf1_read(unsigned dev, unsigned fn, unsigned reg)
{
	outl(0xcf8, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
	return inl(0xcfc);
}

static volatile uint32_t *ecam(unsigned dev, unsigned fn, unsigned reg)
{
	return (volatile uint32_t *)(ECAM_BASE | dev << 15 | fn << 12 | reg);
}

static uint32_t cfg_rd(unsigned reg, unsigned size)
{
	uintptr_t a = (uintptr_t)ecam(TD_SLOT, 0, 0) + reg;
	if (size == 1)
		return *(volatile uint8_t *)a;
	if (size == 2)
		return *(volatile uint16_t *)a;
	return *(volatile uint32_t *)a;
}

static void cfg_wr(unsigned reg, unsigned size, uint32_t v)
{
	uintptr_t a = (uintptr_t)ecam(TD_SLOT, 0, 0) + reg;
	if (size == 1)
		*(volatile uint8_t *)a = (uint8_t)v;
	else if (size == 2)
		*(volatile uint16_t *)a = (uint16_t)v;
	else
		*(volatile uint32_t *)a = v;
}

/* Config mechanism #1 with byte and word widths, the other path. */
static void conf1_write16(unsigned dev, unsigned reg, uint16_t v)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	outw((uint16_t)(0xcfc + (reg & 2)), v);
}

/* Every function of bus 0, both ways; returns whether the test function is there. */
static bool enumerate(void)
{
	bool found_td = false;
	unsigned nfn = 0;

	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = conf1_read(dev, fn, 0);
			if (*ecam(dev, fn, 0) != id) {
				guest_fail("%02x.%u: ID 0x%x by 0xcf8, 0x%x by ECAM", dev, fn, id,
					   *ecam(dev, fn, 0));
				continue;
			}
			/* Every function is compared, even of single-function
			 * devices: both paths must say who is absent too. */
			if (id == 0xffffffff)
				continue;
			nfn++;
			unsigned diff = 0;
			for (unsigned reg = 0; reg < 256; reg += 4)
				if (conf1_read(dev, fn, reg) != *ecam(dev, fn, reg))
					diff++;
			uint32_t cls = conf1_read(dev, fn, 8) >> 8;
			guest_printf("pci: 00:%02x.%u %04x:%04x class %06x header %02x, "
				     "%u of 64 dwords differ between 0xcf8 and ECAM\n", dev, fn,
				     id & 0xffff, id >> 16, cls, (conf1_read(dev, fn, 0xc) >> 16) & 0xff,
				     diff);
			if (diff)
				guest_fail("00:%02x.%u: 0xcf8 and ECAM disagree", dev, fn);
			if (dev == 0 && fn == 0 && cls != 0x060000)
				guest_fail("00:00.0 is not a host bridge (class %06x)", cls);
			if (id == (TD_DEVICE << 16 | TD_VENDOR) && dev == TD_SLOT)
				found_td = true;
		}
	}
	/* Past the last bus ECAM covers nothing answers on 0xcf8. */
	outl(0xcf8, 0x80010000u);
	guest_check_eq("bus 1 through 0xcf8", inl(0xcfc), 0xffffffff);
	guest_printf("pci: %u function(s) on bus 0\n", nfn);
	return found_td;
}

static unsigned find_cap(uint8_t id)
{
	unsigned at = cfg_rd(0x34, 1);

	for (unsigned n = 0; at && n < 48; n++) {
		if (cfg_rd(at, 1) == id)
			return at;
		at = cfg_rd(at + 1, 1);
	}
	return 0;
}

/* ---- BARs ------------------------------------------------------------------ */

static uint64_t bar_size(unsigned i, uint32_t *type)
{
	unsigned reg = 0x10 + 4 * i;
	uint32_t old = cfg_rd(reg, 4);

	cfg_wr(reg, 4, 0xffffffff);
	uint32_t lo = cfg_rd(reg, 4);
	cfg_wr(reg, 4, old);
	*type = old & ((old & 1) ? 0x3 : 0xf);
	if (old & 1)
		return (uint16_t)~(lo & ~3u) + 1;
	uint64_t mask = lo & ~0xfu;
	if ((old & 6) == 4) {
		uint32_t oldhi = cfg_rd(reg + 4, 4);
		cfg_wr(reg + 4, 4, 0xffffffff);
		mask |= (uint64_t)cfg_rd(reg + 4, 4) << 32;
		cfg_wr(reg + 4, 4, oldhi);
	} else {
		mask |= 0xffffffff00000000ull;
	}
	return ~mask + 1;
}

static uint32_t mmio_rd(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }
static void mmio_wr(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }

static uint8_t phys_bits(void)
{
	uint32_t r[4];

	cpuid(0x80000000, 0, r);
	if (r[0] < 0x80000008)
		return 36;
	cpuid(0x80000008, 0, r);
	return (uint8_t)r[0];
}

static void check_bars(uint64_t *mem64)
{
	static const struct { uint32_t type; uint64_t size; } want[6] = {
		{ 0x1, 32 }, { 0x0, 0x1000 }, { 0xc, 0x10000 }, { 0, 0 }, { 0x0, 0x1000 }, { 0, 0 },
	};
	for (unsigned i = 0; i < 6; i++) {
		if (i == 3 || i == 5)
			continue;
		uint32_t type;
		uint64_t size = bar_size(i, &type);
		guest_printf("pci: BAR%u type %x size 0x%llx\n", i, type, (unsigned long long)size);
		if (type != want[i].type || size != want[i].size)
			guest_fail("BAR%u: type %x size 0x%llx, expected %x 0x%llx", i, type,
				   (unsigned long long)size, want[i].type,
				   (unsigned long long)want[i].size);
	}
	uint8_t bits = phys_bits();
	*mem64 = MEM64_BASE;
	if (bits < 34)
		*mem64 = (1ull << bits) - 0x10000;
	cfg_wr(0x10, 4, IO_BASE);
	cfg_wr(0x14, 4, MEM32_BASE);
	cfg_wr(0x18, 4, (uint32_t)*mem64);
	cfg_wr(0x1c, 4, (uint32_t)(*mem64 >> 32));
	cfg_wr(0x20, 4, MSIX_BASE);
	guest_printf("pci: physical address width %u bits; BARs at port 0x%x, 0x%lx, 0x%llx, "
		     "MSI-X 0x%lx\n", bits, IO_BASE, MEM32_BASE, (unsigned long long)*mem64,
		     MSIX_BASE);
	guest_check_eq("BAR2+3 read back", cfg_rd(0x18, 4) | (uint64_t)cfg_rd(0x1c, 4) << 32,
		       *mem64 | 0xc);
	if (*mem64 >= (4ull << 30) && !pt_map_upto(*mem64 + (2ull << 20)))
		guest_error("cannot map 0x%llx", (unsigned long long)*mem64);
}

static void check_decode(uint64_t mem64)
{
	/* Decode off: the I/O BAR's ports are nobody's. */
	guest_check_eq("I/O BAR with decode off", inl(IO_BASE), 0xffffffff);
	cfg_wr(0x04, 2, 0x0001);
	guest_check_eq("I/O BAR magic", inl(IO_BASE), TD_MAGIC);
	guest_check_eq("I/O BAR index", inl(IO_BASE + R_WHICH), 0);
	cfg_wr(0x04, 2, 0x0003);
	guest_check_eq("32-bit BAR magic", mmio_rd(MEM32_BASE), TD_MAGIC);
	guest_check_eq("32-bit BAR index", mmio_rd(MEM32_BASE + R_WHICH), 1);
	guest_check_eq("64-bit BAR magic", mmio_rd(mem64), TD_MAGIC);
	guest_check_eq("64-bit BAR index", mmio_rd(mem64 + R_WHICH), 2);
	mmio_wr(mem64 + R_SCRATCH, 0x5a5aa5a5);
	guest_check_eq("scratch through the I/O BAR", inl(IO_BASE + R_SCRATCH), 0x5a5aa5a5);
	outl(IO_BASE + R_SCRATCH, 0x12345678);
	guest_check_eq("scratch through the 32-bit BAR", mmio_rd(MEM32_BASE + R_SCRATCH),
		       0x12345678);
	/* I/O decode off again: the ports go, memory stays. */
	cfg_wr(0x04, 2, 0x0002);
	guest_check_eq("I/O BAR after I/O decode off", inl(IO_BASE), 0xffffffff);
	guest_check_eq("32-bit BAR with I/O decode off", mmio_rd(MEM32_BASE), TD_MAGIC);
	/* Moves while decoding. */
	cfg_wr(0x04, 2, 0x0003);
	cfg_wr(0x10, 4, IO_BASE2);
	guest_check_eq("I/O BAR at its old port", inl(IO_BASE), 0xffffffff);
	guest_check_eq("I/O BAR at its new port", inl(IO_BASE2), TD_MAGIC);
	io_base = IO_BASE2;
	cfg_wr(0x14, 4, MEM32_BASE2);
	guest_check_eq("32-bit BAR at its new address", mmio_rd(MEM32_BASE2 + R_WHICH), 1);
	guest_printf("pci: BARs decode: I/O only with I/O decode on, at 0x%x after a move; "
		     "memory at 0x%lx and 0x%llx\n", io_base, MEM32_BASE2,
		     (unsigned long long)mem64);
}

/* ---- interrupts ------------------------------------------------------------- */

static void count_irq(unsigned vector)
{
	__atomic_fetch_add(&hits[smp_this_cpu()][vector - VEC_BASE], 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

/* INTx handler: the device's line goes down before the EOI (level). */
static void intx_irq(unsigned vector)
{
	(void)vector;
	__atomic_fetch_add(&intx_runs, 1, __ATOMIC_RELAXED);
	outl(io_base + R_INTX, 0);
	lapic_eoi();
}

static void ap_main(unsigned cpu)
{
	lapic_enable();
	lapic_write(APIC_DFR, 0xffffffff);              /* flat model (§11.6.2.2) */
	lapic_write(APIC_LDR, (1u << cpu) << 24);
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	irq_disable();
	for (;;)
		irq_wait();
}

/* Wait for CPU cpu's count of vec to reach n, then a moment more; check it. */
static void expect_hits(const char *what, unsigned cpu, unsigned vec, unsigned n)
{
	wait_until(hits[cpu][vec - VEC_BASE] >= n, WAIT_US);
	delay_us(QUIET_US);
	unsigned got = hits[cpu][vec - VEC_BASE];
	guest_printf("pci: %s: vector 0x%x on CPU %u %u time(s)\n", what, vec, cpu, got);
	if (got != n)
		guest_fail("%s: vector 0x%x on CPU %u %u time(s), expected %u", what, vec, cpu,
			   got, n);
}

static uint32_t msi_addr(uint32_t dest, bool logical)
{
	return 0xfee00000u | dest << 12 | (logical ? 4 : 0);
}

static void msix_entry(unsigned n, uint32_t addr, uint32_t data, bool masked)
{
	mmio_wr(MSIX_BASE + 16 * n, addr);
	mmio_wr(MSIX_BASE + 16 * n + 4, 0);
	mmio_wr(MSIX_BASE + 16 * n + 8, data);
	mmio_wr(MSIX_BASE + 16 * n + 12, masked);
}

static void raise(unsigned reg, unsigned n)
{
	mmio_wr(MEM32_BASE2 + reg, n);
	guest_check_eq("raise accepted", mmio_rd(MEM32_BASE2 + reg), 1);
}

static void check_msix(unsigned ap_id)
{
	unsigned cap = find_cap(0x11);
	uint64_t pba;

	if (!cap) {
		guest_fail("no MSI-X capability");
		return;
	}
	guest_check_eq("MSI-X table size", (cfg_rd(cap + 2, 2) & 0x7ff) + 1, 4);
	guest_check_eq("MSI-X table BIR/offset", cfg_rd(cap + 4, 4), 4);
	cfg_wr(0x04, 2, 0x0007);                        /* bus master: MSI is a write */
	msix_entry(0, msi_addr(ap_id, false), VEC_BASE + 0, false);
	msix_entry(1, msi_addr(0x02, true), 0x100 | (VEC_BASE + 1), false);  /* lowest */
	msix_entry(2, msi_addr(0, false), VEC_BASE + 2, true);
	cfg_wr(cap + 2, 2, 0x8000);
	raise(R_MSIX, 0);
	expect_hits("MSI-X physical to the AP", 1, VEC_BASE + 0, 1);
	raise(R_MSIX, 1);
	expect_hits("MSI-X logical 0x02, lowest priority", 1, VEC_BASE + 1, 1);
	guest_check_eq("no MSI-X on the BSP", hits[0][0] + hits[0][1], 0);
	/* Entry mask: pending in the PBA, sent on unmasking. */
	raise(R_MSIX, 2);
	expect_hits("MSI-X entry masked", 0, VEC_BASE + 2, 0);
	pba = mmio_rd(MSIX_BASE + 0x800);
	guest_check_eq("PBA while masked", pba, 0x4);
	mmio_wr(MSIX_BASE + 32 + 12, 0);
	expect_hits("MSI-X entry unmasked", 0, VEC_BASE + 2, 1);
	guest_check_eq("PBA after unmasking", mmio_rd(MSIX_BASE + 0x800), 0);
	/* Function mask. */
	cfg_wr(cap + 2, 2, 0xc000);
	raise(R_MSIX, 0);
	expect_hits("MSI-X function masked", 1, VEC_BASE + 0, 1);
	guest_check_eq("PBA under the function mask", mmio_rd(MSIX_BASE + 0x800), 0x1);
	cfg_wr(cap + 2, 2, 0x8000);
	expect_hits("MSI-X function unmasked", 1, VEC_BASE + 0, 2);
	guest_printf("pci: MSI-X ok: pending bits 0x%llx while masked\n", (unsigned long long)pba);
	cfg_wr(cap + 2, 2, 0);
}

static void check_msi(unsigned ap_id)
{
	unsigned cap = find_cap(0x05);

	if (!cap) {
		guest_fail("no MSI capability");
		return;
	}
	uint16_t ctl = (uint16_t)cfg_rd(cap + 2, 2);
	guest_check_eq("MSI control (4 vectors, 64-bit, per-vector mask)", ctl, 0x0184);
	cfg_wr(cap + 4, 4, msi_addr(ap_id, false));
	cfg_wr(cap + 8, 4, 0);
	cfg_wr(cap + 12, 2, VEC_BASE + 8);              /* 0x48: 4 aligned */
	cfg_wr(cap + 16, 4, 0);
	cfg_wr(cap + 2, 2, 0x0001 | 2 << 4);            /* enable, 4 vectors */
	raise(R_MSI, 1);
	expect_hits("MSI vector 1", 1, VEC_BASE + 9, 1);
	cfg_wr(cap + 16, 4, 0x8);
	raise(R_MSI, 3);
	expect_hits("MSI vector 3 masked", 1, VEC_BASE + 11, 0);
	guest_check_eq("MSI pending bits", cfg_rd(cap + 20, 4), 0x8);
	cfg_wr(cap + 16, 4, 0);
	expect_hits("MSI vector 3 unmasked", 1, VEC_BASE + 11, 1);
	guest_check_eq("MSI pending after unmasking", cfg_rd(cap + 20, 4), 0);
	/* Logical destination: the BSP's LDR bit. */
	cfg_wr(cap + 4, 4, msi_addr(0x01, true));
	raise(R_MSI, 2);
	expect_hits("MSI logical 0x01", 0, VEC_BASE + 10, 1);
	cfg_wr(cap + 2, 2, 0);
}

static void check_intx(const struct madt_info *m)
{
	unsigned line = cfg_rd(0x3c, 1), pin = cfg_rd(0x3d, 1);
	unsigned gsi = 16 + (TD_SLOT + pin - 1) % 4;

	guest_printf("pci: INTx pin %u, interrupt line %u, GSI %u by the swizzle\n", pin, line, gsi);
	guest_check_eq("interrupt pin", pin, 1);
	guest_check_eq("interrupt line = swizzled GSI", line, gsi);
	if (gsi >= ioapic_pins()) {
		guest_fail("IOAPIC has %u pins", ioapic_pins());
		return;
	}
	ioapic_set_rte(gsi, VEC_INTX | RTE_LEVEL | RTE_ACTLOW | RTE_DEST(m->apic_ids[0]));
	outl(io_base + R_INTX, 1);
	wait_until(intx_runs >= 1, WAIT_US);
	delay_us(QUIET_US);
	guest_check_eq("INTx interrupts", intx_runs, 1);
	guest_check_eq("status: interrupt bit after the handler", cfg_rd(0x06, 2) & 0x8, 0);
	/* Interrupt Disable: the line is up (status says so) but nothing comes. */
	conf1_write16(TD_SLOT, 0x04, 0x0403);
	outl(io_base + R_INTX, 1);
	delay_us(QUIET_US);
	guest_check_eq("INTx with Interrupt Disable", intx_runs, 1);
	guest_check_eq("status: interrupt bit while disabled", cfg_rd(0x06, 2) & 0x8, 0x8);
	conf1_write16(TD_SLOT, 0x04, 0x0003);
	wait_until(intx_runs >= 2, WAIT_US);
	delay_us(QUIET_US);
	guest_check_eq("INTx after Interrupt Disable cleared", intx_runs, 2);
	guest_printf("pci: INTx through IOAPIC pin %u: %u interrupt(s)\n", gsi, intx_runs);
	ioapic_set_rte(gsi, RTE_MASKED);
}

/* ---- the runs ------------------------------------------------------------- */

static void bridge_only(void)
{
	if (enumerate())
		guest_fail("a test function where none was asked for");
	guest_check_eq("00:00.0 ID", conf1_read(0, 0, 0), 0x29c08086);
}

static void touch_disabled(void)
{
	cfg_wr(0x14, 4, MEM32_BASE);
	cfg_wr(0x04, 2, 0x0001);
	guest_printf("pci: touching BAR1 at 0x%lx with memory decode off\n", MEM32_BASE);
	mmio_rd(MEM32_BASE);
	guest_fail("the read of BAR1 with decode off returned");
}

void test_main(void)
{
	const char *cmd = mb2_valid(boot_info) ? mb2_cmdline(boot_info) : "";
	char val[32];
	struct madt_info m;
	uint64_t mem64;

	pt_init();
	if (cmdline_get(cmd, "expect", val, sizeof(val)) && !strcmp(val, "bridge")) {
		bridge_only();
		return;
	}
	if (!enumerate()) {
		guest_fail("no test function at 00:%02x.0", TD_SLOT);
		return;
	}
	if (cmdline_get(cmd, "mode", val, sizeof(val)) && !strcmp(val, "touch-disabled")) {
		touch_disabled();
		return;
	}
	guest_check_eq("capabilities in status", cfg_rd(0x06, 2) & 0x10, 0x10);
	check_bars(&mem64);
	check_decode(mem64);

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (m.nr_cpus < 2) {
		guest_error("needs 2 CPUs, the MADT lists %u", m.nr_cpus);
		return;
	}
	lapic_write(APIC_DFR, 0xffffffff);
	lapic_write(APIC_LDR, 1u << 24);
	ioapic_init(m.ioapic_addr);
	ioapic_mask_all();
	pic_init(PIC_VEC_MASTER, PIC_VEC_SLAVE);
	for (unsigned v = VEC_BASE; v < VEC_BASE + 32; v++)
		irq_set_handler(v, count_irq);
	irq_set_handler(VEC_INTX, intx_irq);
	if (smp_start_aps(&m, ap_main) < 2 || !wait_until(ready, WAIT_US)) {
		guest_fail("the AP did not start");
		return;
	}
	irq_enable();
	check_msix(smp_apic_ids[1]);
	check_msi(smp_apic_ids[1]);
	check_intx(&m);
	irq_disable();
}
