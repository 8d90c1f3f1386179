/*
 * SMBIOS 3.0 tables; see smbios.h.  Section and table numbers are from
 * DMTF DSP0134 version 3.0.0.
 */
#include "guest-loader/smbios.h"
#include "lib/printf.h"
#include "lib/string.h"

#define SCAN_LO         0xf0000ULL      /* §5.2.1: entry points are found here */
#define SCAN_HI         0x100000ULL
#define EP3_LEN         0x18            /* §5.2.2, Table 2 */
#define EP2_LEN         0x1f            /* §5.2.1, Table 1 */
#define TABLE_OFF       0x40            /* the structures follow both entry points */

/* One structure being written: its formatted area, then its strings. */
struct sm_out {
	uint8_t *buf;
	size_t len, pos;
	size_t start;           /* of the current structure */
	unsigned nstr;          /* strings of the current structure so far */
	uint16_t handle;        /* the next one */
	unsigned count;         /* structures written */
	size_t max_struct;      /* the largest, strings included */
	bool bad;
};

static void put(struct sm_out *o, const void *src, size_t n)
{
	if (o->bad || n > o->len - o->pos) {
		o->bad = true;
		return;
	}
	memcpy(o->buf + o->pos, src, n);
	o->pos += n;
}

static void u8(struct sm_out *o, uint8_t v) { put(o, &v, 1); }

static void u16(struct sm_out *o, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	put(o, b, 2);
}

static void u32(struct sm_out *o, uint32_t v)
{
	u16(o, (uint16_t)v);
	u16(o, (uint16_t)(v >> 16));
}

static void u64(struct sm_out *o, uint64_t v)
{
	u32(o, (uint32_t)v);
	u32(o, (uint32_t)(v >> 32));
}

/* §6.1.2: type, length of the formatted area, handle.  Returns the handle. */
static uint16_t begin(struct sm_out *o, uint8_t type, uint8_t len)
{
	o->start = o->pos;
	o->nstr = 0;
	u8(o, type);
	u8(o, len);
	u16(o, o->handle);
	return o->handle++;
}

/*
 * The strings follow the formatted area, each ended by a NUL, the set by
 * another NUL; a structure without strings ends with two NULs (§6.1.3).
 * str() is called while the formatted area is written: it returns the
 * string's number for the field and queues the text after the area.
 */
#define MAX_STRS        8
struct sm_strs {
	const char *s[MAX_STRS];
	size_t n[MAX_STRS];
	unsigned nr;
};

static uint8_t str(struct sm_strs *t, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;

	if (n == 0 || t->nr == MAX_STRS)
		return 0;               /* 0: no string */
	t->s[t->nr] = s;
	t->n[t->nr] = n;
	return (uint8_t)++t->nr;
}

static void end(struct sm_out *o, const struct sm_strs *t, uint8_t want_len)
{
	/* The formatted area must be as long as its header says. */
	if (!o->bad && o->pos - o->start != want_len)
		o->bad = true;
	for (unsigned i = 0; t && i < t->nr; i++) {
		put(o, t->s[i], t->n[i]);
		u8(o, 0);
	}
	if (!t || t->nr == 0)
		u8(o, 0);
	u8(o, 0);
	o->count++;
	if (o->pos - o->start > o->max_struct)
		o->max_struct = o->pos - o->start;
}

/*
 * A UUID from the VM's name (RFC 9562 version 8, "custom"): two FNV-1a
 * hashes.  Stored with its first three fields little-endian (§7.2.1).
 */
static void name_uuid(const char *name, uint8_t u[16])
{
	uint64_t h[2] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull };

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < SMBIOS_MAX_NAME && name[i]; i++) {
			h[k] ^= (uint8_t)name[i];
			h[k] *= 0x100000001b3ull;
		}
		h[k] ^= (uint64_t)k + 0x6b6173616e65ull;        /* "kasane" */
		h[k] *= 0x100000001b3ull;
	}
	for (int i = 0; i < 8; i++) {
		u[i] = (uint8_t)(h[0] >> (8 * i));
		u[8 + i] = (uint8_t)(h[1] >> (8 * i));
	}
	/* Big-endian byte 6 (little-endian field 3's high byte, u[7]) holds
	 * the version; byte 8 the variant 10b. */
	u[7] = (uint8_t)((u[7] & 0x0f) | 0x80);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

static void type0_bios(struct sm_out *o, const struct smbios_in *in)
{
	struct sm_strs t = { 0 };
	const uint8_t len = 0x18;                       /* 2.4 and later */

	begin(o, 0, len);
	u8(o, str(&t, "kasane", 16));                   /* 04 vendor */
	u8(o, str(&t, in->version, 32));                /* 05 BIOS version */
	u16(o, (uint16_t)(SCAN_LO >> 4));               /* 06 starting segment */
	u8(o, str(&t, in->release_date, 10));           /* 08 release date */
	u8(o, 0);                                       /* 09 ROM size: 64 KiB */
	/* 0A characteristics (§7.1.1): ISA (4), PCI (7), EDD (19), 8042 (25),
	 * serial (27), CGA/mono (30) are not all claimed: ISA and PCI only. */
	u64(o, (1u << 4) | (1u << 7));
	/* 12 extension byte 1 (§7.1.2.1): ACPI (0).  13 byte 2 (§7.1.2.2):
	 * the table describes a virtual machine (4). */
	u8(o, 1u << 0);
	u8(o, 1u << 4);
	u8(o, 0);                                       /* 14 BIOS major release */
	u8(o, 1);                                       /* 15 minor */
	u8(o, 0xff);                                    /* 16 no embedded controller */
	u8(o, 0xff);                                    /* 17 */
	end(o, &t, len);
}

static void type1_system(struct sm_out *o, const struct smbios_in *in)
{
	struct sm_strs t = { 0 };
	const uint8_t len = 0x1b;                       /* 2.4 and later */
	uint8_t uuid[16];

	name_uuid(in->vm_name, uuid);
	begin(o, 1, len);
	u8(o, str(&t, "kasane", 16));                   /* 04 manufacturer */
	u8(o, str(&t, "kasane VM", 16));                /* 05 product name */
	u8(o, str(&t, in->version, 32));                /* 06 version */
	u8(o, str(&t, in->vm_name, SMBIOS_MAX_NAME));   /* 07 serial number */
	put(o, uuid, 16);                               /* 08 UUID */
	u8(o, 6);                                       /* 18 wake-up: power switch */
	u8(o, 0);                                       /* 19 SKU: none */
	u8(o, str(&t, "Virtual Machine", 16));          /* 1A family */
	end(o, &t, len);
}

static void type3_enclosure(struct sm_out *o)
{
	struct sm_strs t = { 0 };
	const uint8_t len = 0x15;                       /* 2.3, no contained elements */

	begin(o, 3, len);
	u8(o, str(&t, "kasane", 16));                   /* 04 manufacturer */
	u8(o, 0x01);                                    /* 05 type: other (§7.4.1) */
	u8(o, 0);                                       /* 06 version */
	u8(o, 0);                                       /* 07 serial */
	u8(o, 0);                                       /* 08 asset tag */
	u8(o, 0x03);                                    /* 09 boot-up state: safe */
	u8(o, 0x03);                                    /* 0A power supply: safe */
	u8(o, 0x03);                                    /* 0B thermal: safe */
	u8(o, 0x02);                                    /* 0C security: unknown */
	u32(o, 0);                                      /* 0D OEM-defined */
	u8(o, 0);                                       /* 11 height: unspecified */
	u8(o, 0);                                       /* 12 power cords: unspecified */
	u8(o, 0);                                       /* 13 contained elements */
	u8(o, 0);                                       /* 14 their record length */
	end(o, &t, len);
}

static void type4_processor(struct sm_out *o, const struct smbios_in *in)
{
	struct sm_strs t = { 0 };
	const uint8_t len = 0x30;                       /* 3.0 */
	uint8_t cores = (uint8_t)in->nr_vcpus;

	begin(o, 4, len);
	u8(o, str(&t, "CPU 0", 16));                    /* 04 socket designation */
	u8(o, 0x03);                                    /* 05 type: central processor */
	u8(o, 0xfe);                                    /* 06 family: see family 2 */
	u8(o, str(&t, in->cpu_vendor, 12));             /* 07 manufacturer */
	u32(o, in->cpuid_1_eax);                        /* 08 ID: CPUID 1 EAX, EDX (§7.5.3) */
	u32(o, in->cpuid_1_edx);
	u8(o, str(&t, in->cpu_brand, 48));              /* 10 version */
	u8(o, 0);                                       /* 11 voltage: unknown */
	u16(o, 0);                                      /* 12 external clock: unknown */
	u16(o, (uint16_t)MIN(in->cpu_mhz, 0xffffu));    /* 14 max speed */
	u16(o, (uint16_t)MIN(in->cpu_mhz, 0xffffu));    /* 16 current speed */
	u8(o, 0x41);                                    /* 18 populated, enabled */
	u8(o, 0x01);                                    /* 19 upgrade: other */
	u16(o, 0xffff);                                 /* 1A-1F no cache structures */
	u16(o, 0xffff);
	u16(o, 0xffff);
	u8(o, 0);                                       /* 20 serial */
	u8(o, 0);                                       /* 21 asset tag */
	u8(o, 0);                                       /* 22 part number */
	u8(o, cores);                                   /* 23 core count */
	u8(o, cores);                                   /* 24 cores enabled */
	u8(o, cores);                                   /* 25 threads */
	u16(o, 1u << 2);                                /* 26 characteristics: 64-bit */
	u16(o, 0x0001);                                 /* 28 family 2: other */
	u16(o, cores);                                  /* 2A core count 2 */
	u16(o, cores);                                  /* 2C cores enabled 2 */
	u16(o, cores);                                  /* 2E threads 2 */
	end(o, &t, len);
}

static uint64_t total_ram(const struct smbios_in *in)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < in->nr_ranges; i++)
		n += in->ram[i].size;
	return n;
}

static uint16_t type16_array(struct sm_out *o, const struct smbios_in *in)
{
	const uint8_t len = 0x17;                       /* 2.7 and later */
	uint64_t kib = total_ram(in) >> 10;

	uint16_t h = begin(o, 16, len);
	u8(o, 0x03);                                    /* 04 location: system board */
	u8(o, 0x03);                                    /* 05 use: system memory */
	u8(o, 0x03);                                    /* 06 error correction: none */
	/* 07 maximum capacity in KiB; 0x80000000: see the extended field. */
	u32(o, kib < 0x80000000ull ? (uint32_t)kib : 0x80000000u);
	u16(o, 0xfffe);                                 /* 0B no error information */
	u16(o, 1);                                      /* 0D devices */
	u64(o, kib < 0x80000000ull ? 0 : total_ram(in)); /* 0F extended, bytes */
	end(o, NULL, len);
	return h;
}

static uint16_t type17_device(struct sm_out *o, const struct smbios_in *in, uint16_t array)
{
	struct sm_strs t = { 0 };
	const uint8_t len = 0x28;                       /* 2.8 and later */
	uint64_t mib = total_ram(in) >> 20;

	uint16_t h = begin(o, 17, len);
	u16(o, array);                                  /* 04 array handle */
	u16(o, 0xfffe);                                 /* 06 no error information */
	u16(o, 0xffff);                                 /* 08 total width: unknown */
	u16(o, 0xffff);                                 /* 0A data width: unknown */
	/* 0C size in MiB; 0x7fff: see the extended size (§7.18.5). */
	u16(o, mib < 0x7fff ? (uint16_t)mib : 0x7fff);
	u8(o, 0x09);                                    /* 0E form factor: DIMM */
	u8(o, 0);                                       /* 0F not in a set */
	u8(o, str(&t, "DIMM 0", 16));                   /* 10 device locator */
	u8(o, 0);                                       /* 11 bank locator */
	u8(o, 0x07);                                    /* 12 type: RAM */
	u16(o, 1u << 1);                                /* 13 detail: other */
	u16(o, 0);                                      /* 15 speed: unknown */
	u8(o, str(&t, "kasane", 16));                   /* 17 manufacturer */
	u8(o, 0);                                       /* 18 serial */
	u8(o, 0);                                       /* 19 asset tag */
	u8(o, 0);                                       /* 1A part number */
	u8(o, 0);                                       /* 1B attributes: rank unknown */
	u32(o, mib < 0x7fff ? 0 : (uint32_t)MIN(mib, 0x7fffffffull));  /* 1C extended size */
	u16(o, 0);                                      /* 20 configured speed */
	u16(o, 0);                                      /* 22 minimum voltage */
	u16(o, 0);                                      /* 24 maximum voltage */
	u16(o, 0);                                      /* 26 configured voltage */
	end(o, &t, len);
	return h;
}

static void type19_mapped(struct sm_out *o, uint64_t base, uint64_t size, uint16_t array)
{
	const uint8_t len = 0x1f;                       /* 2.7 and later */
	uint64_t last = base + size - 1;
	/* KiB addresses, or 0xffffffff and the extended byte addresses (§7.20). */
	bool ext = (last >> 10) >= 0xffffffffull;

	begin(o, 19, len);
	u32(o, ext ? 0xffffffffu : (uint32_t)(base >> 10));     /* 04 start */
	u32(o, ext ? 0xffffffffu : (uint32_t)(last >> 10));     /* 08 end, inclusive */
	u16(o, array);                                  /* 0C array handle */
	u8(o, 1);                                       /* 0E partition width */
	u64(o, ext ? base : 0);                         /* 0F extended start */
	u64(o, ext ? last : 0);                         /* 17 extended end */
	end(o, NULL, len);
}

static void type32_boot(struct sm_out *o)
{
	const uint8_t len = 0x0b;

	begin(o, 32, len);
	for (int i = 0; i < 6; i++)
		u8(o, 0);                               /* 04 reserved */
	u8(o, 0);                                       /* 0A no errors detected */
	end(o, NULL, len);
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)-s;
}

int smbios_build(struct guest_mem *m, gpa_t base, uint64_t size, const struct smbios_in *in,
		 char *err, size_t errlen)
{
	if (base < SCAN_LO || base % 16 || size < SMBIOS_SIZE || size > SCAN_HI - base)
		return errf(err, errlen, "SMBIOS range at 0x%llx is not a 4 KiB range in "
			    "0xf0000-0xfffff", (unsigned long long)base);
	if (!in->vm_name || !in->version || !in->release_date || in->nr_vcpus == 0 ||
	    in->nr_vcpus > 255)
		return errf(err, errlen, "SMBIOS: %u vCPUs (1-255) or no name", in->nr_vcpus);
	if (in->nr_ranges == 0 || in->nr_ranges > SMBIOS_MAX_RANGES)
		return errf(err, errlen, "SMBIOS: %u RAM ranges", in->nr_ranges);
	for (unsigned i = 0; i < in->nr_ranges; i++)
		if (in->ram[i].size == 0 || in->ram[i].base + in->ram[i].size < in->ram[i].base)
			return errf(err, errlen, "SMBIOS: RAM range %u is empty or wraps", i);
	uint8_t *p = gmem_ptr(m, base, SMBIOS_SIZE);
	if (!p)
		return errf(err, errlen, "SMBIOS range at 0x%llx is not guest RAM",
			    (unsigned long long)base);

	memset(p, 0, SMBIOS_SIZE);
	struct sm_out o = { .buf = p, .len = SMBIOS_SIZE, .pos = TABLE_OFF };
	type0_bios(&o, in);
	type1_system(&o, in);
	type3_enclosure(&o);
	type4_processor(&o, in);
	uint16_t array = type16_array(&o, in);
	type17_device(&o, in, array);
	for (unsigned i = 0; i < in->nr_ranges; i++)
		type19_mapped(&o, in->ram[i].base, in->ram[i].size, array);
	type32_boot(&o);
	begin(&o, 127, 4);                              /* end of table (§7.45) */
	end(&o, NULL, 4);
	if (o.bad) {
		memset(p, 0, SMBIOS_SIZE);
		return errf(err, errlen, "SMBIOS tables do not fit in %u bytes", (unsigned)SMBIOS_SIZE);
	}
	uint32_t table_len = (uint32_t)(o.pos - TABLE_OFF);
	gpa_t table = base + TABLE_OFF;

	/* The 64-bit entry point (§5.2.2, Table 2). */
	struct sm_out e = { .buf = p, .len = EP3_LEN };
	put(&e, "_SM3_", 5);
	u8(&e, 0);                                      /* 05 checksum, below */
	u8(&e, EP3_LEN);                                /* 06 length */
	u8(&e, 3);                                      /* 07 major */
	u8(&e, 0);                                      /* 08 minor */
	u8(&e, 0);                                      /* 09 docrev */
	u8(&e, 1);                                      /* 0A entry point revision */
	u8(&e, 0);                                      /* 0B reserved */
	u32(&e, table_len);                             /* 0C table maximum size */
	u64(&e, table);                                 /* 10 table address */
	p[5] = checksum(p, EP3_LEN);

	/* The 32-bit entry point (§5.2.1, Table 1), 16-byte aligned after it. */
	uint8_t *q = p + 0x20;
	struct sm_out f = { .buf = q, .len = EP2_LEN };
	put(&f, "_SM_", 4);
	u8(&f, 0);                                      /* 04 checksum, below */
	u8(&f, EP2_LEN);                                /* 05 length */
	u8(&f, 3);                                      /* 06 major */
	u8(&f, 0);                                      /* 07 minor */
	u16(&f, (uint16_t)o.max_struct);                /* 08 largest structure */
	u8(&f, 0);                                      /* 0A revision */
	for (int i = 0; i < 5; i++)
		u8(&f, 0);                              /* 0B formatted area */
	put(&f, "_DMI_", 5);                            /* 10 intermediate anchor */
	u8(&f, 0);                                      /* 15 intermediate checksum */
	u16(&f, (uint16_t)table_len);                   /* 16 table length */
	u32(&f, (uint32_t)table);                       /* 18 table address */
	u16(&f, (uint16_t)o.count);                     /* 1C structures */
	u8(&f, 0x30);                                   /* 1E BCD revision 3.0 */
	q[0x15] = checksum(q + 0x10, EP2_LEN - 0x10);
	q[4] = checksum(q, EP2_LEN);
	return 0;
}
