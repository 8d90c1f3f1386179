/*
 * The PCI test function: see pci_testdev.h.
 */
#include "devices/pci_testdev.h"
#include "devices/devsnap.h"
#include "lib/string.h"

static int testdev_bar(void *dev, struct io_req *req)
{
	struct pci_testdev_bar *bar = dev;
	struct pci_testdev *td = bar->td;
	uint32_t v = (uint32_t)req->val;

	if (req->size != 4 || (req->off & 3) || req->off > PCI_TESTDEV_WHICH) {
		if (!req->write)
			req->val = 0;
		return 0;
	}
	if (!req->write) {
		const uint32_t regs[] = {
			PCI_TESTDEV_MAGIC_VALUE,
			__atomic_load_n(&td->scratch, __ATOMIC_RELAXED),
			__atomic_load_n(&td->last_raise, __ATOMIC_RELAXED),
			__atomic_load_n(&td->last_raise, __ATOMIC_RELAXED),
			__atomic_load_n(&td->intx, __ATOMIC_RELAXED),
			bar->index,
		};
		req->val = regs[req->off / 4];
		return 0;
	}
	switch (req->off) {
	case PCI_TESTDEV_SCRATCH:
		__atomic_store_n(&td->scratch, v, __ATOMIC_RELAXED);
		break;
	case PCI_TESTDEV_MSIX:
		__atomic_store_n(&td->last_raise, vpci_msix_raise(&td->fn, v), __ATOMIC_RELAXED);
		break;
	case PCI_TESTDEV_MSI:
		__atomic_store_n(&td->last_raise, vpci_msi_raise(&td->fn, v), __ATOMIC_RELAXED);
		break;
	case PCI_TESTDEV_INTX:
		__atomic_store_n(&td->intx, v & 1, __ATOMIC_RELAXED);
		vpci_intx(&td->fn, v & 1);
		break;
	}
	return 0;
}

void pci_testdev_init(struct pci_testdev *td, uint8_t devfn)
{
	static const unsigned index[3] = { 0, 1, 2 };
	static const enum vpci_bar_type type[3] = { VPCI_BAR_IO, VPCI_BAR_MEM32, VPCI_BAR_MEM64 };
	static const uint64_t size[3] = {
		PCI_TESTDEV_IO_SIZE, PCI_TESTDEV_MEM32_SIZE, PCI_TESTDEV_MEM64_SIZE,
	};

	memset(td, 0, sizeof(*td));
	vpci_func_init(&td->fn, devfn, PCI_TESTDEV_VENDOR, PCI_TESTDEV_DEVICE, PCI_TESTDEV_CLASS,
		       0, NULL, td);
	for (unsigned i = 0; i < 3; i++) {
		td->bar[i] = (struct pci_testdev_bar){ td, index[i] };
		vpci_func_bar(&td->fn, index[i], type[i], type[i] == VPCI_BAR_MEM64, size[i],
			      testdev_bar, &td->bar[i]);
	}
	vpci_func_msix(&td->fn, PCI_TESTDEV_VECTORS, PCI_TESTDEV_MSIX_BAR);
	vpci_func_msi(&td->fn, PCI_TESTDEV_VECTORS, true);
	vpci_func_intx_pin(&td->fn, 1);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

/* Its registers; its PCI function is the bus's record (vpci_save()). */
struct pci_testdev_rec {
	uint32_t scratch, last_raise, intx;
};

size_t pci_testdev_save(const struct pci_testdev *d, void *buf, size_t len)
{
	struct pci_testdev_rec r = { d->scratch, d->last_raise, d->intx };

	return devsnap_put(buf, len, &r, sizeof(r));
}

bool pci_testdev_load(struct pci_testdev *d, const void *buf, size_t len)
{
	struct pci_testdev_rec r;

	if (!devsnap_get(&r, sizeof(r), buf, len))
		return false;
	d->scratch = r.scratch;
	d->last_raise = r.last_raise;
	d->intx = r.intx;
	return true;
}
