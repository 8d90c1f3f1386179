/*
 * Running VMs: the registry of VMs, their guest console lines, and their
 * end (the reason, the report and the summary).  Creating and destroying
 * a VM is core/vm_create.c's.
 */
#include "core/vm.h"
#include "kernel/log.h"
#include "core/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/smp.h"
#include "lib/printf.h"
#include "lib/string.h"

static struct vm *vms[MAX_VMS];
static unsigned nr_vms;
static volatile unsigned vms_running;

/* ---- the registry --------------------------------------------------------- */

bool vm_register(struct vm *vm)
{
	if (nr_vms >= MAX_VMS)
		return false;
	vms[nr_vms++] = vm;
	__atomic_fetch_add(&vms_running, 1, __ATOMIC_ACQ_REL);
	return true;
}

unsigned vm_count(void)
{
	return nr_vms;
}

struct vm *vm_at(unsigned i)
{
	return i < nr_vms ? vms[i] : NULL;
}

bool vm_all_ended(void)
{
	return __atomic_load_n(&vms_running, __ATOMIC_ACQUIRE) == 0;
}

void vm_mark_finished(struct vm *vm)
{
	__atomic_fetch_sub(&vms_running, 1, __ATOMIC_ACQ_REL);
}

void vm_mark_started(struct vm *vm)
{
	__atomic_fetch_add(&vms_running, 1, __ATOMIC_ACQ_REL);
}

/* ---- console -------------------------------------------------------------- */

/*
 * A guest printing as fast as it can must not hold the console: COM1 at
 * 115200 baud carries 11520 bytes/s for every VM and kasane together, and
 * each line is written with interrupts off.  Each VM may print a burst of
 * VM_CONSOLE_BURST bytes, then VM_CONSOLE_RATE bytes per second (a token
 * bucket); lines beyond that are dropped whole and counted.  After a drop
 * the VM prints again only once a quarter of the burst is back, and its
 * first line then is preceded by how many bytes were lost: at most one
 * such notice a second.
 */
#define VM_CONSOLE_BURST  16384u
#define VM_CONSOLE_RATE   4096u

/* Whether vm may print bytes now; if not, they count as dropped.  A VM's
 * first line finds a full bucket.  *lost: dropped bytes not yet reported. */
static bool console_take(struct vm *vm, size_t bytes, uint64_t *lost)
{
	const uint64_t ns_per_byte = 1000000000ULL / VM_CONSOLE_RATE;
	uint64_t now = clock_now_ns();
	uint64_t f = spin_lock_irqsave(&vm->con_limit_lock);

	if (!vm->con_refill_ns) {
		vm->con_tokens = VM_CONSOLE_BURST;
		vm->con_refill_ns = now;
	} else if (now > vm->con_refill_ns) {
		uint64_t add = (now - vm->con_refill_ns) / ns_per_byte;
		vm->con_tokens = MIN(vm->con_tokens + add, (uint64_t)VM_CONSOLE_BURST);
		vm->con_refill_ns += add * ns_per_byte;         /* keeps the fraction */
	}
	/* Once it dropped a line, the VM prints again only with a quarter of
	 * the burst back: at most one "dropped" notice a second. */
	bool ok = vm->con_tokens >= bytes &&
		  (vm->con_dropped == vm->con_dropped_told || vm->con_tokens >= VM_CONSOLE_BURST / 4);
	if (ok) {
		vm->con_tokens -= bytes;
		*lost = vm->con_dropped - vm->con_dropped_told;
		vm->con_dropped_told = vm->con_dropped;
	} else {
		vm->con_dropped += bytes;
	}
	spin_unlock_irqrestore(&vm->con_limit_lock, f);
	return ok;
}

void vm_console_line(struct vm *vm, const char *line, size_t len)
{
	char buf[VUART_LINE_MAX + 48];
	uint64_t lost = 0;

	if (!console_take(vm, len + 1, &lost))
		return;
	if (lost)
		pr_info("[%s] ... %llu bytes dropped (console rate limit)\n", vm->name,
			(unsigned long long)lost);
	int n = ksnprintf(buf, sizeof(buf), "[%s] %.*s\n", vm->name, (int)len, line);

	console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

void vm_console_write(struct vm *vm, const char *s, size_t len)
{
	/* Several vCPUs may write at once: one line buffer, one lock. */
	uint64_t f = spin_lock_irqsave(&vm->console_lock);

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\r')
			continue;
		if (c != '\n') {
			/* Nothing that could steer the operator's terminal. */
			vm->hc_line[vm->hc_len++] = (c == '\t' || (c >= 0x20 && c < 0x7f)) ? c : '.';
		}
		if (c == '\n' || vm->hc_len >= sizeof(vm->hc_line)) {
			vm_console_line(vm, vm->hc_line, vm->hc_len);
			vm->hc_len = 0;
		}
	}
	spin_unlock_irqrestore(&vm->console_lock, f);
}

/* ---- the end of a VM -------------------------------------------------------- */

static const char *const end_reason_name[] = {
	[VM_END_NONE] = "running",
	[VM_END_EXIT_PORT] = "wrote the exit port",
	[VM_END_HYPERCALL] = "exit hypercall",
	[VM_END_TRIPLE_FAULT] = "triple fault",
	[VM_END_UNHANDLED] = "unhandled exit",
	[VM_END_OUT_OF_RANGE] = "memory access out of range",
	[VM_END_HALTED] = "halted",
	[VM_END_BAD_STATE] = "invalid guest state",
	[VM_END_POWER_OFF] = "powered off",
	[VM_END_REBOOT] = "reboot",
	[VM_END_WATCHDOG] = "watchdog",
	[VM_END_DESTROYED] = "destroyed",
	[VM_END_RESTART] = "restart",
};

const char *vm_end_reason_name(enum vm_end_reason why)
{
	return (unsigned)why < ARRAY_SIZE(end_reason_name) && end_reason_name[why] ?
	       end_reason_name[why] : "?";
}

void vm_end(struct vm *vm, enum vm_end_reason why, int status, const char *fmt, ...)
{
	va_list ap;
	uint64_t f = spin_lock_irqsave(&vm->lock);

	if (vm->ended) {
		spin_unlock_irqrestore(&vm->lock, f);
		return;
	}
	vm->end_reason = why;
	vm->status = status;
	vm->end_tsc = rdtsc();
	va_start(ap, fmt);
	kvsnprintf(vm->end_detail, sizeof(vm->end_detail), fmt, ap);
	va_end(ap);
	__atomic_store_n(&vm->ended, true, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&vm->lock, f);
	/* Make every other vCPU of the VM leave the guest and notice. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		smp_kick(vm->vcpu[i].pcpu);
}

void vm_report(struct vm *vm)
{
	char stats[256];
	size_t n = 0;
	uint64_t us = (vm->end_tsc - vm->start_tsc) * 1000 / tsc_khz;

	vuart_flush(&vm->uart);
	uint64_t f = spin_lock_irqsave(&vm->console_lock);
	if (vm->hc_len) {
		vm_console_line(vm, vm->hc_line, vm->hc_len);
		vm->hc_len = 0;
	}
	spin_unlock_irqrestore(&vm->console_lock, f);
	stats[0] = '\0';
	for (int k = 0; k < NR_EXIT_KINDS; k++) {
		if (!vm->exits[k] || n >= sizeof(stats))
			continue;
		n += ksnprintf(stats + n, sizeof(stats) - n, "%s%s %llu", n ? ", " : "",
			       exit_kind_name[k], (unsigned long long)vm->exits[k]);
	}
	char cpus[200];
	size_t m = 0;
	cpus[0] = '\0';
	for (unsigned i = 0; i < vm->nr_vcpus && m < sizeof(cpus); i++) {
		const struct vcpu *v = &vm->vcpu[i];
		m += ksnprintf(cpus + m, sizeof(cpus) - m, "%svcpu%u cpus 0x%llx run %llu ms wait %llu ms",
			       i ? ", " : "", i, (unsigned long long)v->ran_on,
			       (unsigned long long)(v->run_ns / 1000000),
			       (unsigned long long)(v->wait_ns / 1000000));
	}
	for (unsigned i = 0; vm->cfg && vm->cfg->exclusive && i < vm->nr_vcpus && m < sizeof(cpus); i++)
		m += ksnprintf(cpus + m, sizeof(cpus) - m, "%sinterference %llu", i ? " " : "; ",
			       (unsigned long long)vm->vcpu[i].interference);
	char dropped[64] = "";
	if (vm->con_dropped)
		ksnprintf(dropped, sizeof(dropped), "; console output dropped %llu bytes",
			  (unsigned long long)vm->con_dropped);
	pr_info("kasane: VM '%s' ended: %s (%s); status %d; ran %llu.%03llu s; exits: %s; %s%s\n",
		vm->name, end_reason_name[vm->end_reason], vm->end_detail, vm->status,
		(unsigned long long)(us / 1000000), (unsigned long long)(us / 1000 % 1000),
		n ? stats : "none", cpus, dropped);
}

/*
 * The hypervisor's watchdog (config key watchdog): a running OS takes
 * timer interrupts, even a tickless idle one within seconds; a guest that
 * took none for the whole period has stopped (a kernel panic spins or
 * halts with interrupts off).  Interrupts injected into any vCPU are the
 * sign of life.  Called by vCPU 0's CPU with its timers; returns when to
 * look again.
 */
uint64_t vm_watchdog(struct vm *vm, uint64_t host_now_ns)
{
	uint64_t period = vm->cfg->watchdog_ns, intrs = 0;

	if (!period || vm->ended)
		return NO_DEADLINE;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		intrs += __atomic_load_n(&vm->vcpu[i].intrs, __ATOMIC_RELAXED);
	if (intrs != vm->wd_intrs || !vm->wd_since_ns) {
		vm->wd_intrs = intrs;
		vm->wd_since_ns = host_now_ns;
	} else if (host_now_ns > vm->wd_since_ns && host_now_ns - vm->wd_since_ns >= period) {
		/* (Two CPUs may look with clocks read in either order: a "now"
		 * before the start of the period is not a period gone.) */
		vm_end(vm, VM_END_WATCHDOG, -1, "no interrupt taken for %llu s",
		       (unsigned long long)(period / 1000000000ULL));
		return NO_DEADLINE;
	}
	return vm->wd_since_ns + period;
}

void vm_check_all_halted(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		bool stuck = (v->state == VCPU_HALTED && !(v->hw.regs.rflags & RFLAGS_IF)) ||
			     v->state == VCPU_WAIT_SIPI;
		if (!stuck || v->events)
			return;
	}
	/* Only an NMI or INIT could wake them, and nothing sends one. */
	vm_end(vm, VM_END_HALTED, 0, "every vCPU halted with interrupts disabled");
}

void vm_dump_vcpus(const char *const state_name[])
{
	for (unsigned i = 0; i < nr_vms; i++) {
		struct vm *vm = vms[i];
		if (vm->ended)
			continue;
		pr_info("  VM '%s' (weight %u):\n", vm->name, vm->weight);
		for (unsigned j = 0; j < vm->nr_vcpus; j++) {
			struct vcpu *v = &vm->vcpu[j];
			pr_info("    vCPU %u on CPU %u%s: %-9s run %llu ms, wait %llu ms, %llu exits, %llu migrations\n",
				j, v->pcpu, v->exclusive ? " (exclusive)" : "", state_name[v->state],
				(unsigned long long)(v->run_ns / 1000000),
				(unsigned long long)(v->wait_ns / 1000000),
				(unsigned long long)v->nr_exits, (unsigned long long)v->migrations);
		}
	}
}

int vm_summary(void)
{
	int worst = 0;

	if (!nr_vms)
		return 0;
	pr_info("kasane: summary of %u VM%s:\n", nr_vms, nr_vms > 1 ? "s" : "");
	for (unsigned i = 0; i < nr_vms; i++) {
		struct vm *vm = vms[i];
		pr_info("  %-16s status %-4d %s\n", vm->name, vm->status, end_reason_name[vm->end_reason]);
		if (vm->status != 0)
			worst = 1;
	}
	return worst;
}

/*
 * A nested-page fault at gpa: true if gpa is RAM of a nested-paged VM,
 * whose chunk is now zeroed and mapped, so the guest retries the access;
 * false if gpa is not RAM (device memory: the caller emulates it or ends
 * the VM).  RAM is mapped with every access allowed, so its only nested
 * faults are first touches of demand-zero chunks, this vCPU's or one that
 * another vCPU of the VM mapped a moment ago (npt_set_access then changes
 * nothing, and the retry succeeds).
 */
bool vm_ram_fault(struct vm *vm, gpa_t gpa)
{
	gpa_t at;
	uint64_t len;

	if (vm->shadow || !gmem_prepare(&vm->mem, gpa, 1, &at, &len))
		return false;
	npt_set_access(&vm->npt, at, len, true);
	return true;
}
