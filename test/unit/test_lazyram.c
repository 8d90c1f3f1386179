/*
 * Host tests for demand-zero guest RAM: mm/guest_mem.c zeroes a chunk the
 * first time anything asks for it, and never again; mm/npt.c takes the
 * guest's access to a range away and gives it back, leaf by leaf, in both
 * nested-paging formats.
 */
#include "test/unit/check.h"
#include "mm/guest_mem.h"
#include "mm/npt.h"
#include "mm/mm.h"

#define MiB_ (1024ull * 1024)

static uint8_t *dirty_ram(uint64_t size)
{
	uint8_t *ram = aligned_alloc(2 * MiB_, (size + 2 * MiB_ - 1) / (2 * MiB_) * (2 * MiB_));

	memset(ram, 0xa5, size);        /* what a previous owner left */
	return ram;
}

TEST(fresh_chunks_zeroed_on_first_use_only)
{
	uint64_t size = 5 * MiB_;       /* two whole chunks and a partial one */
	uint8_t *ram = dirty_ram(size), state[GMEM_CHUNKS(5 * MiB_)];
	struct guest_mem m = { 0 };

	CHECK_EQ(GMEM_CHUNKS(size), 3);
	CHECK(gmem_add(&m, 0, size, ram));
	CHECK(gmem_set_lazy(&m, 0, state));
	CHECK(!gmem_set_lazy(&m, 4096, state));         /* no region starts there */
	CHECK_EQ(state[0], GMEM_CHUNK_FRESH);

	/* A read of one byte in chunk 1 zeroes chunk 1 alone. */
	uint8_t b = 0xff;
	CHECK(gmem_read(&m, 3 * MiB_, &b, 1));
	CHECK_EQ(b, 0);
	CHECK_EQ(state[0], GMEM_CHUNK_FRESH);
	CHECK_EQ(state[1], GMEM_CHUNK_READY);
	CHECK_EQ(state[2], GMEM_CHUNK_FRESH);
	CHECK_EQ(ram[2 * MiB_], 0);
	CHECK_EQ(ram[4 * MiB_ - 1], 0);
	CHECK_EQ(ram[2 * MiB_ - 1], 0xa5);
	CHECK_EQ(ram[4 * MiB_], 0xa5);

	/* Data written after is kept: a chunk is zeroed once. */
	CHECK(gmem_write(&m, 3 * MiB_, "k", 1));
	uint8_t *p = gmem_ptr(&m, 3 * MiB_, 1);
	CHECK(p && *p == 'k');

	/* A pointer into the partial last chunk zeroes it to the region's end. */
	p = gmem_ptr(&m, size - 8, 8);
	CHECK(p != NULL);
	CHECK_EQ(state[2], GMEM_CHUNK_READY);
	CHECK_EQ(ram[4 * MiB_], 0);
	CHECK_EQ(ram[size - 1], 0);

	/* gmem_is_ram only asks; it zeroes nothing. */
	CHECK(gmem_is_ram(&m, 0, size));
	CHECK_EQ(state[0], GMEM_CHUNK_FRESH);

	/* A prepare says which chunk holds gpa, clipped to the region. */
	gpa_t at = 1;
	uint64_t len = 0;
	CHECK(gmem_prepare(&m, 4 * MiB_ + 5, 1, &at, &len));
	CHECK_EQ(at, 4 * MiB_);
	CHECK_EQ(len, 1 * MiB_);
	CHECK(gmem_prepare(&m, 100, 1, &at, &len));
	CHECK_EQ(at, 0);
	CHECK_EQ(len, 2 * MiB_);
	CHECK_EQ(ram[0], 0);
	CHECK(!gmem_prepare(&m, size, 1, NULL, NULL));   /* not RAM */
	free(ram);
}

TEST(copies_across_regions_prepare_every_piece)
{
	uint8_t *lo = dirty_ram(2 * MiB_), *hi = dirty_ram(4 * MiB_);
	uint8_t s_lo[1], s_hi[2], buf[16];
	struct guest_mem m = { 0 };

	CHECK(gmem_add(&m, 0, 2 * MiB_, lo));
	CHECK(gmem_add(&m, 2 * MiB_, 4 * MiB_, hi));
	CHECK(gmem_set_lazy(&m, 0, s_lo));
	CHECK(gmem_set_lazy(&m, 2 * MiB_, s_hi));
	memset(buf, 0xff, sizeof(buf));
	CHECK(gmem_read(&m, 2 * MiB_ - 8, buf, sizeof(buf)));
	for (unsigned i = 0; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(s_lo[0], GMEM_CHUNK_READY);
	CHECK_EQ(s_hi[0], GMEM_CHUNK_READY);
	CHECK_EQ(s_hi[1], GMEM_CHUNK_FRESH);
	gmem_prepare_all(&m);
	CHECK_EQ(s_hi[1], GMEM_CHUNK_READY);
	CHECK_EQ(hi[4 * MiB_ - 1], 0);
	free(lo);
	free(hi);
}

static void npt_access_in(enum npt_format fmt)
{
	struct npt n;
	uint8_t *backing = dirty_ram(4 * MiB_);
	hpa_t hpa = (hpa_t)(uintptr_t)backing;

	CHECK(npt_init(&n, fmt));
	/* 2 MiB leaves at 0, 4 KiB leaves at 16 MiB + 4 KiB (unaligned). */
	CHECK(npt_map(&n, 0, hpa, 4 * MiB_));
	CHECK(npt_map(&n, 16 * MiB_ + 4096, hpa, 8192));
	CHECK_EQ(n.large, 2);
	CHECK_EQ(n.small, 2);
	CHECK_EQ(npt_set_access(&n, 0, 4 * MiB_, false), 2);
	CHECK_EQ(npt_set_access(&n, 0, 4 * MiB_, false), 0);   /* already off */
	CHECK_EQ(npt_set_access(&n, 2 * MiB_, 2 * MiB_, true), 1);
	CHECK_EQ(npt_set_access(&n, 2 * MiB_, 2 * MiB_, true), 0);
	CHECK_EQ(npt_set_access(&n, 16 * MiB_, 16384, false), 2); /* holes skipped */
	CHECK_EQ(npt_set_access(&n, 16 * MiB_ + 8192, 4096, true), 1);
	CHECK_EQ(npt_set_access(&n, 64 * MiB_, 2 * MiB_, true), 0);  /* unmapped */
	npt_destroy(&n);
	free(backing);
}

TEST(npt_access_amd) { npt_access_in(NPT_FORMAT_AMD); }
TEST(npt_access_ept) { npt_access_in(NPT_FORMAT_EPT); }

int main(void)
{
	check_start("lazyram");
	RUN(fresh_chunks_zeroed_on_first_use_only);
	RUN(copies_across_regions_prepare_every_piece);
	RUN(npt_access_amd);
	RUN(npt_access_ept);
	return check_finish();
}
