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
/* Free every table (not the mapped frames). */
void npt_destroy(struct npt *n);

#endif
