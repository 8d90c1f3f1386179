/*
 * Fuzz target: the virtqueue device side (virtio/virtq.c): the chain
 * walker virtq_pop over descriptor tables, indirect tables and rings the
 * guest wrote, then the copies in and out of the chain and the used ring.
 *
 * Input: a control byte (queue size 2^(bits 0-3), bits 4-5 the features
 * EVENT_IDX and INDIRECT_DESC), three 16-bit ring offsets, then guest RAM
 * (64 KiB at 1 MiB, an exact-size heap block: ASan reports any access
 * outside it; a second 4 KiB region at 2 MiB).
 *
 * Properties:
 *  - virtq_init and virtq_pop return only their documented values; an
 *    error is one line and leaves the queue broken for good;
 *  - a popped chain has a head below the queue size, 1..VIRTQ_MAX_SEGS
 *    segments each wholly in guest RAM, no readable segment after a
 *    writable one, and byte totals equal to the segments' sums;
 *  - chain reads and writes copy exactly what the parts hold, pushing the
 *    head back succeeds, and the number of pops per run is bounded.
 */
#include "test/fuzz/fuzz.h"
#include "virtio/virtq.h"

#define RAM_GPA    (1 * MiB)
#define RAM_SIZE   (64 * KiB)
#define RAM2_GPA   (2 * MiB)
#define RAM2_SIZE  (4 * KiB)
#define ERR_LEN    128

static void check_chain(const struct guest_mem *m, const struct virtq *q,
			const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;
	bool seen_write = false;

	FUZZ_CHECK(c->head < q->size);
	FUZZ_CHECK(c->nr >= 1 && c->nr <= VIRTQ_MAX_SEGS);
	for (int i = 0; i < c->nr; i++) {
		const struct virtq_buf *b = &c->seg[i];
		FUZZ_CHECK(gmem_is_ram(m, b->addr, b->len));
		FUZZ_CHECK(!seen_write || b->write);
		seen_write |= b->write;
		if (b->write)
			in += b->len;
		else
			out += b->len;
	}
	FUZZ_CHECK(out == c->out_len && in == c->in_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ctl = (unsigned)fuzz_take(&in, 1);
	uint16_t qsize = (uint16_t)(1u << (ctl & 15));
	gpa_t desc = RAM_GPA + fuzz_take(&in, 2);
	gpa_t avail = RAM_GPA + fuzz_take(&in, 2);
	gpa_t used = RAM_GPA + fuzz_take(&in, 2);
	uint8_t *ram = calloc(1, RAM_SIZE), *ram2 = calloc(1, RAM2_SIZE);
	static uint8_t copy[RAM_SIZE + RAM2_SIZE];
	struct guest_mem m;
	struct virtq q;
	struct virtq_chain c;
	char err[ERR_LEN];

	memcpy(ram, in.p, MIN(in.n, RAM_SIZE));
	if (in.n > RAM_SIZE)
		memcpy(ram2, in.p + RAM_SIZE, MIN(in.n - RAM_SIZE, RAM2_SIZE));
	memset(&m, 0, sizeof(m));
	gmem_add(&m, RAM_GPA, RAM_SIZE, ram);
	gmem_add(&m, RAM2_GPA, RAM2_SIZE, ram2);

	int r = virtq_init(&q, &m, qsize, desc, avail, used);
	FUZZ_CHECK(r == 0 || r == -1);
	FUZZ_CHECK((r == -1) == q.broken);
	if (r == 0) {
		q.event_idx = ctl & 0x10;
		q.indirect = ctl & 0x20;
		virtq_set_notify(&q, &m, ctl & 0x40);
		for (unsigned pops = 0; pops < 2u * qsize + 4; pops++) {
			uint16_t old_used = q.used_idx;
			(void)virtq_pending(&q, &m);
			memset(err, 0, sizeof(err));
			r = virtq_pop(&q, &m, &c, err, sizeof(err));
			FUZZ_CHECK(r == 1 || r == 0 || r == -1);
			if (r == -1) {
				fuzz_check_line(err, sizeof(err));
				FUZZ_CHECK(q.broken);
				FUZZ_CHECK(virtq_pop(&q, &m, &c, err, sizeof(err)) == -1);
				FUZZ_CHECK(virtq_push(&q, &m, 0, 0) == -1);
				break;
			}
			if (r == 0)
				break;
			check_chain(&m, &q, &c);
			size_t got = virtq_chain_read(&m, &c, pops % 3, copy, sizeof(copy));
			FUZZ_CHECK(got == (c.out_len > pops % 3 ? MIN(c.out_len - pops % 3, sizeof(copy)) : 0));
			size_t put = virtq_chain_write(&m, &c, 0, copy, MIN(c.in_len, sizeof(copy)));
			FUZZ_CHECK(put == MIN(c.in_len, sizeof(copy)));
			FUZZ_CHECK(virtq_push(&q, &m, c.head, (uint32_t)put) == 0);
			(void)virtq_should_notify(&q, &m, old_used);
		}
	}
	free(ram);
	free(ram2);
	return 0;
}
