/* The fake machine under the host tests of core/; see core_fake.h. */
#include "test/unit/core_fake.h"
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"

/* ---- the machine around core/ ------------------------------------------------ */

bool host_irq_on = true;
static uint64_t fake_tsc = 1000000000ULL;       /* 1 GHz: a tick is a ns */
uint64_t tsc_khz = 1000000;
bool tsc_synchronized = true;       /* arch/x86/tsc_sync.c: a host whose TSCs passed */
uint64_t boot_epoch_seconds;
struct percpu percpu[MAX_CPUS];
unsigned nr_cpus_online = 8, nr_cpus_present = 8;
unsigned cur_cpu;
unsigned kicks[MAX_CPUS];
uint64_t last_wrmsr[2];

uint64_t rdtsc(void) { return fake_tsc; }
uint64_t rdmsr(uint32_t msr) { return 0; }
void wrmsr(uint32_t msr, uint64_t v) { last_wrmsr[0] = msr; last_wrmsr[1] = v; }
void xsetbv(uint32_t xcr, uint64_t v) { }
struct percpu *this_cpu(void) { return &percpu[cur_cpu]; }
void smp_kick(unsigned cpu) { kicks[cpu]++; }
unsigned host_timer_arms;
irq_handler_t fake_trap[256];
void lapic_timer_oneshot(uint64_t ns, uint8_t vector) { if (ns) host_timer_arms++; }
void trap_set_handler(int vector, irq_handler_t fn) { fake_trap[vector & 0xff] = fn; }
void fake_tsc_advance(uint64_t ticks) { fake_tsc += ticks; }
void *kzalloc(size_t size) { return calloc(1, size); }
void kfree(void *p) { free(p); }
void fpu_load(const struct fpu_state *f) { }
void fpu_save(struct fpu_state *f) { }
uint64_t fpu_xcr0_now(void) { return 1; }

char console[8192];
size_t console_len;

void console_sink(const char *s, size_t len)
{
	if (console_len + len < sizeof(console)) {
		memcpy(console + console_len, s, len);
		console_len += len;
		console[console_len] = '\0';
	}
}

/* ---- the fake back end ------------------------------------------------------- */

struct event evlog[64];
unsigned nr_ev;

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

int ev_nth(enum ev_kind kind, unsigned n)
{
	for (unsigned i = 0; i < nr_ev; i++)
		if (evlog[i].kind == kind && n-- == 0)
			return (int)i;
	return -1;
}

const struct event *ev_get(enum ev_kind kind, unsigned n)
{
	static const struct event none;
	int i = ev_nth(kind, n);

	return i >= 0 ? &evlog[i] : &none;
}

unsigned ev_count(enum ev_kind kind)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nr_ev; i++)
		n += evlog[i].kind == kind;
	return n;
}

static struct step script[16];
static unsigned nr_steps, step_at;
unsigned entries_irq_on;         /* entries with host interrupts on: a bug */
bool script_overrun;

#define VCPU_OF(h) ((struct vcpu *)((char *)(h) - offsetof(struct vcpu, hw)))

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
	case VIRT_DR6: return f->sregs.dr6;
	case VIRT_DR7: return f->sregs.dr7;
	case VIRT_PDPTE0: case VIRT_PDPTE1: case VIRT_PDPTE2: case VIRT_PDPTE3: return 0;
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
	case VIRT_DR6: f->sregs.dr6 = val; break;
	case VIRT_DR7: f->sregs.dr7 = val; break;
	case VIRT_PDPTE0: case VIRT_PDPTE1: case VIRT_PDPTE2: case VIRT_PDPTE3: break;
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
	e->intr_shadow |= f->shadow != 0;       /* as the back ends report it */
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

static bool fake_can_inject_nmi(struct virt_vcpu *h)
{
	struct fake_hw *f = h->vendor;

	return !f->event_queued && !h->nmi_blocked;
}

static void fake_inject_nmi(struct virt_vcpu *h)
{
	ev_add(EV_NMI, h)->vector = 2;
	((struct fake_hw *)h->vendor)->event_queued = true;
	h->nmi_blocked = true;
}

static void fake_request_nmi_window(struct virt_vcpu *h, bool on)
{
	((struct fake_hw *)h->vendor)->nmi_window = on;
}

static void fake_set_intr_shadow(struct virt_vcpu *h, unsigned shadow)
{
	((struct fake_hw *)h->vendor)->shadow = shadow;
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
	.can_inject_nmi = fake_can_inject_nmi,
	.inject_nmi = fake_inject_nmi,
	.request_intr_window = fake_request_intr_window,
	.request_nmi_window = fake_request_nmi_window,
	.set_intr_shadow = fake_set_intr_shadow,
	.msr_get = fake_msr_get,
	.msr_set = fake_msr_set,
};
const struct virt_ops *virt = &fake_ops;

/* ---- test VMs ---------------------------------------------------------------- */

void reset_records(void)
{
	nr_ev = 0;
	nr_steps = step_at = 0;
	entries_irq_on = 0;
	script_overrun = false;
	console_len = 0;
	console[0] = '\0';
	memset(kicks, 0, sizeof(kicks));
}

struct vm *vm_new(unsigned id, unsigned nr, unsigned cpu, bool board)
{
	struct tvm *t = calloc(1, sizeof(*t));
	struct vm *vm = &t->vm;
	char err[128];

	vm->id = id;
	vm->cfg = &t->cfg;
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

void vm_free(struct vm *vm)
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

struct vm_exit *push(enum vm_exit_kind kind, void (*guest)(struct vcpu *v))
{
	if (nr_steps >= ARRAY_SIZE(script)) {
		printf("    test script too long\n");
		abort();
	}
	struct step *s = &script[nr_steps++];

	memset(s, 0, sizeof(*s));
	s->guest = guest;
	s->exit.kind = kind;
	return &s->exit;
}

void guest_hc_exit(struct vcpu *v)
{
	v->hw.regs.gpr[REG_RAX] = HC_EXIT;
	v->hw.regs.gpr[REG_RBX] = 0;
}

void push_hc_exit(void)
{
	push(EXIT_HYPERCALL, guest_hc_exit)->next_rip = 0x2003;
}

void core_fake_init(void)
{
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		percpu[c].self = &percpu[c];
		percpu[c].id = c;
		percpu[c].online = c < nr_cpus_present;
	}
}
