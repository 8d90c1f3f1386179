/*
 * VM configuration, second half: the checks of a parsed config_set against
 * the machine, and where each vCPU starts.  The order of the checks is
 * described at config_validate() in core/config.h.  Pure logic: also built
 * into the host unit tests.
 */
#include "core/config.h"
#include "lib/string.h"
#include "lib/printf.h"

struct check {
	struct config_set *set;
	const struct machine_facts *m;
	config_report_fn report;
	void *ctx;
	unsigned nr_cpus;               /* at most CONFIG_MAX_CPUS */
	uint64_t online;
	uint64_t excl;                  /* CPUs held by the exclusive VMs kept so far */
	int owner[CONFIG_MAX_CPUS];     /* which VM holds each CPU of excl */
	bool ok[MAX_VMS];
	int errors;                     /* of the VM being checked */
};

static void __attribute__((format(printf, 3, 4)))
note(const struct check *c, int i, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	int n;

	n = ksnprintf(msg, sizeof(msg), "%s: ", c->set->vm[i].src);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	va_start(ap, fmt);
	kvsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	kstr_oneline(msg);      /* a path may hold a CR (found by test/fuzz/fuzz_config.c) */
	if (c->report)
		c->report(c->ctx, msg);
}

#define vm_err(c, i, ...) ((c)->errors++, note((c), (i), __VA_ARGS__))

/* Drop VM i if the check just made found errors. */
static void verdict(struct check *c, int i)
{
	if (c->errors == 0)
		return;
	note(c, i, "VM '%s' dropped (%d error%s)", c->set->vm[i].name, c->errors,
	     c->errors == 1 ? "" : "s");
	c->ok[i] = false;
	c->errors = 0;
}

/* "1-3,6", or "none"; cut short if buf is too small. */
static void cpuset_format(char *buf, size_t size, uint64_t set)
{
	size_t n = 0;

	ksnprintf(buf, size, "none");
	for (unsigned lo = 0; lo < CONFIG_MAX_CPUS; lo++) {
		unsigned hi = lo;
		int w;

		if (!(set & CPUSET_BIT(lo)))
			continue;
		while (hi + 1 < CONFIG_MAX_CPUS && (set & CPUSET_BIT(hi + 1)))
			hi++;
		if (hi == lo)
			w = ksnprintf(buf + n, size - n, "%s%u", n ? "," : "", lo);
		else
			w = ksnprintf(buf + n, size - n, "%s%u-%u", n ? "," : "", lo, hi);
		if (w < 0 || (size_t)w >= size - n)
			return;
		n += (size_t)w;
		lo = hi;
	}
}

static bool cpuset_single(uint64_t set)
{
	return set && (set & (set - 1)) == 0;
}

/* 1: what VM i asks for by itself: vCPUs, weight, images, pinned CPUs online. */
static void check_own(struct check *c, int i)
{
	const struct vm_config *vm = &c->set->vm[i];
	const struct machine_facts *m = c->m;
	char online[200];

	if (vm->nr_vcpus < 1 || vm->nr_vcpus > VM_MAX_VCPUS) {
		vm_err(c, i, "VM '%s': %d vCPUs (expected 1-%d)", vm->name, vm->nr_vcpus, VM_MAX_VCPUS);
		return;
	}
	if (vm->weight < 1 || vm->weight > VM_WEIGHT_MAX)
		vm_err(c, i, "VM '%s': weight %u (expected 1-%d)", vm->name, vm->weight, VM_WEIGHT_MAX);
	if (m->module_exists) {
		if (!m->module_exists(m->ctx, vm->kernel))
			vm_err(c, i, "VM '%s': kernel image '%s' is not among the boot modules", vm->name, vm->kernel);
		for (int j = 0; j < vm->nr_modules && j < VM_MAX_MODULES; j++)
			if (!m->module_exists(m->ctx, vm->module[j].path))
				vm_err(c, i, "VM '%s': module '%s' is not among the boot modules",
				       vm->name, vm->module[j].path);
		if (vm->initrd[0] && !m->module_exists(m->ctx, vm->initrd))
			vm_err(c, i, "VM '%s': initrd '%s' is not among the boot modules",
			       vm->name, vm->initrd);
	}
	cpuset_format(online, sizeof(online), c->online);
	for (int j = 0; j < vm->nr_vcpus; j++) {
		int cpu = vm->cpu[j];

		if (cpu == VM_CPU_ANY && vm->exclusive) {
			vm_err(c, i, "VM '%s': exclusive needs one CPU per vCPU (e.g. cpu = 2 3)", vm->name);
			return;
		}
		if (cpu != VM_CPU_ANY && (cpu < 0 || (unsigned)cpu >= c->nr_cpus))
			vm_err(c, i, "VM '%s': cpu %d does not exist (CPUs online: %s)", vm->name, cpu, online);
	}
}

/* 2: exclusive VM i takes its CPUs, unless held already or the last ones. */
static void check_exclusive(struct check *c, int i)
{
	const struct vm_config *vm = &c->set->vm[i];
	uint64_t own = 0;
	int last = VM_CPU_ANY;

	for (int j = 0; j < vm->nr_vcpus; j++) {
		int cpu = vm->cpu[j];
		const struct vm_config *o;

		if ((c->excl | own) & CPUSET_BIT(cpu)) {
			o = own & CPUSET_BIT(cpu) ? vm : &c->set->vm[c->owner[cpu]];
			vm_err(c, i, "VM '%s': cpu %d is exclusive to VM '%s' (%s)", vm->name, cpu, o->name, o->src);
			continue;
		}
		own |= CPUSET_BIT(cpu);
		if (last == VM_CPU_ANY && ((c->excl | own) & c->online) == c->online)
			last = cpu;
	}
	if (c->errors == 0 && last != VM_CPU_ANY)
		vm_err(c, i, "VM '%s': CPU %d is the last CPU for the hypervisor's own work "
		       "(expected at least one CPU that no VM holds exclusively)", vm->name, last);
	if (c->errors)
		return;
	c->excl |= own;
	for (int j = 0; j < vm->nr_vcpus; j++)
		c->owner[vm->cpu[j]] = i;
}

/* The CPUs vCPU j of VM i may run on, after the exclusive VMs' claims; 0 if none (reported). */
static uint64_t vcpu_cpus(struct check *c, int i, int j)
{
	const struct vm_config *vm = &c->set->vm[i];
	const struct vm_config *o;
	int cpu = vm->cpu[j];
	uint64_t want, set;
	char cpus[200], online[200];

	if (vm->exclusive)
		return CPUSET_BIT(cpu);
	if (cpu != VM_CPU_ANY) {
		if (!(c->excl & CPUSET_BIT(cpu)))
			return CPUSET_BIT(cpu);
		o = &c->set->vm[c->owner[cpu]];
		vm_err(c, i, "VM '%s': cpu %d is exclusive to VM '%s' (%s)", vm->name, cpu, o->name, o->src);
		return 0;
	}
	want = vm->affinity[j];
	set = want & c->online & ~c->excl;
	if (set)
		return set;
	cpuset_format(online, sizeof(online), c->online);
	if (!c->online) {
		vm_err(c, i, "VM '%s': no CPU left for vCPU %d: no CPU is online", vm->name, j);
	} else if (!(want & c->online)) {
		cpuset_format(cpus, sizeof(cpus), want);
		vm_err(c, i, "VM '%s': no CPU left for vCPU %d: CPU%s %s do%s not exist (CPUs online: %s)",
		       vm->name, j, cpuset_single(want) ? "" : "s", cpus, cpuset_single(want) ? "es" : "",
		       online);
	} else if (cpuset_single(want & c->online)) {
		for (cpu = 0; !(want & c->online & CPUSET_BIT(cpu)); cpu++)
			;
		o = &c->set->vm[c->owner[cpu]];
		vm_err(c, i, "VM '%s': no CPU left for vCPU %d: CPU %d is exclusive to VM '%s' (%s)",
		       vm->name, j, cpu, o->name, o->src);
	} else {
		cpuset_format(cpus, sizeof(cpus), want & c->online);
		vm_err(c, i, "VM '%s': no CPU left for vCPU %d: CPUs %s are exclusive to other VMs",
		       vm->name, j, cpus);
	}
	return 0;
}

/* 4: VM i's memory, from what the VMs before it left. */
static void check_memory(struct check *c, int i, uint64_t used)
{
	const struct vm_config *vm = &c->set->vm[i];
	uint64_t left = c->m->free_bytes > used ? c->m->free_bytes - used : 0;

	if (vm->mem <= left)
		return;
	if (IS_ALIGNED(vm->mem, MiB))
		vm_err(c, i, "VM '%s' needs %llu MiB but only %llu MiB remain", vm->name,
		       (unsigned long long)(vm->mem / MiB), (unsigned long long)(left / MiB));
	else
		vm_err(c, i, "VM '%s' needs %llu KiB but only %llu MiB remain", vm->name,
		       (unsigned long long)(vm->mem / KiB), (unsigned long long)(left / MiB));
}

/* The least-loaded CPU of set (non-empty, online): ties go to the lowest number, CPU 0 last. */
static int cpu_least_loaded(const struct check *c, uint64_t set, const unsigned *load)
{
	int best = VM_CPU_ANY;

	for (unsigned t = 1; t <= c->nr_cpus; t++) {
		int cpu = (int)(t % c->nr_cpus);

		if ((set & CPUSET_BIT(cpu)) && (best == VM_CPU_ANY || load[cpu] < load[best]))
			best = cpu;
	}
	return best;
}

/*
 * Final sets in affinity[] for the VMs kept, now that the exclusive claims
 * of VMs dropped for memory are gone (sets only grow: no new errors), and
 * a starting CPU for each vCPU that is not pinned.
 */
static void place(struct check *c)
{
	struct config_set *set = c->set;
	unsigned load[CONFIG_MAX_CPUS] = { 0 };

	c->excl = 0;
	for (int i = 0; i < set->nr; i++)
		for (int j = 0; c->ok[i] && set->vm[i].exclusive && j < set->vm[i].nr_vcpus; j++)
			c->excl |= CPUSET_BIT(set->vm[i].cpu[j]);
	for (int i = 0; i < set->nr; i++) {
		uint64_t cpus[VM_MAX_VCPUS];
		struct vm_config *vm = &set->vm[i];

		for (int j = 0; c->ok[i] && j < vm->nr_vcpus; j++)
			cpus[j] = vcpu_cpus(c, i, j);
		verdict(c, i);
		for (int j = 0; c->ok[i] && j < vm->nr_vcpus; j++) {
			vm->affinity[j] = cpus[j];
			if (vm->cpu[j] != VM_CPU_ANY)
				load[vm->cpu[j]]++;
		}
	}
	for (int i = 0; i < set->nr; i++) {
		struct vm_config *vm = &set->vm[i];

		for (int j = 0; c->ok[i] && j < vm->nr_vcpus; j++) {
			if (vm->cpu[j] != VM_CPU_ANY)
				continue;
			vm->cpu[j] = cpu_least_loaded(c, vm->affinity[j], load);
			load[vm->cpu[j]]++;
		}
	}
}

void config_validate(struct config_set *set, const struct machine_facts *m,
		     config_report_fn report, void *ctx)
{
	struct check c = {
		.set = set, .m = m, .report = report, .ctx = ctx,
		.nr_cpus = MIN(m->nr_cpus, CONFIG_MAX_CPUS),
	};
	uint64_t used = 0;
	int n = 0;

	if (set->nr < 0 || set->nr > MAX_VMS)
		set->nr = 0;
	c.online = c.nr_cpus == CONFIG_MAX_CPUS ? CPUSET_ALL : CPUSET_BIT(c.nr_cpus) - 1;
	for (int i = 0; i < set->nr; i++) {
		c.ok[i] = true;
		check_own(&c, i);
		verdict(&c, i);
	}
	for (int i = 0; i < set->nr; i++) {
		if (c.ok[i] && set->vm[i].exclusive) {
			check_exclusive(&c, i);
			verdict(&c, i);
		}
	}
	for (int i = 0; i < set->nr; i++) {
		for (int j = 0; c.ok[i] && !set->vm[i].exclusive && j < set->vm[i].nr_vcpus; j++)
			vcpu_cpus(&c, i, j);
		verdict(&c, i);
	}
	for (int i = 0; i < set->nr; i++) {
		if (!c.ok[i])
			continue;
		check_memory(&c, i, used);
		if (c.errors == 0)
			used += set->vm[i].mem;
		verdict(&c, i);
	}
	place(&c);
	for (int i = 0; i < set->nr; i++) {
		if (!c.ok[i])
			continue;
		if (i != n)
			set->vm[n] = set->vm[i];
		n++;
	}
	set->nr = n;
}
