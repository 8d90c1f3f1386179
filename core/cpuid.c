/*
 * The guest's CPUID; see cpuid.h.
 *
 * Feature bits pass through keep-lists rather than drop-lists: a bit the
 * host adds in some future CPU stays hidden until someone decides kasane
 * can give it to a guest.  A feature is kept when the guest can use it
 * with nothing from the hypervisor (instruction-set extensions, paging
 * features the guest page-table walker in core/gpt.c understands).  It is
 * dropped when it needs MSRs, exits or state kasane does not virtualize
 * (machine check, performance monitoring, thermal and power
 * management, debug store, SGX, PT, CET, MPX, AMX, protection keys,
 * x2APIC, TSC deadline, MONITOR/MWAIT, nested virtualization).  Leaves
 * not listed here, and leaves above the maxima reported in leaf 0 and
 * 0x80000000, read as zeros (hardware would repeat the highest basic
 * leaf, SDM vol. 2A CPUID; zeros are clearer).
 */
#include "core/cpuid.h"
#include "core/pvclock.h"
#include "devices/vlapic.h"
#include "arch/x86/cpu.h"

#define B(n)                    (1u << (n))

#define MAX_BASIC               0x1fu   /* highest basic leaf modelled */
#define MIN_BASIC               0x0bu   /* leaf 0xB is synthesized, so always offered */
#define MAX_EXT                 0x80000008u

/* Leaf 1 (SDM vol. 2A Tables 3-10, 3-11; APM vol. 3 E.3.2). */
#define L1_ECX_XSAVE            B(26)
#define L1_ECX_OSXSAVE          B(27)
#define L1_ECX_HYPERVISOR       B(31)
#define L1_EDX_HTT              B(28)
/* ECX kept: SSE3 0, PCLMULQDQ 1, SSSE3 9, FMA 12, CMPXCHG16B 13, PCID 17,
 * SSE4.1 19, SSE4.2 20, MOVBE 22, POPCNT 23, AES 25, XSAVE 26, AVX 28,
 * F16C 29, RDRAND 30.  Dropped: DTES64 2, MONITOR 3, DS-CPL 4, VMX 5,
 * SMX 6, EST 7, TM2 8, CNXT-ID 10, SDBG 11, xTPR 14, PDCM 15, DCA 18;
 * OSXSAVE 27 follows the guest's CR4.  x2APIC 21 and TSC-deadline 24 are
 * always set: the virtual local APIC (devices/vlapic.c) offers both. */
#define L1_ECX_EMULATED         (B(21) | B(24))
#define L1_ECX_KEEP             (B(0) | B(1) | B(9) | B(12) | B(13) | B(17) | B(19) | \
				 B(20) | B(22) | B(23) | B(25) | B(26) | B(28) | B(29) | B(30))
/* EDX kept: FPU 0, VME 1, DE 2, PSE 3, TSC 4, MSR 5, PAE 6, CX8 8, APIC 9,
 * SEP 11, MTRR 12 (modelled in core/msr.c: Linux 6.1 turns PAT off on a
 * CPU without MTRRs), PGE 13, CMOV 15, PAT 16, PSE-36 17, CLFSH 19, MMX 23,
 * FXSR 24, SSE 25, SSE2 26, SS 27.  Dropped: MCE 7, MCA 14, PSN 18, DS 21,
 * ACPI 22, TM 29, PBE 31; HTT 28 follows nr_vcpus. */
#define L1_EDX_KEEP             (B(0) | B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(8) | \
				 B(9) | B(11) | B(12) | B(13) | B(15) | B(16) | B(17) | \
				 B(19) | B(23) | B(24) | B(25) | B(26) | B(27))

/* Leaf 7 subleaf 0 (SDM vol. 2A Table 3-8).  EBX kept: FSGSBASE 0, BMI1 3,
 * HLE 4, AVX2 5, FDP_EXCPTN_ONLY 6, SMEP 7, BMI2 8, ERMS 9, INVPCID 10,
 * RTM 11, FPU CS/DS deprecated 13, AVX512F 16, AVX512DQ 17, RDSEED 18,
 * ADX 19, SMAP 20, AVX512_IFMA 21, CLFLUSHOPT 23, CLWB 24, AVX512PF 26,
 * AVX512ER 27, AVX512CD 28, SHA 29, AVX512BW 30, AVX512VL 31.  Dropped:
 * TSC_ADJUST 1, SGX 2, RDT-M 12, MPX 14, RDT-A 15, PT 25. */
#define L7_EBX_KEEP             (B(0) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) | B(9) | \
				 B(10) | B(11) | B(13) | B(16) | B(17) | B(18) | B(19) | \
				 B(20) | B(21) | B(23) | B(24) | B(26) | B(27) | B(28) | \
				 B(29) | B(30) | B(31))
/* ECX kept: PREFETCHWT1 0, AVX512_VBMI 1, UMIP 2, AVX512_VBMI2 6, GFNI 8,
 * VAES 9, VPCLMULQDQ 10, AVX512_VNNI 11, AVX512_BITALG 12,
 * AVX512_VPOPCNTDQ 14, LA57 16 (gpt.c walks 5 levels), RDPID 22,
 * CLDEMOTE 25, MOVDIRI 27, MOVDIR64B 28.  Dropped: PKU 3 and OSPKE 4 (the
 * emulator's walker cannot see PKRU), WAITPKG 5, CET_SS 7, TME 13,
 * KL 23, BUS_LOCK_DETECT 24, ENQCMD 29, SGX_LC 30. */
#define L7_ECX_KEEP             (B(0) | B(1) | B(2) | B(6) | B(8) | B(9) | B(10) | B(11) | \
				 B(12) | B(14) | B(16) | B(22) | B(25) | B(27) | B(28))
/* EDX kept: AVX512_4VNNIW 2, AVX512_4FMAPS 3, FSRM 4, AVX512_VP2INTERSECT 8,
 * MD_CLEAR 10, SERIALIZE 14, TSXLDTRK 16, AVX512_FP16 23.  Dropped among
 * others: hybrid 15, PCONFIG 18, CET_IBT 20, AMX 22/24/25, and the
 * speculation controls 26-29, 31 (only SPEC_CTRL's low bits and PRED_CMD
 * are emulated, core/msr.c, not ARCH_CAPABILITIES or FLUSH_CMD). */
#define L7_EDX_KEEP             (B(2) | B(3) | B(4) | B(8) | B(10) | B(14) | B(16) | B(23))
/* Subleaf 1 EAX kept: AVX-VNNI 4, AVX512_BF16 5, fast zero-length MOVSB 10,
 * fast short STOSB 11, fast short CMPSB/SCASB 12, AVX-IFMA 23.  Dropped:
 * LAM 26 (changes linear-address checks) and the rest.  EDX kept:
 * AVX-VNNI-INT8 4, AVX-NE-CONVERT 5. */
#define L7_1_EAX_KEEP           (B(4) | B(5) | B(10) | B(11) | B(12) | B(23))
#define L7_1_EDX_KEEP           (B(4) | B(5))

/* Leaf 0xD (SDM vol. 1 §13.2): XCR0 components offered: x87 0, SSE 1,
 * AVX 2, AVX-512 opmask 5, ZMM_Hi256 6, Hi16_ZMM 7.  Not MPX 3/4, PKRU 9,
 * AMX 17/18.  Subleaf 1 EAX kept: XSAVEOPT 0, XSAVEC 1, XGETBV with
 * ECX=1 2; not XSAVES 3 or XFD 4 (IA32_XSS, IA32_XFD not emulated). */
#define XCR0_KEEP               0xe7ull
#define LD_1_EAX_KEEP           (B(0) | B(1) | B(2))
#define XSAVE_LEGACY_SIZE       576u    /* legacy area 512 + header 64 */

/* Leaf 0x80000001 (APM vol. 3 E.4.2; SDM vol. 2A Table 3-8).  ECX kept:
 * LAHF/SAHF 0, ABM/LZCNT 5, SSE4A 6, MisAlignSse 7, 3DNowPrefetch 8, XOP 11,
 * FMA4 16, TBM 21.  Dropped: SVM 2, ExtApicSpace 3, AltMovCr8 4, OSVW 9,
 * IBS 10, SKINIT 12, WDT 13, LWP 15, TCE 17, TopologyExtensions 22,
 * performance counter extensions 23, 24, 27, 28, DataBkptExt 26,
 * MONITORX 29; CmpLegacy 1 follows nr_vcpus on AMD. */
#define E1_ECX_SVM              B(2)
#define E1_ECX_CMP_LEGACY       B(1)
#define E1_ECX_KEEP             (B(0) | B(5) | B(6) | B(7) | B(8) | B(11) | B(16) | B(21))
/* EDX kept: the leaf-1 duplicates on AMD (0-6, 8, 9, 12, 13, 15-17, 23,
 * 24), SYSCALL 11, NX 20, MmxExt 22, FFXSR 25, Page1GB 26, RDTSCP 27, LM 29,
 * 3DNowExt 30, 3DNow 31.  Dropped: MCE 7, MCA 14. */
#define E1_EDX_KEEP             (B(0) | B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(8) | \
				 B(9) | B(11) | B(12) | B(13) | B(15) | B(16) | B(17) | B(20) | \
				 B(22) | B(23) | B(24) | B(25) | B(26) | B(27) | B(29) | \
				 B(30) | B(31))
/*
 * Leaf 0x80000007 EDX: only invariant TSC 8 (APM vol. 3 E.4.6; SDM vol. 3B
 * §18.17.1), and only as kasane found the host: the guest TSC is the
 * host's plus one offset per VM (no scaling), so it is one constant-rate
 * clock for all vCPUs exactly when the host's TSCs are.  Every CPU kasane
 * runs on (AMD-V with nested paging: family 10h and later; VT-x with EPT:
 * Nehalem and later) has a constant-rate TSC that runs in every C-state
 * kasane uses (HLT); what remains to know is whether the CPUs' TSCs are
 * synchronized, which the boot-time warp test measures.  An emulator that
 * does not set the bit itself (QEMU TCG) is shown it too when its TSCs
 * pass that test.
 */
#define E7_EDX_INVTSC           B(8)
/* Leaf 0x80000008 EBX kept: CLZERO 0, RstrFpErrPtrs 2, WBNOINVD 9 (APM
 * vol. 3 E.4.7).  Dropped: INVLPGB 3, RDPRU 4, and the speculation
 * controls 12-26, as in leaf 7. */
#define E8_EBX_KEEP             (B(0) | B(2) | B(9))

#define CR4_OSXSAVE             (1ull << 18)

/* "kasane" in EBX, ECX, EDX of leaf 0x40000000, little-endian. */
#define KASANE_SIG_EBX          0x6173616bu     /* "kasa" */
#define KASANE_SIG_ECX          0x0000656eu     /* "ne\0\0" */
#define KASANE_SIG_EDX          0x00000000u
/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX of leaf 0x40000100. */
#define KVM_SIG_EBX             0x4b4d564bu     /* "KVMK" */
#define KVM_SIG_ECX             0x564b4d56u     /* "VMKV" */
#define KVM_SIG_EDX             0x0000004du     /* "M\0\0\0" */

void cpuid_host(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	struct cpuid_regs r = cpuid(leaf, sub);

	out[0] = r.eax;
	out[1] = r.ebx;
	out[2] = r.ecx;
	out[3] = r.edx;
}

static void host(const struct cpuid_ctx *c, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	c->host(leaf, sub, out);
}

static uint32_t nr_vcpus(const struct cpuid_ctx *c)
{
	return c->nr_vcpus ? c->nr_vcpus : 1;
}

/* log2 of the smallest power of two >= nr_vcpus: the APIC ID bits per package. */
static uint32_t core_bits(const struct cpuid_ctx *c)
{
	uint32_t b = 0;

	while (b < 31 && (1u << b) < nr_vcpus(c))
		b++;
	return b;
}

static bool host_is_amd(const struct cpuid_ctx *c)
{
	uint32_t r[4];

	host(c, 0, 0, r);
	return r[1] == 0x68747541u ||   /* "Auth"enticAMD */
	       r[1] == 0x6f677948u;     /* "Hygo"nGenuine */
}

/* Leaf 1: features, APIC ID and logical processor count. */
static void leaf_1(const struct cpuid_ctx *c, uint32_t r[4])
{
	uint32_t n = MIN(nr_vcpus(c), 255u);
	bool xsave = r[2] & L1_ECX_XSAVE;

	r[1] = (r[1] & 0xffff) | (n << 16) | ((c->apic_id & 0xff) << 24);
	r[2] = (r[2] & L1_ECX_KEEP) | L1_ECX_EMULATED | L1_ECX_HYPERVISOR;
	if (xsave && (c->guest_cr4 & CR4_OSXSAVE))
		r[2] |= L1_ECX_OSXSAVE;
	r[3] &= L1_EDX_KEEP;
	if (n > 1)
		r[3] |= L1_EDX_HTT;
}

/*
 * Leaf 4 (Intel deterministic cache parameters): the caches as the host
 * has them, shared as the VM's topology says: one thread per core, all
 * vCPUs in one package sharing level 3 and up.  AMD hosts report zeros.
 */
static void leaf_4(const struct cpuid_ctx *c, uint32_t r[4])
{
	uint32_t ids = 1u << MIN(core_bits(c), 6u);
	uint32_t level = (r[0] >> 5) & 7;

	if ((r[0] & 0x1f) == 0) {       /* no cache at this subleaf */
		r[0] = r[1] = r[2] = r[3] = 0;
		return;
	}
	r[0] &= ~0xffffc000u;           /* bits 31:26 and 25:14 */
	r[0] |= (ids - 1) << 26;
	if (level >= 3)
		r[0] |= (ids - 1) << 14;
}

static void leaf_7(const struct cpuid_ctx *c, uint32_t sub, uint32_t r[4])
{
	if (sub == 0) {
		r[0] = MIN(r[0], 1u);
		r[1] &= L7_EBX_KEEP;
		r[2] &= L7_ECX_KEEP;
		r[3] &= L7_EDX_KEEP;
		return;
	}
	uint32_t s0[4];
	host(c, 7, 0, s0);
	if (sub == 1 && s0[0] >= 1) {
		r[0] &= L7_1_EAX_KEEP;
		r[1] = r[2] = 0;
		r[3] &= L7_1_EDX_KEEP;
		return;
	}
	r[0] = r[1] = r[2] = r[3] = 0;
}

/*
 * Leaves 0xB and 0x1F (x2APIC topology, SDM vol. 3A §10.12.8.1): an SMT
 * level of one thread, then a core level holding all vCPUs; the x2APIC ID
 * is apic_id.
 */
static void leaf_topology(const struct cpuid_ctx *c, uint32_t sub, uint32_t r[4])
{
	r[3] = c->apic_id;
	switch (sub) {
	case 0:
		r[0] = 0;
		r[1] = 1;
		r[2] = (1u << 8) | 0;           /* type 1: SMT */
		break;
	case 1:
		r[0] = core_bits(c);
		r[1] = nr_vcpus(c) & 0xffff;
		r[2] = (2u << 8) | 1;           /* type 2: core */
		break;
	default:
		r[0] = r[1] = 0;
		r[2] = sub & 0xff;              /* type 0: invalid */
		break;
	}
}

/*
 * Size of an XSAVE area holding the components in mask (SDM vol. 1
 * §13.4.3): standard format up to the end of the highest component, or
 * compacted format with each component after the previous, 64-byte
 * aligned when its subleaf says so (ECX bit 1).
 */
static uint32_t xsave_size(const struct cpuid_ctx *c, uint64_t mask, bool compacted)
{
	uint32_t size = XSAVE_LEGACY_SIZE;

	for (uint32_t i = 2; i < 63; i++) {
		uint32_t r[4];
		if (!((mask >> i) & 1))
			continue;
		host(c, 0xd, i, r);
		if (compacted)
			size = (r[2] & B(1) ? ALIGN_UP(size, 64u) : size) + r[0];
		else
			size = MAX(size, r[1] + r[0]);
	}
	return size;
}

/*
 * Leaf 0xD: the host's XSAVE layout restricted to XCR0_KEEP.  The sizes
 * that depend on XCR0 (subleaf 0 EBX, 1 EBX) come from guest_xcr0 over
 * whatever the host supports, since that is what XSAVE will write; with
 * guest_xcr0 = 0 the host's values (the current XCR0) are passed on.
 */
static void leaf_d(const struct cpuid_ctx *c, uint32_t sub, uint32_t r[4])
{
	uint32_t s0[4];
	uint64_t host_xcr0, offered;

	host(c, 0xd, 0, s0);
	host_xcr0 = ((uint64_t)s0[3] << 32) | s0[0];
	offered = host_xcr0 & XCR0_KEEP;
	switch (sub) {
	case 0:
		r[0] = (uint32_t)offered;
		r[3] = (uint32_t)(offered >> 32);
		if (c->guest_xcr0)
			r[1] = xsave_size(c, c->guest_xcr0 & host_xcr0, false);
		r[2] = xsave_size(c, offered, false);
		break;
	case 1:
		r[0] &= LD_1_EAX_KEEP;
		if (c->guest_xcr0)
			r[1] = xsave_size(c, c->guest_xcr0 & host_xcr0, true);
		r[2] = r[3] = 0;        /* no IA32_XSS components */
		break;
	default:
		if (sub >= 63 || !((offered >> sub) & 1))
			r[0] = r[1] = r[2] = r[3] = 0;
		break;
	}
}

/*
 * Leaf 0x15 (SDM vol. 2A CPUID): TSC = ECX (crystal Hz) * EBX / EAX.  The
 * crystal is the one that feeds the local APIC timer, and Linux sets its
 * timer period from it: so it is the guest's timer clock (1 GHz), not the
 * host's crystal, and the ratio is the measured TSC rate over it.  Linux
 * multiplies crystal kHz by EBX in 32 bits, so EBX stays below 4295: EAX is
 * 10^6 / g with g = tsc_khz / 4294 + 1, and EBX the nearest fraction over
 * it, within 1/4295 of the rate (a host TSC whose rate kasane did not
 * measure shows no leaf).
 */
static void leaf_15(const struct cpuid_ctx *c, uint32_t r[4])
{
	uint32_t crystal_khz = (uint32_t)(VLAPIC_BUS_HZ / 1000);
	uint32_t g = c->tsc_khz / 4294 + 1;

	r[0] = r[1] = r[2] = r[3] = 0;
	if (!c->tsc_khz)
		return;
	/* EBX rounded against the EAX kept: within 1/4295 of the rate, and
	 * at most tsc_khz / g < 4294. */
	r[0] = crystal_khz / g;
	r[1] = (uint32_t)(((uint64_t)c->tsc_khz * r[0] + crystal_khz / 2) / crystal_khz);
	r[2] = (uint32_t)VLAPIC_BUS_HZ;
}

static void cpuid_basic(const struct cpuid_ctx *c, uint32_t leaf, uint32_t sub,
			uint32_t hmax, uint32_t gmax, uint32_t out[4])
{
	/* Synthesized leaves first: they do not need the host to have them. */
	if (leaf == 0xb || leaf == 0x1f) {
		leaf_topology(c, sub, out);
		return;
	}
	if (leaf > hmax)
		return;
	switch (leaf) {
	case 0:
		host(c, 0, 0, out);
		out[0] = gmax;
		break;
	case 1:
		host(c, 1, 0, out);
		leaf_1(c, out);
		break;
	case 2:         /* cache and TLB descriptors */
		host(c, leaf, 0, out);
		break;
	case 0x15:
		leaf_15(c, out);
		break;
	/* 0x16 (nominal frequencies) stays zero: Linux takes its base
	 * frequency as the TSC's when 0x15 gives no crystal, and Bochs's
	 * Intel model says 3.5 GHz there for a TSC that counts instructions. */
	case 4:
		host(c, 4, sub, out);
		leaf_4(c, out);
		break;
	case 7:
		host(c, 7, sub, out);
		leaf_7(c, sub, out);
		break;
	case 0xd:
		host(c, 0xd, sub, out);
		leaf_d(c, sub, out);
		break;
	default:        /* 3 PSN, 5 MONITOR, 6 thermal/power, 0xA perfmon, RDT, SGX, PT, ... */
		break;
	}
}

static void cpuid_ext(const struct cpuid_ctx *c, uint32_t leaf, uint32_t gmax, uint32_t out[4])
{
	bool amd = host_is_amd(c);

	host(c, leaf, 0, out);
	switch (leaf) {
	case 0x80000000:
		out[0] = gmax;
		break;
	case 0x80000001:
		out[2] &= E1_ECX_KEEP;
		if (amd && nr_vcpus(c) > 1)
			out[2] |= E1_ECX_CMP_LEGACY;
		out[3] &= E1_EDX_KEEP;
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:     /* brand string */
	case 0x80000005: case 0x80000006:                       /* caches, TLBs */
		break;
	case 0x80000007:
		out[0] = out[1] = out[2] = 0;
		out[3] = c->tsc_invariant ? E7_EDX_INVTSC : 0;
		break;
	case 0x80000008:
		/* Physical and linear address sizes as the host's; guest
		 * physical size (23:16) 0 = same as physical (APM vol. 3 E.4.7).
		 * ECX on AMD: NC = cores - 1 (7:0), ApicIdSize (15:12). */
		out[0] &= 0xffff;
		out[1] &= E8_EBX_KEEP;
		out[2] = amd ? ((MIN(nr_vcpus(c), 256u) - 1) | (core_bits(c) << 12)) : 0;
		out[3] = 0;
		break;
	default:
		out[0] = out[1] = out[2] = out[3] = 0;
		break;
	}
}

void cpuid_guest(const struct cpuid_ctx *c, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	uint32_t r[4];

	out[0] = out[1] = out[2] = out[3] = 0;

	/* 0x40000000-0x4fffffff: reserved for hypervisors (SDM vol. 2A CPUID). */
	if (leaf >= 0x40000000u && leaf <= 0x4fffffffu) {
		if (leaf == CPUID_SIGNATURE_LEAF) {
			out[0] = CPUID_HV_MAX_LEAF;
			out[1] = KASANE_SIG_EBX;
			out[2] = KASANE_SIG_ECX;
			out[3] = KASANE_SIG_EDX;
		}
		/* 0x40000010: TSC and local APIC timer frequencies in kHz,
		 * the convention of VMware and KVM (Linux's vmware.c reads
		 * it for VMware's signature only). */
		if (leaf == CPUID_TIMING_LEAF) {
			out[0] = c->tsc_khz;
			out[1] = (uint32_t)(VLAPIC_BUS_HZ / 1000);
		}
		/* 0x40000100-0x40000101, paravirt = on only: KVM's signature
		 * and features: PV EOI and kvmclock (core/pvclock.c), with its
		 * stable bit where the host's TSCs are one clock; EDX, the
		 * hints, 0.  Nothing else of KVM is offered: no steal time,
		 * async PF or PV IPIs (docs/architecture.md, "Paravirtual
		 * EOI" and "kvmclock"). */
		if (c->paravirt && leaf == CPUID_KVM_SIGNATURE_LEAF) {
			out[0] = CPUID_KVM_FEATURES_LEAF;
			out[1] = KVM_SIG_EBX;
			out[2] = KVM_SIG_ECX;
			out[3] = KVM_SIG_EDX;
		}
		if (c->paravirt && leaf == CPUID_KVM_FEATURES_LEAF)
			out[0] = (1u << KVM_FEATURE_PV_EOI) | (1u << KVM_FEATURE_CLOCKSOURCE2) |
				 (c->tsc_invariant ? 1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT : 0);
		/* 0x40000001: feature flags, none yet; the rest unused. */
		return;
	}

	if (leaf < 0x80000000u) {
		host(c, 0, 0, r);
		uint32_t hmax = r[0];
		uint32_t gmax = MAX(MIN(hmax, MAX_BASIC), MIN_BASIC);
		if (leaf <= gmax)
			cpuid_basic(c, leaf, subleaf, hmax, gmax, out);
		return;
	}

	host(c, 0x80000000u, 0, r);
	uint32_t hmax = r[0];
	if (hmax < 0x80000000u || hmax > 0x8000ffffu)
		hmax = 0x80000000u;     /* no extended leaves beyond the max leaf */
	uint32_t gmax = MIN(hmax, MAX_EXT);
	if (leaf <= gmax)
		cpuid_ext(c, leaf, gmax, out);
}

/* ---- the table ------------------------------------------------------------ */

/* Slot + 1 in cpuid_table.indexed of the leaves whose ECX picks a subleaf. */
static const uint8_t indexed_slot[CPUID_TABLE_BASIC] = {
	[4] = 1, [7] = 2, [0xb] = 3, [0xd] = 4, [0x1f] = 5,
};
#define SLOT_D  3u

static void copy4(uint32_t out[4], const uint32_t r[4])
{
	out[0] = r[0];
	out[1] = r[1];
	out[2] = r[2];
	out[3] = r[3];
}

void cpuid_table_init(struct cpuid_table *t, const struct cpuid_ctx *c,
		      uint64_t (*cr4)(void *arg), uint64_t (*xcr0)(void *arg), void *arg)
{
	t->ctx = *c;
	t->ctx.guest_cr4 = 0;           /* OSXSAVE is added at the lookup */
	t->ctx.guest_xcr0 = xcr0(arg);
	t->cr4 = cr4;
	t->xcr0 = xcr0;
	t->arg = arg;
	for (uint32_t leaf = 0; leaf < CPUID_TABLE_BASIC; leaf++) {
		unsigned slot = indexed_slot[leaf];
		cpuid_guest(&t->ctx, leaf, 0, t->basic[leaf]);
		for (uint32_t sub = 0; slot && sub < CPUID_TABLE_SUBS; sub++)
			cpuid_guest(&t->ctx, leaf, sub, t->indexed[slot - 1][sub]);
	}
	for (uint32_t i = 0; i < CPUID_TABLE_EXT; i++)
		cpuid_guest(&t->ctx, 0x80000000u + i, 0, t->ext[i]);
	cpuid_guest(&t->ctx, CPUID_SIGNATURE_LEAF, 0, t->hv_signature);
	cpuid_guest(&t->ctx, CPUID_TIMING_LEAF, 0, t->hv_timing);
	cpuid_guest(&t->ctx, CPUID_KVM_SIGNATURE_LEAF, 0, t->kvm_signature);
	cpuid_guest(&t->ctx, CPUID_KVM_FEATURES_LEAF, 0, t->kvm_features);
}

/*
 * The lookups that read a live input or compute (cpuid_table_get): leaf 1
 * (OSXSAVE follows the guest's CR4, leaf_1), leaf 0xD subleaves 0 and 1
 * (XSAVE area sizes for the XCR0 in force, leaf_d), and the subleaves the
 * table does not keep.
 */
static __attribute__((noinline)) struct cpuid_regs lookup_live(struct cpuid_table *t,
							      uint32_t leaf, uint32_t sub)
{
	uint32_t out[4];

	if (leaf == 1) {
		copy4(out, t->basic[1]);
		if ((out[2] & L1_ECX_XSAVE) && (t->cr4(t->arg) & CR4_OSXSAVE))
			out[2] |= L1_ECX_OSXSAVE;
	} else if (sub >= CPUID_TABLE_SUBS) {
		cpuid_guest(&t->ctx, leaf, sub, out);
	} else {
		uint64_t x = t->xcr0(t->arg);
		if (x != t->ctx.guest_xcr0) {
			t->ctx.guest_xcr0 = x;
			cpuid_guest(&t->ctx, 0xd, 0, t->indexed[SLOT_D][0]);
			cpuid_guest(&t->ctx, 0xd, 1, t->indexed[SLOT_D][1]);
		}
		copy4(out, t->indexed[SLOT_D][sub]);
	}
	return (struct cpuid_regs){ out[0], out[1], out[2], out[3] };
}

/* The other lookups read the table only, and call nothing. */
struct cpuid_regs cpuid_table_get(struct cpuid_table *t, uint32_t leaf, uint32_t sub)
{
	static const uint32_t zero[4];
	const uint32_t *r = zero;

	if (leaf < CPUID_TABLE_BASIC) {
		unsigned slot = indexed_slot[leaf];
		if (unlikely(leaf == 1 || (slot && (sub >= CPUID_TABLE_SUBS ||
						    (slot - 1 == SLOT_D && sub <= 1)))))
			return lookup_live(t, leaf, sub);
		r = slot ? t->indexed[slot - 1][sub] : t->basic[leaf];
	} else if (leaf - 0x80000000u < CPUID_TABLE_EXT) {
		r = t->ext[leaf - 0x80000000u];
	} else if (leaf == CPUID_SIGNATURE_LEAF) {
		r = t->hv_signature;
	} else if (leaf == CPUID_TIMING_LEAF) {
		r = t->hv_timing;
	} else if (leaf == CPUID_KVM_SIGNATURE_LEAF) {
		r = t->kvm_signature;
	} else if (leaf == CPUID_KVM_FEATURES_LEAF) {
		r = t->kvm_features;
	}
	return (struct cpuid_regs){ r[0], r[1], r[2], r[3] };
}
