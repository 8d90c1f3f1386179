/* 16550-compatible UART of the physical machine, polled. */
#ifndef KASANE_DRIVERS_UART_H
#define KASANE_DRIVERS_UART_H

#include "lib/types.h"

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8

/* Program 115200 8N1, FIFOs on.  Returns false if no UART answers there. */
bool uart_init(uint16_t base);
void uart_putc(uint16_t base, char c);
/* Next received byte, or -1 if none is waiting. */
int uart_getc(uint16_t base);

#endif
