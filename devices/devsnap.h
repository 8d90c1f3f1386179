/*
 * Device snapshot records.  Each device model offers, in its own file,
 *
 *   size_t NAME_save(const struct NAME *d, void *buf, size_t len);
 *   bool   NAME_load(struct NAME *d, const void *buf, size_t len);
 *
 * save writes the model's whole state into buf as one record's bytes
 * (version NAME_SNAP_VERSION, NAME_SNAP_SIZE bytes) and returns how many
 * it wrote, 0 if len is too small.  The bytes are the model's struct with
 * its wiring zeroed: callbacks, their contexts, locks and pointers are the
 * board's, never part of a record, so a record carries no host address.
 * load checks every field whose value could take the model outside its
 * arrays or states (a record may one day come from another host), keeps
 * d's own wiring, and returns false, leaving d as it was, if the record
 * is not one it wrote.  Both run while no vCPU of the VM runs (the VM is
 * paused), so neither takes the model's lock.
 */
#ifndef KASANE_DEVICES_DEVSNAP_H
#define KASANE_DEVICES_DEVSNAP_H

#include "lib/types.h"
#include "lib/string.h"

/* Copy the state s (wiring already zeroed) out as a record; 0 if buf is short. */
static inline size_t devsnap_put(void *buf, size_t len, const void *s, size_t size)
{
	if (len < size)
		return 0;
	memcpy(buf, s, size);
	return size;
}

/* Take a record of exactly size bytes into s; false if its length differs. */
static inline bool devsnap_get(void *s, size_t size, const void *buf, size_t len)
{
	if (len != size)
		return false;
	memcpy(s, buf, size);
	return true;
}

/*
 * A model whose record is its whole struct with the wiring zeroed (the
 * PIT, RTC, PIC and I/O APIC) describes it once: the struct's size, its
 * wiring fields, and the check of a record's values.
 */
struct devsnap_field {
	size_t off, size;
};
#define DEVSNAP_FIELD(type, field) { offsetof(type, field), sizeof(((type *)0)->field) }

struct devsnap_desc {
	size_t size;                            /* sizeof the model's struct */
	const struct devsnap_field *wiring;     /* zero in a record, d's own kept on load */
	unsigned nr_wiring;
	bool (*ok)(const void *rec);            /* NULL: every value is in range */
};

/* NAME_save for such a model: d's bytes, its wiring zeroed. */
static inline size_t devsnap_save(const struct devsnap_desc *t, const void *d, void *buf,
				  size_t len)
{
	if (!devsnap_put(buf, len, d, t->size))
		return 0;
	for (unsigned i = 0; i < t->nr_wiring; i++)
		memset((uint8_t *)buf + t->wiring[i].off, 0, t->wiring[i].size);
	return t->size;
}

/* NAME_load for such a model, through scratch (t->size bytes, aligned for
 * the struct): the record with d's wiring, checked, then made d's. */
static inline bool devsnap_load(const struct devsnap_desc *t, void *d, void *scratch,
				const void *buf, size_t len)
{
	if (!devsnap_get(scratch, t->size, buf, len))
		return false;
	for (unsigned i = 0; i < t->nr_wiring; i++)
		memcpy((uint8_t *)scratch + t->wiring[i].off,
		       (const uint8_t *)d + t->wiring[i].off, t->wiring[i].size);
	if (t->ok && !t->ok(scratch))
		return false;
	memcpy(d, scratch, t->size);
	return true;
}

#endif
