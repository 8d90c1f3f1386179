/*
 * VMs from configuration to their end: guest RAM and nested page tables,
 * devices, the kernel image, boot state, one thread per vCPU on its
 * physical CPU, and the report when a VM ends.
 */
#include "core/vm.h"
#include "core/abi.h"
#include "core/cmdline.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "core/board.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/svm/svm.h"
#include "boot/boot.h"
#include "guest-loader/loader.h"
#include "mm/mm.h"
#include "lib/printf.h"
#include "lib/string.h"

#define LOW_RAM_MAX     (3 * GiB)       /* RAM above this goes above 4 GiB */
#define HIGH_RAM_BASE   (4 * GiB)

_Static_assert(CONFIG_MAX_CPUS == MAX_CPUS, "config and hypervisor CPU limits differ");

const struct virt_ops *virt;
bool virt_cpu_ok[MAX_CPUS];
extern struct hv_options hv_opts;

static struct config_set configs;
static struct vm *vms[MAX_VMS];
static unsigned nr_vms;
static volatile unsigned vms_running;
static const struct boot_info *boot;

/* ---- console -------------------------------------------------------------- */

void vm_console_line(struct vm *vm, const char *line, size_t len)
{
	char buf[VUART_LINE_MAX + 48];
	int n = ksnprintf(buf, sizeof(buf), "[%s] %.*s\n", vm->name, (int)len, line);

	console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

static void uart_line(void *ctx, const char *line, size_t len)
{
	vm_console_line(ctx, line, len);
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
};

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

static void vm_report(struct vm *vm)
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
	pr_info("kasane: VM '%s' ended: %s (%s); status %d; ran %llu.%03llu s; exits: %s; %s\n",
		vm->name, end_reason_name[vm->end_reason], vm->end_detail, vm->status,
		(unsigned long long)(us / 1000000), (unsigned long long)(us / 1000 % 1000),
		n ? stats : "none", cpus);
}

/* ---- devices ------------------------------------------------------------------ */

static int exit_port_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct vm *vm = dev;

	if (in) {
		*val = ~0u;
		return 0;
	}
	uint32_t v = *val & (bytes == 4 ? ~0u : bytes == 2 ? 0xffffu : 0xffu);
	vm_end(vm, VM_END_EXIT_PORT, (int)v, "guest wrote %u to port 0x%x", v, port);
	return 0;
}

/* COM1 with its interrupt line, ISA IRQ 4. */
static int uart_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	struct vm *vm = dev;
	int r = vuart_pio(&vm->uart, in, port, bytes, val);
	unsigned reg = port - GUEST_COM1_PORT;

	/* LCR and the scratch register cannot change the interrupt line
	 * (PC16550D data sheet, "Interrupt Identification Register"). */
	if (reg == UART_LCR || reg == UART_SCR)
		return r;
	/* Only a change of the line is news for the PIC and IOAPIC; the lock
	 * keeps two vCPUs from reporting changes out of order. */
	uint64_t f = spin_lock_irqsave(&vm->uart_irq_lock);
	bool irq = vuart_irq_pending(&vm->uart);
	if (irq != vm->uart_irq) {
		vm->uart_irq = irq;
		platform_set_isa_irq(vm, 4, irq);
	}
	spin_unlock_irqrestore(&vm->uart_irq_lock, f);
	return r;
}

static bool vm_add_devices(struct vm *vm, char *err, size_t errlen)
{
	iobus_init(&vm->bus);
	vuart_init(&vm->uart, GUEST_COM1_PORT, uart_line, vm);
	fwcfg_init(&vm->fwcfg, vm->mem.total, (uint16_t)vm->nr_vcpus);
	testmmio_init(&vm->testmmio, GUEST_TEST_MMIO_BASE);
	if (iobus_add_pio(&vm->bus, GUEST_COM1_PORT, VUART_NR_PORTS, uart_pio, vm) ||
	    iobus_add_pio(&vm->bus, GUEST_EXIT_PORT, 1, exit_port_pio, vm) ||
	    iobus_add_pio(&vm->bus, FW_CFG_PORT_SEL, 2, fwcfg_pio, &vm->fwcfg) ||
	    iobus_add_mmio(&vm->bus, GUEST_TEST_MMIO_BASE, GUEST_TEST_MMIO_SIZE,
			   testmmio_access, &vm->testmmio)) {
		ksnprintf(err, errlen, "cannot register its devices");
		return false;
	}
	return platform_init(vm, err, errlen);
}

/* ---- memory ---------------------------------------------------------------------- */

/*
 * Guest-physical layout: RAM from 0 up to 3 GiB, the rest from 4 GiB; the
 * gap holds device MMIO.  One contiguous host block backs all of it, so
 * 2 MiB nested pages can be used.
 */
static bool vm_alloc_ram(struct vm *vm, uint64_t bytes, char *err, size_t errlen)
{
	uint64_t pages = bytes / PAGE_SIZE;
	hpa_t hpa = page_alloc(pages, LARGE_PAGE_SIZE);

	if (!hpa)
		hpa = page_alloc(pages, PAGE_SIZE);
	if (!hpa) {
		ksnprintf(err, errlen, "no %llu MiB of contiguous free memory for its RAM",
			  (unsigned long long)(bytes / MiB));
		return false;
	}
	vm->ram_hpa = hpa;
	vm->ram_pages = pages;
	/* Never hand a guest what another guest or the hypervisor left there. */
	memset(hpa_to_hva(hpa), 0, bytes);

	uint64_t low = MIN(bytes, LOW_RAM_MAX), high = bytes - low;
	if (!npt_init(&vm->npt, NPT_FORMAT_AMD) ||
	    !npt_map(&vm->npt, 0, hpa, low) ||
	    (high && !npt_map(&vm->npt, HIGH_RAM_BASE, hpa + low, high))) {
		ksnprintf(err, errlen, "out of memory for its nested page tables");
		return false;
	}
	gmem_add(&vm->mem, 0, low, hpa_to_hva(hpa));
	if (high)
		gmem_add(&vm->mem, HIGH_RAM_BASE, high, hpa_to_hva(hpa + low));
	return true;
}

/* The memory map the guest is told about (E820 types). */
static int vm_guest_mmap(const struct vm *vm, struct gl_mmap_entry *m)
{
	uint64_t low = vm->mem.region[0].size;
	int n = 0;

	m[n++] = (struct gl_mmap_entry){ 0, MIN(low, 0x9fc00), 1 };
	if (low > 1 * MiB) {
		m[n++] = (struct gl_mmap_entry){ 0x9fc00, 0x100000 - 0x9fc00, 2 };
		m[n++] = (struct gl_mmap_entry){ 1 * MiB, low - 1 * MiB, 1 };
	}
	if (vm->mem.nr > 1)
		m[n++] = (struct gl_mmap_entry){ HIGH_RAM_BASE, vm->mem.region[1].size, 1 };
	return n;
}

/* ---- boot modules ---------------------------------------------------------------- */

/* A module's path: the first word of its command line, if it is one. */
static size_t module_path(const struct boot_module *m, char *buf, size_t len)
{
	const char *s = m->cmdline;
	size_t n = 0;

	if (s[0] != '/')
		return 0;
	while (s[n] && s[n] != ' ' && n + 1 < len) {
		buf[n] = s[n];
		n++;
	}
	buf[n] = '\0';
	return n;
}

static const struct boot_module *find_module(const char *path)
{
	char p[128];

	for (int i = 0; i < boot->nr_modules; i++) {
		if (module_path(&boot->module[i], p, sizeof(p)) && strcmp(p, path) == 0)
			return &boot->module[i];
		ksnprintf(p, sizeof(p), "module-%d", i);
		if (strcmp(p, path) == 0)
			return &boot->module[i];
	}
	return NULL;
}

static bool module_exists(void *ctx, const char *path)
{
	return find_module(path) != NULL;
}

/* A module's own arguments: its command line after the path. */
static const char *module_args(const struct boot_module *m)
{
	const char *s = m->cmdline;

	if (s[0] != '/')
		return s;
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

/* ---- creating a VM -------------------------------------------------------------------- */

static struct vm *vm_create(unsigned id, const struct vm_config *cfg)
{
	char err[200];
	struct vm *vm = kzalloc(sizeof(*vm));
	const struct boot_module *kmod = find_module(cfg->kernel);

	if (!vm) {
		pr_err("kasane: VM '%s' (%s): out of memory\n", cfg->name, cfg->src);
		return NULL;
	}
	vm->id = id;
	vm->cfg = cfg;
	strlcpy(vm->name, cfg->name, sizeof(vm->name));
	vm->nr_vcpus = cfg->nr_vcpus;
	vm->asid = id;          /* the back end maps it to a hardware ASID */
	vm->tsc_offset = -(int64_t)rdtsc();
	vm->start_ns = sched_now_ns();
	vm->weight = cfg->weight ? cfg->weight : SCHED_WEIGHT_DEFAULT;
	if (!kmod) {
		ksnprintf(err, sizeof(err), "kernel image %s is not a boot module", cfg->kernel);
		goto fail;
	}
	if (!vm_alloc_ram(vm, cfg->mem, err, sizeof(err)) || !vm_add_devices(vm, err, sizeof(err)))
		goto fail;

	struct gl_module mods[VM_MAX_MODULES];
	for (int i = 0; i < cfg->nr_modules; i++) {
		const struct boot_module *m = find_module(cfg->module[i].path);
		if (!m) {
			ksnprintf(err, sizeof(err), "module %s is not a boot module", cfg->module[i].path);
			goto fail;
		}
		mods[i] = (struct gl_module){ hpa_to_hva(m->start), m->end - m->start,
					      cfg->module[i].args };
	}
	struct gl_mmap_entry mmap[4];
	struct gl_input in = {
		.img = hpa_to_hva(kmod->start), .img_len = kmod->end - kmod->start,
		.cmdline = cfg->cmdline, .mods = mods, .nr_mods = cfg->nr_modules,
		.mmap = mmap, .nr_mmap = vm_guest_mmap(vm, mmap), .loader_name = "kasane",
	};
	struct gl_result res;
	if (gl_load(&vm->mem, &in, &res, err, sizeof(err)) < 0)
		goto fail;

	/* Adapter until the back ends take a struct x86_vcpu_state. */
	const struct x86_sregs *bs = &res.boot.sregs;
	struct vcpu_sregs sr = { .cr0 = bs->cr0, .cr3 = bs->cr3, .cr4 = bs->cr4, .efer = bs->efer };
	bool long_mode = bs->efer & EFER_LMA;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		v->vm = vm;
		v->id = i;
		v->pcpu = cfg->cpu[i];
		v->affinity = cfg->affinity[i];
		v->exclusive = cfg->exclusive;
		/* vCPU 0 starts at the kernel's entry; the others wait for a SIPI. */
		v->state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
		v->wait_sipi = i != 0;
		v->msr.mtrr_def_type = 0xc06;       /* MTRRs on, default WB */
		if (!virt->vcpu_init(v) || !platform_vcpu_init(v) || !fpu_state_init(&v->fpu)) {
			ksnprintf(err, sizeof(err), "cannot set up vCPU %u", i);
			goto fail;
		}
		virt->vcpu_set_state(v, &sr, long_mode, bs->gdt.base, bs->gdt.limit);
		v->regs = res.boot.regs;
	}
	char cpus[80];
	size_t n = 0;
	for (unsigned i = 0; i < vm->nr_vcpus && n < sizeof(cpus); i++)
		n += ksnprintf(cpus + n, sizeof(cpus) - n, "%s%u", i ? "," : "", vm->vcpu[i].pcpu);
	pr_info("kasane: VM '%s': %s kernel %s, entry 0x%llx, %llu MiB RAM, %u vCPU%s on CPU %s\n",
		vm->name, res.format, cfg->kernel, (unsigned long long)res.boot.regs.rip,
		(unsigned long long)(cfg->mem / MiB), vm->nr_vcpus, vm->nr_vcpus > 1 ? "s" : "",
		cpus);
	return vm;
fail:
	pr_err("kasane: VM '%s' (%s) not started: %s\n", cfg->name, cfg->src, err);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpu[i].vendor)
			virt->vcpu_free(&vm->vcpu[i]);
		fpu_state_free(&vm->vcpu[i].fpu);
	}
	platform_free(vm);
	if (vm->npt.root)
		npt_destroy(&vm->npt);
	if (vm->ram_hpa)
		page_free(vm->ram_hpa, vm->ram_pages);
	kfree(vm);
	return NULL;
}

/*
 * Give back what only the VM's own vCPUs used.  The device models stay
 * (struct vm is kept for the summary): another CPU may still be servicing
 * a timer of one of its vCPUs.
 */
static void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		virt->vcpu_free(&vm->vcpu[i]);
		fpu_state_free(&vm->vcpu[i].fpu);
	}
	npt_destroy(&vm->npt);
	page_free(vm->ram_hpa, vm->ram_pages);
	vm->ram_hpa = 0;
}

/* ---- running (core/sched.c runs the vCPUs) ------------------------------- */

bool vm_all_ended(void)
{
	return __atomic_load_n(&vms_running, __ATOMIC_ACQUIRE) == 0;
}

void vcpu_stop(struct vcpu *v)
{
	struct vm *vm = v->vm;

	v->state = VCPU_STOPPED;
	uint64_t f = spin_lock_irqsave(&vm->lock);
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		vm->exits[k] += v->exits[k];
	bool last = --vm->vcpus_running == 0;
	spin_unlock_irqrestore(&vm->lock, f);
	if (last) {
		vm_report(vm);
		vm_destroy(vm);
		__atomic_fetch_sub(&vms_running, 1, __ATOMIC_ACQ_REL);
		smp_kick(0);
	}
}

void vm_check_all_halted(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		bool stuck = (v->state == VCPU_HALTED && !(v->regs.rflags & RFLAGS_IF)) ||
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

static void ap_loop(void)
{
	sched_loop();
}

static void cpu_init_fn(void *arg)
{
	virt_cpu_ok[this_cpu_id()] = virt->cpu_init();
}

static void config_report(void *ctx, const char *msg)
{
	pr_err("kasane: %s\n", msg);
}

static bool is_config_module(const struct boot_module *m)
{
	char p[128];
	size_t n = module_path(m, p, sizeof(p));

	if (!n)
		return false;
	if (hv_opts.config[0])
		return strcmp(p, hv_opts.config) == 0;
	return n > 4 && strcmp(p + n - 4, ".cfg") == 0;
}

static void gather_configs(void)
{
	char line[CMDLINE_MAX + 32];

	for (int i = 0; i < boot->nr_modules; i++) {
		const struct boot_module *m = &boot->module[i];
		if (is_config_module(m)) {
			char p[128];
			module_path(m, p, sizeof(p));
			config_parse_file(&configs, p, hpa_to_hva(m->start), m->end - m->start,
					  config_report, NULL);
			continue;
		}
		/* VMs declared on a module's own line: module2 FILE [FILE] name=... */
		const char *args = module_args(m);
		if (m->cmdline[0] == '/')
			strlcpy(line, m->cmdline, sizeof(line));
		else
			ksnprintf(line, sizeof(line), "module-%d %s", i, args);
		config_parse_module_line(&configs, line, config_report, NULL);
	}
}

void vm_boot_all(const struct boot_info *bi)
{
	boot = bi;
	if (svm_supported()) {
		virt = &svm_ops;
	} else {
		pr_err("kasane: this CPU offers no AMD-V (SVM) with nested paging; no VMs can run\n");
		return;
	}
	pr_info("kasane: virtualization: %s\n", virt->name);
	vcpu_timer_init();
	for (unsigned c = 0; c < nr_cpus_present; c++)
		if (percpu[c].online)
			smp_call(c, cpu_init_fn, NULL, true);

	gather_configs();
	struct machine_facts facts = {
		.nr_cpus = nr_cpus_online,
		/* Keep some memory for the hypervisor: page tables, VMCBs, heap. */
		.free_bytes = mm_free_bytes() > 64 * MiB ? mm_free_bytes() - 64 * MiB : 0,
		.module_exists = module_exists,
	};
	config_validate(&configs, &facts, config_report, NULL);

	ap_idle_hook = ap_loop;
	for (int i = 0; i < configs.nr; i++) {
		const struct vm_config *cfg = &configs.vm[i];
		bool ok = true;
		uint64_t usable = 0;
		for (unsigned c = 0; c < MAX_CPUS; c++)
			if (virt_cpu_ok[c])
				usable |= 1ULL << c;
		for (int j = 0; j < cfg->nr_vcpus && ok; j++) {
			/* Only CPUs where virtualization came up can run vCPUs. */
			struct vm_config *w = &configs.vm[i];
			w->affinity[j] &= usable;
			if (!w->affinity[j]) {
				pr_err("kasane: VM '%s' (%s) not started: none of vCPU %d's CPUs can run VMs\n",
				       cfg->name, cfg->src, j);
				ok = false;
			} else if (!(w->affinity[j] & (1ULL << w->cpu[j]))) {
				w->cpu[j] = __builtin_ctzll(w->affinity[j]);
			}
		}
		struct vm *vm = ok ? vm_create(nr_vms, cfg) : NULL;
		if (vm)
			vms[nr_vms++] = vm;
	}
	if (!nr_vms) {
		pr_info("kasane: no VMs to run\n");
		return;
	}
	vms_running = nr_vms;
	for (unsigned i = 0; i < nr_vms; i++) {
		struct vm *vm = vms[i];
		vm->vcpus_running = vm->nr_vcpus;
		vm->start_tsc = rdtsc();
		for (unsigned j = 0; j < vm->nr_vcpus; j++) {
			if (vm->vcpu[j].exclusive)
				sched_set_exclusive(vm->vcpu[j].pcpu);
			sched_add(&vm->vcpu[j]);
		}
	}
	/* The boot CPU schedules vCPUs too, until every VM has ended. */
	sched_loop();
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
