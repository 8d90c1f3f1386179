/*
 * hostile-ctlreg: control-register, EFER and XCR0 abuse (issue 13, holes 2
 * and 4).  Hardware refuses each write below with #GP(0) and leaves the
 * register as it was; a hypervisor that lets one through either hands the
 * guest a feature its CPUID hides (CR4.PKE, then PKRU shared with other
 * VMs) or loads a state the CPU refuses at the next entry.
 *  1. MOV to CR4 of each bit whose feature this CPUID hides (VMXE, SMXE,
 *     KL, PKE, CET, PKS, UINTR, LAM_SUP) and of reserved bits (SDM vol. 3A
 *     §2.5, vol. 2B MOV CRn).
 *  2. XSETBV of each XCR0 bit CPUID.(EAX=0DH,ECX=0) does not offer, PKRU
 *     (bit 9) among them (SDM vol. 2C XSETBV).
 *  3. MOV to CR0 with PG=1 and PE=0, with NW=1 and CD=0, with a bit of
 *     63:32 set, and clearing PG in 64-bit mode; MOV to CR4 clearing PAE
 *     in long mode (SDM vol. 2B MOV CRn; AMD APM vol. 2 §3.1.1).
 *  4. WRMSR to EFER clearing LME in long mode (SDM vol. 3A §10.8.5).
 *  5. The writes hardware allows still work: CR0.TS set by MOV, cleared
 *     by CLTS, set by LMSW; CR0.CD and CR4.PGE toggled; an offered XCR0.
 * cmdline xsetbv=0 leaves out 2: QEMU 7.2's TCG never takes SVM's XSETBV
 * intercept (docs/emulators.md), so there its own CPU model decides.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"
#include "test/guests/lib/pc.h"

const char test_name[] = "hostile-ctlreg";

#define CR0_TS          (1ul << 3)
#define CR0_NW          (1ul << 29)
#define CR0_CD          (1ul << 30)
#define CR4_PGE         (1ul << 7)
#define CR4_OSXSAVE     (1ul << 18)

static unsigned refused, allowed;

static inline uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* A write that must raise #GP(0) and leave the register unchanged. */
static void cr0_refused(const char *what, unsigned long val)
{
	unsigned long before = read_cr0();

	expect_exception(EXC_GP);
	asm volatile("1: mov %0, %%cr0\n2:\n" EXTABLE("1b", "2b") :: "r"(val) : "memory");
	if (exception_check(what, EXC_GP, 0, NULL) &&
	    guest_check_eq("CR0 after a refused write", read_cr0(), before))
		refused++;
}

static void cr4_refused(const char *what, unsigned long val)
{
	unsigned long before = read_cr4();

	expect_exception(EXC_GP);
	asm volatile("1: mov %0, %%cr4\n2:\n" EXTABLE("1b", "2b") :: "r"(val) : "memory");
	if (exception_check(what, EXC_GP, 0, NULL) &&
	    guest_check_eq("CR4 after a refused write", read_cr4(), before))
		refused++;
}

/* CR4 bits and the CPUID bit that shows their feature (leaf, subleaf,
 * register 0-3 = EAX-EDX, bit); leaf 0 marks a bit reserved everywhere. */
static const struct { unsigned bit, leaf, sub, reg, feat; const char *name; } cr4_bits[] = {
	{ 13, 1, 0, 2, 5, "VMXE" }, { 14, 1, 0, 2, 6, "SMXE" }, { 15, 0, 0, 0, 0, "bit 15" },
	{ 19, 7, 0, 2, 23, "KL" }, { 22, 7, 0, 2, 3, "PKE" }, { 23, 7, 0, 2, 7, "CET" },
	{ 24, 7, 0, 2, 31, "PKS" }, { 25, 7, 0, 3, 5, "UINTR" }, { 26, 0, 0, 0, 0, "bit 26" },
	{ 28, 7, 1, 0, 26, "LAM_SUP" }, { 31, 0, 0, 0, 0, "bit 31" }, { 40, 0, 0, 0, 0, "bit 40" },
};

static void test_cr4_hidden(void)
{
	uint32_t r[4], max[4];
	char what[48];

	cpuid(0, 0, max);
	for (unsigned i = 0; i < sizeof(cr4_bits) / sizeof(cr4_bits[0]); i++) {
		if (cr4_bits[i].leaf && cr4_bits[i].leaf <= max[0]) {
			cpuid(cr4_bits[i].leaf, cr4_bits[i].sub, r);
			if (r[cr4_bits[i].reg] & (1u << cr4_bits[i].feat)) {
				guest_printf("hostile-ctlreg: CPUID shows %s, not tried\n",
					     cr4_bits[i].name);
				continue;
			}
		}
		guest_snprintf(what, sizeof(what), "MOV to CR4 setting %s", cr4_bits[i].name);
		cr4_refused(what, read_cr4() | (1ul << cr4_bits[i].bit));
	}
}

static void test_xcr0_hidden(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[2] & (1u << 26))) {
		guest_printf("hostile-ctlreg: no XSAVE offered, XSETBV not tried\n");
		return;
	}
	if (!cmdline_u64("xsetbv", 1)) {
		guest_printf("hostile-ctlreg: XSETBV of hidden XCR0 bits not tried (xsetbv=0)\n");
		return;
	}
	write_cr4(read_cr4() | CR4_OSXSAVE);
	cpuid(0xd, 0, r);
	uint64_t offered = (uint64_t)r[3] << 32 | r[0];
	uint64_t before = xgetbv0();
	for (unsigned bit = 2; bit < 64; bit++) {
		if (offered & (1ull << bit))
			continue;
		uint64_t val = 3 | (1ull << bit);
		expect_exception(EXC_GP);
		asm volatile("1: xsetbv\n2:\n" EXTABLE("1b", "2b")
			     :: "c"(0), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
		char what[40];
		guest_snprintf(what, sizeof(what), "XSETBV with XCR0 bit %u", bit);
		if (exception_check(what, EXC_GP, 0, NULL) &&
		    guest_check_eq("XCR0 after a refused XSETBV", xgetbv0(), before))
			refused++;
	}
	asm volatile("xsetbv" :: "c"(0), "a"(3u), "d"(0u) : "memory");
	if (guest_check_eq("XCR0 after XSETBV of x87|SSE", xgetbv0(), 3))
		allowed++;
	guest_printf("hostile-ctlreg: XSETBV: every bit outside 0x%lx refused\n",
		     (unsigned long)offered);
}

static void test_cr0_efer(void)
{
	unsigned long cr0 = read_cr0();

	cr0_refused("MOV to CR0 with PG=1, PE=0", cr0 & ~CR0_PE);
	cr0_refused("MOV to CR0 with NW=1, CD=0", (cr0 | CR0_NW) & ~CR0_CD);
	cr0_refused("MOV to CR0 setting bit 32", cr0 | (1ul << 32));
	cr0_refused("MOV to CR0 clearing PG in 64-bit mode", cr0 & ~CR0_PG);
	cr4_refused("MOV to CR4 clearing PAE in long mode", read_cr4() & ~CR4_PAE);

	uint64_t efer = rdmsr(MSR_EFER);
	uint64_t val = efer & ~(uint64_t)EFER_LME;
	expect_exception(EXC_GP);
	asm volatile("1: wrmsr\n2:\n" EXTABLE("1b", "2b")
		     :: "c"(MSR_EFER), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
	if (exception_check("WRMSR EFER clearing LME in long mode", EXC_GP, 0, NULL) &&
	    guest_check_eq("EFER after the refused WRMSR", rdmsr(MSR_EFER), efer))
		refused++;
}

static void test_allowed(void)
{
	unsigned long cr0 = read_cr0(), cr4 = read_cr4();
	uint32_t r[4];

	write_cr0(cr0 | CR0_TS);
	allowed += guest_check_eq("CR0.TS after MOV", read_cr0() & CR0_TS, CR0_TS);
	asm volatile("clts" ::: "memory");
	allowed += guest_check_eq("CR0.TS after CLTS", read_cr0() & CR0_TS, 0);
	asm volatile("lmsw %0" :: "r"((uint16_t)(cr0 | CR0_TS)) : "memory");
	allowed += guest_check_eq("CR0.TS after LMSW", read_cr0() & CR0_TS, CR0_TS);
	asm volatile("clts" ::: "memory");
	write_cr0(cr0 | CR0_CD);
	allowed += guest_check_eq("CR0 with CD set", read_cr0(), cr0 | CR0_CD);
	write_cr0(cr0);
	allowed += guest_check_eq("CR0 restored", read_cr0(), cr0);
	cpuid(1, 0, r);
	if (r[3] & (1u << 13)) {
		write_cr4(cr4 ^ CR4_PGE);
		allowed += guest_check_eq("CR4 with PGE toggled", read_cr4(), cr4 ^ CR4_PGE);
		write_cr4(cr4);
		allowed += guest_check_eq("CR4 restored", read_cr4(), cr4);
	}
}

void test_main(void)
{
	test_cr4_hidden();
	test_xcr0_hidden();
	test_cr0_efer();
	test_allowed();
	guest_printf("hostile-ctlreg: %u writes refused with #GP(0), %u allowed ones done\n",
		     refused, allowed);
}
