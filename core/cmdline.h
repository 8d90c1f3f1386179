/*
 * The hypervisor's own command line, as GRUB passes it in the Multiboot2
 * command-line tag (Multiboot2 spec §3.6.5), e.g.
 *   console=com1 loglevel=debug config=/boot/kasane.cfg
 * Also the word splitter shared with the per-module command lines that
 * core/config.c reads.  Pure logic: also built into the host unit tests.
 */
#ifndef KASANE_CORE_CMDLINE_H
#define KASANE_CORE_CMDLINE_H

#include "lib/types.h"

enum hv_console { HV_CONSOLE_COM1, HV_CONSOLE_COM2, HV_CONSOLE_NONE };
enum hv_loglevel { HV_LOG_ERROR, HV_LOG_WARN, HV_LOG_INFO, HV_LOG_DEBUG };
enum hv_selftest {
	HV_SELFTEST_NONE,
	HV_SELFTEST_FAULT_PF,   /* page fault on the BSP */
	HV_SELFTEST_FAULT_UD,   /* invalid opcode */
	HV_SELFTEST_FAULT_GP,   /* general protection */
	HV_SELFTEST_FAULT_AP,   /* page fault on an AP */
	HV_SELFTEST_BAD_ENTRY,  /* the first VM's entry state is invalid (core/vm_create.c) */
	HV_SELFTEST_STACK_SMASH, /* overrun a stack buffer: the stack protector must panic */
};
enum hv_onexit { HV_ONEXIT_POWEROFF, HV_ONEXIT_REBOOT, HV_ONEXIT_HALT };

struct hv_options {
	int console;            /* enum hv_console */
	int loglevel;           /* enum hv_loglevel */
	char config[128];       /* config module path; "" = any module ending in ".cfg" */
	int selftest;           /* enum hv_selftest */
	unsigned smp_max;       /* CPUs to start; 0 = all */
	int onexit;             /* enum hv_onexit: when every VM has ended */
	int conswitch;          /* Ctrl-<this letter> three times moves console input (1 = Ctrl-A) */
	int poison;             /* 1: fill frames with a pattern as they are handed out (mm/mm.h) */
};

/* Longest command line looked at; the rest is ignored (and reported). */
#define CMDLINE_MAX         4096

typedef void (*cmdline_report_fn)(void *ctx, const char *msg);

void cmdline_defaults(struct hv_options *o);

/*
 * Parse s into o, which should hold cmdline_defaults() first.  Each problem
 * (unknown option, bad value, value too long, unterminated quote) is passed
 * to report(ctx, msg) as one line; report may be NULL.  Problems never stop
 * the parse: every good option still applies.  Returns the number of
 * problems.  A leading word without '=' that contains a '/' is taken
 * for the image path some boot loaders put first, and skipped.
 */
int cmdline_parse(const char *s, struct hv_options *o, cmdline_report_fn report, void *ctx);

/*
 * One word of a command line: key[=value].  Double quotes group text with
 * blanks ("a b") and are removed.  Each field is always NUL-terminated;
 * the *_trunc flags say it did not fit.
 */
#define CMDLINE_KEY_MAX     32
#define CMDLINE_VAL_MAX     512
struct cmdline_word {
	char key[CMDLINE_KEY_MAX];
	char val[CMDLINE_VAL_MAX];
	bool has_val;           /* an '=' was seen */
	bool key_trunc, val_trunc;
	bool open_quote;        /* the word ended inside quotes */
	const char *raw;        /* the word as written, for messages */
	size_t raw_len;
};

/*
 * Split the next word out of [s, end).  Returns where the scan stopped, or
 * NULL when only blanks remain.
 */
const char *cmdline_next_word(const char *s, const char *end, struct cmdline_word *w);

#endif
