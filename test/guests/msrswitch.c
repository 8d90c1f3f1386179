/*
 * msrswitch: the syscall MSRs are per vCPU.  Writes STAR, LSTAR, CSTAR,
 * SFMASK and KERNEL_GS_BASE with a pattern of its own (from its VM id),
 * gives the CPU to another VM on the same CPU doing the same with another
 * pattern (HC_YIELD, then a spin to be preempted in), and reads all five
 * back after every round.  Under VT-x these MSRs pass through to the guest and kasane
 * switches them only when another vCPU runs on the CPU
 * (arch/x86/vmx/vmx.c, msrs_load): without that, the patterns mix.
 *     msrswitch: <rounds> rounds, 5 MSRs intact
 */
#include "test/guests/lib/pc.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "msrswitch";

#define ROUNDS          cmdline_u64("rounds", 8)
#define SPIN            cmdline_u64("spin", 200000)

static const uint32_t msr[5] = { 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102 };

/* A valid value for each: STAR any, LSTAR/CSTAR/KERNEL_GS_BASE canonical,
 * SFMASK its low 32 bits. */
static uint64_t pattern(unsigned i, uint64_t vm, uint64_t r)
{
	uint64_t v = 0xffff800000000000ull | (vm << 24) | (r << 8) | (i << 4);

	return msr[i] == 0xc0000084 ? (uint32_t)v : v;
}

void test_main(void)
{
	uint64_t vm_id = vmmcall(HC_GET_VM_ID, 0, 0, 0);
	uint64_t rounds = ROUNDS, spin = SPIN, sum = 0;

	for (uint64_t r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < 5; i++)
			wrmsr(msr[i], pattern(i, vm_id, r));
		vmmcall(HC_YIELD, 0, 0, 0);
		work_run(r + 1, spin, &sum);            /* time to be preempted */
		vmmcall(HC_YIELD, 0, 0, 0);
		for (unsigned i = 0; i < 5; i++) {
			uint64_t got = rdmsr(msr[i]), want = pattern(i, vm_id, r);
			if (got != want) {
				guest_fail("round %lu: MSR 0x%x is 0x%lx, expected 0x%lx",
					   r, msr[i], got, want);
				return;
			}
		}
	}
	guest_printf("msrswitch: %lu rounds, 5 MSRs intact\n", rounds);
}
