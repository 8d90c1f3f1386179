/*
 * Switching the guest state VMRUN leaves alone.  With XSAVE (SDM vol. 1
 * ch. 13): XCR0 is raised to every user component the CPU has before the
 * next guest's XRSTOR, so components that guest never saved are put in
 * their initial state instead of keeping the previous guest's values.
 */
#include "arch/x86/fpu.h"
#include "arch/x86/cpu.h"
#include "mm/mm.h"
#include "lib/string.h"

#define CR4_OSFXSR      (1ULL << 9)
#define CR4_OSXMMEXCPT  (1ULL << 10)
#define CR4_OSXSAVE     (1ULL << 18)
#define MSR_TSC_AUX     0xc0000103
/*
 * The user state components switched with a vCPU: every one the host has
 * (CPUID.(EAX=0DH,ECX=0):EDX:EAX, SDM vol. 1 §13.2), not only those the
 * guest's CPUID offers (x87, SSE, AVX, AVX-512: core/cpuid.c).  Where the
 * XSETBV intercept is not taken (QEMU's TCG, docs/emulators.md) a guest can
 * still enable a hidden component such as PKRU (9), MPX (3, 4) or AMX (17,
 * 18) and load it with XRSTOR, whatever CR4.PKE says (SDM vol. 1 §13.5.7).
 * Saved and restored with the vCPU like the rest, its value stays that
 * guest's own: no other vCPU, and no VM's XRSTOR of another layout, ever
 * sees it.  Supervisor components (IA32_XSS) stay off: XSAVES is hidden and
 * IA32_XSS raises #GP (core/msr.c).
 */

static bool has_xsave, has_rdtscp;
static uint64_t xcr0_max = 3;
static uint32_t area_size = 512;
static uint32_t mxcsr_mask;

static inline uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static inline void xsetbv0(uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

void fpu_cpu_init(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	has_xsave = r.ecx & (1u << 26);
	has_rdtscp = cpuid(0x80000001, 0).edx & (1u << 27);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | (has_xsave ? CR4_OSXSAVE : 0));
	if (has_xsave) {
		struct cpuid_regs d = cpuid(0xd, 0);
		xcr0_max = ((uint64_t)d.edx << 32) | d.eax;
		xsetbv0(xcr0_max);
		area_size = cpuid(0xd, 0).ebx;      /* for xcr0_max, now in force */
	}
	if (!mxcsr_mask) {
		/* FXSAVE stores MXCSR_MASK at byte 28; 0 there means the
		 * default 0xffbf (SDM vol. 1 §11.6.6). */
		static uint8_t fx[512] __attribute__((aligned(16)));
		uint32_t m;
		__asm__ volatile("fxsave64 %0" : "=m"(fx));
		memcpy(&m, fx + 28, 4);
		mxcsr_mask = m ? m : 0xffbf;
	}
}

bool fpu_state_init(struct fpu_state *f)
{
	uint64_t pages = ALIGN_UP((uint64_t)area_size, PAGE_SIZE) / PAGE_SIZE;
	hpa_t pa = page_zalloc(pages, PAGE_SIZE);

	memset(f, 0, sizeof(*f));
	if (!pa)
		return false;
	f->area = hpa_to_hva(pa);
	/* FXSAVE layout: FCW at 0 (0x37f after FNINIT), MXCSR at 24 (0x1f80).
	 * With XSAVE an all-zero header (XSTATE_BV = 0) means "initial". */
	*(uint16_t *)f->area = 0x37f;
	*(uint32_t *)((uint8_t *)f->area + 24) = 0x1f80;
	f->xcr0 = 1;            /* x87 only, as after reset */
	return true;
}

void fpu_state_free(struct fpu_state *f)
{
	if (f->area)
		page_free(hva_to_hpa(f->area), ALIGN_UP((uint64_t)area_size, PAGE_SIZE) / PAGE_SIZE);
	f->area = NULL;
}

void fpu_load(const struct fpu_state *f)
{
	if (has_xsave) {
		xsetbv0(xcr0_max);
		__asm__ volatile("xrstor64 (%0)" : : "r"(f->area), "a"(~0u), "d"(~0u) : "memory");
		xsetbv0(f->xcr0);
	} else {
		__asm__ volatile("fxrstor64 (%0)" : : "r"(f->area) : "memory");
	}
	__asm__ volatile("mov %0, %%db0" : : "r"(f->dr[0]));
	__asm__ volatile("mov %0, %%db1" : : "r"(f->dr[1]));
	__asm__ volatile("mov %0, %%db2" : : "r"(f->dr[2]));
	__asm__ volatile("mov %0, %%db3" : : "r"(f->dr[3]));
	if (has_rdtscp)
		wrmsr(MSR_TSC_AUX, f->tsc_aux);
}

void fpu_save(struct fpu_state *f)
{
	if (has_xsave) {
		/* Save under the widest XCR0: SSE registers are live even when
		 * the guest's XCR0 is x87 only, and XSAVE saves only XCR0's parts. */
		f->xcr0 = xgetbv0();
		xsetbv0(xcr0_max);
		__asm__ volatile("xsave64 (%0)" : : "r"(f->area), "a"(~0u), "d"(~0u) : "memory");
	} else {
		__asm__ volatile("fxsave64 (%0)" : : "r"(f->area) : "memory");
	}
	__asm__ volatile("mov %%db0, %0" : "=r"(f->dr[0]));
	__asm__ volatile("mov %%db1, %0" : "=r"(f->dr[1]));
	__asm__ volatile("mov %%db2, %0" : "=r"(f->dr[2]));
	__asm__ volatile("mov %%db3, %0" : "=r"(f->dr[3]));
}

uint32_t fpu_area_size(void)
{
	return area_size;
}

bool fpu_area_ok(const void *area, uint64_t xcr0)
{
	const uint8_t *a = area;
	uint32_t mxcsr;

	/* Bits 31:16 of MXCSR are reserved on every CPU. */
	memcpy(&mxcsr, a + 24, 4);
	if (mxcsr >> 16)
		return false;
	if (!has_xsave)
		return xcr0 == 1;
	/* XSTATE_BV within XCR0's features, XCOMP_BV 0 (standard form), the
	 * rest of the 64-byte header zero; XCR0 itself one XSETBV takes. */
	uint64_t hdr[8];
	memcpy(hdr, a + 512, sizeof(hdr));
	if ((hdr[0] & ~xcr0_max) || (xcr0 & ~xcr0_max) || !(xcr0 & 1) ||
	    ((xcr0 & 4) && !(xcr0 & 2)))
		return false;
	for (unsigned i = 1; i < 8; i++)
		if (hdr[i])
			return false;
	return true;
}

uint64_t fpu_xcr0_now(void)
{
	return has_xsave ? xgetbv0() : 1;
}

void fpu_get_layout(struct fpu_layout *l)
{
	l->xsave = has_xsave;
	l->avx_off = has_xsave && (xcr0_max & 4) ? cpuid(0xd, 2).ebx : 0;
	l->mxcsr_mask = mxcsr_mask ? mxcsr_mask : 0xffbf;
}
