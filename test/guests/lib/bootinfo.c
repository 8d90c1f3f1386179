/*
 * Multiboot2 boot information (Multiboot2 spec §3.6): an 8-byte fixed part
 * (total_size, reserved) followed by 8-aligned tags, ended by a type 0 tag
 * of size 8.  kasane passes it to Multiboot2 kernels in EBX and to plain
 * ELF64 kernels in RDI.
 */
#include "test/guests/lib/guest.h"

#define MB2_INFO_MAX    (1u << 20)      /* more than any loader writes */

struct mb2_mmap_tag {
	uint32_t type, size, entry_size, entry_version;
};

static uint32_t info_total(uintptr_t info)
{
	return *(const volatile uint32_t *)info;
}

bool mb2_valid(uintptr_t info)
{
	if (!info || info & 7)
		return false;
	uint32_t total = info_total(info);
	if (total < 16 || total > MB2_INFO_MAX)
		return false;
	/* Every tag is at least 8 bytes, so this loop ends within total / 8 steps. */
	for (uint32_t off = 8; off + 8 <= total;) {
		const struct mb2_tag *t = (const void *)(info + off);
		if (t->size < 8 || t->size > total - off)
			return false;
		if (t->type == MB2_TAG_END)
			return t->size == 8;
		off += (t->size + 7) & ~7u;
	}
	return false;
}

const struct mb2_tag *mb2_find(uintptr_t info, uint32_t type, const struct mb2_tag *prev)
{
	uint32_t total = info_total(info);
	uint32_t off = 8;

	if (prev)
		off = (uint32_t)((uintptr_t)prev - info) + ((prev->size + 7) & ~7u);
	while (off + 8 <= total) {
		const struct mb2_tag *t = (const void *)(info + off);
		if (t->type == MB2_TAG_END)
			return NULL;
		if (t->type == type)
			return t;
		off += (t->size + 7) & ~7u;
	}
	return NULL;
}

const char *mb2_cmdline(uintptr_t info)
{
	const struct mb2_tag *t = mb2_find(info, MB2_TAG_CMDLINE, NULL);

	/* §3.6.2: the string is NUL-terminated inside the tag. */
	if (!t || t->size <= 8 || ((const char *)t)[t->size - 1] != '\0')
		return "";
	return (const char *)(t + 1);
}

int mb2_mmap(uintptr_t info, struct mb2_mmap_entry *out, int max)
{
	const struct mb2_mmap_tag *t = (const void *)mb2_find(info, MB2_TAG_MMAP, NULL);
	int n = 0;

	/* §3.6.8: entry_size is a multiple of 8, at least the 24 bytes known. */
	if (!t || t->size < sizeof(*t) || t->entry_size < 24 || t->entry_size % 8)
		return 0;
	for (uint32_t off = sizeof(*t); off + t->entry_size <= t->size; off += t->entry_size) {
		if (n < max)
			memcpy(&out[n], (const uint8_t *)t + off, sizeof(*out));
		n++;
	}
	return n;
}
