/*
 * kasane's boot sequence on the boot CPU: console, boot information,
 * command line, memory, page tables, ACPI, per-CPU set-up, the other
 * CPUs, and then the VMs.
 */
#include "boot/boot.h"
#include "arch/x86/x86_defs.h"
#include "boot/bootinfo.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/harden.h"
#include "arch/x86/lapic.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/tsc_sync.h"
#include "arch/x86/trap.h"
#include "core/cmdline.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "core/hv.h"
#include "core/shutdown.h"
#include "drivers/console.h"
#include "drivers/acpi_boot.h"
#include "drivers/cmos.h"
#include "drivers/i8259.h"
#include "drivers/pit.h"
#include "mm/mm.h"
#include "lib/string.h"

#define MSR_GS_BASE 0xc0000101

struct hv_options hv_opts;
static struct boot_info boot_info;
static struct acpi_madt_info madt;

/* Boot strings are copied here before the allocator may reuse their pages. */
static char string_pool[16 * KiB];
static size_t string_used;
static uint8_t rsdp_copy[64];

static const char *keep_string(const char *s)
{
	size_t n = strnlen(s, CMDLINE_MAX) + 1;

	if (string_used + n > sizeof(string_pool))
		return "";
	memcpy(string_pool + string_used, s, n - 1);
	string_pool[string_used + n - 1] = '\0';
	string_used += n;
	return string_pool + string_used - n;
}

static void report_cmdline(void *ctx, const char *msg)
{
	pr_warn("kasane: %s\n", msg);
}

static const char *mmap_type(uint32_t t)
{
	switch (t) {
	case MMAP_RAM: return "usable";
	case MMAP_RESERVED: return "reserved";
	case MMAP_ACPI: return "ACPI reclaimable";
	case MMAP_NVS: return "ACPI NVS";
	case MMAP_BAD: return "bad memory";
	default: return "unknown";
	}
}

static void print_memory_map(const struct boot_info *bi)
{
	if (bi->firmware == BOOT_FW_UEFI && bi->efi_systab)
		pr_info("kasane: firmware: UEFI (EFI system table at 0x%llx)\n",
			(unsigned long long)bi->efi_systab);
	else
		pr_info("kasane: firmware: %s\n", bootinfo_firmware_name(bi));
	pr_info("kasane: memory map (Multiboot%d), from %s:\n", bi->protocol,
		bootinfo_mmap_source_name(bi));
	for (int i = 0; i < bi->nr_mmap; i++) {
		const struct boot_mmap *m = &bi->mmap[i];
		pr_info("  [0x%012llx-0x%012llx] %s\n", (unsigned long long)m->base,
			(unsigned long long)(m->base + m->len - 1), mmap_type(m->type));
	}
	if (bi->truncated)
		pr_warn("kasane: boot information has more entries than kept\n");
}

/* selftest=fault-*: deliberate hypervisor exceptions for the test suite. */
static void selftest_fault(void *arg)
{
	switch ((int)(uintptr_t)arg) {
	case HV_SELFTEST_FAULT_UD:
		__asm__ volatile("ud2");
		break;
	case HV_SELFTEST_FAULT_GP:
		wrmsr(0xdeadbeef, 0);   /* no such MSR */
		break;
	default:
		/* Page 0 is unmapped; the address is laundered so the
		 * compiler cannot see the NULL-page store. */
		uint64_t addr = 0x10;
		__asm__ volatile("" : "+r"(addr));
		*(volatile uint64_t *)addr = 0x5a;
		break;
	}
}

static void run_selftest(void)
{
	if (hv_opts.selftest == HV_SELFTEST_NONE || hv_opts.selftest == HV_SELFTEST_BAD_ENTRY)
		return;
	if (hv_opts.selftest == HV_SELFTEST_STACK_SMASH) {
		pr_info("kasane: selftest: overrunning a stack buffer\n");
		harden_selftest_smash();
		panic("selftest: the stack overrun went unnoticed");
	}
	pr_info("kasane: selftest: raising a deliberate exception\n");
	if (hv_opts.selftest == HV_SELFTEST_FAULT_AP && nr_cpus_online > 1) {
		unsigned target = nr_cpus_online - 1;
		smp_call(target, selftest_fault, (void *)(uintptr_t)HV_SELFTEST_FAULT_PF, false);
		for (;;)
			cpu_halt();
	}
	selftest_fault((void *)(uintptr_t)hv_opts.selftest);
}

/* What protects kasane from itself; a writable and executable page of
 * its own is a broken invariant. */
static void report_hardening(void)
{
	uint64_t cr4 = read_cr4(), first, wx = paging_count_wx(&first);

	pr_info("kasane: hardening: SMEP %s, SMAP %s, stack protector canary from %s, "
		"W^X: %llu writable and executable pages\n",
		cr4 & (1ULL << 20) ? "on" : "off (no CPU support)",
		cr4 & (1ULL << 21) ? "on" : "off (no CPU support)", harden_canary_source(),
		(unsigned long long)wx);
	if (wx)
		panic("W^X: hypervisor page 0x%llx is writable and executable",
		      (unsigned long long)first);
}

static __noreturn void kmain_on_stack(void *arg)
{
	bool have_madt = arg != NULL;

	irq_enable();
	if (have_madt) {
		static uint32_t apic_ids[ACPI_MAX_CPUS];
		unsigned n = 0;
		for (int i = 0; i < madt.nr_cpus && n < ARRAY_SIZE(apic_ids); i++)
			if (madt.cpu[i].enabled)
				apic_ids[n++] = madt.cpu[i].apic_id;
		smp_start_aps(apic_ids, n, hv_opts.smp_max);
	}
	pr_info("kasane: %u CPUs online\n", nr_cpus_online);
	if (tsc_sync_check())
		pr_info("kasane: TSCs synchronized across %u CPUs: guests are shown an invariant TSC\n",
			nr_cpus_online);
	else
		pr_warn("kasane: TSCs not synchronized across CPUs: guests are not shown an invariant TSC\n");
	run_selftest();
	hv_main(&boot_info);
}

void kmain(uint32_t magic, uint64_t info)
{
	struct percpu *bsp = &percpu[0];
	const char *why = "";

	harden_canary_init();           /* before any protected frame that returns */
	bsp->self = bsp;
	wrmsr(MSR_GS_BASE, (uintptr_t)bsp);
	shutdown_init();
	console_init(CONSOLE_COM1);
	idt_init();
	idt_load();
	i8259_disable();

	pr_info("\nkasane %s: bare-metal hypervisor for x86-64\n", KASANE_VERSION);
	if (!bootinfo_parse(magic, (const void *)(uintptr_t)info, &boot_info, &why)) {
		pr_err("kasane: %s; cannot continue\n", why);
		cpu_halt_forever();
	}
	/* Keep every string the loader gave us before memory is reused. */
	boot_info.cmdline = keep_string(boot_info.cmdline);
	boot_info.loader = keep_string(boot_info.loader);
	for (int i = 0; i < boot_info.nr_modules; i++)
		boot_info.module[i].cmdline = keep_string(boot_info.module[i].cmdline);
	if (boot_info.rsdp) {
		boot_info.rsdp_len = MIN(boot_info.rsdp_len, sizeof(rsdp_copy));
		memcpy(rsdp_copy, boot_info.rsdp, boot_info.rsdp_len);
		boot_info.rsdp = rsdp_copy;
	}

	cmdline_defaults(&hv_opts);
	cmdline_parse(boot_info.cmdline, &hv_opts, report_cmdline, NULL);
	console_set_loglevel(hv_opts.loglevel);
	/* A machine, UEFI ones especially, may have no COM port: then the
	 * hypervisor carries on with the console off. */
	enum console_dev con = hv_opts.console == HV_CONSOLE_COM2 ? CONSOLE_COM2 :
			       hv_opts.console == HV_CONSOLE_NONE ? CONSOLE_NONE : CONSOLE_COM1;
	if (!console_init(con))
		console_say_missing(con);
	pr_info("kasane: booted by %s (Multiboot%d), command line: %s\n",
		boot_info.loader, boot_info.protocol, boot_info.cmdline);

	print_memory_map(&boot_info);
	for (int i = 0; i < boot_info.nr_modules; i++)
		pr_info("kasane: module %d: 0x%llx-0x%llx '%s'\n", i,
			(unsigned long long)boot_info.module[i].start,
			(unsigned long long)boot_info.module[i].end, boot_info.module[i].cmdline);
	mm_poison = hv_opts.poison;
	mm_init(&boot_info);
	paging_init(&boot_info);
	pr_info("kasane: %llu MiB RAM, %llu MiB free, %d boot modules\n",
		(unsigned long long)(mm_total_bytes() / MiB),
		(unsigned long long)(mm_free_bytes() / MiB), boot_info.nr_modules);

	tsc_calibrate(pit_wait_us);
	cmos_read_time();
	pr_info("kasane: TSC %llu.%03llu MHz\n", (unsigned long long)(tsc_khz / 1000),
		(unsigned long long)(tsc_khz % 1000));

	bool have_madt = acpi_boot_init(&boot_info, &madt);
	bool need_x2apic = false;
	for (int i = 0; have_madt && i < madt.nr_cpus; i++)
		if (madt.cpu[i].apic_id > 254 && madt.cpu[i].enabled)
			need_x2apic = true;
	lapic_init_bsp(have_madt ? madt.lapic_addr : LAPIC_DEFAULT_BASE, need_x2apic);
	lapic_init_cpu();
	smp_init_bsp(lapic_id());
	report_hardening();

	extern void switch_stack(uint64_t top, void (*fn)(void *), void *arg) __noreturn;
	switch_stack(bsp->stack_top, kmain_on_stack, have_madt ? &madt : NULL);
}
