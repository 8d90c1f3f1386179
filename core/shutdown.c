/* Stopping CPUs and ending the run; see shutdown.h. */
#include "core/shutdown.h"
#include "core/cmdline.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "drivers/console.h"
#include "drivers/power.h"

extern volatile bool cpus_stopping;
extern struct hv_options hv_opts;

void stop_other_cpus(void)
{
	cpus_stopping = true;
	if (nr_cpus_online > 1)
		lapic_send_ipi(0, ICR_NMI | ICR_ALL_BUT_SELF);
	udelay(10000);
}

void hv_shutdown(int status)
{
	irq_disable();
	platform_qemu_exit(status);
	platform_bochs_exit();
	switch (hv_opts.onexit) {
	case HV_ONEXIT_REBOOT:
		platform_reset();
		break;
	case HV_ONEXIT_POWEROFF:
		platform_poweroff();
		printk(LOG_WARN, "kasane: ACPI power-off failed; halting\n");
		break;
	default:
		break;
	}
	printk(LOG_INFO, "kasane: halted\n");
	cpu_halt_forever();
}

static unsigned panic_cpu_id(void)
{
	return this_cpu() ? this_cpu()->id : 0;
}

static void panic_stop_world(void)
{
	irq_disable();
	stop_other_cpus();
	console_panic_mode();
}

static __noreturn void panic_halt(void)
{
	cpu_halt_forever();
}

static const struct panic_ops hv_panic_ops = {
	.cpu_id = panic_cpu_id,
	.stop_world = panic_stop_world,
	.backtrace = backtrace_from,
	.halt = panic_halt,
	.shutdown = hv_shutdown,
};

void shutdown_init(void)
{
	panic_set_ops(&hv_panic_ops);
}
