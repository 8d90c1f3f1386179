/* Architectural vCPU states; see x86_state.h. */
#include "arch/x86/x86_state.h"
#include "arch/x86/x86_defs.h"
#include "lib/string.h"

static struct x86_seg seg(uint16_t sel, uint64_t base, uint32_t limit, uint32_t attr)
{
	return (struct x86_seg){ .base = base, .limit = limit, .selector = sel, .attr = attr };
}

/* Access bytes: present, DPL 0; code execute/read accessed, data read/write accessed. */
#define ATTR_CODE16     (SEG_ATTR_P | SEG_ATTR_S | 0xb)
#define ATTR_DATA16     (SEG_ATTR_P | SEG_ATTR_S | 0x3)
#define ATTR_LDT        (SEG_ATTR_P | 0x2)
/* A busy 32/64-bit TSS.  After RESET the SDM says only "present, R/W";
 * type 11 is what VM entry checks accept (SDM vol. 3C §26.3.1.2) and what
 * a CPU needs in TR to enter long mode later (Bochs checks it). */
#define ATTR_TSS_BUSY   (SEG_ATTR_P | 0xb)

static void common_reset(struct x86_sregs *r)
{
	r->ldtr = seg(0, 0, 0xffff, ATTR_LDT);
	r->tr = seg(0, 0, 0xffff, ATTR_TSS_BUSY);
	r->pat = X86_PAT_RESET;
	r->dr6 = 0xffff0ff0;
	r->dr7 = 0x400;
}

void x86_state_reset(struct x86_vcpu_state *s)
{
	struct x86_sregs *r = &s->sregs;

	memset(s, 0, sizeof(*s));
	common_reset(r);
	for (int i = 0; i < NR_SEGS; i++)
		r->seg[i] = seg(0, 0, 0xffff, ATTR_DATA16);
	r->seg[SEG_CS] = seg(0xf000, 0xffff0000, 0xffff, ATTR_CODE16);
	r->gdt = (struct x86_dtable){ 0, 0xffff };
	r->idt = (struct x86_dtable){ 0, 0xffff };
	/*
	 * CD and NW are set at power-up.  Both emulators and every back end
	 * accept CD|NW, but QEMU's SVM refuses NW without CD only; ET alone
	 * (caches on) is what kasane has always used and no real-mode code
	 * can tell the difference.
	 */
	r->cr0 = CR0_ET;
	s->regs.gpr[REG_RDX] = 0x600;   /* processor signature: family 6 */
	s->regs.rip = 0xfff0;
	s->regs.rflags = 2;
}

void x86_state_sipi(struct x86_vcpu_state *s, uint8_t vector)
{
	s->sregs.seg[SEG_CS] = seg((uint16_t)vector << 8, (uint64_t)vector << 12, 0xffff,
				   ATTR_CODE16);
	s->regs.rip = 0;
}

static void flat(struct x86_sregs *r, uint32_t code_attr)
{
	const uint32_t data = SEG_ATTR_P | SEG_ATTR_S | 0x3 | SEG_ATTR_DB | SEG_ATTR_G;

	for (int i = 0; i < NR_SEGS; i++)
		r->seg[i] = seg(X86_BOOT_DS, 0, 0xffffffff, data);
	r->seg[SEG_CS] = seg(X86_BOOT_CS, 0, 0xffffffff, code_attr);
	common_reset(r);        /* no LDT or TSS is loaded yet */
}

void x86_state_flat32(struct x86_vcpu_state *s)
{
	memset(s, 0, sizeof(*s));
	flat(&s->sregs, SEG_ATTR_P | SEG_ATTR_S | 0xb | SEG_ATTR_DB | SEG_ATTR_G);
	s->sregs.cr0 = CR0_PE | CR0_ET;
	s->regs.rflags = 2;
}

void x86_state_long64(struct x86_vcpu_state *s, uint64_t cr3, uint64_t gdt_base,
		      uint16_t gdt_limit)
{
	memset(s, 0, sizeof(*s));
	/* L=1 requires D/B=0 (SDM vol. 3A §5.2.1). */
	flat(&s->sregs, SEG_ATTR_P | SEG_ATTR_S | 0xb | SEG_ATTR_L | SEG_ATTR_G);
	s->sregs.gdt = (struct x86_dtable){ gdt_base, gdt_limit };
	s->sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s->sregs.cr3 = cr3;
	s->sregs.cr4 = CR4_PAE;
	s->sregs.efer = EFER_LME | EFER_LMA;
	s->regs.rflags = 2;
}
