/*
 * spin: benchmark, not a test of behaviour.  Measures with RDTSC the cost
 * of N VMMCALL(HC_GET_VM_ID) round trips and of N OUTB to COM1's scratch
 * register (an emulated UART register that prints nothing), and prints
 *     bench: vmmcall <ticks per round trip> (total <ticks> for N)
 *     bench: uart-out <ticks per OUT> (total <ticks> for N)
 * and, for comparison, the full exit path with the least handling, CPUID:
 *     bench: cpuid <ticks per round trip> (total <ticks> for N)
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "spin";

#define N               10000
#define COM1_SCR        (GUEST_COM1_PORT + 7)

void test_main(void)
{
	uint64_t t0 = rdtsc();
	for (int i = 0; i < N; i++)
		vmmcall(HC_GET_VM_ID, 0, 0, 0);
	uint64_t t1 = rdtsc();
	for (int i = 0; i < N; i++)
		outb(COM1_SCR, (uint8_t)i);
	uint64_t t2 = rdtsc();
	for (int i = 0; i < N; i++) {
		uint32_t a = 0, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	uint64_t t3 = rdtsc();

	guest_printf("bench: vmmcall %lu (total %lu for %d)\n", (t1 - t0) / N, t1 - t0, N);
	guest_printf("bench: uart-out %lu (total %lu for %d)\n", (t2 - t1) / N, t2 - t1, N);
	guest_printf("bench: cpuid %lu (total %lu for %d)\n", (t3 - t2) / N, t3 - t2, N);
}
