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

#endif
