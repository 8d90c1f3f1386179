UNIT_TESTS += loader loader_bad
UNIT_SRCS_loader := guest-loader/loader.c guest-loader/fmt_bzimage.c guest-loader/fmt_multiboot.c guest-loader/fmt_elf.c guest-loader/gl_util.c guest-loader/elf.c guest-loader/mbinfo.c guest-loader/longmode.c arch/x86/x86_state.c mm/guest_mem.c lib/printf.c test/unit/loader_img.c
UNIT_SRCS_loader_bad := $(UNIT_SRCS_loader)
