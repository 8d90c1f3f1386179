/*
 * Minimal host unit-test framework.  Each test binary defines test cases
 * with TEST(name) and registers them in main() through RUN(name).  Each case
 * prints "ok <binary>/<case>" or "FAIL <binary>/<case>: <reason>", and
 * check_finish() prints "N passed, N failed" and returns the exit status.
 * Built with the host compiler, so stdio is available here.
 */
#ifndef KASANE_TEST_CHECK_H
#define KASANE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int check_passed, check_failed, check_cur_failed;
static const char *check_prog = "unit";

#define TEST(name) static void name(void)

#define CHECK(cond) do {                                                   \
	if (!(cond)) {                                                      \
		printf("    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		check_cur_failed = 1;                                       \
	}                                                                   \
} while (0)

#define CHECK_EQ(a, b) do {                                                \
	unsigned long long _a = (unsigned long long)(a);                    \
	unsigned long long _b = (unsigned long long)(b);                    \
	if (_a != _b) {                                                     \
		printf("    %s:%d: %s == %s failed: 0x%llx != 0x%llx\n",   \
		       __FILE__, __LINE__, #a, #b, _a, _b);                 \
		check_cur_failed = 1;                                       \
	}                                                                   \
} while (0)

#define CHECK_STR(a, b) do {                                               \
	const char *_a = (a), *_b = (b);                                    \
	if (!_a || !_b || strcmp(_a, _b) != 0) {                            \
		printf("    %s:%d: %s == %s failed: \"%s\" != \"%s\"\n",   \
		       __FILE__, __LINE__, #a, #b, _a ? _a : "(null)",      \
		       _b ? _b : "(null)");                                 \
		check_cur_failed = 1;                                       \
	}                                                                   \
} while (0)

#define RUN(name) do {                                                     \
	check_cur_failed = 0;                                               \
	name();                                                             \
	if (check_cur_failed) {                                             \
		check_failed++;                                             \
		printf("FAIL %s/%s\n", check_prog, #name);                  \
	} else {                                                            \
		check_passed++;                                             \
		printf("ok   %s/%s\n", check_prog, #name);                  \
	}                                                                   \
} while (0)

static inline void check_start(const char *prog) { check_prog = prog; }

static inline int check_finish(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
