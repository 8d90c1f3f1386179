/*
 * The hypervisor command line.  Options live in one table; adding an option
 * is one line there plus its field in struct hv_options.
 */
#include "core/cmdline.h"
#include "lib/string.h"
#include "lib/printf.h"

enum opt_kind { OPT_WORD, OPT_STR, OPT_UINT };

struct opt_word {
	const char *word;
	int value;
};

struct opt_desc {
	const char *name;
	enum opt_kind kind;
	size_t off, size;               /* the field in struct hv_options */
	const struct opt_word *words;   /* OPT_WORD: NULL-terminated */
	uint64_t max;                   /* OPT_UINT: largest value */
	const char *expect;             /* for messages: what a good value looks like */
};

#define FIELD(f) offsetof(struct hv_options, f), sizeof(((struct hv_options *)0)->f)

static const struct opt_word console_words[] = {
	{ "com1", HV_CONSOLE_COM1 }, { "com2", HV_CONSOLE_COM2 },
	{ "none", HV_CONSOLE_NONE }, { NULL, 0 },
};
static const struct opt_word loglevel_words[] = {
	{ "error", HV_LOG_ERROR }, { "warn", HV_LOG_WARN },
	{ "info", HV_LOG_INFO }, { "debug", HV_LOG_DEBUG },
	{ "0", HV_LOG_ERROR }, { "1", HV_LOG_WARN },
	{ "2", HV_LOG_INFO }, { "3", HV_LOG_DEBUG }, { NULL, 0 },
};
static const struct opt_word selftest_words[] = {
	{ "none", HV_SELFTEST_NONE }, { "fault-pf", HV_SELFTEST_FAULT_PF },
	{ "fault-ud", HV_SELFTEST_FAULT_UD }, { "fault-gp", HV_SELFTEST_FAULT_GP },
	{ "fault-ap", HV_SELFTEST_FAULT_AP }, { "bad-entry", HV_SELFTEST_BAD_ENTRY },
	{ "stack-smash", HV_SELFTEST_STACK_SMASH }, { NULL, 0 },
};
static const struct opt_word onexit_words[] = {
	{ "poweroff", HV_ONEXIT_POWEROFF }, { "reboot", HV_ONEXIT_REBOOT },
	{ "halt", HV_ONEXIT_HALT }, { NULL, 0 },
};

/* conswitch=a..z: the control character Ctrl-A..Ctrl-Z, 0x01..0x1a. */
#define CTRL(c) { #c, #c[0] - 'a' + 1 }
static const struct opt_word conswitch_words[] = {
	CTRL(a), CTRL(b), CTRL(c), CTRL(d), CTRL(e), CTRL(f), CTRL(g), CTRL(h), CTRL(i),
	CTRL(j), CTRL(k), CTRL(l), CTRL(m), CTRL(n), CTRL(o), CTRL(p), CTRL(q), CTRL(r),
	CTRL(s), CTRL(t), CTRL(u), CTRL(v), CTRL(w), CTRL(x), CTRL(y), CTRL(z), { NULL, 0 },
};

static const struct opt_word onoff_words[] = {
	{ "off", 0 }, { "on", 1 }, { NULL, 0 },
};

static const struct opt_desc options[] = {
	{ "console",  OPT_WORD, FIELD(console),  console_words,  0, "com1|com2|none" },
	{ "loglevel", OPT_WORD, FIELD(loglevel), loglevel_words, 0, "error|warn|info|debug or 0-3" },
	{ "config",   OPT_STR,  FIELD(config),   NULL,           0, "the path of the config module" },
	{ "selftest", OPT_WORD, FIELD(selftest), selftest_words, 0, "none|fault-pf|fault-ud|fault-gp|fault-ap|bad-entry|stack-smash" },
	{ "smp",      OPT_UINT, FIELD(smp_max),  NULL,       65535, "a CPU count 0-65535 (0 = all)" },
	{ "onexit",   OPT_WORD, FIELD(onexit),   onexit_words,   0, "poweroff|reboot|halt" },
	{ "conswitch", OPT_WORD, FIELD(conswitch), conswitch_words, 0, "a letter a-z (Ctrl-that letter)" },
	{ "poison",   OPT_WORD, FIELD(poison),   onoff_words,    0, "on|off" },
};

/* Longest piece of a user's word quoted back in a message. */
#define SHOW_MAX 64

struct problems {
	cmdline_report_fn report;
	void *ctx;
	int count;
};

static void __attribute__((format(printf, 2, 3)))
problem(struct problems *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kstr_oneline(msg);      /* a quoted word may hold a line break */
	p->count++;
	if (p->report)
		p->report(p->ctx, msg);
}

void cmdline_defaults(struct hv_options *o)
{
	memset(o, 0, sizeof(*o));
	o->console = HV_CONSOLE_COM1;
	o->loglevel = HV_LOG_INFO;
	o->config[0] = '\0';
	o->selftest = HV_SELFTEST_NONE;
	o->smp_max = 0;
	o->onexit = HV_ONEXIT_POWEROFF;
	o->conswitch = 1;               /* Ctrl-A, as Xen's console */
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void word_put(char *buf, size_t size, size_t *n, bool *trunc, char c)
{
	if (*n + 1 < size)
		buf[(*n)++] = c;
	else
		*trunc = true;
}

const char *cmdline_next_word(const char *s, const char *end, struct cmdline_word *w)
{
	bool quoted = false, in_val = false;
	size_t kn = 0, vn = 0;

	while (s < end && *s != '\0' && is_blank(*s))
		s++;
	if (s >= end || *s == '\0')
		return NULL;
	w->raw = s;
	w->has_val = w->key_trunc = w->val_trunc = false;
	for (; s < end && *s != '\0'; s++) {
		char c = *s;

		if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && is_blank(c)) {
			break;
		} else if (!in_val && c == '=') {
			in_val = w->has_val = true;
		} else if (in_val) {
			word_put(w->val, sizeof(w->val), &vn, &w->val_trunc, c);
		} else {
			word_put(w->key, sizeof(w->key), &kn, &w->key_trunc, c);
		}
	}
	w->key[kn] = '\0';
	w->val[vn] = '\0';
	w->open_quote = quoted;
	w->raw_len = (size_t)(s - w->raw);
	return s;
}

static int raw_show(const struct cmdline_word *w)
{
	return (int)MIN(w->raw_len, (size_t)SHOW_MAX);
}

static const struct opt_desc *option_find(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (strcmp(options[i].name, key) == 0)
			return &options[i];
	return NULL;
}

static void option_unknown(struct problems *p, const struct cmdline_word *w)
{
	char known[128];
	size_t n = 0;

	known[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		int r = ksnprintf(known + n, sizeof(known) - n, "%s%s",
				  i ? " " : "", options[i].name);
		if (r < 0 || (size_t)r >= sizeof(known) - n)
			break;
		n += (size_t)r;
	}
	problem(p, "cmdline: unknown option '%.*s' (known: %s)", raw_show(w), w->raw, known);
}

static void option_apply(struct problems *p, struct hv_options *o,
			 const struct opt_desc *d, const char *val)
{
	char *field = (char *)o + d->off;
	size_t len = strlen(val);
	const char *end;
	uint64_t v;

	switch (d->kind) {
	case OPT_WORD:
		for (const struct opt_word *ow = d->words; ow->word; ow++) {
			if (strcmp(ow->word, val) == 0) {
				*(int *)field = ow->value;
				return;
			}
		}
		break;
	case OPT_STR:
		if (len >= d->size) {
			problem(p, "cmdline: %s=%.*s...: too long (max %zu characters)",
				d->name, SHOW_MAX, val, d->size - 1);
			return;
		}
		if (len > 0) {
			memcpy(field, val, len + 1);
			return;
		}
		break;
	case OPT_UINT:
		if (parse_u64(val, &end, &v) && *end == '\0' && v <= d->max) {
			*(unsigned *)field = (unsigned)v;
			return;
		}
		break;
	}
	problem(p, "cmdline: %s=%.*s: expected %s", d->name, SHOW_MAX, val, d->expect);
}

static void word_apply(struct problems *p, struct hv_options *o, const struct cmdline_word *w)
{
	const struct opt_desc *d;

	if (w->open_quote) {
		problem(p, "cmdline: unterminated quote in '%.*s' (ignored)", raw_show(w), w->raw);
		return;
	}
	d = w->key_trunc ? NULL : option_find(w->key);
	if (!d) {
		option_unknown(p, w);
		return;
	}
	if (!w->has_val) {
		problem(p, "cmdline: %s needs a value (%s=%s)", d->name, d->name, d->expect);
		return;
	}
	if (w->val_trunc) {
		problem(p, "cmdline: %s=%.*s...: too long (max %zu characters)",
			d->name, SHOW_MAX, w->val, sizeof(w->val) - 1);
		return;
	}
	option_apply(p, o, d, w->val);
}

int cmdline_parse(const char *s, struct hv_options *o, cmdline_report_fn report, void *ctx)
{
	struct problems p = { report, ctx, 0 };
	struct cmdline_word w;
	const char *end;
	size_t len;
	bool first = true;

	if (!s)
		return 0;
	len = strnlen(s, CMDLINE_MAX + 1);
	if (len > CMDLINE_MAX) {
		problem(&p, "cmdline: longer than %d characters; the rest is ignored", CMDLINE_MAX);
		len = CMDLINE_MAX;
	}
	end = s + len;
	while ((s = cmdline_next_word(s, end, &w)) != NULL) {
		/* Some boot loaders put the image path first: skip it. */
		bool image = first && !w.has_val && strchr(w.key, '/') != NULL;

		first = false;
		if (!image)
			word_apply(&p, o, &w);
	}
	return p.count;
}
