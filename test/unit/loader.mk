UNIT_TESTS += loader loader_bad
UNIT_SRCS_loader := guest-loader/loader.c guest-loader/elf.c guest-loader/multiboot.c mm/guest_mem.c lib/printf.c test/unit/loader_img.c
UNIT_SRCS_loader_bad := $(UNIT_SRCS_loader)
