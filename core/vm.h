/*
 * VMs and vCPUs, independent of the virtualization vendor.  The vendor
 * back end (arch/x86/svm, later arch/x86/vmx) runs a vCPU until an exit it
 * cannot finish alone and describes that exit in a struct vm_exit; the
 * code in core/ handles it.
 */
#ifndef KASANE_CORE_VM_H
#define KASANE_CORE_VM_H

#include "lib/types.h"
#include "arch/x86/regs.h"
#include "arch/x86/spinlock.h"
#include "arch/x86/fpu.h"
#include "mm/guest_mem.h"
#include "mm/npt.h"
#include "core/config.h"
#include "devices/iobus.h"
#include "devices/vuart.h"
#include "devices/fwcfg.h"
#include "devices/testmmio.h"
#include "boot/bootinfo.h"
#include "devices/vlapic.h"
#include "devices/vioapic.h"
#include "devices/vpic.h"
#include "devices/vpit.h"
#include "devices/vrtc.h"

/* Vendor-neutral exit reasons; also the keys of the per-VM statistics. */
enum vm_exit_kind {
	EXIT_NONE,              /* handled by the back end (e.g. a host interrupt) */
	EXIT_IO,                /* IN/OUT/INS/OUTS */
	EXIT_MMIO,              /* access to guest-physical space that is not RAM */
	EXIT_CPUID,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_HLT,
	EXIT_HYPERCALL,
	EXIT_TRIPLE_FAULT,
	EXIT_INTR,              /* a host interrupt arrived */
	EXIT_UD,                /* an instruction the guest must see fail (#UD) */
	EXIT_INTR_WINDOW,       /* the guest can now take the interrupt we hold */
	EXIT_REFLECT,           /* an exception to give straight back to the guest */
	EXIT_INVALID,           /* the CPU refused the guest state */
	EXIT_UNHANDLED,         /* anything else: ends the VM */
	NR_EXIT_KINDS
};

extern const char *const exit_kind_name[NR_EXIT_KINDS];

struct vm_exit {
	enum vm_exit_kind kind;
	uint64_t code;          /* vendor exit code, for messages */
	uint64_t info1, info2;  /* vendor details, for messages */
	uint64_t next_rip;      /* RIP after the instruction, 0 if unknown */
	union {
		struct {
			bool in, string, rep;
			uint8_t size;           /* 1, 2, 4 */
			uint8_t addr_size;      /* 2, 4, 8; 0 if not reported */
			int8_t seg;             /* SEG_*, for OUTS */
			uint16_t port;
		} io;
		struct {
			gpa_t gpa;
			bool write, fetch;
		} mmio;
		struct {
			uint32_t msr;
		} msr;
		struct {
			uint8_t vector;
			bool has_error;
			uint32_t error;
		} reflect;
	};
};

/* Segment and control state the emulator needs (read from the VMCB/VMCS). */
struct vcpu_sregs {
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t seg_base[NR_SEGS];
	uint16_t cs_attr;       /* packed: access byte | (AVL, L, D/B, G) << 8 */
	uint8_t cpl;
};

/*
 * RUNNABLE: in its CPU's run queue, waiting; RUNNING: in the guest loop on
 * its CPU; HALTED: executed HLT, waits for an interrupt; WAIT_SIPI: an AP
 * before its STARTUP IPI (or after INIT); STOPPED: its VM has ended.
 */
enum vcpu_state { VCPU_RUNNABLE, VCPU_RUNNING, VCPU_HALTED, VCPU_WAIT_SIPI, VCPU_STOPPED };

struct vm;

struct vlapic;

struct vcpu {
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
	uint64_t next_deadline;         /* earliest device timer, ns */
	struct vlapic *vlapic;
	struct fpu_state fpu;           /* FPU/SSE/AVX, XCR0, DR0-3, TSC_AUX */
	struct x86_regs regs;           /* all GPRs, RIP, RFLAGS */
	void *vendor;                   /* struct svm_vcpu / vmx_vcpu */
	uint64_t nr_exits;
	uint64_t exits[NR_EXIT_KINDS];
	uint64_t run_tsc;               /* TSC ticks spent in the guest loop */
	struct {                        /* modelled MSRs, see core/msr.c */
		uint64_t spec_ctrl, mtrr_def_type, tsc_aux;
	} msr;
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
};

struct vm {
	unsigned id;
	char name[32];
	const struct vm_config *cfg;
	struct guest_mem mem;
	hpa_t ram_hpa;                  /* host frames backing all RAM regions */
	uint64_t ram_pages;
	struct npt npt;
	uint32_t asid;
	unsigned nr_vcpus;
	struct vcpu vcpu[VM_MAX_VCPUS];
	struct iobus bus;
	struct vuart uart;
	bool uart_irq;                  /* level of its IRQ 4 line */
	struct fwcfg fwcfg;
	struct testmmio testmmio;
	struct vioapic ioapic;
	struct vpic pic;
	struct vpit pit;
	struct vrtc rtc;
	unsigned weight;                /* share of contended CPUs (default 100) */
	int64_t tsc_offset;             /* guest TSC = host TSC + offset, for all vCPUs */
	uint64_t start_ns;              /* host ns at creation: VM time 0 */
	/* The end of the VM: first reason wins. */
	spinlock_t lock;
	volatile bool ended;
	enum vm_end_reason end_reason;
	int status;
	char end_detail[160];
	uint64_t start_tsc, end_tsc;
	uint64_t exits[NR_EXIT_KINDS];  /* summed over vCPUs when they stop */
	volatile unsigned vcpus_running;
	spinlock_t console_lock;        /* hc_line */
	spinlock_t uart_irq_lock;       /* uart_irq */
	char hc_line[200];              /* hypercall console line being assembled */
	size_t hc_len;
};

/* Vendor back end, bound once at boot from CPUID. */
struct virt_ops {
	const char *name;
	/* Enable virtualization on this CPU; false (with a message) if it cannot. */
	bool (*cpu_init)(void);
	bool (*vcpu_init)(struct vcpu *v);
	void (*vcpu_free)(struct vcpu *v);
	/* Set the architectural reset or boot state; see vcpu_set_boot_state. */
	void (*vcpu_set_state)(struct vcpu *v, const struct vcpu_sregs *s, bool long_mode,
			       uint64_t gdt_base, uint16_t gdt_limit);
	/* Run until an exit core/ must handle. */
	void (*vcpu_run)(struct vcpu *v, struct vm_exit *e);
	void (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
	void (*inject_exception)(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
	void (*set_cr2)(struct vcpu *v, uint64_t cr2);
	/* External interrupts: can one be injected now (IF=1, no shadow, no
	 * event pending)?  If not, ask for an exit when it can. */
	bool (*can_inject_intr)(struct vcpu *v);
	void (*inject_intr)(struct vcpu *v, uint8_t vector);
	bool (*inject_nmi)(struct vcpu *v);      /* false: try again later */
	void (*request_intr_window)(struct vcpu *v, bool on);
	/* INIT (SDM vol. 3A §9.1.1 state) and STARTUP: real mode at vector << 12. */
	void (*vcpu_reset)(struct vcpu *v);
	void (*vcpu_sipi)(struct vcpu *v, uint8_t vector);
	/* Model-specific state the back end keeps (EFER, PAT, syscall MSRs...). */
	bool (*msr_read)(struct vcpu *v, uint32_t msr, uint64_t *val);
	bool (*msr_write)(struct vcpu *v, uint32_t msr, uint64_t val);
	bool nested_paging;
};

extern const struct virt_ops *virt;
extern bool virt_cpu_ok[];      /* per physical CPU: virtualization enabled */

/* The VM layer's entry from hv_main. */
void vm_boot_all(const struct boot_info *bi);
/* End a VM (any CPU, any vCPU of it); the first call sets the reason. */
void vm_end(struct vm *vm, enum vm_end_reason why, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Print one line of guest output, prefixed with the VM's name. */
void vm_console_line(struct vm *vm, const char *line, size_t len);
/* Guest console bytes from the hypercall, assembled into lines. */
void vm_console_write(struct vm *vm, const char *s, size_t len);

/* End the VM if every vCPU waits for an event that cannot come. */
void vm_check_all_halted(struct vm *vm);

/* Exit handling (core/exit.c). */
void vcpu_handle_exit(struct vcpu *v, struct vm_exit *e);
/* Guest-virtual memory access for the emulator (core/emul.c). */
int vcpu_emulate_mmio(struct vcpu *v, struct vm_exit *e);
int vcpu_emulate_io(struct vcpu *v, struct vm_exit *e);

#endif
