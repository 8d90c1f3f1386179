/*
 * Snapshots of whole VMs in hypervisor memory, as records {device,
 * instance, version, length, bytes} (core/snapshot.h).  The console pauses
 * the VM and waits until none of its vCPUs is on a CPU (every vCPU then
 * sits in its run queue as PAUSED, HALTED or WAIT_SIPI, its registers in
 * the back end and its FPU state saved); then this file copies the state
 * out or back.  The VM's clocks are VM time (core/board.c: host ns minus
 * start_ns; the guest TSC: host TSC plus tsc_offset), and every device
 * deadline is in VM time, so a restore rebases just those two and the
 * guest goes on from the snapshot's instant with no jump.
 *
 * Adding a device: give the model NAME_save/NAME_load in its
 * own devices/NAME.c (devices/devsnap.h), take the next enum snap_device
 * number, and add one row to snap_devices[] below.  Rows load in table
 * order; a row whose size() is 0 for a VM (the device is not on its
 * board) writes no record.
 */
#include "core/snapshot.h"
#include "core/vm.h"
#include "core/board.h"
#include "core/clock.h"
#include "core/sched.h"
#include "core/msr.h"
#include "core/ctlreg.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/x86_defs.h"
#include "devices/devsnap.h"
#include "mm/mm.h"
#include "kernel/spinlock.h"
#include "lib/printf.h"
#include "lib/string.h"

#define RAM_CHUNK_PAGES 512u            /* 2 MiB a RAM record */
#define SNAP_MAX_MSRS 16

struct snap_rec {
	struct snap_rec_hdr h;
	void *bytes;                    /* in the snapshot's block; RAM: page_alloc'd */
};

/*
 * A snapshot lives in one block of pages (this struct, its record table,
 * the device records' bytes) plus one block per 2 MiB of RAM: all given
 * back to the frame allocator, none to the heap, whose slabs would keep
 * pages after a snapshot is dropped.
 */
struct snapshot {
	uint64_t block_pages;           /* of the block this struct starts */
	const struct vm *vm;            /* whose (never dereferenced once it ends) */
	unsigned vm_id;
	char vm_name[32];
	char tag[SNAP_TAG_MAX];
	uint64_t vm_ns;                 /* the guest's time at the snapshot */
	uint64_t ram_pages;
	uint64_t bytes;                 /* memory it holds */
	unsigned nr;
	struct snap_rec *rec;
};

static struct snapshot *snaps[SNAP_MAX];
static spinlock_t snap_lock;

/* ---- the VM's own record: clocks and board state ----------------------------- */

struct snap_vm_rec {
	uint64_t vm_ns;                 /* VM time (board.c's vm_now_ns) */
	uint64_t guest_tsc;             /* the guest's TSC at the same instant */
	uint64_t ram_pages;
	uint32_t nr_vcpus;
	uint32_t hc_len;
	uint32_t pci_msi_drops;
	uint8_t uart_irq;
	uint8_t isa_levels;             /* version 2: SNAP_ISA_* */
	uint8_t pad[2];
	char hc_line[200];
};

/*
 * Version 2 added the levels ISA IRQ 0 and 8 have from each of their two
 * sources (core/board.c's mux: PIT and RTC, or the HPET's legacy
 * replacement), so a restored line hands over as the snapshot's did.  A
 * version 1 record lacks them and is refused.
 */
#define SNAP_VM_VERSION 2u
#define SNAP_ISA_DEV0   0x01            /* isa_dev_level[0]: the PIT's IRQ 0 */
#define SNAP_ISA_DEV8   0x02            /* isa_dev_level[1]: the RTC's IRQ 8 */
#define SNAP_ISA_HPET0  0x04            /* isa_hpet_level[0] */
#define SNAP_ISA_HPET8  0x08            /* isa_hpet_level[1] */
#define SNAP_ISA_ALL    0x0f
_Static_assert(sizeof(((struct vm *)0)->hc_line) == 200, "hypercall line size");

/* The clocks read once for a snapshot, and those a restore rebases to. */
static struct { uint64_t vm_ns, guest_tsc; } snap_clock;

static size_t vm_rec_size(struct vm *vm, unsigned i)
{
	return sizeof(struct snap_vm_rec);
}

static size_t vm_rec_save(struct vm *vm, unsigned i, void *buf, size_t len)
{
	struct snap_vm_rec r;

	memset(&r, 0, sizeof(r));
	r.vm_ns = snap_clock.vm_ns;
	r.guest_tsc = snap_clock.guest_tsc;
	r.ram_pages = vm->ram_pages;
	r.nr_vcpus = vm->nr_vcpus;
	r.hc_len = (uint32_t)vm->hc_len;
	r.pci_msi_drops = vm->pci_msi_drops;
	r.uart_irq = vm->uart_irq;
	r.isa_levels = (uint8_t)((vm->isa_dev_level[0] ? SNAP_ISA_DEV0 : 0) |
				 (vm->isa_dev_level[1] ? SNAP_ISA_DEV8 : 0) |
				 (vm->isa_hpet_level[0] ? SNAP_ISA_HPET0 : 0) |
				 (vm->isa_hpet_level[1] ? SNAP_ISA_HPET8 : 0));
	memcpy(r.hc_line, vm->hc_line, sizeof(r.hc_line));
	return devsnap_put(buf, len, &r, sizeof(r));
}

static bool vm_rec_load(struct vm *vm, unsigned i, const void *buf, size_t len)
{
	struct snap_vm_rec r;

	if (!devsnap_get(&r, sizeof(r), buf, len) || r.ram_pages != vm->ram_pages ||
	    r.nr_vcpus != vm->nr_vcpus || r.hc_len >= sizeof(r.hc_line) ||
	    (r.isa_levels & ~SNAP_ISA_ALL))
		return false;
	snap_clock.vm_ns = r.vm_ns;
	snap_clock.guest_tsc = r.guest_tsc;
	vm->hc_len = r.hc_len;
	vm->pci_msi_drops = r.pci_msi_drops;
	vm->uart_irq = r.uart_irq != 0;
	/* Only the mux's memory: the PIC's and I/O APIC's records, loaded
	 * later, hold the levels their inputs see. */
	uint64_t f = spin_lock_irqsave(&vm->isa_mux_lock);
	vm->isa_dev_level[0] = r.isa_levels & SNAP_ISA_DEV0;
	vm->isa_dev_level[1] = r.isa_levels & SNAP_ISA_DEV8;
	vm->isa_hpet_level[0] = r.isa_levels & SNAP_ISA_HPET0;
	vm->isa_hpet_level[1] = r.isa_levels & SNAP_ISA_HPET8;
	spin_unlock_irqrestore(&vm->isa_mux_lock, f);
	memcpy(vm->hc_line, r.hc_line, sizeof(vm->hc_line));
	return true;
}

/* ---- a vCPU: registers, events, MSRs, where the scheduler has it ------------ */

struct snap_msr {
	uint32_t index, pad;
	uint64_t value;
};

struct snap_vcpu_rec {
	struct virt_cpu_state cpu;
	struct event_queue evq;
	struct msr_state msr;           /* the MSRs core/msr.c models */
	uint32_t nr_msrs;
	uint8_t sched;                  /* VCPU_HALTED, VCPU_WAIT_SIPI, or VCPU_PAUSED: runnable */
	uint8_t wait_sipi, nmi_pending, cr8;
	struct snap_msr msrs[SNAP_MAX_MSRS];   /* those the back end keeps */
};

/* The scheduling state each restored vCPU must be left in. */
static uint8_t restored_sched[VM_MAX_VCPUS];

/* MSRs a back end keeps the guest's value of (core/msr.c's table). */
static bool backend_msr(uint32_t msr)
{
	const struct msr_rule *r = msr_rule_for(msr_guest_cpu(), msr);

	return r && (r->policy == MSR_PASS || r->policy == MSR_BACKEND);
}

static size_t vcpu_rec_size(struct vm *vm, unsigned i)
{
	return sizeof(struct snap_vcpu_rec);
}

static size_t vcpu_rec_save(struct vm *vm, unsigned i, void *buf, size_t len)
{
	struct vcpu *v = &vm->vcpu[i];
	struct snap_vcpu_rec r;
	unsigned nr_rules;
	const struct msr_rule *rules = msr_rules(&nr_rules);

	memset(&r, 0, sizeof(r));
	virt->get_cpu_state(&v->hw, &r.cpu);
	r.evq = v->evq;
	r.msr = v->msr;
	r.sched = v->state == VCPU_HALTED || v->state == VCPU_WAIT_SIPI ? (uint8_t)v->state :
		  (uint8_t)VCPU_PAUSED;
	r.wait_sipi = v->wait_sipi;
	r.nmi_pending = v->hw.nmi_pending;
	r.cr8 = v->cr8;
	for (unsigned k = 0; k < nr_rules; k++) {
		for (uint32_t m = rules[k].first; m <= rules[k].last && m >= rules[k].first; m++) {
			uint64_t val;
			if (r.nr_msrs < SNAP_MAX_MSRS && backend_msr(m) &&
			    virt->msr_get(&v->hw, m, &val))
				r.msrs[r.nr_msrs++] = (struct snap_msr){ .index = m, .value = val };
		}
	}
	return devsnap_put(buf, len, &r, sizeof(r));
}

/*
 * A snapshot's vCPU record before the back end loads it: its segment and
 * control registers pass ctlreg_sregs_ok (core/ctlreg.c: what a guest's
 * own MOV would be refused, LMA, PAE and CS.L/D in long mode, reserved
 * segment attribute bits).  A record of the right length and version that
 * fails is refused, not loaded into a VMCB or VMCS the CPU would reject.
 */
static bool vcpu_rec_load(struct vm *vm, unsigned i, const void *buf, size_t len)
{
	struct vcpu *v = &vm->vcpu[i];
	struct snap_vcpu_rec r;

	if (!devsnap_get(&r, sizeof(r), buf, len) || r.nr_msrs > SNAP_MAX_MSRS ||
	    (r.sched != VCPU_HALTED && r.sched != VCPU_WAIT_SIPI && r.sched != VCPU_PAUSED) ||
	    r.cr8 > 15 || r.cpu.shadow > (VIRT_SHADOW_STI | VIRT_SHADOW_MOV_SS) ||
	    (r.cpu.pending.valid && r.cpu.pending.type == VIRT_EV_SOFT_INT) ||
	    !ctlreg_sregs_ok(&r.cpu.arch.sregs, v->hw.cr4_allowed ? v->hw.cr4_allowed : ~0ULL))
		return false;
	for (unsigned k = 0; k < r.nr_msrs; k++)
		if (!backend_msr(r.msrs[k].index))
			return false;
	v->hw.tsc_offset = vm->tsc_offset;
	virt->set_cpu_state(&v->hw, &r.cpu);
	for (unsigned k = 0; k < r.nr_msrs; k++)
		virt->msr_set(&v->hw, r.msrs[k].index, r.msrs[k].value);
	v->evq = r.evq;
	v->msr = r.msr;
	v->hw.nmi_pending = r.nmi_pending != 0;
	v->wait_sipi = r.wait_sipi != 0;
	v->cr8 = r.cr8;
	virt->set_reg(&v->hw, VIRT_CR8, r.cr8);
	/* set_cpu_state dropped the windows: the next entry asks again. */
	v->window_open = false;
	v->nmi_window_open = false;
	v->halt_requested = false;
	v->yield_requested = false;
	v->next_deadline = 0;
	restored_sched[i] = r.sched;
	return true;
}

/* The FPU/SSE/AVX area, XCR0, DR0-3, TSC_AUX (saved when the vCPU stopped). */
struct snap_fpu_rec {
	uint64_t xcr0, dr[4], tsc_aux;
	uint32_t area_size, pad;
	/* area_size bytes of the XSAVE (or FXSAVE) area follow */
};

static size_t fpu_rec_size(struct vm *vm, unsigned i)
{
	return sizeof(struct snap_fpu_rec) + fpu_area_size();
}

static size_t fpu_rec_save(struct vm *vm, unsigned i, void *buf, size_t len)
{
	const struct fpu_state *f = &vm->vcpu[i].fpu;
	struct snap_fpu_rec r = { .xcr0 = f->xcr0, .tsc_aux = f->tsc_aux,
				  .area_size = fpu_area_size() };

	if (len < fpu_rec_size(vm, i))
		return 0;
	memcpy(r.dr, f->dr, sizeof(r.dr));
	memcpy(buf, &r, sizeof(r));
	memcpy((uint8_t *)buf + sizeof(r), f->area, r.area_size);
	return fpu_rec_size(vm, i);
}

static bool fpu_rec_load(struct vm *vm, unsigned i, const void *buf, size_t len)
{
	struct fpu_state *f = &vm->vcpu[i].fpu;
	const uint8_t *area = (const uint8_t *)buf + sizeof(struct snap_fpu_rec);
	struct snap_fpu_rec r;

	if (len != fpu_rec_size(vm, i))
		return false;
	memcpy(&r, buf, sizeof(r));
	if (r.area_size != fpu_area_size() || !fpu_area_ok(area, r.xcr0))
		return false;
	f->xcr0 = r.xcr0;
	f->tsc_aux = r.tsc_aux;
	memcpy(f->dr, r.dr, sizeof(f->dr));
	memcpy(f->area, area, r.area_size);
	return true;
}

/* ---- the device models (devices/, one save/load pair each) ------------------- */

#define SNAP_MODEL(name, field, SIZE)                                                   \
	static size_t name##_rec_size(struct vm *vm, unsigned i) { return SIZE; }          \
	static size_t name##_rec_save(struct vm *vm, unsigned i, void *b, size_t l)        \
	{ return name##_save(&vm->field, b, l); }                                          \
	static bool name##_rec_load(struct vm *vm, unsigned i, const void *b, size_t l)    \
	{ return name##_load(&vm->field, b, l); }

SNAP_MODEL(vioapic, ioapic, VIOAPIC_SNAP_SIZE)
SNAP_MODEL(vpic, pic, VPIC_SNAP_SIZE)
SNAP_MODEL(vpit, pit, VPIT_SNAP_SIZE)
SNAP_MODEL(vrtc, rtc, VRTC_SNAP_SIZE)
SNAP_MODEL(vuart, uart, VUART_SNAP_SIZE)
SNAP_MODEL(fwcfg, fwcfg, FWCFG_SNAP_SIZE)
SNAP_MODEL(testmmio, testmmio, TESTMMIO_SNAP_SIZE)
SNAP_MODEL(vacpi, acpi, VACPI_SNAP_SIZE)
SNAP_MODEL(vhpet, hpet, VHPET_SNAP_SIZE)
SNAP_MODEL(vpci, pci, vpci_snap_size(&vm->pci))
SNAP_MODEL(vlapic, vcpu[i].vlapic[0], VLAPIC_SNAP_SIZE)

static size_t testdev_rec_size(struct vm *vm, unsigned i)
{
	return vm->pci_testdev ? PCI_TESTDEV_SNAP_SIZE : 0;
}

static size_t testdev_rec_save(struct vm *vm, unsigned i, void *b, size_t l)
{
	return pci_testdev_save(vm->pci_testdev, b, l);
}

static bool testdev_rec_load(struct vm *vm, unsigned i, const void *b, size_t l)
{
	return vm->pci_testdev && pci_testdev_load(vm->pci_testdev, b, l);
}

/*
 * The virtio devices: one record per disk, NIC, console, entropy device
 * (devices/virtio_*.h), and the read-write disks' contents in 2 MiB
 * records of their own pages, as RAM's: a disk goes back with the RAM
 * whose page cache describes it.  A read-only disk cannot change, so it
 * has no content record.  `matches` checks each record is one of the
 * same device (type, slot, queues, features offered; a disk's size, a
 * NIC's MAC) before a restore changes anything.
 */
#define SNAP_VIRTIO(name, type, ptr, SIZE)                                              \
	static size_t name##_rec_size(struct vm *vm, unsigned i)                           \
	{ return (ptr) ? SIZE : 0; }                                                       \
	static size_t name##_rec_save(struct vm *vm, unsigned i, void *b, size_t l)        \
	{ return type##_save(ptr, b, l); }                                                 \
	static bool name##_rec_load(struct vm *vm, unsigned i, const void *b, size_t l)    \
	{ return (ptr) && type##_load(ptr, b, l); }                                        \
	static bool name##_rec_matches(struct vm *vm, unsigned i, const void *b, size_t l) \
	{ return (ptr) && type##_rec_matches(ptr, b, l); }

SNAP_VIRTIO(vblk, virtio_blk, vm->vblk[i], VIRTIO_BLK_SNAP_SIZE)
SNAP_VIRTIO(vcon, virtio_console, vm->vcon, VIRTIO_CONSOLE_SNAP_SIZE)
SNAP_VIRTIO(vrng, virtio_rng, vm->vrng, VIRTIO_RNG_SNAP_SIZE)
SNAP_VIRTIO(vnet, virtio_net, i < vm->nr_nics ? vm->nic[i] : NULL, VIRTIO_NET_SNAP_SIZE)

static unsigned disks(struct vm *vm) { return VM_MAX_DISKS; }
static unsigned nics(struct vm *vm) { return VM_MAX_NICS; }

/* Content chunk i of the read-write disks, in disk order: its disk and chunk. */
static struct virtio_blk *disk_chunk(struct vm *vm, unsigned i, uint64_t *chunk)
{
	uint64_t k = i;

	for (unsigned d = 0; d < VM_MAX_DISKS; d++) {
		struct virtio_blk *b = vm->vblk[d];
		if (!b || b->ro)
			continue;
		if (k < virtio_blk_chunks(b)) {
			*chunk = k;
			return b;
		}
		k -= virtio_blk_chunks(b);
	}
	return NULL;
}

static uint64_t disk_chunks(struct vm *vm)
{
	uint64_t n = 0;

	for (unsigned d = 0; d < VM_MAX_DISKS; d++)
		if (vm->vblk[d] && !vm->vblk[d]->ro)
			n += virtio_blk_chunks(vm->vblk[d]);
	return n;
}

static unsigned disk_instances(struct vm *vm)
{
	return (unsigned)MIN(disk_chunks(vm), (uint64_t)SNAP_MAX_DISK_CHUNKS);
}

static size_t disk_rec_size(struct vm *vm, unsigned i)
{
	uint64_t c;
	struct virtio_blk *b = disk_chunk(vm, i, &c);

	return b ? virtio_blk_chunk_size(b, c) : 0;
}

static size_t disk_rec_save(struct vm *vm, unsigned i, void *buf, size_t len)
{
	uint64_t c;
	struct virtio_blk *b = disk_chunk(vm, i, &c);

	return b ? virtio_blk_chunk_save(b, c, buf, len) : 0;
}

static bool disk_rec_load(struct vm *vm, unsigned i, const void *buf, size_t len)
{
	uint64_t c;
	struct virtio_blk *b = disk_chunk(vm, i, &c);

	return b && virtio_blk_chunk_load(b, c, buf, len);
}

/*
 * The record table: one row per kind of record, in load order.  The VM's
 * record comes first (it checks the snapshot fits the VM); the PCI bus
 * before the interrupt controllers, whose records hold the levels its
 * functions drive; the vCPUs last.  Add a device here (see the top).
 */
struct snap_device_row {
	uint16_t device;                /* enum snap_device */
	uint32_t version;
	bool per_vcpu;                  /* instance = vCPU number */
	size_t (*size)(struct vm *vm, unsigned i);      /* 0: no record for this VM */
	size_t (*save)(struct vm *vm, unsigned i, void *buf, size_t len);
	bool (*load)(struct vm *vm, unsigned i, const void *buf, size_t len);
	/* Optional: instances for the VM (else per_vcpu decides); whether a
	 * record is one of this VM's device, checked before a restore; records
	 * in pages of their own (large: disk contents) rather than the block. */
	unsigned (*instances)(struct vm *vm);
	bool (*matches)(struct vm *vm, unsigned i, const void *buf, size_t len);
	bool own_pages;
};

#define ROW(dev, ver, per, name) { .device = dev, .version = ver, .per_vcpu = per,       \
	.size = name##_rec_size, .save = name##_rec_save, .load = name##_rec_load }
#define ROW_N(dev, ver, name, inst, match, own) { .device = dev, .version = ver,           \
	.size = name##_rec_size, .save = name##_rec_save, .load = name##_rec_load,            \
	.instances = inst, .matches = match, .own_pages = own }

static const struct snap_device_row snap_devices[] = {
	ROW(SNAP_DEV_VM, SNAP_VM_VERSION, false, vm),
	ROW(SNAP_DEV_PCI, VPCI_SNAP_VERSION, false, vpci),
	ROW(SNAP_DEV_PCI_TESTDEV, PCI_TESTDEV_SNAP_VERSION, false, testdev),
	ROW_N(SNAP_DEV_DISK, 1, disk, disk_instances, NULL, true),
	ROW_N(SNAP_DEV_VIRTIO_BLK, VIRTIO_BLK_SNAP_VERSION, vblk, disks, vblk_rec_matches, false),
	ROW_N(SNAP_DEV_VIRTIO_CONSOLE, VIRTIO_CONSOLE_SNAP_VERSION, vcon, NULL, vcon_rec_matches,
	      false),
	ROW_N(SNAP_DEV_VIRTIO_RNG, VIRTIO_RNG_SNAP_VERSION, vrng, NULL, vrng_rec_matches, false),
	ROW_N(SNAP_DEV_VIRTIO_NET, VIRTIO_NET_SNAP_VERSION, vnet, nics, vnet_rec_matches, false),
	ROW(SNAP_DEV_IOAPIC, VIOAPIC_SNAP_VERSION, false, vioapic),
	ROW(SNAP_DEV_PIC, VPIC_SNAP_VERSION, false, vpic),
	ROW(SNAP_DEV_PIT, VPIT_SNAP_VERSION, false, vpit),
	ROW(SNAP_DEV_RTC, VRTC_SNAP_VERSION, false, vrtc),
	ROW(SNAP_DEV_UART, VUART_SNAP_VERSION, false, vuart),
	ROW(SNAP_DEV_FWCFG, FWCFG_SNAP_VERSION, false, fwcfg),
	ROW(SNAP_DEV_TESTMMIO, TESTMMIO_SNAP_VERSION, false, testmmio),
	ROW(SNAP_DEV_ACPI, VACPI_SNAP_VERSION, false, vacpi),
	ROW(SNAP_DEV_HPET, VHPET_SNAP_VERSION, false, vhpet),
	ROW(SNAP_DEV_LAPIC, VLAPIC_SNAP_VERSION, true, vlapic),
	ROW(SNAP_DEV_FPU, 1, true, fpu),
	ROW(SNAP_DEV_VCPU, 2, true, vcpu),     /* 2: kvmclock's MSRs in msr_state */
};

/* ---- whole snapshots ----------------------------------------------------------- */

bool snapshot_vm_parked(const struct vm *vm)
{
	for (unsigned c = 0; c < nr_cpus_present && c < MAX_CPUS; c++) {
		const struct vcpu *on = percpu[c].run_vcpu;
		if (on && on->vm == vm)
			return false;
	}
	return true;
}

static const struct snap_device_row *row_of(uint16_t device);

/* Whether a record's bytes are pages of their own (RAM, disk contents). */
static bool own_pages(uint16_t device)
{
	return device == SNAP_DEV_RAM || row_of(device)->own_pages;
}

static uint64_t pages_of(uint64_t length)
{
	return ALIGN_UP(length, PAGE_SIZE) / PAGE_SIZE;
}

static void snap_free(struct snapshot *s)
{
	if (!s)
		return;
	for (unsigned k = 0; k < s->nr; k++) {
		struct snap_rec *r = &s->rec[k];
		if (r->bytes && own_pages(r->h.device))
			page_free(hva_to_hpa(r->bytes), pages_of(r->h.length));
	}
	page_free(hva_to_hpa(s), s->block_pages);
}

static unsigned nr_instances(struct vm *vm, const struct snap_device_row *row)
{
	if (row->instances)
		return row->instances(vm);
	return row->per_vcpu ? vm->nr_vcpus : 1;
}

static uint64_t ram_chunks(const struct vm *vm)
{
	return (vm->ram_pages + RAM_CHUNK_PAGES - 1) / RAM_CHUNK_PAGES;
}

#define MAX_DEV_RECORDS (ARRAY_SIZE(snap_devices) * VM_MAX_VCPUS + SNAP_MAX_DISK_CHUNKS)

/* The headers of the device records vm's table writes, in table order. */
static unsigned plan(struct vm *vm, struct snap_rec_hdr *h)
{
	unsigned n = 0;

	for (unsigned d = 0; d < ARRAY_SIZE(snap_devices); d++) {
		const struct snap_device_row *row = &snap_devices[d];
		for (unsigned i = 0; i < nr_instances(vm, row); i++) {
			size_t sz = row->size(vm, i);
			if (sz)
				h[n++] = (struct snap_rec_hdr){ row->device, (uint16_t)i, row->version, sz };
		}
	}
	return n;
}

static const struct snap_device_row *row_of(uint16_t device)
{
	for (unsigned d = 0; d < ARRAY_SIZE(snap_devices); d++)
		if (snap_devices[d].device == device)
			return &snap_devices[d];
	return NULL;
}

static struct snap_rec_hdr planned[MAX_DEV_RECORDS];     /* the console runs on one CPU */

/* Records and bytes a snapshot of vm takes; *block_pages: its block's. */
static uint64_t snap_needs(struct vm *vm, unsigned *nr_rec, uint64_t *block_pages)
{
	uint64_t bytes = 0, own = 0;
	unsigned n = plan(vm, planned);

	for (unsigned k = 0; k < n; k++) {
		if (own_pages(planned[k].device))
			own += pages_of(planned[k].length) * PAGE_SIZE;
		else
			bytes += ALIGN_UP(planned[k].length, 16);
	}
	n += (unsigned)ram_chunks(vm);
	*nr_rec = n;
	bytes += ALIGN_UP(sizeof(struct snapshot) + (uint64_t)n * sizeof(struct snap_rec), 16);
	*block_pages = ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE;
	return *block_pages * PAGE_SIZE + own + vm->ram_pages * PAGE_SIZE;
}

/* Index of vm's snapshot under tag, or -1. */
static int find(const struct vm *vm, const char *tag)
{
	for (int k = 0; k < SNAP_MAX; k++)
		if (snaps[k] && snaps[k]->vm == vm && snaps[k]->vm_id == vm->id &&
		    !strcmp(snaps[k]->tag, tag))
			return k;
	return -1;
}

static bool fill(struct vm *vm, struct snapshot *s)
{
	unsigned k = 0;
	uint8_t *next = (uint8_t *)s +
			ALIGN_UP(sizeof(*s) + (uint64_t)s->nr * sizeof(struct snap_rec), 16);

	for (unsigned n = plan(vm, planned); k < n; k++) {
		struct snap_rec *r = &s->rec[k];
		r->h = planned[k];
		if (own_pages(r->h.device)) {
			hpa_t pa = page_alloc(pages_of(r->h.length), PAGE_SIZE);
			if (!pa)
				return false;
			r->bytes = hpa_to_hva(pa);
		} else {
			r->bytes = next;
			next += ALIGN_UP(r->h.length, 16);
		}
		if (row_of(r->h.device)->save(vm, r->h.instance, r->bytes, r->h.length) != r->h.length)
			return false;
	}
	/* RAM read whole: its untouched demand-zero chunks are zeroed first. */
	gmem_prepare_all(&vm->mem);
	const uint8_t *ram = hpa_to_hva(vm->ram_hpa);
	for (uint64_t c = 0; c < ram_chunks(vm); c++) {
		uint64_t pages = MIN((uint64_t)RAM_CHUNK_PAGES, vm->ram_pages - c * RAM_CHUNK_PAGES);
		struct snap_rec *r = &s->rec[k++];
		r->h = (struct snap_rec_hdr){ SNAP_DEV_RAM, (uint16_t)c, 1, pages * PAGE_SIZE };
		hpa_t pa = page_alloc(pages, PAGE_SIZE);
		if (!pa)
			return false;
		r->bytes = hpa_to_hva(pa);
		memcpy(r->bytes, ram + c * RAM_CHUNK_PAGES * PAGE_SIZE, pages * PAGE_SIZE);
	}
	return true;
}

bool snapshot_take(struct vm *vm, const char *tag, char *msg, size_t len)
{
	unsigned nr;
	uint64_t block_pages, need = snap_needs(vm, &nr, &block_pages), have = mm_free_bytes();
	int old = find(vm, tag), slot = old;

	if (ram_chunks(vm) > 0xffff)
		return errf(msg, len, "snapshot of VM '%s' refused: its RAM is too large",
			    vm->name), false;
	if (disk_chunks(vm) > SNAP_MAX_DISK_CHUNKS)
		return errf(msg, len, "snapshot of VM '%s' refused: its read-write disks hold more "
			    "than %llu MiB", vm->name,
			    (unsigned long long)(SNAP_MAX_DISK_CHUNKS * VIRTIO_BLK_SNAP_CHUNK >> 20)),
		       false;
	if (need + SNAP_RESERVE_BYTES > have)
		return errf(msg, len, "snapshot of VM '%s' refused: it needs %llu KiB, %llu KiB are "
			    "free and kasane keeps %llu KiB", vm->name,
			    (unsigned long long)(need / 1024), (unsigned long long)(have / 1024),
			    (unsigned long long)(SNAP_RESERVE_BYTES / 1024)), false;
	for (int k = 0; k < SNAP_MAX && slot < 0; k++)
		if (!snaps[k])
			slot = k;
	if (slot < 0)
		return errf(msg, len, "snapshot of VM '%s' refused: %u snapshots are kept already",
			    vm->name, SNAP_MAX), false;

	hpa_t block = page_zalloc(block_pages, PAGE_SIZE);
	if (!block)
		return errf(msg, len, "snapshot of VM '%s' refused: no room for its records",
			    vm->name), false;
	struct snapshot *s = hpa_to_hva(block);
	s->block_pages = block_pages;
	s->rec = (struct snap_rec *)(s + 1);
	s->vm = vm;
	s->vm_id = vm->id;
	s->ram_pages = vm->ram_pages;
	s->nr = nr;
	s->bytes = need;
	strlcpy(s->vm_name, vm->name, sizeof(s->vm_name));
	strlcpy(s->tag, tag, sizeof(s->tag));
	/* One instant for every clock in it. */
	uint64_t f = irq_save();
	snap_clock.vm_ns = vm_now_ns(vm);
	snap_clock.guest_tsc = rdtsc() + (uint64_t)vm->tsc_offset;
	irq_restore(f);
	s->vm_ns = snap_clock.vm_ns;
	if (!fill(vm, s)) {
		snap_free(s);
		return errf(msg, len, "snapshot of VM '%s' refused: no room for its %llu KiB",
			    vm->name, (unsigned long long)(need / 1024)), false;
	}
	f = spin_lock_irqsave(&snap_lock);
	struct snapshot *gone = old >= 0 ? snaps[old] : NULL;
	snaps[slot] = s;
	spin_unlock_irqrestore(&snap_lock, f);
	snap_free(gone);
	errf(msg, len, "snapshot '%s' of VM '%s' taken at %llu.%03llu s of its time: %u records, "
	     "%llu KiB", tag, vm->name, (unsigned long long)(s->vm_ns / 1000000000),
	     (unsigned long long)(s->vm_ns / 1000000 % 1000), nr, (unsigned long long)(need / 1024));
	return true;
}

/* Whether every record of s is one vm's table writes, at its version and size. */
static bool fits(struct vm *vm, const struct snapshot *s)
{
	unsigned n = plan(vm, planned);

	if (s->ram_pages != vm->ram_pages || n + ram_chunks(vm) != s->nr)
		return false;
	for (unsigned k = 0; k < n; k++) {
		const struct snap_rec_hdr *h = &s->rec[k].h;
		const struct snap_device_row *row = row_of(h->device);
		if (h->device != planned[k].device || h->instance != planned[k].instance ||
		    h->version != planned[k].version || h->length != planned[k].length ||
		    (row->matches && !row->matches(vm, h->instance, s->rec[k].bytes, h->length)))
			return false;
	}
	return true;
}

/* The guest's clocks go on from the snapshot's instant (see the top). */
static void rebase_clocks(struct vm *vm)
{
	uint64_t f = irq_save();
	vm->start_ns = clock_now_ns() - snap_clock.vm_ns;
	vm->tsc_offset = (int64_t)(snap_clock.guest_tsc - rdtsc());
	irq_restore(f);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpu[i].hw.tsc_offset = vm->tsc_offset;
}

/*
 * Each vCPU back where the scheduler had it: halted, waiting for a SIPI,
 * or runnable (PAUSED until the VM resumes).  sched_block() parks a
 * vCPU that is not on a CPU as it does the running one; sched_wake()
 * turns a blocked one of a paused VM into PAUSED.
 */
static void restore_sched(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (restored_sched[i] == VCPU_PAUSED) {
			if (v->state == VCPU_HALTED || v->state == VCPU_WAIT_SIPI)
				sched_wake(v);
			v->events = true;
		} else if (v->state != restored_sched[i]) {
			v->events = false;
			sched_block(v, restored_sched[i]);
		}
	}
}

bool snapshot_restore(struct vm *vm, const char *tag, char *msg, size_t len)
{
	int k = find(vm, tag);

	if (k < 0)
		return errf(msg, len, "VM '%s' has no snapshot '%s'", vm->name, tag), false;
	struct snapshot *s = snaps[k];
	if (!fits(vm, s))
		return errf(msg, len, "snapshot '%s' does not fit VM '%s' as it is now", tag,
			    vm->name), false;

	/* RAM first (the records after it), then the models in table order;
	 * the clocks are rebased just before the vCPUs, the last rows, take
	 * the new TSC offset.  Only a record a model refuses stops this, a
	 * bug: the VM is then half restored and must end. */
	/* RAM written whole: no chunk may stay fresh (demand-zero) under the
	 * restored bytes, or a later first touch would zero them. */
	gmem_prepare_all(&vm->mem);
	uint8_t *ram = hpa_to_hva(vm->ram_hpa);
	unsigned first_ram = s->nr - (unsigned)ram_chunks(vm);
	for (unsigned c = first_ram; c < s->nr; c++)
		memcpy(ram + (uint64_t)s->rec[c].h.instance * RAM_CHUNK_PAGES * PAGE_SIZE,
		       s->rec[c].bytes, s->rec[c].h.length);
	bool rebased = false;
	for (unsigned r = 0; r < first_ram; r++) {
		const struct snap_rec *rec = &s->rec[r];
		if (rec->h.device == SNAP_DEV_VCPU && !rebased) {
			rebase_clocks(vm);      /* before the vCPUs take the TSC offset */
			rebased = true;
		}
		if (!row_of(rec->h.device)->load(vm, rec->h.instance, rec->bytes, rec->h.length)) {
			vm_end(vm, VM_END_BAD_STATE, -1,
			       "restoring snapshot '%s': record %u (device %u, instance %u) refused",
			       tag, r, rec->h.device, rec->h.instance);
			return errf(msg, len, "restoring VM '%s' failed; it ended", vm->name), false;
		}
	}
	restore_sched(vm);
	errf(msg, len, "VM '%s' restored to snapshot '%s' (%llu.%03llu s of its time)", vm->name,
	     tag, (unsigned long long)(s->vm_ns / 1000000000),
	     (unsigned long long)(s->vm_ns / 1000000 % 1000));
	return true;
}

void snapshot_list(void (*say)(const char *fmt, ...))
{
	unsigned n = 0;

	for (unsigned k = 0; k < SNAP_MAX; k++) {
		uint64_t f = spin_lock_irqsave(&snap_lock);
		struct snapshot c = snaps[k] ? *snaps[k] : (struct snapshot){ 0 };
		spin_unlock_irqrestore(&snap_lock, f);
		if (!c.nr)
			continue;
		if (!n++)
			say("  %-16s %-24s %12s %10s %8s\n", "VM", "TAG", "VM TIME s", "KiB", "RECORDS");
		say("  %-16s %-24s %8llu.%03llu %10llu %8u\n", c.vm_name, c.tag,
		    (unsigned long long)(c.vm_ns / 1000000000),
		    (unsigned long long)(c.vm_ns / 1000000 % 1000),
		    (unsigned long long)(c.bytes / 1024), c.nr);
	}
	say("kasane: %u snapshot%s, %llu KiB free\n", n, n == 1 ? "" : "s",
	    (unsigned long long)(mm_free_bytes() / 1024));
}

void snapshot_drop_vm(const struct vm *vm)
{
	for (unsigned k = 0; k < SNAP_MAX; k++) {
		uint64_t f = spin_lock_irqsave(&snap_lock);
		struct snapshot *s = snaps[k] && snaps[k]->vm == vm ? snaps[k] : NULL;
		if (s)
			snaps[k] = NULL;
		spin_unlock_irqrestore(&snap_lock, f);
		snap_free(s);
	}
}
