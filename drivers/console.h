/* The serial console: the log's sink and the operator's keyboard. */
#ifndef KASANE_DRIVERS_CONSOLE_H
#define KASANE_DRIVERS_CONSOLE_H

#include "lib/types.h"

enum console_dev { CONSOLE_COM1, CONSOLE_COM2, CONSOLE_NONE };

/* Open the console UART and make it the log's sink.  Returns false, with
 * the console off, if there is no UART there (or dev is CONSOLE_NONE). */
bool console_init(enum console_dev dev);
/* The UART for dev is missing: say so on the other COM port, if it has one. */
void console_say_missing(enum console_dev dev);
/* After a panic: take the console from whoever holds it. */
void console_panic_mode(void);
/* Write the echo of the operator's keys, s, after which the unfinished
 * command line on the screen is line (line_len 0: none, the cursor at the
 * start of a line).  Output written while a line is unfinished goes on a
 * line of its own, and the unfinished part is written again after it. */
void console_echo(const char *s, size_t len, const char *line, size_t line_len);
/* A received byte from the console UART, or -1. */
int console_getc(void);

#endif
