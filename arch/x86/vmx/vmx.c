/*
 * Intel VT-x (VMX) back end: VMXON on every CPU, one VMCS per vCPU with
 * EPT, VPID and unrestricted guest, a VMLAUNCH/VMRESUME world switch, and
 * exits turned into vendor-neutral struct vm_exit for core/ to handle.
 * Intel SDM vol. 3C chapters 24-29 (VMX); field encodings in vmcs.h.
 *
 * A VMCS is "active" on at most one CPU at a time, and must be VMCLEARed
 * there before another CPU loads it (SDM vol. 3C §25.1, §25.11.1).
 * kasane's scheduler moves vCPUs between CPUs, so every op first makes the
 * vCPU's VMCS current on the calling CPU (vmcs_here), clearing it on its
 * old CPU through smp_call when it moved.
 */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_insn.h"
#include "arch/x86/vmx/vmx_shadow.h"
#include "arch/x86/virt_ops.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/x86_defs.h"
#include "kernel/spinlock.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "mm/mm.h"
#include "lib/string.h"

#define NO_CPU          (~0u)
#define CR4_VMXE        (1ULL << 13)
#define MSR_PAT         0x277
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_FS_BASE     0xc0000100
#define MSR_GS_BASE     0xc0000101
#define MAX_AREA_MSRS   8
/*
 * A guest runs at most this long without an exit (the VMX-preemption
 * timer), so that a kick always reaches a running vCPU: Bochs 2.7 takes
 * no external-interrupt exit while the guest's RFLAGS.IF is 0 (it enters
 * such a guest with the local APIC's interrupts masked), so without it a
 * vCPU spinning with interrupts off would keep its CPU, its VM could not
 * be paused, and the housekeeping CPU would not come back for the
 * console or the gdb stub (docs/emulators.md).  Hardware exits on the
 * interrupt itself; there the bound costs at most one exit per 10 ms.
 */
#define RUN_BOUND_MS    10
#define DR6_BS          (1ULL << 14)    /* single step, in DR6 and the pending debug exceptions */

/* What every CPU's VMX offers, read once (all CPUs must agree). */
static struct {
	uint64_t basic;
	uint32_t pin, proc, proc2, exit, entry;         /* chosen controls */
	bool nmi_window;        /* virtual NMIs and NMI-window exiting both offered */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t ept_vpid;
	bool vpid;
	bool ept;               /* EPT and unrestricted guest; else shadow paging only */
	bool lma_saved;         /* exits keep "IA-32e mode guest" = EFER.LMA */
	uint32_t preempt;       /* VMX-preemption timer value: RUN_BOUND_MS of TSC */
	hpa_t io_bitmaps, msr_bitmap;                   /* shared, 2 + 1 pages */
	/* Pass-through MSRs the VMCS does not hold (STAR, LSTAR, CSTAR,
	 * SFMASK, KERNEL_GS_BASE): kasane itself never uses them, so they
	 * keep the guest's values across exits and are switched only when
	 * another vCPU runs on the CPU (msrs_load). */
	uint32_t area_msr[MAX_AREA_MSRS];
	unsigned nr_area;
} caps;

struct vmx_cpu {
	hpa_t vmxon;
	spinlock_t clear_lock;          /* one remote VMCLEAR request at a time */
	struct vmx_vcpu *current;       /* the VMCS current on this CPU */
	struct virt_vcpu *last;         /* vCPU that ran here last, for flushes */
	uint64_t dr6;                   /* the DR6 value last written here */
	struct vmx_vcpu *msr_owner;     /* whose guest values the area MSRs hold */
};

/* A vCPU's saved area MSRs, in the VM-entry MSR-load format (§25.8.2). */
struct msr_entry {
	uint32_t index, reserved;
	uint64_t value;
};

struct vmx_vcpu {
	struct virt_vcpu *v;
	hpa_t vmcs, vapic, msr_area;
	volatile unsigned cpu;          /* where the VMCS is active, NO_CPU if clear */
	bool launched;
	bool moved;                     /* cleared elsewhere since the last entry */
	bool flush;                     /* TLB tags to drop before the next entry */
	uint32_t proc;                  /* current primary controls */
	uint64_t cr2, dr6;              /* not in the VMCS: switched by hand */
	uint64_t cr4_allowed;           /* v->cr4_allowed as CR4_MASK has it */
	/*
	 * Copies of VMCS fields, so the exit path reads and writes no field
	 * whose value it knows: the guest's interruptibility state and
	 * whether an event is loaded for the next entry (both as of the last
	 * exit or kasane's last write), RSP, RIP and RFLAGS as last read or
	 * written, and HOST_RSP as vmx_entry.S last wrote it.
	 */
	uint32_t intr;
	bool event_loaded;
	uint64_t rsp, rip, rflags;
	uint64_t host_rsp;
	struct vmx_shadow *sh;  /* shadow paging (vmx_shadow.c), else NULL */
};

static struct vmx_cpu vmx_cpus[MAX_CPUS];

int vmx_enter(uint64_t *gpr, int launched, uint64_t *host_rsp);
void vmx_exit_point(void);

/* The memory-operand VMX instructions; false on VMfail (CF or ZF, §31.2). */
#define VMX_MEM_OP(name, insn) \
	static inline bool name(hpa_t pa) \
	{ \
		bool fail; \
		__asm__ volatile(insn " %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory"); \
		return !fail; \
	}
VMX_MEM_OP(vmxon, "vmxon")
VMX_MEM_OP(vmclear, "vmclear")
VMX_MEM_OP(vmptrld, "vmptrld")
#undef VMX_MEM_OP

/* INVEPT/INVVPID types: 1 single-context, 2 all-context (SDM vol. 3C §30.3). */
static void invept(uint64_t type, uint64_t eptp)
{
	struct { uint64_t eptp, zero; } d = { eptp, 0 };
	__asm__ volatile("invept %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static void invvpid(uint64_t type, uint16_t vpid)
{
	struct { uint64_t vpid, addr; } d = { vpid, 0 };
	__asm__ volatile("invvpid %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static uint16_t vpid_of(struct virt_vcpu *v)
{
	/* VPIDs 1..0xffff (0 is the host's); VMs may share one, see vmx_vcpu_run. */
	return (uint16_t)(1 + v->vm_id % 0xffff);
}

/*
 * With EPT accessed and dirty flags on, the CPU sets bit 8 of every EPT
 * entry its walks use and bit 9 of the leaves it writes through (SDM vol.
 * 3C §29.3.5): a record of the pages the guest used and wrote, for
 * dirty-page tracking (nothing in kasane reads it yet).  mm/npt.c tests
 * only bits 0-2 and 7 and the address, so the flags change nothing else.
 */
static uint64_t eptp_of(struct virt_vcpu *v)
{
	return v->paging_root | EPTP_WB_WALK4 | ((caps.ept_vpid & EPT_CAP_AD) ? EPTP_AD : 0);
}

/*
 * A control value from its capability MSR: low half = bits that must be 1,
 * high half = bits that may be 1 (SDM vol. 3C §A.3-A.5).  False if a bit of
 * 'need' cannot be 1 or a bit of 'off' cannot be 0.
 */
static bool pick_ctl(uint32_t msr, uint32_t need, uint32_t want, uint32_t off, uint32_t *out)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);

	*out = ((need | want) & may) | must;
	return (*out & need) == need && !(*out & off);
}

static void msr_bitmap_allow(uint8_t *bm, uint32_t msr)
{
	/* Read bitmaps at 0 (low MSRs) and 1024 (0xc0000000...), write
	 * bitmaps 2048 bytes after each (SDM vol. 3C §25.6.9). */
	uint32_t base;

	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 1024, msr -= 0xc0000000;
	else
		return;
	bm[base + msr / 8] &= (uint8_t)~(1u << (msr % 8));
	bm[2048 + base + msr / 8] &= (uint8_t)~(1u << (msr % 8));
}

static bool vmcs_holds_msr(uint32_t msr)
{
	return msr == MSR_FS_BASE || msr == MSR_GS_BASE || msr == MSR_SYSENTER_CS ||
	       msr == MSR_SYSENTER_ESP || msr == MSR_SYSENTER_EIP;
}

static const char *missing_ept(void);

static bool vmx_global_init(const uint32_t *pass, unsigned nr_pass)
{
	bool t = caps.basic & VMX_BASIC_TRUE_CTLS;
	bool ok = true;
	/* Without EPT every VM runs on shadow paging (vmx_shadow.c): CR3
	 * exits are then wanted, and PAT/EFER switching is used if offered. */
	uint32_t ept_need = caps.ept ? ~0u : 0;

	/* Host interrupts and NMIs exit the guest; virtual NMIs track the
	 * guest's NMI blocking (§25.6.1, §26.7.1); the preemption timer
	 * bounds a run without exits (RUN_BOUND_MS). */
	ok &= pick_ctl(t ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS,
		       PIN_EXT_INTR | PIN_NMI, PIN_VIRTUAL_NMI | PIN_PREEMPT_TIMER, 0, &caps.pin);
	/* It counts down once every 2^rate TSC ticks (§26.5.1, §A.6). */
	uint64_t ticks = (tsc_khz * RUN_BOUND_MS) >> (rdmsr(MSR_VMX_MISC) & VMX_MISC_PREEMPT_RATE);
	caps.preempt = (uint32_t)MIN(MAX(ticks, 1ULL), 0xffffffffULL);
	/* CR3 and CR8 accesses run without exits (EPT; the TPR shadow holds
	 * CR8), RDTSC runs with the TSC offset, INVLPG without an exit. */
	ok &= pick_ctl(t ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS,
		       PROC_HLT | PROC_TSC_OFFSET | PROC_IO_BITMAPS | PROC_MSR_BITMAPS |
		       PROC_TPR_SHADOW | (PROC_SECONDARY & ept_need) | PROC_MWAIT | PROC_MONITOR,
		       PROC_SECONDARY,
		       ((PROC_CR3_LOAD | PROC_CR3_STORE | PROC_INVLPG) & ept_need) |
		       PROC_CR8_LOAD | PROC_CR8_STORE | PROC_RDTSC | PROC_MOV_DR |
		       PROC_UNCOND_IO | PROC_INTR_WINDOW,
		       &caps.proc);
	/* NMI-window exiting may be set only with virtual NMIs (SDM vol. 3C
	 * §26.2.1.1); without both, the interrupt window stands in for it. */
	caps.nmi_window = (caps.pin & PIN_VIRTUAL_NMI) &&
			  ((rdmsr(t ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS) >> 32) &
			   PROC_NMI_WINDOW);
	caps.vpid = (caps.ept_vpid & VPID_CAP_INVVPID) &&
		    (caps.ept_vpid & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL));
	if (caps.proc & PROC_SECONDARY)
		ok &= pick_ctl(MSR_VMX_PROCBASED_CTLS2, (PROC2_EPT | PROC2_UNRESTRICTED) & ept_need,
			       PROC2_RDTSCP | PROC2_INVPCID | (caps.vpid ? PROC2_VPID : 0), 0,
			       &caps.proc2);
	caps.vpid = caps.proc2 & PROC2_VPID;
	/* Set on every CPU with unrestricted guest (SDM vol. 3C §A.6). */
	caps.lma_saved = rdmsr(MSR_VMX_MISC) & VMX_MISC_LMA_SAVED;
	/* DR7 and IA32_DEBUGCTL are the guest's while it runs: saved by exits,
	 * loaded by entries (§27.3.1, §26.3.2.1).  With the TRUE capability
	 * MSRs both controls may be 0, and then an exit's DR7 of 400H stays
	 * (§27.5.1): the guest's breakpoints and the debugger's would be lost
	 * at the first exit. */
	uint32_t switching = EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER;
	ok &= pick_ctl(t ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS,
		       EXIT_HOST_64 | EXIT_SAVE_DEBUG | (switching & ept_need), switching, 0,
		       &caps.exit);
	ok &= pick_ctl(t ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS,
		       ENTRY_LOAD_DEBUG | ((ENTRY_LOAD_PAT | ENTRY_LOAD_EFER) & ept_need),
		       ENTRY_LOAD_PAT | ENTRY_LOAD_EFER, ENTRY_IA32E, &caps.entry);
	vmx_shadow_caps = (struct vmx_shadow_caps){
		.cr0_fixed0 = caps.cr0_fixed0, .cr0_fixed1 = caps.cr0_fixed1,
		.cr4_fixed0 = caps.cr4_fixed0, .cr4_fixed1 = caps.cr4_fixed1,
		.secondary = caps.proc & PROC_SECONDARY,
		.load_efer = (caps.entry & ENTRY_LOAD_EFER) && (caps.exit & EXIT_LOAD_EFER),
		.load_pat = (caps.entry & ENTRY_LOAD_PAT) && (caps.exit & EXIT_SAVE_PAT) };
	if (!ok) {
		pr_err("vmx: the CPU's VMX lacks a needed control (external-interrupt and NMI "
		       "exiting, HLT, TSC offset, I/O and MSR bitmaps, TPR shadow, CR8 accesses "
		       "without exits; with EPT: unrestricted guest, CR3 accesses without exits, "
		       "PAT and EFER switching); no VMs run\n");
		return false;
	}
	caps.io_bitmaps = page_alloc(2, PAGE_SIZE);
	caps.msr_bitmap = page_alloc(1, PAGE_SIZE);
	if (!caps.io_bitmaps || !caps.msr_bitmap)
		return false;
	/* Every port and MSR exits, except the MSRs core/msr.c lets through. */
	memset(hpa_to_hva(caps.io_bitmaps), 0xff, 2 * PAGE_SIZE);
	memset(hpa_to_hva(caps.msr_bitmap), 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < nr_pass; i++) {
		if (!vmcs_holds_msr(pass[i])) {
			if (caps.nr_area == MAX_AREA_MSRS)
				continue;       /* cannot switch it: keep intercepting */
			caps.area_msr[caps.nr_area++] = pass[i];
		}
		msr_bitmap_allow(hpa_to_hva(caps.msr_bitmap), pass[i]);
	}
	return true;
}

/* EPT and unrestricted guest, from the capability MSRs (SDM vol. 3C §A.3.3, §A.10). */
static const char *missing_ept(void)
{
	if (!((rdmsr(MSR_VMX_PROCBASED_CTLS) >> 32) & PROC_SECONDARY))
		return "EPT (no secondary processor-based controls)";
	uint64_t p2 = rdmsr(MSR_VMX_PROCBASED_CTLS2) >> 32;
	if (!(p2 & PROC2_EPT))
		return "EPT";
	if (!(p2 & PROC2_UNRESTRICTED))
		return "unrestricted guest";
	uint64_t ev = rdmsr(MSR_VMX_EPT_VPID_CAP);
	if (!(ev & EPT_CAP_WALK4) || !(ev & EPT_CAP_WB))
		return "4-level write-back EPT";
	if (!(ev & EPT_CAP_INVEPT) || !(ev & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
		return "INVEPT";
	return NULL;
}

static spinlock_t init_lock = SPINLOCK_INIT;
static int global_state;        /* 0 not yet, 1 done, -1 failed */

static bool vmx_cpu_init(const uint32_t *pass, unsigned nr_pass)
{
	unsigned id = this_cpu_id();
	struct vmx_cpu *xc = &vmx_cpus[id];
	const char *miss;

	/* CPUID.1:ECX bit 5: VMX (SDM vol. 3C §24.6). */
	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		pr_err("vmx: CPU %u has no VMX; no VMs run there\n", id);
		return false;
	}
	/* IA32_FEATURE_CONTROL: firmware may lock VMX off; if it left the MSR
	 * unlocked, enable VMX and lock it (SDM vol. 3C §24.7). */
	uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		fc |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX;
		wrmsr(MSR_FEATURE_CONTROL, fc);
	}
	if (!(fc & FEATURE_CONTROL_VMX)) {
		pr_err("vmx: CPU %u: VMX disabled by firmware (IA32_FEATURE_CONTROL locked "
		       "without VMX); no VMs run there\n", id);
		return false;
	}
	miss = missing_ept();
	uint64_t flags = spin_lock_irqsave(&init_lock);
	if (!global_state) {
		caps.ept = !miss;
		caps.basic = rdmsr(MSR_VMX_BASIC);
		caps.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
		caps.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
		caps.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
		caps.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
		/* The MSR exists only with EPT or VPID to offer (SDM vol. 3C §A.10). */
		if ((rdmsr(MSR_VMX_PROCBASED_CTLS) >> 32) & PROC_SECONDARY &&
		    (rdmsr(MSR_VMX_PROCBASED_CTLS2) >> 32) & (PROC2_EPT | PROC2_VPID))
			caps.ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
		global_state = vmx_global_init(pass, nr_pass) ? 1 : -1;
	}
	spin_unlock_irqrestore(&init_lock, flags);
	if (global_state < 0)
		return false;
	if (caps.ept != !miss) {
		pr_err("vmx: CPU %u's EPT differs from the boot CPU's; no VMs run there\n", id);
		return false;
	}
	if (rdmsr(MSR_VMX_BASIC) != caps.basic) {
		pr_err("vmx: CPU %u's VMX differs from the boot CPU's; no VMs run there\n", id);
		return false;
	}
	/* CR0 and CR4 as VMXON requires: the FIXED0 bits set, the FIXED1
	 * bits' zeros clear (SDM vol. 3C §24.8, §A.7-A.8). */
	write_cr0((read_cr0() | caps.cr0_fixed0) & caps.cr0_fixed1);
	write_cr4((read_cr4() | caps.cr4_fixed0 | CR4_VMXE) & caps.cr4_fixed1);
	xc->vmxon = page_zalloc(1, PAGE_SIZE);
	if (!xc->vmxon)
		return false;
	/* The region starts with the VMCS revision identifier (§25.11.5). */
	*(uint32_t *)hpa_to_hva(xc->vmxon) = (uint32_t)caps.basic & 0x7fffffff;
	if (!vmxon(xc->vmxon)) {
		pr_err("vmx: CPU %u: VMXON failed; no VMs run there\n", id);
		return false;
	}
	xc->dr6 = ~0ULL;
	if (id == 0 && caps.ept)
		pr_info("vmx: Intel VT-x with EPT%s and unrestricted guest%s, VMCS revision %u\n",
			(caps.ept_vpid & EPT_CAP_AD) ? " (A/D flags)" : "",
			caps.vpid ? ", VPID" : "", (uint32_t)caps.basic & 0x7fffffff);
	else if (id == 0)
		pr_info("vmx: Intel VT-x without %s: shadow paging only%s, VMCS revision %u\n",
			miss, caps.vpid ? ", VPID" : "", (uint32_t)caps.basic & 0x7fffffff);
	return true;
}

static struct vmx_vcpu *vx_of(struct virt_vcpu *v)
{
	return v->vendor;
}

/*
 * The area MSRs hold the guest values of xc->msr_owner, which runs (or
 * ran last) on this CPU: its VMCS is active here.  Save them into its
 * area before another vCPU's values are loaded, or before it leaves.
 */
static void msrs_save(struct vmx_cpu *xc)
{
	struct vmx_vcpu *old = xc->msr_owner;

	if (!old)
		return;
	struct msr_entry *area = hpa_to_hva(old->msr_area);
	for (unsigned i = 0; i < caps.nr_area; i++)
		area[i].value = rdmsr(area[i].index);
	xc->msr_owner = NULL;
}

static void msrs_load(struct vmx_cpu *xc, struct vmx_vcpu *xv)
{
	msrs_save(xc);
	struct msr_entry *area = hpa_to_hva(xv->msr_area);
	for (unsigned i = 0; i < caps.nr_area; i++)
		wrmsr(area[i].index, area[i].value);
	xc->msr_owner = xv;
}

/* Runs on the CPU where xv's VMCS is active: write it back and clear it. */
static void vmclear_here(void *arg)
{
	struct vmx_vcpu *xv = arg;
	struct vmx_cpu *xc = &vmx_cpus[this_cpu_id()];

	if (xc->msr_owner == xv)
		msrs_save(xc);
	vmclear(xv->vmcs);
	if (xc->current == xv)
		xc->current = NULL;
	__atomic_store_n(&xv->cpu, NO_CPU, __ATOMIC_RELEASE);
}

/*
 * Clear xv's VMCS wherever it is active.  Interrupts are enabled while
 * waiting for another CPU (smp_call needs it, and so does a CPU that asks
 * this one for a VMCLEAR meanwhile) and restored after.
 *
 * smp_call keeps one call per target CPU, and its handler frees that slot
 * before it reads the argument and reports the call done: two callers to
 * one CPU can swap arguments and return before their VMCLEAR ran.  A VMCS
 * then stays launched where kasane took it for clear, and the next entry
 * fails with VM-instruction error 4 (VMLAUNCH with a non-clear VMCS); the
 * other caller waits for ever.  Four CPUs taking vCPUs from the boot CPU at
 * once did exactly that, so requests to one CPU go one at a time; the lock
 * is taken with interrupts on, so a CPU waiting for it still serves the
 * requests made to it.
 */
static void vmcs_clear_anywhere(struct vmx_vcpu *xv)
{
	unsigned old = __atomic_load_n(&xv->cpu, __ATOMIC_ACQUIRE);

	if (old == NO_CPU)
		return;
	if (old == this_cpu_id()) {
		vmclear_here(xv);
		return;
	}
	uint64_t f = irq_save();
	irq_enable();
	spin_lock(&vmx_cpus[old].clear_lock);
	smp_call(old, vmclear_here, xv, true);
	spin_unlock(&vmx_cpus[old].clear_lock);
	irq_restore(f);
	xv->moved = true;
}

static void write_host_state(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdt, idt;
	uint16_t sel;

	/* Host state loaded by every VM exit (SDM vol. 3C §25.5, §28.5). */
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
#define HOST_SEL(insn, field) \
	do { __asm__ volatile(insn " %0" : "=r"(sel)); vmwrite(field, sel); } while (0)
	HOST_SEL("mov %%cs,", HOST_CS_SEL);
	HOST_SEL("mov %%ss,", HOST_SS_SEL);
	HOST_SEL("mov %%ds,", HOST_DS_SEL);
	HOST_SEL("mov %%es,", HOST_ES_SEL);
	HOST_SEL("mov %%fs,", HOST_FS_SEL);
	HOST_SEL("mov %%gs,", HOST_GS_SEL);
	HOST_SEL("str", HOST_TR_SEL);
#undef HOST_SEL
	vmwrite(HOST_TR_BASE, (uint64_t)(uintptr_t)&this_cpu()->tss);
	__asm__ volatile("sgdt %0" : "=m"(gdt));
	__asm__ volatile("sidt %0" : "=m"(idt));
	vmwrite(HOST_GDTR_BASE, gdt.base);
	vmwrite(HOST_IDTR_BASE, idt.base);
	vmwrite(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(HOST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
	vmwrite(HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
	vmwrite(HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
	vmwrite(HOST_EFER, rdmsr(MSR_EFER));
	vmwrite(HOST_PAT, rdmsr(MSR_PAT));
	vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_point);
}

/* vmcs_here when v's VMCS is not the current one on this CPU. */
static __attribute__((noinline)) void vmcs_load(struct virt_vcpu *v)
{
	struct vmx_vcpu *xv = vx_of(v);
	unsigned cpu = this_cpu_id();
	struct vmx_cpu *xc = &vmx_cpus[cpu];

	if (xv->cpu != cpu) {
		vmcs_clear_anywhere(xv);
		xv->launched = false;   /* a cleared VMCS takes VMLAUNCH (§25.11.3) */
		xv->flush = true;
		if (!vmptrld(xv->vmcs))
			panic("vmx: VMPTRLD failed on CPU %u", cpu);
		xv->cpu = cpu;
		xc->current = xv;
		write_host_state();
		xv->host_rsp = 0;       /* this CPU's stack: vmx_enter writes it */
		return;
	}
	if (!vmptrld(xv->vmcs))
		panic("vmx: VMPTRLD failed on CPU %u", cpu);
	xc->current = xv;
}

/* Make v's VMCS the current one on this CPU (most often it is already). */
static inline void vmcs_here(struct virt_vcpu *v)
{
	if (unlikely(vmx_cpus[this_cpu_id()].current != vx_of(v)))
		vmcs_load(v);
}

static void vmx_request_intr_window(struct virt_vcpu *v, bool on);
static void vmx_vcpu_free(struct virt_vcpu *v);

static bool vmx_vcpu_init(struct virt_vcpu *v)
{
	struct vmx_vcpu *xv = kzalloc(sizeof(*xv));

	if (!xv)
		return false;
	xv->v = v;
	xv->cpu = NO_CPU;
	xv->vmcs = page_zalloc(1, PAGE_SIZE);
	xv->vapic = page_zalloc(1, PAGE_SIZE);
	xv->msr_area = page_zalloc(1, PAGE_SIZE);
	if (!xv->vmcs || !xv->vapic || !xv->msr_area) {
		if (xv->vmcs) page_free(xv->vmcs, 1);
		if (xv->vapic) page_free(xv->vapic, 1);
		if (xv->msr_area) page_free(xv->msr_area, 1);
		kfree(xv);
		return false;
	}
	v->vendor = xv;
	*(uint32_t *)hpa_to_hva(xv->vmcs) = (uint32_t)caps.basic & 0x7fffffff;
	/* A new VMCS must be VMCLEARed before its first VMPTRLD (§25.11.3). */
	uint64_t f = irq_save();
	vmclear(xv->vmcs);
	struct msr_entry *area = hpa_to_hva(xv->msr_area);
	for (unsigned i = 0; i < caps.nr_area; i++)
		area[i].index = caps.area_msr[i];

	vmcs_here(v);
	vmwrite(PIN_CONTROLS, caps.pin);
	xv->proc = caps.proc;
	vmwrite(PROC_CONTROLS, xv->proc);
	vmwrite(PROC2_CONTROLS, caps.proc2);
	vmwrite(EXIT_CONTROLS, caps.exit);
	vmwrite(ENTRY_CONTROLS, caps.entry);
	/* #DB and #AC exit and are reflected: a guest could otherwise wedge the
	 * physical CPU in an endless delivery loop (CVE-2015-8104,
	 * CVE-2015-5307). */
	vmwrite(EXCEPTION_BITMAP, (1u << X86_EXC_DB) | (1u << X86_EXC_AC));
	if (caps.pin & PIN_PREEMPT_TIMER)
		vmwrite(GUEST_PREEMPT_TIMER, caps.preempt);     /* loaded at each entry (§26.7.4) */
	vmwrite(IO_BITMAP_A, caps.io_bitmaps);
	vmwrite(IO_BITMAP_B, caps.io_bitmaps + PAGE_SIZE);
	vmwrite(MSR_BITMAP, caps.msr_bitmap);
	/* No MSR is switched by entries and exits: see msrs_load. */
	vmwrite(ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(EXIT_MSR_STORE_COUNT, 0);
	vmwrite(EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(CR3_TARGET_COUNT, 0);
	/* The guest's CR8 is the TPR shadow in the virtual-APIC page; with a
	 * threshold of 0 lowering it never exits (§29.1.2), as with SVM's V_TPR. */
	vmwrite(VIRTUAL_APIC_ADDR, xv->vapic);
	vmwrite(TPR_THRESHOLD, 0);
	vmwrite(TSC_OFFSET, (uint64_t)v->tsc_offset);
	vmwrite(EPT_POINTER, eptp_of(v));
	if (caps.vpid)
		vmwrite(VPID, vpid_of(v));
	/* The host owns the CR0/CR4 bits VMX forces (CR0.NE, CR4.VMXE): the
	 * guest reads its own values from the shadows (§25.6.6). */
	vmwrite(CR0_MASK, caps.cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG));
	vmwrite(CR4_MASK, caps.cr4_fixed0);
	vmwrite(VMCS_LINK_POINTER, ~0ULL);
	vmwrite(GUEST_DEBUGCTL, 0);
	/* The fields the exit path keeps copies of start known. */
	vmwrite(GUEST_RSP, 0);
	vmwrite(GUEST_RIP, 0);
	vmwrite(GUEST_RFLAGS, 2);
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	vmwrite(ENTRY_INTR_INFO, 0);
	xv->rflags = 2;
	if (v->shadow && !(xv->sh = vmx_shadow_vcpu_init(v, &xv->proc, caps.proc2))) {
		irq_restore(f);
		vmx_vcpu_free(v);
		return false;
	}
	irq_restore(f);
	return true;
}

static void vmx_vcpu_free(struct virt_vcpu *v)
{
	struct vmx_vcpu *xv = vx_of(v);

	if (!xv)
		return;
	/* The CPU may hold the VMCS's data until VMCLEAR writes it back. */
	vmcs_clear_anywhere(xv);
	page_free(xv->vmcs, 1);
	page_free(xv->vapic, 1);
	page_free(xv->msr_area, 1);
	if (xv->sh)
		vmx_shadow_vcpu_free(xv->sh);
	kfree(xv);
	v->vendor = NULL;
}

/* Segment attributes: core/ keeps the VMX access-rights layout already
 * (arch/x86/x86_defs.h); a not-present segment is "unusable" (§25.4.1). */
static uint32_t ar_to_vmcs(uint32_t a)
{
	return (a & SEG_ATTR_P) ? (a & 0xf0ff) : SEG_ATTR_UNUSABLE;
}

static void seg_to_vmcs(unsigned n, const struct x86_seg *s)
{
	vmwrite(GUEST_ES_SEL + 2 * n, s->selector);
	vmwrite(GUEST_ES_BASE + 2 * n, s->base);
	vmwrite(GUEST_ES_LIMIT + 2 * n, s->limit);
	vmwrite(GUEST_ES_AR + 2 * n, ar_to_vmcs(s->attr));
}

static void seg_from_vmcs(unsigned n, struct x86_seg *s)
{
	s->selector = (uint16_t)vmread(GUEST_ES_SEL + 2 * n);
	s->base = vmread(GUEST_ES_BASE + 2 * n);
	s->limit = (uint32_t)vmread(GUEST_ES_LIMIT + 2 * n);
	s->attr = (uint32_t)vmread(GUEST_ES_AR + 2 * n) & (0xf0ff | SEG_ATTR_UNUSABLE);
}

/* Segment numbers 0-5 are ES..GS, 6 LDTR, 7 TR in every VMCS field group. */
enum { VMCS_LDTR = 6, VMCS_TR = 7 };

static void set_efer(uint64_t efer)
{
	vmwrite(GUEST_EFER, efer);
	/* "IA-32e mode guest" must equal EFER.LMA (§26.3.1.1).  Exits keep
	 * it so themselves (VMX_MISC_LMA_SAVED), so it is read here, not
	 * cached. */
	uint32_t old = (uint32_t)vmread(ENTRY_CONTROLS);
	uint32_t entry = (efer & EFER_LMA) ? (old | ENTRY_IA32E) : (old & ~ENTRY_IA32E);
	if (entry != old)
		vmwrite(ENTRY_CONTROLS, entry);
}

static uint64_t cr0_mask(void)
{
	return caps.cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG);
}

static void set_cr0(uint64_t cr0)
{
	uint64_t force = caps.cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG);

	vmwrite(CR0_SHADOW, cr0);
	vmwrite(GUEST_CR0, (cr0 | force) & caps.cr0_fixed1);
}

static void set_cr4(uint64_t cr4)
{
	vmwrite(CR4_SHADOW, cr4);
	vmwrite(GUEST_CR4, (cr4 | caps.cr4_fixed0) & caps.cr4_fixed1);
}

/* What the guest sees: its own bits where the host owns them (§25.6.6). */
static uint64_t guest_cr(uint64_t real, uint64_t mask_field, uint64_t shadow_field)
{
	/* The masks never change after vmx_vcpu_init: no VMREAD for them. */
	uint64_t mask = mask_field == CR0_MASK ? cr0_mask() : caps.cr4_fixed0;

	return (real & ~mask) | (vmread(shadow_field) & mask);
}

static void vmx_set_state(struct virt_vcpu *v, const struct x86_vcpu_state *st)
{
	struct vmx_vcpu *xv = vx_of(v);
	const struct x86_sregs *r = &st->sregs;
	uint64_t f = irq_save();

	vmcs_here(v);
	for (unsigned i = 0; i < NR_SEGS; i++)
		seg_to_vmcs(i, &r->seg[i]);
	seg_to_vmcs(VMCS_LDTR, &r->ldtr);
	seg_to_vmcs(VMCS_TR, &r->tr);
	vmwrite(GUEST_GDTR_BASE, r->gdt.base);
	vmwrite(GUEST_GDTR_LIMIT, r->gdt.limit);
	vmwrite(GUEST_IDTR_BASE, r->idt.base);
	vmwrite(GUEST_IDTR_LIMIT, r->idt.limit);
	set_cr0(r->cr0);
	set_cr4(r->cr4);
	vmwrite(GUEST_CR3, r->cr3);
	set_efer(r->efer);
	vmwrite(GUEST_PAT, r->pat);
	vmwrite(GUEST_DR7, r->dr7);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
	/* The CPU's copies, if this vCPU's, are stale now: loaded again. */
	if (vmx_cpus[this_cpu_id()].msr_owner == xv)
		vmx_cpus[this_cpu_id()].msr_owner = NULL;
	struct msr_entry *area = hpa_to_hva(xv->msr_area);
	for (unsigned i = 0; i < caps.nr_area; i++)
		area[i].value = 0;
	xv->cr2 = r->cr2;
	xv->dr6 = r->dr6;
	v->regs = st->regs;
	vmwrite(GUEST_RFLAGS, st->regs.rflags);
	xv->rflags = st->regs.rflags;
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	xv->intr = 0;
	v->nmi_blocked = false;
	vmwrite(GUEST_ACTIVITY, 0);
	vmwrite(GUEST_PENDING_DBG, 0);
	vmwrite(ENTRY_INTR_INFO, 0);
	xv->event_loaded = false;
	*(volatile uint32_t *)((uint8_t *)hpa_to_hva(xv->vapic) + 0x80) = 0;     /* TPR */
	xv->flush = true;
	vmx_request_intr_window(v, false);
	if (xv->sh)
		vmx_shadow_set_state(v, xv->sh, st);
	irq_restore(f);
}

static void vmx_get_sregs(struct virt_vcpu *v, struct x86_sregs *r)
{
	struct vmx_vcpu *xv = vx_of(v);
	uint64_t f = irq_save();

	vmcs_here(v);
	for (unsigned i = 0; i < NR_SEGS; i++)
		seg_from_vmcs(i, &r->seg[i]);
	seg_from_vmcs(VMCS_LDTR, &r->ldtr);
	seg_from_vmcs(VMCS_TR, &r->tr);
	r->gdt = (struct x86_dtable){ vmread(GUEST_GDTR_BASE), (uint16_t)vmread(GUEST_GDTR_LIMIT) };
	r->idt = (struct x86_dtable){ vmread(GUEST_IDTR_BASE), (uint16_t)vmread(GUEST_IDTR_LIMIT) };
	r->cr0 = guest_cr(vmread(GUEST_CR0), CR0_MASK, CR0_SHADOW);
	r->cr4 = guest_cr(vmread(GUEST_CR4), CR4_MASK, CR4_SHADOW);
	r->cr2 = xv->cr2;
	r->cr3 = vmread(GUEST_CR3);
	r->efer = vmread(GUEST_EFER);
	r->pat = vmread(GUEST_PAT);
	r->dr6 = xv->dr6;
	r->dr7 = vmread(GUEST_DR7);
	if (xv->sh)
		vmx_shadow_get_sregs(v, xv->sh, r);
	irq_restore(f);
}

static uint8_t *vtpr(struct vmx_vcpu *xv)
{
	return (uint8_t *)hpa_to_hva(xv->vapic) + 0x80;    /* VTPR (§29.1.1) */
}

static uint64_t vmx_get_reg(struct virt_vcpu *v, enum virt_reg reg)
{
	struct vmx_vcpu *xv = vx_of(v);
	uint64_t val = 0, f;

	if (xv->sh && vmx_shadow_get_reg(v, xv->sh, reg, &val))
		return val;
	switch (reg) {
	case VIRT_CR2: return xv->cr2;
	/* CR8 is VTPR bits 7:4 with the TPR shadow (§29.3). */
	case VIRT_CR8: return *(volatile uint8_t *)vtpr(xv) >> 4;
	/* DR6 is not in the VMCS: switched by hand (§28.3.1). */
	case VIRT_DR6: return xv->dr6;
	default: break;
	}
	f = irq_save();
	vmcs_here(v);
	switch (reg) {
	case VIRT_CR0: val = guest_cr(vmread(GUEST_CR0), CR0_MASK, CR0_SHADOW); break;
	case VIRT_CR3: val = vmread(GUEST_CR3); break;
	case VIRT_CR4: val = guest_cr(vmread(GUEST_CR4), CR4_MASK, CR4_SHADOW); break;
	case VIRT_EFER: val = vmread(GUEST_EFER); break;
	case VIRT_DR7: val = vmread(GUEST_DR7); break;
	/* The CPL is SS.DPL (SDM vol. 3C §26.3.1.2). */
	case VIRT_CPL: val = (vmread(GUEST_ES_AR + 2 * SEG_SS) >> 5) & 3; break;
	default: break;
	}
	irq_restore(f);
	return val;
}

static void vmx_set_reg(struct virt_vcpu *v, enum virt_reg reg, uint64_t val)
{
	struct vmx_vcpu *xv = vx_of(v);
	uint64_t f;

	if (xv->sh && vmx_shadow_set_reg(v, xv->sh, reg, val))
		return;
	switch (reg) {
	case VIRT_CR2: xv->cr2 = val; return;
	case VIRT_CR8: *(volatile uint8_t *)vtpr(xv) = (uint8_t)((val & 0xf) << 4); return;
	case VIRT_CPL: return;          /* follows SS */
	case VIRT_DR6: xv->dr6 = val; return;
	default: break;
	}
	f = irq_save();
	vmcs_here(v);
	switch (reg) {
	case VIRT_CR0: set_cr0(val); break;
	case VIRT_CR3: vmwrite(GUEST_CR3, val); break;
	case VIRT_CR4: set_cr4(val); break;
	case VIRT_EFER: set_efer(val); break;
	/* Bits 63:32 of DR7 must be 0 at VM entry (§26.3.1.1). */
	case VIRT_DR7: vmwrite(GUEST_DR7, (uint32_t)val); break;
	/* With EPT, VM entry loads PAE paging's PDPTEs from the VMCS
	 * (§26.3.2.4); without it (shadow paging) the fields are not used. */
	case VIRT_PDPTE0: case VIRT_PDPTE1: case VIRT_PDPTE2: case VIRT_PDPTE3:
		if (!xv->sh)
			vmwrite(GUEST_PDPTE0 + 2 * (reg - VIRT_PDPTE0), val);
		break;
	default: break;
	}
	irq_restore(f);
}

/*
 * In an interrupt shadow (blocking by STI or MOV SS) a VM entry requires
 * a pending single-step trap (BS, bit 14 of the pending debug exceptions)
 * exactly when RFLAGS.TF is 1, IA32_DEBUGCTL.BTF being 0 (kasane keeps the
 * guest's DEBUGCTL 0): SDM vol. 3C §26.3.1.5.  A TF the CPU did not set
 * there (a debugger's single step, core/gdbstub.c) would fail the entry.
 * Under MOV SS blocking a pending trap waits for the next instruction
 * (§26.6.3), which is a single step.  Under STI blocking it would come at
 * once, before any instruction: the shadow is dropped instead, so the
 * step runs the instruction after STI (no interrupt is injected during a
 * debugger's step, core/vcpu.c).  VMCS current, interrupts off.
 */
static void sync_pending_step(struct virt_vcpu *v, struct vmx_vcpu *xv)
{
	uint64_t pend = vmread(GUEST_PENDING_DBG);
	uint64_t want = pend & ~DR6_BS;

	if ((v->regs.rflags & RFLAGS_TF) && (xv->intr & INTERRUPTIBILITY_MOV_SS))
		want |= DR6_BS;
	else if ((v->regs.rflags & RFLAGS_TF) && (pend & DR6_BS))
		want = pend;            /* the CPU's own pending trap */
	else if (v->regs.rflags & RFLAGS_TF)
		vmwrite(GUEST_INTERRUPTIBILITY, xv->intr &= ~INTERRUPTIBILITY_STI);
	if (want != pend)
		vmwrite(GUEST_PENDING_DBG, want);
}

/* The debugger's #BP exits: exception bitmap bit 3 (SDM vol. 3C §25.6.3);
 * the exit comes before delivery, RIP on the INT3 (§28.1). */
static void vmx_set_bp_intercept(struct virt_vcpu *v, bool on)
{
	uint64_t f = irq_save();

	vmcs_here(v);
	uint32_t bm = (uint32_t)vmread(EXCEPTION_BITMAP);
	vmwrite(EXCEPTION_BITMAP, on ? bm | (1u << X86_EXC_BP) : bm & ~(1u << X86_EXC_BP));
	irq_restore(f);
}

static void vmx_inject_exception(struct virt_vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	uint64_t f = irq_save();

	vmcs_here(v);
	if (vx_of(v)->sh && vmx_rm_inject(v, &vx_of(v)->sh->rm, vector)) {
		vx_of(v)->event_loaded = true;
		irq_restore(f);
		return;
	}
	/* No error code in real mode, and only for the vectors that have one
	 * (SDM vol. 3C §26.2.1.3). */
	bool pe = vmread(GUEST_CR0) & CR0_PE;
	bool takes = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
	uint32_t info = vector | INTR_TYPE_HW_EXC | INTR_INFO_VALID;
	if (has_error && pe && takes) {
		info |= INTR_INFO_ERROR;
		vmwrite(ENTRY_EXC_ERROR, error);
	}
	vmwrite(ENTRY_INTR_INFO, info);
	vx_of(v)->event_loaded = true;
	irq_restore(f);
}

static bool vmx_can_inject_intr(struct virt_vcpu *v)
{
	struct vmx_vcpu *xv = vx_of(v);

	/* IF=1, no STI/MOV SS blocking, no event queued (SDM vol. 3C §25.4.2,
	 * §26.3.1.5). */
	return (v->regs.rflags & RFLAGS_IF) &&
	       !(xv->intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) && !xv->event_loaded;
}

static void vmx_inject_intr(struct virt_vcpu *v, uint8_t vector)
{
	uint64_t f = irq_save();

	vmcs_here(v);
	if (!vx_of(v)->sh || !vmx_rm_inject(v, &vx_of(v)->sh->rm, vector))
		vmwrite(ENTRY_INTR_INFO, vector | INTR_TYPE_EXT | INTR_INFO_VALID);
	vx_of(v)->event_loaded = true;
	irq_restore(f);
}

/* Not while an event is loaded, under MOV SS or STI blocking, or while
 * an earlier NMI's handler runs (SDM vol. 3C §26.3.1.5, §25.3). */
static bool vmx_can_inject_nmi(struct virt_vcpu *v)
{
	struct vmx_vcpu *xv = vx_of(v);

	return !v->nmi_blocked && !xv->event_loaded &&
	       !(xv->intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

/* Delivering the NMI blocks further NMIs until the guest's IRET; with
 * virtual NMIs the CPU keeps that blocking itself (§26.6.1.2). */
static void vmx_inject_nmi(struct virt_vcpu *v)
{
	uint64_t f = irq_save();

	vmcs_here(v);
	if (!vx_of(v)->sh || !vmx_rm_inject(v, &vx_of(v)->sh->rm, X86_EXC_NMI))
		vmwrite(ENTRY_INTR_INFO, X86_EXC_NMI | INTR_TYPE_NMI | INTR_INFO_VALID);
	vx_of(v)->event_loaded = true;
	v->nmi_blocked = true;
	irq_restore(f);
}

static void set_proc_bit(struct virt_vcpu *v, uint32_t bit, bool on)
{
	struct vmx_vcpu *xv = vx_of(v);
	uint32_t proc = on ? (xv->proc | bit) : (xv->proc & ~bit);
	uint64_t f;

	if (proc == xv->proc)
		return;
	f = irq_save();
	vmcs_here(v);
	xv->proc = proc;
	vmwrite(PROC_CONTROLS, proc);
	irq_restore(f);
}

/*
 * NMI-window exiting: an exit as soon as no virtual-NMI or MOV SS blocking
 * remains (§26.7.6).  Without it, the interrupt window is the nearest
 * stand-in: it opens after a shadow, and the IRET that ends an NMI handler
 * usually re-enables interrupts.
 */
static void vmx_request_nmi_window(struct virt_vcpu *v, bool on)
{
	set_proc_bit(v, caps.nmi_window ? PROC_NMI_WINDOW : PROC_INTR_WINDOW, on);
}

/* Blocking by STI and by MOV SS, bits 0 and 1 of the interruptibility
 * state (§25.4.2); virtual-NMI blocking (bit 3) is left as it is. */
static void vmx_set_intr_shadow(struct virt_vcpu *v, unsigned shadow)
{
	struct vmx_vcpu *xv = vx_of(v);
	uint32_t intr = xv->intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);

	if (shadow & VIRT_SHADOW_STI)
		intr |= INTERRUPTIBILITY_STI;
	if (shadow & VIRT_SHADOW_MOV_SS)
		intr |= INTERRUPTIBILITY_MOV_SS;
	if (intr == xv->intr)
		return;
	uint64_t f = irq_save();
	vmcs_here(v);
	vmwrite(GUEST_INTERRUPTIBILITY, intr);
	xv->intr = intr;
	irq_restore(f);
}

/* Interrupt-window exiting: an exit as soon as RFLAGS.IF=1 and no STI or
 * MOV SS blocking remains (SDM vol. 3C §26.7.5). */
static void vmx_request_intr_window(struct virt_vcpu *v, bool on)
{
	set_proc_bit(v, PROC_INTR_WINDOW, on);
}

static uint64_t *area_msr(struct vmx_vcpu *xv, uint32_t msr)
{
	struct msr_entry *area = hpa_to_hva(xv->msr_area);

	for (unsigned i = 0; i < caps.nr_area; i++)
		if (area[i].index == msr)
			return &area[i].value;
	return NULL;
}

/* The MSRs whose guest copy lives in a VMCS field. */
static int vmcs_msr_field(uint32_t msr)
{
	switch (msr) {
	case MSR_EFER: return GUEST_EFER;
	case MSR_PAT: return GUEST_PAT;
	case MSR_SYSENTER_CS: return GUEST_SYSENTER_CS;
	case MSR_SYSENTER_ESP: return GUEST_SYSENTER_ESP;
	case MSR_SYSENTER_EIP: return GUEST_SYSENTER_EIP;
	case MSR_FS_BASE: return GUEST_FS_BASE;
	case MSR_GS_BASE: return GUEST_GS_BASE;
	default: return -1;
	}
}

/*
 * One MSR access for msr_get (val read) or msr_set (*val written): the
 * MSR-load/store area or the VMCS field holds the guest's copy.
 */
static bool guest_msr(struct virt_vcpu *v, uint32_t msr, uint64_t *val, bool write)
{
	struct vmx_vcpu *xv = vx_of(v);
	uint64_t *p = area_msr(xv, msr);
	int field = vmcs_msr_field(msr);

	if (xv->sh && vmx_shadow_msr(xv->sh, msr, val, write))
		return true;

	if (!p && field < 0)
		return false;
	uint64_t f = irq_save();
	vmcs_here(v);
	if (p) {
		/* The CPU holds the value if the vCPU ran here last; vmcs_here
		 * had any other CPU save its copy into the area. */
		bool live = vmx_cpus[this_cpu_id()].msr_owner == xv;
		if (write && live)
			wrmsr(msr, *val);
		else if (write)
			*p = *val;
		else
			*val = live ? rdmsr(msr) : *p;
		irq_restore(f);
		return true;
	}
	if (!write)
		*val = vmread((uint64_t)field);
	else if (msr == MSR_EFER)
		set_efer(*val);
	else
		vmwrite((uint64_t)field, *val);
	irq_restore(f);
	return true;
}

static bool vmx_msr_get(struct virt_vcpu *v, uint32_t msr, uint64_t *val)
{
	return guest_msr(v, msr, val, false);
}

static bool vmx_msr_set(struct virt_vcpu *v, uint32_t msr, uint64_t val)
{
	return guest_msr(v, msr, &val, true);
}

/* ---- failed VM entries ----------------------------------------------------- */

/* VM-instruction error numbers (SDM vol. 3C §31.4, Table 31-1). */
static const char *insn_error(uint64_t n)
{
	switch (n) {
	case 4: return "VMLAUNCH with a non-clear VMCS";
	case 5: return "VMRESUME with a non-launched VMCS";
	case 7: return "invalid control fields (§26.2.1)";
	case 8: return "invalid host-state fields (§26.2.2-26.2.4)";
	case 26: return "events blocked by MOV SS";
	default: return "see SDM vol. 3C Table 31-1";
	}
}

static bool limit_ok(uint32_t limit, uint32_t ar)
{
	/* §26.3.1.2: limit bits 11:0 not all ones needs G=0; bits 31:20 set needs G=1. */
	if ((limit & 0xfff) != 0xfff && (ar & SEG_ATTR_G))
		return false;
	return !((limit >> 20) && !(ar & SEG_ATTR_G));
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/*
 * The CPU reports a failed guest-state check only as exit reason 33
 * (SDM vol. 3C §26.8).  Name the first of the commonest checks of
 * §26.3.1 that the current VMCS fails, so the message says why.
 */
/*
 * The IDT-vectoring information in vendor-neutral form (§25.9.3).  INT3
 * and INTO (type 6) are reported as exceptions 3 and 4, which core/ runs
 * again rather than delivers; so is INT n (type 4).  INT1 (type 5) is
 * delivered again as #DB.
 */
static void decode_cut(uint32_t idt, struct virt_event *ev)
{
	*ev = (struct virt_event){ .valid = idt & INTR_INFO_VALID, .vector = (uint8_t)idt,
				   .has_error = idt & INTR_INFO_ERROR };
	switch (idt & INTR_TYPE_MASK) {
	case INTR_TYPE_EXT: ev->type = VIRT_EV_INTR; break;
	case INTR_TYPE_NMI: ev->type = VIRT_EV_NMI; break;
	case INTR_TYPE_SW_INT: ev->type = VIRT_EV_SOFT_INT; break;
	default: ev->type = VIRT_EV_EXCEPTION; break;
	}
}

static const char *diagnose_guest_state(void)
{
	uint64_t cr0 = vmread(GUEST_CR0), cr4 = vmread(GUEST_CR4), efer = vmread(GUEST_EFER);
	uint64_t rflags = vmread(GUEST_RFLAGS);
	bool ia32e = vmread(ENTRY_CONTROLS) & ENTRY_IA32E;
	uint64_t force0 = caps.cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG);
	uint32_t cs = (uint32_t)vmread(GUEST_ES_AR + 2 * SEG_CS);
	uint32_t ss = (uint32_t)vmread(GUEST_ES_AR + 2 * SEG_SS);
	uint32_t tr = (uint32_t)vmread(GUEST_TR_AR);
	uint32_t intr = (uint32_t)vmread(GUEST_INTERRUPTIBILITY);
	uint32_t ev = (uint32_t)vmread(ENTRY_INTR_INFO);

	if ((cr0 & force0) != force0 || (cr0 & ~caps.cr0_fixed1))
		return "CR0 against IA32_VMX_CR0_FIXED0/1 (§26.3.1.1)";
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		return "CR0.PG set without CR0.PE (§26.3.1.1)";
	if ((cr4 & caps.cr4_fixed0) != caps.cr4_fixed0 || (cr4 & ~caps.cr4_fixed1))
		return "CR4 against IA32_VMX_CR4_FIXED0/1 (§26.3.1.1)";
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return "IA-32e mode guest without CR0.PG and CR4.PAE (§26.3.1.1)";
	if (!!(efer & EFER_LMA) != ia32e || ((cr0 & CR0_PG) && !!(efer & EFER_LME) != ia32e))
		return "IA32_EFER.LMA/LME against the IA-32e mode guest control (§26.3.1.1)";
	if (vmread(GUEST_DR7) >> 32)
		return "DR7 bits 63:32 (§26.3.1.1)";
	if (!canonical(vmread(GUEST_SYSENTER_ESP)) || !canonical(vmread(GUEST_SYSENTER_EIP)))
		return "IA32_SYSENTER_ESP/EIP not canonical (§26.3.1.1)";
	if (ia32e && (cs & SEG_ATTR_L) && (cs & SEG_ATTR_DB))
		return "CS.L and CS.D/B both set in IA-32e mode (§26.3.1.2)";
	if ((cs & SEG_ATTR_UNUSABLE) || !(cs & SEG_ATTR_P) || !(cs & SEG_ATTR_S))
		return "CS unusable, not present, or a system segment (§26.3.1.2)";
	if (!(ss & SEG_ATTR_UNUSABLE) && ((ss & 0xf) != 3 && (ss & 0xf) != 7))
		return "SS type not read/write data (§26.3.1.2)";
	if ((tr & SEG_ATTR_UNUSABLE) || (tr & SEG_ATTR_S) || !(tr & SEG_ATTR_P) ||
	    ((tr & 0xf) != 11 && (ia32e || (tr & 0xf) != 3)))
		return "TR unusable or not a busy TSS (§26.3.1.2)";
	for (unsigned i = 0; i < 8; i++) {
		uint32_t ar = (uint32_t)vmread(GUEST_ES_AR + 2 * i);
		if (!(ar & SEG_ATTR_UNUSABLE) && !limit_ok((uint32_t)vmread(GUEST_ES_LIMIT + 2 * i), ar))
			return "a segment limit against its G bit (§26.3.1.2)";
		if (ar & 0xfffe0f00)
			return "reserved bits in a segment's access rights (§26.3.1.2)";
	}
	if ((rflags & 0xffffffffffc08028ULL) || !(rflags & 2))
		return "RFLAGS reserved bits (§26.3.1.4)";
	if ((intr & INTERRUPTIBILITY_STI) && !(rflags & RFLAGS_IF))
		return "STI blocking with RFLAGS.IF=0 (§26.3.1.5)";
	if ((ev & INTR_INFO_VALID) && (ev & INTR_TYPE_MASK) == INTR_TYPE_EXT &&
	    (!(rflags & RFLAGS_IF) || (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))))
		return "external interrupt injected while blocked (§26.3.1.5)";
	if (vmread(GUEST_ACTIVITY))
		return "activity state (§26.3.1.5)";
	if (vmread(VMCS_LINK_POINTER) != ~0ULL)
		return "VMCS link pointer (§26.3.1.5)";
	return "a check of §26.3.1 this message does not model";
}

static void entry_failed(struct virt_vcpu *v, struct vm_exit *e, int rc)
{
	e->kind = EXIT_INVALID;
	e->next_rip = 0;
	if (rc) {
		/* VMfail: a control or host-state field is wrong (kasane's fault,
		 * but only this VM's VMCS is affected). */
		uint64_t err = rc == 2 ? vmread(VM_INSN_ERROR) : 0;
		e->code = err;
		e->info1 = e->info2 = 0;
		pr_err("vmx: VM %u vCPU %u: VM entry failed: %s (VM-instruction error %llu: %s)\n",
		       v->vm_id, v->vcpu_id, rc == 2 ? "VMfailValid" : "VMfailInvalid",
		       (unsigned long long)err, rc == 2 ? insn_error(err) : "no current VMCS");
		return;
	}
	uint32_t reason = (uint32_t)vmread(EXIT_REASON);
	uint64_t qual = vmread(EXIT_QUALIFICATION);
	e->code = reason;
	e->info1 = qual;
	e->info2 = 0;
	if ((reason & 0xffff) == VMX_EXIT_BAD_MSR_LOAD)
		pr_err("vmx: VM %u vCPU %u: VM entry failed loading MSR entry %llu (§26.4)\n",
		       v->vm_id, v->vcpu_id, (unsigned long long)qual);
	else if ((reason & 0xffff) == VMX_EXIT_BAD_GUEST)
		pr_err("vmx: VM %u vCPU %u: VM entry failed: invalid guest state: %s\n",
		       v->vm_id, v->vcpu_id, diagnose_guest_state());
	else
		pr_err("vmx: VM %u vCPU %u: VM entry failed, exit reason %u\n",
		       v->vm_id, v->vcpu_id, reason & 0xffff);
}

/* ---- exits --------------------------------------------------------------- */

/* #GP(0) for the instruction that exited: raised by core/ (EXIT_REFLECT),
 * so it goes through the vCPU's event queue like every other exception. */
static void raise_gp(struct vm_exit *e)
{
	e->kind = EXIT_REFLECT;
	e->reflect.vector = X86_EXC_GP;
	e->reflect.has_error = true;
	e->reflect.error = 0;
}

/*
 * MOV to CR0/CR4 exits only when it changes a bit the host owns (CR0.NE,
 * CR4.VMXE, §25.6.6, §27.1.3).  CR4.VMXE stays 0 for the guest (it has no
 * VMX): #GP.  Otherwise the shadow takes the guest's value and the
 * instruction runs again, now without an exit, so the CPU itself does
 * every paging-mode change it implies.
 */
static bool handle_cr_access(struct virt_vcpu *v, uint64_t qual)
{
	unsigned cr = qual & 0xf, type = (qual >> 4) & 3, reg = (qual >> 8) & 0xf;
	uint64_t val = v->regs.gpr[reg];

	if (type != 0 || (cr != 0 && cr != 4))
		return false;   /* cannot happen with the controls chosen */
	if (cr == 4) {
		if ((val & CR4_VMXE) || (v->cr4_allowed && (val & ~v->cr4_allowed)))
			return false;
		uint64_t mask = vmread(CR4_MASK);
		vmwrite(CR4_SHADOW, (vmread(CR4_SHADOW) & ~mask) | (val & mask));
		return true;
	}
	uint64_t mask = vmread(CR0_MASK);
	vmwrite(CR0_SHADOW, (vmread(CR0_SHADOW) & ~mask) | (val & mask));
	return true;
}

/*
 * XSETBV always exits (§26.1.2).  It loads the guest's XCR0 while the vCPU
 * runs (arch/x86/fpu.c switches it), after the checks of SDM vol. 2C
 * XSETBV: CPL 0, ECX 0, x87 on, AVX only with SSE, the AVX-512 states
 * together and with AVX, and only states the CPU and the guest's CPUID
 * offer (x87, SSE, AVX, AVX-512: 0xe7).
 */
static bool emulate_xsetbv(struct virt_vcpu *v)
{
	uint64_t val = (v->regs.gpr[REG_RDX] << 32) | (uint32_t)v->regs.gpr[REG_RAX];
	struct cpuid_regs d = cpuid(0xd, 0);
	uint64_t ok = ((((uint64_t)d.edx << 32) | d.eax) & 0xe7);

	if (!(cpuid(1, 0).ecx & (1u << 26)) || ((vmread(GUEST_ES_AR + 2 * SEG_SS) >> 5) & 3) ||
	    (uint32_t)v->regs.gpr[REG_RCX] != 0 || (val & ~ok) || !(val & 1) ||
	    ((val & 4) && !(val & 2)) || ((val & 0xe0) && (val & 0xe0) != 0xe0) ||
	    ((val & 0xe0) && !(val & 4)))
		return false;
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)));
	return true;
}

/*
 * Each field is read only for the exits that use it: the exit
 * qualification where §28.2.1 defines one, the instruction length for
 * exits caused by an instruction (§28.2.5).
 */
static void decode_exit(struct virt_vcpu *v, struct vmx_vcpu *xv, struct vm_exit *e, uint32_t reason)
{
	uint64_t qual = 0;
	uint64_t rip = v->regs.rip;

	e->next_rip = 0;
	e->code = reason;
	e->info2 = 0;
	switch (reason) {
	default:
		qual = vmread(EXIT_QUALIFICATION);
		break;
	case VMX_EXIT_EXT_INTR:
	case VMX_EXIT_CPUID:
	case VMX_EXIT_HLT:
	case VMX_EXIT_VMCALL:
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
	case VMX_EXIT_INTR_WINDOW:
	case VMX_EXIT_NMI_WINDOW:
	case VMX_EXIT_PREEMPT_TIMER:
		break;
	}
	e->info1 = qual;
	switch (reason) {
	case VMX_EXIT_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(EXIT_INTR_INFO);
		uint8_t vec = info & 0xff;
		e->info2 = info;
		if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
			/* The host's NMI: it goes to the host's handler (§28.1). */
			__asm__ volatile("int $2");
			e->kind = EXIT_INTR;
			break;
		}
		if (vec == X86_EXC_BP) {
			/* A software exception: the exit instruction length is
			 * INT3's (§28.2.5). */
			e->kind = EXIT_BREAKPOINT;
			e->next_rip = rip + vmread(EXIT_INSN_LEN);
			break;
		}
		if (vec == X86_EXC_DB) {
			/* A #DB that exits leaves DR6 alone; the exit qualification
			 * holds what it would have set (§28.1, Table 28-1). */
			xv->dr6 = (xv->dr6 & ~0xfULL) | (qual & 0x600f);
		}
		e->kind = EXIT_REFLECT;
		e->reflect.vector = vec;
		e->reflect.has_error = info & INTR_INFO_ERROR;
		e->reflect.error = (uint32_t)vmread(EXIT_INTR_ERROR);
		break;
	}
	case VMX_EXIT_EXT_INTR:
		e->kind = EXIT_INTR;
		break;
	case VMX_EXIT_PREEMPT_TIMER:
		/* RUN_BOUND_MS without an exit: core/ looks at its kicks. */
		e->kind = EXIT_NONE;
		break;
	case VMX_EXIT_INIT:
	case VMX_EXIT_SIPI:
		/* A physical INIT or SIPI for this CPU: nothing for the guest,
		 * whose INIT/SIPI go to its virtual local APIC instead. */
		e->kind = EXIT_NONE;
		break;
	case VMX_EXIT_TRIPLE_FAULT:
		e->kind = EXIT_TRIPLE_FAULT;
		break;
	case VMX_EXIT_TASK_SWITCH:
		/* Every task switch exits (§26.1.2).  Qualification bits 15:0:
		 * the new TSS selector; 31:30: CALL 0, IRET 1, JMP 2, a task
		 * gate in the IDT 3 (§28.2.1, Table 28-2).  Through a gate, the
		 * event and its error code are in the IDT-vectoring fields
		 * (e->cut, read above). */
		e->kind = EXIT_TASK_SWITCH;
		e->task.sel = (uint16_t)qual;
		e->task.source = ((qual >> 30) & 3) == 0 ? VIRT_TASK_CALL :
				 ((qual >> 30) & 3) == 1 ? VIRT_TASK_IRET :
				 ((qual >> 30) & 3) == 2 ? VIRT_TASK_JMP : VIRT_TASK_GATE;
		e->task.has_error = e->task.source == VIRT_TASK_GATE && e->cut.valid &&
				    e->cut.has_error;
		e->task.error = e->task.has_error ? e->cut.error : 0;
		break;
	case VMX_EXIT_INTR_WINDOW:
		e->kind = EXIT_INTR_WINDOW;
		break;
	case VMX_EXIT_NMI_WINDOW:
		e->kind = EXIT_NMI_WINDOW;
		break;
	case VMX_EXIT_CPUID:
		e->kind = EXIT_CPUID;
		e->next_rip = rip + vmread(EXIT_INSN_LEN);
		break;
	case VMX_EXIT_HLT:
		e->kind = EXIT_HLT;
		e->next_rip = rip + vmread(EXIT_INSN_LEN);
		break;
	case VMX_EXIT_INVD:
		e->kind = EXIT_INVD;
		e->next_rip = rip + vmread(EXIT_INSN_LEN);
		break;
	case VMX_EXIT_VMCALL:
		/* The same hypercall ABI as SVM's VMMCALL; the CPL is SS.DPL
		 * (§26.3.1.2), as vmx_get_reg has it. */
		e->kind = EXIT_HYPERCALL;
		e->hypercall.cpl = (vmread(GUEST_ES_AR + 2 * SEG_SS) >> 5) & 3;
		e->next_rip = rip + vmread(EXIT_INSN_LEN);
		break;
	case VMX_EXIT_IO:
		/* Exit qualification for I/O (§28.2.1, Table 28-5). */
		e->kind = EXIT_IO;
		e->io.size = (uint8_t)((qual & 7) + 1);
		e->io.in = qual & (1u << 3);
		e->io.string = qual & (1u << 4);
		e->io.rep = qual & (1u << 5);
		e->io.port = (uint16_t)(qual >> 16);
		e->io.addr_size = 0;
		if (e->io.string && (caps.basic & VMX_BASIC_INS_OUTS_INFO)) {
			/* Address size in instruction-information bits 9:7 (§28.2.5). */
			unsigned as = (vmread(EXIT_INSN_INFO) >> 7) & 7;
			e->io.addr_size = as == 0 ? 2 : as == 1 ? 4 : as == 2 ? 8 : 0;
		}
		e->next_rip = rip + vmread(EXIT_INSN_LEN);
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		e->kind = reason == VMX_EXIT_RDMSR ? EXIT_MSR_READ : EXIT_MSR_WRITE;
		e->msr.msr = (uint32_t)v->regs.gpr[REG_RCX];
		e->next_rip = rip + vmread(EXIT_INSN_LEN);
		break;
	case VMX_EXIT_CR_ACCESS:
		e->kind = EXIT_NONE;
		if (!handle_cr_access(v, qual))
			raise_gp(e);
		break;
	case VMX_EXIT_XSETBV:
		e->kind = EXIT_NONE;
		if (emulate_xsetbv(v))
			v->regs.rip = rip + vmread(EXIT_INSN_LEN);
		else
			raise_gp(e);
		break;
	case VMX_EXIT_GETSEC:
	case VMX_EXIT_VMCLEAR ... VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_VMFUNC:
	case VMX_EXIT_MONITOR:
	case VMX_EXIT_MWAIT:
		e->kind = EXIT_UD;      /* the guest's CPU has no VMX, SMX or MONITOR */
		break;
	case VMX_EXIT_EPT_VIOLATION:
		/* Qualification bits 0-2: read, write, fetch (§28.2.1, Table 28-7). */
		e->kind = EXIT_MMIO;
		e->mmio.gpa = vmread(GUEST_PHYSICAL_ADDR);
		e->mmio.write = qual & 2;
		e->mmio.fetch = qual & 4;
		e->info2 = e->mmio.gpa;
		break;
	default:
		e->kind = EXIT_UNHANDLED;
		break;
	}
}

static void vmx_vcpu_run(struct virt_vcpu *v, struct vm_exit *e)
{
	struct vmx_vcpu *xv = vx_of(v);
	unsigned cpu = this_cpu_id();
	struct vmx_cpu *xc = &vmx_cpus[cpu];

	e->cut.valid = false;   /* no event cut short unless the exit says so */
	e->intr_shadow = false;
	vmcs_here(v);
	if (unlikely(xv->moved)) {
		/* Interrupts were on while the old CPU cleared the VMCS: let
		 * core/ look at its events again before entering. */
		xv->moved = false;
		e->kind = EXIT_INTR;
		e->code = e->info1 = e->info2 = e->next_rip = 0;
		irq_enable();
		return;
	}
	/*
	 * Drop stale translations: guest-physical ones of an EPT root that may
	 * have belonged to an earlier VM, when the vCPU arrives on a CPU;
	 * linear ones of another vCPU with the same VPID (one per VM) when the
	 * CPU switches vCPUs (SDM vol. 3C §29.4.3).
	 */
	if (unlikely(xv->flush || xc->last != v || v->tlb_flush)) {
		if (xv->flush && !xv->sh)
			invept((caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? 1 : 2, eptp_of(v));
		/* Shadow paging: core/ took translations out of the shadow
		 * tables (without VPID every entry flushes, §29.4.3.3). */
		if (caps.vpid)
			invvpid((caps.ept_vpid & VPID_CAP_INVVPID_SINGLE) ? 1 : 2, vpid_of(v));
		xv->flush = false;
		v->tlb_flush = false;
		xc->last = v;
	}
	if (xv->sh && !vmx_shadow_enter(v, xv->sh, e)) {
		irq_enable();
		return;
	}
	if (unlikely(xv->cr4_allowed != v->cr4_allowed) && !xv->sh) {
		/* Own every CR4 bit the guest's CPU model hides: setting one
		 * exits, and handle_cr_access refuses it (§25.6.6). */
		xv->cr4_allowed = v->cr4_allowed;
		vmwrite(CR4_MASK, caps.cr4_fixed0 | (v->cr4_allowed ? ~v->cr4_allowed : 0));
	}
	/* Only the fields that changed since the exit (or the last write). */
	if (v->regs.gpr[REG_RSP] != xv->rsp)
		vmwrite(GUEST_RSP, xv->rsp = v->regs.gpr[REG_RSP]);
	if (v->regs.rip != xv->rip)
		vmwrite(GUEST_RIP, xv->rip = v->regs.rip);
	if (v->regs.rflags != xv->rflags)
		vmwrite(GUEST_RFLAGS, xv->rflags = v->regs.rflags);
	/* NMI blocking as core/ holds it (it may end it, or a new state load
	 * may): virtual-NMI blocking, bit 3 of the interruptibility state. */
	if (caps.pin & PIN_VIRTUAL_NMI) {
		uint32_t want = v->nmi_blocked ? (xv->intr | INTERRUPTIBILITY_NMI) :
				(xv->intr & ~INTERRUPTIBILITY_NMI);
		if (unlikely(want != xv->intr))
			vmwrite(GUEST_INTERRUPTIBILITY, xv->intr = want);
	}
	if (unlikely(xv->intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		sync_pending_step(v, xv);
	if (unlikely(xc->msr_owner != xv))
		msrs_load(xc, xv);
	/* CR2 and DR6 are not part of the VMCS (§28.3.1): switched here. */
	if (read_cr2() != xv->cr2)
		write_cr2(xv->cr2);
	if (xc->dr6 != xv->dr6) {
		__asm__ volatile("mov %0, %%dr6" : : "r"(xv->dr6));
		xc->dr6 = xv->dr6;
	}

	int rc = vmx_enter(v->regs.gpr, xv->launched, &xv->host_rsp);
	uint32_t reason = rc == 0 ? (uint32_t)vmread(EXIT_REASON) : 0;

	if (likely(rc == 0 && !(reason & VMX_EXIT_ENTRY_FAILED))) {
		xv->launched = true;
		xv->cr2 = read_cr2();
		__asm__ volatile("mov %%dr6, %0" : "=r"(xv->dr6));
		xc->dr6 = xv->dr6;
		v->regs.gpr[REG_RSP] = xv->rsp = vmread(GUEST_RSP);
		v->regs.rip = xv->rip = vmread(GUEST_RIP);
		v->regs.rflags = xv->rflags = vmread(GUEST_RFLAGS);
		if (xv->sh)
			vmx_shadow_left(v, xv->sh);
		/* The CPU keeps "IA-32e mode guest" equal to EFER.LMA when the
		 * guest enters or leaves long mode itself (§28.3, §A.6); only a
		 * CPU without that needs the control set here (under shadow
		 * paging the guest's EFER changes only through kasane). */
		if (unlikely(!caps.lma_saved) && !xv->sh)
			set_efer(vmread(GUEST_EFER));
		/* An event whose delivery the exit interrupted: core/ queues it
		 * again (§28.2.4); the entry's own event is spent (a VM exit
		 * clears its valid bit, §28.2.3). */
		xv->event_loaded = false;
		uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
		if (unlikely(idt & INTR_INFO_VALID)) {
			decode_cut(idt, &e->cut);
			if (e->cut.has_error)
				e->cut.error = (uint32_t)vmread(IDT_VECTORING_ERROR);
		}
		xv->intr = (uint32_t)vmread(GUEST_INTERRUPTIBILITY);
		e->intr_shadow = xv->intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
		/* Virtual-NMI blocking as the CPU left it; an NMI whose delivery
		 * was cut short has not blocked anything yet (§26.6.1.2). */
		if (caps.pin & PIN_VIRTUAL_NMI)
			v->nmi_blocked = (xv->intr & INTERRUPTIBILITY_NMI) &&
					 !(e->cut.valid && e->cut.type == VIRT_EV_NMI);
		if (!xv->sh || !vmx_shadow_exit(v, xv->sh, e, reason & 0xffff))
			decode_exit(v, xv, e, reason & 0xffff);
	} else {
		/* The entry's event was not delivered; it stays loaded. */
		if (xv->sh)
			vmx_shadow_left(v, xv->sh);
		entry_failed(v, e, rc);
	}
	irq_enable();   /* a pending host interrupt is taken here */
}

/*
 * Snapshots: the VM-entry interruption information has the IDT-vectoring
 * information's layout (SDM vol. 3C §24.8.3, §24.9.3); blocking by STI and
 * by MOV SS are bits 0 and 1 of the interruptibility state (§24.4.2).
 */
static void vmx_get_cpu_state(struct virt_vcpu *v, struct virt_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->arch.regs = v->regs;
	vmx_get_sregs(v, &s->arch.sregs);
	uint64_t f = irq_save();
	vmcs_here(v);
	uint32_t info = (uint32_t)vmread(ENTRY_INTR_INFO);
	uint32_t intr = (uint32_t)vmread(GUEST_INTERRUPTIBILITY);
	decode_cut(info, &s->pending);
	if (s->pending.has_error)
		s->pending.error = (uint32_t)vmread(ENTRY_EXC_ERROR);
	irq_restore(f);
	s->shadow = ((intr & INTERRUPTIBILITY_STI) ? VIRT_SHADOW_STI : 0) |
		    ((intr & INTERRUPTIBILITY_MOV_SS) ? VIRT_SHADOW_MOV_SS : 0);
	s->nmi_blocked = v->nmi_blocked;
}

static void vmx_set_cpu_state(struct virt_vcpu *v, const struct virt_cpu_state *s)
{
	const struct virt_event *ev = &s->pending;

	vmx_set_state(v, &s->arch);
	if (ev->valid && ev->type == VIRT_EV_INTR)
		vmx_inject_intr(v, ev->vector);
	else if (ev->valid && ev->type == VIRT_EV_NMI)
		vmx_inject_nmi(v);
	else if (ev->valid && ev->type == VIRT_EV_EXCEPTION)
		vmx_inject_exception(v, ev->vector, ev->has_error, ev->error);
	vmx_set_intr_shadow(v, s->shadow);
	v->nmi_blocked = s->nmi_blocked;
	uint64_t f = irq_save();
	vmcs_here(v);
	vmwrite(TSC_OFFSET, (uint64_t)v->tsc_offset);
	irq_restore(f);
}

static bool vmx_probe(void)
{
	/* CPUID.1:ECX bit 5: VMX (SDM vol. 3C §24.6).  What else kasane needs
	 * (VMX enabled by firmware, EPT, unrestricted guest) is checked on
	 * each CPU by vmx_cpu_init, which names what is missing. */
	return cpuid(1, 0).ecx & (1u << 5);
}

/* Without EPT and unrestricted guest every VM runs on shadow paging. */
static bool vmx_nested_paging(void)
{
	return !missing_ept();
}

const struct virt_ops vmx_ops = {
	.name = "Intel VT-x (VMX)",
	.paging_format = NPT_FORMAT_EPT,
	.probe = vmx_probe,
	.shadow_paging = true,
	.nested_paging = vmx_nested_paging,
	.cpu_init = vmx_cpu_init,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_free = vmx_vcpu_free,
	.set_state = vmx_set_state,
	.get_sregs = vmx_get_sregs,
	.get_reg = vmx_get_reg,
	.set_reg = vmx_set_reg,
	.vcpu_run = vmx_vcpu_run,
	.inject_exception = vmx_inject_exception,
	.can_inject_intr = vmx_can_inject_intr,
	.inject_intr = vmx_inject_intr,
	.can_inject_nmi = vmx_can_inject_nmi,
	.inject_nmi = vmx_inject_nmi,
	.request_intr_window = vmx_request_intr_window,
	.request_nmi_window = vmx_request_nmi_window,
	.set_intr_shadow = vmx_set_intr_shadow,
	.msr_get = vmx_msr_get,
	.msr_set = vmx_msr_set,
	.set_bp_intercept = vmx_set_bp_intercept,
	.get_cpu_state = vmx_get_cpu_state,
	.set_cpu_state = vmx_set_cpu_state,
};
