/*
 * A VM's PCI bus 0: the configuration space of its functions, reached
 * through configuration mechanism #1 (ports 0xcf8/0xcfc, PCI Local Bus
 * 3.0 §3.2.2.3.2) and through ECAM (PCI Express Base 4.0 §7.2.2; PCI
 * Firmware 3.2 §4.1.2), the type 0 header's standard registers (PCI 3.0
 * §6.1, §6.2), BARs that move on the VM's I/O bus as the guest programs
 * them (§6.2.5.1), and the interrupts of a function: INTx through the
 * board's swizzle to IOAPIC pins, MSI (§6.8.1) and MSI-X (§6.8.2) as
 * local APIC messages (Intel SDM vol. 3A §11.11).
 *
 * A device model embeds a struct vpci_func, fills it with vpci_func_init()
 * and the vpci_func_*() set-up calls (BARs, capabilities, MSI, MSI-X,
 * INTx pin), then plugs it in with vpci_add().  At run time it calls
 * vpci_msi_raise() / vpci_msix_raise() / vpci_intx() to interrupt.  Its
 * BARs are plain iobus handlers: req->off is the offset in the BAR.
 *
 * The bus owns the host bridge at 00:00.0 (vpci_init() adds it).  It knows
 * nothing of struct vm: it maps BARs on the struct iobus it is given and
 * sends interrupts through struct vpci_ops.
 *
 * Locking: one spinlock per bus, taken by every entry point below (except
 * the set-up calls, made before vpci_add()).  Device hooks (cfg_read,
 * cfg_write) run with it held: they may use vpci_cfg_get/put on their own
 * function, and must not call any other vpci function.  The ops are called
 * with the lock held (lock order: the bus, then the IOAPIC and local
 * APICs), so they must not call back into the bus.  Never called from an
 * interrupt handler.  No guest memory is touched.
 */
#ifndef KASANE_DEVICES_VPCI_H
#define KASANE_DEVICES_VPCI_H

#include "lib/types.h"
#include "kernel/spinlock.h"
#include "devices/iobus.h"
#include "devices/irq.h"

#define VPCI_CFG_ADDR_PORT  0xcf8       /* CONFIG_ADDRESS: dword accesses only */
#define VPCI_CFG_DATA_PORT  0xcfc       /* CONFIG_DATA: 0xcfc-0xcff */
#define VPCI_ECAM_BUS_SIZE  0x100000ULL /* one bus: 32 devices x 8 functions x 4 KiB */

#define VPCI_NR_DEVFN       256         /* bus 0: device 0-31, function 0-7 */
#define VPCI_CFG_SIZE       256         /* conventional space; 0x100-0xfff read 0 over ECAM */
#define VPCI_NR_BARS        6
#define VPCI_MSIX_MAX       64          /* MSI-X vectors a function may have */
#define VPCI_MSIX_BAR_SIZE  0x1000      /* the BAR vpci_func_msix() claims */
#define VPCI_MSIX_PBA_OFF   0x800       /* table at 0, PBA here */

#define VPCI_DEVFN(dev, fn) ((uint8_t)(((dev) << 3) | (fn)))

/* Header registers (PCI 3.0 §6.1, Figure 6-1). */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_REVISION_ID     0x08
#define PCI_CLASS_PROG      0x09
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER   0x0d
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID    0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d

#define PCI_COMMAND_IO      0x0001
#define PCI_COMMAND_MEMORY  0x0002
#define PCI_COMMAND_MASTER  0x0004
#define PCI_COMMAND_PARITY  0x0040
#define PCI_COMMAND_SERR    0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010

#define PCI_BAR_IO          0x1         /* bit 0: I/O space (§6.2.5.1) */
#define PCI_BAR_MEM_64      0x4         /* bits 2:1 = 10b: 64-bit */
#define PCI_BAR_PREFETCH    0x8

/* Capability IDs (PCI Code and ID Assignment 1.11 §2). */
#define PCI_CAP_ID_MSI      0x05
#define PCI_CAP_ID_VNDR     0x09
#define PCI_CAP_ID_MSIX     0x11

/* MSI capability (PCI 3.0 §6.8.1): offsets from the capability. */
#define PCI_MSI_FLAGS       0x02
#define PCI_MSI_FLAGS_ENABLE 0x0001
#define PCI_MSI_FLAGS_QMASK 0x000e     /* Multiple Message Capable, log2 */
#define PCI_MSI_FLAGS_QSIZE 0x0070     /* Multiple Message Enable, log2 */
#define PCI_MSI_FLAGS_64BIT 0x0080
#define PCI_MSI_FLAGS_MASKBIT 0x0100
#define PCI_MSI_ADDRESS_LO  0x04

/* MSI-X capability (PCI 3.0 §6.8.2). */
#define PCI_MSIX_FLAGS      0x02
#define PCI_MSIX_FLAGS_QSIZE 0x07ff
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE      0x04
#define PCI_MSIX_PBA        0x08
#define PCI_MSIX_ENTRY_SIZE 16
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1

/* The host bridge: Intel's Q35 MCH ID, what QEMU's q35 machine shows. */
#define VPCI_HOST_VENDOR    0x8086
#define VPCI_HOST_DEVICE    0x29c0

enum vpci_bar_type { VPCI_BAR_NONE, VPCI_BAR_IO, VPCI_BAR_MEM32, VPCI_BAR_MEM64 };

struct vpci_func;

/* A device's hooks for its own registers (0x40-0xff); both optional. */
struct vpci_func_ops {
	/* A guest read of the dword at off: *val holds the stored value. */
	void (*cfg_read)(void *dev, struct vpci_func *fn, unsigned off, uint32_t *val);
	/* After the bus applied a guest write to the dword at off (byte
	 * enables be, bit n = byte n) with the registers' write masks. */
	void (*cfg_write)(void *dev, struct vpci_func *fn, unsigned off, uint32_t val,
			  unsigned be);
	/* Optional: a guest access of size bytes at off (0x40-0xff, inside
	 * one dword) that the device serves itself, called WITHOUT the bus
	 * lock so that it may reach its own BARs (which interrupt through the
	 * bus); it takes fn->bus->lock around its vpci_cfg_get/put.  True if
	 * it served the access, false to leave it to the bus as usual. */
	bool (*cfg_direct)(void *dev, struct vpci_func *fn, unsigned off, unsigned size,
			   bool write, uint64_t *val);
};

struct vpci_bar {
	enum vpci_bar_type type;        /* VPCI_BAR_MEM64 also takes the next slot */
	bool prefetch;
	uint64_t size;                  /* a power of two: I/O >= 4, memory >= 16 */
	io_handler_t handler;
	void *dev;
	struct iobus_region *region;    /* on the bus, or NULL */
	uint64_t mapped;                /* where region is */
};

struct vpci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct vpci_bus;

struct vpci_func {
	struct vpci_bus *bus;           /* set by vpci_add() */
	uint8_t devfn;
	uint8_t cfg[VPCI_CFG_SIZE];     /* register contents */
	uint8_t wmask[VPCI_CFG_SIZE];   /* bits a guest write sets */
	uint8_t w1c[VPCI_CFG_SIZE];     /* bits a guest write of 1 clears */
	struct vpci_bar bar[VPCI_NR_BARS];
	const struct vpci_func_ops *ops;
	void *dev;
	uint16_t cap_free;              /* next free offset for a capability */
	uint8_t cap_last;               /* the last capability (0: none yet) */
	/* INTx: the device's line, and the IOAPIC pin it reaches. */
	bool intx_level;
	unsigned gsi;
	/* MSI: the capability's offset (0: none); its pending bits live in it. */
	uint8_t msi_cap;
	/* MSI-X: the capability's offset (0: none), its BAR and table. */
	uint8_t msix_cap;
	uint8_t msix_bar;
	uint16_t msix_n;
	struct vpci_msix_entry msix[VPCI_MSIX_MAX];
	uint64_t msix_pba;              /* VPCI_MSIX_MAX = 64 bits */
	uint64_t msi_dropped;           /* messages not sent: bad address, BME off */
};

/* What the bus asks of the board. */
struct vpci_ops {
	/* A message to the local APICs (irq_ops->apic_deliver's shape). */
	void (*msi)(void *ctx, const struct apic_msg *m);
	/* The IOAPIC pin a function's INTx pin (1-4 = INTA-INTD) reaches. */
	unsigned (*intx_route)(void *ctx, unsigned slot, unsigned pin);
	/* The wired-OR of every INTx routed to gsi is now asserted or not. */
	void (*intx)(void *ctx, unsigned gsi, bool asserted);
	/* A message the bus dropped (not to 0xfeexxxxx, or a reserved delivery
	 * mode); optional, for a log line. */
	void (*msi_dropped)(void *ctx, uint8_t devfn, uint64_t addr, uint32_t data);
};

#define VPCI_MAX_GSI 24

struct vpci_bus {
	spinlock_t lock;
	uint32_t cfg_addr;              /* CONFIG_ADDRESS (0xcf8) */
	bool io_ecs;                    /* AMD EnableCf8ExtCfg: CF8 27:24 = register 11:8 */
	struct vpci_func *fn[VPCI_NR_DEVFN];
	struct vpci_func host;          /* 00:00.0 */
	struct iobus *iobus;
	const struct vpci_ops *ops;
	void *ctx;
	bool gsi_level[VPCI_MAX_GSI];   /* last level reported through ops->intx */
};

/* ---- the bus ---------------------------------------------------------- */

/*
 * AMD's extended configuration through CONFIG_ADDRESS: with NB_CFG bit 46
 * (EnableCf8ExtCfg) set, CONFIG_ADDRESS bits 27:24 select configuration
 * registers 0x100-0xfff (BKDG for AMD family 10h, MSRC001_001F and
 * IOCF8).  The board turns it on and off from its NB_CFG model.
 */
void vpci_set_io_ecs(struct vpci_bus *b, bool on);
bool vpci_io_ecs(const struct vpci_bus *b);

/* An empty bus 0 with its host bridge; BARs go on iob. */
void vpci_init(struct vpci_bus *b, struct iobus *iob, const struct vpci_ops *ops, void *ctx);

/* Plug fn in at fn->devfn.  False if the slot is taken (or devfn 0 is
 * already the host bridge). */
bool vpci_add(struct vpci_bus *b, struct vpci_func *fn);

/* Handlers for the board: ports 0xcf8 (1 port) and 0xcfc (4 ports), and
 * the ECAM window of bus 0 (VPCI_ECAM_BUS_SIZE bytes). */
int vpci_cfg_addr_pio(void *bus, struct io_req *req);
int vpci_cfg_data_pio(void *bus, struct io_req *req);
int vpci_ecam_mmio(void *bus, struct io_req *req);

/* A configuration read or write of size 1, 2, 4 or 8 bytes at ECAM offset
 * off of bus 0 (device 19:15, function 14:12, register 11:0): what both
 * access paths use.  Bytes of absent functions read as ones. */
uint64_t vpci_cfg_read(struct vpci_bus *b, uint32_t off, unsigned size);
void vpci_cfg_write(struct vpci_bus *b, uint32_t off, unsigned size, uint64_t val);

/* ---- building a function (before vpci_add) ---------------------------- */

/* A type 0 header: IDs, class (base, sub, prog-if), revision; no BARs,
 * capabilities or interrupt pin yet.  ops may be NULL. */
void vpci_func_init(struct vpci_func *fn, uint8_t devfn, uint16_t vendor, uint16_t device,
		    uint32_t class_code, uint8_t revision, const struct vpci_func_ops *ops,
		    void *dev);
void vpci_func_subsystem(struct vpci_func *fn, uint16_t vendor, uint16_t id);

/* BAR i (0-5; 0-4 for a 64-bit one, which also takes i + 1).  size: a
 * power of two, at least 16 for memory and 4 for I/O (at most 256 for
 * I/O, §6.2.5.1).  False for a bad index, size or a taken slot. */
bool vpci_func_bar(struct vpci_func *fn, unsigned i, enum vpci_bar_type type, bool prefetch,
		   uint64_t size, io_handler_t handler, void *dev);

/* Interrupt pin 1-4 (INTA-INTD). */
void vpci_func_intx_pin(struct vpci_func *fn, uint8_t pin);

/* A capability of len bytes (>= 2) with this ID, linked at the end of the
 * list; returns its offset, or 0 if the space 0x40-0xff is full.  The
 * body (after ID and next pointer) is zero and read-only: the device
 * fills it with vpci_cfg_put and makes fields writable with
 * vpci_cfg_wmask. */
uint8_t vpci_func_cap(struct vpci_func *fn, uint8_t id, unsigned len);

/* An MSI capability with nr vectors (1, 2, 4, 8, 16 or 32), 64-bit
 * address, and per-vector masking if asked.  Returns false if it does
 * not fit. */
bool vpci_func_msi(struct vpci_func *fn, unsigned nr, bool per_vector_mask);

/* An MSI-X capability with nr vectors (1-VPCI_MSIX_MAX): its table and PBA
 * take all of BAR bar (a 32-bit memory BAR of VPCI_MSIX_BAR_SIZE, which
 * this call declares). */
bool vpci_func_msix(struct vpci_func *fn, unsigned nr, unsigned bar);

/* Register access for set-up and for hooks (no lock taken; off+size <= 256). */
uint32_t vpci_cfg_get(const struct vpci_func *fn, unsigned off, unsigned size);
void vpci_cfg_put(struct vpci_func *fn, unsigned off, unsigned size, uint32_t val);
void vpci_cfg_wmask(struct vpci_func *fn, unsigned off, unsigned size, uint32_t mask);

/* ---- interrupts, from the device ------------------------------------ */

/*
 * Raise MSI vector n (n < the vectors the guest enabled): sent, or held
 * pending while masked.  False if MSI is off or n is out of range: the
 * device may fall back to INTx.
 */
bool vpci_msi_raise(struct vpci_func *fn, unsigned n);
/* Raise MSI-X vector n: sent, or held in the PBA while masked.  False if
 * MSI-X is off or n is out of range. */
bool vpci_msix_raise(struct vpci_func *fn, unsigned n);
/* The device's INTx line; the pin is disabled by Interrupt Disable and
 * while MSI or MSI-X is on (§6.8.1.3, §6.8.2.3). */
void vpci_intx(struct vpci_func *fn, bool asserted);
/* Whether MSI-X / MSI is enabled (for a device choosing how to interrupt). */
bool vpci_msix_enabled(struct vpci_func *fn);
bool vpci_msi_enabled(struct vpci_func *fn);

/* ---- message decoding (Intel SDM vol. 3A §11.11; AMD APM vol. 2 §16.7) ---- */

/* Decode an MSI address/data pair into *m.  False (nothing to send) for an
 * address outside 0xfee00000-0xfeefffff or a reserved delivery mode. */
bool vpci_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *m);

/* Snapshot records (devices/devsnap.h): CONFIG_ADDRESS and every plugged
 * function's configuration space, MSI-X table and INTx level; its size
 * depends on the functions (vpci_snap_size()).  A load moves the BARs. */
#define VPCI_SNAP_VERSION 2u
size_t vpci_snap_size(const struct vpci_bus *b);
size_t vpci_save(const struct vpci_bus *b, void *buf, size_t len);
bool vpci_load(struct vpci_bus *b, const void *buf, size_t len);

#endif
