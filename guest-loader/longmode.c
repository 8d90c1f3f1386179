/* The 64-bit boot environment of ELF64 kernels; see longmode.h. */
#include "guest-loader/longmode.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/x86_state.h"
#include "lib/printf.h"
#include "lib/string.h"

#define GDT_ENTRIES     3       /* null, code, data */

/*
 * 4-level paging (SDM vol. 3A §4.5): PML4[0] -> PDPT at p + 1 page, whose
 * entry i -> the page directory at p + (2 + i) pages, each PDE a 2 MiB page
 * (PS=1) mapping i GiB + j * 2 MiB to itself.  p is the host view of at.
 */
static void gl_identity_map(uint8_t *p, gpa_t at, uint64_t nr_pd)
{
	uint64_t *pml4 = (uint64_t *)p, *pdpt = (uint64_t *)(p + PAGE_SIZE);

	pml4[0] = (at + PAGE_SIZE) | PTE_P | PTE_W;
	for (uint64_t i = 0; i < nr_pd; i++) {
		uint64_t *pd = (uint64_t *)(p + (2 + i) * PAGE_SIZE);
		pdpt[i] = (at + (2 + i) * PAGE_SIZE) | PTE_P | PTE_W;
		for (uint64_t j = 0; j < 512; j++)
			pd[j] = (i * GiB + j * LARGE_PAGE_SIZE) | PTE_P | PTE_W | PTE_PS;
	}
}

int gl_long_mode(struct guest_mem *mem, const struct gl_boot *b, gpa_t *cur,
		 struct x86_vcpu_state *s, char *err, size_t errlen)
{
	uint64_t top = GL_4GIB;

	for (int i = 0; i < mem->nr; i++)
		top = MAX(top, mem->region[i].gpa + mem->region[i].size);
	/* One PDPT holds 512 GiB, far above GL_MAP_MAX. */
	uint64_t nr_pd = MIN(ALIGN_UP(top, GiB), GL_MAP_MAX) / GiB;
	uint64_t pages = 2 + nr_pd + 1 + GL_STACK64_SIZE / PAGE_SIZE;
	gpa_t at;
	uint8_t *p;

	/* gl_place keeps the range inside one region, so gmem_ptr succeeds. */
	if (!gl_place(mem, b, *cur, pages * PAGE_SIZE, &at) ||
	    !(p = gmem_ptr(mem, at, pages * PAGE_SIZE)))
		return errf(err, errlen, "no room in RAM after the kernel for its "
			    "boot page tables (%llu KiB at 0x%llx)",
			    (unsigned long long)(pages * PAGE_SIZE / KiB),
			    (unsigned long long)*cur);
	memset(p, 0, pages * PAGE_SIZE);
	gl_identity_map(p, at, nr_pd);

	gpa_t gdt = at + (2 + nr_pd) * PAGE_SIZE;
	uint64_t *g = (uint64_t *)(p + (gdt - at));
	g[X86_BOOT_CS / 8] = X86_GDT_CODE64;
	g[X86_BOOT_DS / 8] = X86_GDT_DATA;

	/* SDM vol. 3A §9.8.5: PAE, LME, then PG gives IA-32e mode (LMA). */
	x86_state_long64(s, at, gdt, GDT_ENTRIES * 8 - 1);
	s->regs.gpr[REG_RSP] = at + pages * PAGE_SIZE;
	*cur = at + pages * PAGE_SIZE;
	return 0;
}
