/* Host tests for the hypervisor command-line parser (core/cmdline.c). */
#include "test/unit/check.h"
#include "core/cmdline.h"

struct msgs {
	int n;
	char m[8][256];
};

static void collect(void *ctx, const char *msg)
{
	struct msgs *ms = ctx;

	if (ms->n < 8)
		snprintf(ms->m[ms->n], sizeof(ms->m[0]), "%s", msg);
	ms->n++;
}

static int parse(const char *s, struct hv_options *o, struct msgs *ms)
{
	memset(ms, 0, sizeof(*ms));
	cmdline_defaults(o);
	return cmdline_parse(s, o, collect, ms);
}

TEST(defaults)
{
	struct hv_options o;
	struct msgs ms;

	CHECK_EQ(parse("", &o, &ms), 0);
	CHECK_EQ(o.console, HV_CONSOLE_COM1);
	CHECK_EQ(o.loglevel, HV_LOG_INFO);
	CHECK_STR(o.config, "");
	CHECK_EQ(o.selftest, HV_SELFTEST_NONE);
	CHECK_EQ(o.smp_max, 0);
	CHECK_EQ(o.onexit, HV_ONEXIT_POWEROFF);
	CHECK_EQ(o.conswitch, 1);
	CHECK_EQ(ms.n, 0);
}

TEST(all_options)
{
	struct hv_options o;
	struct msgs ms;

	CHECK_EQ(parse("  console=com2\tloglevel=debug config=/boot/kasane.cfg "
		       "selftest=fault-ap smp=3 onexit=reboot conswitch=t ", &o, &ms), 0);
	CHECK_EQ(o.console, HV_CONSOLE_COM2);
	CHECK_EQ(o.loglevel, HV_LOG_DEBUG);
	CHECK_STR(o.config, "/boot/kasane.cfg");
	CHECK_EQ(o.selftest, HV_SELFTEST_FAULT_AP);
	CHECK_EQ(o.smp_max, 3);
	CHECK_EQ(o.onexit, HV_ONEXIT_REBOOT);
	CHECK_EQ(o.conswitch, 0x14);
	CHECK_EQ(ms.n, 0);
}

TEST(value_words)
{
	struct hv_options o;
	struct msgs ms;
	static const struct { const char *s; int want; } cases[] = {
		{ "console=none", HV_CONSOLE_NONE },
		{ "loglevel=0", HV_LOG_ERROR },
		{ "loglevel=1", HV_LOG_WARN },
		{ "loglevel=warn", HV_LOG_WARN },
		{ "loglevel=3", HV_LOG_DEBUG },
		{ "selftest=fault-pf", HV_SELFTEST_FAULT_PF },
		{ "selftest=fault-ud", HV_SELFTEST_FAULT_UD },
		{ "selftest=fault-gp", HV_SELFTEST_FAULT_GP },
		{ "selftest=bad-entry", HV_SELFTEST_BAD_ENTRY },
		{ "selftest=stack-smash", HV_SELFTEST_STACK_SMASH },
		{ "onexit=halt", HV_ONEXIT_HALT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(parse(cases[i].s, &o, &ms), 0);
		switch (cases[i].s[0]) {
		case 'c': CHECK_EQ(o.console, cases[i].want); break;
		case 'l': CHECK_EQ(o.loglevel, cases[i].want); break;
		case 's': CHECK_EQ(o.selftest, cases[i].want); break;
		case 'o': CHECK_EQ(o.onexit, cases[i].want); break;
		}
	}
	/* The last of a repeated option wins. */
	CHECK_EQ(parse("console=none console=com2", &o, &ms), 0);
	CHECK_EQ(o.console, HV_CONSOLE_COM2);
}

TEST(unknown_option)
{
	struct hv_options o;
	struct msgs ms;

	CHECK_EQ(parse("foo=1 console=none quiet", &o, &ms), 2);
	CHECK_EQ(ms.n, 2);
	CHECK_STR(ms.m[0], "cmdline: unknown option 'foo=1' "
		  "(known: console loglevel config selftest smp onexit conswitch poison)");
	CHECK_STR(ms.m[1], "cmdline: unknown option 'quiet' "
		  "(known: console loglevel config selftest smp onexit conswitch poison)");
	CHECK_EQ(o.console, HV_CONSOLE_NONE);
	CHECK_EQ(parse("conswitch=A", &o, &ms), 1);
	CHECK_EQ(o.conswitch, 1);
}

TEST(bad_values_keep_going)
{
	struct hv_options o;
	struct msgs ms;

	CHECK_EQ(parse("loglevel=loud console=com3 selftest=fault-xx onexit=explode "
		       "smp=lots smp=70000 smp=-1 config= onexit=halt", &o, &ms), 8);
	CHECK_STR(ms.m[0], "cmdline: loglevel=loud: expected error|warn|info|debug or 0-3");
	CHECK_STR(ms.m[1], "cmdline: console=com3: expected com1|com2|none");
	CHECK_STR(ms.m[2], "cmdline: selftest=fault-xx: expected "
		  "none|fault-pf|fault-ud|fault-gp|fault-ap|bad-entry|stack-smash");
	CHECK_STR(ms.m[3], "cmdline: onexit=explode: expected poweroff|reboot|halt");
	CHECK_STR(ms.m[4], "cmdline: smp=lots: expected a CPU count 0-65535 (0 = all)");
	CHECK_STR(ms.m[5], "cmdline: smp=70000: expected a CPU count 0-65535 (0 = all)");
	CHECK_STR(ms.m[6], "cmdline: smp=-1: expected a CPU count 0-65535 (0 = all)");
	CHECK_STR(ms.m[7], "cmdline: config=: expected the path of the config module");
	/* Bad values leave the defaults; good options still apply. */
	CHECK_EQ(o.loglevel, HV_LOG_INFO);
	CHECK_EQ(o.console, HV_CONSOLE_COM1);
	CHECK_EQ(o.smp_max, 0);
	CHECK_EQ(o.onexit, HV_ONEXIT_HALT);
	CHECK_EQ(parse("loglevel=4 loglevel=01", &o, &ms), 2);
	CHECK_EQ(parse("smp=0x10", &o, &ms), 0);
	CHECK_EQ(o.smp_max, 16);
}

TEST(missing_value)
{
	struct hv_options o;
	struct msgs ms;

	CHECK_EQ(parse("console", &o, &ms), 1);
	CHECK_STR(ms.m[0], "cmdline: console needs a value (console=com1|com2|none)");
}

TEST(quoted_values)
{
	struct hv_options o;
	struct msgs ms;

	CHECK_EQ(parse("config=\"/boot/my vms.cfg\" loglevel=\"warn\"", &o, &ms), 0);
	CHECK_STR(o.config, "/boot/my vms.cfg");
	CHECK_EQ(o.loglevel, HV_LOG_WARN);
	CHECK_EQ(parse("\"config=/a b\" console=none", &o, &ms), 0);
	CHECK_STR(o.config, "/a b");
	CHECK_EQ(o.console, HV_CONSOLE_NONE);
	/* An unterminated quote swallows the rest and is ignored. */
	CHECK_EQ(parse("console=none config=\"/x console=com2", &o, &ms), 1);
	CHECK_STR(ms.m[0], "cmdline: unterminated quote in 'config=\"/x console=com2' (ignored)");
	CHECK_STR(o.config, "");
	CHECK_EQ(o.console, HV_CONSOLE_NONE);
}

TEST(image_path_skipped)
{
	struct hv_options o;
	struct msgs ms;

	CHECK_EQ(parse("/boot/kasane.elf console=none", &o, &ms), 0);
	CHECK_EQ(o.console, HV_CONSOLE_NONE);
	/* Only as the first word. */
	CHECK_EQ(parse("console=none /boot/kasane.elf", &o, &ms), 1);
}

TEST(bounded_lengths)
{
	struct hv_options o;
	struct msgs ms;
	char s[6000], path[200];

	/* config longer than its 127-character field: reported, not applied. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[150] = '\0';
	snprintf(s, sizeof(s), "config=%s console=none", path);
	CHECK_EQ(parse(s, &o, &ms), 1);
	CHECK(strstr(ms.m[0], "too long (max 127 characters)") != NULL);
	CHECK(strlen(ms.m[0]) < 200);
	CHECK_STR(o.config, "");
	CHECK_EQ(o.console, HV_CONSOLE_NONE);

	/* Exactly 127 characters fit. */
	path[127] = '\0';
	snprintf(s, sizeof(s), "config=%s", path);
	CHECK_EQ(parse(s, &o, &ms), 0);
	CHECK_EQ(strlen(o.config), 127);

	/* A value longer than any word buffer. */
	memset(s, 'v', sizeof(s));
	memcpy(s, "loglevel=", 9);
	s[9 + 700] = '\0';
	CHECK_EQ(parse(s, &o, &ms), 1);
	CHECK(strstr(ms.m[0], "cmdline: loglevel=vvvv") == ms.m[0]);
	CHECK(strstr(ms.m[0], "too long (max 511 characters)") != NULL);

	/* A key longer than any option name. */
	memset(s, 'k', 100);
	strcpy(s + 100, "=1");
	CHECK_EQ(parse(s, &o, &ms), 1);
	CHECK(strstr(ms.m[0], "cmdline: unknown option 'kkkk") == ms.m[0]);

	/* The whole line is bounded: only the first CMDLINE_MAX characters count. */
	memset(s, ' ', sizeof(s));
	memcpy(s, "console=none", 12);
	memcpy(s + CMDLINE_MAX + 10, "console=com2", 12);
	s[sizeof(s) - 1] = '\0';
	CHECK_EQ(parse(s, &o, &ms), 1);
	CHECK_STR(ms.m[0], "cmdline: longer than 4096 characters; the rest is ignored");
	CHECK_EQ(o.console, HV_CONSOLE_NONE);
}

TEST(null_report)
{
	struct hv_options o;

	cmdline_defaults(&o);
	CHECK_EQ(cmdline_parse("bogus loglevel=debug", &o, NULL, NULL), 1);
	CHECK_EQ(o.loglevel, HV_LOG_DEBUG);
	CHECK_EQ(cmdline_parse(NULL, &o, NULL, NULL), 0);
}

TEST(next_word)
{
	const char *s = "  a=b  \"c d\"=\"e f\"g  h= ";
	const char *end = s + strlen(s);
	struct cmdline_word w;

	s = cmdline_next_word(s, end, &w);
	CHECK(s != NULL);
	CHECK_STR(w.key, "a");
	CHECK_STR(w.val, "b");
	CHECK(w.has_val);
	s = cmdline_next_word(s, end, &w);
	CHECK_STR(w.key, "c d");
	CHECK_STR(w.val, "e fg");
	CHECK_EQ(w.raw_len, strlen("\"c d\"=\"e f\"g"));
	s = cmdline_next_word(s, end, &w);
	CHECK_STR(w.key, "h");
	CHECK_STR(w.val, "");
	CHECK(w.has_val);
	CHECK(cmdline_next_word(s, end, &w) == NULL);
	/* The end bound is honoured even without a NUL. */
	s = "abc=def";
	CHECK(cmdline_next_word(s, s + 5, &w) != NULL);
	CHECK_STR(w.val, "d");
}

int main(void)
{
	check_start("cmdline");
	RUN(defaults);
	RUN(all_options);
	RUN(value_words);
	RUN(unknown_option);
	RUN(bad_values_keep_going);
	RUN(missing_value);
	RUN(quoted_values);
	RUN(image_path_skipped);
	RUN(bounded_lengths);
	RUN(null_report);
	RUN(next_word);
	return check_finish();
}
