/* The guest's CR0, CR4 and XCR0 checks; see ctlreg.h. */
#include "core/ctlreg.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/regs.h"

#define B(n)            (1ull << (n))
enum { EAX, EBX, ECX, EDX };

/*
 * Each CR4 bit and the CPUID feature that makes it exist (SDM vol. 3A
 * §2.5, APM vol. 2 §3.1.3): a bit whose feature the
 * guest's CPUID hides is reserved for it and a MOV that sets it raises
 * #GP(0).  TSD and PCE exist wherever their instructions do.
 */
static const struct {
	uint8_t bit;
	uint32_t leaf, sub;
	uint8_t reg, feature;
} cr4_features[] = {
	{ 0, 1, 0, EDX, 1 },            /* VME: VME */
	{ 1, 1, 0, EDX, 1 },            /* PVI: VME */
	{ 2, 1, 0, EDX, 4 },            /* TSD: TSC */
	{ 3, 1, 0, EDX, 2 },            /* DE */
	{ 4, 1, 0, EDX, 3 },            /* PSE */
	{ 5, 1, 0, EDX, 6 },            /* PAE */
	{ 6, 1, 0, EDX, 7 },            /* MCE */
	{ 7, 1, 0, EDX, 13 },           /* PGE */
	{ 9, 1, 0, EDX, 24 },           /* OSFXSR: FXSR */
	{ 10, 1, 0, EDX, 25 },          /* OSXMMEXCPT: SSE */
	{ 11, 7, 0, ECX, 2 },           /* UMIP */
	{ 12, 7, 0, ECX, 16 },          /* LA57 */
	{ 13, 1, 0, ECX, 5 },           /* VMXE: VMX */
	{ 14, 1, 0, ECX, 6 },           /* SMXE: SMX */
	{ 16, 7, 0, EBX, 0 },           /* FSGSBASE */
	{ 17, 1, 0, ECX, 17 },          /* PCIDE: PCID */
	{ 18, 1, 0, ECX, 26 },          /* OSXSAVE: XSAVE */
	{ 19, 7, 0, ECX, 23 },          /* KL */
	{ 20, 7, 0, EBX, 7 },           /* SMEP */
	{ 21, 7, 0, EBX, 20 },          /* SMAP */
	{ 22, 7, 0, ECX, 3 },           /* PKE: PKU */
	{ 23, 7, 0, ECX, 7 },           /* CET: CET_SS */
	{ 23, 7, 0, EDX, 20 },          /* CET: CET_IBT */
	{ 24, 7, 0, ECX, 31 },          /* PKS */
	{ 25, 7, 0, EDX, 5 },           /* UINTR */
	{ 28, 7, 1, EAX, 26 },          /* LAM_SUP: LAM */
};

#define CR4_PCE         B(8)
#define CR4_LA57        B(12)
#define CR4_PCIDE       B(17)

uint64_t ctlreg_cr4_allowed(const struct cpuid_ctx *c)
{
	uint32_t max[4], r[4];
	uint64_t ok = CR4_PCE;

	cpuid_guest(c, 0, 0, max);
	for (unsigned i = 0; i < sizeof(cr4_features) / sizeof(cr4_features[0]); i++) {
		if (cr4_features[i].leaf > max[EAX])
			continue;
		cpuid_guest(c, cr4_features[i].leaf, cr4_features[i].sub, r);
		if (r[cr4_features[i].reg] & (1u << cr4_features[i].feature))
			ok |= B(cr4_features[i].bit);
	}
	return ok;
}

uint64_t ctlreg_xcr0_allowed(const struct cpuid_ctx *c)
{
	uint32_t r[4];

	cpuid_guest(c, 1, 0, r);
	if (!(r[ECX] & (1u << 26)))     /* no XSAVE: no XCR0 to write */
		return 0;
	cpuid_guest(c, 0xd, 0, r);
	return (uint64_t)r[EDX] << 32 | r[EAX];
}

/* CR0 bits that exist (SDM vol. 3A §2.5): PE MP EM TS ET NE WP AM NW CD PG. */
#define CR0_KNOWN       (0xe005003full)

bool ctlreg_cr0_check(const struct ctlreg_state *s, uint64_t *val, uint64_t *efer)
{
	uint64_t v = *val;

	/* Bits 63:32 reserved; NW without CD; PG without PE (SDM vol. 2B MOV
	 * CRn, "Protected Mode Exceptions"; APM vol. 2 §3.1.1). */
	if ((v >> 32) || ((v & CR0_NW) && !(v & CR0_CD)) || ((v & CR0_PG) && !(v & CR0_PE)))
		return false;
	/* The low reserved bits are ignored, ET is hardwired to 1. */
	v = (v & CR0_KNOWN) | CR0_ET;
	*efer = s->efer;
	if ((v & CR0_PG) && !(s->cr0 & CR0_PG) && (s->efer & EFER_LME)) {
		/* Activating long mode needs PAE, and CS.L clear (SDM vol.
		 * 3A §10.8.5; vol. 2B MOV CRn). */
		if (!(s->cr4 & CR4_PAE) || s->cs_l_bit)
			return false;
		*efer |= EFER_LMA;
	}
	if (!(v & CR0_PG) && (s->cr0 & CR0_PG)) {
		/* Clearing PG in 64-bit mode or with PCIDE set: #GP (vol. 2B
		 * MOV CRn); in compatibility mode it leaves long mode. */
		if (((s->efer & EFER_LMA) && s->cs_l) || (s->cr4 & CR4_PCIDE))
			return false;
		*efer &= ~(uint64_t)EFER_LMA;
	}
	*val = v;
	return true;
}

bool ctlreg_cr3_check(const struct ctlreg_state *s, uint64_t *val, unsigned maxphyaddr,
		      bool *noflush)
{
	uint64_t v = *val;

	*noflush = false;
	if (!(s->efer & EFER_LMA)) {
		*val = (uint32_t)v;     /* a 32-bit MOV; PAE ignores bits 4:0 itself */
		return true;
	}
	if (s->cr4 & CR4_PCIDE) {
		*noflush = v >> 63;
		v &= ~B(63);
	}
	if (maxphyaddr < 64 && (v >> maxphyaddr))
		return false;
	*val = v;
	return true;
}

bool ctlreg_cr4_check(const struct ctlreg_state *s, uint64_t val, uint64_t allowed)
{
	if (val & ~allowed)
		return false;
	if (s->efer & EFER_LMA) {
		/* Long mode cannot lose PAE nor change its paging depth. */
		if (!(val & CR4_PAE) || ((val ^ s->cr4) & CR4_LA57))
			return false;
	}
	/* PCIDE only in IA-32e mode and with CR3[11:0] = 0 (vol. 2B MOV CRn). */
	if ((val & CR4_PCIDE) && !(s->cr4 & CR4_PCIDE) &&
	    (!(s->efer & EFER_LMA) || (s->cr3 & 0xfff)))
		return false;
	return true;
}

bool ctlreg_xcr0_check(uint64_t val, uint64_t allowed)
{
	/* SDM vol. 1 §13.3 and vol. 2C XSETBV: x87 always; AVX with SSE; the
	 * three AVX-512 states together and with AVX; MPX's two together;
	 * AMX's two together; nothing CPUID does not offer. */
	if ((val & ~allowed) || !(val & B(0)) || ((val & B(2)) && !(val & B(1))))
		return false;
	if ((val & 0xe0) && ((val & 0xe0) != 0xe0 || !(val & B(2))))
		return false;
	if (!!(val & B(3)) != !!(val & B(4)))
		return false;
	if (!!(val & B(17)) != !!(val & B(18)))
		return false;
	return true;
}

bool ctlreg_sregs_ok(const struct x86_sregs *s, uint64_t cr4_allowed)
{
	bool lma = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);
	bool l = (s->seg[SEG_CS].attr & SEG_ATTR_L) != 0;
	struct ctlreg_state cs = { s->cr0, s->cr3, s->cr4, s->efer, lma && l, l };
	uint64_t cr0 = s->cr0, efer;
	uint32_t cs_attr = s->seg[SEG_CS].attr;

	/* A 64-bit CS has D clear (SDM vol. 3A §5.2.1; vol. 3C §27.3.1.2). */
	if (!ctlreg_cr0_check(&cs, &cr0, &efer) || !ctlreg_cr4_check(&cs, s->cr4, cr4_allowed) ||
	    !!(s->efer & EFER_LMA) != lma || (lma && !(s->cr4 & CR4_PAE)) ||
	    (lma && (cs_attr & SEG_ATTR_L) && (cs_attr & SEG_ATTR_DB)))
		return false;
	for (unsigned k = 0; k < NR_SEGS; k++)
		if (s->seg[k].attr & ~(0xf0ffu | SEG_ATTR_UNUSABLE))
			return false;
	return true;
}
