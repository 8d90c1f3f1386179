/*
 * Replay driver for `make test`: runs one fuzz target, built without
 * libFuzzer (gcc, ASan + UBSan, like the unit tests), over every committed
 * input of test/fuzz/corpus/NAME/ and test/fuzz/crashes/NAME/, or over the
 * files named on its command line.  Prints "ok fuzz-NAME/replay" in the
 * unit-test format test/run-tests.sh reads; a property that fails or a
 * sanitizer report aborts, naming the input on stderr first.
 */
#include "test/fuzz/fuzz.h"
#include <dirent.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("FAIL fuzz-%s/replay: cannot open %s\n", FUZZ_NAME, path);
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		return -1;
	/* An exact-size copy, so ASan sees a read past the input's end. */
	uint8_t *exact = malloc(len ? len : 1);
	memcpy(exact, buf, len);
	free(buf);
	fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir in name order; returns how many, or -1. */
static int run_dir(const char *dir, bool must_exist)
{
	DIR *d = opendir(dir);
	char *names[4096];
	int n = 0, ran = 0;
	struct dirent *e;

	if (!d)
		return must_exist ? -1 : 0;
	while ((e = readdir(d)) && n < (int)ARRAY_SIZE(names))
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	for (int i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (run_file(path) < 0)
			return -1;
		ran++;
		free(names[i]);
	}
	return ran;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (run_file(argv[i]) < 0)
				return 1;
		return 0;
	}
	int corpus = run_dir("test/fuzz/corpus/" FUZZ_NAME, true);
	int crashes = run_dir("test/fuzz/crashes/" FUZZ_NAME, false);
	if (corpus <= 0 || crashes < 0) {
		printf("FAIL fuzz-%s/replay: no corpus in test/fuzz/corpus/%s\n",
		       FUZZ_NAME, FUZZ_NAME);
		return 1;
	}
	fprintf(stderr, "%d corpus and %d crash inputs\n", corpus, crashes);
	printf("ok fuzz-%s/replay\n", FUZZ_NAME);
	return 0;
}
