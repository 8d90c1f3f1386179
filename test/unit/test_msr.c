/*
 * Host tests for core/msr.c: the table of MSR policies against the CPUID
 * model of core/cpuid.c, feature by feature, on recorded AMD and Intel
 * hosts; the modelled MSRs (MTRRs as firmware leaves them, the AMD legacy
 * performance counters, HWCR, VM_CR...); the pass-through list.
 */
#include "test/unit/check.h"
#include "core/msr.h"
#include "core/vm.h"
#include "arch/x86/x86_defs.h"

/* core/msr.c's vCPU-level functions are not called here. */
const struct virt_ops *virt;
uint64_t rdtsc(void) { return 0; }
/* The WRMSRs kasane itself does on the host, newest last. */
static struct { uint32_t msr; uint64_t v; } host_wr[8];
static unsigned nr_host_wr;
void wrmsr(uint32_t msr, uint64_t v)
{
	if (nr_host_wr < ARRAY_SIZE(host_wr))
		host_wr[nr_host_wr].msr = msr, host_wr[nr_host_wr++].v = v;
}
bool board_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *gp) { return false; }
bool board_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *gp) { return false; }
bool pvclock_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val) { return false; }
bool pvclock_msr_write(struct vcpu *v, uint32_t msr, uint64_t val) { return false; }

#define B(n)  (1u << (n))
enum { EAX, EBX, ECX, EDX };

/* The leaves msr_cpu_from_cpuid() reaches, as a Zen-like AMD part and a
 * Skylake-like Intel part report them, every feature bit set that either
 * might have; tests clear bits from copies. */
struct host { uint32_t l0[4], l1[4], l7[4], e0[4], e1[4], e8[4]; };

static const struct host amd = {
	{ 0x10, 0x68747541, 0x444d4163, 0x69746e65 },                  /* AuthenticAMD */
	{ 0x00a20f12, 0x00100800, 0x7ef8320b, 0x178bfbff },
	{ 0, 0x219c97a9, 0x0040069c | B(22), B(26) | B(27) | B(31) },
	{ 0x80000008, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 0x00a20f12, 0x20000000, 0x75c237ff, 0x2fd3fbff },
	{ 0x3030, B(12) | B(14) | B(24), 0x500f, 0 },
};

static const struct host intel = {
	{ 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 },                  /* GenuineIntel */
	{ 0x00050654, 0x00100800, 0x7ffefbff, 0xbfebfbff },
	{ 0, 0xd39ffffb, 0x00000818 | B(22), 0xbc000400 },
	{ 0x80000008, 0, 0, 0 },
	{ 0, 0, 0x121, 0x2c100800 },
	{ 0x302e, 0, 0, 0 },
};

static struct host cur;

static void fake_host(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	const uint32_t *r = leaf == 0 ? cur.l0 : leaf == 1 ? cur.l1 :
			    leaf == 7 && sub == 0 ? cur.l7 : leaf == 0x80000000 ? cur.e0 :
			    leaf == 0x80000001 ? cur.e1 : leaf == 0x80000008 ? cur.e8 : NULL;

	if (r)
		memcpy(out, r, 16);
	else
		memset(out, 0, 16);
}

static struct msr_cpu model(const struct host *h)
{
	struct msr_cpu m;

	cur = *h;
	msr_cpu_from_cpuid(&m, fake_host);
	return m;
}

/* What the guest's CPUID shows for one bit, on the current host. */
static bool guest_bit(uint32_t leaf, int reg, int bit)
{
	struct cpuid_ctx c = { .host = fake_host, .nr_vcpus = 1 };
	uint32_t r[4];

	cpuid_guest(&c, leaf, 0, r);
	return (r[reg] >> bit) & 1;
}

static uint32_t *host_reg(struct host *h, uint32_t leaf, int reg)
{
	return leaf == 1 ? &h->l1[reg] : leaf == 7 ? &h->l7[reg] :
	       leaf == 0x80000001 ? &h->e1[reg] : &h->e8[reg];
}

/* A CPUID feature bit and the MSRs that exist exactly when it is shown. */
struct feat {
	const char *name;
	uint32_t leaf;
	int reg, bit;
	uint32_t msrs[6];       /* 0-terminated */
};

/* x2APIC and TSC-deadline: the virtual local APIC offers them whatever
 * the host has. */
static bool emulated(const struct feat *f)
{
	return f->leaf == 1 && f->reg == ECX && (f->bit == 21 || f->bit == 24);
}

static const struct feat feats[] = {
	{ "TSC", 1, EDX, 4, { 0x10 } },
	{ "APIC", 1, EDX, 9, { 0x1b } },
	{ "SEP", 1, EDX, 11, { 0x174, 0x175, 0x176 } },
	{ "MTRR", 1, EDX, 12, { 0xfe, 0x200, 0x20f, 0x250, 0x26f, 0x2ff } },
	{ "PAT", 1, EDX, 16, { 0x277 } },
	{ "x2APIC", 1, ECX, 21, { 0x802, 0x830, 0x8ff } },
	{ "TSC-deadline", 1, ECX, 24, { 0x6e0 } },
	{ "SYSCALL", 0x80000001, EDX, 11, { 0xc0000081 } },
	{ "LM", 0x80000001, EDX, 29, { 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100,
				       0xc0000101, 0xc0000102 } },
	{ "RDTSCP", 0x80000001, EDX, 27, { 0 } },       /* TSC_AUX: RDTSCP or RDPID */
	{ "RDPID", 7, ECX, 22, { 0 } },
	{ "SPEC_CTRL (7.EDX[26])", 7, EDX, 26, { 0x48, 0x49 } },
	{ "MCE", 1, EDX, 7, { 0x179, 0x17a } },
	{ "MCA", 1, EDX, 14, { 0x17b, 0x400, 0x401 } },
	{ "PDCM", 1, ECX, 15, { 0x345 } },
	{ "TSC_ADJUST", 7, EBX, 1, { 0x3b } },
	{ "PKU", 7, ECX, 3, { 0 } },
	{ "IBPB (0x80000008 EBX[12])", 0x80000008, EBX, 12, { 0x49 } },
	{ "STIBP (0x80000008 EBX[15])", 0x80000008, EBX, 15, { 0x48 } },
	{ "L1D_FLUSH", 7, EDX, 28, { 0x10b } },
	{ "SVM", 0x80000001, ECX, 2, { 0 } },
	{ "PerfCtrExtCore", 0x80000001, ECX, 23, { 0xc0010200, 0xc0010201 } },
	{ "OSVW", 0x80000001, ECX, 9, { 0xc0010140, 0xc0010141 } },
	{ "NodeId", 0x80000001, ECX, 19, { 0xc001100c } },
};

/*
 * For each feature: with the host's bit set, the MSRs exist in the model
 * exactly when the guest's CPUID shows the bit; with it clear, they do
 * not.  A feature the CPUID model hides must leave its MSRs #GP.
 */
static void check_features(const struct host *h, const char *hname)
{
	for (size_t i = 0; i < ARRAY_SIZE(feats); i++) {
		const struct feat *f = &feats[i];
		for (int on = 0; on < 2; on++) {
			struct host x = *h;
			uint32_t *reg = host_reg(&x, f->leaf, f->reg);
			*reg = on ? (*reg | B(f->bit)) : (*reg & ~B(f->bit));
			/* SPEC_CTRL and PRED_CMD have several CPUID sources. */
			if (!on && f->leaf == 7 && f->reg == EDX)
				x.l7[EDX] &= ~(B(27) | B(31)), x.e8[EBX] = 0;
			if (!on && f->leaf == 0x80000008)
				x.l7[EDX] &= ~B(26);
			struct msr_cpu m = model(&x);
			bool shown = guest_bit(f->leaf, f->reg, f->bit);
			if (!on && shown && !emulated(f)) {
				printf("    %s: %s shown though the host lacks it\n", hname, f->name);
				check_cur_failed = 1;
			}
			for (int k = 0; k < 6 && f->msrs[k]; k++) {
				bool exists = msr_rule_for(&m, f->msrs[k]) != NULL;
				if (exists != shown) {
					printf("    %s: %s %s, MSR 0x%x %s\n", hname, f->name,
					       shown ? "shown" : "hidden", f->msrs[k],
					       exists ? "exists" : "raises #GP");
					check_cur_failed = 1;
				}
			}
		}
	}
}

TEST(msrs_follow_cpuid_amd)
{
	check_features(&amd, "AMD");
}

TEST(msrs_follow_cpuid_intel)
{
	check_features(&intel, "Intel");
}

/* TSC_AUX exists with RDTSCP or RDPID, and not without both. */
TEST(tsc_aux_follows_rdtscp_or_rdpid)
{
	struct host x = amd;
	CHECK(msr_rule_for(&(struct msr_cpu){0}, 0xc0000103) == NULL);
	struct msr_cpu m = model(&x);
	CHECK(msr_rule_for(&m, 0xc0000103));
	x.e1[EDX] &= ~B(27);
	m = model(&x);
	CHECK(msr_rule_for(&m, 0xc0000103));            /* RDPID */
	x.l7[ECX] &= ~B(22);
	m = model(&x);
	CHECK(!msr_rule_for(&m, 0xc0000103));
}

/* The MSRs of one vendor #GP on the other; unknown MSRs #GP on both. */
TEST(vendor_msrs)
{
	struct msr_cpu a = model(&amd), i = model(&intel);
	static const uint32_t amd_only[] = { 0xc0010000, 0xc0010003, 0xc0010004, 0xc0010007,
					     0xc0010010, 0xc0010015, 0xc001001f, 0xc0010055, 0xc0010114, 0xc0010117,
					     0xc0011029 };
	static const uint32_t intel_only[] = { 0x17, 0x3a, 0x1a0 };
	static const uint32_t none[] = { 0x12345, 0xc1, 0x186, 0x309, 0x38f, 0x10a, 0xda0,
					 0x6a0, 0xc0011020, 0xc0010008, 0x40000000,
					 0xc0000104 };

	for (size_t k = 0; k < ARRAY_SIZE(amd_only); k++) {
		CHECK(msr_rule_for(&a, amd_only[k]));
		CHECK(!msr_rule_for(&i, amd_only[k]));
	}
	for (size_t k = 0; k < ARRAY_SIZE(intel_only); k++) {
		CHECK(!msr_rule_for(&a, intel_only[k]));
		CHECK(msr_rule_for(&i, intel_only[k]));
	}
	for (size_t k = 0; k < ARRAY_SIZE(none); k++) {
		CHECK(!msr_rule_for(&a, none[k]));
		CHECK(!msr_rule_for(&i, none[k]));
	}
	/* Present on both. */
	CHECK(msr_rule_for(&a, 0x8b) && msr_rule_for(&i, 0x8b));
	/* SYSCFG: only an AMD CPU with MTRRs (Linux reads it with the fixed MTRRs). */
	struct host x = amd;
	x.l1[EDX] &= ~B(12);
	x.e1[EDX] &= ~B(12);
	CHECK(!msr_rule_for(&(struct msr_cpu){0}, 0xc0010010));
	struct msr_cpu nm = model(&x);
	CHECK(!msr_rule_for(&nm, 0xc0010010));
}

/* Every MSR the model has and reads reads back what was written to it
 * (or reads as zero): what the guest test does on real CPUs. */
TEST(model_write_back_what_was_read)
{
	const struct host *hosts[] = { &amd, &intel };

	for (size_t h = 0; h < 2; h++) {
		struct msr_cpu m = model(hosts[h]);
		struct msr_state s;
		unsigned nr;
		const struct msr_rule *r = msr_rules(&nr);
		msr_state_init(&s, &m);
		for (unsigned i = 0; i < nr; i++) {
			if (r[i].policy != MSR_MODEL && r[i].policy != MSR_RAZ)
				continue;
			for (uint32_t msr = r[i].first; msr <= r[i].last; msr++) {
				uint64_t v, w;
				if (!m.has[r[i].feature])
					continue;
				if (msr == 0x10 || msr == 0x49)
					continue;       /* TSC: the vCPU's; PRED_CMD: write-only */
				if (!msr_model_read(&s, &m, msr, &v)) {
					printf("    %s 0x%x not readable\n", r[i].name, msr);
					check_cur_failed = 1;
					continue;
				}
				if (msr == 0xfe || msr == 0x3a)
					continue;       /* read-only: MTRRcap, locked FEATURE_CONTROL */
				if (!msr_model_write(&s, &m, msr, v) ||
				    !msr_model_read(&s, &m, msr, &w) || w != v) {
					printf("    %s 0x%x: wrote 0x%llx back, read 0x%llx\n",
					       r[i].name, msr, (unsigned long long)v,
					       (unsigned long long)w);
					check_cur_failed = 1;
				}
			}
		}
	}
}

TEST(mtrrs_as_firmware_leaves_them)
{
	struct msr_cpu m = model(&amd);         /* 48 physical address bits */
	struct msr_state s;
	uint64_t v;

	msr_state_init(&s, &m);
	CHECK(msr_model_read(&s, &m, 0xfe, &v));
	CHECK_EQ(v & 0xff, 8);                  /* VCNT */
	CHECK(v & B(8));                        /* fixed ranges */
	CHECK(msr_model_read(&s, &m, 0x2ff, &v));
	CHECK_EQ(v, 0xc06);                     /* E, FE, default WB */
	/* Variable range 0: the 32-bit PCI hole, 3 GiB-4 GiB, uncached. */
	CHECK(msr_model_read(&s, &m, 0x200, &v));
	CHECK_EQ(v, 0xc0000000);
	CHECK(msr_model_read(&s, &m, 0x201, &v));
	CHECK_EQ(v, 0xffffc0000800ULL);
	CHECK(msr_model_read(&s, &m, 0x202, &v));
	CHECK_EQ(v, 0);
	CHECK(msr_model_read(&s, &m, 0x250, &v));
	CHECK_EQ(v, 0x0606060606060606ULL);
	CHECK(msr_model_read(&s, &m, 0x259, &v));
	CHECK_EQ(v, 0);                         /* VGA hole */
	CHECK(msr_model_read(&s, &m, 0x26f, &v));
	CHECK_EQ(v, 0x0505050505050505ULL);
	/* MTRRcap is read-only; reserved types and bits raise #GP. */
	CHECK(!msr_model_write(&s, &m, 0xfe, 0));
	CHECK(!msr_model_write(&s, &m, 0x2ff, 0x802));          /* type 2 */
	CHECK(!msr_model_write(&s, &m, 0x2ff, 0x1806));         /* bit 12 */
	CHECK(!msr_model_write(&s, &m, 0x250, 0x0606060606060603ULL));
	CHECK(!msr_model_write(&s, &m, 0x200, 0xc0000100));     /* bits 11:8 */
	CHECK(!msr_model_write(&s, &m, 0x200, 1ULL << 48));     /* beyond MAXPHYADDR */
	CHECK(!msr_model_write(&s, &m, 0x201, 0xffffc0000801ULL));
	CHECK(msr_model_write(&s, &m, 0x202, 0x80000006));
	CHECK(msr_model_read(&s, &m, 0x202, &v));
	CHECK_EQ(v, 0x80000006);
	CHECK(msr_model_read(&s, &m, 0x200, &v));
	CHECK_EQ(v, 0xc0000000);
	/* On Intel's 46 bits the mask is narrower. */
	m = model(&intel);
	msr_state_init(&s, &m);
	CHECK(msr_model_read(&s, &m, 0x201, &v));
	CHECK_EQ(v, 0x3fffc0000800ULL);
}

TEST(amd_perf_counters_and_friends)
{
	struct msr_cpu m = model(&amd);
	struct msr_state s;
	uint64_t v;

	msr_state_init(&s, &m);
	/* PerfEvtSel keeps the enable bit (22) and the event; the counter
	 * does not keep a value: Linux then uses software events. */
	for (uint32_t i = 0; i < 4; i++) {
		CHECK(msr_model_read(&s, &m, 0xc0010000 + i, &v));
		CHECK_EQ(v, 0);
		CHECK(msr_model_write(&s, &m, 0xc0010000 + i, B(22) | B(20) | (0x76 + i)));
		CHECK(msr_model_read(&s, &m, 0xc0010000 + i, &v));
		CHECK_EQ(v, B(22) | B(20) | (0x76 + i));
		CHECK(msr_model_write(&s, &m, 0xc0010004 + i, 0xffff));
		CHECK(msr_model_read(&s, &m, 0xc0010004 + i, &v));
		CHECK_EQ(v, 0);
	}
	CHECK(!msr_model_write(&s, &m, 0xc0010000, 1ULL << 42));
	/* HWCR: TscFreqSel (24) reads 1, whatever is written (Linux warns
	 * "TSC doesn't count with P0 frequency" otherwise). */
	CHECK(msr_model_read(&s, &m, 0xc0010015, &v));
	CHECK(v & B(24));
	CHECK(msr_model_write(&s, &m, 0xc0010015, 0));
	CHECK(msr_model_read(&s, &m, 0xc0010015, &v));
	CHECK_EQ(v, B(24));
	/* VM_CR: SVM disabled and locked; writes change nothing. */
	CHECK(msr_model_write(&s, &m, 0xc0010114, 0));
	CHECK(msr_model_read(&s, &m, 0xc0010114, &v));
	CHECK_EQ(v, 0x18);
	/* VM_HSAVE_PA: page-aligned, below MAXPHYADDR. */
	CHECK(!msr_model_write(&s, &m, 0xc0010117, 0x1234));
	CHECK(!msr_model_write(&s, &m, 0xc0010117, 1ULL << 48));
	CHECK(msr_model_write(&s, &m, 0xc0010117, 0x12345000));
	CHECK(msr_model_read(&s, &m, 0xc0010117, &v));
	CHECK_EQ(v, 0x12345000);
	/* DE_CFG: LFENCE serializing. */
	CHECK(msr_model_read(&s, &m, 0xc0011029, &v));
	CHECK(v & B(1));
}

TEST(intel_msrs)
{
	struct msr_cpu m = model(&intel);
	struct msr_state s;
	uint64_t v;

	msr_state_init(&s, &m);
	CHECK(msr_model_read(&s, &m, 0x3a, &v));
	CHECK_EQ(v, 1);                                 /* locked, no VMX */
	CHECK(!msr_model_write(&s, &m, 0x3a, 5));
	CHECK(msr_model_read(&s, &m, 0x1a0, &v));
	CHECK_EQ(v & 1, 1);                             /* fast strings */
	CHECK(v & B(11));                               /* no BTS */
	CHECK(msr_model_write(&s, &m, 0x8b, 0));        /* Linux's microcode probe */
	CHECK(msr_model_read(&s, &m, 0x8b, &v));
	CHECK_EQ(v, 0);
	/* The CPUID model hides SPEC_CTRL and PRED_CMD (#GP); were it to
	 * show them, they would be modelled (speculation_msrs). */
	CHECK(!msr_model_write(&s, &m, 0x48, 0));
	CHECK(!msr_model_write(&s, &m, 0x49, 1));
}

TEST(efer_bits_follow_cpuid)
{
	struct msr_cpu a = model(&amd), i = model(&intel);

	CHECK_EQ(a.efer_mask, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | (1u << 14));
	CHECK_EQ(i.efer_mask, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
	struct host x = amd;
	x.e1[EDX] &= ~(B(20) | B(25));
	CHECK_EQ(model(&x).efer_mask, EFER_SCE | EFER_LME | EFER_LMA);
}

/* The pass-through list is the table's MSR_PASS rules the model has, and
 * never an MSR that is modelled or has a check on writes. */
TEST(passthrough_list)
{
	unsigned nr;
	const uint32_t *p = msr_passthrough_list(&nr);
	const struct msr_cpu *m = msr_guest_cpu();

	CHECK(nr >= 10);
	for (unsigned i = 0; i < nr; i++) {
		const struct msr_rule *r = msr_rule_for(m, p[i]);
		CHECK(r && r->policy == MSR_PASS);
		CHECK(p[i] != MSR_EFER && p[i] != 0x277 && p[i] != 0x1b && p[i] != 0xc0000103);
	}
}

/* The table's ranges do not overlap, so each MSR has one policy. */
TEST(rules_disjoint)
{
	unsigned nr;
	const struct msr_rule *r = msr_rules(&nr);

	for (unsigned i = 0; i < nr; i++) {
		CHECK(r[i].first <= r[i].last);
		for (unsigned j = i + 1; j < nr; j++)
			CHECK(r[i].last < r[j].first || r[j].last < r[i].first);
	}
}

/*
 * SPEC_CTRL, PRED_CMD and FLUSH_CMD as the guest writes them.  Shown: a
 * bit the model lacks raises #GP; IBPB and L1D_FLUSH are carried out on
 * the host, 0 is accepted and does nothing; both commands are
 * write-only.  Hidden (as the CPUID model keeps them now): every access
 * raises #GP and nothing reaches the host.
 */
static bool guest_wr(struct vcpu *v, uint32_t msr, uint64_t val, bool host_write)
{
	unsigned before = nr_host_wr;
	bool ok = msr_guest_write(v, msr, val);
	bool wrote = nr_host_wr == before + 1 && host_wr[before].msr == msr &&
		     host_wr[before].v == val;

	if (nr_host_wr != before + (unsigned)host_write || (host_write && !wrote)) {
		printf("    WRMSR 0x%x, 0x%llx: %u host writes\n", msr, (unsigned long long)val,
		       nr_host_wr - before);
		check_cur_failed = 1;
	}
	return ok;
}

TEST(speculation_msrs)
{
	struct msr_cpu m = { .intel = true, .spec_ctrl_mask = 1 | 4 };
	struct vcpu v;
	uint64_t val;

	m.has[MSRF_SPEC_CTRL] = m.has[MSRF_PRED_CMD] = m.has[MSRF_FLUSH_CMD] = true;
	memset(&v, 0, sizeof(v));
	msr_guest_cpu_set(&m);
	msr_state_init(&v.msr, &m);
	for (uint32_t cmd = 0x49; cmd; cmd = cmd == 0x49 ? 0x10b : 0) {
		CHECK(guest_wr(&v, cmd, 1, true));
		CHECK(guest_wr(&v, cmd, 0, false));
		CHECK(!guest_wr(&v, cmd, 2, false));
		CHECK(!guest_wr(&v, cmd, 3, false));
		CHECK(!guest_wr(&v, cmd, 1ull << 63, false));
		CHECK(!msr_guest_read(&v, cmd, &val));
	}
	CHECK(guest_wr(&v, 0x48, 5, false));
	CHECK(msr_guest_read(&v, 0x48, &val) && val == 5);
	CHECK(!guest_wr(&v, 0x48, 2, false));                   /* no STIBP */
	CHECK(!guest_wr(&v, 0x48, 8, false));
	CHECK(!guest_wr(&v, 0x48, 1ull << 32, false));
	CHECK(msr_guest_read(&v, 0x48, &val) && val == 5);

	/* The CPUID model hides them from a host that has them all. */
	struct host x = intel;
	x.l7[EDX] |= B(26) | B(27) | B(28) | B(31);
	m = model(&x);
	CHECK(m.spec_ctrl_mask == 0);
	msr_guest_cpu_set(&m);
	for (uint32_t msr = 0x48; msr <= 0x49; msr++)
		CHECK(!guest_wr(&v, msr, 1, false) && !guest_wr(&v, msr, 0, false));
	CHECK(!guest_wr(&v, 0x10b, 1, false));
}

int main(void)
{
	check_prog = "msr";
	RUN(msrs_follow_cpuid_amd);
	RUN(msrs_follow_cpuid_intel);
	RUN(tsc_aux_follows_rdtscp_or_rdpid);
	RUN(vendor_msrs);
	RUN(model_write_back_what_was_read);
	RUN(mtrrs_as_firmware_leaves_them);
	RUN(amd_perf_counters_and_friends);
	RUN(intel_msrs);
	RUN(efer_bits_follow_cpuid);
	RUN(passthrough_list);
	RUN(rules_disjoint);
	RUN(speculation_msrs);
	return check_finish();
}
