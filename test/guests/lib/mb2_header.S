/*
 * Multiboot2 header (Multiboot2 spec §3.1.1-§3.1.3): magic, architecture 0
 * (i386 protected mode), header length, checksum, then only the end tag,
 * so an ELF kernel is loaded by its program headers.  Must be 8-aligned
 * within the first 32 KiB of the file.
 */
#define MB2_MAGIC       0xE85250D6
#define MB2_ARCH_I386   0

	.section .multiboot2, "a"
	.align 8
mb2_header:
	.long	MB2_MAGIC
	.long	MB2_ARCH_I386
	.long	mb2_end - mb2_header
	.long	-(MB2_MAGIC + MB2_ARCH_I386 + (mb2_end - mb2_header))
	.word	0, 0			/* end tag: type 0, flags 0 */
	.long	8			/* size */
mb2_end:

	.section .note.GNU-stack, "", @progbits
