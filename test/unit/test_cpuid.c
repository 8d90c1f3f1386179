/*
 * Host tests for core/cpuid.c: the host's CPUID is replaced by recorded
 * tables in the style of an AMD Zen part (with SVM) and an Intel part
 * (with VMX), and the guest's view is checked leaf by leaf.
 */
#include "test/unit/check.h"
#include "core/cpuid.h"
#include "core/ctlreg.h"
#include "arch/x86/x86_defs.h"

#define ANY   0xffffffffu       /* record matches every subleaf */
#define B(n)  (1u << (n))

struct rec { uint32_t leaf, sub, r[4]; };

static const struct rec amd_host[] = {
	{ 0x0, ANY, { 0x10, 0x68747541, 0x444d4163, 0x69746e65 } },    /* AuthenticAMD */
	{ 0x1, ANY, { 0x00a20f12, 0x0a100800, 0x7ef8320b, 0x178bfbff } },
	{ 0x4, ANY, { 0, 0, 0, 0 } },
	{ 0x5, ANY, { 0x40, 0x40, 3, 0x11 } },
	{ 0x6, ANY, { 4, 0, 1, 0 } },
	{ 0x7, 0,   { 0, 0x219c97a9, 0x0040069c, 0x00000010 } },
	{ 0x7, ANY, { 0, 0, 0, 0 } },
	{ 0xb, ANY, { 1, 2, 0x100, 10 } },
	{ 0xd, 0,   { 0x207, 0x988, 0x988, 0 } },
	{ 0xd, 1,   { 0xf, 0x348, 0, 0 } },
	{ 0xd, 2,   { 0x100, 0x240, 0, 0 } },
	{ 0xd, 9,   { 8, 0x980, 0, 0 } },
	{ 0xd, ANY, { 0, 0, 0, 0 } },
	{ 0x10, ANY, { 0, 2, 0, 0 } },
	{ 0x80000000, ANY, { 0x80000023, 0x68747541, 0x444d4163, 0x69746e65 } },
	{ 0x80000001, ANY, { 0x00a20f12, 0x20000000, 0x75c237ff, 0x2fd3fbff } },
	{ 0x80000002, ANY, { 0x20444d41, 0x657a7952, 0x2039206e, 0x30303935 } },
	{ 0x80000007, ANY, { 0, 0x3b, 0, 0x6799 } },
	{ 0x80000008, ANY, { 0x3030, 0x111ef657, 0x0000500f, 0x10007 } },
	{ 0x8000000a, ANY, { 1, 0x8000, 0, 0x1ebfbcff } },
	{ 0x8000001e, ANY, { 2, 0x100, 0, 0 } },
	{ 0 }
};

static const struct rec intel_host[] = {
	{ 0x0, ANY, { 0x20, 0x756e6547, 0x6c65746e, 0x49656e69 } },    /* GenuineIntel */
	{ 0x1, ANY, { 0x000806ec, 0x02100800, 0x7ffafbff, 0xbfebfbff } },
	{ 0x4, 0,   { 0x1c004121, 0x01c0003f, 0x3f, 0 } },
	{ 0x4, 1,   { 0x1c004122, 0x01c0003f, 0x3f, 0 } },
	{ 0x4, 2,   { 0x1c004143, 0x00c0003f, 0x3ff, 0 } },
	{ 0x4, 3,   { 0x1c03c163, 0x02c0003f, 0x1fff, 6 } },
	{ 0x4, ANY, { 0, 0, 0, 0 } },
	{ 0x5, ANY, { 0x40, 0x40, 3, 0x11142120 } },
	{ 0x6, ANY, { 0x27f7, 2, 9, 0 } },
	{ 0x7, 0,   { 2, 0x029c6fbf, B(1) | B(3) | B(4) | B(5) | B(16) | B(30),
		      B(10) | B(22) | B(24) | B(25) | B(26) | B(27) | B(28) | B(29) | B(31) } },
	{ 0x7, 1,   { B(4) | B(26), 0, 0, 0 } },
	{ 0x7, 2,   { 0, 0, 0, 0x3f } },
	{ 0x7, ANY, { 0, 0, 0, 0 } },
	{ 0xa, ANY, { 0x07300404, 0, 0, 0x603 } },
	{ 0xb, ANY, { 1, 2, 0x100, 3 } },
	{ 0xd, 0,   { 0x602e7, 0xa88, 0x2b00, 0 } },
	{ 0xd, 1,   { 0x1f, 0x1000, 0x1900, 0 } },
	{ 0xd, 2,   { 0x100, 0x240, 0, 0 } },
	{ 0xd, 5,   { 0x40, 0x440, 0, 0 } },
	{ 0xd, 6,   { 0x200, 0x480, 0, 0 } },
	{ 0xd, 7,   { 0x400, 0x680, 0, 0 } },
	{ 0xd, 9,   { 8, 0xa80, 0, 0 } },
	{ 0xd, 17,  { 0x40, 0xac0, 2, 0 } },
	{ 0xd, 18,  { 0x2000, 0xb00, 6, 0 } },
	{ 0xd, ANY, { 0, 0, 0, 0 } },
	{ 0x12, ANY, { 1, 0, 0, 0x381f } },
	{ 0x14, ANY, { 1, 0xf, 7, 0 } },
	{ 0x15, ANY, { 2, 0xb0, 0x16e3600, 0 } },
	{ 0x1f, ANY, { 1, 2, 0x100, 3 } },
	{ 0x80000000, ANY, { 0x80000008, 0, 0, 0 } },
	{ 0x80000001, ANY, { 0, 0, 0x121, 0x2c100800 } },
	{ 0x80000007, ANY, { 0, 0, 0, 0x100 } },
	{ 0x80000008, ANY, { 0x3027, 0x200, 0, 0 } },
	{ 0 }
};

/* An old host whose highest basic leaf is 6 (leaves above it would repeat
 * leaf 6's data on Intel; here they return the bad pattern). */
static const struct rec old_host[] = {
	{ 0x0, ANY, { 0x6, 0x756e6547, 0x6c65746e, 0x49656e69 } },
	{ 0x1, ANY, { 0x000106a5, 0x00100800, 0x009ce3bd, 0xbfebfbff } },
	{ 0x80000000, ANY, { 0x80000008, 0, 0, 0 } },
	{ 0 }
};

static const struct rec *cur_host;

/* Unrecorded leaves return a pattern that must never reach the guest. */
static void fake_host(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	for (const struct rec *r = cur_host; r->leaf || r->r[0]; r++) {
		if (r->leaf == leaf && (r->sub == ANY || r->sub == sub)) {
			memcpy(out, r->r, 16);
			return;
		}
	}
	out[0] = out[1] = out[2] = out[3] = 0xdeadbeef;
}

static uint32_t q[4];
static bool host_tsc_synced = true;     /* what kasane's warp test found */

/* Query leaf/sub on host h for a VM of nr vCPUs, this one with APIC ID id. */
static uint32_t *ask(const struct rec *h, uint32_t nr, uint32_t id, uint64_t cr4,
		     uint64_t xcr0, uint32_t leaf, uint32_t sub)
{
	struct cpuid_ctx c = { .host = fake_host, .vcpu_id = id, .nr_vcpus = nr, .apic_id = id,
			       .guest_cr4 = cr4, .guest_xcr0 = xcr0,
			       .tsc_invariant = host_tsc_synced };
	cur_host = h;
	memset(q, 0x55, sizeof(q));
	cpuid_guest(&c, leaf, sub, q);
	return q;
}

#define IS_ZERO(r) ((r)[0] == 0 && (r)[1] == 0 && (r)[2] == 0 && (r)[3] == 0)

TEST(vendor_and_max_leaves)
{
	uint32_t *r = ask(amd_host, 2, 0, 0, 0, 0, 0);
	CHECK_EQ(r[0], 0x10);
	CHECK_EQ(r[1], 0x68747541);
	CHECK_EQ(r[2], 0x444d4163);
	CHECK_EQ(r[3], 0x69746e65);
	r = ask(intel_host, 2, 0, 0, 0, 0, 0);
	CHECK_EQ(r[0], 0x1f);                   /* host's 0x20 clamped */
	CHECK_EQ(r[1], 0x756e6547);
	r = ask(amd_host, 2, 0, 0, 0, 0x80000000, 0);
	CHECK_EQ(r[0], 0x80000008);
	CHECK_EQ(r[1], 0x68747541);
	r = ask(intel_host, 2, 0, 0, 0, 0x80000000, 0);
	CHECK_EQ(r[0], 0x80000008);
}

TEST(leaf1_intel)
{
	uint32_t *r = ask(intel_host, 8, 5, 0, 0, 1, 0);

	CHECK_EQ(r[0], 0x000806ec);
	CHECK_EQ(r[1] >> 24, 5);                /* APIC ID */
	CHECK_EQ((r[1] >> 16) & 0xff, 8);       /* logical processors */
	CHECK_EQ(r[1] & 0xffff, 0x0800);        /* CLFLUSH size kept */
	CHECK(r[2] & B(31));                    /* hypervisor */
	CHECK(!(r[2] & B(5)));                  /* VMX */
	CHECK(!(r[2] & B(6)));                  /* SMX */
	CHECK(!(r[2] & B(3)));                  /* MONITOR */
	CHECK(r[2] & B(21));                    /* x2APIC: emulated */
	CHECK(r[2] & B(24));                    /* TSC-deadline: emulated */
	CHECK(!(r[2] & B(27)));                 /* OSXSAVE: guest CR4 has it clear */
	CHECK((r[2] & (B(0) | B(9) | B(20) | B(25) | B(26) | B(28))) ==
	      (B(0) | B(9) | B(20) | B(25) | B(26) | B(28)));   /* SSE3 SSSE3 SSE4.2 AES XSAVE AVX */
	CHECK(!(r[3] & (B(7) | B(14) | B(22) | B(29) | B(31))));  /* MCE MCA ACPI TM PBE */
	CHECK(r[3] & B(12));                    /* MTRR: modelled (core/msr.c) */
	CHECK((r[3] & (B(0) | B(9) | B(24) | B(26))) == (B(0) | B(9) | B(24) | B(26)));
	CHECK(r[3] & B(28));                    /* HTT */

	r = ask(intel_host, 1, 0, 0, 0, 1, 0);
	CHECK_EQ((r[1] >> 16) & 0xff, 1);
	CHECK(!(r[3] & B(28)));
	CHECK(r[2] & B(31));
}

TEST(osxsave_follows_guest_cr4)
{
	uint64_t cr4_osxsave = 1ULL << 18;

	CHECK(ask(amd_host, 1, 0, cr4_osxsave, 0, 1, 0)[2] & B(27));
	CHECK(!(ask(amd_host, 1, 0, 0, 0, 1, 0)[2] & B(27)));
	CHECK(ask(intel_host, 1, 0, cr4_osxsave | 0x20, 0, 1, 0)[2] & B(27));
}

TEST(amd_svm_hidden)
{
	uint32_t *r = ask(amd_host, 4, 1, 0, 0, 1, 0);
	CHECK(r[2] & B(31));
	CHECK(!(r[2] & B(3)));                  /* MONITOR */
	CHECK(r[2] & B(21));                    /* x2APIC: emulated */
	CHECK(r[2] & B(24));                    /* TSC-deadline: emulated */
	CHECK_EQ(r[1] >> 24, 1);

	r = ask(amd_host, 4, 1, 0, 0, 0x80000001, 0);
	CHECK(!(r[2] & B(2)));                  /* SVM */
	CHECK(!(r[2] & (B(12) | B(13) | B(22))));   /* SKINIT WDT TopoExt */
	CHECK((r[2] & (B(0) | B(5) | B(6))) == (B(0) | B(5) | B(6)));   /* LAHF ABM SSE4A */
	CHECK(r[2] & B(1));                     /* CmpLegacy: 4 cores */
	CHECK((r[3] & (B(20) | B(26) | B(27) | B(29))) == (B(20) | B(26) | B(27) | B(29)));
	CHECK(!(r[3] & (B(7) | B(14))));        /* MCE MCA */
	CHECK(r[3] & B(12));                    /* MTRR */
	CHECK(!(ask(amd_host, 1, 0, 0, 0, 0x80000001, 0)[2] & B(1)));

	CHECK(IS_ZERO(ask(amd_host, 4, 1, 0, 0, 0x8000000a, 0)));
	CHECK(IS_ZERO(ask(amd_host, 4, 1, 0, 0, 0x8000001e, 0)));

	r = ask(amd_host, 4, 1, 0, 0, 0x80000008, 0);
	CHECK_EQ(r[0], 0x3030);
	CHECK_EQ(r[1], B(0) | B(2) | B(9));     /* CLZERO, RstrFpErrPtrs, WBNOINVD */
	CHECK_EQ(r[2], 3 | (2 << 12));          /* NC = 3, ApicIdSize = 2 */
	CHECK_EQ(r[3], 0);

	r = ask(amd_host, 4, 1, 0, 0, 0x80000007, 0);
	CHECK_EQ(r[3], B(8));                   /* invariant TSC only */
	/* Shown as kasane found the host's TSCs, whatever the host's bit says. */
	host_tsc_synced = false;
	CHECK_EQ(ask(amd_host, 4, 1, 0, 0, 0x80000007, 0)[3], 0);
	host_tsc_synced = true;
	CHECK_EQ(ask(amd_host, 4, 1, 0, 0, 0x80000002, 0)[0], 0x20444d41);
}

TEST(intel_vmx_hidden_ext)
{
	uint32_t *r = ask(intel_host, 2, 0, 0, 0, 0x80000001, 0);
	CHECK_EQ(r[2], 0x121);
	CHECK_EQ(r[3], 0x2c100800);
	r = ask(intel_host, 2, 0, 0, 0, 0x80000008, 0);
	CHECK_EQ(r[0], 0x3027);
	CHECK_EQ(r[1], B(9));
	CHECK_EQ(r[2], 0);                      /* AMD core fields not on Intel */
}

TEST(signature)
{
	char sig[13] = { 0 };
	uint32_t *r = ask(amd_host, 1, 0, 0, 0, 0x40000000, 0);

	CHECK_EQ(r[0], 0x40000010);
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[2], 4);
	memcpy(sig + 8, &r[3], 4);
	CHECK_STR(sig, "kasane");
	CHECK(memcmp(sig, "kasane\0\0\0\0\0\0", 12) == 0);
	CHECK(IS_ZERO(ask(amd_host, 1, 0, 0, 0, 0x40000001, 0)));
	CHECK(IS_ZERO(ask(amd_host, 1, 0, 0, 0, 0x400000ff, 0)));
	CHECK(IS_ZERO(ask(intel_host, 1, 0, 0, 0, 0x40000100, 0)));
	CHECK(IS_ZERO(ask(intel_host, 1, 0, 0, 0, 0x4fffffff, 0)));
}

TEST(topology)
{
	uint32_t *r = ask(intel_host, 4, 2, 0, 0, 0xb, 0);
	CHECK_EQ(r[0], 0);
	CHECK_EQ(r[1], 1);
	CHECK_EQ(r[2], 0x100);
	CHECK_EQ(r[3], 2);
	r = ask(intel_host, 4, 2, 0, 0, 0xb, 1);
	CHECK_EQ(r[0], 2);
	CHECK_EQ(r[1], 4);
	CHECK_EQ(r[2], 0x201);
	CHECK_EQ(r[3], 2);
	r = ask(intel_host, 4, 2, 0, 0, 0xb, 2);
	CHECK_EQ(r[0], 0);
	CHECK_EQ(r[1], 0);
	CHECK_EQ(r[2], 2);
	CHECK_EQ(r[3], 2);

	CHECK_EQ(ask(intel_host, 3, 0, 0, 0, 0xb, 1)[0], 2);   /* 3 vCPUs: 2 ID bits */
	CHECK_EQ(ask(intel_host, 5, 4, 0, 0, 0xb, 1)[0], 3);
	CHECK_EQ(ask(intel_host, 1, 0, 0, 0, 0xb, 1)[0], 0);
	CHECK_EQ(ask(intel_host, 0, 0, 0, 0, 0xb, 1)[1], 1);   /* 0 taken as 1 */
	r = ask(intel_host, 4, 3, 0, 0, 0x1f, 1);
	CHECK_EQ(r[1], 4);
	CHECK_EQ(r[3], 3);
	/* AMD: 0xB synthesized too; 0x1F is above the max leaf. */
	CHECK_EQ(ask(amd_host, 4, 3, 0, 0, 0xb, 1)[1], 4);
	CHECK(IS_ZERO(ask(amd_host, 4, 3, 0, 0, 0x1f, 1)));
}

TEST(leaf4_caches)
{
	uint32_t *r = ask(intel_host, 4, 0, 0, 0, 4, 0);
	CHECK_EQ(r[0] >> 26, 3);                /* 4 cores per package */
	CHECK_EQ((r[0] >> 14) & 0xfff, 0);      /* L1D private */
	CHECK_EQ(r[0] & 0x3fff, 0x0121);
	CHECK_EQ(r[1], 0x01c0003f);
	r = ask(intel_host, 4, 0, 0, 0, 4, 3);
	CHECK_EQ(r[0] >> 26, 3);
	CHECK_EQ((r[0] >> 14) & 0xfff, 3);      /* L3 shared by all */
	CHECK(IS_ZERO(ask(intel_host, 4, 0, 0, 0, 4, 4)));
	CHECK(IS_ZERO(ask(amd_host, 4, 0, 0, 0, 4, 0)));
}

TEST(leaf7_features)
{
	uint32_t *r = ask(intel_host, 2, 0, 0, 0, 7, 0);
	CHECK_EQ(r[0], 1);                      /* subleaves 0 and 1 */
	CHECK(!(r[1] & (B(1) | B(2) | B(14))));         /* TSC_ADJUST SGX MPX */
	CHECK((r[1] & (B(5) | B(7) | B(8) | B(20))) == (B(5) | B(7) | B(8) | B(20)));
	CHECK_EQ(r[2], B(1) | B(16));                   /* VBMI, LA57; not PKU OSPKE WAITPKG SGX_LC */
	CHECK_EQ(r[3], B(10));                          /* MD_CLEAR; no AMX, no spec ctrl */
	r = ask(intel_host, 2, 0, 0, 0, 7, 1);
	CHECK_EQ(r[0], B(4));                           /* AVX-VNNI, not LAM */
	CHECK(IS_ZERO(ask(intel_host, 2, 0, 0, 0, 7, 2)));

	r = ask(amd_host, 2, 0, 0, 0, 7, 0);
	CHECK_EQ(r[0], 0);
	CHECK(!(r[2] & (B(3) | B(4) | B(7))));          /* PKU OSPKE CET_SS */
	CHECK((r[2] & (B(2) | B(9) | B(10))) == (B(2) | B(9) | B(10)));
	CHECK_EQ(r[3], B(4));
	CHECK(IS_ZERO(ask(amd_host, 2, 0, 0, 0, 7, 1)));
}

TEST(leaf_d_xsave)
{
	uint32_t *r = ask(intel_host, 1, 0, 0, 0x7, 0xd, 0);
	CHECK_EQ(r[0], 0xe7);                   /* no PKRU, no AMX */
	CHECK_EQ(r[3], 0);
	CHECK_EQ(r[1], 0x340);                  /* x87 SSE AVX */
	CHECK_EQ(r[2], 0xa80);                  /* up to Hi16_ZMM */
	CHECK_EQ(ask(intel_host, 1, 0, 0, 0xe7, 0xd, 0)[1], 0xa80);
	CHECK_EQ(ask(intel_host, 1, 0, 0, 0, 0xd, 0)[1], 0xa88);       /* unknown XCR0: host's */

	r = ask(intel_host, 1, 0, 0, 0xe7, 0xd, 1);
	CHECK_EQ(r[0], 0x7);                    /* no XSAVES, no XFD */
	CHECK_EQ(r[1], 0x980);                  /* compacted */
	CHECK_EQ(r[2], 0);
	CHECK_EQ(r[3], 0);
	/* Compacted form with a 64-byte aligned component: PKRU and AMX tile
	 * config (XCR0 bits a guest might set despite CPUID): 576 + 8, aligned
	 * to 640, + 64. */
	CHECK_EQ(ask(intel_host, 1, 0, 0, 0x3 | (1ULL << 9) | (1ULL << 17), 0xd, 1)[1], 704);

	r = ask(intel_host, 1, 0, 0, 0x7, 0xd, 2);
	CHECK_EQ(r[0], 0x100);
	CHECK_EQ(r[1], 0x240);
	CHECK(IS_ZERO(ask(intel_host, 1, 0, 0, 0x7, 0xd, 9)));
	CHECK(IS_ZERO(ask(intel_host, 1, 0, 0, 0x7, 0xd, 17)));
	CHECK(IS_ZERO(ask(intel_host, 1, 0, 0, 0x7, 0xd, 63)));

	r = ask(amd_host, 1, 0, 0, 0x7, 0xd, 0);
	CHECK_EQ(r[0], 0x7);
	CHECK_EQ(r[2], 0x340);
}

TEST(unknown_leaves_zero)
{
	static const uint32_t intel_zero[] = { 3, 5, 6, 8, 9, 0xa, 0x12, 0x14, 0x1e, 0x20, 0x21,
					       0x80000009, 0x8000000a, 0x80000020,
					       0xc0000000, 0x50000000, 0xffffffff };
	static const uint32_t amd_zero[] = { 5, 6, 0xa, 0x10, 0x11, 0x8000000a, 0x8000001e,
					     0x8000001f, 0x80000023 };

	for (unsigned i = 0; i < ARRAY_SIZE(intel_zero); i++)
		CHECK(IS_ZERO(ask(intel_host, 2, 0, 0, 0, intel_zero[i], 0)));
	for (unsigned i = 0; i < ARRAY_SIZE(amd_zero); i++)
		CHECK(IS_ZERO(ask(amd_host, 2, 0, 0, 0, amd_zero[i], 0)));
	/* Leaf 0x16 is hidden; 0x15 is checked in leaf_15_is_the_guest_timer. */
	CHECK(IS_ZERO(ask(intel_host, 2, 0, 0, 0, 0x16, 0)));
}

TEST(old_host_max_leaf)
{
	/* The topology leaf is always offered; host leaves above 6 are not. */
	CHECK_EQ(ask(old_host, 2, 1, 0, 0, 0, 0)[0], 0xb);
	CHECK_EQ(ask(old_host, 2, 1, 0, 0, 0xb, 1)[1], 2);
	CHECK(IS_ZERO(ask(old_host, 2, 1, 0, 0, 7, 0)));
	CHECK(IS_ZERO(ask(old_host, 2, 1, 0, 0, 0xd, 0)));
	CHECK(IS_ZERO(ask(old_host, 2, 1, 0, 0, 0xc, 0)));
}

/* ---- core/ctlreg.c: the CR4 and XCR0 bits the CPU model allows ---------- */

static uint64_t cr4_allowed(const struct rec *h)
{
	struct cpuid_ctx c = { .host = fake_host, .nr_vcpus = 1 };
	cur_host = h;
	return ctlreg_cr4_allowed(&c);
}

static uint64_t xcr0_allowed(const struct rec *h)
{
	struct cpuid_ctx c = { .host = fake_host, .nr_vcpus = 1 };
	cur_host = h;
	return ctlreg_xcr0_allowed(&c);
}

/* Each CR4 bit with a feature, and where the guest's CPUID shows it (SDM
 * vol. 3A §2.5): the allowed mask must follow the guest's leaves bit for
 * bit, whatever the host has. */
static const struct { unsigned bit; uint32_t leaf, sub, reg, feat; } cr4_feat[] = {
	{ 0, 1, 0, 3, 1 }, { 1, 1, 0, 3, 1 }, { 2, 1, 0, 3, 4 }, { 3, 1, 0, 3, 2 },
	{ 4, 1, 0, 3, 3 }, { 5, 1, 0, 3, 6 }, { 6, 1, 0, 3, 7 }, { 7, 1, 0, 3, 13 },
	{ 9, 1, 0, 3, 24 }, { 10, 1, 0, 3, 25 }, { 11, 7, 0, 2, 2 }, { 12, 7, 0, 2, 16 },
	{ 13, 1, 0, 2, 5 }, { 14, 1, 0, 2, 6 }, { 16, 7, 0, 1, 0 }, { 17, 1, 0, 2, 17 },
	{ 18, 1, 0, 2, 26 }, { 19, 7, 0, 2, 23 }, { 20, 7, 0, 1, 7 }, { 21, 7, 0, 1, 20 },
	{ 22, 7, 0, 2, 3 }, { 24, 7, 0, 2, 31 }, { 25, 7, 0, 3, 5 }, { 28, 7, 1, 0, 26 },
};

static void cr4_follows_cpuid(const struct rec *h)
{
	uint64_t ok = cr4_allowed(h);

	for (unsigned i = 0; i < sizeof(cr4_feat) / sizeof(cr4_feat[0]); i++) {
		uint32_t *r = ask(h, 1, 0, 0, 0, cr4_feat[i].leaf, cr4_feat[i].sub);
		bool shown = r[cr4_feat[i].reg] & B(cr4_feat[i].feat);
		if (!!(ok & (1ull << cr4_feat[i].bit)) != shown)
			printf("    CR4 bit %u: allowed %d, CPUID shows %d\n", cr4_feat[i].bit,
			       !!(ok & (1ull << cr4_feat[i].bit)), shown);
		CHECK(!!(ok & (1ull << cr4_feat[i].bit)) == shown);
	}
	/* CET (23) needs CET_SS or IBT, both hidden; PCE (8) always; the
	 * reserved bits 15, 26, 27, 29-63 never. */
	CHECK(!(ok & B(23)));
	CHECK(ok & B(8));
	CHECK(!(ok & (B(15) | B(26) | B(27) | ~((1ull << 29) - 1))));
}

TEST(cr4_allowed_from_cpuid)
{
	cr4_follows_cpuid(amd_host);
	cr4_follows_cpuid(intel_host);
	cr4_follows_cpuid(old_host);
	/* Hidden although these hosts have them: VMX, SMX, PKU, CET. */
	CHECK(!(cr4_allowed(intel_host) & (B(13) | B(14) | B(22) | B(23))));
	CHECK(!(cr4_allowed(amd_host) & (B(13) | B(22))));
	/* What every 64-bit guest needs. */
	uint64_t need = CR4_PAE | CR4_PSE | CR4_PGE | CR4_OSFXSR | B(10) | B(18);
	CHECK_EQ(cr4_allowed(intel_host) & need, need);
	CHECK_EQ(cr4_allowed(amd_host) & need, need);
	/* The old host's leaf 7 is above its maximum: no FSGSBASE, SMEP, SMAP. */
	CHECK(!(cr4_allowed(old_host) & (B(16) | B(20) | B(21))));
}

TEST(xcr0_allowed_from_cpuid)
{
	uint32_t *r = ask(intel_host, 1, 0, 0, 0, 0xd, 0);
	CHECK_EQ(xcr0_allowed(intel_host), (uint64_t)r[3] << 32 | r[0]);
	r = ask(amd_host, 1, 0, 0, 0, 0xd, 0);
	CHECK_EQ(xcr0_allowed(amd_host), (uint64_t)r[3] << 32 | r[0]);
	/* Both hosts have PKRU (bit 9), Intel AMX (17, 18): hidden. */
	CHECK(!(xcr0_allowed(intel_host) & (B(9) | B(17) | B(18))));
	CHECK(!(xcr0_allowed(amd_host) & B(9)));
	CHECK_EQ(xcr0_allowed(old_host), 0);
	CHECK(ctlreg_xcr0_check(0xe7, 0xe7));
	CHECK(ctlreg_xcr0_check(3, 0xe7));
	CHECK(!ctlreg_xcr0_check(2, 0xe7));             /* x87 clear */
	CHECK(!ctlreg_xcr0_check(5, 0xe7));             /* AVX without SSE */
	CHECK(!ctlreg_xcr0_check(0x27, 0xe7));          /* opmask alone */
	CHECK(!ctlreg_xcr0_check(0xe3, 0xe7));          /* AVX-512 without AVX */
	CHECK(!ctlreg_xcr0_check(0x203, 0xe7));         /* PKRU hidden */
	CHECK(ctlreg_xcr0_check(0x203, 0x2e7));
}

TEST(cr0_cr4_checks)
{
	struct ctlreg_state lm = { .cr0 = 0x80050033, .cr4 = CR4_PAE | CR4_PGE,
				   .efer = EFER_LME | EFER_LMA, .cs_l = true };
	struct ctlreg_state pm = { .cr0 = 0x11, .cr4 = 0, .efer = EFER_LME };
	uint64_t v, efer;

	v = lm.cr0 & ~(uint64_t)CR0_PE;                 /* PG without PE */
	CHECK(!ctlreg_cr0_check(&lm, &v, &efer));
	v = lm.cr0 | CR0_NW;                            /* NW without CD */
	CHECK(!ctlreg_cr0_check(&lm, &v, &efer));
	v = lm.cr0 | CR0_NW | CR0_CD;
	CHECK(ctlreg_cr0_check(&lm, &v, &efer));
	v = lm.cr0 | (1ull << 32);
	CHECK(!ctlreg_cr0_check(&lm, &v, &efer));
	v = lm.cr0 & ~(uint64_t)CR0_PG;                 /* in 64-bit mode */
	CHECK(!ctlreg_cr0_check(&lm, &v, &efer));
	lm.cs_l = false;                                /* compatibility mode: leaves long mode */
	CHECK(ctlreg_cr0_check(&lm, &v, &efer));
	CHECK_EQ(efer, EFER_LME);
	v = 0x1000 | CR0_PE;                            /* reserved low bit dropped, ET set */
	CHECK(ctlreg_cr0_check(&pm, &v, &efer));
	CHECK_EQ(v, CR0_PE | CR0_ET);
	v = pm.cr0 | CR0_PG;                            /* long mode without PAE */
	CHECK(!ctlreg_cr0_check(&pm, &v, &efer));
	pm.cr4 = CR4_PAE;
	pm.cs_l_bit = true;                             /* activating long mode with CS.L */
	CHECK(!ctlreg_cr0_check(&pm, &v, &efer));
	pm.cs_l_bit = false;
	CHECK(ctlreg_cr0_check(&pm, &v, &efer));
	CHECK_EQ(efer, EFER_LME | EFER_LMA);

	lm.cs_l = true;
	CHECK(!ctlreg_cr4_check(&lm, CR4_PGE, ~0ull));                  /* PAE cleared */
	CHECK(!ctlreg_cr4_check(&lm, lm.cr4 | CR4_PKE, ~(uint64_t)CR4_PKE));
	CHECK(ctlreg_cr4_check(&lm, lm.cr4 | CR4_PKE, ~0ull));
	CHECK(!ctlreg_cr4_check(&lm, lm.cr4 | B(12), ~0ull));          /* LA57 in long mode */
	lm.cr3 = 0x1001;
	CHECK(!ctlreg_cr4_check(&lm, lm.cr4 | B(17), ~0ull));          /* PCIDE, CR3[11:0] != 0 */
	lm.cr3 = 0x1000;
	CHECK(ctlreg_cr4_check(&lm, lm.cr4 | B(17), ~0ull));
	CHECK(!ctlreg_cr4_check(&pm, B(17), ~0ull));                   /* PCIDE outside long mode */
}

TEST(cr3_check)
{
	struct ctlreg_state lm = { .cr0 = 0x80050033, .cr4 = CR4_PAE, .efer = EFER_LME | EFER_LMA };
	struct ctlreg_state pm = { .cr0 = 0x80000011, .cr4 = CR4_PAE };
	uint64_t v;
	bool nf;

	v = 0x123000;
	CHECK(ctlreg_cr3_check(&lm, &v, 40, &nf) && v == 0x123000 && !nf);
	v = 1ull << 40;                                 /* at MAXPHYADDR */
	CHECK(!ctlreg_cr3_check(&lm, &v, 40, &nf));
	v = (1ull << 63) | 0x1000;                      /* bit 63 without PCIDE */
	CHECK(!ctlreg_cr3_check(&lm, &v, 40, &nf));
	lm.cr4 |= B(17);
	CHECK(ctlreg_cr3_check(&lm, &v, 40, &nf));      /* with PCIDE: no-flush */
	CHECK_EQ(v, 0x1000);
	CHECK(nf);
	v = 0xffffffff12345fe0ull;                      /* outside long mode: 32 bits */
	CHECK(ctlreg_cr3_check(&pm, &v, 40, &nf) && v == 0x12345fe0 && !nf);
}

/* Leaf 0x15 as Linux reads it (arch/x86/kernel/tsc.c, native_calibrate_tsc):
 * crystal kHz * EBX / EAX in 32 bits must give the TSC's rate to within
 * 1/4000, and the crystal must be the guest's local APIC timer clock. */
TEST(leaf_15_is_the_guest_timer)
{
	static const uint32_t khz[] = { 10003, 1000000, 2100123, 3000000, 4294967 };

	for (unsigned i = 0; i < ARRAY_SIZE(khz); i++) {
		struct cpuid_ctx c = { .host = fake_host, .nr_vcpus = 1, .tsc_khz = khz[i] };
		uint32_t r[4];
		cur_host = intel_host;
		cpuid_guest(&c, 0x15, 0, r);
		CHECK_EQ(r[2], 1000000000u);
		CHECK(r[0] != 0 && r[1] != 0);
		uint32_t crystal_khz = r[2] / 1000;
		CHECK((uint64_t)crystal_khz * r[1] < (1ULL << 32));
		uint32_t got = crystal_khz * r[1] / r[0];
		uint32_t err = got > khz[i] ? got - khz[i] : khz[i] - got;
		CHECK(err <= khz[i] / 4000);
	}
	/* Unmeasured: no leaf. */
	CHECK(IS_ZERO(ask(intel_host, 2, 0, 0, 0, 0x15, 0)));
}

/* ---- the table: what cpuid_guest() says, whatever leaf, subleaf, CR4, XCR0 -- */

static uint64_t live_cr4, live_xcr0;
static unsigned live_cr4_reads, live_xcr0_reads;

static uint64_t get_cr4(void *arg) { live_cr4_reads++; return live_cr4; }
static uint64_t get_xcr0(void *arg) { live_xcr0_reads++; return live_xcr0; }

static void table_matches(const struct rec *h, uint32_t nr, uint32_t id)
{
	static const uint32_t leaves[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 0xa, 0xb, 0xc, 0xd, 0x12, 0x14, 0x15, 0x16, 0x1e, 0x1f,
		0x20, 0x21, 0x3fffffff, 0x40000000, 0x40000001, 0x40000010, 0x40000011,
		0x4fffffff, 0x50000000, 0x7fffffff, 0x80000000, 0x80000001, 0x80000002,
		0x80000005, 0x80000007, 0x80000008, 0x80000009, 0x8000000a, 0x8000001e,
		0x80000023, 0xc0000000, 0xffffffff,
	};
	static const uint32_t subs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 63, 64, 0x1ff, 0xffffffff };
	/* XCR0 as a guest may change it: x87 only, AVX, AVX-512, a bit the
	 * guest's CPUID hides (PKRU), and back. */
	static const uint64_t xcr0s[] = { 1, 0x7, 0xe7, 0x3 | (1ULL << 9), 0x7 };
	struct cpuid_ctx c = { .host = fake_host, .vcpu_id = id, .nr_vcpus = nr, .apic_id = id,
			       .tsc_khz = 2100123, .tsc_invariant = true };
	struct cpuid_table t;

	cur_host = h;
	live_xcr0 = 0x3;
	cpuid_table_init(&t, &c, get_cr4, get_xcr0, NULL);
	for (unsigned x = 0; x < ARRAY_SIZE(xcr0s); x++) {
		for (uint64_t cr4 = 0; cr4 <= 1ULL << 18; cr4 += 1ULL << 18) {
			live_cr4 = c.guest_cr4 = cr4;
			live_xcr0 = c.guest_xcr0 = xcr0s[x];
			for (unsigned l = 0; l < ARRAY_SIZE(leaves); l++) {
				for (unsigned s = 0; s < ARRAY_SIZE(subs); s++) {
					uint32_t want[4];
					struct cpuid_regs g = cpuid_table_get(&t, leaves[l], subs[s]);
					uint32_t got[4] = { g.eax, g.ebx, g.ecx, g.edx };
					cpuid_guest(&c, leaves[l], subs[s], want);
					if (memcmp(want, got, sizeof(want)))
						printf("    leaf 0x%x.%u (CR4 0x%llx XCR0 0x%llx): "
						       "%08x %08x %08x %08x, model %08x %08x %08x %08x\n",
						       leaves[l], subs[s], (unsigned long long)cr4,
						       (unsigned long long)xcr0s[x], got[0], got[1], got[2],
						       got[3], want[0], want[1], want[2], want[3]);
					CHECK(!memcmp(want, got, sizeof(want)));
				}
			}
		}
	}
}

TEST(table_answers_as_the_model)
{
	table_matches(intel_host, 1, 0);
	table_matches(intel_host, 4, 3);
	table_matches(amd_host, 2, 1);
	table_matches(amd_host, 16, 15);
	table_matches(old_host, 2, 0);
	/* The live inputs are read only for the leaves that show them. */
	struct cpuid_ctx c = { .host = fake_host, .nr_vcpus = 1 };
	struct cpuid_table t;
	cur_host = intel_host;
	cpuid_table_init(&t, &c, get_cr4, get_xcr0, NULL);
	live_cr4_reads = live_xcr0_reads = 0;
	cpuid_table_get(&t, 0, 0);
	cpuid_table_get(&t, 7, 0);
	cpuid_table_get(&t, 0x80000001, 0);
	CHECK_EQ(live_cr4_reads + live_xcr0_reads, 0);
	cpuid_table_get(&t, 1, 0);
	CHECK_EQ(live_cr4_reads, 1);
	cpuid_table_get(&t, 0xd, 1);
	CHECK_EQ(live_xcr0_reads, 1);
}

int main(void)
{
	check_start("cpuid");
	RUN(vendor_and_max_leaves);
	RUN(leaf1_intel);
	RUN(osxsave_follows_guest_cr4);
	RUN(amd_svm_hidden);
	RUN(intel_vmx_hidden_ext);
	RUN(signature);
	RUN(topology);
	RUN(leaf4_caches);
	RUN(leaf7_features);
	RUN(leaf_d_xsave);
	RUN(unknown_leaves_zero);
	RUN(old_host_max_leaf);
	RUN(cr4_allowed_from_cpuid);
	RUN(xcr0_allowed_from_cpuid);
	RUN(cr0_cr4_checks);
	RUN(cr3_check);
	RUN(leaf_15_is_the_guest_timer);
	RUN(table_answers_as_the_model);
	return check_finish();
}

