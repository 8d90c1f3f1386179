/* The I/O dispatch bus: range tables routing port and MMIO accesses; see iobus.h. */
#include "devices/iobus.h"
#include "lib/string.h"

void iobus_init(struct iobus *b)
{
	memset(b, 0, sizeof(*b));
}

int iobus_add_pio(struct iobus *b, uint16_t first, uint16_t count, pio_handler_t h, void *dev)
{
	uint32_t last = (uint32_t)first + count - 1;

	if (count == 0 || last > 0xffff || !h)
		return IOBUS_EINVAL;
	for (unsigned i = 0; i < b->nr_pio; i++)
		if (first <= b->pio[i].last && last >= b->pio[i].first)
			return IOBUS_EBUSY;
	if (b->nr_pio == IOBUS_MAX_PIO)
		return IOBUS_ENOSPC;
	b->pio[b->nr_pio++] = (struct iobus_pio_range){
		.first = first, .last = (uint16_t)last, .handler = h, .dev = dev,
	};
	return 0;
}

int iobus_add_mmio(struct iobus *b, uint64_t base, uint64_t len, mmio_handler_t h, void *dev)
{
	uint64_t last = base + len - 1;

	if (len == 0 || last < base || !h)
		return IOBUS_EINVAL;
	for (unsigned i = 0; i < b->nr_mmio; i++)
		if (base <= b->mmio[i].last && last >= b->mmio[i].base)
			return IOBUS_EBUSY;
	if (b->nr_mmio == IOBUS_MAX_MMIO)
		return IOBUS_ENOSPC;
	b->mmio[b->nr_mmio++] = (struct iobus_mmio_range){
		.base = base, .last = last, .handler = h, .dev = dev,
	};
	return 0;
}

static void count_access(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

int iobus_pio(struct iobus *b, bool in, uint16_t port, unsigned bytes, uint32_t *val)
{
	uint32_t mask;

	switch (bytes) {
	case 1: mask = 0xff; break;
	case 2: mask = 0xffff; break;
	case 4: mask = 0xffffffff; break;
	default: return IOBUS_EINVAL;
	}
	if (in)
		*val = 0;
	for (unsigned i = 0; i < b->nr_pio; i++) {
		struct iobus_pio_range *r = &b->pio[i];
		if (port < r->first || port > r->last)
			continue;
		count_access(&r->count);
		uint32_t v = in ? 0 : *val & mask;
		int err = r->handler(r->dev, in, port, bytes, &v);
		if (err < 0)
			return err;
		if (in)
			*val = v & mask;
		return 0;
	}
	count_access(&b->pio_unassigned);
	if (in)
		*val = mask;
	return 0;
}

int iobus_mmio(struct iobus *b, bool write, uint64_t gpa, unsigned bytes, uint64_t *val)
{
	uint64_t mask;

	switch (bytes) {
	case 1: mask = 0xff; break;
	case 2: mask = 0xffff; break;
	case 4: mask = 0xffffffff; break;
	case 8: mask = ~0ULL; break;
	default: return IOBUS_EINVAL;
	}
	uint64_t last = gpa + bytes - 1;
	if (!write)
		*val = 0;
	for (unsigned i = 0; last >= gpa && i < b->nr_mmio; i++) {
		struct iobus_mmio_range *r = &b->mmio[i];
		if (gpa < r->base || last > r->last)
			continue;
		count_access(&r->count);
		uint64_t v = write ? *val & mask : 0;
		int err = r->handler(r->dev, write, gpa, bytes, &v);
		if (err < 0)
			return err;
		if (!write)
			*val = v & mask;
		return 0;
	}
	count_access(&b->mmio_unmapped);
	return IOBUS_UNMAPPED;
}

bool iobus_mmio_covers(const struct iobus *b, uint64_t gpa)
{
	for (unsigned i = 0; i < b->nr_mmio; i++)
		if (gpa >= b->mmio[i].base && gpa <= b->mmio[i].last)
			return true;
	return false;
}
