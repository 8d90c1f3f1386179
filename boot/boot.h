/* Constants shared by the boot assembly and C. */
#ifndef KASANE_BOOT_BOOT_H
#define KASANE_BOOT_BOOT_H

#define MB2_HEADER_MAGIC        0xe85250d6
#define MB2_BOOT_MAGIC          0x36d76289
#define MB1_HEADER_MAGIC        0x1badb002
#define MB1_BOOT_MAGIC          0x2badb002
/* MB1 flags: bit 1 memory info, bit 16 a.out kludge (addresses in header). */
#define MB1_FLAGS               ((1 << 1) | (1 << 16))

#define BOOT_CS64               0x08
#define BOOT_DS64               0x10
#define BOOT_STACK_SIZE         16384

#endif
