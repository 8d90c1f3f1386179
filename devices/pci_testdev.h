/*
 * A PCI function for tests (not a real device): it exercises what the PCI
 * bus offers a device model (devices/vpci.h).  Its BARs:
 *   BAR0  I/O, 32 ports
 *   BAR1  32-bit memory, 4 KiB
 *   BAR2  64-bit prefetchable memory, 64 KiB (BAR2 and BAR3)
 *   BAR4  the MSI-X table and PBA (4 vectors)
 * and an MSI capability (4 vectors, per-vector masking) and INTA.
 *
 * BAR0, BAR1 and BAR2 hold the same registers, dwords at these offsets
 * (aligned 4-byte accesses; anything else reads 0 and writes nothing):
 */
#ifndef KASANE_DEVICES_PCI_TESTDEV_H
#define KASANE_DEVICES_PCI_TESTDEV_H

#include "devices/vpci.h"

/* QEMU's pci-testdev ID (QEMU docs/specs/pci-ids.rst), which no Linux
 * driver claims; the registers below are kasane's own. */
#define PCI_TESTDEV_VENDOR  0x1b36
#define PCI_TESTDEV_DEVICE  0x0005
#define PCI_TESTDEV_CLASS   0xff0000    /* unassigned class */

#define PCI_TESTDEV_IO_SIZE     32
#define PCI_TESTDEV_MEM32_SIZE  0x1000
#define PCI_TESTDEV_MEM64_SIZE  0x10000
#define PCI_TESTDEV_MSIX_BAR    4
#define PCI_TESTDEV_VECTORS     4

#define PCI_TESTDEV_MAGIC       0x00    /* R: PCI_TESTDEV_MAGIC_VALUE */
#define PCI_TESTDEV_SCRATCH     0x04    /* RW: shared by the three BARs */
#define PCI_TESTDEV_MSIX        0x08    /* W: raise MSI-X vector n; R: 1 if the last raise was taken */
#define PCI_TESTDEV_MSI         0x0c    /* W: raise MSI vector n; R: as above */
#define PCI_TESTDEV_INTX        0x10    /* W: 1 asserts INTA, 0 deasserts; R: the line */
#define PCI_TESTDEV_WHICH       0x14    /* R: the BAR this access came through */

#define PCI_TESTDEV_MAGIC_VALUE 0x7e57de70u

struct pci_testdev;

struct pci_testdev_bar {
	struct pci_testdev *td;
	unsigned index;
};

struct pci_testdev {
	struct vpci_func fn;
	struct pci_testdev_bar bar[3];
	uint32_t scratch;
	uint32_t last_raise;
	uint32_t intx;
};

/* The function at devfn, ready for vpci_add(). */
void pci_testdev_init(struct pci_testdev *td, uint8_t devfn);

/* Snapshot records (devices/devsnap.h): the registers (the function's
 * configuration space is in the bus's record). */
#define PCI_TESTDEV_SNAP_VERSION 1u
#define PCI_TESTDEV_SNAP_SIZE 12u
size_t pci_testdev_save(const struct pci_testdev *d, void *buf, size_t len);
bool pci_testdev_load(struct pci_testdev *d, const void *buf, size_t len);

#endif
