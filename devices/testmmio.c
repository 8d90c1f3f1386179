/* The scratch MMIO page; see testmmio.h. */
#include "devices/testmmio.h"
#include "devices/devsnap.h"
#include "lib/string.h"

void testmmio_init(struct testmmio *t)
{
	memset(t, 0, sizeof(*t));
}

int testmmio_access(void *dev, struct io_req *req)
{
	struct testmmio *t = dev;
	unsigned bytes = req->size;
	uint64_t off = req->off;

	if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8)
		return IOBUS_EINVAL;
	if (off > GUEST_TEST_MMIO_SIZE - bytes)
		return IOBUS_EINVAL;
	spin_lock(&t->lock);
	if (req->write) {
		/* x86 is little-endian: the low `bytes` bytes of the value, in order. */
		memcpy(&t->bytes[off], &req->val, bytes);
	} else {
		uint64_t v = 0;
		memcpy(&v, &t->bytes[off], bytes);
		req->val = v;
	}
	spin_unlock(&t->lock);
	return 0;
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t testmmio_save(const struct testmmio *d, void *buf, size_t len)
{
	struct testmmio s;

	memcpy(&s, d, sizeof(s));
	s.lock = (spinlock_t)SPINLOCK_INIT;
	return devsnap_put(buf, len, &s, sizeof(s));
}

bool testmmio_load(struct testmmio *d, const void *buf, size_t len)
{
	struct testmmio s;

	if (!devsnap_get(&s, sizeof(s), buf, len))
		return false;
	s.lock = d->lock;
	memcpy(d, &s, sizeof(s));
	return true;
}
