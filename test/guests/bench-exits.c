/*
 * bench-exits: benchmark, not a test of behaviour.  Times with RDTSC N
 * round trips of exits that go through the hypervisor's general exit path
 * (exit, C dispatcher, handler, back into the guest), and prints one line
 * per exit:
 *     bench: <name> <ticks per round trip> (total <ticks> for N)
 * The exits:
 *   cpuid          CPUID leaf 0;
 *   vmmcall        a hypercall number kasane does not know, answered with
 *                  HC_ENOSYS (-38) by the C hypercall handler.  No fast path
 *                  can answer it without the handler, so the figure stays
 *                  the C exit path's whatever the world switch special-cases;
 *   vmmcall-vm-id  HC_GET_VM_ID, for comparison: the world switch may answer
 *                  it itself, so it may measure a shortcut;
 *   uart-out       OUTB to COM1's scratch register (emulated, prints nothing).
 * Each loop iteration adds a few instructions of its own (counter, branch,
 * register set-up) to the figure.  Under -icount shift=0 the TSC counts
 * instructions, so the figures are instructions per round trip.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "bench-exits";

#define N               10000
#define COM1_SCR        (GUEST_COM1_PORT + 7)
#define HC_UNKNOWN      0x6b61736eul    /* "kasn": no such hypercall (include/kasane/abi.h) */

static void report(const char *name, uint64_t t)
{
	guest_printf("bench: %s %lu (total %lu for %d)\n", name, t / N, t, N);
}

void test_main(void)
{
	long ret = 0;

	uint64_t t0 = rdtsc();
	for (int i = 0; i < N; i++) {
		uint32_t a = 0, b, c = 0, d;
		asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	uint64_t t1 = rdtsc();
	for (int i = 0; i < N; i++)
		ret = vmmcall(HC_UNKNOWN, 0, 0, 0);
	uint64_t t2 = rdtsc();
	for (int i = 0; i < N; i++)
		vmmcall(HC_GET_VM_ID, 0, 0, 0);
	uint64_t t3 = rdtsc();
	for (int i = 0; i < N; i++)
		outb(COM1_SCR, (uint8_t)i);
	uint64_t t4 = rdtsc();

	report("cpuid", t1 - t0);
	report("vmmcall", t2 - t1);
	if (ret != HC_ENOSYS)
		guest_error("hypercall 0x%lx returned %ld, not HC_ENOSYS (%d)", HC_UNKNOWN, ret,
			    HC_ENOSYS);
	report("vmmcall-vm-id", t3 - t2);
	report("uart-out", t4 - t3);
}
