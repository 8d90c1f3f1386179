/*
 * QEMU fw_cfg through its traditional I/O ports (QEMU docs/specs/fw_cfg.rst,
 * "Selector Register" and "Data Register"): a 16-bit write of the key to
 * FW_CFG_PORT_SEL, then byte reads of FW_CFG_PORT_DATA walk the item.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

void fwcfg_select(uint16_t key)
{
	outw(FW_CFG_PORT_SEL, key);
}

void fwcfg_read(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len--)
		*p++ = inb(FW_CFG_PORT_DATA);
}

uint64_t fwcfg_read_le(uint16_t key, unsigned bytes)
{
	uint64_t v = 0;

	fwcfg_select(key);
	for (unsigned i = 0; i < bytes && i < 8; i++)
		v |= (uint64_t)inb(FW_CFG_PORT_DATA) << (8 * i);
	return v;
}
