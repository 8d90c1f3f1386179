/*
 * Logging, at the bottom of the hypervisor: every layer may print.  The
 * formatting lives here; the bytes go to a sink that a driver registers
 * (drivers/console.c: the serial console).  A sink writes one call whole,
 * so lines from different CPUs never interleave.
 */
#ifndef KASANE_KERNEL_LOG_H
#define KASANE_KERNEL_LOG_H

#include "lib/types.h"

enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Where whole messages go; NULL drops them (before the console is up). */
typedef void (*log_sink_t)(const char *s, size_t len);
void log_set_sink(log_sink_t sink);

void console_set_loglevel(int level);
int console_loglevel(void);
/* Print if level <= the current log level.  Each call is written whole. */
void printk(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vprintk(int level, const char *fmt, va_list ap);
/* Write raw bytes as one unit (e.g. a guest's prefixed line). */
void console_write(const char *s, size_t len);

#define pr_err(...)   printk(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

#endif
