/*
 * ACPI table discovery (RSDP, RSDT/XSDT) and MADT parsing.  Section
 * numbers are from the ACPI 6.5 specification.  Firmware tables are read
 * byte by byte with explicit little-endian loads, since RSDT/XSDT entries
 * and MADT fields are not naturally aligned.
 */
#include "drivers/acpi.h"
#include "lib/printf.h"
#include "lib/string.h"

#define RSDP_SIG        "RSD PTR "
#define RSDP_MAX_LEN    1024    /* sanity bound for an RSDP's Length field */
#define BDA_EBDA_SEG    0x40E   /* real-mode segment of the EBDA, §5.2.5.1 */
#define EBDA_SCAN_LEN   1024
#define EBDA_END        0xA0000
#define BIOS_ROM_BASE   0xE0000
#define BIOS_ROM_LEN    0x20000

/* MADT Interrupt Controller Structure types, §5.2.12 Table 5.21. */
#define MADT_LAPIC              0x0
#define MADT_IOAPIC             0x1
#define MADT_OVERRIDE           0x2
#define MADT_LAPIC_NMI          0x4
#define MADT_LAPIC_ADDR         0x5
#define MADT_X2APIC             0x9
#define MADT_X2APIC_NMI         0xA

/* Local APIC flags, §5.2.12.2 Table 5.23. */
#define MADT_CPU_ENABLED        0x1
#define MADT_CPU_ONLINE_CAPABLE 0x2
#define MADT_PCAT_COMPAT        0x1

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* Map a range, refusing ranges that wrap around the address space. */
static const uint8_t *acpi_map(acpi_map_fn map, void *ctx, uint64_t pa,
			       uint64_t len)
{
	if (len == 0 || pa + len < pa)
		return NULL;
	return map(ctx, pa, len);
}

/* Printable copy of a 4-byte signature for messages. */
static void sig_str(char out[5], const void *sig)
{
	const uint8_t *s = sig;

	for (int i = 0; i < 4; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	out[4] = '\0';
}

int acpi_parse_rsdp(const void *rsdp, size_t len, uint64_t *xsdt_pa,
		    uint64_t *rsdt_pa, char *err, size_t errlen)
{
	const uint8_t *p = rsdp;

	if (!p || len < ACPI_RSDP_V1_LEN) {
		return errf(err, errlen, "RSDP is %lu bytes, expected at least %u",
			    (uint64_t)(p ? len : 0), ACPI_RSDP_V1_LEN);
	}
	if (memcmp(p, RSDP_SIG, 8) != 0) {
		return errf(err, errlen, "RSDP signature is wrong, expected \"%s\"",
			    RSDP_SIG);
	}
	if (acpi_sum(p, ACPI_RSDP_V1_LEN) != 0) {
		return errf(err, errlen, "RSDP checksum over the first %u bytes "
			    "sums to 0x%x, expected 0", ACPI_RSDP_V1_LEN,
			    acpi_sum(p, ACPI_RSDP_V1_LEN));
	}
	uint8_t rev = p[15];
	*rsdt_pa = le32(p + 16);
	*xsdt_pa = 0;
	if (rev < 2)
		return 0;

	/* ACPI 2.0+: Length, XsdtAddress and the extended checksum, §5.2.5.3. */
	if (len < ACPI_RSDP_V2_LEN) {
		return errf(err, errlen, "RSDP revision %u is %lu bytes, expected "
			    "at least %u", rev, (uint64_t)len, ACPI_RSDP_V2_LEN);
	}
	uint32_t tlen = le32(p + 20);
	if (tlen < ACPI_RSDP_V2_LEN || tlen > len) {
		return errf(err, errlen, "RSDP revision %u has length %u, expected "
			    "%u..%lu", rev, tlen, ACPI_RSDP_V2_LEN, (uint64_t)len);
	}
	if (acpi_sum(p, tlen) != 0) {
		return errf(err, errlen, "RSDP extended checksum over %u bytes "
			    "sums to 0x%x, expected 0", tlen, acpi_sum(p, tlen));
	}
	*xsdt_pa = le64(p + 24);
	return 0;
}

/*
 * Map the RSDP at pa with as many bytes as its revision calls for.
 * Sets *len to the bytes mapped; NULL if not even 20 bytes are mapped.
 */
static const uint8_t *rsdp_map(acpi_map_fn map, void *ctx, uint64_t pa,
			       size_t *len)
{
	const uint8_t *p = acpi_map(map, ctx, pa, ACPI_RSDP_V1_LEN);

	*len = ACPI_RSDP_V1_LEN;
	if (!p || p[15] < 2)
		return p;
	const uint8_t *p2 = acpi_map(map, ctx, pa, ACPI_RSDP_V2_LEN);
	if (!p2)
		return p;       /* acpi_parse_rsdp reports the short RSDP */
	*len = ACPI_RSDP_V2_LEN;
	uint32_t tlen = le32(p2 + 20);
	if (tlen <= ACPI_RSDP_V2_LEN || tlen > RSDP_MAX_LEN)
		return p2;
	const uint8_t *p3 = acpi_map(map, ctx, pa, tlen);
	if (!p3)
		return p2;
	*len = tlen;
	return p3;
}

/* Scan [base, base+len) on 16-byte boundaries for a valid RSDP. */
static bool rsdp_scan(acpi_map_fn map, void *ctx, uint64_t base, uint64_t len,
		      uint64_t *rsdp_pa)
{
	const uint8_t *area = acpi_map(map, ctx, base, len);
	uint64_t xsdt, rsdt;

	if (!area)
		return false;
	for (uint64_t off = 0; off + ACPI_RSDP_V1_LEN <= len; off += 16) {
		if (memcmp(area + off, RSDP_SIG, 8) != 0)
			continue;
		size_t rlen;
		const uint8_t *p = rsdp_map(map, ctx, base + off, &rlen);
		if (p && acpi_parse_rsdp(p, rlen, &xsdt, &rsdt, NULL, 0) == 0) {
			*rsdp_pa = base + off;
			return true;
		}
	}
	return false;
}

int acpi_find_rsdp(acpi_map_fn map, void *ctx, uint64_t *rsdp_pa)
{
	const uint8_t *bda = acpi_map(map, ctx, BDA_EBDA_SEG, 2);

	if (bda) {
		uint64_t ebda = (uint64_t)le16(bda) << 4;
		if (ebda >= 0x400 && ebda + EBDA_SCAN_LEN <= EBDA_END &&
		    rsdp_scan(map, ctx, ebda, EBDA_SCAN_LEN, rsdp_pa))
			return 0;
	}
	if (rsdp_scan(map, ctx, BIOS_ROM_BASE, BIOS_ROM_LEN, rsdp_pa))
		return 0;
	return -1;
}

const void *acpi_map_table(acpi_map_fn map, void *ctx, uint64_t pa,
			   const char *sig, uint32_t *len, char *err,
			   size_t errlen)
{
	char want[5], got[5];
	const uint8_t *h, *t;

	sig_str(want, sig ? sig : "ACPI");
	if (pa == 0) {
		errf(err, errlen, "%s table address is 0", want);
		return NULL;
	}
	h = acpi_map(map, ctx, pa, ACPI_SDT_HEADER_LEN);
	if (!h) {
		errf(err, errlen, "%s table header at 0x%lx is not mapped",
			  want, pa);
		return NULL;
	}
	sig_str(got, h);
	if (sig && memcmp(h, sig, 4) != 0) {
		errf(err, errlen, "table at 0x%lx has signature \"%s\", "
			  "expected \"%s\"", pa, got, want);
		return NULL;
	}
	uint32_t tlen = le32(h + 4);
	if (tlen < ACPI_SDT_HEADER_LEN || tlen > ACPI_TABLE_MAX_LEN) {
		errf(err, errlen, "%s table at 0x%lx has length %u, expected "
			  "%u..%u", got, pa, tlen, ACPI_SDT_HEADER_LEN,
			  (unsigned int)ACPI_TABLE_MAX_LEN);
		return NULL;
	}
	t = acpi_map(map, ctx, pa, tlen);
	if (!t) {
		errf(err, errlen, "%s table at 0x%lx (%u bytes) is not mapped",
			  got, pa, tlen);
		return NULL;
	}
	if (acpi_sum(t, tlen) != 0) {
		errf(err, errlen, "%s table at 0x%lx has a bad checksum "
			  "(sums to 0x%x, expected 0)", got, pa, acpi_sum(t, tlen));
		return NULL;
	}
	*len = tlen;
	return t;
}

/*
 * Look for sig among the entries (entsize bytes each) of the RSDT or XSDT
 * at root_pa.  *root_ok tells whether the root table itself was usable.
 */
static int sdt_search(acpi_map_fn map, void *ctx, uint64_t root_pa,
		      const char *root_sig, unsigned entsize, const char *sig,
		      uint64_t *table_pa, bool *root_ok, char *err,
		      size_t errlen)
{
	uint32_t len, tlen;
	const uint8_t *root;
	char want[5];

	*root_ok = false;
	root = acpi_map_table(map, ctx, root_pa, root_sig, &len, err, errlen);
	if (!root)
		return -1;
	uint32_t n = (len - ACPI_SDT_HEADER_LEN) / entsize;
	if (n > ACPI_SDT_MAX_ENTRIES) {
		return errf(err, errlen, "%s has %u entries, at most %u supported",
			    root_sig, n, ACPI_SDT_MAX_ENTRIES);
	}
	*root_ok = true;

	uint32_t unmapped = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = root + ACPI_SDT_HEADER_LEN + i * entsize;
		uint64_t pa = entsize == 8 ? le64(e) : le32(e);
		if (pa == 0)
			continue;
		const uint8_t *h = acpi_map(map, ctx, pa, ACPI_SDT_HEADER_LEN);
		if (!h) {
			unmapped++;
			continue;
		}
		if (memcmp(h, sig, 4) != 0)
			continue;
		if (!acpi_map_table(map, ctx, pa, sig, &tlen, err, errlen))
			return -1;
		*table_pa = pa;
		return 0;
	}
	sig_str(want, sig);
	return errf(err, errlen, "no %s table in the %s at 0x%lx (%u entries, %u "
		  "not mapped)", want, root_sig, root_pa, n, unmapped);
}

int acpi_find_table(acpi_map_fn map, void *ctx, uint64_t rsdp_pa,
		    const void *rsdp_copy, size_t rsdp_copy_len,
		    const char sig[4], uint64_t *table_pa, char *err,
		    size_t errlen)
{
	uint64_t xsdt_pa, rsdt_pa;
	const void *rsdp = rsdp_copy;
	size_t rsdp_len = rsdp_copy_len;
	char xerr[128];
	bool root_ok;

	if (!rsdp) {
		if (rsdp_pa == 0) {
			return errf(err, errlen, "no RSDP address or copy given");
		}
		rsdp = rsdp_map(map, ctx, rsdp_pa, &rsdp_len);
		if (!rsdp) {
			return errf(err, errlen, "RSDP at 0x%lx is not mapped",
				  rsdp_pa);
		}
	}
	if (acpi_parse_rsdp(rsdp, rsdp_len, &xsdt_pa, &rsdt_pa, err, errlen))
		return -1;

	/* §5.2.5.3: with an XSDT present, OSPM uses it instead of the RSDT. */
	if (xsdt_pa) {
		if (sdt_search(map, ctx, xsdt_pa, "XSDT", 8, sig, table_pa,
			       &root_ok, xerr, sizeof(xerr)) == 0)
			return 0;
		if (root_ok || rsdt_pa == 0) {
			return errf(err, errlen, "%s", xerr);
		}
		/* Broken XSDT: fall back to the RSDT, keeping both reasons. */
		if (sdt_search(map, ctx, rsdt_pa, "RSDT", 4, sig, table_pa,
			       &root_ok, err, errlen) == 0)
			return 0;
		size_t n = err ? strnlen(err, errlen) : 0;
		if (n < errlen)
			errf(err + n, errlen - n, " (XSDT unusable: %s)",
				  xerr);
		return -1;
	}
	if (rsdt_pa == 0) {
		return errf(err, errlen, "RSDP has neither an XSDT nor an RSDT "
			    "address");
	}
	return sdt_search(map, ctx, rsdt_pa, "RSDT", 4, sig, table_pa,
			  &root_ok, err, errlen);
}

/* Shortest valid length of each MADT entry type; 2 for unknown ones. */
static unsigned madt_entry_min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC:        return 8;       /* §5.2.12.2 */
	case MADT_IOAPIC:       return 12;      /* §5.2.12.3 */
	case MADT_OVERRIDE:     return 10;      /* §5.2.12.5 */
	case MADT_LAPIC_NMI:    return 6;       /* §5.2.12.7 */
	case MADT_LAPIC_ADDR:   return 12;      /* §5.2.12.8 */
	case MADT_X2APIC:       return 16;      /* §5.2.12.12 */
	case MADT_X2APIC_NMI:   return 12;      /* §5.2.12.13 */
	default:                return 2;
	}
}

static void madt_add_cpu(struct acpi_madt_info *out, uint32_t apic_id,
			 uint32_t uid, uint32_t flags, bool x2apic)
{
	bool enabled = flags & MADT_CPU_ENABLED;
	bool online_capable = !enabled && (flags & MADT_CPU_ONLINE_CAPABLE);

	/* §5.2.12.2: neither bit set means unusable, to be ignored. */
	if (!enabled && !online_capable)
		return;
	/*
	 * Some firmware lists a CPU both as Local APIC and as Local x2APIC;
	 * keep one entry per APIC ID so no CPU is started twice.
	 */
	for (int i = 0; i < out->nr_cpus; i++) {
		if (out->cpu[i].apic_id == apic_id) {
			if (enabled && !out->cpu[i].enabled) {
				out->cpu[i].enabled = true;
				out->cpu[i].online_capable = false;
			}
			return;
		}
	}
	if (out->nr_cpus == ACPI_MAX_CPUS) {
		out->truncated = true;
		return;
	}
	out->cpu[out->nr_cpus++] = (struct acpi_cpu){
		.apic_id = apic_id, .acpi_uid = uid, .enabled = enabled,
		.online_capable = online_capable, .x2apic = x2apic,
	};
}

static void madt_add_nmi(struct acpi_madt_info *out, uint32_t uid,
			 uint16_t flags, uint8_t lint)
{
	/*
	 * LINT# is 0 or 1 (ACPI 6.5 §5.2.12.7, §5.2.12.13); an entry naming
	 * another pin is firmware garbage and is skipped, so acpi_nmi.lint
	 * holds what its comment promises (found by test/fuzz/fuzz_acpi.c).
	 */
	if (lint > 1)
		return;
	if (out->nr_nmis == ACPI_MAX_NMIS) {
		out->truncated = true;
		return;
	}
	out->nmi[out->nr_nmis++] = (struct acpi_nmi){
		.acpi_uid = uid, .flags = flags, .lint = lint,
	};
}

/* Record one entry e of known-sufficient length. */
static void madt_entry(struct acpi_madt_info *out, const uint8_t *e)
{
	switch (e[0]) {
	case MADT_LAPIC:
		/* An APIC ID of 0xFF is the broadcast ID, not a CPU. */
		if (e[3] != 0xFF)
			madt_add_cpu(out, e[3], e[2], le32(e + 4), false);
		break;
	case MADT_X2APIC:
		if (le32(e + 4) != 0xFFFFFFFFu)
			madt_add_cpu(out, le32(e + 4), le32(e + 12),
				     le32(e + 8), true);
		break;
	case MADT_IOAPIC:
		if (out->nr_ioapics == ACPI_MAX_IOAPICS) {
			out->truncated = true;
			break;
		}
		out->ioapic[out->nr_ioapics++] = (struct acpi_ioapic){
			.id = e[2], .addr = le32(e + 4), .gsi_base = le32(e + 8),
		};
		break;
	case MADT_OVERRIDE:
		if (out->nr_overrides == ACPI_MAX_OVERRIDES) {
			out->truncated = true;
			break;
		}
		out->override[out->nr_overrides++] = (struct acpi_override){
			.bus = e[2], .source_irq = e[3], .gsi = le32(e + 4),
			.flags = le16(e + 8),
		};
		break;
	case MADT_LAPIC_NMI:
		madt_add_nmi(out, e[2] == 0xFF ? ACPI_NMI_ALL_CPUS : e[2],
			     le16(e + 3), e[5]);
		break;
	case MADT_X2APIC_NMI:
		madt_add_nmi(out, le32(e + 4), le16(e + 2), e[8]);
		break;
	case MADT_LAPIC_ADDR:
		out->lapic_addr = le64(e + 4);
		break;
	default:
		break;
	}
}

int acpi_parse_madt(const void *madt, size_t len, struct acpi_madt_info *out,
		    char *err, size_t errlen)
{
	const uint8_t *t = madt;
	char got[5];

	memset(out, 0, sizeof(*out));
	if (!t || len < ACPI_MADT_MIN_LEN) {
		return errf(err, errlen, "MADT is %lu bytes, expected at least %u",
			    (uint64_t)(t ? len : 0), ACPI_MADT_MIN_LEN);
	}
	if (memcmp(t, "APIC", 4) != 0) {
		sig_str(got, t);
		return errf(err, errlen, "MADT has signature \"%s\", expected "
			    "\"APIC\"", got);
	}
	uint32_t tlen = le32(t + 4);
	if (tlen < ACPI_MADT_MIN_LEN || tlen > len) {
		return errf(err, errlen, "MADT has length %u, expected %u..%lu",
			    tlen, ACPI_MADT_MIN_LEN, (uint64_t)len);
	}
	if (acpi_sum(t, tlen) != 0) {
		return errf(err, errlen, "MADT has a bad checksum (sums to 0x%x, "
			    "expected 0)", acpi_sum(t, tlen));
	}
	out->lapic_addr = le32(t + 36);
	out->pcat_compat = le32(t + 40) & MADT_PCAT_COMPAT;

	/* Every entry is at least 2 bytes, so this ends within tlen/2 steps. */
	for (uint32_t off = ACPI_MADT_MIN_LEN; off < tlen;) {
		if (tlen - off < 2) {
			return errf(err, errlen, "MADT entry at offset 0x%x runs past "
				  "the table end at 0x%x", off, tlen);
		}
		uint8_t type = t[off], elen = t[off + 1];
		if (elen == 0) {
			return errf(err, errlen, "MADT entry at offset 0x%x has "
				  "length 0", off);
		}
		if (elen > tlen - off) {
			return errf(err, errlen, "MADT entry at offset 0x%x (type %u, "
				  "length %u) runs past the table end at 0x%x",
				  off, type, elen, tlen);
		}
		if (elen < madt_entry_min_len(type)) {
			return errf(err, errlen, "MADT entry at offset 0x%x (type %u) "
				  "has length %u, expected at least %u", off,
				  type, elen, madt_entry_min_len(type));
		}
		madt_entry(out, t + off);
		off += elen;
	}
	return 0;
}
