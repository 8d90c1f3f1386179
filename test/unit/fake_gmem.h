/*
 * Heap-backed guest RAM at GPA 0 for host tests that play a guest kernel
 * building page tables (test_gpt.c, test_shadow.c).  ASan catches any
 * access outside the RAM_SIZE bytes.  Define RAM_SIZE and TABLES (where
 * alloc_page() starts) before including; setup() gives a fresh, zeroed RAM.
 */
#ifndef KASANE_TEST_UNIT_FAKE_GMEM_H
#define KASANE_TEST_UNIT_FAKE_GMEM_H

#include "mm/guest_mem.h"

/* Page-table entry bits (SDM vol. 3A §4.5). */
#define P   0x1ULL
#define RW  0x2ULL
#define US  0x4ULL
#define A   0x20ULL
#define D   0x40ULL
#define PS  0x80ULL
#define XD  (1ULL << 63)
#define ADDR_MASK 0x000ffffffffff000ULL

static uint8_t *ram;
static struct guest_mem gm;
static gpa_t next_tbl;

static void setup(void)
{
	free(ram);
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(&gm, 0, sizeof(gm));
	gmem_add(&gm, 0, RAM_SIZE, ram);
	next_tbl = TABLES;
}

static gpa_t alloc_page(void)
{
	gpa_t p = next_tbl;
	next_tbl += PAGE_SIZE;
	return p;
}

static uint64_t *e64(gpa_t gpa) { return (uint64_t *)(ram + gpa); }
static uint32_t *e32(gpa_t gpa) { return (uint32_t *)(ram + gpa); }

#endif
