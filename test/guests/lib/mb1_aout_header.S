/*
 * Multiboot1 header with the "a.out kludge" (Multiboot 0.6.96 §3.1.3):
 * flags bit 16 makes the loader use the address fields below instead of
 * the file's format.  The file is loaded from load_addr up to load_end_addr
 * and zeroed from there up to bss_end_addr; guest32-aout.ld defines the
 * symbols.
 */
#define MB1_MAGIC       0x1BADB002
#define MB1_FLAGS       0x00010003      /* address fields, memory info, aligned modules */

	.section .multiboot1, "a"
	.align 4
mb1_header:
	.long	MB1_MAGIC
	.long	MB1_FLAGS
	.long	-(MB1_MAGIC + MB1_FLAGS)
	.long	mb1_header		/* header_addr */
	.long	__image_start		/* load_addr */
	.long	__load_end		/* load_end_addr */
	.long	__bss_end		/* bss_end_addr */
	.long	_start			/* entry_addr */

	.section .note.GNU-stack, "", @progbits
