/*
 * Walking the guest's own page tables, for instructions the hypervisor
 * emulates (MMIO, string I/O, the instruction fetch at RIP).  The tables
 * live in guest RAM and are hostile: every entry is read through the
 * checked guest-memory accessors, and a table outside RAM is reported, not
 * followed.  Pure logic: also built into the host unit tests.
 *
 * Modes: paging off, 32-bit paging (4 KiB, 4 MiB with CR4.PSE, PSE-36),
 * PAE (4 KiB, 2 MiB), 4- and 5-level long mode (4 KiB, 2 MiB, 1 GiB).
 * Intel SDM vol. 3A ch. 4; AMD APM vol. 2 §5.2-5.6.
 */
#ifndef KASANE_CORE_GPT_H
#define KASANE_CORE_GPT_H

#include "lib/types.h"
#include "mm/guest_mem.h"

/* The guest's paging controls at the time of the access. */
struct gpt_mode {
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rflags;        /* only AC (bit 18) is used: SMAP, SDM vol. 3A §4.6.1 */
	uint8_t maxphyaddr;     /* guest MAXPHYADDR (CPUID 0x80000008 EAX[7:0]); 0 means 48 */
};

enum gpt_access { GPT_READ = 0, GPT_WRITE = 1, GPT_FETCH = 2 };

/* Results: 0 on success, else one of these. */
#define GPT_FAULT       (-1)    /* the guest's tables deny it: inject #PF(*pf_error), CR2 = la */
#define GPT_BAD_TABLE   (-2)    /* a table or entry lies outside guest RAM: end the VM */
#define GPT_NONCANON    (-3)    /* non-canonical address in long mode: inject #GP(0) (or #SS) */
#define GPT_NOT_RAM     (-4)    /* gpt_copy_*: the page is not RAM (MMIO): route to a device */
#define GPT_RETRY       (-5)    /* the tables kept changing under the walk: re-execute */

/* #PF error code bits, SDM vol. 3A §4.7, AMD APM vol. 2 §8.4.2. */
#define GPT_PF_P        (1u << 0)   /* protection violation (0: not present) */
#define GPT_PF_W        (1u << 1)   /* write access */
#define GPT_PF_U        (1u << 2)   /* CPL 3 access */
#define GPT_PF_RSVD     (1u << 3)   /* reserved bit set in an entry */
#define GPT_PF_ID       (1u << 4)   /* instruction fetch (with NXE+PAE or SMEP) */

/*
 * Translate linear address la for an access of kind 'access' (enum
 * gpt_access) at CPL 3 if user, else an explicit supervisor access.  On
 * success stores the guest-physical address in *gpa (which may be RAM or
 * MMIO: not checked here) and, as hardware does, sets the accessed flag in
 * every entry used and the dirty flag in the final one for a write (SDM
 * vol. 3A §4.8), atomically, in guest RAM.  On GPT_FAULT stores the error
 * code in *pf_error.  Outside long mode la is truncated to 32 bits.
 * Protection keys are not applied (CPUID hides PKU from guests).
 * May be called on any CPU; touches guest RAM only through m.
 */
int gpt_translate(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		  int access, bool user, gpa_t *gpa, uint32_t *pf_error);

/* Where a gpt_copy_* stopped. */
struct gpt_fault {
	uint64_t la;            /* linear address that failed (CR2 for GPT_FAULT) */
	gpa_t gpa;              /* GPT_NOT_RAM: guest-physical address of la */
	uint32_t error;         /* GPT_FAULT: #PF error code */
	size_t done;            /* bytes copied before la */
};

/*
 * Copy len bytes between the guest-virtual range at la and a hypervisor
 * buffer, translating each page separately.  Every page is translated
 * before any byte moves, so a fault anywhere in the range (GPT_FAULT,
 * GPT_NONCANON, GPT_BAD_TABLE, GPT_RETRY) copies nothing, as for one
 * instruction's access on hardware (f->done = 0; only if the guest
 * changes its tables during the copy can a later page fail after earlier
 * ones were copied).  A page that translates to something
 * other than RAM stops the copy with GPT_NOT_RAM: f->done bytes before it
 * were copied, f->la and f->gpa say where the device part begins.
 * f may be NULL.  Guest RAM regions are page-aligned (the nested page
 * tables map whole pages), so a page is either all RAM or none.
 */
int gpt_copy_from(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		  void *dst, size_t len, int access, bool user, struct gpt_fault *f);
int gpt_copy_to(const struct guest_mem *m, const struct gpt_mode *mode, uint64_t la,
		const void *src, size_t len, bool user, struct gpt_fault *f);

#endif
