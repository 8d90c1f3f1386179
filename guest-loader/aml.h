/*
 * A small builder of ACPI Machine Language (ACPI 6.5 §20.2): the pieces a
 * DSDT for a PC-like VM needs (names, integers, strings, packages, Scope,
 * Device, Method, Return) and resource templates (§6.4).
 *
 * Usage: aml_init() over a caller's buffer, then calls in source order.
 * A *_begin() opens an object whose PkgLength (§20.2.4) is known only at
 * its end; aml_end() closes the innermost one, inserting the encoded
 * length (and, for a buffer, its size) before the contents.  Nothing is
 * ever written past cap: an object that does not fit sets overflow but the
 * byte count goes on exactly, so aml_init(a, NULL, 0) measures the size a
 * block needs.  aml_finish() reports every error once at the end.
 *
 * Pure logic, no global state; one struct aml per caller.
 */
#ifndef KASANE_GUEST_LOADER_AML_H
#define KASANE_GUEST_LOADER_AML_H

#include "lib/types.h"

#define AML_MAX_DEPTH   16      /* nested open objects */

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;                     /* bytes produced, stored or not */
	bool overflow;                  /* some byte did not fit in cap */
	const char *bad;                /* first malformed input, or NULL */
	unsigned depth;
	struct { size_t start; uint8_t kind; } open[AML_MAX_DEPTH];
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/*
 * The AML's length if it is complete (every object closed) and stored
 * whole; else negative with a one-line reason in err.
 */
long aml_finish(const struct aml *a, char *err, size_t errlen);

/* Raw bytes: the caller encodes them. */
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * NameString (§20.2.2): an optional root '\' or parent '^' prefixes, then
 * dot-separated segments of 1-4 characters (A-Z, 0-9, '_'; not a digit
 * first), padded with '_' to four.  "\_SB.PCI0", "_HID", "^COM1".
 */
void aml_name_string(struct aml *a, const char *name);

/* Data objects (§20.2.3): Zero, One, or the smallest Byte/Word/DWord/QWord form. */
void aml_integer(struct aml *a, uint64_t v);
/* An ASCII string without NUL inside. */
void aml_string(struct aml *a, const char *s);
/*
 * EISAID("PNP0A08") (§6.1.5): three upper-case letters and four hex
 * digits, compressed into a DWord.
 */
void aml_eisaid(struct aml *a, const char *id);

/* Name(name, <the data object written next>) (§20.2.5.1). */
void aml_name(struct aml *a, const char *name);
/* Return(<the object written next>) (§20.2.5.3). */
void aml_return(struct aml *a);

/* Objects with a PkgLength, each closed by aml_end(). */
void aml_scope_begin(struct aml *a, const char *name);
void aml_device_begin(struct aml *a, const char *name);
/* nargs 0-7; serialized methods get sync level 0. */
void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
/* Package of nelems (0-255) data objects written next (§20.2.5.4). */
void aml_package_begin(struct aml *a, unsigned nelems);
/* Buffer of the bytes written next; BufferSize comes from their count. */
void aml_buffer_begin(struct aml *a);
/* ResourceTemplate() (§6.4): a buffer of descriptors ended by aml_end()
 * with an End Tag whose checksum makes the descriptors sum to zero. */
void aml_restemplate_begin(struct aml *a);
void aml_end(struct aml *a);

/* ---- resource descriptors (§6.4.2 small, §6.4.3 large), inside a template */

/* I/O port, 16-bit decode (§6.4.2.5). */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags: edge-triggered, active-high, exclusive ISA IRQs (§6.4.2.1). */
void aml_res_irq_noflags(struct aml *a, uint16_t mask);
/* Extended interrupt, consumer, one GSI (§6.4.3.6). */
void aml_res_interrupt(struct aml *a, bool level, bool active_low, bool shared, uint32_t gsi);
/* 32-bit fixed memory range, consumer (§6.4.3.4). */
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len);

/*
 * Address space descriptors of a bridge's windows (§6.4.3.5): producer,
 * positive decode, fixed min and max, no translation, granularity 0,
 * length max - min + 1.  Memory is read-write, non-cacheable.
 */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max);

#endif
