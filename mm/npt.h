/*
 * Second-level ("nested") page tables that map a VM's guest-physical
 * space to host frames: AMD NPT (host long-mode format, AMD APM vol. 2
 * §15.25) or Intel EPT (SDM vol. 3C §29.3).  Each VM has its own.
 */
#ifndef KASANE_MM_NPT_H
#define KASANE_MM_NPT_H

#include "lib/types.h"

enum npt_format { NPT_FORMAT_AMD, NPT_FORMAT_EPT };

struct npt {
	enum npt_format format;
	hpa_t root;             /* top-level table */
	uint64_t tables;        /* table pages in use */
	uint64_t large, small;  /* 2 MiB and 4 KiB leaf mappings */
};

/* Allocate an empty top level; false on exhaustion. */
bool npt_init(struct npt *n, enum npt_format format);
/*
 * Map [gpa, gpa+len) to [hpa, hpa+len) read/write/execute, with 2 MiB
 * pages where both sides allow.  All arguments page-aligned.  False on
 * exhaustion (partial mappings are torn down by npt_destroy).
 */
bool npt_map(struct npt *n, gpa_t gpa, hpa_t hpa, uint64_t len);
/*
 * Take the guest's access to the mapped range [gpa, gpa+len) away (on =
 * false: the leaves become not-present, their frames kept) or give it
 * back (on = true).  Bounds are page-aligned and must cover whole 2 MiB
 * leaves where those are used.  Returns how many leaves changed.  Safe
 * while the VM runs: each leaf changes in one atomic store, and a CPU
 * never caches a not-present translation (AMD APM vol. 2 §15.25.10; SDM
 * vol. 3A §4.10.2.3), so giving access needs no flush; taking it away
 * does, and is done only before the VM first runs.
 */
uint64_t npt_set_access(struct npt *n, gpa_t gpa, uint64_t len, bool on);
/* Free every table (not the mapped frames). */
void npt_destroy(struct npt *n);

#endif
