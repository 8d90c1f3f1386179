/*
 * Finding the CPUs and interrupt controllers the way an OS does: the ACPI
 * RSDP in 0xE0000-0xFFFFF, the XSDT (or RSDT) and the MADT (ACPI 6.5
 * §5.2.5-§5.2.8, §5.2.12), and the Intel MP floating pointer and
 * configuration table (MultiProcessor Specification 1.4 §4).  Everything
 * read is checked (signatures, checksums, lengths) before use: a malformed
 * table is a FAILURE of the platform under test.
 */
#include "test/guests/lib/pc.h"

#define BIOS_AREA       0xe0000u
#define BIOS_END        0x100000u
#define MP_AREA         0xf0000u
#define EBDA_SEG_PTR    0x40e           /* BIOS data area: EBDA segment */
#define TABLE_MAX       0x10000u        /* no table here is larger */
#define SDT_HDR         36

#define MADT_LAPIC      0
#define MADT_IOAPIC     1
#define MADT_ISO        2
#define MADT_X2APIC     9
#define LAPIC_ENABLED   1

struct __attribute__((packed)) rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t rev;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t xchecksum, reserved[3];
};

struct __attribute__((packed)) mp_fp {
	char sig[4];
	uint32_t config;
	uint8_t length, rev, checksum, features[5];
};

struct __attribute__((packed)) mp_config {
	char sig[4];
	uint16_t length;
	uint8_t rev, checksum;
	char oem[8], product[12];
	uint32_t oem_table;
	uint16_t oem_size, count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
};

/* A pointer to low memory the compiler cannot see through (no -Warray-bounds on constants). */
static const void *phys(uintptr_t pa)
{
	asm("" : "+r"(pa));
	return (const void *)pa;
}

static uint8_t sum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static const struct rsdp *rsdp_find(void)
{
	for (uintptr_t a = BIOS_AREA; a < BIOS_END; a += 16) {
		const struct rsdp *r = (const void *)a;
		if (memcmp(r->sig, "RSD PTR ", 8) || sum8(r, 20))
			continue;
		if (r->rev >= 2 && (r->length < sizeof(*r) || r->length > BIOS_END - a ||
				    sum8(r, r->length)))
			continue;
		return r;
	}
	return NULL;
}

/* The table at pa if its header, length and checksum are sane; else NULL. */
static const uint8_t *sdt_at(uint64_t pa, const char *sig)
{
	if (!pa || pa >= (1ull << 32) - TABLE_MAX)
		return NULL;
	const uint8_t *t = (const void *)(uintptr_t)pa;
	uint32_t len = rd32(t + 4);
	if (len < SDT_HDR || len > TABLE_MAX || sum8(t, len) || (sig && memcmp(t, sig, 4)))
		return NULL;
	return t;
}

static const uint8_t *madt_find(void)
{
	const struct rsdp *r = rsdp_find();

	if (!r) {
		guest_fail("no ACPI RSDP with a valid checksum in 0x%x-0x%x", BIOS_AREA, BIOS_END);
		return NULL;
	}
	bool x = r->rev >= 2 && r->xsdt;
	const uint8_t *root = x ? sdt_at(r->xsdt, "XSDT") : sdt_at(r->rsdt, "RSDT");
	if (!root) {
		guest_fail("RSDP at %p (revision %u): %s missing or malformed", (const void *)r,
			   r->rev, x ? "XSDT" : "RSDT");
		return NULL;
	}
	unsigned esize = x ? 8 : 4;
	uint32_t n = (rd32(root + 4) - SDT_HDR) / esize;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = root + SDT_HDR + i * esize;
		uint64_t pa = x ? rd64(e) : rd32(e);
		const uint8_t *t = sdt_at(pa, NULL);
		if (t && !memcmp(t, "APIC", 4))
			return t;
	}
	guest_fail("%s at %p lists no valid MADT (\"APIC\")", x ? "XSDT" : "RSDT",
		   (const void *)root);
	return NULL;
}

static void madt_add_cpu(struct madt_info *m, uint32_t apic_id, uint32_t flags)
{
	if (!(flags & LAPIC_ENABLED)) {
		m->nr_disabled++;
		return;
	}
	if (m->nr_cpus < MAX_CPUS)
		m->apic_ids[m->nr_cpus] = apic_id;
	else
		guest_error("MADT lists more than %d CPUs: APIC id %u ignored", MAX_CPUS, apic_id);
	m->nr_cpus++;
}

bool madt_read(struct madt_info *m)
{
	const uint8_t *t = madt_find();

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < 16; i++)
		m->isa_gsi[i] = i;
	if (!t)
		return false;
	uint32_t len = rd32(t + 4);
	if (len < SDT_HDR + 8) {
		guest_fail("MADT length %u is too short", len);
		return false;
	}
	m->lapic_addr = rd32(t + SDT_HDR);
	m->flags = rd32(t + SDT_HDR + 4);
	for (uint32_t off = SDT_HDR + 8; off < len;) {
		const uint8_t *e = t + off;
		if (len - off < 2 || e[1] < 2 || e[1] > len - off) {
			guest_fail("MADT entry at offset %u (type %u) has a bad length", off, e[0]);
			return false;
		}
		if (e[0] == MADT_LAPIC && e[1] >= 8) {
			madt_add_cpu(m, e[3], rd32(e + 4));
		} else if (e[0] == MADT_X2APIC && e[1] >= 16) {
			madt_add_cpu(m, rd32(e + 4), rd32(e + 8));
		} else if (e[0] == MADT_IOAPIC && e[1] >= 12) {
			if (!m->nr_ioapics++) {
				m->ioapic_id = e[2];
				m->ioapic_addr = rd32(e + 4);
				m->ioapic_gsi_base = rd32(e + 8);
			}
		} else if (e[0] == MADT_ISO && e[1] >= 10 && e[2] == 0 && e[3] < 16) {
			m->isa_gsi[e[3]] = rd32(e + 4);
			m->isa_flags[e[3]] = (uint16_t)(e[8] | e[9] << 8);
		}
		off += e[1];
	}
	if (!m->nr_cpus || m->nr_cpus > MAX_CPUS) {
		guest_fail("MADT lists %u enabled CPUs (1-%d supported)", m->nr_cpus, MAX_CPUS);
		return false;
	}
	return true;
}

void madt_print(const struct madt_info *m)
{
	char ids[12 * MAX_CPUS + 1];
	size_t pos = 0;

	for (unsigned i = 0; i < m->nr_cpus && i < MAX_CPUS; i++)
		pos += guest_snprintf(ids + pos, sizeof(ids) - pos, " %u", m->apic_ids[i]);
	ids[pos] = '\0';
	guest_printf("%s: MADT: %u CPUs (APIC ids%s), %u disabled, local APIC 0x%x, flags 0x%x\n",
		     test_name, m->nr_cpus, ids, m->nr_disabled, m->lapic_addr, m->flags);
	guest_printf("%s: MADT: %u IOAPIC(s), id %u at 0x%x GSI base %u; ISA IRQ 0 -> GSI %u, "
		     "IRQ 8 -> GSI %u\n", test_name, m->nr_ioapics, m->ioapic_id, m->ioapic_addr,
		     m->ioapic_gsi_base, m->isa_gsi[0], m->isa_gsi[8]);
}

/* ---- Intel MP table ------------------------------------------------------ */
static const struct mp_fp *mp_scan(uintptr_t start, uintptr_t len)
{
	for (uintptr_t a = start; a + 16 <= start + len; a += 16) {
		const struct mp_fp *f = (const void *)a;
		if (!memcmp(f->sig, "_MP_", 4) && f->length == 1 && !sum8(f, 16))
			return f;
	}
	return NULL;
}

/* MP spec 1.4 §4: the first KiB of the EBDA, else 0xF0000-0xFFFFF. */
static const struct mp_fp *mp_find(void)
{
	uintptr_t ebda = (uintptr_t)*(const volatile uint16_t *)phys(EBDA_SEG_PTR) << 4;
	const struct mp_fp *f = NULL;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		f = mp_scan(ebda, 1024);
	return f ? f : mp_scan(MP_AREA, BIOS_END - MP_AREA);
}

static const uint8_t mp_entry_size[5] = { 20, 8, 8, 8, 8 };     /* §4.3, types 0-4 */

bool mp_read(struct mp_info *mp)
{
	const struct mp_fp *f = mp_find();

	memset(mp, 0, sizeof(*mp));
	mp->bsp_apic_id = -1;
	if (!f) {
		guest_fail("no MP floating pointer (\"_MP_\") in the EBDA or 0x%x-0x%x",
			   MP_AREA, BIOS_END);
		return false;
	}
	if (!f->config || f->features[0]) {
		guest_fail("MP floating pointer at %p: default configuration %u, no table",
			   (const void *)f, f->features[0]);
		return false;
	}
	const struct mp_config *c = (const void *)(uintptr_t)f->config;
	if (f->config >= BIOS_END || memcmp(c->sig, "PCMP", 4) || c->length < sizeof(*c) ||
	    c->length > BIOS_END - f->config || sum8(c, c->length)) {
		guest_fail("MP configuration table at 0x%x: bad signature, length or checksum",
			   f->config);
		return false;
	}
	const uint8_t *e = (const uint8_t *)(c + 1), *end = (const uint8_t *)c + c->length;
	for (unsigned i = 0; i < c->count; i++) {
		if (e >= end || e[0] > 4 || mp_entry_size[e[0]] > end - e) {
			guest_fail("MP table entry %u (type %u) runs past the table", i,
				   e < end ? e[0] : 0);
			return false;
		}
		if (e[0] == 0 && (e[3] & 1)) {          /* processor, CPU flags EN */
			if (mp->nr_cpus < MAX_CPUS)
				mp->apic_ids[mp->nr_cpus] = e[1];
			mp->nr_cpus++;
			if (e[3] & 2)                   /* BP */
				mp->bsp_apic_id = e[1];
		} else if (e[0] == 2 && (e[3] & 1) && !mp->nr_ioapics++) {
			mp->ioapic_id = e[1];
			mp->ioapic_addr = rd32(e + 4);
		}
		e += mp_entry_size[e[0]];
	}
	return true;
}
