/*
 * fpu: SSE register state survives sharing a CPU.  Enables SSE (CR4.OSFXSR,
 * SDM vol. 3A §13.1.3), fills XMM0-XMM15 with a pattern of its own (from
 * its VM id), spins long enough to be preempted by another VM on the same
 * CPU doing the same with another pattern, and checks all sixteen registers
 * after every round.  Without per-vCPU FPU switching the patterns mix.
 *     fpu: <rounds> rounds, XMM0-15 intact
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "fpu";

#define ROUNDS          cmdline_u64("rounds", 40)
#define SPIN            cmdline_u64("spin", 30000000)

static uint8_t want[256] __attribute__((aligned(16)));
static uint8_t got[256] __attribute__((aligned(16)));

static void xmm_load(const uint8_t *p)
{
	__asm__ volatile(
		"movdqu 0(%0), %%xmm0\n\t"    "movdqu 16(%0), %%xmm1\n\t"
		"movdqu 32(%0), %%xmm2\n\t"   "movdqu 48(%0), %%xmm3\n\t"
		"movdqu 64(%0), %%xmm4\n\t"   "movdqu 80(%0), %%xmm5\n\t"
		"movdqu 96(%0), %%xmm6\n\t"   "movdqu 112(%0), %%xmm7\n\t"
		"movdqu 128(%0), %%xmm8\n\t"  "movdqu 144(%0), %%xmm9\n\t"
		"movdqu 160(%0), %%xmm10\n\t" "movdqu 176(%0), %%xmm11\n\t"
		"movdqu 192(%0), %%xmm12\n\t" "movdqu 208(%0), %%xmm13\n\t"
		"movdqu 224(%0), %%xmm14\n\t" "movdqu 240(%0), %%xmm15\n\t"
		: : "r"(p) : "memory");
}

static void xmm_store(uint8_t *p)
{
	__asm__ volatile(
		"movdqu %%xmm0, 0(%0)\n\t"    "movdqu %%xmm1, 16(%0)\n\t"
		"movdqu %%xmm2, 32(%0)\n\t"   "movdqu %%xmm3, 48(%0)\n\t"
		"movdqu %%xmm4, 64(%0)\n\t"   "movdqu %%xmm5, 80(%0)\n\t"
		"movdqu %%xmm6, 96(%0)\n\t"   "movdqu %%xmm7, 112(%0)\n\t"
		"movdqu %%xmm8, 128(%0)\n\t"  "movdqu %%xmm9, 144(%0)\n\t"
		"movdqu %%xmm10, 160(%0)\n\t" "movdqu %%xmm11, 176(%0)\n\t"
		"movdqu %%xmm12, 192(%0)\n\t" "movdqu %%xmm13, 208(%0)\n\t"
		"movdqu %%xmm14, 224(%0)\n\t" "movdqu %%xmm15, 240(%0)\n\t"
		: : "r"(p) : "memory");
}

void test_main(void)
{
	uint64_t vm_id = vmmcall(HC_GET_VM_ID, 0, 0, 0);
	uint64_t rounds = ROUNDS, spin = SPIN, sum = 0;

	/* CR0.EM off, CR0.MP on; CR4.OSFXSR and OSXMMEXCPT on. */
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"((cr0 & ~4ull) | 2ull));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ull << 9) | (1ull << 10)));

	for (uint64_t r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < sizeof(want); i++)
			want[i] = (uint8_t)(vm_id * 97 + r * 13 + i * 7 + 1);
		xmm_load(want);
		work_run(r + 1, spin, &sum);            /* time to be preempted */
		xmm_store(got);
		for (unsigned i = 0; i < sizeof(want); i++) {
			if (got[i] != want[i]) {
				guest_fail("round %lu: XMM%u byte %u is 0x%02x, expected 0x%02x",
					   r, i / 16, i % 16, got[i], want[i]);
				return;
			}
		}
	}
	guest_printf("fpu: %lu rounds, XMM0-15 intact\n", rounds);
}
