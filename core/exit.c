/*
 * VM exit handling, one small function per vendor-neutral exit reason
 * (like KVM's svm_exit_handlers[]).  Anything without a handler ends the
 * VM, never the hypervisor.
 */
#include "core/exit.h"
#include "core/emul.h"
#include "core/vm.h"
#include "core/vcpu_raise.h"
#include "core/board.h"
#include "core/virt.h"
#include "include/kasane/abi.h"
#include "core/cpuid.h"
#include "core/msr.h"
#include "core/shadow.h"
#include "core/ctlreg.h"
#include "kernel/log.h"
#include "lib/printf.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc_sync.h"
#include "arch/x86/x86_defs.h"
#include "lib/string.h"

const char *const exit_kind_name[NR_EXIT_KINDS] = {
	[EXIT_NONE] = "other", [EXIT_IO] = "io", [EXIT_MMIO] = "mmio",
	[EXIT_CPUID] = "cpuid", [EXIT_MSR_READ] = "rdmsr", [EXIT_MSR_WRITE] = "wrmsr",
	[EXIT_HLT] = "hlt", [EXIT_HYPERCALL] = "hypercall", [EXIT_INTR_WINDOW] = "intr-window",
	[EXIT_NMI_WINDOW] = "nmi-window",
	[EXIT_REFLECT] = "exception", [EXIT_TRIPLE_FAULT] = "shutdown", [EXIT_INTR] = "intr",
	[EXIT_UD] = "ud", [EXIT_INVD] = "invd",
	[EXIT_INVALID] = "invalid", [EXIT_UNHANDLED] = "unhandled",
	[EXIT_CR_ACCESS] = "cr", [EXIT_INVLPG] = "invlpg", [EXIT_PAGE_FAULT] = "shadow-pf",
	[EXIT_TASK_SWITCH] = "task-switch",
	[EXIT_CR_WRITE] = "cr-write", [EXIT_XSETBV] = "xsetbv",
	[EXIT_BREAKPOINT] = "breakpoint",
};

/* The gdb stub's hooks: NULL unless core/gdbstub.c is linked in (the host
 * tests of this file do without it). */
__attribute__((weak)) const struct debug_hooks *debug_hooks = NULL;

static void skip_insn(struct vcpu *v, struct vm_exit *e)
{
	v->hw.regs.rip = e->next_rip;
}

static void handle_none(struct vcpu *v, struct vm_exit *e) { }

/* The CPU model v's CPUID shows (core/cpuid.c). */
static struct cpuid_ctx vcpu_cpuid_ctx(struct vcpu *v)
{
	return (struct cpuid_ctx){
		.host = cpuid_host, .vcpu_id = v->id, .nr_vcpus = v->vm->nr_vcpus,
		.apic_id = v->id, .guest_cr4 = virt->get_reg(&v->hw, VIRT_CR4),
		.tsc_khz = (uint32_t)tsc_khz,
		.tsc_invariant = tsc_synchronized,
		.paravirt = v->vm->cfg && v->vm->cfg->paravirt,
		/* Leaf 0xD's sizes from the guest's XCR0, in force while it runs,
		 * not from the CPU (Bochs's Intel model gives subleaf 1's EBX in
		 * the standard format, and Linux then warns). */
		.guest_xcr0 = fpu_xcr0_now(),
	};
}

uint64_t vcpu_cr4_allowed(struct vcpu *v)
{
	struct cpuid_ctx c = vcpu_cpuid_ctx(v);
	return ctlreg_cr4_allowed(&c);
}

/* The inputs of the guest's CPUID that change while it runs (cpuid.h). */
static uint64_t cpuid_live_cr4(void *arg)
{
	struct vcpu *v = arg;
	return virt->get_reg(&v->hw, VIRT_CR4);
}

static uint64_t cpuid_live_xcr0(void *arg)
{
	return fpu_xcr0_now();
}

/* The table of v's CPUID, made at its first CPUID exit (out of line:
 * handle_cpuid stays a leaf of a few registers). */
static __attribute__((noinline)) void cpuid_table_make(struct vcpu *v)
{
	struct cpuid_ctx c = vcpu_cpuid_ctx(v);

	cpuid_table_init(&v->cpuid, &c, cpuid_live_cr4, cpuid_live_xcr0, v);
}

/* Shadow paging hides a few more features (core/shadow.c). */
static __attribute__((noinline)) struct cpuid_regs shadow_filter(uint32_t leaf, struct cpuid_regs r)
{
	uint32_t out[4] = { r.eax, r.ebx, r.ecx, r.edx };

	shadow_cpuid(leaf, out);
	return (struct cpuid_regs){ out[0], out[1], out[2], out[3] };
}

static void handle_cpuid(struct vcpu *v, struct vm_exit *e)
{
	uint32_t leaf = (uint32_t)v->hw.regs.gpr[REG_RAX];

	if (unlikely(!v->cpuid.cr4))
		cpuid_table_make(v);
	struct cpuid_regs r = cpuid_table_get(&v->cpuid, leaf, (uint32_t)v->hw.regs.gpr[REG_RCX]);
	if (unlikely(v->hw.shadow))
		r = shadow_filter(leaf, r);
	v->hw.regs.gpr[REG_RAX] = r.eax;
	v->hw.regs.gpr[REG_RBX] = r.ebx;
	v->hw.regs.gpr[REG_RCX] = r.ecx;
	v->hw.regs.gpr[REG_RDX] = r.edx;
	skip_insn(v, e);
}

static void handle_rdmsr(struct vcpu *v, struct vm_exit *e)
{
	uint64_t val;

	if (!msr_guest_read(v, e->msr.msr, &val)) {
		vcpu_raise_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	v->hw.regs.gpr[REG_RAX] = (uint32_t)val;
	v->hw.regs.gpr[REG_RDX] = val >> 32;
	skip_insn(v, e);
}

static void handle_wrmsr(struct vcpu *v, struct vm_exit *e)
{
	uint64_t val = (v->hw.regs.gpr[REG_RDX] << 32) | (uint32_t)v->hw.regs.gpr[REG_RAX];

	if (!msr_guest_write(v, e->msr.msr, val)) {
		vcpu_raise_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	skip_insn(v, e);
}

/* HLT blocks the vCPU until an interrupt (core/vcpu.c does it). */
static void handle_hlt(struct vcpu *v, struct vm_exit *e)
{
	skip_insn(v, e);
	v->halt_requested = true;
}

static void handle_io(struct vcpu *v, struct vm_exit *e)
{
	int r = vcpu_emulate_io(v, e);

	if (r < 0 && r > EMU_EFAULT && !v->vm->ended)
		vm_end(v->vm, VM_END_UNHANDLED, -1, "port 0x%x: device error %d", e->io.port, r);
}

static void handle_mmio(struct vcpu *v, struct vm_exit *e)
{
	/* A guest's first touch of a RAM chunk comes here as well: it is
	 * zeroed, mapped and the access retried (core/vm_create.c). */
	if (vm_ram_fault(v->vm, e->mmio.gpa))
		return;
	vcpu_emulate_mmio(v, e);
}

static void handle_hypercall(struct vcpu *v, struct vm_exit *e)
{
	uint64_t *regs = v->hw.regs.gpr;
	int64_t ret = HC_OK;

	/* Only the guest kernel may call: user code gets #UD, as if there were
	 * no hypervisor. */
	if (e->hypercall.cpl != 0) {
		vcpu_raise_exception(v, X86_EXC_UD, false, 0);
		return;
	}
	skip_insn(v, e);
	switch (regs[REG_RAX]) {
	case HC_CONSOLE_WRITE: {
		char buf[256];
		gpa_t gpa = regs[REG_RBX];
		uint64_t len = regs[REG_RCX];
		if (len > 4096 || !gmem_is_ram(&v->vm->mem, gpa, len)) {
			ret = HC_EINVAL;
			break;
		}
		/* The check above covers the whole buffer; the copy refuses on
		 * its own too, so no byte that is not the guest's is printed. */
		for (uint64_t off = 0; off < len; off += sizeof(buf)) {
			size_t n = MIN(sizeof(buf), len - off);
			if (!gmem_read(&v->vm->mem, gpa + off, buf, n)) {
				ret = HC_EINVAL;
				break;
			}
			vm_console_write(v->vm, buf, n);
		}
		if (ret == HC_EINVAL)
			break;
		ret = (int64_t)len;
		break;
	}
	case HC_GET_VM_ID:
		ret = v->vm->id;
		regs[REG_RBX] = v->id;
		break;
	case HC_YIELD:
		v->yield_requested = true;      /* the run loop gives up the slice */
		break;
	case HC_NMI_BUTTON:
		board_nmi_button(v->vm);
		break;
	case HC_EXIT:
		vm_end(v->vm, VM_END_HYPERCALL, (int)(uint32_t)regs[REG_RBX],
		       "exit hypercall with status %d", (int)(uint32_t)regs[REG_RBX]);
		return;
	default:
		ret = HC_ENOSYS;
		break;
	}
	regs[REG_RAX] = (uint64_t)ret;
}

/*
 * A shutdown (APM vol. 2 §15.11; SDM vol. 3A §6.15, interrupt 8) ends the
 * VM; what the guest's state was, on one line before the reason, says
 * whether its stack, IDT or page tables were at fault.
 */
static void handle_triple_fault(struct vcpu *v, struct vm_exit *e)
{
	struct x86_sregs sr;
	char ev[24] = "nothing";

	virt->get_sregs(&v->hw, &sr);
	if (e->cut.valid)
		ksnprintf(ev, sizeof(ev), "vector %u", e->cut.vector);
	pr_info("kasane: VM '%s' vCPU %u at its triple fault: RSP 0x%llx RFLAGS 0x%llx CR0 0x%llx "
		"CR2 0x%llx CR3 0x%llx CR4 0x%llx IDT 0x%llx+0x%x TR 0x%llx+0x%x; delivering %s\n",
		v->vm->name, v->id, (unsigned long long)v->hw.regs.gpr[REG_RSP],
		(unsigned long long)v->hw.regs.rflags, (unsigned long long)sr.cr0,
		(unsigned long long)sr.cr2, (unsigned long long)sr.cr3, (unsigned long long)sr.cr4,
		(unsigned long long)sr.idt.base, (unsigned)sr.idt.limit,
		(unsigned long long)sr.tr.base, (unsigned)sr.tr.limit,
		ev);
	vm_end(v->vm, VM_END_TRIPLE_FAULT, -1, "triple fault on vCPU %u at RIP 0x%llx",
	       v->id, (unsigned long long)v->hw.regs.rip);
}

static void handle_ud(struct vcpu *v, struct vm_exit *e)
{
	vcpu_raise_exception(v, X86_EXC_UD, false, 0);
}

/* INVD would drop the host's dirty lines: it runs as WBINVD, whose effect
 * the guest cannot tell apart (SDM vol. 2A, INVD). */
static void handle_invd(struct vcpu *v, struct vm_exit *e)
{
	skip_insn(v, e);
}

/*
 * MOV to CR0 or CR4 (and CLTS, LMSW): the checks hardware makes, with the
 * CR4 bits of features the guest's CPUID hides reserved, so that they
 * raise #GP(0) as on a CPU without them (ctlreg.c).  Entering or leaving
 * long mode through CR0.PG updates EFER.LMA as the CPU would.
 */
static void handle_cr_write(struct vcpu *v, struct vm_exit *e)
{
	struct x86_sregs sr;
	uint64_t val, efer, next = e->next_rip;

	virt->get_sregs(&v->hw, &sr);
	struct ctlreg_state s = {
		.cr0 = sr.cr0, .cr3 = sr.cr3, .cr4 = sr.cr4, .efer = sr.efer,
		.cs_l = (sr.efer & EFER_LMA) && (sr.seg[SEG_CS].attr & SEG_ATTR_L),
		.cs_l_bit = (sr.seg[SEG_CS].attr & SEG_ATTR_L) != 0,
	};
	if (e->cr.gpr < 16) {
		val = v->hw.regs.gpr[e->cr.gpr];
		if (!s.cs_l)
			val = (uint32_t)val;
	} else if (vcpu_decode_cr_write(v, e->cr.cr, sr.cr0, &val, &next) != 0) {
		return;         /* a fault raised, or the VM ended */
	}
	bool ok;
	if (e->cr.cr == 0) {
		ok = ctlreg_cr0_check(&s, &val, &efer);
	} else {
		ok = e->cr.cr == 4 && ctlreg_cr4_check(&s, val, vcpu_cr4_allowed(v));
	}
	if (!ok) {
		vcpu_raise_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	if (e->cr.cr == 0) {
		virt->set_reg(&v->hw, VIRT_CR0, val);
		if (efer != sr.efer)
			virt->set_reg(&v->hw, VIRT_EFER, efer);
	} else {
		virt->set_reg(&v->hw, VIRT_CR4, val);
	}
	v->hw.regs.rip = next;
}

/*
 * XSETBV: CPL 0 and ECX 0, and an XCR0 the guest's CPUID offers in a
 * combination the CPU accepts, else #GP(0) (SDM vol. 2C XSETBV).  The
 * guest's XCR0 is the CPU's while it runs (arch/x86/fpu.c saves it).
 */
#define CR4_OSXSAVE     (1ull << 18)

static void handle_xsetbv(struct vcpu *v, struct vm_exit *e)
{
	uint64_t val = (v->hw.regs.gpr[REG_RDX] << 32) | (uint32_t)v->hw.regs.gpr[REG_RAX];
	struct cpuid_ctx c = vcpu_cpuid_ctx(v);

	if (!(virt->get_reg(&v->hw, VIRT_CR4) & CR4_OSXSAVE)) {
		vcpu_raise_exception(v, X86_EXC_UD, false, 0);
		return;
	}
	if (virt->get_reg(&v->hw, VIRT_CPL) != 0 || (uint32_t)v->hw.regs.gpr[REG_RCX] != 0 ||
	    !ctlreg_xcr0_check(val, ctlreg_xcr0_allowed(&c))) {
		vcpu_raise_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	xsetbv(0, val);
	skip_insn(v, e);
}

static void handle_reflect(struct vcpu *v, struct vm_exit *e)
{
	vcpu_raise_exception(v, e->reflect.vector, e->reflect.has_error, e->reflect.error);
}

/*
 * #DB is the debugger's (a single step, its breakpoint or watchpoint) or
 * the guest's own, which it gets as a #DB of its own; #BP exits only while
 * a debugger is attached, which gives the guest's own INT3 back to it.
 */
static void handle_reflect_debug(struct vcpu *v, struct vm_exit *e)
{
	if (e->reflect.vector == X86_EXC_DB && v->vm->debugged && debug_hooks &&
	    debug_hooks->debug_trap(v))
		return;
	handle_reflect(v, e);
}

static void handle_breakpoint(struct vcpu *v, struct vm_exit *e)
{
	if (debug_hooks) {
		debug_hooks->breakpoint(v, e);
		return;
	}
	/* INT3 is a trap: delivered with RIP after it (SDM vol. 3A §6.5). */
	v->hw.regs.rip = e->next_rip ? e->next_rip : v->hw.regs.rip + 1;
	vcpu_raise_exception(v, X86_EXC_BP, false, 0);
}

static void handle_invalid(struct vcpu *v, struct vm_exit *e)
{
	vm_end(v->vm, VM_END_BAD_STATE, -1, "the CPU refused vCPU %u's state (exit code 0x%llx)",
	       v->id, (unsigned long long)e->code);
}

static void handle_unhandled(struct vcpu *v, struct vm_exit *e)
{
	vm_end(v->vm, VM_END_UNHANDLED, -1,
	       "unhandled exit 0x%llx (info 0x%llx 0x%llx) on vCPU %u at RIP 0x%llx",
	       (unsigned long long)e->code, (unsigned long long)e->info1,
	       (unsigned long long)e->info2, v->id, (unsigned long long)v->hw.regs.rip);
}

typedef void (*exit_handler_t)(struct vcpu *v, struct vm_exit *e);

static const exit_handler_t exit_handlers[NR_EXIT_KINDS] = {
	[EXIT_NONE] = handle_none,
	[EXIT_IO] = handle_io,
	[EXIT_MMIO] = handle_mmio,
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_MSR_READ] = handle_rdmsr,
	[EXIT_MSR_WRITE] = handle_wrmsr,
	[EXIT_HLT] = handle_hlt,
	[EXIT_HYPERCALL] = handle_hypercall,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_INTR] = handle_none,      /* the host took its interrupt at STGI */
	[EXIT_UD] = handle_ud,
	[EXIT_INTR_WINDOW] = handle_none,       /* injected before the next entry */
	[EXIT_NMI_WINDOW] = handle_none,        /* likewise */
	[EXIT_REFLECT] = handle_reflect_debug,
	[EXIT_INVD] = handle_invd,
	[EXIT_INVALID] = handle_invalid,
	[EXIT_CR_WRITE] = handle_cr_write,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_UNHANDLED] = handle_unhandled,
	[EXIT_CR_ACCESS] = shadow_handle_cr,
	[EXIT_INVLPG] = shadow_handle_invlpg,
	[EXIT_PAGE_FAULT] = shadow_handle_pf,
	[EXIT_TASK_SWITCH] = shadow_handle_task_switch,
	[EXIT_BREAKPOINT] = handle_breakpoint,
};

void vcpu_handle_exit(struct vcpu *v, struct vm_exit *e)
{
	unsigned k = e->kind < NR_EXIT_KINDS ? e->kind : EXIT_UNHANDLED;

	v->nr_exits++;
	v->exits[k]++;
	exit_handlers[k](v, e);
}
