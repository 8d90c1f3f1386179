/*
 * Host tests for arch/x86/svm/vmcb_setup.c: the VMCB control area of a new
 * vCPU and the permission maps, which the isolation of the host from a
 * guest rests on and which no emulator shows wrong (without the SHUTDOWN
 * intercept a guest triple fault would reset the physical machine; QEMU
 * and Bochs just end the nested guest).  Also the packed segment
 * attributes.  AMD APM vol. 2 ch. 15 and Appendix B.
 */
#include "test/unit/check.h"
#include "arch/x86/svm/vmcb_setup.h"
#include "arch/x86/x86_defs.h"
#include "core/msr.h"
#include "core/board.h"
#include "core/vm.h"

/* core/msr.c is linked for msr_passthrough_list(); the rest of it is not
 * called here. */
const struct virt_ops *virt;
uint64_t rdtsc(void) { return 0; }
void wrmsr(uint32_t msr, uint64_t v) { }
bool board_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *gp) { return false; }
bool board_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *gp) { return false; }
bool pvclock_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val) { return false; }
bool pvclock_msr_write(struct vcpu *v, uint32_t msr, uint64_t val) { return false; }

#define IOPM_PA  0x123000ULL
#define MSRPM_PA 0x456000ULL

static struct vmcb_control new_control(unsigned vm_id, uint32_t nr_asids)
{
	struct virt_vcpu v = { .vm_id = vm_id, .vcpu_id = 1, .paging_root = 0x789000,
			       .tsc_offset = -12345 };
	struct vmcb_control c;

	memset(&c, 0, sizeof(c));
	svm_vmcb_control_init(&c, &v, IOPM_PA, MSRPM_PA, nr_asids);
	return c;
}

#define CHECK_BIT(word, bit) do {                                              \
	if (!((word) & (bit))) {                                               \
		printf("    %s:%d: %s not intercepted\n", __FILE__, __LINE__, #bit); \
		check_cur_failed = 1;                                          \
	}                                                                      \
} while (0)

/*
 * The intercepts the host's safety depends on.  What each one stops:
 * INTR, NMI: the guest keeping the physical CPU from the host's interrupts
 * (with V_INTR_MASKING below); SHUTDOWN: a triple fault resetting the whole
 * machine; IOIO_PROT, MSR_PROT: direct access to ports and MSRs (through
 * the maps); HLT: a vCPU sleeping on the physical CPU; INVD: dropping the
 * host's dirty cache lines; CPUID: the guest seeing the host's features
 * unfiltered; VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA: the
 * guest using SVM itself on host state (it has no SVM); VMMCALL: the
 * hypercalls; MONITOR, MWAIT: sleeping on the physical CPU; #DB, #AC:
 * the endless-delivery hangs of CVE-2015-8104 and CVE-2015-5307.
 */
TEST(intercepts_the_host_relies_on)
{
	struct vmcb_control c = new_control(1, 16);

	CHECK_BIT(c.intercept3, INTERCEPT_INTR);
	CHECK_BIT(c.intercept3, INTERCEPT_NMI);
	CHECK_BIT(c.intercept3, INTERCEPT_SHUTDOWN);
	CHECK_BIT(c.intercept3, INTERCEPT_IOIO_PROT);
	CHECK_BIT(c.intercept3, INTERCEPT_MSR_PROT);
	CHECK_BIT(c.intercept3, INTERCEPT_HLT);
	CHECK_BIT(c.intercept3, INTERCEPT_INVD);
	CHECK_BIT(c.intercept3, INTERCEPT_CPUID);
	CHECK_BIT(c.intercept3, INTERCEPT_INVLPGA);
	CHECK_BIT(c.intercept4, INTERCEPT_VMRUN);
	CHECK_BIT(c.intercept4, INTERCEPT_VMMCALL);
	CHECK_BIT(c.intercept4, INTERCEPT_VMLOAD);
	CHECK_BIT(c.intercept4, INTERCEPT_VMSAVE);
	CHECK_BIT(c.intercept4, INTERCEPT_STGI);
	CHECK_BIT(c.intercept4, INTERCEPT_CLGI);
	CHECK_BIT(c.intercept4, INTERCEPT_SKINIT);
	CHECK_BIT(c.intercept4, INTERCEPT_MONITOR);
	CHECK_BIT(c.intercept4, INTERCEPT_MWAIT);
	CHECK_BIT(c.intercept4, INTERCEPT_MWAIT_COND);
	CHECK_BIT(c.intercept_exceptions, 1u << X86_EXC_DB);
	CHECK_BIT(c.intercept_exceptions, 1u << X86_EXC_AC);
	/* No interrupt window asked for yet. */
	CHECK(!(c.intercept3 & INTERCEPT_VINTR));
	CHECK(!(c.vintr & V_IRQ));
}

TEST(nested_paging_and_interrupt_masking)
{
	struct vmcb_control c = new_control(1, 16);

	CHECK_EQ(c.np_enable & 1, 1);
	CHECK_EQ(c.n_cr3, 0x789000);
	/* V_INTR_MASKING: the host's RFLAGS.IF, not the guest's, masks
	 * physical interrupts while the guest runs (APM vol. 2 §15.21.1). */
	CHECK(c.vintr & V_INTR_MASKING);
	CHECK_EQ(c.iopm_base_pa, IOPM_PA);
	CHECK_EQ(c.msrpm_base_pa, MSRPM_PA);
	CHECK_EQ(c.tsc_offset, (uint64_t)-12345);
	CHECK_EQ(c.tlb_control, TLB_CONTROL_FLUSH_ALL);
}

/* ASID 0 is the host's (APM vol. 2 §15.16): no VM may get it. */
TEST(asid_never_zero)
{
	static const uint32_t counts[] = { 0, 1, 2, 3, 8, 16, 256, 32768, 65536 };
	unsigned bad = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(counts); i++) {
		uint32_t n = counts[i];
		for (unsigned id = 0; id < 70000; id += id < 300 ? 1 : 97) {
			uint32_t asid = new_control(id, n).asid;
			if (asid == 0 || (n > 1 && asid >= n)) {
				if (bad++ < 5)
					printf("    %u ASIDs, VM %u: ASID %u\n", n, id, asid);
			}
		}
	}
	CHECK_EQ(bad, 0);
	/* Different VMs get different ASIDs while there are enough. */
	CHECK(new_control(0, 16).asid != new_control(1, 16).asid);
}

/* The MSRPM bits of one MSR: read at bit 2k, write at 2k+1 (APM vol. 2
 * §15.11); -1 for an MSR outside the three ranges. */
static int msrpm_bits(const uint8_t *pm, uint32_t msr)
{
	uint32_t off;

	if (msr <= 0x1fff)
		off = msr;
	else if (msr - 0xc0000000u <= 0x1fff)
		off = 0x2000 + (msr - 0xc0000000u);
	else if (msr - 0xc0010000u <= 0x1fff)
		off = 0x4000 + (msr - 0xc0010000u);
	else
		return -1;
	return (pm[off * 2 / 8] >> (off * 2 % 8)) & 3;
}

static bool passed(uint32_t msr)
{
	unsigned nr;
	const uint32_t *pass = msr_passthrough_list(&nr);

	for (unsigned i = 0; i < nr; i++)
		if (pass[i] == msr)
			return true;
	return false;
}

static uint8_t iopm[SVM_IOPM_SIZE], msrpm[SVM_MSRPM_SIZE];

static void build_maps(void)
{
	unsigned nr;
	const uint32_t *pass = msr_passthrough_list(&nr);

	memset(iopm, 0, sizeof(iopm));
	memset(msrpm, 0, sizeof(msrpm));
	svm_permission_maps_init(iopm, msrpm, pass, nr);
}

TEST(iopm_intercepts_every_port)
{
	build_maps();
	unsigned clear = 0;
	for (size_t i = 0; i < sizeof(iopm); i++)
		clear += iopm[i] != 0xff;
	CHECK_EQ(clear, 0);
}

TEST(msrpm_intercepts_all_but_the_passthrough_list)
{
	static const uint32_t bases[] = { 0, 0xc0000000u, 0xc0010000u };
	unsigned wrong = 0, open = 0;

	build_maps();
	for (unsigned r = 0; r < 3; r++)
		for (uint32_t m = bases[r]; m <= bases[r] + 0x1fff; m++) {
			int want = passed(m) ? 0 : 3;
			int got = msrpm_bits(msrpm, m);
			open += got == 0;
			if (got != want && wrong++ < 5)
				printf("    MSR 0x%x: bits %d, want %d\n", m, got, want);
		}
	CHECK_EQ(wrong, 0);
	unsigned nr;
	msr_passthrough_list(&nr);
	CHECK_EQ(open, nr);
	/* The fourth 2 KiB of the map is reserved: all ones. */
	for (size_t i = 0x1800; i < sizeof(msrpm); i++)
		if (msrpm[i] != 0xff)
			wrong++;
	CHECK_EQ(wrong, 0);
	/* Some the host could be hurt through, by name. */
	static const uint32_t guarded[] = {
		MSR_EFER, 0xc0010114 /* VM_CR */, 0xc0010117 /* VM_HSAVE_PA */,
		0x1b /* APIC_BASE */, 0x10 /* TSC */, 0xc0000103 /* TSC_AUX */,
		0x48 /* SPEC_CTRL */, 0x49 /* PRED_CMD */, 0x6e0 /* TSC_DEADLINE */,
		0x830 /* x2APIC ICR */, 0x277 /* PAT */, 0x2ff /* MTRR_DEF_TYPE */,
	};
	for (unsigned i = 0; i < ARRAY_SIZE(guarded); i++)
		CHECK_EQ(msrpm_bits(msrpm, guarded[i]), 3);
}

/*
 * Only MSRs that VMLOAD/VMSAVE switch with the vCPU may pass (APM vol. 2
 * §15.5.2): STAR, LSTAR, CSTAR, SFMASK, FS/GS/KernelGS base, SYSENTER_*.
 * An MSR added to core/msr.c's list outside these would leak host state.
 */
TEST(passthrough_list_is_switched_state_only)
{
	static const uint32_t switched[] = {
		0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
		0xc0000100, 0xc0000101, 0xc0000102, 0x174, 0x175, 0x176,
	};
	unsigned nr;
	const uint32_t *pass = msr_passthrough_list(&nr);

	CHECK(nr > 0);
	for (unsigned i = 0; i < nr; i++) {
		bool ok = false;
		for (unsigned j = 0; j < ARRAY_SIZE(switched); j++)
			ok |= pass[i] == switched[j];
		if (!ok)
			printf("    MSR 0x%x passes through but is not switched\n", pass[i]);
		CHECK(ok);
	}
}

TEST(segment_attributes_pack_and_unpack)
{
	/* 64-bit code: P, DPL 0, S, type 0xb, L, G. */
	uint32_t code64 = SEG_ATTR_P | SEG_ATTR_S | 0xb | SEG_ATTR_L | SEG_ATTR_G;
	CHECK_EQ(svm_attr_to_vmcb(code64), 0xa9b);
	CHECK_EQ(svm_attr_from_vmcb(0xa9b), code64);
	/* Flat 32-bit data, DPL 3, with AVL. */
	uint32_t data32 = SEG_ATTR_P | (3 << SEG_ATTR_DPL_SHIFT) | SEG_ATTR_S | 0x3 |
			  SEG_ATTR_DB | SEG_ATTR_G | SEG_ATTR_AVL;
	CHECK_EQ(svm_attr_to_vmcb(data32), 0xdf3);
	CHECK_EQ(svm_attr_from_vmcb(0xdf3), data32);
	/* Every value both ways: the 12 bits the VMCB keeps round-trip. */
	unsigned bad = 0;
	for (uint32_t p = 0; p < 0x1000; p++)
		bad += svm_attr_to_vmcb(svm_attr_from_vmcb((uint16_t)p)) != p;
	for (uint32_t a = 0; a < 0x10000; a++)
		if (!(a & 0xf00))       /* bits 8-11 are limit 19:16, not attributes */
			bad += svm_attr_from_vmcb(svm_attr_to_vmcb(a)) != a;
	CHECK_EQ(bad, 0);
	/* The VMCB's reserved bits 12-15 stay clear. */
	CHECK_EQ(svm_attr_to_vmcb(0xffff) & 0xf000, 0);
}

int main(void)
{
	check_start("svm_vmcb");
	RUN(intercepts_the_host_relies_on);
	RUN(nested_paging_and_interrupt_masking);
	RUN(asid_never_zero);
	RUN(iopm_intercepts_every_port);
	RUN(msrpm_intercepts_all_but_the_passthrough_list);
	RUN(passthrough_list_is_switched_state_only);
	RUN(segment_attributes_pack_and_unpack);
	return check_finish();
}
