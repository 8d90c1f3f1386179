/*
 * The shadow walker: what one guest access makes of the guest's page
 * tables, as a shadow leaf (mm/spt.h bits).  The access itself is checked
 * and its accessed/dirty flags set by core/gpt.c, exactly as the CPU would;
 * the leaf then gets only the rights the guest's tables give, and write
 * access only once the dirty flag is set, so the first write to a clean
 * page faults and sets it.  Pure logic: also built into the host unit tests.
 */
#ifndef KASANE_CORE_SHADOW_WALK_H
#define KASANE_CORE_SHADOW_WALK_H

#include "lib/types.h"
#include "core/gpt.h"

struct shadow_leaf {
	gpa_t gpa;              /* of the accessed byte */
	uint64_t flags;         /* SPT_RW, SPT_US, SPT_NX, SPT_G, SPT_LARGE, SPT_HUGE */
	unsigned page_shift;    /* the guest's page: 12, 21, 22 or 30 */
	/* The access is allowed but no shadow leaf gives exactly the guest's
	 * rights: a supervisor write that CR0.WP = 0 lets through to a page
	 * CPL 3 may only read, with CR4.SMAP on.  The leaf (for the
	 * supervisor alone) would let it past SMAP later: carry the
	 * instruction out instead, and map it only if that cannot be done. */
	bool emulate;
};

/*
 * Translate la for an access (enum gpt_access, user: CPL 3) as gpt_translate
 * does, and describe the shadow leaf for it.  Returns 0 or a GPT_* code
 * (GPT_FAULT with *pf_error: the guest's own #PF).  With paging off in
 * mode (CR0.PG = 0) the leaf is the identity, with every right.
 */
int shadow_walk(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		int access, bool user, struct shadow_leaf *out, uint32_t *pf_error);

#endif
