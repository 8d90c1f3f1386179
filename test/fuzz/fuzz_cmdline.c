/*
 * Fuzz target: the hypervisor's command line (core/cmdline.c) and the
 * per-module command lines that declare VMs (core/config.c,
 * config_parse_module_line), which share the word splitter.
 *
 * Input: a control byte (bit 0: module line, else hypervisor command
 * line), then the text, NUL-terminated here.
 *
 * Properties:
 *  - cmdline_next_word always makes progress, stays inside the text, and
 *    leaves every field NUL-terminated;
 *  - cmdline_parse reports exactly as many one-line problems as it
 *    returns, and every option ends in its documented range;
 *  - a module line returns 0 (nothing reported, no VM added), 1 (one VM
 *    added, valid as in fuzz_config.c) or -1 (one-line messages that
 *    start with "module ", no VM added).
 */
#include "test/fuzz/fuzz.h"
#include "core/cmdline.h"
#include "core/config.h"

static void report(void *ctx, const char *msg)
{
	fuzz_check_line(msg, 1024);
	(*(int *)ctx)++;
}

static void report_module(void *ctx, const char *msg)
{
	FUZZ_CHECK(strncmp(msg, "module ", 7) == 0);
	report(ctx, msg);
}

static void check_words(const char *s, const char *end)
{
	struct cmdline_word w;
	long n = 0, len = end - s;

	while (s) {
		const char *next = cmdline_next_word(s, end, &w);
		if (!next)
			break;
		FUZZ_CHECK(next > s && next <= end);
		FUZZ_CHECK(memchr(w.key, '\0', sizeof(w.key)) && memchr(w.val, '\0', sizeof(w.val)));
		FUZZ_CHECK(w.raw >= s && w.raw + w.raw_len <= next && w.raw_len > 0);
		FUZZ_CHECK(++n <= len);     /* a word is at least one character */
		s = next;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ctl = (unsigned)fuzz_take(&in, 1);
	char *text = malloc(in.n + 1);
	int n = 0;

	memcpy(text, in.p, in.n);
	text[in.n] = '\0';
	check_words(text, text + strlen(text));
	if (ctl & 1) {
		static struct config_set set;
		memset(&set, 0x5a, sizeof(set));
		set.nr = 0;
		int r = config_parse_module_line(&set, text, report_module, &n);
		FUZZ_CHECK(r == 0 || r == 1 || r == -1);
		FUZZ_CHECK(set.nr == (r == 1));
		FUZZ_CHECK((r == -1) == (n > 0));
		if (r == 1) {
			const struct vm_config *v = &set.vm[0];
			FUZZ_CHECK(memchr(v->name, '\0', sizeof(v->name)) && v->name[0]);
			FUZZ_CHECK(memchr(v->cmdline, '\0', sizeof(v->cmdline)));
			FUZZ_CHECK(v->nr_vcpus >= 1 && v->nr_vcpus <= VM_MAX_VCPUS);
			FUZZ_CHECK(v->nr_modules >= 0 && v->nr_modules <= VM_MAX_MODULES);
			FUZZ_CHECK(v->weight >= 1 && v->weight <= VM_WEIGHT_MAX && v->mem > 0);
		}
	} else {
		struct hv_options o;
		cmdline_defaults(&o);
		int r = cmdline_parse(text, &o, report, &n);
		FUZZ_CHECK(r == n);
		FUZZ_CHECK(o.console >= HV_CONSOLE_COM1 && o.console <= HV_CONSOLE_NONE);
		FUZZ_CHECK(o.loglevel >= HV_LOG_ERROR && o.loglevel <= HV_LOG_DEBUG);
		FUZZ_CHECK(memchr(o.config, '\0', sizeof(o.config)));
		FUZZ_CHECK(o.selftest >= HV_SELFTEST_NONE && o.selftest <= HV_SELFTEST_BAD_ENTRY);
		FUZZ_CHECK(o.smp_max <= 65535);
		FUZZ_CHECK(o.onexit >= HV_ONEXIT_POWEROFF && o.onexit <= HV_ONEXIT_HALT);
		FUZZ_CHECK(o.conswitch >= 1 && o.conswitch <= 26);
	}
	free(text);
	return 0;
}
