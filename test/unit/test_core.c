/*
 * Host tests for core/: the exit dispatcher (core/exit.c with core/msr.c,
 * core/cpuid.c and core/emul.c), the vCPU run loop (core/vcpu.c) and the
 * scheduler (core/sched.c).  The real board, device models and VM registry
 * are linked; the vendor back end is a fake struct virt_ops that feeds
 * scripted exits to the run loop and records, in one ordered log, every
 * event, state and interrupt window core/ hands it.  The rest of the
 * machine (clock, IPIs, per-CPU data, allocator, FPU switch) is faked
 * below in a few lines each.
 */
#include "test/unit/check.h"
#include "core/vm.h"
#include "core/exit.h"
#include "core/vcpu.h"
#include "core/sched.h"
#include "core/board.h"
#include "core/clock.h"
#include "include/kasane/abi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/x86_state.h"
#include "kernel/log.h"

/* ---- the machine around core/ ------------------------------------------------ */

bool host_irq_on = true;
static uint64_t fake_tsc = 1000000000ULL;       /* 1 GHz: a tick is a ns */
uint64_t tsc_khz = 1000000;
uint64_t boot_epoch_seconds;
struct percpu percpu[MAX_CPUS];
unsigned nr_cpus_online = 8, nr_cpus_present = 8;
static unsigned cur_cpu;                        /* the CPU the test runs "on" */
static unsigned kicks[MAX_CPUS];
static uint64_t last_wrmsr[2];                  /* msr, value */

uint64_t rdtsc(void) { return fake_tsc; }
uint64_t rdmsr(uint32_t msr) { return 0; }
void wrmsr(uint32_t msr, uint64_t v) { last_wrmsr[0] = msr; last_wrmsr[1] = v; }
struct percpu *this_cpu(void) { return &percpu[cur_cpu]; }
void smp_kick(unsigned cpu) { kicks[cpu]++; }
void lapic_timer_oneshot(uint64_t us, uint8_t vector) { }
void trap_set_handler(int vector, irq_handler_t fn) { }
void *kzalloc(size_t size) { return calloc(1, size); }
void kfree(void *p) { free(p); }
void fpu_load(const struct fpu_state *f) { }
void fpu_save(struct fpu_state *f) { }

static char console[8192];
static size_t console_len;

static void console_sink(const char *s, size_t len)
{
	if (console_len + len < sizeof(console)) {
		memcpy(console + console_len, s, len);
		console_len += len;
		console[console_len] = '\0';
	}
}

/* ---- the fake back end ------------------------------------------------------- */

/* What the fake "CPU" keeps of one vCPU (v->hw.vendor). */
struct fake_hw {
	struct x86_sregs sregs;         /* CR0, CR4, EFER, PAT and segments live here */
	uint64_t cr8;
	uint64_t msr[10];               /* STAR.., see fake_msr_slot() */
	bool can_inject;                /* IF=1 and no shadow, as the test decides */
	bool event_queued;              /* injected, not yet delivered by an entry */
	bool window;                    /* interrupt-window exit requested */
};

/* Everything core/ asks of the back end, in order. */
enum ev_kind { EV_ENTRY, EV_EXC, EV_INTR, EV_NMI, EV_WINDOW_ON, EV_WINDOW_OFF, EV_SET_STATE,
	       EV_SET_CR8 };
struct event {
	enum ev_kind kind;
	unsigned vcpu;
	uint8_t vector;
	bool has_error;
	uint32_t error;
	uint64_t val;                   /* CR8 written */
	struct x86_vcpu_state state;    /* EV_SET_STATE */
};
static struct event evlog[64];
static unsigned nr_ev;

static struct event *ev_add(enum ev_kind kind, struct virt_vcpu *hw)
{
	static struct event spill;

	if (nr_ev >= ARRAY_SIZE(evlog))
		return &spill;
	struct event *e = &evlog[nr_ev++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->vcpu = hw->vcpu_id;
	return e;
}

/* Index of the n-th (from 0) event of a kind, or -1. */
static int ev_nth(enum ev_kind kind, unsigned n)
{
	for (unsigned i = 0; i < nr_ev; i++)
		if (evlog[i].kind == kind && n-- == 0)
			return (int)i;
	return -1;
}

/* The n-th event of a kind; an empty one (kind EV_ENTRY, all zero) if none. */
static const struct event *ev_get(enum ev_kind kind, unsigned n)
{
	static const struct event none;
	int i = ev_nth(kind, n);

	return i >= 0 ? &evlog[i] : &none;
}

static unsigned ev_count(enum ev_kind kind)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nr_ev; i++)
		n += evlog[i].kind == kind;
	return n;
}

/* The scripted guest: each entry runs the next step's guest action, then exits. */
struct step {
	void (*guest)(struct vcpu *v);
	struct vm_exit exit;
};
static struct step script[16];
static unsigned nr_steps, step_at;
static unsigned entries_irq_on;         /* entries with host interrupts on: a bug */
static bool script_overrun;

#define VCPU_OF(h) ((struct vcpu *)((char *)(h) - offsetof(struct vcpu, hw)))
#define FAKE(v) ((struct fake_hw *)(v)->hw.vendor)

static void fake_set_state(struct virt_vcpu *h, const struct x86_vcpu_state *s)
{
	struct fake_hw *f = h->vendor;

	ev_add(EV_SET_STATE, h)->state = *s;
	f->sregs = s->sregs;
	h->regs = s->regs;
	f->cr8 = 0;
	f->event_queued = false;
	f->window = false;
}

static void fake_get_sregs(struct virt_vcpu *h, struct x86_sregs *s)
{
	*s = ((struct fake_hw *)h->vendor)->sregs;
}

static uint64_t fake_get_reg(struct virt_vcpu *h, enum virt_reg r)
{
	struct fake_hw *f = h->vendor;

	switch (r) {
	case VIRT_CR0: return f->sregs.cr0;
	case VIRT_CR2: return f->sregs.cr2;
	case VIRT_CR3: return f->sregs.cr3;
	case VIRT_CR4: return f->sregs.cr4;
	case VIRT_EFER: return f->sregs.efer;
	case VIRT_CR8: return f->cr8;
	case VIRT_CPL: return x86_cpl(&f->sregs);
	}
	return 0;
}

static void fake_set_reg(struct virt_vcpu *h, enum virt_reg r, uint64_t val)
{
	struct fake_hw *f = h->vendor;

	switch (r) {
	case VIRT_CR0: f->sregs.cr0 = val; break;
	case VIRT_CR2: f->sregs.cr2 = val; break;
	case VIRT_CR3: f->sregs.cr3 = val; break;
	case VIRT_CR4: f->sregs.cr4 = val; break;
	case VIRT_EFER: f->sregs.efer = val; break;
	case VIRT_CR8: f->cr8 = val; ev_add(EV_SET_CR8, h)->val = val; break;
	case VIRT_CPL: break;
	}
}

static void fake_vcpu_run(struct virt_vcpu *h, struct vm_exit *e)
{
	struct vcpu *v = VCPU_OF(h);
	struct fake_hw *f = h->vendor;

	ev_add(EV_ENTRY, h);
	if (host_irq_on)
		entries_irq_on++;
	f->event_queued = false;        /* delivered */
	fake_tsc += 1000;
	memset(e, 0, sizeof(*e));
	if (step_at >= nr_steps) {
		/* Past the script: end the VM; a loop that still enters is stuck. */
		script_overrun = true;
		vm_end(v->vm, VM_END_UNHANDLED, -1, "test script ran out");
		if (++step_at > nr_steps + 100) {
			printf("    the run loop keeps entering an ended VM\n");
			fflush(stdout);
			abort();
		}
		return;
	}
	struct step *s = &script[step_at++];
	if (s->guest)
		s->guest(v);
	*e = s->exit;
}

static void fake_inject_exception(struct virt_vcpu *h, uint8_t vector, bool has_error, uint32_t error)
{
	struct event *e = ev_add(EV_EXC, h);

	e->vector = vector;
	e->has_error = has_error;
	e->error = error;
	((struct fake_hw *)h->vendor)->event_queued = true;
}

static bool fake_can_inject_intr(struct virt_vcpu *h)
{
	struct fake_hw *f = h->vendor;

	return f->can_inject && !f->event_queued;
}

static void fake_inject_intr(struct virt_vcpu *h, uint8_t vector)
{
	ev_add(EV_INTR, h)->vector = vector;
	((struct fake_hw *)h->vendor)->event_queued = true;
}

static bool fake_inject_nmi(struct virt_vcpu *h)
{
	struct fake_hw *f = h->vendor;

	if (f->event_queued)
		return false;
	ev_add(EV_NMI, h)->vector = 2;
	f->event_queued = true;
	return true;
}

static void fake_request_intr_window(struct virt_vcpu *h, bool on)
{
	ev_add(on ? EV_WINDOW_ON : EV_WINDOW_OFF, h);
	((struct fake_hw *)h->vendor)->window = on;
}

/* The MSRs a back end keeps besides EFER and PAT (as SVM keeps them in the VMCB). */
static uint64_t *fake_msr_slot(struct fake_hw *f, uint32_t msr)
{
	static const uint32_t kept[] = {
		0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100,
		0xc0000101, 0xc0000102, 0x174, 0x175, 0x176,
	};
	if (msr == MSR_EFER)
		return &f->sregs.efer;
	if (msr == 0x277)
		return &f->sregs.pat;
	for (unsigned i = 0; i < ARRAY_SIZE(kept); i++)
		if (kept[i] == msr)
			return &f->msr[i];
	return NULL;
}

static bool fake_msr_get(struct virt_vcpu *h, uint32_t msr, uint64_t *val)
{
	uint64_t *p = fake_msr_slot(h->vendor, msr);

	if (p)
		*val = *p;
	return p != NULL;
}

static bool fake_msr_set(struct virt_vcpu *h, uint32_t msr, uint64_t val)
{
	uint64_t *p = fake_msr_slot(h->vendor, msr);

	if (p)
		*p = val;
	return p != NULL;
}

static const struct virt_ops fake_ops = {
	.name = "fake",
	.set_state = fake_set_state,
	.get_sregs = fake_get_sregs,
	.get_reg = fake_get_reg,
	.set_reg = fake_set_reg,
	.vcpu_run = fake_vcpu_run,
	.inject_exception = fake_inject_exception,
	.can_inject_intr = fake_can_inject_intr,
	.inject_intr = fake_inject_intr,
	.inject_nmi = fake_inject_nmi,
	.request_intr_window = fake_request_intr_window,
	.msr_get = fake_msr_get,
	.msr_set = fake_msr_set,
};
const struct virt_ops *virt = &fake_ops;

/* ---- test VMs ---------------------------------------------------------------- */

#define RAM_SIZE (2 * MiB)

struct tvm {
	struct vm vm;
	uint8_t *ram;
	struct fake_hw hw[VM_MAX_VCPUS];
};

static void reset_records(void)
{
	nr_ev = 0;
	nr_steps = step_at = 0;
	entries_irq_on = 0;
	script_overrun = false;
	console_len = 0;
	console[0] = '\0';
	memset(kicks, 0, sizeof(kicks));
}

/*
 * A VM with nr vCPUs on CPU 'cpu'.  With a board: 2 MiB of RAM, the real
 * devices, vCPU 0 runnable in flat 32-bit mode (IF=1, CPL 0), the others
 * waiting for a SIPI, and all of them in the scheduler.  Without: just what
 * the scheduler looks at.
 */
static struct vm *vm_new(unsigned id, unsigned nr, unsigned cpu, bool board)
{
	struct tvm *t = calloc(1, sizeof(*t));
	struct vm *vm = &t->vm;
	char err[128];

	vm->id = id;
	snprintf(vm->name, sizeof(vm->name), "tvm%u", id);
	vm->nr_vcpus = nr;
	vm->weight = SCHED_WEIGHT_DEFAULT;
	vm->start_ns = clock_now_ns();
	vm->vcpus_running = nr;
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *v = &vm->vcpu[i];
		v->vm = vm;
		v->id = i;
		v->pcpu = cpu;
		v->affinity = 1ULL << cpu;
		v->state = VCPU_RUNNABLE;
		v->hw.vendor = &t->hw[i];
		v->hw.vm_id = id;
		v->hw.vcpu_id = i;
	}
	if (!board)
		return vm;
	t->ram = calloc(1, RAM_SIZE);
	if (!gmem_add(&vm->mem, 0, RAM_SIZE, t->ram) || board_create(vm, err, sizeof(err)) != 0) {
		printf("    cannot build the test VM: %s\n", err);
		abort();
	}
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (!board_vcpu_init(v))
			abort();
		/* Software-enable the local APIC (SVR bit 8), as a guest does. */
		uint64_t svr = APIC_SVR_ENABLE | 0xff;
		vlapic_mmio(v->vlapic, true, BOARD_LAPIC_BASE + APIC_REG_SVR, 4, &svr);
		struct x86_vcpu_state st;
		x86_state_flat32(&st);
		t->hw[i].sregs = st.sregs;
		v->hw.regs = st.regs;
		v->hw.regs.rip = 0x1000;
		v->hw.regs.rflags = 2 | RFLAGS_IF;
		t->hw[i].can_inject = true;
		v->state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
		v->wait_sipi = i != 0;
		sched_add(v);
	}
	return vm;
}

/* End the VM, take the vCPUs of ended VMs off every run queue, free it. */
static void vm_free(struct vm *vm)
{
	struct tvm *t = (struct tvm *)vm;

	if (!vm->ended)
		vm_end(vm, VM_END_EXIT_PORT, 0, "test over");
	for (unsigned c = 0; c < nr_cpus_present; c++) {
		struct vcpu *list[32];
		while (sched_reap(c))
			;
		unsigned n = sched_snapshot(c, list, ARRAY_SIZE(list));
		for (unsigned i = 0; i < n; i++)
			if (list[i]->vm == vm) {
				printf("    vCPU %u still on CPU %u's queue\n", list[i]->id, c);
				fflush(stdout);
				abort();
			}
	}
	if (t->ram)
		board_free(vm);
	free(t->ram);
	free(t);
}

static struct vm_exit *push(enum vm_exit_kind kind, void (*guest)(struct vcpu *v))
{
	struct step *s = &script[nr_steps++];

	memset(s, 0, sizeof(*s));
	s->guest = guest;
	s->exit.kind = kind;
	return &s->exit;
}

static void guest_hc_exit(struct vcpu *v)
{
	v->hw.regs.gpr[REG_RAX] = HC_EXIT;
	v->hw.regs.gpr[REG_RBX] = 0;
}

/* The last step of a script: the guest ends its VM with status 0. */
static void push_hc_exit(void)
{
	push(EXIT_HYPERCALL, guest_hc_exit)->next_rip = 0x2003;
}

/* One slice of v on its CPU, as core/run.c runs it; returns the entries made. */
static unsigned run_slice(struct vcpu *v)
{
	unsigned before = ev_count(EV_ENTRY);

	cur_cpu = v->pcpu;
	struct vcpu *p = sched_pick(v->pcpu);
	CHECK(p == v);
	if (p != v) {
		if (p)
			sched_put(v->pcpu, p, 0);
		return 0;
	}
	uint64_t t0 = clock_now_ns();
	host_irq_on = true;
	vcpu_run(v, t0 + SCHED_SLICE_NS, NO_DEADLINE);
	CHECK(host_irq_on);     /* the loop gives interrupts back */
	CHECK_EQ(entries_irq_on, 0);    /* and enters with them off */
	sched_put(v->pcpu, v, clock_now_ns() - t0);
	return ev_count(EV_ENTRY) - before;
}

/* One exit handled outside the run loop. */
static void handle(struct vcpu *v, enum vm_exit_kind kind, uint64_t next_rip)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.next_rip = next_rip;
	vcpu_handle_exit(v, &e);
}

static void handle_msr(struct vcpu *v, bool write, uint32_t msr)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = write ? EXIT_MSR_WRITE : EXIT_MSR_READ;
	e.msr.msr = msr;
	e.next_rip = v->hw.regs.rip + 2;
	vcpu_handle_exit(v, &e);
}

static void set_edx_eax(struct vcpu *v, uint64_t val)
{
	v->hw.regs.gpr[REG_RAX] = (uint32_t)val;
	v->hw.regs.gpr[REG_RDX] = val >> 32;
}

static bool has_text(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* ---- the exit dispatcher ---------------------------------------------------- */

TEST(cpuid_fills_rax_to_rdx_and_skips)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	v->hw.regs.gpr[REG_RAX] = 0x40000000;
	v->hw.regs.gpr[REG_RBX] = 0x1111;
	v->hw.regs.gpr[REG_RDX] = 0x2222;
	handle(v, EXIT_CPUID, 0x1002);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0x40000001);
	CHECK_EQ(v->hw.regs.gpr[REG_RBX], 0x6173616b);  /* "kasa" */
	CHECK_EQ(v->hw.regs.gpr[REG_RCX], 0x0000656e);  /* "ne" */
	CHECK_EQ(v->hw.regs.gpr[REG_RDX], 0);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	/* Leaf 1 on vCPU 1: its initial APIC ID in EBX[31:24]. */
	struct vcpu *v1 = &vm->vcpu[1];
	v1->hw.regs.gpr[REG_RAX] = 1;
	v1->hw.regs.gpr[REG_RCX] = 0;
	handle(v1, EXIT_CPUID, 0x1002);
	CHECK_EQ(v1->hw.regs.gpr[REG_RBX] >> 24, 1);
	CHECK_EQ(ev_count(EV_EXC), 0);
	vm_free(vm);
}

TEST(rdmsr_unknown_injects_gp_and_keeps_rip)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	set_edx_eax(v, 0x123456789abcdefULL);
	handle_msr(v, false, 0x12345);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_GP);
	CHECK(evlog[0].has_error);
	CHECK_EQ(evlog[0].error, 0);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0x89abcdef);
	CHECK_EQ(v->hw.regs.gpr[REG_RDX], 0x01234567);
	CHECK(!vm->ended);
	vm_free(vm);
}

TEST(rdmsr_wrmsr_split_edx_eax)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	/* WRMSR LSTAR takes EDX:EAX; the back end keeps it. */
	set_edx_eax(v, 0xffffffff81000000ULL);
	handle_msr(v, true, 0xc0000082);
	CHECK_EQ(FAKE(v)->msr[1], 0xffffffff81000000ULL);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	/* RDMSR gives it back split, upper halves of RAX and RDX clear. */
	v->hw.regs.gpr[REG_RAX] = v->hw.regs.gpr[REG_RDX] = ~0ULL;
	handle_msr(v, false, 0xc0000082);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0x81000000);
	CHECK_EQ(v->hw.regs.gpr[REG_RDX], 0xffffffff);
	CHECK_EQ(v->hw.regs.rip, 0x1004);
	/* A non-canonical LSTAR is #GP and changes nothing. */
	set_edx_eax(v, 0x0000800000000000ULL);
	handle_msr(v, true, 0xc0000082);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(FAKE(v)->msr[1], 0xffffffff81000000ULL);
	CHECK_EQ(v->hw.regs.rip, 0x1004);
	vm_free(vm);
}

TEST(wrmsr_efer_reserved_bits_gp)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->sregs.efer = 0;
	set_edx_eax(v, EFER_SCE | (1u << 1));           /* bit 1 is reserved */
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_GP);
	CHECK_EQ(FAKE(v)->sregs.efer, 0);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	/* SVME is not the guest's to set either. */
	set_edx_eax(v, EFER_SVME);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 2);
	CHECK_EQ(FAKE(v)->sregs.efer, 0);
	/* The allowed bits are taken. */
	set_edx_eax(v, EFER_SCE | EFER_NXE);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 2);
	CHECK_EQ(FAKE(v)->sregs.efer, EFER_SCE | EFER_NXE);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	vm_free(vm);
}

TEST(wrmsr_efer_lme_change_with_paging_gp)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct fake_hw *f = FAKE(v);

	/* Long mode active, paging on: clearing LME is #GP. */
	f->sregs.cr0 |= CR0_PG;
	f->sregs.efer = EFER_LME | EFER_LMA;
	set_edx_eax(v, EFER_LMA);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_GP);
	CHECK_EQ(f->sregs.efer, EFER_LME | EFER_LMA);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	/* Same LME, another bit: fine; LMA is read-only and stays. */
	set_edx_eax(v, EFER_LME | EFER_NXE);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(f->sregs.efer, EFER_LME | EFER_LMA | EFER_NXE);
	/* Paging off: LME may change. */
	f->sregs.cr0 &= ~(uint64_t)CR0_PG;
	f->sregs.efer = 0;
	set_edx_eax(v, EFER_LME);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(f->sregs.efer, EFER_LME);
	vm_free(vm);
}

TEST(wrmsr_tsc_aux_reaches_the_cpu)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	set_edx_eax(v, 7);
	handle_msr(v, true, 0xc0000103);
	CHECK_EQ(v->msr.tsc_aux, 7);
	CHECK_EQ(v->fpu.tsc_aux, 7);
	CHECK_EQ(last_wrmsr[0], 0xc0000103);
	CHECK_EQ(last_wrmsr[1], 7);
	/* The upper half is reserved. */
	set_edx_eax(v, 1ULL << 32);
	handle_msr(v, true, 0xc0000103);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(v->msr.tsc_aux, 7);
	vm_free(vm);
}

TEST(hlt_sets_halt_and_skips)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	handle(v, EXIT_HLT, 0x1001);
	CHECK(v->halt_requested);
	CHECK_EQ(v->hw.regs.rip, 0x1001);
	vm_free(vm);
}

TEST(hypercall_from_cpl3_is_ud)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->sregs.seg[SEG_SS].attr |= 3 << SEG_ATTR_DPL_SHIFT;
	v->hw.regs.gpr[REG_RAX] = HC_EXIT;
	handle(v, EXIT_HYPERCALL, 0x1003);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_UD);
	CHECK(!evlog[0].has_error);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], HC_EXIT);
	CHECK(!vm->ended);
	vm_free(vm);
}

static void hc_console(struct vcpu *v, gpa_t gpa, uint64_t len)
{
	v->hw.regs.rip = 0x1000;
	v->hw.regs.gpr[REG_RAX] = HC_CONSOLE_WRITE;
	v->hw.regs.gpr[REG_RBX] = gpa;
	v->hw.regs.gpr[REG_RCX] = len;
	handle(v, EXIT_HYPERCALL, 0x1003);
}

TEST(hc_console_write_prints_a_line)
{
	reset_records();
	struct vm *vm = vm_new(3, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	memcpy(((struct tvm *)vm)->ram + 0x5000, "hi\tthere\n", 9);
	log_set_sink(console_sink);
	hc_console(v, 0x5000, 9);
	log_set_sink(NULL);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 9);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	CHECK_STR(console, "[tvm3] hi\tthere\n");
	vm_free(vm);
}

TEST(hc_console_write_outside_ram_prints_nothing)
{
	reset_records();
	struct vm *vm = vm_new(3, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	uint8_t *ram = ((struct tvm *)vm)->ram;

	memset(ram + RAM_SIZE - 4096, 'A', 4096);
	log_set_sink(console_sink);
	/* 400 bytes from 300 before the end of RAM: the first 256 are RAM. */
	hc_console(v, RAM_SIZE - 300, 400);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_EINVAL);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	/* Longer than 4096, all in RAM. */
	hc_console(v, 0x1000, 4097);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_EINVAL);
	/* Wrapping around the address space. */
	hc_console(v, ~0ULL - 10, 100);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_EINVAL);
	CHECK_EQ(console_len, 0);
	CHECK_EQ(vm->hc_len, 0);        /* nothing held back for later either */
	log_set_sink(NULL);
	CHECK(!vm->ended);
	vm_free(vm);
}

TEST(hc_get_vm_id_and_unknown)
{
	reset_records();
	struct vm *vm = vm_new(7, 2, 0, true);
	struct vcpu *v = &vm->vcpu[1];

	v->hw.regs.gpr[REG_RAX] = HC_GET_VM_ID;
	handle(v, EXIT_HYPERCALL, 0x1003);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 7);
	CHECK_EQ(v->hw.regs.gpr[REG_RBX], 1);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	v->hw.regs.gpr[REG_RAX] = 0x1234;
	handle(v, EXIT_HYPERCALL, 0x1006);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_ENOSYS);
	CHECK_EQ(v->hw.regs.rip, 0x1006);
	CHECK_EQ(ev_count(EV_EXC), 0);
	vm_free(vm);
}

TEST(hc_exit_ends_the_vm_with_status)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	v->hw.regs.gpr[REG_RAX] = HC_EXIT;
	v->hw.regs.gpr[REG_RBX] = 42;
	handle(v, EXIT_HYPERCALL, 0x1003);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_HYPERCALL);
	CHECK_EQ(vm->status, 42);
	vm_free(vm);
}

TEST(invd_skips_the_instruction)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	handle(v, EXIT_INVD, 0x1002);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	CHECK_EQ(nr_ev, 0);
	CHECK(!vm->ended);
	vm_free(vm);
}

TEST(triple_fault_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	struct vcpu *v = &vm->vcpu[1];

	v->hw.regs.rip = 0xdead;
	handle(v, EXIT_TRIPLE_FAULT, 0);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_TRIPLE_FAULT);
	CHECK_EQ(vm->status, -1);
	CHECK_STR(vm->end_detail, "triple fault on vCPU 1 at RIP 0xdead");
	/* The first reason wins. */
	handle(v, EXIT_INVALID, 0);
	CHECK_EQ(vm->end_reason, VM_END_TRIPLE_FAULT);
	vm_free(vm);
}

TEST(invalid_state_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit e = { .kind = EXIT_INVALID, .code = 0xffffffff };

	vcpu_handle_exit(v, &e);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_BAD_STATE);
	CHECK(has_text(vm->end_detail, "exit code 0xffffffff"));
	/* The report names the reason. */
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		vm->exits[k] += v->exits[k];
	log_set_sink(console_sink);
	vm_report(vm);
	log_set_sink(NULL);
	CHECK(has_text(console, "ended: invalid guest state ("));
	CHECK(has_text(console, "invalid 1"));
	vm_free(vm);
}

TEST(unhandled_exit_is_named)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit e = { .kind = EXIT_UNHANDLED, .code = 0x7d, .info1 = 0x18, .info2 = 0x2 };

	vcpu_handle_exit(v, &e);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_UNHANDLED);
	CHECK_STR(vm->end_detail, "unhandled exit 0x7d (info 0x18 0x2) on vCPU 0 at RIP 0x1000");
	/* A kind out of range is counted and handled as unhandled. */
	struct vm *vm2 = vm_new(2, 1, 0, true);
	struct vm_exit odd = { .kind = (enum vm_exit_kind)(NR_EXIT_KINDS + 5), .code = 0x99 };
	vcpu_handle_exit(&vm2->vcpu[0], &odd);
	CHECK(vm2->ended);
	CHECK(has_text(vm2->end_detail, "unhandled exit 0x99"));
	CHECK_EQ(vm2->vcpu[0].exits[EXIT_UNHANDLED], 1);
	vm_free(vm);
	vm_free(vm2);
}

TEST(reflected_exceptions_keep_their_error_code)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit ac = { .kind = EXIT_REFLECT,
			      .reflect = { .vector = X86_EXC_AC, .has_error = true, .error = 0x5a } };
	struct vm_exit db = { .kind = EXIT_REFLECT, .reflect = { .vector = X86_EXC_DB } };

	vcpu_handle_exit(v, &ac);
	vcpu_handle_exit(v, &db);
	CHECK_EQ(nr_ev, 2);
	CHECK_EQ(evlog[0].vector, X86_EXC_AC);
	CHECK(evlog[0].has_error);
	CHECK_EQ(evlog[0].error, 0x5a);
	CHECK_EQ(evlog[1].vector, X86_EXC_DB);
	CHECK(!evlog[1].has_error);
	CHECK_EQ(v->hw.regs.rip, 0x1000);       /* faults: RIP stays */
	/* An instruction the guest must see fail. */
	handle(v, EXIT_UD, 0x1003);
	CHECK_EQ(nr_ev, 3);
	CHECK_EQ(evlog[2].vector, X86_EXC_UD);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	vm_free(vm);
}

TEST(exit_counters_per_kind)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	handle(v, EXIT_CPUID, 0x1002);
	handle(v, EXIT_CPUID, 0x1004);
	handle(v, EXIT_INTR, 0);
	handle(v, EXIT_HLT, 0x1005);
	handle(v, EXIT_INTR_WINDOW, 0);
	CHECK_EQ(v->nr_exits, 5);
	CHECK_EQ(v->exits[EXIT_CPUID], 2);
	CHECK_EQ(v->exits[EXIT_INTR], 1);
	CHECK_EQ(v->exits[EXIT_HLT], 1);
	CHECK_EQ(v->exits[EXIT_INTR_WINDOW], 1);
	uint64_t sum = 0;
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		sum += v->exits[k];
	CHECK_EQ(sum, 5);
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		CHECK(exit_kind_name[k] != NULL);
	vm_free(vm);
}

TEST(out_to_the_exit_port_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit e = { .kind = EXIT_IO, .next_rip = 0x1002,
			     .io = { .size = 1, .port = GUEST_EXIT_PORT } };

	v->hw.regs.gpr[REG_RAX] = 0x305;        /* a byte: 5 */
	vcpu_handle_exit(v, &e);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_EXIT_PORT);
	CHECK_EQ(vm->status, 5);
	vm_free(vm);
}

/* ---- the run loop ------------------------------------------------------------ */

static void post_irq(struct vcpu *v, uint8_t vector)
{
	vlapic_set_irq(v->vlapic, vector, false);
	sched_wake(v);
}

static bool isr_has(struct vcpu *v, uint8_t vector)
{
	return v->vlapic->isr[vector / 32] & (1u << (vector % 32));
}

TEST(run_injects_a_pending_interrupt)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	post_irq(v, 0x30);
	push(EXIT_INTR, NULL);
	push_hc_exit();
	run_slice(v);
	int inj = ev_nth(EV_INTR, 0), ent = ev_nth(EV_ENTRY, 0);
	CHECK(inj >= 0 && inj < ent);
	CHECK_EQ(ev_get(EV_INTR, 0)->vector, 0x30);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(isr_has(v, 0x30));                /* acknowledged at the vLAPIC */
	CHECK_EQ(ev_count(EV_WINDOW_ON), 0);
	CHECK(vm->ended && vm->end_reason == VM_END_HYPERCALL);
	CHECK(!script_overrun);
	vm_free(vm);
}

static void guest_sti(struct vcpu *v)
{
	FAKE(v)->can_inject = true;
}

TEST(run_requests_a_window_when_blocked)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->can_inject = false;            /* IF=0 or an STI shadow */
	post_irq(v, 0x30);
	push(EXIT_INTR_WINDOW, guest_sti);
	push_hc_exit();
	run_slice(v);
	int on = ev_nth(EV_WINDOW_ON, 0), e0 = ev_nth(EV_ENTRY, 0), e1 = ev_nth(EV_ENTRY, 1);
	int inj = ev_nth(EV_INTR, 0), off = ev_nth(EV_WINDOW_OFF, 0);
	CHECK(on >= 0 && on < e0);
	CHECK(inj > e0 && inj < e1);            /* injected once the window opened */
	CHECK(off > e0 && off < e1);            /* and the window closed */
	CHECK_EQ(ev_count(EV_WINDOW_ON), 1);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(!v->window_open);
	CHECK(!script_overrun);
	vm_free(vm);
}

static void guest_cr8_15(struct vcpu *v)
{
	FAKE(v)->cr8 = 15;
}

TEST(run_closes_the_window_when_nothing_is_pending)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->can_inject = false;
	post_irq(v, 0x30);
	/* The guest raises CR8 to 15: vector 0x30 can no longer be taken. */
	push(EXIT_INTR, guest_cr8_15);
	push_hc_exit();
	run_slice(v);
	int e0 = ev_nth(EV_ENTRY, 0), e1 = ev_nth(EV_ENTRY, 1), off = ev_nth(EV_WINDOW_OFF, 0);
	CHECK(ev_nth(EV_WINDOW_ON, 0) < e0);
	CHECK(off > e0 && off < e1);
	CHECK_EQ(ev_count(EV_INTR), 0);
	CHECK(!v->window_open);
	CHECK(!FAKE(v)->window);
	vm_free(vm);
}

TEST(run_injects_nmi_before_interrupts)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct apic_msg nmi = { .delivery = APIC_DM_NMI, .shorthand = 1 };

	post_irq(v, 0x30);
	vlapic_deliver(v->vlapic, &nmi);
	sched_wake(v);
	push(EXIT_INTR, NULL);
	push_hc_exit();
	run_slice(v);
	int n = ev_nth(EV_NMI, 0), i = ev_nth(EV_INTR, 0);
	int e0 = ev_nth(EV_ENTRY, 0), e1 = ev_nth(EV_ENTRY, 1);
	CHECK(n >= 0 && n < e0);
	CHECK(i > e0 && i < e1);                /* the interrupt on the next entry */
	CHECK_EQ(ev_get(EV_INTR, 0)->vector, 0x30);
	CHECK(!vlapic_nmi_pending(v->vlapic));
	vm_free(vm);
}

TEST(run_init_sipi_loads_reset_then_startup_state)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	struct vcpu *ap = &vm->vcpu[1];
	struct apic_msg init = { .delivery = APIC_DM_INIT, .shorthand = 1 };
	struct apic_msg sipi = { .delivery = APIC_DM_STARTUP, .shorthand = 1, .vector = 0x9a };

	/* The BSP halts, so that only the AP is left to run. */
	CHECK(sched_pick(0) == &vm->vcpu[0]);
	vm->vcpu[0].events = false;
	CHECK(sched_block(&vm->vcpu[0], VCPU_HALTED));
	sched_put(0, &vm->vcpu[0], 0);
	/* INIT alone: the AP loads the reset state and keeps waiting. */
	vlapic_deliver(ap->vlapic, &init);
	sched_wake(ap);
	CHECK_EQ(ap->state, VCPU_RUNNABLE);
	CHECK_EQ(run_slice(ap), 0);
	CHECK_EQ(ap->state, VCPU_WAIT_SIPI);
	CHECK_EQ(ev_count(EV_SET_STATE), 1);
	vlapic_deliver(ap->vlapic, &sipi);
	sched_wake(ap);
	push_hc_exit();
	CHECK_EQ(run_slice(ap), 1);
	CHECK_EQ(ev_count(EV_SET_STATE), 2);
	const struct x86_vcpu_state *rst = &ev_get(EV_SET_STATE, 0)->state;
	const struct x86_vcpu_state *st = &ev_get(EV_SET_STATE, 1)->state;
	CHECK_EQ(rst->sregs.seg[SEG_CS].selector, 0xf000);
	CHECK_EQ(rst->regs.rip, 0xfff0);
	CHECK_EQ(st->sregs.seg[SEG_CS].selector, 0x9a00);
	CHECK_EQ(st->sregs.seg[SEG_CS].base, 0x9a000);
	CHECK_EQ(st->regs.rip, 0);
	CHECK_EQ(st->sregs.cr0 & CR0_PE, 0);    /* real mode */
	CHECK(ev_nth(EV_SET_STATE, 1) < ev_nth(EV_ENTRY, 0));
	CHECK_EQ(ev_get(EV_ENTRY, 0)->vcpu, 1);
	vm_free(vm);
}

static void guest_cr8_5(struct vcpu *v)
{
	FAKE(v)->cr8 = 5;
}

TEST(run_guest_cr8_reaches_the_tpr)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	push(EXIT_INTR, guest_cr8_5);
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(v->vlapic->tpr, 0x50);
	CHECK_EQ(ev_count(EV_SET_CR8), 0);      /* nothing to write back */
	vm_free(vm);
}

static uint64_t cr8_at_entry;

static void guest_look_at_cr8(struct vcpu *v)
{
	cr8_at_entry = FAKE(v)->cr8;
	guest_hc_exit(v);
}

TEST(run_tpr_write_reaches_cr8)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	/* mov [0xfee00080], eax: the guest writes the TPR through the APIC page. */
	static const uint8_t insn[] = { 0x89, 0x05, 0x80, 0x00, 0xe0, 0xfe };

	memcpy(((struct tvm *)vm)->ram + 0x1000, insn, sizeof(insn));
	v->hw.regs.gpr[REG_RAX] = 0x70;
	struct vm_exit *e = push(EXIT_MMIO, NULL);
	e->mmio.gpa = BOARD_LAPIC_BASE + APIC_REG_TPR;
	e->mmio.write = true;
	push(EXIT_HYPERCALL, guest_look_at_cr8)->next_rip = 0x1009;
	cr8_at_entry = 0;
	run_slice(v);
	CHECK_EQ(v->vlapic->tpr, 0x70);
	CHECK_EQ(ev_count(EV_SET_CR8), 1);
	CHECK_EQ(cr8_at_entry, 7);
	CHECK(vm->end_reason == VM_END_HYPERCALL);
	vm_free(vm);
}

static void guest_yield(struct vcpu *v)
{
	v->hw.regs.gpr[REG_RAX] = HC_YIELD;
}

TEST(run_yield_ends_the_slice)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	push(EXIT_HYPERCALL, guest_yield)->next_rip = 0x1003;
	push_hc_exit();
	CHECK_EQ(run_slice(v), 1);
	CHECK(!vm->ended);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK_EQ(run_slice(v), 1);              /* the next slice goes on */
	CHECK(vm->ended);
	vm_free(vm);
}

TEST(run_hlt_blocks_until_an_interrupt)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	push(EXIT_HLT, NULL)->next_rip = 0x1001;
	push_hc_exit();
	CHECK_EQ(run_slice(v), 1);
	CHECK_EQ(v->state, VCPU_HALTED);
	CHECK_EQ(v->hw.regs.rip, 0x1001);
	CHECK(!vm->ended);
	CHECK(sched_pick(0) == NULL);
	post_irq(v, 0x40);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK_EQ(run_slice(v), 1);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(ev_nth(EV_INTR, 0) < ev_nth(EV_ENTRY, 1));
	vm_free(vm);
}

TEST(run_hlt_with_interrupt_pending_does_not_block)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->can_inject = false;            /* e.g. STI; HLT */
	post_irq(v, 0x40);
	push(EXIT_HLT, guest_sti)->next_rip = 0x1001;
	push_hc_exit();
	CHECK_EQ(run_slice(v), 2);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(ev_nth(EV_INTR, 0) < ev_nth(EV_ENTRY, 1));
	vm_free(vm);
}

TEST(run_hlt_with_interrupts_off_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	v->hw.regs.rflags &= ~RFLAGS_IF;
	push(EXIT_HLT, NULL)->next_rip = 0x1001;
	CHECK_EQ(run_slice(v), 1);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_HALTED);
	CHECK_EQ(vm->status, 0);
	vm_free(vm);
}

TEST(run_does_not_enter_an_ended_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	vm_end(vm, VM_END_EXIT_PORT, 0, "ended before it ran");
	push_hc_exit();
	CHECK_EQ(run_slice(v), 0);
	vm_free(vm);
}

/* ---- the scheduler ----------------------------------------------------------- */

TEST(sched_pick_least_vruntime_runnable)
{
	reset_records();
	struct vm *vm = vm_new(1, 4, 1, false);
	struct vcpu *v = vm->vcpu;

	v[1].state = VCPU_HALTED;
	for (int i = 0; i < 4; i++)
		sched_add(&v[i]);
	CHECK_EQ(sched_nr_runnable(1), 3);
	/* Every newcomer starts level with the others. */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(v[i].vruntime, 0);
	v[0].vruntime = 300;
	v[1].vruntime = 100;                    /* least, but not runnable */
	v[2].vruntime = 200;
	v[3].vruntime = 250;
	struct vcpu *p = sched_pick(1);
	CHECK(p == &v[2]);
	CHECK_EQ(p->state, VCPU_RUNNING);
	CHECK_EQ(sched_nr_runnable(1), 2);
	/* A newcomer starts at the least vruntime on the queue. */
	struct vm *vm2 = vm_new(2, 1, 1, false);
	sched_add(&vm2->vcpu[0]);
	CHECK_EQ(vm2->vcpu[0].vruntime, 100);
	sched_put(1, p, 0);
	vm_free(vm);
	vm_free(vm2);
	CHECK_EQ(sched_nr_runnable(1), 0);
}

TEST(sched_put_accounts_weight)
{
	reset_records();
	struct vm *heavy = vm_new(1, 1, 1, false), *light = vm_new(2, 1, 1, false);
	struct vm *dflt = vm_new(3, 1, 1, false);

	heavy->weight = 200;
	light->weight = 50;
	dflt->weight = 0;                       /* taken as the default */
	sched_add(&heavy->vcpu[0]);
	sched_add(&light->vcpu[0]);
	sched_add(&dflt->vcpu[0]);
	for (int i = 0; i < 3; i++) {
		struct vcpu *v = sched_pick(1);
		CHECK(v != NULL);
		if (v)
			sched_put(1, v, 1000000);
	}
	CHECK_EQ(heavy->vcpu[0].vruntime, 500000);
	CHECK_EQ(light->vcpu[0].vruntime, 2000000);
	CHECK_EQ(dflt->vcpu[0].vruntime, 1000000);
	CHECK_EQ(light->vcpu[0].run_ns, 1000000);
	CHECK_EQ(light->vcpu[0].state, VCPU_RUNNABLE);
	CHECK_EQ(sched_nr_runnable(1), 3);
	/* Next comes the one with the least weighted time: the heavy VM. */
	struct vcpu *v = sched_pick(1);
	CHECK(v == &heavy->vcpu[0]);
	sched_put(1, v, 0);
	vm_free(heavy);
	vm_free(light);
	vm_free(dflt);
}

TEST(sched_block_and_wake)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 2, false);
	struct vcpu *v = &vm->vcpu[0];

	sched_add(v);
	CHECK(sched_pick(2) == v);
	v->events = false;
	CHECK(sched_block(v, VCPU_HALTED));
	CHECK_EQ(v->state, VCPU_HALTED);
	sched_put(2, v, 1000);
	CHECK_EQ(v->state, VCPU_HALTED);
	CHECK_EQ(sched_nr_runnable(2), 0);
	CHECK(sched_pick(2) == NULL);
	cur_cpu = 0;
	kicks[2] = 0;
	sched_wake(v);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK(v->events);
	CHECK_EQ(sched_nr_runnable(2), 1);
	CHECK_EQ(kicks[2], 1);                  /* its CPU is woken */
	CHECK(sched_pick(2) == v);
	/* An event already there: no blocking. */
	v->events = true;
	CHECK(!sched_block(v, VCPU_HALTED));
	CHECK_EQ(v->state, VCPU_RUNNING);
	/* Blocked, then woken while still current: put requeues it. */
	v->events = false;
	CHECK(sched_block(v, VCPU_WAIT_SIPI));
	sched_wake(v);
	CHECK_EQ(v->state, VCPU_WAIT_SIPI);     /* current: only the event */
	sched_put(2, v, 1000);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK_EQ(sched_nr_runnable(2), 1);
	vm_free(vm);
	CHECK_EQ(sched_nr_runnable(2), 0);
}

TEST(sched_steal_respects_exclusive_and_affinity)
{
	reset_records();
	/* CPU 6 is exclusive: nothing is stolen from it, it steals nothing. */
	struct vm *excl = vm_new(1, 3, 6, false);
	for (int i = 0; i < 3; i++) {
		excl->vcpu[i].affinity = 0xff;
		sched_add(&excl->vcpu[i]);
	}
	sched_set_exclusive(6);
	/* CPU 3: one vCPU pinned there, one exclusive, one that may go to 4. */
	struct vm *vm = vm_new(2, 3, 3, false);
	vm->vcpu[0].affinity = 1u << 3;
	vm->vcpu[1].affinity = (1u << 3) | (1u << 4);
	vm->vcpu[1].exclusive = true;
	vm->vcpu[2].affinity = (1u << 3) | (1u << 4) | (1u << 6);
	for (int i = 2; i >= 0; i--)            /* the one that may move is last */
		sched_add(&vm->vcpu[i]);
	CHECK(!sched_steal(6));
	CHECK(sched_steal(4));
	CHECK_EQ(vm->vcpu[2].pcpu, 4);
	CHECK_EQ(vm->vcpu[2].migrations, 1);
	CHECK_EQ(sched_nr_runnable(4), 1);
	CHECK_EQ(sched_nr_runnable(3), 2);
	CHECK_EQ(sched_nr_runnable(6), 3);
	/* Nothing else on CPU 3 may go to 4, nor from CPU 6 to anyone. */
	CHECK(!sched_steal(4));
	CHECK(!sched_steal(5));
	CHECK_EQ(vm->vcpu[0].pcpu, 3);
	CHECK_EQ(vm->vcpu[1].pcpu, 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(excl->vcpu[i].pcpu, 6);
	CHECK(sched_pick(4) == &vm->vcpu[2]);
	sched_put(4, &vm->vcpu[2], 0);
	vm_free(vm);
	vm_free(excl);
}

TEST(sched_steal_never_takes_the_running_vcpu)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 3, false);
	vm->vcpu[0].affinity = vm->vcpu[1].affinity = (1u << 3) | (1u << 4);
	sched_add(&vm->vcpu[0]);
	sched_add(&vm->vcpu[1]);
	struct vcpu *run = sched_pick(3);
	struct vcpu *other = run == &vm->vcpu[0] ? &vm->vcpu[1] : &vm->vcpu[0];
	CHECK(sched_steal(4));
	CHECK_EQ(other->pcpu, 4);
	CHECK_EQ(run->pcpu, 3);
	/* Only the running one is left: nothing to steal. */
	CHECK(!sched_steal(4));
	CHECK_EQ(run->pcpu, 3);
	CHECK_EQ(run->state, VCPU_RUNNING);
	sched_put(3, run, 0);
	vm_free(vm);
	CHECK_EQ(sched_nr_runnable(3), 0);
	CHECK_EQ(sched_nr_runnable(4), 0);
}

TEST(sched_reap_takes_only_ended_vms)
{
	reset_records();
	struct vm *live = vm_new(1, 2, 5, false), *dead = vm_new(2, 2, 5, false);

	for (int i = 0; i < 2; i++) {
		sched_add(&live->vcpu[i]);
		sched_add(&dead->vcpu[i]);
	}
	CHECK(sched_reap(5) == NULL);
	struct vcpu *cur = sched_pick(5);
	vm_end(dead, VM_END_EXIT_PORT, 0, "done");
	vm_end(cur->vm, VM_END_EXIT_PORT, 0, "done");   /* harmless if dead */
	struct vcpu *got[4];
	unsigned n = 0;
	while (n < 4 && (got[n] = sched_reap(5)))
		n++;
	CHECK_EQ(n, cur->vm == dead ? 1 : 3);
	for (unsigned i = 0; i < n; i++) {
		CHECK(got[i]->vm->ended);
		CHECK(got[i] != cur);           /* never the running one */
	}
	/* Once put, it goes too. */
	sched_put(5, cur, 0);
	CHECK(sched_reap(5) == cur);
	struct vcpu *left[4];
	unsigned m = sched_snapshot(5, left, 4);
	CHECK_EQ(m, cur->vm == dead ? 2 : 0);
	for (unsigned i = 0; i < m; i++)
		CHECK(left[i]->vm == live);
	vm_free(live);
	vm_free(dead);
}

int main(void)
{
	check_start("core");
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		percpu[c].self = &percpu[c];
		percpu[c].id = c;
		percpu[c].online = c < nr_cpus_present;
	}
	RUN(cpuid_fills_rax_to_rdx_and_skips);
	RUN(rdmsr_unknown_injects_gp_and_keeps_rip);
	RUN(rdmsr_wrmsr_split_edx_eax);
	RUN(wrmsr_efer_reserved_bits_gp);
	RUN(wrmsr_efer_lme_change_with_paging_gp);
	RUN(wrmsr_tsc_aux_reaches_the_cpu);
	RUN(hlt_sets_halt_and_skips);
	RUN(hypercall_from_cpl3_is_ud);
	RUN(hc_console_write_prints_a_line);
	RUN(hc_console_write_outside_ram_prints_nothing);
	RUN(hc_get_vm_id_and_unknown);
	RUN(hc_exit_ends_the_vm_with_status);
	RUN(invd_skips_the_instruction);
	RUN(triple_fault_ends_the_vm);
	RUN(invalid_state_ends_the_vm);
	RUN(unhandled_exit_is_named);
	RUN(reflected_exceptions_keep_their_error_code);
	RUN(exit_counters_per_kind);
	RUN(out_to_the_exit_port_ends_the_vm);
	RUN(run_injects_a_pending_interrupt);
	RUN(run_requests_a_window_when_blocked);
	RUN(run_closes_the_window_when_nothing_is_pending);
	RUN(run_injects_nmi_before_interrupts);
	RUN(run_init_sipi_loads_reset_then_startup_state);
	RUN(run_guest_cr8_reaches_the_tpr);
	RUN(run_tpr_write_reaches_cr8);
	RUN(run_yield_ends_the_slice);
	RUN(run_hlt_blocks_until_an_interrupt);
	RUN(run_hlt_with_interrupt_pending_does_not_block);
	RUN(run_hlt_with_interrupts_off_ends_the_vm);
	RUN(run_does_not_enter_an_ended_vm);
	RUN(sched_pick_least_vruntime_runnable);
	RUN(sched_put_accounts_weight);
	RUN(sched_block_and_wake);
	RUN(sched_steal_respects_exclusive_and_affinity);
	RUN(sched_steal_never_takes_the_running_vcpu);
	RUN(sched_reap_takes_only_ended_vms);
	return check_finish();
}
