/*
 * The GDB remote stub for guests, on COM2.  One VM at a time is attached
 * (the console's `debug NAME`, or `gdb = yes` in its config); its vCPUs are
 * gdb's threads (id = vCPU id + 1).
 *
 * Stopping: a debug event on a vCPU (the debugger's INT3, a single step, a
 * debug-register hit) or Ctrl-C pauses the whole VM with the scheduler's
 * pause (core/sched.c), so its vCPUs leave their CPUs at their next exit
 * and the CPUs run other VMs.  Once no CPU runs a vCPU of it, the VM is
 * stopped: only then does the stub answer the stop, read or write vCPU
 * state or guest memory.  Resuming hands the debug state to the vCPUs and
 * lifts the pause.
 *
 * Everything here runs on the housekeeping CPU (gdbstub_poll from the run
 * loop, gdbstub_attach from the console), except the hooks, which run on
 * a vCPU's CPU and only record a stop under st.lock.  Breakpoint tables
 * change only while the VM is stopped, so the hooks read them unlocked.
 *
 * Registers: every one of the target description is read and written
 * (g/G, p/P) through core/gdb_regs.c, which checks a write as the guest's
 * own would be checked; a refused one is answered with an error and the
 * vCPU keeps its state (regs_load/regs_commit below).
 *
 * What the guest keeps: #DB is always intercepted (arch/x86/virt_ops.h),
 * and a #DB the debugger did not cause is reflected, so the guest's own TF
 * and debug registers work as before.  #BP is intercepted only while a
 * debugger is attached; an INT3 not at one of its breakpoints is given
 * back to the guest.  While gdb has hardware breakpoints or watchpoints,
 * DR0-3 and DR7 are the debugger's and the guest's are set aside (a guest
 * write to them meanwhile is lost on detach).
 */
#include "core/gdbstub.h"
#include "core/gdb_proto.h"
#include "core/gdb_regs.h"
#include "core/exit.h"
#include "core/msr.h"
#include "core/shadow.h"
#include "devices/vlapic.h"
#include "arch/x86/fpu.h"
#include "core/vm.h"
#include "core/vm_hold.h"
#include "core/vcpu_raise.h"
#include "core/sched.h"
#include "core/gpt.h"
#include "core/cmdline.h"
#include "kernel/log.h"
#include "kernel/spinlock.h"
#include "arch/x86/percpu.h"
#include "arch/x86/x86_defs.h"
#include "drivers/gdbport.h"
#include "lib/printf.h"
#include "lib/string.h"

extern struct hv_options hv_opts;

#define SIGINT_NR       2       /* GDB's signal numbers (gdb/signals.def) */
#define SIGTRAP_NR      5
#define MAX_SW_BP       64
#define NR_HW_BP        4       /* DR0-DR3 */
#define DR6_BS          (1ULL << 14)    /* single step (SDM vol. 3B §18.2.3) */
#define DR6_B_MASK      0xfULL          /* B0-B3: which breakpoint condition hit */
#define RFLAGS_RF       (1ULL << 16)
#define RFLAGS_AC       (1ULL << 18)

enum stub_state { ST_RUNNING, ST_STOPPED };

struct sw_bp {
	bool used;
	uint8_t saved;          /* the byte the INT3 replaced */
	uint64_t addr;
};

struct hw_bp {
	bool used;
	unsigned type;          /* Z1-Z4 */
	unsigned len;           /* 1, 2, 4, 8 */
	uint64_t addr;
};

static struct {
	spinlock_t lock;                /* the stop fields below */
	struct vm *vm;                  /* attached, or NULL */
	enum stub_state state;
	bool reply_stop;                /* gdb waits for a stop reply (after c, s, vCont, ^C) */
	bool stop_pending;              /* a vCPU or ^C stopped the VM; wait until it is quiet */
	unsigned stop_vcpu;
	int stop_sig;
	char stop_why[48];              /* "swbreak:;", "watch:ADDR;"... */
	unsigned g_vcpu, c_vcpu;        /* Hg and Hc */
	unsigned next_thread;           /* qsThreadInfo */
	bool no_ack;
	struct sw_bp sw[MAX_SW_BP];
	struct hw_bp hw[NR_HW_BP];
	struct gdb_rx rx;
	bool held;                      /* a packet that came while the VM ran */
	size_t held_len;
	char held_buf[GDB_PACKET_MAX + 1];
	char out[GDB_PACKET_MAX];       /* the reply being built */
	size_t out_len;
	char frame[2 * GDB_PACKET_MAX + 8];     /* the last reply as sent, for '-' */
	size_t frame_len;
} st = { .lock = SPINLOCK_INIT };

/* ---- replies ----------------------------------------------------------- */

static void out_reset(void)
{
	st.out_len = 0;
}

static void out_str(const char *s)
{
	size_t n = strlen(s);

	n = MIN(n, sizeof(st.out) - st.out_len);
	memcpy(st.out + st.out_len, s, n);
	st.out_len += n;
}

static void out_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_fmt(const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_str(buf);
}

static void out_hex(const void *p, size_t n)
{
	n = MIN(n, (sizeof(st.out) - st.out_len) / 2);
	gdb_hex_encode(st.out + st.out_len, p, n);
	st.out_len += 2 * n;
}

static void send(void)
{
	st.frame_len = gdb_frame(st.frame, sizeof(st.frame), st.out, st.out_len);
	gdbport_write(st.frame, st.frame_len);
}

static void reply(const char *s)
{
	out_reset();
	out_str(s);
	send();
}

/* ---- the VM and its vCPUs --------------------------------------------- */

/* No CPU runs a vCPU of vm, and none can start one: the pause is complete. */
static bool vm_quiet(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		enum vcpu_state s = vm->vcpu[i].state;
		if (s == VCPU_RUNNING || s == VCPU_RUNNABLE)
			return false;
	}
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		struct vcpu *r = percpu[c].run_vcpu;
		if (r && r->vm == vm)
			return false;
	}
	return true;
}

/* Stop the attached VM (any CPU): pause it, then record why (first stop wins). */
static void request_stop(struct vm *vm, unsigned vcpu, int sig, const char *why)
{
	sched_pause_vm(vm);
	uint64_t f = spin_lock_irqsave(&st.lock);
	if (st.vm == vm && st.state == ST_RUNNING && !st.stop_pending) {
		st.stop_vcpu = vcpu;
		st.stop_sig = sig;
		strlcpy(st.stop_why, why, sizeof(st.stop_why));
		st.stop_pending = true;
	}
	spin_unlock_irqrestore(&st.lock, f);
}

static struct vcpu *thread_vcpu(int64_t thread, unsigned dflt)
{
	struct vm *vm = st.vm;

	if (thread == GDB_THREAD_ALL || thread == GDB_THREAD_ANY)
		return &vm->vcpu[dflt < vm->nr_vcpus ? dflt : 0];
	if (thread < 1 || thread > (int64_t)vm->nr_vcpus)
		return NULL;
	return &vm->vcpu[thread - 1];
}

/* The vCPU's linear address of CS:RIP (SDM vol. 3A §3.4, §5.2.1). */
static uint64_t pc_linear(struct vcpu *v, const struct x86_sregs *sr)
{
	if ((sr->efer & EFER_LMA) && (sr->seg[SEG_CS].attr & SEG_ATTR_L))
		return v->hw.regs.rip;
	return (sr->seg[SEG_CS].base + v->hw.regs.rip) & 0xffffffffULL;
}

/*
 * Guest-virtual memory through v's page tables, as a supervisor access
 * that page protections do not stop (a debugger writes breakpoints into
 * read-only code): each page is translated for reading, with SMAP out of
 * the way (RFLAGS.AC), and only RAM is touched.  False if any page does
 * not translate to RAM; nothing faults.
 */
static bool guest_virt(struct vcpu *v, uint64_t la, void *buf, size_t len, bool write)
{
	struct vm *vm = v->vm;
	struct x86_sregs sr;
	uint8_t *b = buf;

	virt->get_sregs(&v->hw, &sr);
	struct gpt_mode mode = { .cr0 = sr.cr0, .cr3 = sr.cr3, .cr4 = sr.cr4, .efer = sr.efer,
				 .rflags = RFLAGS_AC };
	while (len) {
		size_t chunk = MIN(len, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
		gpa_t gpa;
		uint32_t err;
		if (gpt_translate(&vm->mem, &mode, la, GPT_READ, false, &gpa, &err))
			return false;
		if (write ? !gmem_write(&vm->mem, gpa, b, chunk) : !gmem_read(&vm->mem, gpa, b, chunk))
			return false;
		la += chunk;
		b += chunk;
		len -= chunk;
	}
	return true;
}

/* ---- the hooks, on a vCPU's CPU --------------------------------------- */

static struct sw_bp *sw_bp_at(uint64_t addr)
{
	for (unsigned i = 0; i < MAX_SW_BP; i++)
		if (st.sw[i].used && st.sw[i].addr == addr)
			return &st.sw[i];
	return NULL;
}

static void end_step(struct vcpu *v)
{
	v->hw.regs.rflags = (v->hw.regs.rflags & ~RFLAGS_TF) | (v->dbg.step_tf ? RFLAGS_TF : 0);
	v->dbg.step = false;
}

/*
 * INT3 (0xcc) at one of the debugger's breakpoints stops the VM with RIP
 * on it (gdb is told swbreak: it does not move the PC back).  Anything
 * else is the guest's own: INT3 or INT n (SVM's INTn intercept, which
 * QEMU reports INT3 through) is delivered to the guest after the
 * instruction, as a trap-like event (SDM vol. 3A §6.5).
 */
static void hook_breakpoint(struct vcpu *v, struct vm_exit *e)
{
	struct x86_sregs sr;
	uint8_t insn[2] = { 0, 0 };

	virt->get_sregs(&v->hw, &sr);
	uint64_t pc = pc_linear(v, &sr);
	bool read = guest_virt(v, pc, insn, 2, false) || guest_virt(v, pc, insn, 1, false);
	if (read && insn[0] == 0xcc && st.vm == v->vm && sw_bp_at(pc)) {
		if (v->dbg.step)
			end_step(v);
		request_stop(v->vm, v->id, SIGTRAP_NR, "swbreak:;");
		return;
	}
	uint8_t vector = X86_EXC_BP;
	uint64_t len = 1;
	if (read && insn[0] == 0xcd) {
		vector = insn[1];
		len = 2;
	} else if (!read || insn[0] != 0xcc) {
		len = e->next_rip > v->hw.regs.rip ? e->next_rip - v->hw.regs.rip : 1;
	}
	v->hw.regs.rip += len;
	vcpu_raise_exception(v, vector, false, 0);
}

/*
 * #DB: DR6 says what happened (SDM vol. 3B §18.2.3): BS for the debugger's
 * single step, B0-B3 for the debugger's breakpoints and watchpoints while
 * it holds the debug registers.  What the debugger caused is taken out of
 * DR6, so that a later #DB of the guest's own does not show it.
 */
static bool hook_debug_trap(struct vcpu *v)
{
	uint64_t dr6 = virt->get_reg(&v->hw, VIRT_DR6);
	uint64_t mine = 0;
	char why[48] = "";

	if (v->dbg.step && (dr6 & DR6_BS)) {
		end_step(v);
		mine |= DR6_BS;
	}
	if (v->dbg.dr_held && st.vm == v->vm) {
		for (unsigned i = 0; i < NR_HW_BP; i++) {
			if (!(dr6 & (1ULL << i)) || !st.hw[i].used)
				continue;
			mine |= 1ULL << i;
			if (*why)
				continue;
			static const char *const kind[] = { "", "hwbreak", "watch", "rwatch", "awatch" };
			if (st.hw[i].type == 1)
				strlcpy(why, "hwbreak:;", sizeof(why));
			else
				ksnprintf(why, sizeof(why), "%s:%llx;", kind[st.hw[i].type],
					  (unsigned long long)st.hw[i].addr);
		}
	}
	if (!mine)
		return false;
	virt->set_reg(&v->hw, VIRT_DR6, dr6 & ~mine);
	if (v->dbg.step)
		end_step(v);
	request_stop(v->vm, v->id, SIGTRAP_NR, why);
	return true;
}

static void hook_step_done(struct vcpu *v)
{
	end_step(v);
	request_stop(v->vm, v->id, SIGTRAP_NR, "");
}

/* gdb = yes: the VM stops before its first instruction; the housekeeping
 * CPU attaches the stub at its next poll. */
static void hook_first_run(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (__atomic_exchange_n(&vm->gdb_waited, true, __ATOMIC_ACQ_REL))
		return;
	sched_pause_vm(vm);
	__atomic_store_n(&vm->gdb_attach_wanted, true, __ATOMIC_RELEASE);
}

static const struct debug_hooks gdb_hooks = {
	.breakpoint = hook_breakpoint,
	.debug_trap = hook_debug_trap,
	.step_done = hook_step_done,
	.first_run = hook_first_run,
};

const struct debug_hooks *debug_hooks = &gdb_hooks;

/* ---- attach, resume, detach (housekeeping CPU) ------------------------ */

bool gdbstub_attach(struct vm *vm, const char **why)
{
	if (hv_opts.console == HV_CONSOLE_COM2) {
		*why = "the console uses COM2 (console=com2)";
		return false;
	}
	if (!gdbport_open()) {
		*why = "no UART at COM2 (port 0x2f8)";
		return false;
	}
	if (st.vm == vm) {
		*why = "it is already attached";
		return false;
	}
	if (st.vm && !st.vm->ended) {
		*why = "the stub is attached to another VM (detach gdb first)";
		return false;
	}
	if (vm->ended) {
		*why = "it has ended";
		return false;
	}
	uint64_t f = spin_lock_irqsave(&st.lock);
	memset(st.sw, 0, sizeof(st.sw));
	memset(st.hw, 0, sizeof(st.hw));
	st.g_vcpu = st.c_vcpu = 0;
	st.no_ack = false;
	st.held = false;
	st.reply_stop = false;
	st.stop_pending = false;
	st.state = ST_RUNNING;
	st.vm = vm;
	spin_unlock_irqrestore(&st.lock, f);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpu[i].dbg = (struct vcpu_dbg){ 0 };
	__atomic_store_n(&vm->debugged, true, __ATOMIC_RELEASE);
	request_stop(vm, 0, SIGTRAP_NR, "");
	pr_info("kasane: gdb stub on COM2 attached to VM '%s'; it stops and waits for gdb\n",
		vm->name);
	return true;
}

/* The debugger's DR7 from its slots: L0-L3, R/W and LEN (SDM vol. 3B §18.2.4). */
static uint64_t hw_dr7(void)
{
	uint64_t dr7 = 0;

	for (unsigned i = 0; i < NR_HW_BP; i++) {
		const struct hw_bp *h = &st.hw[i];
		if (!h->used)
			continue;
		/* R/W: 00 execute, 01 write, 11 read or write (no read-only). */
		unsigned rw = h->type == 1 ? 0 : h->type == 2 ? 1 : 3;
		/* LEN: 00 one byte, 01 two, 11 four, 10 eight. */
		unsigned len = h->type == 1 ? 0 : h->len == 1 ? 0 : h->len == 2 ? 1 : h->len == 4 ? 3 : 2;
		dr7 |= (1ULL << (2 * i)) | ((uint64_t)rw << (16 + 4 * i)) | ((uint64_t)len << (18 + 4 * i));
	}
	return dr7;
}

/* Load or give back the debug registers of v, per the slots (VM stopped). */
static void apply_dr(struct vcpu *v, bool release)
{
	uint64_t dr7 = release ? 0 : hw_dr7();

	if (dr7) {
		if (!v->dbg.dr_held) {
			memcpy(v->dbg.guest_dr, v->fpu.dr, sizeof(v->dbg.guest_dr));
			v->dbg.guest_dr7 = virt->get_reg(&v->hw, VIRT_DR7);
			v->dbg.dr_held = true;
		}
		for (unsigned i = 0; i < NR_HW_BP; i++)
			v->fpu.dr[i] = st.hw[i].used ? st.hw[i].addr : 0;
		virt->set_reg(&v->hw, VIRT_DR7, dr7 | (1ULL << 10));    /* bit 10 reads as 1 */
	} else if (v->dbg.dr_held) {
		memcpy(v->fpu.dr, v->dbg.guest_dr, sizeof(v->fpu.dr));
		virt->set_reg(&v->hw, VIRT_DR7, v->dbg.guest_dr7);
		v->dbg.dr_held = false;
	}
}

/* Let the stopped VM run: step_vcpu (or -1) runs one instruction and stops. */
static void resume(int step_vcpu)
{
	struct vm *vm = st.vm;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		virt->set_bp_intercept(&v->hw, true);
		apply_dr(v, false);
		v->dbg.step = (int)i == step_vcpu;
		if (v->dbg.step)
			v->dbg.step_tf = v->hw.regs.rflags & RFLAGS_TF;
	}
	uint64_t f = spin_lock_irqsave(&st.lock);
	st.state = ST_RUNNING;
	st.stop_pending = false;
	st.reply_stop = true;
	spin_unlock_irqrestore(&st.lock, f);
	vm_resume_held(vm);
}

/* Take every trace of the debugger out of the VM; it runs on unless ended. */
static void detach(void)
{
	struct vm *vm = st.vm;

	if (!vm)
		return;
	if (!vm->ended) {
		for (unsigned i = 0; i < MAX_SW_BP; i++)
			if (st.sw[i].used)
				guest_virt(&vm->vcpu[0], st.sw[i].addr, &st.sw[i].saved, 1, true);
		memset(st.hw, 0, sizeof(st.hw));
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = &vm->vcpu[i];
			virt->set_bp_intercept(&v->hw, false);
			apply_dr(v, true);
			if (v->dbg.step)
				end_step(v);
		}
	}
	memset(st.sw, 0, sizeof(st.sw));
	__atomic_store_n(&vm->debugged, false, __ATOMIC_RELEASE);
	uint64_t f = spin_lock_irqsave(&st.lock);
	bool was_stopped = st.state == ST_STOPPED || st.stop_pending;
	st.vm = NULL;
	st.stop_pending = false;
	st.state = ST_RUNNING;
	spin_unlock_irqrestore(&st.lock, f);
	if (!vm->ended && was_stopped)
		vm_resume_held(vm);
	pr_info("kasane: gdb stub detached from VM '%s'%s\n", vm->name,
		vm->ended ? "" : "; it runs on");
}

/* ---- registers -------------------------------------------------------- */

static bool read_desc(void *ctx, uint64_t la, uint64_t *desc)
{
	return guest_virt(ctx, la, desc, sizeof(*desc), false);
}

/*
 * The registers of a stopped vCPU, staged (core/gdb_regs.c): regs_load
 * copies them out, gdb's writes are checked and applied to the copy, and
 * regs_commit loads what changed back, through the back end's whole-state
 * load for the segment and control registers (the same as a snapshot's
 * restore: the VMCB/VMCS gets one consistent state, and the vCPU's TLB is
 * flushed).  A MOV to CR3 flushes non-global translations (SDM vol. 3A
 * §4.10.4.1): under nested paging the flush of the vCPU's TLB does that;
 * under shadow paging the shadow tables are that TLB and are dropped.
 */
static struct {
	struct gdb_regfile now, orig;
	struct gdb_reg_limits lim;
	struct virt_cpu_state cpu;
} rf;

static void regs_load(struct vcpu *v)
{
	struct gdb_regfile *f = &rf.now;
	const struct msr_cpu *m = msr_guest_cpu();

	virt->get_cpu_state(&v->hw, &rf.cpu);
	f->regs = v->hw.regs;
	f->sregs = rf.cpu.arch.sregs;
	f->cr8 = virt->get_reg(&v->hw, VIRT_CR8);
	f->cr3_written = false;
	f->fx_len = MIN(fpu_area_size(), GDB_FX_BYTES);
	memcpy(f->fx, v->fpu.area, f->fx_len);
	rf.orig = *f;
	rf.lim = (struct gdb_reg_limits){ .cr4_allowed = vcpu_cr4_allowed(v),
					  .efer_mask = m->efer_mask, .maxphyaddr = m->maxphyaddr,
					  .read_desc = read_desc, .ctx = v };
	fpu_get_layout(&rf.lim.fpu);
}

static void regs_commit(struct vcpu *v)
{
	const struct gdb_regfile *f = &rf.now, *o = &rf.orig;

	if (memcmp(&f->regs, &o->regs, sizeof(f->regs))) {
		v->hw.regs = f->regs;
		if (v->dbg.step)        /* gdb's TF is the guest's, after the step */
			v->dbg.step_tf = f->regs.rflags & RFLAGS_TF;
	}
	if (memcmp(&f->sregs, &o->sregs, sizeof(f->sregs)) || f->cr3_written) {
		rf.cpu.arch.regs = v->hw.regs;
		rf.cpu.arch.sregs = f->sregs;
		virt->set_cpu_state(&v->hw, &rf.cpu);
		/* set_cpu_state dropped the windows: the next entry asks again. */
		v->window_open = false;
		v->nmi_window_open = false;
		if (f->cr3_written && v->shadow)
			shadow_flush(v);
	}
	if (f->cr8 != o->cr8) {
		/* CR8 is the LAPIC's TPR[7:4] (SDM vol. 3A §10.8.6.1). */
		virt->set_reg(&v->hw, VIRT_CR8, f->cr8);
		vlapic_set_cr8(v->vlapic, (uint8_t)f->cr8);
		v->cr8 = (uint8_t)f->cr8;
		v->events = true;
	}
	if (memcmp(f->fx, o->fx, f->fx_len))
		memcpy(v->fpu.area, f->fx, f->fx_len);
}

/*
 * The target description (GDB manual, "Target Descriptions"): amd64 with
 * the standard core (x87 included), SSE, segment-base and AVX features,
 * and a feature of its own for the control registers and EFER.
 */
static const char target_xml[] =
	"<?xml version=\"1.0\"?>"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\"><architecture>i386:x86-64</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/></flags>"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/><reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/><reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/><reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/><reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/><reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/><reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/><reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.sse\">"
	/* XMM registers as gdb's own amd64 description types them: a union
	 * of the vector views ($xmm0.v4_int32[1]...). */
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>"
	"</union>"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.segments\">"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
	"</feature>"
	"<feature name=\"org.kasane.x86.sys\">"
	"<reg name=\"cr0\" bitsize=\"64\" type=\"int\" regnum=\"59\" group=\"system\"/>"
	"<reg name=\"cr2\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"cr4\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"cr8\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"efer\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.avx\">"
	"<reg name=\"ymm0h\" bitsize=\"128\" type=\"uint128\" regnum=\"65\"/>"
	"<reg name=\"ymm1h\" bitsize=\"128\" type=\"uint128\"/><reg name=\"ymm2h\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"ymm3h\" bitsize=\"128\" type=\"uint128\"/><reg name=\"ymm4h\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"ymm5h\" bitsize=\"128\" type=\"uint128\"/><reg name=\"ymm6h\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"ymm7h\" bitsize=\"128\" type=\"uint128\"/><reg name=\"ymm8h\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"ymm9h\" bitsize=\"128\" type=\"uint128\"/><reg name=\"ymm10h\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"ymm11h\" bitsize=\"128\" type=\"uint128\"/><reg name=\"ymm12h\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"ymm13h\" bitsize=\"128\" type=\"uint128\"/><reg name=\"ymm14h\" bitsize=\"128\" type=\"uint128\"/>"
	"<reg name=\"ymm15h\" bitsize=\"128\" type=\"uint128\"/>"
	"</feature></target>";

/* ---- commands ---------------------------------------------------------- */

static void send_stop_reply(void)
{
	out_reset();
	out_fmt("T%02xthread:%x;%s", st.stop_sig, st.stop_vcpu + 1, st.stop_why);
	send();
}

static void cmd_read_regs(struct vcpu *v)
{
	uint8_t buf[16];

	regs_load(v);
	out_reset();
	for (unsigned r = 0; r < GDB_NR_REGS; r++) {
		gdb_reg_get(&rf.now, &rf.lim, r, buf);
		out_hex(buf, gdb_reg_size(r));
	}
	send();
}

/* G: every register given is written as P would write it ('x': left
 * alone); one refused, and none is. */
static void cmd_write_regs(struct vcpu *v, const struct gdb_cmd *c)
{
	size_t pos = 0;
	uint8_t want[16];

	regs_load(v);
	for (unsigned r = 0; r < GDB_NR_REGS; r++) {
		size_t n = 2 * gdb_reg_size(r);
		if (pos + n > c->data_len)
			break;          /* gdb may send fewer registers (E.3, 'G') */
		const char *d = c->data + pos;
		pos += n;
		if (d[0] == 'x')
			continue;
		if (gdb_hex_decode(d, n, want, sizeof(want)) < 0 ||
		    !gdb_reg_set(&rf.now, &rf.lim, r, want)) {
			reply("E01");
			return;
		}
	}
	if (pos != c->data_len) {
		reply("E01");
		return;
	}
	regs_commit(v);
	reply("OK");
}

static void cmd_read_reg(struct vcpu *v, unsigned r)
{
	uint8_t buf[16];

	if (r >= GDB_NR_REGS) {
		reply("E01");
		return;
	}
	regs_load(v);
	gdb_reg_get(&rf.now, &rf.lim, r, buf);
	out_reset();
	out_hex(buf, gdb_reg_size(r));
	send();
}

static void cmd_write_reg(struct vcpu *v, const struct gdb_cmd *c)
{
	uint8_t buf[16];

	if (c->reg >= GDB_NR_REGS || c->data_len != 2 * gdb_reg_size(c->reg) ||
	    gdb_hex_decode(c->data, c->data_len, buf, sizeof(buf)) < 0) {
		reply("E01");
		return;
	}
	regs_load(v);
	if (!gdb_reg_set(&rf.now, &rf.lim, c->reg, buf)) {
		reply("E16");   /* EINVAL: what the guest's own write would fault on */
		return;
	}
	regs_commit(v);
	reply("OK");
}

static void cmd_read_mem(struct vcpu *v, const struct gdb_cmd *c)
{
	uint8_t buf[GDB_PACKET_MAX / 2];

	if (c->len > sizeof(buf) || !guest_virt(v, c->addr, buf, c->len, false)) {
		reply("E14");   /* EFAULT */
		return;
	}
	out_reset();
	out_hex(buf, c->len);
	send();
}

static void cmd_write_mem(struct vcpu *v, const struct gdb_cmd *c)
{
	uint8_t buf[GDB_PACKET_MAX];
	long n = c->kind == GDB_CMD_WRITE_MEM ? gdb_hex_decode(c->data, c->data_len, buf, sizeof(buf)) :
		 gdb_bin_decode(c->data, c->data_len, buf, sizeof(buf));

	if (n < 0 || (uint64_t)n != c->len) {
		reply("E01");
		return;
	}
	reply(guest_virt(v, c->addr, buf, c->len, true) ? "OK" : "E14");
}

static void cmd_breakpoint(struct vcpu *v, const struct gdb_cmd *c)
{
	bool insert = c->kind == GDB_CMD_INSERT_BP;

	if (c->type == 0) {
		/* Z0: INT3 (0xcc) over the first byte; kind must be 1 (E.2, x86). */
		struct sw_bp *b = sw_bp_at(c->addr);
		uint8_t int3 = 0xcc;
		if (c->len != 1) {
			reply("E01");
		} else if (insert && b) {
			reply("OK");
		} else if (insert) {
			for (unsigned i = 0; i < MAX_SW_BP && !b; i++)
				if (!st.sw[i].used)
					b = &st.sw[i];
			if (!b || !guest_virt(v, c->addr, &b->saved, 1, false) ||
			    !guest_virt(v, c->addr, &int3, 1, true)) {
				reply("E0e");
				return;
			}
			b->used = true;
			b->addr = c->addr;
			reply("OK");
		} else if (b) {
			guest_virt(v, c->addr, &b->saved, 1, true);
			b->used = false;
			reply("OK");
		} else {
			reply("OK");
		}
		return;
	}
	/* Z1-Z4: a debug-register slot.  Watched ranges are aligned to their
	 * length (SDM vol. 3B §18.2.5). */
	unsigned len = c->type == 1 ? 1 : (unsigned)c->len;
	if ((len != 1 && len != 2 && len != 4 && len != 8) || (c->addr & (len - 1)) ||
	    !gdb_canonical(c->addr)) {
		reply("E16");   /* EINVAL */
		return;
	}
	for (unsigned i = 0; i < NR_HW_BP; i++) {
		struct hw_bp *h = &st.hw[i];
		bool same = h->used && h->type == c->type && h->addr == c->addr && h->len == len;
		if (!insert && same) {
			h->used = false;
			reply("OK");
			return;
		}
		if (insert && same) {
			reply("OK");
			return;
		}
	}
	if (!insert) {
		reply("OK");
		return;
	}
	for (unsigned i = 0; i < NR_HW_BP; i++) {
		if (!st.hw[i].used) {
			st.hw[i] = (struct hw_bp){ true, c->type, len, c->addr };
			reply("OK");
			return;
		}
	}
	reply("E1c");   /* ENOSPC: all four debug registers in use */
}

/* c/s/vCont: which vCPU steps (-1: none); false if the request is malformed. */
static bool resume_request(const struct gdb_cmd *c, int *step)
{
	*step = -1;
	if (c->kind == GDB_CMD_STEP)
		*step = (int)st.c_vcpu;
	if (c->kind == GDB_CMD_VCONT) {
		for (unsigned i = 0; i < c->nr_actions; i++) {
			const struct gdb_action *a = &c->act[i];
			if (a->action == 't')
				return false;
			if (a->action != 's')
				continue;
			struct vcpu *v = thread_vcpu(a->thread, st.c_vcpu);
			if (!v)
				return false;
			if (*step < 0)
				*step = (int)v->id;
		}
	}
	if (c->has_addr) {
		struct vcpu *v = &st.vm->vcpu[*step >= 0 ? (unsigned)*step : st.c_vcpu];
		if (!gdb_canonical(c->addr))
			return false;
		v->hw.regs.rip = c->addr;
	}
	return true;
}

static void cmd_xfer(const struct gdb_cmd *c)
{
	size_t total = sizeof(target_xml) - 1;

	if (strcmp(c->annex, "target.xml")) {
		reply("E00");
		return;
	}
	out_reset();
	if (c->addr >= total) {
		out_str("l");
	} else {
		size_t n = MIN(total - c->addr, MIN(c->len, sizeof(st.out) / 2));
		out_str(n == total - c->addr ? "l" : "m");
		memcpy(st.out + st.out_len, target_xml + c->addr, n);
		st.out_len += n;
	}
	send();
}

static void handle_packet(const char *pkt, size_t len)
{
	struct gdb_cmd c;
	struct vm *vm = st.vm;

	gdb_parse(pkt, len, &c);
	if (c.kind == GDB_CMD_SUPPORTED) {
		out_reset();
		out_fmt("PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+",
			GDB_PACKET_MAX);
		send();
		return;
	}
	if (c.kind == GDB_CMD_NO_ACK) {
		reply("OK");
		st.no_ack = true;
		return;
	}
	if (c.kind == GDB_CMD_XFER_FEATURES) {
		cmd_xfer(&c);
		return;
	}
	if (!vm) {
		reply("E01");           /* nothing attached: `debug NAME` first */
		return;
	}
	struct vcpu *g = &vm->vcpu[st.g_vcpu < vm->nr_vcpus ? st.g_vcpu : 0];
	int step;
	switch (c.kind) {
	case GDB_CMD_STATUS:
		send_stop_reply();
		break;
	case GDB_CMD_READ_REGS:
		cmd_read_regs(g);
		break;
	case GDB_CMD_WRITE_REGS:
		cmd_write_regs(g, &c);
		break;
	case GDB_CMD_READ_REG:
		cmd_read_reg(g, c.reg);
		break;
	case GDB_CMD_WRITE_REG:
		cmd_write_reg(g, &c);
		break;
	case GDB_CMD_READ_MEM:
		cmd_read_mem(g, &c);
		break;
	case GDB_CMD_WRITE_MEM:
	case GDB_CMD_WRITE_MEM_BIN:
		cmd_write_mem(g, &c);
		break;
	case GDB_CMD_INSERT_BP:
	case GDB_CMD_REMOVE_BP:
		cmd_breakpoint(g, &c);
		break;
	case GDB_CMD_CONTINUE:
	case GDB_CMD_STEP:
	case GDB_CMD_VCONT:
		if (!resume_request(&c, &step))
			reply("E01");
		else
			resume(step);   /* the stop reply comes when it stops */
		break;
	case GDB_CMD_VCONT_QUERY:
		reply("vCont;c;C;s;S");
		break;
	case GDB_CMD_THREAD_FIRST:
	case GDB_CMD_THREAD_NEXT:
		if (c.kind == GDB_CMD_THREAD_FIRST)
			st.next_thread = 0;
		out_reset();
		if (st.next_thread >= vm->nr_vcpus) {
			out_str("l");
		} else {
			out_str("m");
			for (unsigned i = st.next_thread; i < vm->nr_vcpus; i++)
				out_fmt("%s%x", i > st.next_thread ? "," : "", i + 1);
			st.next_thread = vm->nr_vcpus;
		}
		send();
		break;
	case GDB_CMD_CURRENT_THREAD:
		out_reset();
		out_fmt("QC%x", st.stop_vcpu + 1);
		send();
		break;
	case GDB_CMD_THREAD_EXTRA: {
		struct vcpu *v = thread_vcpu(c.thread, 0);
		char text[64];
		if (!v) {
			reply("E01");
			break;
		}
		ksnprintf(text, sizeof(text), "VM %s vCPU %u (%s)", vm->name, v->id,
			  vcpu_state_name[v->state]);
		out_reset();
		out_hex(text, strlen(text));
		send();
		break;
	}
	case GDB_CMD_ATTACHED:
		reply("1");             /* detaching leaves it running */
		break;
	case GDB_CMD_SET_THREAD: {
		struct vcpu *v = thread_vcpu(c.thread, c.op == 'g' ? st.g_vcpu : st.c_vcpu);
		if (!v) {
			reply("E01");
			break;
		}
		if (c.op == 'g')
			st.g_vcpu = v->id;
		else
			st.c_vcpu = v->id;
		reply("OK");
		break;
	}
	case GDB_CMD_THREAD_ALIVE:
		reply(thread_vcpu(c.thread, 0) && c.thread > 0 ? "OK" : "E01");
		break;
	case GDB_CMD_DETACH:
		reply("OK");
		detach();
		break;
	case GDB_CMD_KILL:
		/* The debugger does not end VMs (the console's destroy does):
		 * k leaves the VM running, like a detach (E.2: no reply). */
		detach();
		break;
	case GDB_CMD_BAD:
		reply("E01");
		break;
	default:
		reply("");
		break;
	}
}

/* ---- polling ---------------------------------------------------------- */

bool gdbstub_active(void)
{
	return st.vm != NULL;
}

static void attach_waiting(void)
{
	for (unsigned i = 0; i < vm_count(); i++) {
		struct vm *vm = vm_at(i);
		const char *why;
		if (!__atomic_exchange_n(&vm->gdb_attach_wanted, false, __ATOMIC_ACQ_REL))
			continue;
		if (!gdbstub_attach(vm, &why)) {
			pr_warn("kasane: VM '%s' (gdb = yes): no debugger: %s; it runs on\n", vm->name, why);
			sched_resume_vm(vm);
		}
	}
}

void gdbstub_poll(void)
{
	attach_waiting();
	struct vm *vm = st.vm;
	if (vm && vm->ended) {
		/* The VM ended under the debugger: tell gdb (E.3, W/X replies). */
		out_reset();
		out_fmt("W%02x", (unsigned)vm->status & 0xff);
		send();
		detach();
		return;
	}
	/* A bounded number of bytes per poll: a stream of noise on COM2
	 * cannot keep the housekeeping CPU here. */
	for (unsigned i = 0; i < 2 * GDB_PACKET_MAX + 16; i++) {
		int ch = gdbport_getc();
		if (ch < 0)
			break;
		switch (gdb_rx_byte(&st.rx, (uint8_t)ch)) {
		case GDB_RX_INTERRUPT:
			if (st.vm && st.state == ST_RUNNING)
				request_stop(st.vm, st.c_vcpu, SIGINT_NR, "");
			break;
		case GDB_RX_BAD:
			gdbport_write("-", 1);
			break;
		case GDB_RX_NAK:
			gdbport_write(st.frame, st.frame_len);
			break;
		case GDB_RX_PACKET:
			if (!st.no_ack)
				gdbport_write("+", 1);
			if (st.vm && st.state == ST_RUNNING) {
				/* gdb asks while the VM runs or stops: answer once stopped. */
				memcpy(st.held_buf, st.rx.buf, st.rx.len + 1);
				st.held_len = st.rx.len;
				st.held = true;
			} else {
				handle_packet(st.rx.buf, st.rx.len);
			}
			break;
		default:
			break;
		}
	}
	vm = st.vm;
	if (vm && st.state == ST_RUNNING && st.stop_pending && vm_quiet(vm)) {
		st.state = ST_STOPPED;
		if (st.reply_stop)
			send_stop_reply();
		st.reply_stop = false;
		st.g_vcpu = st.c_vcpu = st.stop_vcpu;
	}
	if (st.held && (!st.vm || st.state == ST_STOPPED)) {
		st.held = false;
		handle_packet(st.held_buf, st.held_len);
	}
}
