/*
 * shadow-smp: one vCPU changes a mapping, another checks it, as an OS's
 * TLB shootdown does (SDM vol. 3A §4.10.5): for each round the BSP points
 * a page at the other of two frames and invalidates it on itself; the AP,
 * which used the old translation the round before, invalidates it on
 * request and must then read the new frame.  A page made present on one
 * vCPU is used on the other with no invalidation at all (not-present
 * entries are never cached, §4.10.2.3).  The APs come up through real and
 * protected mode on the BSP's own tables.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "shadow-smp";

#define ROUNDS          100
#define WAIT_US         20000000
#define E_P     0x001ull
#define E_W     0x002ull
#define E_PS    0x080ull
#define BASE    0x8000000000ull         /* PML4 slot 1 */

typedef uint64_t table_t[512] __attribute__((aligned(4096)));
static table_t pml4, pdpt_id, pd_id[4], pdpt_t, pd_t, pt_t;
static uint8_t frame[2][4096] __attribute__((aligned(4096)));
static volatile unsigned request, ack, fresh_ok;
static volatile uint64_t seen;

static uint64_t magic(int k) { return 0x5eed0000ull + k; }

static uint64_t rd(uint64_t la)
{
	uint64_t v = *(volatile uint64_t *)la;
	asm volatile("" ::: "memory");
	return v;
}

static void ap_main(unsigned cpu)
{
	if (cpu != 1)
		return;
	seen = rd(BASE);                /* caches the first translation */
	__atomic_store_n(&ack, 1, __ATOMIC_RELEASE);
	for (unsigned r = 2; r <= ROUNDS + 1; r++) {
		while (__atomic_load_n(&request, __ATOMIC_ACQUIRE) != r)
			cpu_relax();
		invlpg(BASE);
		seen = rd(BASE);
		__atomic_store_n(&ack, r, __ATOMIC_RELEASE);
	}
	/* A page the BSP made present: no invalidation needed. */
	while (__atomic_load_n(&request, __ATOMIC_ACQUIRE) != ROUNDS + 2)
		cpu_relax();
	fresh_ok = rd(BASE + 0x1000) == magic(1);
	__atomic_store_n(&ack, ROUNDS + 2, __ATOMIC_RELEASE);
}

static void build(void)
{
	for (int g = 0; g < 4; g++) {           /* 4 GiB: RAM and the local APIC */
		for (int i = 0; i < 512; i++)
			pd_id[g][i] = (((uint64_t)g << 30) + ((uint64_t)i << 21)) | E_P | E_W | E_PS;
		pdpt_id[g] = (uintptr_t)pd_id[g] | E_P | E_W;
	}
	pml4[0] = (uintptr_t)pdpt_id | E_P | E_W;
	pml4[1] = (uintptr_t)pdpt_t | E_P | E_W;
	pdpt_t[0] = (uintptr_t)pd_t | E_P | E_W;
	pd_t[0] = (uintptr_t)pt_t | E_P | E_W;
	pt_t[0] = (uintptr_t)frame[0] | E_P | E_W;
	*(volatile uint64_t *)frame[0] = magic(0);
	*(volatile uint64_t *)frame[1] = magic(1);
	write_cr3((uintptr_t)pml4);    /* the APs start on these tables */
}

void test_main(void)
{
	struct madt_info m;
	unsigned bad = 0;

	irq_init();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (m.nr_cpus < 2) {
		guest_error("needs 2 vCPUs, has %u", m.nr_cpus);
		return;
	}
	build();
	if (smp_start_aps(&m, ap_main) < 2)
		return;
	if (!wait_until(ack == 1, WAIT_US)) {
		guest_fail("the AP did not come up on the guest's tables");
		return;
	}
	guest_check_eq("AP's first read", seen, magic(0));
	for (unsigned r = 2; r <= ROUNDS + 1; r++) {
		int k = r & 1;
		pt_t[0] = (uintptr_t)frame[k] | E_P | E_W;
		invlpg(BASE);
		if (rd(BASE) != magic(k))
			bad++;
		__atomic_store_n(&request, r, __ATOMIC_RELEASE);
		if (!wait_until(ack == r, WAIT_US)) {
			guest_fail("round %u: the AP did not answer", r);
			return;
		}
		if (seen != magic(k) && bad++ < 3)
			guest_fail("round %u: the AP reads 0x%lx after the shootdown, expected 0x%lx",
				   r, seen, magic(k));
	}
	guest_check_eq("rounds with a stale translation", bad, 0);
	pt_t[1] = (uintptr_t)frame[1] | E_P | E_W;
	__atomic_store_n(&request, ROUNDS + 2, __ATOMIC_RELEASE);
	if (!wait_until(ack == ROUNDS + 2, WAIT_US))
		guest_fail("the AP did not answer the last request");
	guest_check_eq("AP uses a page made present on the BSP", fresh_ok, 1);
	guest_printf("shadow-smp: %u rounds of remap and shootdown\n", ROUNDS);
}
