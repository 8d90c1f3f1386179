/*
 * Creating a VM, one named step at a time: the VM itself, its RAM and
 * nested page tables, its board (devices and firmware tables), its kernel,
 * and its vCPUs in their boot state.  A step that fails says why in one
 * line; the VM is then not started and everything it had is given back.
 */
#include "core/vm_create.h"
#include "core/vm.h"
#include "core/virt.h"
#include "core/board.h"
#include "core/modules.h"
#include "core/sched.h"
#include "core/snapshot.h"
#include "core/clock.h"
#include "core/vcpu.h"
#include "core/cmdline.h"
#include "core/shadow.h"
#include "kernel/log.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86_defs.h"
#include "guest-loader/loader.h"
#include "mm/mm.h"
#include "lib/printf.h"
#include "lib/string.h"

_Static_assert(CONFIG_MAX_CPUS == MAX_CPUS, "config and hypervisor CPU limits differ");

static struct config_set configs;
/* The first CMOS byte after the clock's registers A-D (MC146818A data sheet). */
#define CMOS_NVRAM_FIRST 0x0e

static const struct boot_info *boot_info;      /* the modules VMs are (re)built from */
/* Held while a VM is rebuilt in place, and by whoever types into a VM's
 * devices from outside its vCPUs (vm_console_rx). */
static spinlock_t rebuild_lock;

/* ---- step: RAM ------------------------------------------------------------ */

/*
 * Guest-physical RAM as the board lays it out (core/board.h), backed by one
 * contiguous host block, so 2 MiB nested pages can be used.
 *
 * The block still holds whatever another guest or the hypervisor left
 * there, and a guest must never see that.  It is zeroed on demand, one
 * 2 MiB chunk at a time (mm/guest_mem.h): the nested page tables map every
 * chunk not-present until it is zeroed, so the guest's first touch of a
 * chunk exits (vm_ram_fault in core/vm.c), and every access of the
 * hypervisor's own goes through gmem, which zeroes first.  A VM's creation
 * thus costs nothing for RAM its guest never touches (a Linux boot touches
 * a small part of its RAM), where zeroing all of it up front took seconds
 * under TCG.  Shadow-paged VMs reach their RAM only through gmem.
 */
static int vm_alloc_ram(struct vm *vm, uint64_t bytes, char *err, size_t errlen)
{
	uint64_t pages = bytes / PAGE_SIZE;
	hpa_t hpa = page_alloc(pages, LARGE_PAGE_SIZE);

	if (!hpa)
		hpa = page_alloc(pages, PAGE_SIZE);
	if (!hpa)
		return errf(err, errlen, "no %llu MiB of contiguous free memory for its RAM",
			    (unsigned long long)(bytes / MiB));
	vm->ram_hpa = hpa;
	vm->ram_pages = pages;

	uint64_t low = MIN(bytes, BOARD_LOW_RAM_MAX), high = bytes - low;
	vm->ram_chunks = kmalloc(GMEM_CHUNKS(low) + GMEM_CHUNKS(high) + 1);
	if (!vm->ram_chunks)
		return errf(err, errlen, "out of memory for its RAM's state");
	if (!npt_init(&vm->npt, virt->paging_format) ||
	    !npt_map(&vm->npt, 0, hpa, low) ||
	    (high && !npt_map(&vm->npt, BOARD_HIGH_RAM_BASE, hpa + low, high)))
		return errf(err, errlen, "out of memory for its nested page tables");
	/* Before the VM has ever run: nothing can hold these translations. */
	npt_set_access(&vm->npt, 0, low, false);
	gmem_add(&vm->mem, 0, low, hpa_to_hva(hpa));
	gmem_set_lazy(&vm->mem, 0, vm->ram_chunks);
	if (high) {
		npt_set_access(&vm->npt, BOARD_HIGH_RAM_BASE, high, false);
		gmem_add(&vm->mem, BOARD_HIGH_RAM_BASE, high, hpa_to_hva(hpa + low));
		gmem_set_lazy(&vm->mem, BOARD_HIGH_RAM_BASE, vm->ram_chunks + GMEM_CHUNKS(low));
	}
	return 0;
}

/* ---- step: the kernel ------------------------------------------------------- */

static int vm_load_kernel(struct vm *vm, const struct boot_info *bi, struct x86_vcpu_state *st,
			  const char **format, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	const struct boot_module *kmod = module_find(bi, cfg->kernel);
	struct gl_module mods[VM_MAX_MODULES];
	struct gl_mmap_entry mmap[BOARD_MAX_MMAP];
	struct gl_result res;

	if (!kmod)
		return errf(err, errlen, "kernel image %s is not a boot module", cfg->kernel);
	for (int i = 0; i < cfg->nr_modules; i++) {
		const struct boot_module *m = module_find(bi, cfg->module[i].path);
		if (!m)
			return errf(err, errlen, "module %s is not a boot module",
				    cfg->module[i].path);
		mods[i] = (struct gl_module){ hpa_to_hva(m->start), m->end - m->start,
					      cfg->module[i].args };
	}
	struct gl_input in = {
		.img = hpa_to_hva(kmod->start), .img_len = kmod->end - kmod->start,
		.cmdline = cfg->cmdline, .mods = mods, .nr_mods = cfg->nr_modules,
		.mmap = mmap, .nr_mmap = board_guest_mmap(vm, mmap), .loader_name = "kasane",
	};
	if (cfg->initrd[0]) {
		const struct boot_module *m = module_find(bi, cfg->initrd);
		if (!m)
			return errf(err, errlen, "initrd %s is not a boot module", cfg->initrd);
		in.initrd = hpa_to_hva(m->start);
		in.initrd_len = m->end - m->start;
	}
	char why[160];
	if (gl_load(&vm->mem, &in, &res, why, sizeof(why)) < 0)
		return errf(err, errlen, "kernel %s: %s", cfg->kernel, why);
	*format = res.format;
	*st = res.boot;         /* the boot protocol's entry state (guest-loader/) */
	return 0;
}

/* ---- step: disks ---------------------------------------------------------------- */

/*
 * Each disk is a boot module, used in place: boot modules are reserved for
 * kasane's life (mm/mm.c), so a disk's writes outlive a restart of its VM.
 */
static int vm_find_disks(struct vm *vm, const struct boot_info *bi, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	for (int i = 0; i < cfg->nr_disks && i < VM_MAX_DISKS; i++) {
		const struct vm_disk_cfg *d = &cfg->disk[i];
		const struct boot_module *m = module_find(bi, d->path);
		if (!m)
			return errf(err, errlen, "%s: disk %s is not a boot module", d->src, d->path);
		uint64_t size = m->end - m->start;
		if (size == 0 || size % VIRTIO_BLK_SECTOR)
			return errf(err, errlen, "%s: disk %s is %llu bytes (expected a whole number "
				    "of %u-byte sectors)", d->src, d->path, (unsigned long long)size,
				    VIRTIO_BLK_SECTOR);
		vm->disk_img[i].data = hpa_to_hva(m->start);
		vm->disk_img[i].size = size;
	}
	return 0;
}

/* ---- step: vCPUs --------------------------------------------------------------- */

/* vCPU 0 starts at the kernel's entry; the others wait for INIT and STARTUP. */
static int vm_create_vcpus(struct vm *vm, const struct x86_vcpu_state *boot,
			   char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		v->vm = vm;
		v->id = i;
		v->pcpu = cfg->cpu[i];
		v->affinity = cfg->affinity[i];
		v->exclusive = cfg->exclusive;
		v->state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
		v->wait_sipi = i != 0;
		msr_state_init(&v->msr, msr_guest_cpu());  /* as firmware leaves them */
		v->hw.vm_id = vm->id;
		v->hw.vcpu_id = i;
		v->hw.paging_root = vm->npt.root;
		v->hw.tsc_offset = vm->tsc_offset;
		v->hw.shadow = vm->shadow;
		v->hw.mem = &vm->mem;
		if (vm->shadow && !shadow_vcpu_init(v))
			return errf(err, errlen, "no memory for vCPU %u's shadow paging", i);
		if (!virt->vcpu_init(&v->hw) || !board_vcpu_init(v) || !fpu_state_init(&v->fpu))
			return errf(err, errlen, "cannot set up vCPU %u", i);
		if (i == 0)
			virt->set_state(&v->hw, boot);
		else
			vcpu_load_reset_state(v);
	}
	return 0;
}

/* ---- a VM ------------------------------------------------------------------------ */

extern struct hv_options hv_opts;

/*
 * selftest=bad-entry: the first VM's boot CS gets D/B set next to L, a
 * state no kernel format produces and that the CPU must refuse on entry
 * in long mode (Intel SDM vol. 3C §26.3.1.2; AMD APM vol. 2 §15.5.1).
 * The test suite checks that this ends only that VM, with the reason.
 */
static void selftest_bad_entry(unsigned id, struct x86_vcpu_state *boot)
{
	if (hv_opts.selftest == HV_SELFTEST_BAD_ENTRY && id == 0 &&
	    (boot->sregs.seg[SEG_CS].attr & SEG_ATTR_L)) {
		boot->sregs.seg[SEG_CS].attr |= SEG_ATTR_DB;
		pr_info("kasane: selftest: VM 0's boot CS has both L and D/B set\n");
	}
}

void vm_destroy(struct vm *vm)
{
	board_net_free(vm);
	if (vm->shadow && vm->vcpu[0].shadow)
		shadow_report(vm);
	snapshot_drop_vm(vm);   /* a restart too: the snapshots were of the VM as it ran */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		shadow_vcpu_free(&vm->vcpu[i]);
		if (vm->vcpu[i].hw.vendor)
			virt->vcpu_free(&vm->vcpu[i].hw);
		fpu_state_free(&vm->vcpu[i].fpu);
	}
	if (vm->npt.root)
		npt_destroy(&vm->npt);
	if (vm->ram_hpa)
		page_free(vm->ram_hpa, vm->ram_pages);
	vm->ram_hpa = 0;
	kfree(vm->ram_chunks);
	vm->ram_chunks = NULL;
}

static void vm_log_created(const struct vm *vm, const char *format, uint64_t entry)
{
	char cpus[80];
	size_t n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus && n < sizeof(cpus); i++)
		n += ksnprintf(cpus + n, sizeof(cpus) - n, "%s%u", i ? "," : "", vm->vcpu[i].pcpu);
	pr_info("kasane: VM '%s': %s kernel %s, entry 0x%llx, %llu MiB RAM, %u vCPU%s on CPU %s\n",
		vm->name, format, vm->cfg->kernel, (unsigned long long)entry,
		(unsigned long long)(vm->cfg->mem / MiB), vm->nr_vcpus,
		vm->nr_vcpus > 1 ? "s" : "", cpus);
}

/*
 * Build vm, which holds zeros, in its named steps.  On failure err says
 * why and everything the VM had is given back.
 */
static int vm_build(struct vm *vm, unsigned id, const struct vm_config *cfg,
		    const struct boot_info *bi, char *err, size_t errlen)
{
	struct x86_vcpu_state boot;
	const char *format = "";

	vm->id = id;
	vm->cfg = cfg;
	strlcpy(vm->name, cfg->name, sizeof(vm->name));
	vm->nr_vcpus = cfg->nr_vcpus;
	vm->tsc_offset = -(int64_t)rdtsc();
	vm->start_ns = clock_now_ns();
	vm->weight = cfg->weight ? cfg->weight : SCHED_WEIGHT_DEFAULT;
	if (shadow_choose(vm, err, errlen) < 0 ||
	    vm_alloc_ram(vm, cfg->mem, err, errlen) < 0 ||
	    vm_find_disks(vm, bi, err, errlen) < 0 ||
	    board_create(vm, err, errlen) < 0 ||
	    vm_load_kernel(vm, bi, &boot, &format, err, errlen) < 0 ||
	    (selftest_bad_entry(id, &boot), vm_create_vcpus(vm, &boot, err, errlen) < 0)) {
		vm_destroy(vm);
		board_free(vm);
		return -1;
	}
	vm_log_created(vm, format, boot.regs.rip);
	return 0;
}

static struct vm *vm_create(unsigned id, const struct vm_config *cfg, const struct boot_info *bi)
{
	char err[200];
	struct vm *vm = kzalloc(sizeof(*vm));

	if (!vm) {
		pr_err("kasane: VM '%s' (%s): out of memory\n", cfg->name, cfg->src);
		return NULL;
	}
	if (vm_build(vm, id, cfg, bi, err, sizeof(err)) < 0) {
		pr_err("kasane: VM '%s' (%s) not started: %s\n", cfg->name, cfg->src, err);
		kfree(vm);
		return NULL;
	}
	return vm;
}

/* ---- every VM ------------------------------------------------------------------- */

static void config_report(void *ctx, const char *msg)
{
	pr_err("kasane: %s\n", msg);
}

static bool module_exists(void *ctx, const char *path)
{
	return module_find(ctx, path) != NULL;
}

/* Only CPUs where virtualization came up can run vCPUs. */
static bool vm_fit_usable_cpus(struct vm_config *cfg, uint64_t usable)
{
	for (int j = 0; j < cfg->nr_vcpus; j++) {
		cfg->affinity[j] &= usable;
		if (!cfg->affinity[j]) {
			pr_err("kasane: VM '%s' (%s) not started: none of vCPU %d's CPUs can run VMs\n",
			       cfg->name, cfg->src, j);
			return false;
		}
		if (!(cfg->affinity[j] & (1ULL << cfg->cpu[j])))
			cfg->cpu[j] = __builtin_ctzll(cfg->affinity[j]);
	}
	return true;
}

static void vm_start(struct vm *vm)
{
	vm->vcpus_running = vm->nr_vcpus;
	vm->start_tsc = rdtsc();
	for (unsigned j = 0; j < vm->nr_vcpus; j++) {
		if (vm->vcpu[j].exclusive)
			sched_set_exclusive(vm->vcpu[j].pcpu);
		sched_add(&vm->vcpu[j]);
	}
}

/*
 * A reset of the guest's machine (ACPI reset register, keyboard controller
 * pulse) with on_reboot = restart: the VM starts again as at power-on, from
 * its kernel, with fresh RAM, devices and vCPUs and a TSC from zero.  Its
 * vCPUs have all stopped and left the run queues, so nothing else holds
 * them; the VM keeps its place in the registry.
 */
bool vm_restart(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	unsigned id = vm->id, boots = vm->boots + 1;
	char err[200];
	uint64_t f = spin_lock_irqsave(&rebuild_lock);

	/* CMOS RAM past the clock registers is battery-backed: a reset keeps
	 * what the guest stored there (the clock itself keeps running). */
	uint8_t nvram[VRTC_CMOS_SIZE - CMOS_NVRAM_FIRST];
	memcpy(nvram, vm->rtc.cmos + CMOS_NVRAM_FIRST, sizeof(nvram));

	vm_destroy(vm);
	board_free(vm);
	memset(vm, 0, sizeof(*vm));
	vm->boots = boots;
	if (vm_build(vm, id, cfg, boot_info, err, sizeof(err)) < 0) {
		/* Report it as the end of the VM, as its last boot left it. */
		strlcpy(vm->name, cfg->name, sizeof(vm->name));
		vm->cfg = cfg;
		vm->id = id;
		vm->ended = true;
		vm->end_reason = VM_END_REBOOT;
		vm->status = -1;
		ksnprintf(vm->end_detail, sizeof(vm->end_detail), "cannot restart: %s", err);
		spin_unlock_irqrestore(&rebuild_lock, f);
		return false;
	}
	memcpy(vm->rtc.cmos + CMOS_NVRAM_FIRST, nvram, sizeof(nvram));
	/* Queued before the console may look: its pause parks queued vCPUs. */
	vm_start(vm);
	spin_unlock_irqrestore(&rebuild_lock, f);
	return true;
}

bool vm_start_again(struct vm *vm)
{
	/* Counted first, so that the run does not end meanwhile. */
	vm_mark_started(vm);
	if (vm_restart(vm))
		return true;
	vm_mark_finished(vm);
	return false;
}

uint64_t vm_rebuild_lock(void)
{
	return spin_lock_irqsave(&rebuild_lock);
}

void vm_rebuild_unlock(uint64_t flags)
{
	spin_unlock_irqrestore(&rebuild_lock, flags);
}

bool vm_console_rx(struct vm *vm, uint8_t c)
{
	uint64_t f = spin_lock_irqsave(&rebuild_lock);
	/* A VM that ended drops the byte: nobody reads its line any more. */
	bool taken = vm->ended || board_console_rx(vm, c);
	spin_unlock_irqrestore(&rebuild_lock, f);
	return taken;
}

unsigned vm_create_all(const struct boot_info *bi, const char *config_path)
{
	boot_info = bi;
	modules_gather_configs(bi, config_path, &configs, config_report);
	struct machine_facts facts = {
		.nr_cpus = nr_cpus_online,
		/* Keep some memory for the hypervisor: page tables, vCPU state, heap. */
		.free_bytes = mm_free_bytes() > 64 * MiB ? mm_free_bytes() - 64 * MiB : 0,
		.module_exists = module_exists,
		.ctx = (void *)bi,
	};
	config_validate(&configs, &facts, config_report, NULL);

	uint64_t usable = virt_usable_cpus();
	for (int i = 0; i < configs.nr; i++) {
		struct vm_config *cfg = &configs.vm[i];
		if (!vm_fit_usable_cpus(cfg, usable))
			continue;
		struct vm *vm = vm_create(vm_count(), cfg, bi);
		if (vm && !vm_register(vm)) {
			vm_destroy(vm);
			board_free(vm);
			kfree(vm);
		}
	}
	/* Start them together, so none runs before the last is built. */
	for (unsigned i = 0; i < vm_count(); i++)
		vm_start(vm_at(i));
	return vm_count();
}
