/* After boot: run the VMs, report, and end the run. */
#include "core/hv.h"
#include "kernel/log.h"
#include "core/shutdown.h"
#include "kernel/panic.h"

void vm_boot_all(const struct boot_info *bi);
int vm_summary(void);

void hv_main(const struct boot_info *bi)
{
	vm_boot_all(bi);
	int status = vm_summary();
	pr_info("kasane: all VMs ended, status %d\n", status);
	hv_shutdown(status ? HV_EXIT_FAIL : HV_EXIT_OK);
}
