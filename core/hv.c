/*
 * After boot: bind the virtualization back end, create the VMs, run them
 * on every CPU until they have all ended, report, and end the run.
 */
#include "core/hv.h"
#include "core/cmdline.h"
#include "core/run.h"
#include "core/vcpu.h"
#include "core/virt.h"
#include "core/vm.h"
#include "core/vm_create.h"
#include "core/shutdown.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "arch/x86/smp.h"

extern struct hv_options hv_opts;

void hv_main(const struct boot_info *bi)
{
	if (virt_init()) {
		vcpu_timer_init();
		/* The other CPUs wait in their run loops for vCPUs to arrive. */
		ap_idle_hook = run_loop;
		if (vm_create_all(bi, hv_opts.config)) {
			/* The boot CPU runs vCPUs too, until every VM has ended. */
			run_loop();
		} else {
			pr_info("kasane: no VMs to run\n");
		}
	}
	int status = vm_summary();
	pr_info("kasane: all VMs ended, status %d\n", status);
	hv_shutdown(status ? HV_EXIT_FAIL : HV_EXIT_OK);
}
