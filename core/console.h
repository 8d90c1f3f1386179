/* The hypervisor console: whole lines, never interleaved between CPUs. */
#ifndef KASANE_CORE_CONSOLE_H
#define KASANE_CORE_CONSOLE_H

#include "lib/types.h"

enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

enum console_dev { CONSOLE_COM1, CONSOLE_COM2, CONSOLE_NONE };

void console_init(enum console_dev dev);
void console_set_loglevel(int level);
int console_loglevel(void);
/* Print if level <= the current log level.  Each call is written whole. */
void printk(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vprintk(int level, const char *fmt, va_list ap);
/* Write raw bytes as one unit (e.g. a guest's prefixed line). */
void console_write(const char *s, size_t len);
/* After a panic: take the console from whoever holds it. */
void console_panic_mode(void);
/* A received byte from the console UART, or -1. */
int console_getc(void);

#define pr_err(...)   printk(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

#endif
