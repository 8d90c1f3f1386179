/* Helpers for the kernel formats of guest-loader/; see gl_util.h. */
#include "guest-loader/gl_util.h"
#include "arch/x86/x86_state.h"
#include "lib/printf.h"
#include "lib/string.h"

const char *gl_size_str(char *buf, uint64_t bytes)
{
	if (bytes && bytes % GiB == 0)
		ksnprintf(buf, GL_SIZE_STR, "%llu GiB", (unsigned long long)(bytes / GiB));
	else if (bytes && bytes % MiB == 0)
		ksnprintf(buf, GL_SIZE_STR, "%llu MiB", (unsigned long long)(bytes / MiB));
	else if (bytes && bytes % KiB == 0)
		ksnprintf(buf, GL_SIZE_STR, "%llu KiB", (unsigned long long)(bytes / KiB));
	else
		ksnprintf(buf, GL_SIZE_STR, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

bool gl_zero(struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
	if (!gmem_is_ram(mem, gpa, len))
		return false;
	/* The range is RAM, so the per-region intersections cover it exactly. */
	for (int i = 0; i < mem->nr && len; i++) {
		const struct gmem_region *r = &mem->region[i];
		gpa_t lo = MAX(gpa, r->gpa);
		gpa_t hi = MIN(gpa + len, r->gpa + r->size);
		if (lo >= hi)
			continue;
		void *p = gmem_ptr(mem, lo, hi - lo);
		if (!p)
			return false;
		memset(p, 0, hi - lo);
	}
	return true;
}

uint64_t gl_page_up(uint64_t x)
{
	return x > UINT64_MAX - (PAGE_SIZE - 1) ? UINT64_MAX & ~(PAGE_SIZE - 1) :
						  ALIGN_UP(x, PAGE_SIZE);
}

bool gl_place(const struct guest_mem *mem, const struct gl_boot *b,
	      gpa_t from, uint64_t size, gpa_t *out)
{
	bool found = false;

	*out = UINT64_MAX;
	for (int i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->region[i];
		for (int j = 0; j < b->nr_mmap; j++) {
			const struct gl_mmap_entry *e = &b->mmap[j];
			if (e->type != GL_MMAP_RAM)
				continue;
			uint64_t lo = gl_page_up(MAX(from, MAX(r->gpa, e->base)));
			uint64_t hi = MIN(GL_4GIB, MIN(r->gpa + r->size,
						       e->base + e->len));
			if (lo < hi && size <= hi - lo && lo < *out) {
				*out = lo;
				found = true;
			}
		}
	}
	return found;
}

int gl_place_modules(struct guest_mem *mem, struct gl_boot *b, gpa_t *cur,
		     char *err, size_t errlen)
{
	char sz[GL_SIZE_STR];

	for (int i = 0; i < b->nr_mods; i++) {
		const struct gl_module *m = &b->mods[i];
		gpa_t gpa;
		if (!gl_place(mem, b, *cur, m->len, &gpa))
			return errf(err, errlen, "module %d (%s) does not fit in "
				    "guest RAM between 0x%llx and 4 GiB", i,
				    gl_size_str(sz, m->len), (unsigned long long)*cur);
		if (!gmem_write(mem, gpa, m->data, m->len))
			return errf(err, errlen, "module %d: guest RAM write "
				    "failed at 0x%llx", i, (unsigned long long)gpa);
		b->mod_gpa[i] = gpa;
		*cur = gpa + m->len;
	}
	return 0;
}

void gl_state_flat32(struct x86_vcpu_state *s, uint64_t entry, uint32_t eax,
		     uint32_t ebx)
{
	x86_state_flat32(s);
	s->regs.rip = entry;
	s->regs.gpr[REG_RAX] = eax;
	s->regs.gpr[REG_RBX] = ebx;
	s->regs.gpr[REG_RSP] = GL_STACK32;
}
