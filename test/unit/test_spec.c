/*
 * Host tests for arch/x86/spec.c: the speculation mitigations decided for
 * recorded CPUs, each as its vendor's guidance asks, and nothing where
 * the CPU reports itself unaffected; the boot line that says why.
 */
#include "test/unit/check.h"
#include "arch/x86/spec.h"
#include "arch/x86/percpu.h"

uint64_t rdmsr(uint32_t msr) { return 0; }
uint64_t last_msr, last_val;
unsigned nr_wrmsr;
void wrmsr(uint32_t msr, uint64_t v) { last_msr = msr; last_val = v; nr_wrmsr++; }
uint64_t rdtsc(void) { return 0; }
struct percpu percpu[MAX_CPUS];
struct percpu *this_cpu(void) { return &percpu[0]; }

#define B(n)  (1u << (n))
/* CPUID.(7,0):EDX of a Skylake with its microcode: MD_CLEAR, IBRS/IBPB,
 * STIBP, L1D_FLUSH, ARCH_CAPABILITIES, SSBD. */
#define SKL_L7  (B(10) | B(26) | B(27) | B(28) | B(29) | B(31))

static const struct spec_cpu skylake = { .intel = true, .family = 6, .l7_edx = SKL_L7,
					 .vmx = true, .arch_cap = 0 };
/* Cascade Lake: RDCL_NO, IBRS_ALL, SKIP_L1DFL_VMENTRY, MDS_NO, TAA_NO. */
static const struct spec_cpu cascade = { .intel = true, .family = 6, .l7_edx = SKL_L7,
					 .vmx = true, .arch_cap = 0x12b };
/* AMD 0x80000008 EBX: IBPB 12, IBRS 14, STIBP 15, SSBD 24. */
#define ZEN_E8  (B(12) | B(14) | B(15) | B(24))
static const struct spec_cpu zen2 = { .amd = true, .family = 0x17, .e8_ebx = ZEN_E8 };
static const struct spec_cpu zen3 = { .amd = true, .family = 0x19, .e8_ebx = ZEN_E8,
				      .e21_eax = B(28) };         /* IBPB_BRTYPE */
static const struct spec_cpu zen3_old = { .amd = true, .family = 0x19, .e8_ebx = ZEN_E8 };
static const struct spec_cpu zen5 = { .amd = true, .family = 0x1a, .e8_ebx = ZEN_E8,
				      .e21_eax = B(29) };         /* SRSO_NO */
/* QEMU TCG's AMD model: no speculation controls at all. */
static const struct spec_cpu tcg = { .amd = true, .family = 0xf };

static struct spec_policy decide(const struct spec_cpu *c)
{
	struct spec_policy p;
	spec_decide(c, &p);
	return p;
}

static char line[400];

static const char *describe(const struct spec_cpu *c)
{
	struct spec_policy p = decide(c);
	spec_describe(c, &p, line, sizeof(line));
	return line;
}

TEST(intel_affected)
{
	struct spec_policy p = decide(&skylake);
	CHECK(p.ibpb_switch);
	CHECK_EQ(p.spec_ctrl_bits, 7);
	CHECK_EQ(p.host_spec_ctrl, 0);
	CHECK(p.verw);
	CHECK(p.l1d_flush);
	CHECK(!p.ibpb_exit);
	CHECK(strstr(describe(&skylake), "L1D flush before entry on"));
	/* No L1D_FLUSH in CPUID: affected and said so. */
	struct spec_cpu old = skylake;
	old.l7_edx &= ~B(28);
	CHECK(decide(&old).l1tf_unmitigated);
	CHECK(strstr(describe(&old), "L1D flush before entry off (no L1D_FLUSH: NOT MITIGATED)"));
	/* L1TF matters for VT-x guests only. */
	old = skylake;
	old.vmx = false;
	CHECK(!decide(&old).l1d_flush);
}

TEST(intel_not_affected)
{
	struct spec_policy p = decide(&cascade);
	CHECK(!p.verw);
	CHECK(!p.l1d_flush);
	CHECK(!p.l1tf_unmitigated);
	CHECK_EQ(p.host_spec_ctrl, 1);          /* eIBRS, set once */
	CHECK(p.ibpb_switch);
	CHECK(strstr(describe(&cascade), "VERW before entry off (MDS_NO and TAA_NO)"));
	CHECK(strstr(describe(&cascade), "L1D flush before entry off (RDCL_NO)"));
	CHECK(strstr(describe(&cascade), "kasane keeps eIBRS"));
}

TEST(amd_srso_retbleed)
{
	CHECK(decide(&zen2).ibpb_exit);
	CHECK(decide(&zen3).ibpb_exit);
	CHECK(!decide(&zen3_old).ibpb_exit);
	CHECK(strstr(describe(&zen3_old), "IBPB on exit off (no IBPB_BRTYPE microcode: NOT MITIGATED)"));
	CHECK(!decide(&zen5).ibpb_exit);
	struct spec_cpu zen4 = zen3;            /* a Zen 4 part that reports SRSO_NO */
	zen4.e21_eax |= B(29);
	CHECK(!decide(&zen4).ibpb_exit);
	CHECK(strstr(describe(&zen5), "IBPB on exit off (SRSO_NO)"));
	CHECK(!decide(&zen2).verw && !decide(&zen2).l1d_flush);
	CHECK_EQ(decide(&zen2).spec_ctrl_bits, 7);
	CHECK(strstr(describe(&zen2), "VERW before entry off (not Intel)"));
}

TEST(nothing_to_do)
{
	struct spec_policy p = decide(&tcg);
	CHECK(!p.ibpb_switch && !p.ibpb_exit && !p.verw && !p.l1d_flush);
	CHECK_EQ(p.spec_ctrl_bits, 0);
	CHECK_STR(describe(&tcg), "IBPB on VM switch off (no IBPB), SPEC_CTRL per vCPU off "
		  "(no SPEC_CTRL), RSB filled on every exit, VERW before entry off (not Intel), "
		  "L1D flush before entry off (not Intel), IBPB on exit off (family not affected)");
}

TEST(runtime_switching)
{
	/* The guest's SPEC_CTRL, masked by what the CPU has, goes in at entry
	 * and kasane's comes back at exit; nothing is written when equal. */
	spec_decide(&zen2, &spec);
	spec.spec_ctrl_bits = 5;                /* IBRS and SSBD only */
	nr_wrmsr = 0;
	spec_guest_enter(0);
	spec_guest_exit(0);
	CHECK_EQ(nr_wrmsr, 1);                  /* only zen2's IBPB on exit */
	CHECK_EQ(last_msr, 0x49);
	nr_wrmsr = 0;
	spec_guest_enter(7);
	CHECK_EQ(last_msr, 0x48);
	CHECK_EQ(last_val, 5);
	spec_guest_exit(7);
	CHECK_EQ(nr_wrmsr, 3);
	/* IBPB when CPU 1 changes VM, not when it runs the same VM again; with
	 * IBPB on every exit already, none. */
	spec_decide(&skylake, &spec);
	nr_wrmsr = 0;
	spec_switch_vm(1, 4);
	CHECK_EQ(nr_wrmsr, 1);
	CHECK_EQ(last_msr, 0x49);
	spec_switch_vm(1, 4);
	CHECK_EQ(nr_wrmsr, 1);
	spec_switch_vm(1, 5);
	CHECK_EQ(nr_wrmsr, 2);
	spec_switch_vm(1, 4);
	CHECK_EQ(nr_wrmsr, 3);
}

int main(void)
{
	check_start("spec");
	RUN(intel_affected);
	RUN(intel_not_affected);
	RUN(amd_srso_retbleed);
	RUN(nothing_to_do);
	RUN(runtime_switching);
	return check_finish();
}
