/*
 * shadow-hostile: page tables meant to hurt the hypervisor's shadow of them.
 *   grow:  1024 page-directory entries all point at one page table, so a
 *          single guest frame appears at 1024 places 2 MiB apart, and the
 *          guest reads them all, twice: the shadow tables would need a
 *          table page for each; they must stay within their bound and
 *          still translate every read right.  Then a page-table entry
 *          pointing past RAM is read: the VM must end there.
 *   table: a page-directory entry pointing past RAM (the walk itself
 *          leaves RAM): the VM must end at the first access through it.
 * Either way a normal exit of this guest is a FAILURE.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "shadow-hostile";

#define E_P     0x001ull
#define E_W     0x002ull
#define E_PS    0x080ull
#define BASE    0x8000000000ull         /* PML4 slot 1 */
#define SPREAD  1024
#define OUTSIDE 0x40000000ull           /* 1 GiB: past the VM's RAM */

typedef uint64_t table_t[512] __attribute__((aligned(4096)));
static table_t pml4, pdpt_id, pd_id[4], pdpt_t, pd_t[2], pt_t;
static uint8_t frame[4096] __attribute__((aligned(4096)));

static uint64_t rd(uint64_t la)
{
	uint64_t v = *(volatile uint64_t *)la;
	asm volatile("" ::: "memory");
	return v;
}

static void build(void)
{
	for (int g = 0; g < 4; g++) {
		for (int i = 0; i < 512; i++)
			pd_id[g][i] = (((uint64_t)g << 30) + ((uint64_t)i << 21)) | E_P | E_W | E_PS;
		pdpt_id[g] = (uintptr_t)pd_id[g] | E_P | E_W;
	}
	pml4[0] = (uintptr_t)pdpt_id | E_P | E_W;
	pml4[1] = (uintptr_t)pdpt_t | E_P | E_W;
	for (int d = 0; d < 2; d++) {
		pdpt_t[d] = (uintptr_t)pd_t[d] | E_P | E_W;
		for (int i = 0; i < 512; i++)
			pd_t[d][i] = (uintptr_t)pt_t | E_P | E_W;
	}
	pt_t[0] = (uintptr_t)frame | E_P | E_W;
	*(volatile uint64_t *)frame = 0xab5e;
	write_cr3((uintptr_t)pml4);
}

void test_main(void)
{
	char mode[16] = "";

	cmdline_get(mb2_cmdline(boot_info), "mode", mode, sizeof(mode));
	build();
	if (!strcmp(mode, "grow")) {
		unsigned bad = 0;
		for (int pass = 0; pass < 2; pass++)
			for (uint64_t i = 0; i < SPREAD; i++)
				if (rd(BASE + (i << 21)) != 0xab5e)
					bad++;
		guest_check_eq("reads of the frame seen at 1024 places", bad, 0);
		guest_printf("shadow-hostile: %u places read twice\n", SPREAD);
		pt_t[1] = OUTSIDE | E_P | E_W;
		guest_printf("shadow-hostile: reading a page past RAM\n");
		rd(BASE + 0x1000);
	} else if (!strcmp(mode, "table")) {
		pd_t[0][5] = OUTSIDE | E_P | E_W;
		guest_printf("shadow-hostile: reading through a table past RAM\n");
		rd(BASE + (5ull << 21));
	} else {
		guest_error("no mode=grow or mode=table");
		return;
	}
	guest_fail("the access past RAM did not end the VM");
}
