/*
 * Shared helpers for the libFuzzer targets in test/fuzz/ (README.md,
 * "Fuzzing").  Each fuzz_NAME.c defines LLVMFuzzerTestOneInput and checks
 * properties of the code under test; a broken property aborts, which
 * libFuzzer and the replay driver (replay.c) report as a crash.
 * Host code: stdio is available.
 */
#ifndef KASANE_TEST_FUZZ_FUZZ_H
#define KASANE_TEST_FUZZ_FUZZ_H

#define _POSIX_C_SOURCE 200809L   /* strnlen, strdup, opendir */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold for every input. */
#define FUZZ_CHECK(cond) do {                                               \
	if (!(cond)) {                                                      \
		fprintf(stderr, "%s:%d: property failed: %s\n",             \
			__FILE__, __LINE__, #cond);                         \
		abort();                                                    \
	}                                                                   \
} while (0)

/* The fuzz input, consumed from the front. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

/*
 * A message meant as one line: non-empty, NUL-terminated within max bytes,
 * with no line break (LF or CR) in it.
 */
static inline void fuzz_check_line(const char *msg, size_t max)
{
	size_t len = strnlen(msg, max);

	FUZZ_CHECK(len > 0 && len < max);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(msg[i] != '\n' && msg[i] != '\r');
}

#endif
