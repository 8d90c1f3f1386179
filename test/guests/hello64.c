/*
 * hello64: a plain ELF64 kernel.  kasane enters it in 64-bit long mode with
 * paging on, interrupts off, a GDT with 64-bit code at 0x08, RDI = GPA of a
 * Multiboot2-format information structure, RSI = 0x36D76289
 * (guest-loader/loader.h).  crt64.S saved what it found at entry; this
 * checks it, and that EFER.LMA reads back set (kasane emulates EFER reads).
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "hello64";

extern uint64_t entry_rflags, entry_cs;
extern struct __attribute__((packed)) { uint16_t limit; uint64_t base; } entry_gdtr;

#define DESC_L          (1ull << 53)    /* 64-bit code segment (APM vol. 2 §4.8.1) */
#define DESC_D          (1ull << 54)
#define DESC_P          (1ull << 47)
#define DESC_CODE       (3ull << 43)    /* S = 1, type bit 3 = code */

static void check_entry_cs(void)
{
	uint16_t sel = (uint16_t)entry_cs;

	guest_check_eq("CS at entry", sel, 0x08);
	if ((sel | 7u) > entry_gdtr.limit || sel < 8) {
		guest_fail("CS 0x%x at entry is outside the GDT (limit 0x%x)", sel,
			   entry_gdtr.limit);
		return;
	}
	uint64_t d = *(const volatile uint64_t *)(uintptr_t)(entry_gdtr.base + (sel & ~7u));
	guest_printf("hello64: entry GDT at 0x%lx, CS 0x%x descriptor 0x%016lx\n",
		     entry_gdtr.base, sel, d);
	if ((d & (DESC_P | DESC_CODE)) != (DESC_P | DESC_CODE) || !(d & DESC_L) || (d & DESC_D))
		guest_fail("CS descriptor 0x%lx is not a present 64-bit code segment (L=1, D=0)", d);
}

void test_main(void)
{
	guest_printf("hello from a 64-bit ELF guest\n");
	guest_check_eq("RSI at entry", boot_magic, MB2_BOOT_MAGIC);
	if (!mb2_valid(boot_info))
		guest_fail("RDI 0x%lx at entry is not a valid Multiboot2 information structure",
			   boot_info);
	else
		guest_printf("hello64: command line \"%s\"\n", mb2_cmdline(boot_info));

	uint64_t efer = rdmsr(MSR_EFER);
	guest_printf("hello64: EFER 0x%lx CR0 0x%lx CR4 0x%lx RFLAGS at entry 0x%lx\n",
		     efer, read_cr0(), read_cr4(), entry_rflags);
	if (!(efer & EFER_LMA) || !(efer & EFER_LME))
		guest_fail("EFER 0x%lx: LME and LMA should be set in long mode", efer);
	if (!(read_cr0() & CR0_PG) || !(read_cr4() & CR4_PAE))
		guest_fail("CR0 0x%lx CR4 0x%lx: paging and PAE should be on", read_cr0(),
			   read_cr4());
	if (entry_rflags & RFLAGS_IF)
		guest_fail("RFLAGS 0x%lx at entry: interrupts should be off", entry_rflags);
	check_entry_cs();
}
