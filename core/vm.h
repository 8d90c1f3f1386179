/*
 * VMs and vCPUs, independent of the virtualization vendor.  A vCPU embeds
 * the struct virt_vcpu that the back end sees (arch/x86/virt_ops.h).
 */
#ifndef KASANE_CORE_VM_H
#define KASANE_CORE_VM_H

#include "lib/types.h"
#include "arch/x86/regs.h"
#include "arch/x86/virt_ops.h"
#include "arch/x86/decode.h"
#include "kernel/spinlock.h"
#include "arch/x86/fpu.h"
#include "mm/guest_mem.h"
#include "mm/npt.h"
#include "core/config.h"
#include "core/board.h"
#include "core/event.h"
#include "core/msr.h"
#include "core/cpuid.h"
#include "core/gdbstub.h"
#include "devices/iobus.h"
#include "devices/vuart.h"
#include "devices/fwcfg.h"
#include "devices/testmmio.h"
#include "devices/vlapic.h"
#include "devices/vioapic.h"
#include "devices/vpic.h"
#include "devices/vpit.h"
#include "devices/vrtc.h"
#include "devices/vacpi.h"
#include "devices/vhpet.h"
#include "devices/vpci.h"
#include "devices/pci_testdev.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_rng.h"
#include "devices/virtio_net.h"

extern const char *const exit_kind_name[NR_EXIT_KINDS];

/*
 * RUNNABLE: in its CPU's run queue, waiting; RUNNING: in the guest loop on
 * its CPU; HALTED: executed HLT, waits for an interrupt; WAIT_SIPI: an AP
 * before its STARTUP IPI (or after INIT); STOPPED: its VM has ended;
 * PAUSED: its VM is paused from the console and it would be RUNNABLE.
 */
enum vcpu_state { VCPU_RUNNABLE, VCPU_RUNNING, VCPU_HALTED, VCPU_WAIT_SIPI, VCPU_STOPPED,
		  VCPU_PAUSED };

struct vm;

struct vlapic;

struct vcpu {
	struct virt_vcpu hw;            /* what the back end sees: GPRs, RIP, RFLAGS... */
	struct vm *vm;
	unsigned id;
	volatile unsigned pcpu;         /* physical CPU whose run queue holds it */
	volatile enum vcpu_state state;
	/* Scheduling (core/sched.c); protected by the run queue's lock. */
	uint64_t affinity;              /* CPUs it may run on (bit n = CPU n) */
	bool exclusive;                 /* its CPU runs nothing else */
	struct vcpu *rq_next;
	uint64_t vruntime;              /* weighted run time, ns */
	uint64_t run_ns, wait_ns;       /* in the guest; runnable but not running */
	uint64_t state_since;           /* TSC when it became RUNNABLE */
	uint64_t migrations;
	uint64_t ran_on;                /* CPUs it has run on (bit n = CPU n) */
	/* Events for it from other CPUs, applied by its own CPU before entry. */
	volatile bool events;           /* something new to look at before entry */
	bool wait_sipi;                 /* in wait-for-SIPI (after INIT, or an AP at power-up) */
	bool halt_requested;            /* the guest executed HLT */
	bool window_open;               /* an interrupt-window exit is requested */
	bool nmi_window_open;           /* an NMI-window exit is requested */
	bool post_out;                  /* an interrupt is posted (core/vcpu.c, post_intr) */
	/* Events for the guest (core/event.h); with hw.nmi_pending and
	 * hw.nmi_blocked, what a snapshot saves of them. */
	struct event_queue evq;
	bool yield_requested;           /* HC_YIELD: give up the rest of the slice */
	uint8_t cr8;                    /* the guest's CR8 (= TPR[7:4]) as last synced */
	uint64_t next_deadline;         /* earliest device timer, ns */
	struct vlapic *vlapic;
	struct fpu_state fpu;           /* FPU/SSE/AVX, XCR0, DR0-3, TSC_AUX */
	uint64_t nr_exits;
	uint64_t intrs;                 /* interrupts injected: the watchdog's sign of life */
	uint64_t exits[NR_EXIT_KINDS];
	uint64_t exit_tsc[NR_EXIT_KINDS];  /* TSC ticks from each exit to the next entry */
	uint64_t run_tsc;               /* TSC ticks spent in the guest loop */
	/* Host interrupts that exited the guest for nothing of its own VM: no
	 * event for it, no deadline of its own, no window it asked for
	 * (core/vcpu.c).  An exclusive vCPU's should stay 0. */
	uint64_t interference;
	struct msr_state msr;           /* modelled MSRs, see core/msr.c */
	struct cpuid_table cpuid;       /* its CPUID, made at its first CPUID exit (core/exit.c) */
	/* The last MMIO instruction's bytes and decode (core/emul.c): a
	 * device doorbell in a loop (virtio notify) is not decoded again. */
	struct {
		enum x86_mode mode;
		uint8_t len;                    /* 0: none */
		uint8_t bytes[X86_MAX_INSN_LEN];
		struct x86_insn insn;
		uint64_t hits;
	} mmio_memo;
	struct shadow_vcpu *shadow;     /* shadow paging (core/shadow.c), else NULL */
	struct vcpu_dbg dbg;            /* the gdb stub's hold on it (core/gdbstub.c) */
};

enum vm_end_reason {
	VM_END_NONE,
	VM_END_EXIT_PORT,       /* the guest wrote the exit port */
	VM_END_HYPERCALL,       /* HC_EXIT */
	VM_END_TRIPLE_FAULT,
	VM_END_UNHANDLED,       /* an exit kasane cannot handle */
	VM_END_OUT_OF_RANGE,    /* memory access outside the VM's RAM and devices */
	VM_END_HALTED,          /* HLT with interrupts disabled: it can never wake */
	VM_END_BAD_STATE,       /* the CPU refused the guest state */
	VM_END_POWER_OFF,       /* ACPI S5: the guest powered the machine off */
	VM_END_REBOOT,          /* the guest reset the machine (restarted or ended, as on_reboot says) */
	VM_END_WATCHDOG,        /* the hypervisor's watchdog: no interrupt taken for too long */
	VM_END_DESTROYED,       /* the console's destroy */
	VM_END_RESTART,         /* the console's restart: rebuilt from power-on, whatever on_reboot says */
};

struct vm {
	unsigned id;
	char name[32];
	const struct vm_config *cfg;
	struct guest_mem mem;
	hpa_t ram_hpa;                  /* host frames backing all RAM regions */
	uint64_t ram_pages;
	uint8_t *ram_chunks;            /* demand-zero state of every RAM region (mm/guest_mem.h) */
	struct npt npt;
	bool shadow;                    /* shadow paging instead of npt (core/shadow.c) */
	unsigned nr_vcpus;
	struct vcpu vcpu[VM_MAX_VCPUS];
	struct iobus bus;               /* over the two tables below */
	struct iobus_region pio_regions[BOARD_PIO_REGIONS];
	struct iobus_region mmio_regions[BOARD_MMIO_REGIONS];
	struct vuart uart;
	bool uart_irq;                  /* level of its IRQ 4 line */
	struct fwcfg fwcfg;
	struct testmmio testmmio;
	struct vioapic ioapic;
	struct vpic pic;
	struct vpit pit;
	struct vrtc rtc;
	struct vacpi acpi;              /* PM1a blocks, PM timer, reset register */
	struct vhpet hpet;              /* at VHPET_BASE; its legacy mode takes ISA IRQ 0 and 8 */
	spinlock_t isa_mux_lock;        /* the two levels below and the lines they drive */
	bool isa_dev_level[2];          /* ISA IRQ 0 (PIT), 8 (RTC): their own devices' levels */
	bool isa_hpet_level[2];         /* the same lines as the HPET's legacy mode drives them */
	struct vpci_bus pci;            /* bus 0 and its host bridge */
	struct pci_testdev *pci_testdev;        /* with pci_testdev = on, else NULL */
	struct virtio_net *nic[VM_MAX_NICS];    /* net = lines, on their switches */
	unsigned nr_nics;
	uint32_t pci_msi_drops;         /* MSIs dropped (a log line for the first few) */
	/* virtio devices (core/board.c), NULL when the config has none; the
	 * disks' images are boot modules, found by core/vm_create.c. */
	struct { uint8_t *data; uint64_t size; } disk_img[VM_MAX_DISKS];
	struct virtio_blk *vblk[VM_MAX_DISKS];
	unsigned nr_vblk;               /* vblk[0..nr_vblk) may be set: the exit path's poll looks no further */
	struct virtio_console *vcon;
	struct virtio_rng *vrng;
	uint32_t virtio_says;           /* NEEDS_RESET lines said (the first few only) */
	unsigned weight;                /* share of contended CPUs (default 100) */
	int64_t tsc_offset;             /* guest TSC = host TSC + offset, for all vCPUs */
	uint64_t start_ns;              /* host ns at creation: VM time 0 */
	/* The end of the VM: first reason wins. */
	spinlock_t lock;
	volatile bool ended;
	volatile bool paused;           /* by the console: no vCPU of it is picked (core/sched.c) */
	/* The gdb stub (core/gdbstub.c): attached; gdb = yes has stopped it
	 * before its first instruction; and waits for the stub to attach. */
	volatile bool debugged;
	bool gdb_waited, gdb_attach_wanted;
	enum vm_end_reason end_reason;
	int status;
	char end_detail[160];
	uint64_t start_tsc, end_tsc;
	unsigned boots;                 /* restarts after a reboot (on_reboot = restart) */
	uint64_t wd_intrs, wd_since_ns; /* the watchdog's last look: interrupts, host ns */
	uint64_t exits[NR_EXIT_KINDS];  /* summed over vCPUs when they stop */
	volatile unsigned vcpus_running;
	spinlock_t con_limit_lock;      /* the console rate limit below */
	uint64_t con_tokens, con_refill_ns; /* bytes the VM may print now; last refill (host ns) */
	uint64_t con_dropped, con_dropped_told; /* console bytes dropped; how many said so */
	spinlock_t console_lock;        /* hc_line */
	spinlock_t uart_irq_lock;       /* uart_irq */
	char hc_line[200];              /* hypercall console line being assembled */
	size_t hc_len;
};

/* The vendor back end, bound once at boot (core/virt.c). */
extern const struct virt_ops *virt;

/* The registry of VMs (core/vm.c): created VMs, in order. */
bool vm_register(struct vm *vm);
unsigned vm_count(void);
struct vm *vm_at(unsigned i);
/* Every registered VM has ended and been reported. */
bool vm_all_ended(void);
/* The VM's last vCPU has stopped and the VM is reported. */
void vm_mark_finished(struct vm *vm);
/* A finished VM runs again (the console's start): undoes vm_mark_finished. */
void vm_mark_started(struct vm *vm);
/* How a reason is shown in reports and the console. */
const char *vm_end_reason_name(enum vm_end_reason why);
/* The one-line end report of a VM. */
void vm_report(struct vm *vm);
/* The console view of every running VM's vCPUs. */
void vm_dump_vcpus(const char *const state_name[]);
/* The end-of-run summary; 0 if every VM ended with status 0. */
int vm_summary(void);
/* End a VM (any CPU, any vCPU of it); the first call sets the reason. */
void vm_end(struct vm *vm, enum vm_end_reason why, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Print one line of guest output, prefixed with the VM's name. */
void vm_console_line(struct vm *vm, const char *line, size_t len);
/* Guest console bytes from the hypercall, assembled into lines. */
void vm_console_write(struct vm *vm, const char *s, size_t len);

/* The watchdog's look at vm (vCPU 0's CPU): ends it after cfg->watchdog_ns
 * without an interrupt; returns when to look again (host ns). */
uint64_t vm_watchdog(struct vm *vm, uint64_t host_now_ns);

/* Its NICs off their switches, each with a line of its counters (board.c;
 * again is harmless): from vm_destroy(), so an ended VM takes no frames. */
void board_net_free(struct vm *vm);

/*
 * A nested-page fault at gpa: true if it was the guest's first touch of a
 * demand-zero RAM chunk (core/vm_create.c), now zeroed and mapped.
 */
bool vm_ram_fault(struct vm *vm, gpa_t gpa);

/* End the VM if every vCPU waits for an event that cannot come. */
void vm_check_all_halted(struct vm *vm);


#endif
