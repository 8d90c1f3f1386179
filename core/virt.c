/* Binding the vendor back end; see virt.h. */
#include "core/virt.h"
#include "core/msr.h"
#include "arch/x86/smp.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/spec.h"
#include "kernel/log.h"

const struct virt_ops *virt;
bool virt_cpu_ok[MAX_CPUS];

/* In order of preference; a CPU offers at most one of them. */
static const struct virt_ops *const backends[] = {
	&svm_ops,
	&vmx_ops,
};

static void cpu_init_fn(void *arg)
{
	unsigned nr;
	const uint32_t *pass = msr_passthrough_list(&nr);

	virt_cpu_ok[this_cpu_id()] = virt->cpu_init(pass, nr);
}

bool virt_init(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends) && !virt; i++)
		if (backends[i]->probe())
			virt = backends[i];
	if (!virt) {
		pr_err("kasane: this CPU offers no hardware virtualization with nested paging "
		       "(AMD-V with NPT, or Intel VT-x with EPT and unrestricted guest); "
		       "no VMs can run\n");
		return false;
	}
	pr_info("kasane: virtualization: %s\n", virt->name);
	spec_init(virt == &vmx_ops);    /* logs what it turned on */
	for (unsigned c = 0; c < nr_cpus_present; c++)
		if (percpu[c].online)
			smp_call(c, cpu_init_fn, NULL, true);
	return true;
}

uint64_t virt_usable_cpus(void)
{
	uint64_t m = 0;

	for (unsigned c = 0; c < MAX_CPUS; c++)
		if (virt_cpu_ok[c])
			m |= 1ULL << c;
	return m;
}
