/*
 * COM2 for the GDB remote stub: a byte pipe over the polled 16550 driver
 * (drivers/uart.c).  Only the housekeeping CPU uses it (core/run.c), so
 * it needs no lock.
 */
#include "drivers/gdbport.h"
#include "drivers/uart.h"

static bool open_ok;

bool gdbport_open(void)
{
	if (!open_ok)
		open_ok = uart_init(COM2_PORT);
	return open_ok;
}

int gdbport_getc(void)
{
	return open_ok ? uart_getc(COM2_PORT) : -1;
}

void gdbport_write(const char *s, size_t len)
{
	for (size_t i = 0; open_ok && i < len; i++)
		uart_putc(COM2_PORT, s[i]);
}
