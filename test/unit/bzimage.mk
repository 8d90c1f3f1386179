# The Linux bzImage loader, over Debian's real kernel (fetched into
# build/linux by tools/linux-guest.sh, which run-tests.sh runs first) and
# over crafted bad images.
UNIT_TESTS += bzimage
UNIT_SRCS_bzimage := guest-loader/loader.c guest-loader/fmt_bzimage.c guest-loader/fmt_multiboot.c guest-loader/fmt_elf.c guest-loader/gl_util.c guest-loader/elf.c guest-loader/mbinfo.c guest-loader/longmode.c arch/x86/x86_state.c mm/guest_mem.c lib/printf.c
$(BUILD)/unit/bzimage: UNIT_CFLAGS += -DLINUX_VMLINUZ='"build/linux/vmlinuz"'
# Fetched (once; cached) before the test is built: a failed fetch fails the build.
$(BUILD)/unit/bzimage: build/linux/vmlinuz
build/linux/vmlinuz: tools/linux-guest.sh
	bash tools/linux-guest.sh
