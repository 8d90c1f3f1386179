/* After boot: the VMs.  Until VMs exist, the run ends here. */
#include "core/hv.h"
#include "core/console.h"
#include "core/panic.h"

void hv_main(const struct boot_info *bi)
{
	pr_info("kasane: no VMs configured\n");
	pr_info("kasane: all VMs ended, status 0\n");
	hv_shutdown(HV_EXIT_OK);
}
