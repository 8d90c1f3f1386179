/*
 * cpuid: what kasane reports about the virtual CPU.
 *  - CPUID.1:ECX bit 31 (hypervisor present) set, bit 5 (VMX) clear;
 *  - leaf 0x40000000: EAX = highest hypervisor leaf (>= 0x40000010),
 *    EBX:ECX:EDX = "kasane" padded with NULs;
 *  - leaf 0x40000010: EAX = TSC kHz (1 MHz-100 GHz); EBX = local APIC
 *    timer input clock, 1000000 kHz (devices/vlapic.c);
 *  - CPUID.80000001h:ECX bit 2 (SVM) clear: no nested virtualization;
 *  - leaf 0 vendor string non-empty;
 *  - RDMSR of an MSR kasane does not know raises #GP(0).
 * (AMD APM vol. 3 appendix E; Intel SDM vol. 2A CPUID.)
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "cpuid";

#define CPUID1_ECX_VMX          (1u << 5)
#define CPUID1_ECX_HYPERVISOR   (1u << 31)
#define CPUID81_ECX_SVM         (1u << 2)
#define UNKNOWN_MSR             0x12345678u

void test_main(void)
{
	uint32_t r[4];
	char vendor[13];

	cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	guest_printf("cpuid: leaf 0: max leaf 0x%x, vendor \"%s\"\n", r[0], vendor);
	if (!vendor[0])
		guest_fail("leaf 0 vendor string is empty");
	if (r[0] < 1)
		guest_fail("leaf 0 reports max basic leaf 0x%x, expected >= 1", r[0]);

	cpuid(1, 0, r);
	guest_printf("cpuid: leaf 1: ECX 0x%08x EDX 0x%08x\n", r[2], r[3]);
	if (!(r[2] & CPUID1_ECX_HYPERVISOR))
		guest_fail("CPUID.1:ECX 0x%x: hypervisor bit 31 not set", r[2]);
	if (r[2] & CPUID1_ECX_VMX)
		guest_fail("CPUID.1:ECX 0x%x: VMX (bit 5) reported", r[2]);

	cpuid(0x40000000, 0, r);
	guest_printf("cpuid: leaf 0x40000000: EAX 0x%x EBX 0x%08x ECX 0x%08x EDX 0x%08x\n",
		     r[0], r[1], r[2], r[3]);
	if (r[0] < 0x40000010 || r[0] > 0x400000ff)
		guest_fail("leaf 0x40000000 EAX 0x%x, expected a leaf in 0x40000010-0x400000ff",
			   r[0]);
	guest_check_eq("leaf 0x40000000 EBX (\"kasa\")", r[1], 0x6173616b);
	guest_check_eq("leaf 0x40000000 ECX (\"ne\\0\\0\")", r[2], 0x0000656e);
	guest_check_eq("leaf 0x40000000 EDX", r[3], 0);

	cpuid(0x40000010, 0, r);
	guest_printf("cpuid: leaf 0x40000010: TSC %u kHz, APIC timer %u kHz\n", r[0], r[1]);
	guest_check_eq("leaf 0x40000010 EBX (APIC timer kHz)", r[1], 1000000);
	/* The TSC frequency: kasane's calibration, in kHz (a few GHz on
	 * hardware, about 10 MHz on Bochs, whose TSC counts instructions). */
	if (r[0] < 1000 || r[0] > 100000000)
		guest_fail("leaf 0x40000010 EAX %u: not a TSC frequency in kHz", r[0]);

	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000007) {
		uint32_t e7[4];
		cpuid(0x80000007, 0, e7);
		guest_printf("cpuid: leaf 0x80000007: EDX 0x%08x (invariant TSC %s)\n", e7[3],
			     e7[3] & (1u << 8) ? "shown" : "not shown");
	}
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		guest_printf("cpuid: leaf 0x80000001: ECX 0x%08x EDX 0x%08x\n", r[2], r[3]);
		if (r[2] & CPUID81_ECX_SVM)
			guest_fail("CPUID.80000001h:ECX 0x%x: SVM (bit 2) reported", r[2]);
	}

	uint32_t lo = 0xdead, hi = 0xbeef;
	expect_exception(EXC_GP);
	asm volatile("1: rdmsr\n2:\n" EXTABLE("1b", "2b")
		     : "+a"(lo), "+d"(hi) : "c"(UNKNOWN_MSR) : "memory");
	exception_check("rdmsr 0x12345678", EXC_GP, 0, NULL);
}
