/*
 * The debugger's serial line: the second UART (COM2, 0x2f8), polled, for
 * the GDB remote stub (core/gdbstub.c).  Beside the console's COM1
 * (drivers/console.c); with console=com2 the console has it and there is
 * no debugger line.
 */
#ifndef KASANE_DRIVERS_GDBPORT_H
#define KASANE_DRIVERS_GDBPORT_H

#include "lib/types.h"

/* Program COM2 (115200 8N1, FIFOs on); false if no UART answers there. */
bool gdbport_open(void);
/* The next received byte, or -1 if none waits (or the port is not open). */
int gdbport_getc(void);
/* Send len bytes (each waits a bounded time for room in the transmitter). */
void gdbport_write(const char *s, size_t len);

#endif
