/*
 * PCI bus 0 of a VM: configuration space, BARs on the I/O bus, INTx, MSI
 * and MSI-X; see vpci.h.
 *
 * Every register access is a dword with byte enables, as on the bus itself
 * (PCI 3.0 §3.2.2.3.2): the two access paths split a guest access into
 * the dwords it touches.  A write keeps the read-only bits (wmask clear),
 * takes the writable ones, and clears the write-1-to-clear ones; then the
 * bus reacts to what changed (decode enables, BARs, interrupt control).
 */
#include "devices/vpci.h"
#include "devices/devsnap.h"
#include "lib/string.h"

#define MSI_ADDR_BASE       0xfee00000u         /* SDM vol. 3A §11.11.1 */
#define MSI_ADDR_MASK       0xfff00000u
#define MSI_ADDR_DEST(a)    (((a) >> 12) & 0xff)
#define MSI_ADDR_RH         (1u << 3)
#define MSI_ADDR_DM         (1u << 2)
#define MSI_DATA_VECTOR(d)  ((d) & 0xff)        /* §11.11.2 */
#define MSI_DATA_DELMODE(d) (((d) >> 8) & 7)
#define MSI_DATA_TRIGGER    (1u << 15)

/* Command bits a guest may write: I/O, memory, bus master, parity error
 * response, SERR#, Interrupt Disable (PCI 3.0 §6.2.2). */
#define COMMAND_WMASK       0x0547
/* Status error bits are write-1-to-clear (§6.2.3). */
#define STATUS_W1C          0xf900

/* ---- register bytes ---------------------------------------------------- */

static uint32_t get(const uint8_t *a, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)a[off + i] << (8 * i);
	return v;
}

static void put(uint8_t *a, unsigned off, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		a[off + i] = (uint8_t)(v >> (8 * i));
}

static bool fits(unsigned off, unsigned size)
{
	return size <= 4 && off <= VPCI_CFG_SIZE && size <= VPCI_CFG_SIZE - off;
}

uint32_t vpci_cfg_get(const struct vpci_func *fn, unsigned off, unsigned size)
{
	return fits(off, size) ? get(fn->cfg, off, size) : 0;
}

void vpci_cfg_put(struct vpci_func *fn, unsigned off, unsigned size, uint32_t val)
{
	if (fits(off, size))
		put(fn->cfg, off, size, val);
}

void vpci_cfg_wmask(struct vpci_func *fn, unsigned off, unsigned size, uint32_t mask)
{
	if (fits(off, size))
		put(fn->wmask, off, size, mask);
}

static uint16_t command(const struct vpci_func *fn)
{
	return (uint16_t)get(fn->cfg, PCI_COMMAND, 2);
}

/* ---- building a function ------------------------------------------------ */

void vpci_func_init(struct vpci_func *fn, uint8_t devfn, uint16_t vendor, uint16_t device,
		    uint32_t class_code, uint8_t revision, const struct vpci_func_ops *ops,
		    void *dev)
{
	memset(fn, 0, sizeof(*fn));
	fn->devfn = devfn;
	fn->ops = ops;
	fn->dev = dev;
	fn->cap_free = 0x40;            /* after the type 0 header */
	fn->gsi = VPCI_MAX_GSI;         /* no INTx route */
	put(fn->cfg, PCI_VENDOR_ID, 2, vendor);
	put(fn->cfg, PCI_DEVICE_ID, 2, device);
	put(fn->cfg, PCI_REVISION_ID, 1, revision);
	put(fn->cfg, PCI_CLASS_PROG, 3, class_code);
	put(fn->wmask, PCI_COMMAND, 2, COMMAND_WMASK);
	put(fn->w1c, PCI_STATUS, 2, STATUS_W1C);
	put(fn->wmask, PCI_CACHE_LINE_SIZE, 1, 0xff);
	put(fn->wmask, PCI_LATENCY_TIMER, 1, 0xff);
	put(fn->wmask, PCI_INTERRUPT_LINE, 1, 0xff);
}

void vpci_func_subsystem(struct vpci_func *fn, uint16_t vendor, uint16_t id)
{
	put(fn->cfg, PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
	put(fn->cfg, PCI_SUBSYSTEM_ID, 2, id);
}

bool vpci_func_bar(struct vpci_func *fn, unsigned i, enum vpci_bar_type type, bool prefetch,
		   uint64_t size, io_handler_t handler, void *dev)
{
	bool wide = type == VPCI_BAR_MEM64;
	unsigned off = PCI_BAR0 + 4 * i;

	if (i >= VPCI_NR_BARS || (wide && i + 1 >= VPCI_NR_BARS) || !handler ||
	    type == VPCI_BAR_NONE || size == 0 || (size & (size - 1)))
		return false;
	if (fn->bar[i].type != VPCI_BAR_NONE || (wide && fn->bar[i + 1].type != VPCI_BAR_NONE) ||
	    (i > 0 && fn->bar[i - 1].type == VPCI_BAR_MEM64))
		return false;
	if (type == VPCI_BAR_IO ? size < 4 || size > 256 :
	    size < 16 || (type == VPCI_BAR_MEM32 && size > 0x80000000ULL))
		return false;
	fn->bar[i] = (struct vpci_bar){ type, prefetch, size, handler, dev, NULL, 0 };
	/* §6.2.5.1: the low bits say the type; the address bits below the
	 * size read as zero, which is how software sizes the BAR. */
	if (type == VPCI_BAR_IO) {
		put(fn->cfg, off, 4, PCI_BAR_IO);
		put(fn->wmask, off, 4, (uint32_t)~(size - 1) & 0xfffc);   /* 16-bit ports */
		return true;
	}
	put(fn->cfg, off, 4, (wide ? PCI_BAR_MEM_64 : 0) | (prefetch ? PCI_BAR_PREFETCH : 0));
	put(fn->wmask, off, 4, (uint32_t)~(size - 1) & 0xfffffff0);
	if (wide)
		put(fn->wmask, off + 4, 4, (uint32_t)(~(size - 1) >> 32));
	return true;
}

void vpci_func_intx_pin(struct vpci_func *fn, uint8_t pin)
{
	put(fn->cfg, PCI_INTERRUPT_PIN, 1, pin <= 4 ? pin : 0);
}

uint8_t vpci_func_cap(struct vpci_func *fn, uint8_t id, unsigned len)
{
	unsigned at = fn->cap_free;

	if (len < 2 || at + len > VPCI_CFG_SIZE)
		return 0;
	/* §6.7: each capability is dword aligned; the list ends with next = 0. */
	fn->cap_free = (uint16_t)ALIGN_UP(at + len, 4);
	put(fn->cfg, at, 1, id);
	put(fn->cfg, at + 1, 1, 0);
	if (fn->cap_last)
		put(fn->cfg, fn->cap_last + 1u, 1, at);
	else
		put(fn->cfg, PCI_CAPABILITY_LIST, 1, at);
	fn->cap_last = (uint8_t)at;
	put(fn->cfg, PCI_STATUS, 2, get(fn->cfg, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
	return (uint8_t)at;
}

/*
 * MSI capability, 64-bit address (PCI 3.0 §6.8.1, Figure 6-9): control at
 * +2, address +4/+8, data +0xc; with per-vector masking, mask bits +0x10
 * and pending bits +0x14.
 */
#define MSI_ADDR_HI     0x08
#define MSI_DATA        0x0c
#define MSI_MASK        0x10
#define MSI_PENDING     0x14

bool vpci_func_msi(struct vpci_func *fn, unsigned nr, bool per_vector_mask)
{
	unsigned log2 = 0;

	while ((1u << log2) < nr && log2 < 5)
		log2++;
	if (nr == 0 || (1u << log2) != nr || fn->msi_cap)
		return false;
	uint8_t at = vpci_func_cap(fn, PCI_CAP_ID_MSI, per_vector_mask ? 0x18 : 0x0e);
	if (!at)
		return false;
	fn->msi_cap = at;
	put(fn->cfg, at + PCI_MSI_FLAGS, 2, (log2 << 1) | PCI_MSI_FLAGS_64BIT |
	    (per_vector_mask ? PCI_MSI_FLAGS_MASKBIT : 0));
	put(fn->wmask, at + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	put(fn->wmask, at + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	put(fn->wmask, at + MSI_ADDR_HI, 4, 0xffffffff);
	put(fn->wmask, at + MSI_DATA, 2, 0xffff);
	if (per_vector_mask)
		put(fn->wmask, at + MSI_MASK, 4, nr == 32 ? 0xffffffff : (1u << nr) - 1);
	return true;
}

static int msix_mmio(void *dev, struct io_req *req);

bool vpci_func_msix(struct vpci_func *fn, unsigned nr, unsigned bar)
{
	if (nr == 0 || nr > VPCI_MSIX_MAX || fn->msix_cap ||
	    !vpci_func_bar(fn, bar, VPCI_BAR_MEM32, false, VPCI_MSIX_BAR_SIZE, msix_mmio, fn))
		return false;
	uint8_t at = vpci_func_cap(fn, PCI_CAP_ID_MSIX, 12);
	if (!at) {
		memset(&fn->bar[bar], 0, sizeof(fn->bar[bar]));
		put(fn->cfg, PCI_BAR0 + 4 * bar, 4, 0);
		put(fn->wmask, PCI_BAR0 + 4 * bar, 4, 0);
		return false;
	}
	fn->msix_cap = at;
	fn->msix_bar = (uint8_t)bar;
	fn->msix_n = (uint16_t)nr;
	/* §6.8.2.3-5: table size N-1; table and PBA offsets with their BIR. */
	put(fn->cfg, at + PCI_MSIX_FLAGS, 2, nr - 1);
	put(fn->wmask, at + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	put(fn->cfg, at + PCI_MSIX_TABLE, 4, 0 | bar);
	put(fn->cfg, at + PCI_MSIX_PBA, 4, VPCI_MSIX_PBA_OFF | bar);
	/* §6.8.2.9: every vector starts masked. */
	for (unsigned i = 0; i < nr; i++)
		fn->msix[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	return true;
}

/* ---- interrupts ---------------------------------------------------------- */

bool vpci_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *m)
{
	unsigned mode = MSI_DATA_DELMODE(data);

	if ((addr & ~(uint64_t)0xfffff) != MSI_ADDR_BASE)
		return false;
	/* §11.11.2: fixed, lowest priority, SMI, NMI, INIT, ExtINT; 011b and
	 * 110b reserved.  No SMM and no INTA cycle here: SMI and ExtINT go too. */
	if (mode != APIC_DM_FIXED && mode != APIC_DM_LOWEST && mode != APIC_DM_NMI &&
	    mode != APIC_DM_INIT)
		return false;
	/* §11.11.1: RH = 1 lets the chipset redirect the message to one of the
	 * destinations, as lowest priority does (KVM reads it so too); DM picks
	 * the logical or physical reading of the destination ID. */
	if ((addr & MSI_ADDR_RH) && mode == APIC_DM_FIXED)
		mode = APIC_DM_LOWEST;
	*m = (struct apic_msg){
		.dest = MSI_ADDR_DEST(addr),
		.logical = (addr & MSI_ADDR_DM) != 0,
		.delivery = (uint8_t)mode,
		.vector = (uint8_t)MSI_DATA_VECTOR(data),
		.level = (data & MSI_DATA_TRIGGER) != 0,
	};
	return true;
}

/* A function's memory write of data to addr, as an interrupt message.
 * Bus lock held.  Not sent without Bus Master Enable (MSI is a memory
 * write the function initiates, §6.8.1). */
static void send(struct vpci_func *fn, uint64_t addr, uint32_t data)
{
	struct vpci_bus *b = fn->bus;
	struct apic_msg m;

	if (!(command(fn) & PCI_COMMAND_MASTER) || !vpci_msi_decode(addr, data, &m)) {
		fn->msi_dropped++;
		/* No IOMMU here: a message to RAM would be a DMA write, which a
		 * device of kasane's never makes on its own.  Dropped. */
		if ((command(fn) & PCI_COMMAND_MASTER) && b->ops->msi_dropped)
			b->ops->msi_dropped(b->ctx, fn->devfn, addr, data);
		return;
	}
	b->ops->msi(b->ctx, &m);
}

static bool msi_on(const struct vpci_func *fn)
{
	return fn->msi_cap && (get(fn->cfg, fn->msi_cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE);
}

static bool msix_on(const struct vpci_func *fn)
{
	return fn->msix_cap && (get(fn->cfg, fn->msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
}

/* Vectors the guest allocated: 2^MME, at most what the function offers. */
static unsigned msi_allocated(const struct vpci_func *fn)
{
	uint32_t ctl = get(fn->cfg, fn->msi_cap + PCI_MSI_FLAGS, 2);

	return 1u << MIN((ctl & PCI_MSI_FLAGS_QSIZE) >> 4, (ctl & PCI_MSI_FLAGS_QMASK) >> 1);
}

static bool msi_has_mask(const struct vpci_func *fn)
{
	return get(fn->cfg, fn->msi_cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_MASKBIT;
}

/* Send MSI vector n now: the data's low bits carry n (§6.8.1.6). */
static void msi_send(struct vpci_func *fn, unsigned n)
{
	unsigned at = fn->msi_cap;
	uint64_t addr = get(fn->cfg, at + PCI_MSI_ADDRESS_LO, 4) |
			(uint64_t)get(fn->cfg, at + MSI_ADDR_HI, 4) << 32;
	uint32_t data = get(fn->cfg, at + MSI_DATA, 2);

	send(fn, addr, (data & ~(msi_allocated(fn) - 1)) | n);
}

/* After a write to the MSI capability: unmasked pending vectors go out. */
static void msi_release(struct vpci_func *fn)
{
	if (!msi_on(fn) || !msi_has_mask(fn))
		return;
	unsigned at = fn->msi_cap;
	uint32_t pend = get(fn->cfg, at + MSI_PENDING, 4);
	uint32_t go = pend & ~get(fn->cfg, at + MSI_MASK, 4);

	for (unsigned n = 0; n < msi_allocated(fn); n++) {
		if (!(go & (1u << n)))
			continue;
		pend &= ~(1u << n);
		put(fn->cfg, at + MSI_PENDING, 4, pend);
		msi_send(fn, n);
	}
}

bool vpci_msi_raise(struct vpci_func *fn, unsigned n)
{
	struct vpci_bus *b = fn->bus;
	bool ok = false;

	spin_lock(&b->lock);
	if (msi_on(fn) && n < msi_allocated(fn)) {
		ok = true;
		unsigned at = fn->msi_cap;
		if (msi_has_mask(fn) && (get(fn->cfg, at + MSI_MASK, 4) & (1u << n)))
			put(fn->cfg, at + MSI_PENDING, 4, get(fn->cfg, at + MSI_PENDING, 4) | (1u << n));
		else
			msi_send(fn, n);
	}
	spin_unlock(&b->lock);
	return ok;
}

static bool msix_masked(const struct vpci_func *fn, unsigned n)
{
	return (get(fn->cfg, fn->msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_MASKALL) ||
	       (fn->msix[n].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void msix_send(struct vpci_func *fn, unsigned n)
{
	const struct vpci_msix_entry *e = &fn->msix[n];

	send(fn, e->addr_lo | (uint64_t)e->addr_hi << 32, e->data);
}

/* §6.8.2.9: a pending vector that is no longer masked is sent, and its
 * pending bit cleared.  Bus lock held. */
static void msix_release(struct vpci_func *fn)
{
	if (!msix_on(fn))
		return;
	for (unsigned n = 0; n < fn->msix_n; n++) {
		if (!(fn->msix_pba & (1ULL << n)) || msix_masked(fn, n))
			continue;
		fn->msix_pba &= ~(1ULL << n);
		msix_send(fn, n);
	}
}

bool vpci_msix_raise(struct vpci_func *fn, unsigned n)
{
	struct vpci_bus *b = fn->bus;
	bool ok = false;

	spin_lock(&b->lock);
	if (msix_on(fn) && n < fn->msix_n) {
		ok = true;
		if (msix_masked(fn, n))
			fn->msix_pba |= 1ULL << n;
		else
			msix_send(fn, n);
	}
	spin_unlock(&b->lock);
	return ok;
}

bool vpci_msix_enabled(struct vpci_func *fn)
{
	spin_lock(&fn->bus->lock);
	bool on = msix_on(fn);
	spin_unlock(&fn->bus->lock);
	return on;
}

bool vpci_msi_enabled(struct vpci_func *fn)
{
	spin_lock(&fn->bus->lock);
	bool on = msi_on(fn);
	spin_unlock(&fn->bus->lock);
	return on;
}

/* Does fn drive its INTx pin now? */
static bool intx_driven(const struct vpci_func *fn)
{
	return fn->intx_level && fn->cfg[PCI_INTERRUPT_PIN] &&
	       !(command(fn) & PCI_COMMAND_INTX_DISABLE) && !msi_on(fn) && !msix_on(fn);
}

/* The wired-OR of every function routed to gsi; tell the board of a
 * change.  Bus lock held. */
static void intx_update(struct vpci_bus *b, unsigned gsi)
{
	bool level = false;

	if (gsi >= VPCI_MAX_GSI)
		return;
	for (unsigned i = 0; i < VPCI_NR_DEVFN; i++)
		if (b->fn[i] && b->fn[i]->gsi == gsi && intx_driven(b->fn[i]))
			level = true;
	if (level != b->gsi_level[gsi]) {
		b->gsi_level[gsi] = level;
		b->ops->intx(b->ctx, gsi, level);
	}
}

void vpci_intx(struct vpci_func *fn, bool asserted)
{
	struct vpci_bus *b = fn->bus;

	spin_lock(&b->lock);
	fn->intx_level = asserted;
	/* §6.2.3: Interrupt Status follows the device's INTx, whatever
	 * Interrupt Disable says. */
	uint32_t st = get(fn->cfg, PCI_STATUS, 2) & ~PCI_STATUS_INTERRUPT;
	put(fn->cfg, PCI_STATUS, 2, st | (asserted ? PCI_STATUS_INTERRUPT : 0));
	intx_update(b, fn->gsi);
	spin_unlock(&b->lock);
}

/* ---- the MSI-X table and PBA (§6.8.2.6-7) ------------------------------- */

static uint32_t msix_read32(const struct vpci_func *fn, uint64_t off)
{
	if (off < VPCI_MSIX_PBA_OFF) {
		unsigned n = (unsigned)(off / PCI_MSIX_ENTRY_SIZE);
		if (n >= fn->msix_n)
			return 0;
		const struct vpci_msix_entry *e = &fn->msix[n];
		const uint32_t f[4] = { e->addr_lo, e->addr_hi, e->data, e->ctrl };
		return f[(off % PCI_MSIX_ENTRY_SIZE) / 4];
	}
	off -= VPCI_MSIX_PBA_OFF;
	return off < 8 ? (uint32_t)(fn->msix_pba >> (8 * off)) : 0;
}

static void msix_write32(struct vpci_func *fn, uint64_t off, uint32_t val)
{
	if (off >= VPCI_MSIX_PBA_OFF)
		return;                 /* the PBA is read-only */
	unsigned n = (unsigned)(off / PCI_MSIX_ENTRY_SIZE);
	if (n >= fn->msix_n)
		return;
	struct vpci_msix_entry *e = &fn->msix[n];
	switch ((off % PCI_MSIX_ENTRY_SIZE) / 4) {
	case 0: e->addr_lo = val & ~3u; break;  /* dword aligned (§6.8.2.6) */
	case 1: e->addr_hi = val; break;
	case 2: e->data = val; break;
	case 3: e->ctrl = val & PCI_MSIX_ENTRY_CTRL_MASKBIT; break;
	}
	msix_release(fn);
}

/*
 * The MSI-X BAR.  §6.8.2: software uses aligned dword or qword accesses;
 * anything else reads as zero and writes nothing (the result is undefined).
 */
static int msix_mmio(void *dev, struct io_req *req)
{
	struct vpci_func *fn = dev;
	uint64_t off = req->off;

	if ((req->size != 4 && req->size != 8) || (off & (req->size - 1)) ||
	    off >= VPCI_MSIX_BAR_SIZE) {
		if (!req->write)
			req->val = 0;
		return 0;
	}
	spin_lock(&fn->bus->lock);
	if (req->write) {
		msix_write32(fn, off, (uint32_t)req->val);
		if (req->size == 8)
			msix_write32(fn, off + 4, (uint32_t)(req->val >> 32));
	} else {
		req->val = msix_read32(fn, off);
		if (req->size == 8)
			req->val |= (uint64_t)msix_read32(fn, off + 4) << 32;
	}
	spin_unlock(&fn->bus->lock);
	return 0;
}

/* ---- BARs on the I/O bus --------------------------------------------------- */

static uint64_t bar_addr(const struct vpci_func *fn, unsigned i)
{
	uint32_t lo = get(fn->cfg, PCI_BAR0 + 4 * i, 4);

	switch (fn->bar[i].type) {
	case VPCI_BAR_IO:
		return lo & 0xfffc;
	case VPCI_BAR_MEM64:
		return (lo & ~0xfULL) | (uint64_t)get(fn->cfg, PCI_BAR0 + 4 * (i + 1), 4) << 32;
	default:
		return lo & ~0xfULL;
	}
}

/* Whether BAR i should decode now, and where. */
static bool bar_wanted(const struct vpci_func *fn, unsigned i, uint64_t *base)
{
	const struct vpci_bar *bar = &fn->bar[i];
	uint16_t cmd = command(fn);

	if (bar->type == VPCI_BAR_NONE)
		return false;
	*base = bar_addr(fn, i);
	return (cmd & (bar->type == VPCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) != 0;
}

/*
 * Bring every BAR of the bus in line with its function's registers (§6.2.2
 * decode enables, §6.2.5.1 base addresses).  First every mapped BAR that
 * moved or was turned off is moved or removed, then every BAR still to be
 * placed is added, so two BARs may trade places.  A BAR whose range is
 * taken (another device, another BAR) or does not exist (ports past
 * 0xffff) does not decode until a later write frees it: accesses there
 * reach what was there before.  Bus lock held.
 */
static void bars_update(struct vpci_bus *b)
{
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned d = 0; d < VPCI_NR_DEVFN; d++) {
			struct vpci_func *fn = b->fn[d];
			for (unsigned i = 0; fn && i < VPCI_NR_BARS; i++) {
				struct vpci_bar *bar = &fn->bar[i];
				uint64_t base = 0;
				bool want = bar_wanted(fn, i, &base);
				if (pass == 0 && bar->region && (!want || bar->mapped != base)) {
					if (want && iobus_move(bar->region, base) == 0) {
						bar->mapped = base;
						continue;
					}
					iobus_remove(bar->region);
					bar->region = NULL;
				}
				if (pass == 1 && want && !bar->region) {
					struct iobus_space *s = bar->type == VPCI_BAR_IO ? &b->iobus->pio :
							       &b->iobus->mmio;
					if (iobus_add(s, base, bar->size, bar->handler, bar->dev,
						      &bar->region) == 0)
						bar->mapped = base;
					else
						bar->region = NULL;
				}
			}
		}
	}
}

/* ---- configuration access ------------------------------------------------ */

static uint32_t func_read(struct vpci_func *fn, unsigned off)
{
	uint32_t v = get(fn->cfg, off, 4);

	if (fn->ops && fn->ops->cfg_read)
		fn->ops->cfg_read(fn->dev, fn, off, &v);
	return v;
}

static bool touches(unsigned off, unsigned be, unsigned first, unsigned len)
{
	for (unsigned i = 0; i < 4; i++)
		if ((be & (1u << i)) && off + i >= first && off + i < first + len)
			return true;
	return false;
}

static void func_write(struct vpci_bus *b, struct vpci_func *fn, unsigned off, uint32_t val,
		       unsigned be)
{
	for (unsigned i = 0; i < 4; i++) {
		if (!(be & (1u << i)))
			continue;
		unsigned o = off + i;
		uint8_t v = (uint8_t)(val >> (8 * i));
		fn->cfg[o] = (uint8_t)((fn->cfg[o] & ~fn->wmask[o]) | (v & fn->wmask[o]));
		fn->cfg[o] &= (uint8_t)~(v & fn->w1c[o]);
	}
	if (fn->ops && fn->ops->cfg_write)
		fn->ops->cfg_write(fn->dev, fn, off, val, be);
	if (touches(off, be, PCI_COMMAND, 2) || touches(off, be, PCI_BAR0, 4 * VPCI_NR_BARS))
		bars_update(b);
	if (fn->msi_cap && touches(off, be, fn->msi_cap, 0x18))
		msi_release(fn);
	if (fn->msix_cap && touches(off, be, fn->msix_cap + PCI_MSIX_FLAGS, 2))
		msix_release(fn);
	/* Interrupt Disable, MSI and MSI-X enables all gate INTx. */
	intx_update(b, fn->gsi);
}

/* The dword at ECAM offset off (aligned): absent functions read as ones,
 * the extended space (0x100-0xfff) as zero (no extended capabilities,
 * PCI Express Base 4.0 §7.6.3).  Bus lock held. */
static uint32_t dword_read(struct vpci_bus *b, uint32_t off)
{
	struct vpci_func *fn = b->fn[(off >> 12) & 0xff];
	unsigned reg = off & 0xfff;

	if (!fn)
		return 0xffffffff;
	return reg < VPCI_CFG_SIZE ? func_read(fn, reg) : 0;
}

static void dword_write(struct vpci_bus *b, uint32_t off, uint32_t val, unsigned be)
{
	struct vpci_func *fn = b->fn[(off >> 12) & 0xff];
	unsigned reg = off & 0xfff;

	if (fn && reg < VPCI_CFG_SIZE)
		func_write(b, fn, reg, val, be);
}

/* Split [off, off + size) into the dwords it touches.  size <= 8. */
/* A device's own access (vpci_func_ops.cfg_direct), outside the bus lock.
 * Functions are plugged in before the VM runs and never taken out. */
static bool cfg_direct(struct vpci_bus *b, uint32_t off, unsigned size, bool write, uint64_t *val)
{
	struct vpci_func *fn = __atomic_load_n(&b->fn[(off >> 12) & 0xff], __ATOMIC_ACQUIRE);
	unsigned reg = off & 0xfff;

	return fn && fn->ops && fn->ops->cfg_direct && reg >= 0x40 && reg < VPCI_CFG_SIZE &&
	       (reg & 3) + size <= 4 && fn->ops->cfg_direct(fn->dev, fn, reg, size, write, val);
}

uint64_t vpci_cfg_read(struct vpci_bus *b, uint32_t off, unsigned size)
{
	uint64_t v = 0;

	off &= (uint32_t)(VPCI_ECAM_BUS_SIZE - 1);
	if (cfg_direct(b, off, size, false, &v))
		return v;
	spin_lock(&b->lock);
	for (unsigned done = 0; done < size && done < 8; ) {
		uint32_t o = (off + done) & (uint32_t)(VPCI_ECAM_BUS_SIZE - 1);
		unsigned sh = o & 3, n = MIN(4 - sh, size - done);
		uint64_t d = dword_read(b, o & ~3u) >> (8 * sh);
		v |= (d & ((1ULL << (8 * n)) - 1)) << (8 * done);
		done += n;
	}
	spin_unlock(&b->lock);
	return v;
}

void vpci_cfg_write(struct vpci_bus *b, uint32_t off, unsigned size, uint64_t val)
{
	off &= (uint32_t)(VPCI_ECAM_BUS_SIZE - 1);
	if (cfg_direct(b, off, size, true, &val))
		return;
	spin_lock(&b->lock);
	for (unsigned done = 0; done < size && done < 8; ) {
		uint32_t o = (off + done) & (uint32_t)(VPCI_ECAM_BUS_SIZE - 1);
		unsigned sh = o & 3, n = MIN(4 - sh, size - done);
		uint32_t d = (uint32_t)((val >> (8 * done)) << (8 * sh));
		dword_write(b, o & ~3u, d, ((1u << n) - 1) << sh);
		done += n;
	}
	spin_unlock(&b->lock);
}

/* CONFIG_ADDRESS (§3.2.2.3.2): enable bit 31, bus 23:16, device 15:11,
 * function 10:8, register 7:2; bits 30:24 and 1:0 read as zero.  Only a
 * dword access is CONFIG_ADDRESS; other widths are ordinary I/O that no
 * device claims. */
#define CFG_ADDR_ENABLE     0x80000000u
#define CFG_ADDR_MASK       0x80fffffcu
#define CFG_ADDR_EXT        0x0f000000u         /* AMD IO ECS: register 11:8 */

void vpci_set_io_ecs(struct vpci_bus *b, bool on)
{
	__atomic_store_n(&b->io_ecs, on, __ATOMIC_RELAXED);
}

bool vpci_io_ecs(const struct vpci_bus *b)
{
	return __atomic_load_n(&b->io_ecs, __ATOMIC_RELAXED);
}

int vpci_cfg_addr_pio(void *dev, struct io_req *req)
{
	struct vpci_bus *b = dev;

	if (req->size != 4 || req->off != 0) {
		if (!req->write)
			req->val = 0xffffffff;
		return 0;
	}
	if (req->write) {
		uint32_t mask = CFG_ADDR_MASK | (vpci_io_ecs(b) ? CFG_ADDR_EXT : 0);
		__atomic_store_n(&b->cfg_addr, (uint32_t)req->val & mask, __ATOMIC_RELAXED);
	}
	else
		req->val = __atomic_load_n(&b->cfg_addr, __ATOMIC_RELAXED);
	return 0;
}

/* CONFIG_DATA: 0xcfc-0xcff, any width; bytes past 0xcff are not ours (read
 * as ones).  Without the enable bit, or for another bus, nothing answers. */
int vpci_cfg_data_pio(void *dev, struct io_req *req)
{
	struct vpci_bus *b = dev;
	uint32_t a = __atomic_load_n(&b->cfg_addr, __ATOMIC_RELAXED);
	unsigned at = (unsigned)(req->off & 3), n = MIN((unsigned)req->size, 4 - at);
	uint64_t ones = (1ULL << (8 * req->size)) - 1;

	if (!(a & CFG_ADDR_ENABLE) || ((a >> 16) & 0xff) != 0 || req->off > 3) {
		if (!req->write)
			req->val = ones;
		return 0;
	}
	uint32_t ext = vpci_io_ecs(b) ? (a & CFG_ADDR_EXT) >> 24 : 0;
	uint32_t off = ((a >> 8) & 0xff) << 12 | ext << 8 | (a & 0xfc);
	if (req->write) {
		vpci_cfg_write(b, off + at, n, req->val);
	} else {
		uint64_t mine = (1ULL << (8 * n)) - 1;
		req->val = (vpci_cfg_read(b, off + at, n) & mine) | (ones & ~mine);
	}
	return 0;
}

int vpci_ecam_mmio(void *dev, struct io_req *req)
{
	struct vpci_bus *b = dev;

	if (req->off >= VPCI_ECAM_BUS_SIZE)
		return IOBUS_EINVAL;
	if (req->write)
		vpci_cfg_write(b, (uint32_t)req->off, req->size, req->val);
	else
		req->val = vpci_cfg_read(b, (uint32_t)req->off, req->size);
	return 0;
}

/* ---- the bus ----------------------------------------------------------------- */

void vpci_init(struct vpci_bus *b, struct iobus *iob, const struct vpci_ops *ops, void *ctx)
{
	memset(b, 0, sizeof(*b));
	b->iobus = iob;
	b->ops = ops;
	b->ctx = ctx;
	/* Class 06 00 00: host bridge (PCI Code and ID Assignment 1.11 §1.7). */
	vpci_func_init(&b->host, VPCI_DEVFN(0, 0), VPCI_HOST_VENDOR, VPCI_HOST_DEVICE,
		       0x060000, 0, NULL, NULL);
	b->host.bus = b;
	b->fn[0] = &b->host;
}

bool vpci_add(struct vpci_bus *b, struct vpci_func *fn)
{
	spin_lock(&b->lock);
	bool ok = b->fn[fn->devfn] == NULL;
	if (ok) {
		fn->bus = b;
		unsigned pin = fn->cfg[PCI_INTERRUPT_PIN];
		if (pin) {
			fn->gsi = b->ops->intx_route(b->ctx, fn->devfn >> 3, pin);
			if (fn->gsi >= VPCI_MAX_GSI)
				fn->gsi = VPCI_MAX_GSI;
			/* What firmware leaves in Interrupt Line (§6.2.4): the
			 * IOAPIC input the pin reaches. */
			fn->cfg[PCI_INTERRUPT_LINE] = fn->gsi < VPCI_MAX_GSI ? (uint8_t)fn->gsi : 0xff;
		}
		b->fn[fn->devfn] = fn;
		/* §6.2.1: function 0 says whether the device has more. */
		struct vpci_func *f0 = b->fn[fn->devfn & ~7u];
		if ((fn->devfn & 7) && f0)
			f0->cfg[PCI_HEADER_TYPE] |= 0x80;
		if (!(fn->devfn & 7)) {
			for (unsigned i = 1; i < 8; i++)
				if (b->fn[fn->devfn + i])
					fn->cfg[PCI_HEADER_TYPE] |= 0x80;
		}
	}
	spin_unlock(&b->lock);
	return ok;
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

/*
 * The bus's record: CONFIG_ADDRESS, then for every function plugged in, in
 * devfn order, what the guest can change of it (its configuration space,
 * MSI-X table and pending bits, its INTx level).  What the device model
 * set up (write masks, BAR sizes and handlers, capabilities) is not in it:
 * a record loads only into a bus with the same functions.  After a load
 * the BARs decode where the restored registers say; the INTx levels the
 * bus last reported come back too, and the I/O APIC's own record holds
 * the same levels, so a load sends the board nothing.
 */
struct vpci_func_rec {
	uint8_t devfn;
	uint8_t intx_level;
	uint8_t pad[6];
	uint64_t msix_pba, msi_dropped;
	uint8_t cfg[VPCI_CFG_SIZE];
	struct vpci_msix_entry msix[VPCI_MSIX_MAX];
};

struct vpci_bus_rec {
	uint32_t cfg_addr;
	uint32_t nr_funcs;
	uint8_t gsi_level[VPCI_MAX_GSI];
	uint8_t io_ecs;
};

size_t vpci_snap_size(const struct vpci_bus *b)
{
	size_t n = sizeof(struct vpci_bus_rec);

	for (unsigned d = 0; d < VPCI_NR_DEVFN; d++)
		if (b->fn[d])
			n += sizeof(struct vpci_func_rec);
	return n;
}

size_t vpci_save(const struct vpci_bus *b, void *buf, size_t len)
{
	struct vpci_bus_rec h = { .cfg_addr = b->cfg_addr, .io_ecs = b->io_ecs };
	uint8_t *p = buf;

	for (unsigned g = 0; g < VPCI_MAX_GSI; g++)
		h.gsi_level[g] = b->gsi_level[g];

	if (len < vpci_snap_size(b))
		return 0;
	size_t n = sizeof(h);
	for (unsigned d = 0; d < VPCI_NR_DEVFN; d++) {
		const struct vpci_func *fn = b->fn[d];
		struct vpci_func_rec r;
		if (!fn)
			continue;
		memset(&r, 0, sizeof(r));
		r.devfn = (uint8_t)d;
		r.intx_level = fn->intx_level;
		r.msix_pba = fn->msix_pba;
		r.msi_dropped = fn->msi_dropped;
		memcpy(r.cfg, fn->cfg, sizeof(r.cfg));
		memcpy(r.msix, fn->msix, sizeof(r.msix));
		memcpy(p + n, &r, sizeof(r));
		n += sizeof(r);
		h.nr_funcs++;
	}
	memcpy(p, &h, sizeof(h));
	return n;
}

bool vpci_load(struct vpci_bus *b, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct vpci_bus_rec h;
	struct vpci_func_rec r;

	/* Check the whole record before anything changes. */
	if (len != vpci_snap_size(b))
		return false;
	memcpy(&h, p, sizeof(h));
	size_t n = sizeof(h);
	for (unsigned d = 0; d < VPCI_NR_DEVFN; d++) {
		if (!b->fn[d])
			continue;
		memcpy(&r, p + n, sizeof(r));
		if (r.devfn != d)
			return false;
		n += sizeof(r);
	}
	spin_lock(&b->lock);
	b->io_ecs = h.io_ecs != 0;
	b->cfg_addr = h.cfg_addr & (CFG_ADDR_MASK | (b->io_ecs ? CFG_ADDR_EXT : 0));
	n = sizeof(h);
	for (unsigned d = 0; d < VPCI_NR_DEVFN; d++) {
		struct vpci_func *fn = b->fn[d];
		if (!fn)
			continue;
		memcpy(&r, p + n, sizeof(r));
		n += sizeof(r);
		fn->intx_level = r.intx_level != 0;
		fn->msix_pba = r.msix_pba;
		fn->msi_dropped = r.msi_dropped;
		memcpy(fn->cfg, r.cfg, sizeof(fn->cfg));
		memcpy(fn->msix, r.msix, sizeof(fn->msix));
	}
	for (unsigned g = 0; g < VPCI_MAX_GSI; g++)
		b->gsi_level[g] = h.gsi_level[g] != 0;
	bars_update(b);
	spin_unlock(&b->lock);
	return true;
}
