/* Speculative-execution mitigations between guests and kasane; see spec.h. */
#include "arch/x86/spec.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/percpu.h"
#include "kernel/log.h"
#include "lib/printf.h"
#include "lib/types.h"
#include "lib/string.h"

#define MSR_SPEC_CTRL           0x48
#define MSR_PRED_CMD            0x49
#define MSR_ARCH_CAPABILITIES   0x10a
#define MSR_FLUSH_CMD           0x10b

#define SPEC_CTRL_IBRS          (1ull << 0)
#define SPEC_CTRL_STIBP         (1ull << 1)
#define SPEC_CTRL_SSBD          (1ull << 2)

/* CPUID.(7,0):EDX (SDM vol. 2A CPUID, Table 3-8). */
#define L7_MD_CLEAR             (1u << 10)
#define L7_IBRS_IBPB            (1u << 26)
#define L7_STIBP                (1u << 27)
#define L7_L1D_FLUSH            (1u << 28)
#define L7_ARCH_CAP             (1u << 29)
#define L7_SSBD                 (1u << 31)
/* CPUID 0x80000008 EBX and 0x80000021 EAX (AMD APM vol. 3 E.4.7, E.4.17). */
#define E8_IBPB                 (1u << 12)
#define E8_IBRS                 (1u << 14)
#define E8_STIBP                (1u << 15)
#define E8_SSBD                 (1u << 24)
#define E21_IBPB_BRTYPE         (1u << 28)
#define E21_SRSO_NO             (1u << 29)
/* IA32_ARCH_CAPABILITIES (SDM vol. 4 Table 2-2). */
#define ARCH_CAP_RDCL_NO        (1ull << 0)
#define ARCH_CAP_IBRS_ALL       (1ull << 1)
#define ARCH_CAP_SKIP_L1DFL     (1ull << 3)
#define ARCH_CAP_MDS_NO         (1ull << 5)
#define ARCH_CAP_TAA_NO         (1ull << 8)

struct spec_policy spec;
static struct spec_cpu spec_host;
static unsigned last_vm[MAX_CPUS];      /* VM id + 1 last run on each CPU */

void spec_decide(const struct spec_cpu *c, struct spec_policy *p)
{
	uint32_t d = c->l7_edx, b = c->amd ? c->e8_ebx : 0;
	bool ibpb = (d & L7_IBRS_IBPB) || (b & E8_IBPB);

	memset(p, 0, sizeof(*p));
	p->ibpb_switch = ibpb;
	p->spec_ctrl_bits = (((d & L7_IBRS_IBPB) || (b & E8_IBRS)) ? SPEC_CTRL_IBRS : 0) |
			    (((d & L7_STIBP) || (b & E8_STIBP)) ? SPEC_CTRL_STIBP : 0) |
			    (((d & L7_SSBD) || (b & E8_SSBD)) ? SPEC_CTRL_SSBD : 0);
	/* Enhanced IBRS: set once, it protects kasane from guest-trained
	 * predictions for good (Intel, "Indirect Branch Restricted
	 * Speculation", enhanced IBRS). */
	if (c->intel && (c->arch_cap & ARCH_CAP_IBRS_ALL) && (p->spec_ctrl_bits & SPEC_CTRL_IBRS))
		p->host_spec_ctrl = SPEC_CTRL_IBRS;
	if (c->intel) {
		bool mds = !(c->arch_cap & ARCH_CAP_MDS_NO) || !(c->arch_cap & ARCH_CAP_TAA_NO);
		p->verw = mds && (d & L7_MD_CLEAR);
		bool l1tf = c->vmx && !(c->arch_cap & ARCH_CAP_RDCL_NO) &&
			    !(c->arch_cap & ARCH_CAP_SKIP_L1DFL);
		p->l1d_flush = l1tf && (d & L7_L1D_FLUSH);
		p->l1tf_unmitigated = l1tf && !(d & L7_L1D_FLUSH);
	}
	/* Zen 1/2 (family 17h: Retbleed; IBPB also flushes return
	 * predictions there) and Zen 3/4 (19h: SRSO, with microcode that sets
	 * IBPB_BRTYPE) unless the CPU reports SRSO_NO. */
	if (c->amd && ibpb && !(c->e21_eax & E21_SRSO_NO) &&
	    (c->family == 0x17 || (c->family == 0x19 && (c->e21_eax & E21_IBPB_BRTYPE))))
		p->ibpb_exit = true;
}

void spec_describe(const struct spec_cpu *c, const struct spec_policy *p, char *buf, size_t n)
{
	const char *exit_why = !c->amd ? "not AMD" :
			       (c->e21_eax & E21_SRSO_NO) ? "SRSO_NO" :
			       (c->family != 0x17 && c->family != 0x19) ? "family not affected" :
			       !p->ibpb_switch ? "no IBPB: NOT MITIGATED" :
			       !p->ibpb_exit ? "no IBPB_BRTYPE microcode: NOT MITIGATED" : "";
	const char *verw_why = !c->intel ? "not Intel" :
			       ((c->arch_cap & ARCH_CAP_MDS_NO) && (c->arch_cap & ARCH_CAP_TAA_NO)) ?
			       "MDS_NO and TAA_NO" : !(c->l7_edx & L7_MD_CLEAR) ?
			       "no MD_CLEAR: NOT MITIGATED" : "";
	const char *l1d_why = !c->intel ? "not Intel" : !c->vmx ? "not VT-x" :
			      (c->arch_cap & ARCH_CAP_RDCL_NO) ? "RDCL_NO" :
			      (c->arch_cap & ARCH_CAP_SKIP_L1DFL) ? "SKIP_L1DFL_VMENTRY" :
			      p->l1tf_unmitigated ? "no L1D_FLUSH: NOT MITIGATED" : "";

	size_t at = 0;
#define PUT(...) (at += (size_t)ksnprintf(buf + MIN(at, n), n - MIN(at, n), __VA_ARGS__))
	PUT("IBPB on VM switch %s", p->ibpb_switch ? "on" : "off (no IBPB)");
	if (p->spec_ctrl_bits)
		PUT(", SPEC_CTRL per vCPU on (%s%s%s%s)",
		    p->spec_ctrl_bits & SPEC_CTRL_IBRS ? "IBRS " : "",
		    p->spec_ctrl_bits & SPEC_CTRL_STIBP ? "STIBP " : "",
		    p->spec_ctrl_bits & SPEC_CTRL_SSBD ? "SSBD " : "",
		    p->host_spec_ctrl ? "kasane keeps eIBRS" : "kasane's 0");
	else
		PUT(", SPEC_CTRL per vCPU off (no SPEC_CTRL)");
	PUT(", RSB filled on every exit");
	PUT(", VERW before entry %s%s%s", p->verw ? "on" : "off (", p->verw ? "" : verw_why,
	    p->verw ? "" : ")");
	PUT(", L1D flush before entry %s%s%s", p->l1d_flush ? "on" : "off (",
	    p->l1d_flush ? "" : l1d_why, p->l1d_flush ? "" : ")");
	PUT(", IBPB on exit %s%s%s", p->ibpb_exit ? "on (SRSO/Retbleed)" : "off (",
	    p->ibpb_exit ? "" : exit_why, p->ibpb_exit ? "" : ")");
#undef PUT
}

void spec_init(bool vmx)
{
	struct spec_cpu *c = &spec_host;
	struct cpuid_regs r0 = cpuid(0, 0), r1 = cpuid(1, 0);
	char line[400];

	memset(c, 0, sizeof(*c));
	c->intel = r0.ebx == 0x756e6547;        /* "Genu" */
	c->amd = r0.ebx == 0x68747541;          /* "Auth" */
	c->family = ((r1.eax >> 8) & 0xf) + (((r1.eax >> 8) & 0xf) == 0xf ? (r1.eax >> 20) & 0xff : 0);
	c->vmx = vmx;
	if (r0.eax >= 7)
		c->l7_edx = cpuid(7, 0).edx;
	uint32_t emax = cpuid(0x80000000, 0).eax;
	if (emax >= 0x80000008)
		c->e8_ebx = cpuid(0x80000008, 0).ebx;
	if (emax >= 0x80000021)
		c->e21_eax = cpuid(0x80000021, 0).eax;
	if (c->l7_edx & L7_ARCH_CAP)
		c->arch_cap = rdmsr(MSR_ARCH_CAPABILITIES);
	spec_decide(c, &spec);
	spec_describe(c, &spec, line, sizeof(line));
	pr_info("kasane: speculation: %s\n", line);
}

void spec_switch_vm(unsigned cpu, unsigned vm_id)
{
	if (cpu >= MAX_CPUS || last_vm[cpu] == vm_id + 1)
		return;
	if (!last_vm[cpu] && spec.host_spec_ctrl)
		wrmsr(MSR_SPEC_CTRL, spec.host_spec_ctrl);      /* this CPU's first guest */
	last_vm[cpu] = vm_id + 1;
	/* Predictions another VM trained on this CPU do not reach this one. */
	if (spec.ibpb_switch && !spec.ibpb_exit)
		wrmsr(MSR_PRED_CMD, 1);
}

void spec_guest_enter(uint64_t guest_spec_ctrl)
{
	uint64_t g = guest_spec_ctrl & spec.spec_ctrl_bits;

	if (spec.spec_ctrl_bits && g != spec.host_spec_ctrl)
		wrmsr(MSR_SPEC_CTRL, g);
	if (spec.l1d_flush) {
		wrmsr(MSR_FLUSH_CMD, 1);        /* the flush clears the buffers too */
	} else if (spec.verw) {
		/* The memory form with a writable data selector (Intel MDS
		 * guidance, "VERW ... MD_CLEAR"). */
		static const uint16_t sel = SEL_DATA;
		__asm__ volatile("verw %0" : : "m"(sel) : "cc");
	}
}

void spec_guest_exit(uint64_t guest_spec_ctrl)
{
	uint64_t g = guest_spec_ctrl & spec.spec_ctrl_bits;

	if (spec.spec_ctrl_bits && g != spec.host_spec_ctrl)
		wrmsr(MSR_SPEC_CTRL, spec.host_spec_ctrl);
	if (spec.ibpb_exit)
		wrmsr(MSR_PRED_CMD, 1);
}
