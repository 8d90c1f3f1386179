/* Hardening of the hypervisor itself; see harden.h. */
#include "arch/x86/harden.h"
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "kernel/panic.h"

#define CR4_SMEP        (1ULL << 20)
#define CR4_SMAP        (1ULL << 21)
/* CPUID.(EAX=7,ECX=0):EBX bit 7 SMEP, 18 RDSEED, 20 SMAP; CPUID.1:ECX bit
 * 30 RDRAND (SDM vol. 2A, CPUID). */
#define CPUID7_EBX_SMEP   (1u << 7)
#define CPUID7_EBX_RDSEED (1u << 18)
#define CPUID7_EBX_SMAP   (1u << 20)
#define CPUID1_ECX_RDRAND (1u << 30)

/* The canary every protected frame holds; -mstack-protector-guard=global
 * makes GCC read it from here instead of %fs:0x28. */
uint64_t __stack_chk_guard = 0x595e9fbd94fda766ULL;
static const char *canary_source = "none";

/* RDRAND and RDSEED may fail when the entropy source is busy: retry a few
 * times (Intel DRNG Software Implementation Guide §5.2.1). */
#define RAND_RETRIES    32

static bool rdseed64(uint64_t *v)
{
	for (int i = 0; i < RAND_RETRIES; i++) {
		bool ok;
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
		if (ok)
			return true;
	}
	return false;
}

static bool rdrand64(uint64_t *v)
{
	for (int i = 0; i < RAND_RETRIES; i++) {
		bool ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
		if (ok)
			return true;
	}
	return false;
}

/* splitmix64's finalizer: spreads the TSC's few changing bits over all 64. */
static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

__attribute__((no_stack_protector)) void harden_canary_init(void)
{
	uint64_t v = 0;
	bool has_leaf7 = cpuid(0, 0).eax >= 7;

	if (has_leaf7 && (cpuid(7, 0).ebx & CPUID7_EBX_RDSEED) && rdseed64(&v)) {
		canary_source = "RDSEED";
	} else if ((cpuid(1, 0).ecx & CPUID1_ECX_RDRAND) && rdrand64(&v)) {
		canary_source = "RDRAND";
	} else {
		v = mix64(rdtsc() ^ __stack_chk_guard);
		v ^= mix64(rdtsc() + v);
		canary_source = "TSC";
	}
	/* A zero low byte stops string overflows (strcpy) at the canary. */
	__stack_chk_guard = v & ~0xffULL;
}

const char *harden_canary_source(void)
{
	return canary_source;
}

/* Called by a protected function's epilogue when its canary changed: its
 * stack was overrun, and what else it overwrote cannot be trusted. */
__attribute__((no_stack_protector)) __noreturn void __stack_chk_fail(void)
{
	uint64_t ret = (uint64_t)__builtin_return_address(0), off = 0;
	const char *fn = ksym_lookup(ret, &off);

	panic("stack smashed in %s (return address %016llx)", fn ? fn : "?",
	      (unsigned long long)ret);
}

uint64_t harden_cpu_init(void)
{
	uint64_t bits = 0;

	if (cpuid(0, 0).eax >= 7) {
		uint32_t ebx = cpuid(7, 0).ebx;
		if (ebx & CPUID7_EBX_SMEP)
			bits |= CR4_SMEP;
		if (ebx & CPUID7_EBX_SMAP)
			bits |= CR4_SMAP;
	}
	if (bits)
		write_cr4(read_cr4() | bits);
	return bits;
}

/* A write past the end of a stack array, which the compiler cannot see as
 * such: the index comes through an asm it cannot look into. */
__attribute__((noinline)) void harden_selftest_smash(void)
{
	volatile char buf[16];
	size_t n = sizeof(buf) + 8;        /* over the canary just above it */

	__asm__ volatile("" : "+r"(n));
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)0xa5;
}
