/* panic(), stopping CPUs, and ending the run; see panic.h. */
#include "core/panic.h"
#include "core/console.h"
#include "core/cmdline.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "drivers/platform.h"

extern volatile bool cpus_stopping;
extern struct hv_options hv_opts;

void cpu_halt_forever(void)
{
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void stop_other_cpus(void)
{
	cpus_stopping = true;
	if (nr_cpus_online > 1)
		lapic_send_ipi(0, ICR_NMI | ICR_ALL_BUT_SELF);
	udelay(10000);
}

static volatile uint32_t panic_owner = ~0u;

void panic(const char *fmt, ...)
{
	uint32_t none = ~0u;
	uint32_t me = this_cpu() ? this_cpu()->id : 0;
	char msg[256];
	va_list ap;

	irq_disable();
	if (!__atomic_compare_exchange_n(&panic_owner, &none, me, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		cpu_halt_forever();
	stop_other_cpus();
	console_panic_mode();
	va_start(ap, fmt);
	extern int kvsnprintf(char *, size_t, const char *, va_list);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk(LOG_ERROR, "kasane: PANIC on CPU %u: %s\n", me, msg);
	backtrace_from((uint64_t)__builtin_frame_address(0),
		       (uint64_t)__builtin_return_address(0));
	printk(LOG_ERROR, "kasane: all CPUs stopped\n");
	hv_shutdown(HV_EXIT_PANIC);
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
