/* The physical legacy PIC. */
#ifndef KASANE_DRIVERS_I8259_H
#define KASANE_DRIVERS_I8259_H

/* Remap to vectors 0x20-0x2f and mask every input. */
void i8259_disable(void);

#endif
