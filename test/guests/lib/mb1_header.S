/*
 * Multiboot1 header for an ELF kernel (Multiboot 0.6.96 §3.1.1-§3.1.2):
 * flags bit 0 = page-align modules, bit 1 = pass memory information.
 * Must be 4-aligned within the first 8 KiB of the file (the linker script
 * puts it first).
 */
#define MB1_MAGIC       0x1BADB002
#define MB1_FLAGS       0x00000003

	.section .multiboot1, "a"
	.align 4
	.long	MB1_MAGIC
	.long	MB1_FLAGS
	.long	-(MB1_MAGIC + MB1_FLAGS)

	.section .note.GNU-stack, "", @progbits
