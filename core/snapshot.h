/*
 * Snapshots of whole VMs, kept in hypervisor memory (the console's
 * `snapshot`, `restore` and `snapshots`).  A snapshot is a list of
 * records {device, instance, version, length, bytes}: one per device
 * model, one per vCPU for its registers, FPU and local APIC, one per
 * 2 MiB of RAM.  The records are self-describing, so a later live
 * migration can send them as they are.
 */
#ifndef KASANE_CORE_SNAPSHOT_H
#define KASANE_CORE_SNAPSHOT_H

#include "lib/types.h"

struct vm;

/* What a record holds (the `device` of its header). */
enum snap_device {
	SNAP_DEV_VM = 1,        /* the VM's clocks and board state */
	SNAP_DEV_VCPU,          /* per vCPU: registers, events, MSRs, scheduling state */
	SNAP_DEV_FPU,           /* per vCPU: FPU/SSE/AVX area, XCR0, DR0-3, TSC_AUX */
	SNAP_DEV_LAPIC,         /* per vCPU */
	SNAP_DEV_IOAPIC,
	SNAP_DEV_PIC,
	SNAP_DEV_PIT,
	SNAP_DEV_RTC,
	SNAP_DEV_UART,
	SNAP_DEV_FWCFG,
	SNAP_DEV_TESTMMIO,
	SNAP_DEV_ACPI,
	SNAP_DEV_PCI,           /* bus 0: every function's configuration space */
	SNAP_DEV_PCI_TESTDEV,
	SNAP_DEV_RAM,           /* instance = 2 MiB chunk number */
	SNAP_DEV_VIRTIO_BLK,    /* instance = disk number */
	SNAP_DEV_VIRTIO_CONSOLE,
	SNAP_DEV_VIRTIO_RNG,
	SNAP_DEV_VIRTIO_NET,    /* instance = NIC number */
	SNAP_DEV_DISK,          /* a read-write disk's contents: 2 MiB chunks, disk by disk */
	SNAP_DEV_HPET,
	/* New device models take the next numbers (see snap_devices[]). */
};

/* A record's header; `length` bytes follow. */
struct snap_rec_hdr {
	uint16_t device;        /* enum snap_device */
	uint16_t instance;      /* vCPU number, RAM chunk; 0 for one-of-a-kind devices */
	uint32_t version;       /* of the device's record layout */
	uint64_t length;
};

#define SNAP_TAG_MAX 24
#define SNAP_MAX 16             /* snapshots kept at once, over all VMs */
/* Read-write disk contents a snapshot may hold: 8 GiB in 2 MiB chunks. */
#define SNAP_MAX_DISK_CHUNKS 4096
/* Free memory a snapshot must leave to kasane (heap, page tables, restarts). */
#define SNAP_RESERVE_BYTES (16ULL << 20)

/*
 * Whether no vCPU of vm is on a CPU: after sched_pause_vm(), each running
 * vCPU leaves at its next exit, with its FPU state saved.
 */
bool snapshot_vm_parked(const struct vm *vm);

/*
 * Take a snapshot of vm, which is paused and parked, under tag (replacing
 * one of vm's with that tag).  The guest's clocks do not move while it is
 * taken.  Returns false if it was refused (not enough free memory, too
 * many snapshots); msg says what happened either way.
 */
bool snapshot_take(struct vm *vm, const char *tag, char *msg, size_t len);
/*
 * Put vm, paused and parked, back to its snapshot under tag: vCPUs,
 * devices, RAM, and clocks that go on from the snapshot's time.  Returns
 * false if there is no such snapshot or it does not fit vm (msg says why;
 * vm is unchanged).  A record the devices refuse ends vm.
 */
bool snapshot_restore(struct vm *vm, const char *tag, char *msg, size_t len);
/* Print every snapshot kept, one line each. */
void snapshot_list(void (*say)(const char *fmt, ...));
/* Free every snapshot of vm (it ended or is being rebuilt). */
void snapshot_drop_vm(const struct vm *vm);

#endif
