/*
 * msrs: every MSR that the CPUID shown to the guest promises can be read,
 * and written back with what was read where that is harmless; MSRs the
 * CPUID does not promise raise #GP.  The list is built here from the
 * manuals, not from kasane's table (Intel SDM vol. 4; AMD APM vol. 2
 * App. A):
 *  - TSC, APIC base, SYSENTER (SEP), MTRRs (MTRR: MTRRcap's count of
 *    variable ranges, the fixed ranges if MTRRcap says so, def type),
 *    PAT, TSC_DEADLINE, EFER, STAR (SYSCALL), LSTAR/CSTAR/SFMASK and the
 *    FS/GS bases (LM), TSC_AUX (RDTSCP or RDPID), SPEC_CTRL if shown;
 *  - Intel: PLATFORM_ID, FEATURE_CONTROL, MISC_ENABLE, BIOS_SIGN_ID;
 *  - AMD: PerfEvtSel0-3 and PerfCtr0-3 (every AMD64 CPU; an event
 *    select keeps its enable bit), HWCR, PATCH_LEVEL, and SYSCFG on a
 *    family >= 0xf CPU with MTRRs, and INT_PENDING_MSG on families 0xf
 *    and 0x10 (Linux reads both with a plain RDMSR);
 *  - #GP: an MSR no CPU has, MCG_CAP without MCE, SPEC_CTRL when not
 *    shown, IA32_VMX_BASIC without VMX;
 *  - the speculation commands (SDM vol. 4 Table 2-2): a WRMSR to
 *    SPEC_CTRL, PRED_CMD (IBPB) or FLUSH_CMD (L1D_FLUSH) the CPUID does
 *    not show raises #GP; where shown, a command's bit 0 is accepted,
 *    its other bits and a RDMSR (write-only) raise #GP, and so does a
 *    reserved SPEC_CTRL bit.
 * Markers: "msrs: N read, M written back" and "msrs: K #GP as expected".
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "msrs";

#define B(n)    (1u << (n))

static unsigned nr_read, nr_written, nr_gp;

static uint64_t rd(uint32_t msr)
{
	nr_read++;
	return rdmsr(msr);
}

static void wr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
	nr_written++;
}

/* Read a range (no #GP may happen: the trap handler fails the test and
 * names the IP), and write each value back if wb. */
static void range(const char *what, uint32_t first, uint32_t last, bool wb)
{
	guest_printf("msrs: %s: 0x%x-0x%x%s\n", what, first, last, wb ? ", written back" : "");
	for (uint32_t m = first; m <= last; m++) {
		uint64_t v = rd(m);
		if (wb) {
			wr(m, v);
			uint64_t w = rd(m);
			if (w != v && m != 0x10)
				guest_fail("MSR 0x%x: wrote back 0x%llx, read 0x%llx", m,
					   (unsigned long long)v, (unsigned long long)w);
		}
	}
}

static void must_gp(const char *what, uint32_t msr)
{
	uint32_t lo = 0, hi = 0;

	expect_exception(EXC_GP);
	asm volatile("1: rdmsr\n2:\n" EXTABLE("1b", "2b")
		     : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	if (exception_check(what, EXC_GP, 0, NULL))
		nr_gp++;
}

static void must_gp_wr(const char *what, uint32_t msr, uint64_t v)
{
	expect_exception(EXC_GP);
	asm volatile("1: wrmsr\n2:\n" EXTABLE("1b", "2b")
		     : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	if (exception_check(what, EXC_GP, 0, NULL))
		nr_gp++;
}

/* A command MSR (write-only, bit 0 its only bit) shown or not. */
static void command(const char *name, uint32_t msr, bool shown)
{
	char what[64];

	if (!shown) {
		guest_snprintf(what, sizeof(what), "wrmsr %s when not shown", name);
		must_gp_wr(what, msr, 1);
		return;
	}
	guest_printf("msrs: %s shown: bit 0 written\n", name);
	wr(msr, 1);
	guest_snprintf(what, sizeof(what), "wrmsr %s bit 1 (reserved)", name);
	must_gp_wr(what, msr, 2);
	guest_snprintf(what, sizeof(what), "rdmsr %s (write-only)", name);
	must_gp(what, msr);
}

void test_main(void)
{
	uint32_t l0[4], l1[4], l7[4] = { 0 }, e1[4] = { 0 }, e8[4] = { 0 }, r[4];

	cpuid(0, 0, l0);
	cpuid(1, 0, l1);
	if (l0[0] >= 7)
		cpuid(7, 0, l7);
	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001)
		cpuid(0x80000001, 0, e1);
	if (r[0] >= 0x80000008)
		cpuid(0x80000008, 0, e8);
	bool amd = l0[1] == 0x68747541, intel = l0[1] == 0x756e6547;
	unsigned family = (l1[0] >> 8) & 0xf;
	if (family == 0xf)
		family += (l1[0] >> 20) & 0xff;
	guest_printf("msrs: %s family 0x%x, leaf 1 EAX 0x%08x EDX 0x%08x ECX 0x%08x\n",
		     amd ? "AMD" : intel ? "Intel" : "other", family, l1[0], l1[3], l1[2]);

	if (l1[3] & B(4))
		range("TSC", 0x10, 0x10, false);
	if (l1[3] & B(9))
		range("APIC base", 0x1b, 0x1b, true);
	if (l1[3] & B(11))
		range("SYSENTER", 0x174, 0x176, true);
	if (l1[3] & B(12)) {
		uint64_t cap = rd(0xfe);
		unsigned vcnt = cap & 0xff;
		guest_printf("msrs: MTRRcap 0x%llx\n", (unsigned long long)cap);
		if (vcnt)
			range("variable MTRRs", 0x200, 0x200 + 2 * vcnt - 1, true);
		if (cap & B(8)) {
			range("fixed MTRRs", 0x250, 0x250, true);
			range("fixed MTRRs", 0x258, 0x259, true);
			range("fixed MTRRs", 0x268, 0x26f, true);
		}
		range("MTRRdefType", 0x2ff, 0x2ff, true);
		if (amd && family >= 0xf)
			range("SYSCFG", 0xc0010010, 0xc0010010, true);
	}
	if (l1[3] & B(16))
		range("PAT", 0x277, 0x277, true);
	if (l1[2] & B(24))
		range("TSC_DEADLINE", 0x6e0, 0x6e0, true);
	if (e1[3] & (B(11) | B(20) | B(29)))
		range("EFER", 0xc0000080, 0xc0000080, true);
	if (e1[3] & B(11))
		range("STAR", 0xc0000081, 0xc0000081, true);
	if (e1[3] & B(29)) {
		range("LSTAR/CSTAR/SFMASK", 0xc0000082, 0xc0000084, true);
		range("FS/GS/KERNEL_GS base", 0xc0000100, 0xc0000102, true);
	}
	if ((e1[3] & B(27)) || (l7[2] & B(22)))
		range("TSC_AUX", 0xc0000103, 0xc0000103, true);
	bool spec_ctrl = (l7[3] & (B(26) | B(27) | B(31))) || (e8[1] & (B(14) | B(15) | B(24)));
	if (spec_ctrl)
		range("SPEC_CTRL", 0x48, 0x48, true);
	if (intel) {
		range("PLATFORM_ID", 0x17, 0x17, false);
		range("FEATURE_CONTROL", 0x3a, 0x3a, false);
		range("MISC_ENABLE", 0x1a0, 0x1a0, true);
		range("BIOS_SIGN_ID", 0x8b, 0x8b, false);
	}
	if (amd) {
		range("PerfEvtSel0-3, PerfCtr0-3", 0xc0010000, 0xc0010007, true);
		range("HWCR", 0xc0010015, 0xc0010015, true);
		if (family == 0xf || family == 0x10)
			range("INT_PENDING_MSG", 0xc0010055, 0xc0010055, true);
		range("PATCH_LEVEL", 0x8b, 0x8b, false);
		/* An event select keeps what is written, enable bit (22) too:
		 * event 0x76 (cycles), OS and user, enabled. */
		uint64_t sel = B(22) | B(17) | B(16) | 0x76;
		wr(0xc0010000, sel);
		guest_check_eq("PerfEvtSel0 read back", rd(0xc0010000), sel);
		wr(0xc0010000, 0);
	}
	guest_printf("msrs: %u read, %u written back\n", nr_read, nr_written);

	must_gp("rdmsr 0x12345678 (no such MSR)", 0x12345678);
	must_gp("rdmsr 0xc0012000 (unimplemented range)", 0xc0012000);
	if (!(l1[3] & B(7)))
		must_gp("rdmsr MCG_CAP without MCE", 0x179);
	if (!spec_ctrl) {
		must_gp("rdmsr SPEC_CTRL when not shown", 0x48);
		must_gp_wr("wrmsr SPEC_CTRL when not shown", 0x48, 0);
	} else {
		must_gp_wr("wrmsr SPEC_CTRL bit 63 (reserved)", 0x48, 1ull << 63);
	}
	command("PRED_CMD", 0x49, (l7[3] & B(26)) || (e8[1] & B(12)));
	command("FLUSH_CMD", 0x10b, l7[3] & B(28));
	if (!(l1[2] & B(5)))
		must_gp("rdmsr IA32_VMX_BASIC without VMX", 0x480);
	guest_printf("msrs: %u #GP as expected\n", nr_gp);
}
