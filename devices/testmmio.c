/* The scratch MMIO page; see testmmio.h. */
#include "devices/testmmio.h"
#include "devices/iobus.h"
#include "lib/string.h"

void testmmio_init(struct testmmio *t, gpa_t base)
{
	memset(t, 0, sizeof(*t));
	t->base = base;
}

int testmmio_access(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val)
{
	struct testmmio *t = dev;

	if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8)
		return IOBUS_EINVAL;
	if (gpa < t->base || gpa - t->base > GUEST_TEST_MMIO_SIZE - bytes)
		return IOBUS_EINVAL;
	uint64_t off = gpa - t->base;
	spin_lock(&t->lock);
	if (write) {
		/* x86 is little-endian: the low `bytes` bytes of *val, in order. */
		memcpy(&t->bytes[off], val, bytes);
	} else {
		uint64_t v = 0;
		memcpy(&v, &t->bytes[off], bytes);
		*val = v;
	}
	spin_unlock(&t->lock);
	return 0;
}
