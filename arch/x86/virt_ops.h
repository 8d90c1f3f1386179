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
	EXIT_INVD,              /* INVD: must not drop the host's dirty lines */
	EXIT_INVALID,           /* the CPU refused the guest state */
	EXIT_UNHANDLED,         /* anything else: ends the VM */
	NR_EXIT_KINDS
};

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
			uint8_t vector;
			bool has_error;
			uint32_t error;
		} reflect;
	};
};

/* What a back end knows of a vCPU (core/ embeds it in struct vcpu). */
struct virt_vcpu {
	struct x86_regs regs;           /* all GPRs, RIP, RFLAGS */
	void *vendor;                   /* struct svm_vcpu / vmx_vcpu */
	unsigned vm_id, vcpu_id;        /* for tagging TLBs (ASID/VPID) */
	hpa_t paging_root;              /* nested page tables of the VM */
	int64_t tsc_offset;             /* guest TSC = host TSC + offset */
};

/* Control registers and friends, for the cheap get_reg. */
enum virt_reg { VIRT_CR0, VIRT_CR2, VIRT_CR3, VIRT_CR4, VIRT_EFER, VIRT_CR8, VIRT_CPL };

/* A vendor back end, bound once at boot by core/virt.c. */
struct virt_ops {
	const char *name;
	enum npt_format paging_format;          /* of the VM's nested page tables */
	/* Does this CPU offer it, with nested paging?  CPUID only. */
	bool (*probe)(void);
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
	void (*inject_exception)(struct virt_vcpu *v, uint8_t vector, bool has_error, uint32_t error);
	/* External interrupts: can one be injected now (IF=1, no shadow, no
	 * event pending)?  If not, ask for an exit when it can. */
	bool (*can_inject_intr)(struct virt_vcpu *v);
	void (*inject_intr)(struct virt_vcpu *v, uint8_t vector);
	bool (*inject_nmi)(struct virt_vcpu *v);        /* false: try again later */
	void (*request_intr_window)(struct virt_vcpu *v, bool on);
	/*
	 * MSRs whose guest value the back end keeps (EFER, PAT, the syscall,
	 * sysenter and segment-base MSRs): raw access, no checks (core/msr.c
	 * checks).  False: not one of the back end's.
	 */
	bool (*msr_get)(struct virt_vcpu *v, uint32_t msr, uint64_t *val);
	bool (*msr_set)(struct virt_vcpu *v, uint32_t msr, uint64_t val);
};

#endif
