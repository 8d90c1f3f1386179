/*
 * Checking generated ACPI tables with ACPICA's disassembler, `iasl -d`
 * (Debian acpica-tools; tools/install-deps.sh installs it).  The table is
 * written to build/iasl/NAME.dat, disassembled to NAME.dsl, and the
 * disassembly, without comments and blank lines (they carry dates and
 * paths), must equal test/unit/NAME.dsl line for line.  A difference is
 * printed as a unified diff.  KASANE_UPDATE_DSL=1 in the environment
 * writes the expected file instead (then review it with git diff).
 *
 * A missing iasl fails the check: a test that cannot run must not pass.
 */
#ifndef KASANE_TEST_IASL_H
#define KASANE_TEST_IASL_H

#include "test/unit/check.h"
#include <stdbool.h>
#include <sys/stat.h>

#define IASL_DIR "build/iasl"

/* The test sources' folder (test/unit), from this header's own path. */
static void iasl_expected_path(char *out, size_t len, const char *name)
{
	const char *me = __FILE__;
	const char *slash = strrchr(me, '/');
	int dir = slash ? (int)(slash - me) : 1;

	snprintf(out, len, "%.*s/%s.dsl", dir, slash ? me : ".", name);
}

/* Copy src to dst without comments, trailing blanks and empty lines. */
static bool iasl_filter(const char *src, const char *dst)
{
	FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
	bool ok = in && out;
	bool in_comment = false;
	char line[1024], clean[1024];

	while (ok && fgets(line, sizeof(line), in)) {
		size_t n = 0;
		for (char *p = line; *p; p++) {
			if (in_comment) {
				if (p[0] == '*' && p[1] == '/') {
					in_comment = false;
					p++;
				}
			} else if (p[0] == '/' && p[1] == '*') {
				in_comment = true;
				p++;
			} else if (p[0] == '/' && p[1] == '/') {
				break;
			} else if (*p != '\n') {
				clean[n++] = *p;
			}
		}
		while (n && (clean[n - 1] == ' ' || clean[n - 1] == '\t'))
			n--;
		clean[n] = 0;
		if (n)
			fprintf(out, "%s\n", clean);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return ok;
}

/*
 * Disassemble the table (len bytes) as NAME and compare it with
 * test/unit/NAME.dsl.  Returns true if they match and iasl reported no
 * error or warning.
 */
static bool iasl_check(const char *name, const void *table, size_t len)
{
	char dat[256], dsl[256], got[256], log[256], want[512], cmd[2048];

	mkdir("build", 0777);
	mkdir(IASL_DIR, 0777);
	snprintf(dat, sizeof(dat), IASL_DIR "/%s.dat", name);
	snprintf(dsl, sizeof(dsl), IASL_DIR "/%s.dsl", name);
	snprintf(got, sizeof(got), IASL_DIR "/%s.filtered", name);
	snprintf(log, sizeof(log), IASL_DIR "/%s.log", name);
	iasl_expected_path(want, sizeof(want), name);

	FILE *f = fopen(dat, "wb");
	if (!f || fwrite(table, 1, len, f) != len) {
		printf("    cannot write %s\n", dat);
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	remove(dsl);
	snprintf(cmd, sizeof(cmd), "iasl -d %s > %s 2>&1", dat, log);
	int rc = system(cmd);
	if (rc != 0) {
		printf("    `iasl -d %s` failed (status %d; is acpica-tools installed?): "
		       "see %s\n", dat, rc, log);
		return false;
	}
	snprintf(cmd, sizeof(cmd), "grep -E -i '(error|warning)' %s", log);
	if (system(cmd) == 0) {
		printf("    iasl reported the problems above for %s (%s)\n", dat, log);
		return false;
	}
	if (!iasl_filter(dsl, got)) {
		printf("    no disassembly %s\n", dsl);
		return false;
	}
	if (getenv("KASANE_UPDATE_DSL")) {
		snprintf(cmd, sizeof(cmd), "cp %s %s", got, want);
		printf("    updated %s\n", want);
		return system(cmd) == 0;
	}
	snprintf(cmd, sizeof(cmd), "diff -u %s %s", want, got);
	if (system(cmd) != 0) {
		printf("    the disassembly of %s (above: - expected %s, + generated %s) "
		       "differs\n", name, want, got);
		return false;
	}
	return true;
}

#endif
