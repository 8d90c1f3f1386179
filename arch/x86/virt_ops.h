/*
 * The vendor seam: what a hardware-virtualization back end (AMD-V in
 * arch/x86/svm, Intel VT-x in arch/x86/vmx) offers the rest of kasane, in
 * vendor-neutral terms.  A back end runs a vCPU until an exit it cannot
 * finish alone and describes that exit in a struct vm_exit; core/ handles
 * it.  Policy (reset and boot states, MSR checks, which MSRs pass
 * through, hypercalls) lives in core/, never in a back end.
 *
 * A back end sees only struct virt_vcpu, which core/ embeds in its own
 * struct vcpu, so this layer never includes anything from core/.
 */
#ifndef KASANE_ARCH_X86_VIRT_OPS_H
#define KASANE_ARCH_X86_VIRT_OPS_H

#include "lib/types.h"
#include "arch/x86/regs.h"
#include "mm/npt.h"

struct guest_mem;

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
	EXIT_NMI_WINDOW,        /* NMI blocking or an interrupt shadow may have ended */
	EXIT_REFLECT,           /* an exception to give straight back to the guest */
	EXIT_INVD,              /* INVD: must not drop the host's dirty lines */
	EXIT_INVALID,           /* the CPU refused the guest state */
	EXIT_CR_WRITE,          /* a write to CR0 or CR4 core/ checks against the CPU model */
	EXIT_XSETBV,            /* XSETBV, likewise */
	EXIT_UNHANDLED,         /* anything else: ends the VM */
	/* Shadow paging only (core/shadow.c): */
	EXIT_CR_ACCESS,         /* MOV to/from CR0, CR3, CR4; CLTS, LMSW, SMSW */
	EXIT_INVLPG,
	EXIT_PAGE_FAULT,        /* #PF in the shadow tables: fill, reflect or MMIO */
	EXIT_TASK_SWITCH,       /* would load CR3 from a TSS */
	EXIT_BREAKPOINT,        /* #BP (or INT n), while set_bp_intercept is on */
	NR_EXIT_KINDS
};

/*
 * An event delivered through the guest's IDT, in vendor-neutral form (SVM:
 * EVENTINJ and EXITINTINFO, APM vol. 2 §15.20 and §15.7.2; VMX: the
 * VM-entry interruption information and the IDT-vectoring information,
 * SDM vol. 3C §24.8.3 and §24.9.3).
 */
enum virt_event_type {
	VIRT_EV_INTR,           /* external interrupt */
	VIRT_EV_NMI,
	VIRT_EV_EXCEPTION,      /* hardware exception; INT3 and INTO too on SVM */
	VIRT_EV_SOFT_INT,       /* INT n */
};

struct virt_event {
	bool valid;
	uint8_t type;           /* enum virt_event_type */
	uint8_t vector;
	bool has_error;
	uint32_t error;
};

struct vm_exit {
	enum vm_exit_kind kind;
	uint64_t code;          /* vendor exit code, for messages */
	uint64_t info1, info2;  /* vendor details, for messages */
	uint64_t next_rip;      /* RIP after the instruction, 0 if unknown */
	/* An event whose delivery this exit cut short: it has not reached the
	 * guest and must be delivered again (or its instruction run again). */
	struct virt_event cut;
	/* An interrupt shadow (STI, MOV SS) was in force at the exit: an
	 * instruction kasane completes ends it (set_intr_shadow). */
	bool intr_shadow;
	union {
		struct {
			bool in, string, rep;
			uint8_t size;           /* 1, 2, 4 */
			uint8_t addr_size;      /* 2, 4, 8; 0 if not reported */
			uint16_t port;
		} io;
		struct {
			uint64_t gpa;
			bool write, fetch;
		} mmio;
		struct {
			uint32_t msr;
		} msr;
		struct {
			uint8_t cpl;            /* EXIT_HYPERCALL: the caller's */
		} hypercall;
		struct {
			uint8_t vector;
			bool has_error;
			uint32_t error;
		} reflect;
		struct {
			uint8_t cr;             /* 0, 3 or 4 */
			bool write;             /* EXIT_CR_ACCESS: a write */
			uint8_t gpr;            /* EXIT_CR_WRITE: the source register, or CR_GPR_DECODE */
		} cr;
		struct {
			uint64_t la;            /* valid if la_known (decode assists) */
			bool la_known;
		} invlpg;
		struct {
			uint64_t la;            /* the faulting linear address */
			uint32_t error;         /* the CPU's #PF error code */
		} pf;
		struct {
			uint16_t sel;           /* the new task's TSS selector */
			uint8_t source;         /* VIRT_TASK_* */
			bool has_error;         /* an error code to push for the new task */
			uint32_t error;
		} task;
	};
};

/* What started a task switch (EXIT_TASK_SWITCH; SDM vol. 3A §7.3):
 * GATE is an interrupt or exception through a task gate, whose event is
 * in vm_exit.cut. */
enum { VIRT_TASK_CALL, VIRT_TASK_JMP, VIRT_TASK_IRET, VIRT_TASK_GATE };

/* cr.gpr when the exit does not name the source: core/ decodes the
 * instruction (MOV to CRn, CLTS, LMSW). */
#define CR_GPR_DECODE   0xff

/* What a back end knows of a vCPU (core/ embeds it in struct vcpu). */
struct virt_vcpu {
	struct x86_regs regs;           /* all GPRs, RIP, RFLAGS */
	void *vendor;                   /* struct svm_vcpu / vmx_vcpu */
	unsigned vm_id, vcpu_id;        /* for tagging TLBs (ASID/VPID) */
	hpa_t paging_root;              /* nested page tables of the VM */
	int64_t tsc_offset;             /* guest TSC = host TSC + offset */
	/*
	 * NMI state, architectural and vendor-neutral (a snapshot saves it).
	 * nmi_pending: an NMI waits for delivery; there is at most one, later
	 * ones merge into it (SDM vol. 3A §6.7.1).  nmi_blocked: an NMI was
	 * delivered and the IRET that ends its handler has not completed (it
	 * ends on an IRET that faults too).  core/ sets nmi_pending; the back
	 * end keeps nmi_blocked current at every exit and honours a value
	 * core/ writes between runs.
	 */
	bool nmi_pending;
	bool nmi_blocked;
	/*
	 * Shadow paging (core/shadow.c): nested paging off, and the CPU runs
	 * on the control values in shadow_hw (CR3 = the shadow tables) while
	 * get_reg/get_sregs/set_reg/set_state see the guest's own.  The back
	 * end intercepts CR0/CR3/CR4 accesses, INVLPG, #PF and task switches.
	 * shadow is set before vcpu_init; core/ sets tlb_flush when it took
	 * translations out of the shadow tables, and the back end flushes
	 * this vCPU's TLB at the next entry.
	 */
	bool shadow;
	bool tlb_flush;
	struct { uint64_t cr0, cr3, cr4, efer; } shadow_hw;
	/* CR4 bits the guest's CPU model allows (core/ctlreg.c), set by core/
	 * before the first entry; a back end whose CR4 writes do not all exit
	 * (VT-x) makes the others exit.  0: not known yet. */
	uint64_t cr4_allowed;
	/* The VM's RAM, for a back end that must itself emulate what the CPU
	 * cannot run (VT-x real mode without unrestricted guest, in
	 * virtual-8086 mode: arch/x86/vmx/vmx_realmode.c).  Set before vcpu_init. */
	const struct guest_mem *mem;
};

/* Interrupt shadow bits (set_intr_shadow): interrupts, and NMIs where the
 * CPU holds them, wait until the instruction after STI or MOV SS/POP SS
 * completes (SDM vol. 3A §6.8.3; APM vol. 2 §15.21.5). */
#define VIRT_SHADOW_STI         1u
#define VIRT_SHADOW_MOV_SS      2u

/*
 * A vCPU's whole state as a back end holds it, for snapshots (core/snapshot.c;
 * one day live migration): the architectural registers, an event loaded
 * for the next entry but not delivered yet (core/ loads one and may then
 * give the CPU up before entering), the interrupt shadow and NMI blocking.
 * The MSRs a back end keeps go through msr_get/msr_set; FPU state, XCR0,
 * DR0-3 and TSC_AUX are struct fpu_state's (arch/x86/fpu.h).
 */
struct virt_cpu_state {
	struct x86_vcpu_state arch;     /* GPRs, RIP, RFLAGS, segments, CRs, EFER, PAT, DR6/7 */
	struct virt_event pending;      /* INTR, NMI or EXCEPTION; valid = false if none */
	uint32_t shadow;                /* VIRT_SHADOW_* */
	bool nmi_blocked;
};

/* Control registers and friends, for the cheap get_reg. */
enum virt_reg { VIRT_CR0, VIRT_CR2, VIRT_CR3, VIRT_CR4, VIRT_EFER, VIRT_CR8, VIRT_CPL,
	/* The guest's DR6 and DR7 (DR0-3 are switched by core/ with the FPU
	 * state): a debugger reads DR6 at a #DB and loads its own DR7. */
	VIRT_DR6, VIRT_DR7,
	/* PAE paging's PDPTE registers (SDM vol. 3A §4.4.1), written after
	 * core/ loads CR3 itself (a task switch): VT-x with EPT keeps them in
	 * the VMCS (vol. 3C §26.3.2.4); nested paging on AMD-V reads them
	 * from memory. */
	VIRT_PDPTE0, VIRT_PDPTE1, VIRT_PDPTE2, VIRT_PDPTE3 };

/* A vendor back end, bound once at boot by core/virt.c. */
struct virt_ops {
	const char *name;
	enum npt_format paging_format;          /* of the VM's nested page tables */
	/* Does this CPU offer it?  CPUID only.  A back end without
	 * shadow_paging asks for nested paging too. */
	bool (*probe)(void);
	/* Shadow paging: the back end runs vCPUs with virt_vcpu.shadow; and
	 * does the CPU have nested paging at all (CPUID only)? */
	bool shadow_paging;
	bool (*nested_paging)(void);
	/*
	 * Enable virtualization on this CPU; false (with a message) if it
	 * cannot.  pass_msrs: the MSRs the guest may access directly, which the
	 * back end switches with the vCPU (core/msr.c owns the list).
	 */
	bool (*cpu_init)(const uint32_t *pass_msrs, unsigned nr_pass);
	bool (*vcpu_init)(struct virt_vcpu *v);
	void (*vcpu_free)(struct virt_vcpu *v);
	/* Load a whole architectural state (reset, INIT, STARTUP, boot), and
	 * drop any event, interrupt shadow or window from before. */
	void (*set_state)(struct virt_vcpu *v, const struct x86_vcpu_state *s);
	void (*get_sregs)(struct virt_vcpu *v, struct x86_sregs *s);
	uint64_t (*get_reg)(struct virt_vcpu *v, enum virt_reg r);
	void (*set_reg)(struct virt_vcpu *v, enum virt_reg r, uint64_t val);
	/* Run until an exit core/ must handle.  Interrupts off on entry;
	 * a host interrupt that arrives meanwhile ends the run. */
	void (*vcpu_run)(struct virt_vcpu *v, struct vm_exit *e);
	/*
	 * Event injection.  Only core/vcpu.c calls these, just before entry,
	 * and loads at most one event per entry (core/event.c orders them);
	 * everything else raises exceptions through vcpu_raise_exception().
	 * The event is delivered at entry whatever IF, a shadow or NMI
	 * blocking say: checking those is the caller's job, with the can_*
	 * functions.
	 */
	void (*inject_exception)(struct virt_vcpu *v, uint8_t vector, bool has_error, uint32_t error);
	/* External interrupts: can one be injected now (IF=1, no shadow, no
	 * event loaded)?  If not, ask for an exit when it can. */
	bool (*can_inject_intr)(struct virt_vcpu *v);
	void (*inject_intr)(struct virt_vcpu *v, uint8_t vector);
	/* NMIs: can one be injected now (not blocked, no shadow, no event
	 * loaded)?  Injecting one sets nmi_blocked. */
	bool (*can_inject_nmi)(struct virt_vcpu *v);
	void (*inject_nmi)(struct virt_vcpu *v);
	void (*request_intr_window)(struct virt_vcpu *v, bool on);
	/*
	 * Optional (NULL: not offered).  post_intr: instead of an interrupt
	 * window, hand external interrupt `vector` to the CPU for this entry
	 * while the guest cannot take it yet (IF=0, no shadow, no event
	 * loaded): the CPU delivers it itself, without an exit, once IF=1 and
	 * its priority class is above the guest's TPR.  False if it cannot
	 * (then ask for a window).  post_settle, first thing after every
	 * exit: the vector if the guest took it during the entry (its
	 * delivery began: the caller accepts it in the local APIC), else -1;
	 * *posted says whether one was posted.  The post is spent either way.
	 */
	bool (*post_intr)(struct virt_vcpu *v, uint8_t vector);
	int (*post_settle)(struct virt_vcpu *v, bool *posted);
	/*
	 * Exit (EXIT_NMI_WINDOW or any other) as soon as can_inject_nmi could
	 * turn true: after the event loaded for this entry is delivered, after
	 * the instruction in an interrupt shadow, after the IRET that ends NMI
	 * blocking.  (VMX: NMI-window exiting.)
	 */
	void (*request_nmi_window)(struct virt_vcpu *v, bool on);
	/* Set the interrupt shadow (VIRT_SHADOW_*; 0 ends it): an instruction
	 * kasane completed or faulted ends the shadow it ran in. */
	void (*set_intr_shadow)(struct virt_vcpu *v, unsigned shadow);
	/*
	 * MSRs whose guest value the back end keeps (EFER, PAT, the syscall,
	 * sysenter and segment-base MSRs): raw access, no checks (core/msr.c
	 * checks).  False: not one of the back end's.
	 */
	bool (*msr_get)(struct virt_vcpu *v, uint32_t msr, uint64_t *val);
	bool (*msr_set)(struct virt_vcpu *v, uint32_t msr, uint64_t val);
	/*
	 * The guest debugger (core/gdbstub.c).  #DB is always intercepted (and
	 * reflected unless the debugger caused it); on: #BP exits too, as
	 * EXIT_BREAKPOINT with RIP on the instruction, so that the debugger's
	 * INT3 never reaches the guest.  An SVM back end also intercepts INT n
	 * then: QEMU's SVM reports INT3 only through that intercept.  Called
	 * while the vCPU runs nowhere, or on its own CPU.
	 */
	void (*set_bp_intercept)(struct virt_vcpu *v, bool on);
	/*
	 * The whole state of a vCPU that is not running (its VM is paused),
	 * from any CPU.  set_cpu_state loads it as set_state does (windows
	 * off, the vCPU's TLB flushed), then the pending event, the shadow
	 * and NMI blocking, and the vCPU's tsc_offset (a restore rebases the
	 * guest's clock); the back end's MSRs come after, with msr_set.
	 */
	void (*get_cpu_state)(struct virt_vcpu *v, struct virt_cpu_state *s);
	void (*set_cpu_state)(struct virt_vcpu *v, const struct virt_cpu_state *s);
};

#endif
