# kasane's freestanding test guests, built with the host gcc and ld.
# Included by the top Makefile; also usable alone:
#     make -f test/guests/guests.mk            (all guests)
# Defines GUEST_ELFS (the images the QEMU tests boot under kasane) and
# GUEST_TOOLS (qemu-shim.elf, for running 64-bit guests under plain QEMU,
# see test/guests/qemu-selftest.sh).

GUEST_SRC     := test/guests
GUEST_OUT     := build/guests
GUEST_CC      ?= gcc
GUEST_LD      ?= ld
GUEST_OBJCOPY ?= objcopy
GUEST_AR      ?= ar

GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. \
		-ffreestanding -nostdlib -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) \
		-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -fno-stack-protector -static \
		-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -fno-strict-aliasing -MMD -MP
GUEST_CFLAGS64 := $(GUEST_CFLAGS) -m64 -mcmodel=small
# Freestanding objects need no 32-bit libraries, so no gcc-multilib.
GUEST_CFLAGS32 := $(GUEST_CFLAGS) -m32 -march=i686
GUEST_LDFLAGS  := -nostdlib -static -z max-page-size=0x1000 -z noexecstack

# The start code, then an archive, so a guest links only what it uses.
GUEST_LIB_ALL := console report string bootinfo fw_cfg trap start
# 64-bit only: interrupts, timers, APIC/IOAPIC/PIC, firmware tables, SMP (lib/pc.h).
GUEST_LIB_PC  := irq64 irq time apic acpi smpboot ap_trampoline work
GUEST_LIB64   := $(GUEST_OUT)/lib64/crt64.o $(GUEST_OUT)/libguest64.a
GUEST_LIB32   := $(GUEST_OUT)/lib32/crt32.o $(GUEST_OUT)/libguest32.a

# Every test/guests/NAME.c is a 64-bit ELF guest, except the 32-bit ones
# below, which have link rules of their own: a new 64-bit guest needs no
# change here.
GUESTS32 := hello32 mbmod shadow-paging32 taskswitch32 taskswitch-hostile
GUESTS64 := $(filter-out $(GUESTS32) hello32-aout qemu-shim, \
	      $(basename $(notdir $(wildcard $(GUEST_SRC)/*.c))))
GUEST_ELFS  := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUESTS32) $(GUESTS64)) \
	       $(GUEST_OUT)/hello32-aout.bin
GUEST_TOOLS := $(GUEST_OUT)/qemu-shim.elf

.PHONY: guests
guests: $(GUEST_ELFS) $(GUEST_TOOLS)

$(GUEST_OUT)/libguest64.a: $(patsubst %,$(GUEST_OUT)/lib64/%.o,trap64 paging $(GUEST_LIB_ALL) $(GUEST_LIB_PC))
	rm -f $@
	$(GUEST_AR) rcs $@ $^
$(GUEST_OUT)/libguest32.a: $(patsubst %,$(GUEST_OUT)/lib32/%.o,trap32 $(GUEST_LIB_ALL))
	rm -f $@
	$(GUEST_AR) rcs $@ $^

$(GUEST_OUT)/lib64/%.o: $(GUEST_SRC)/lib/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64) -c $< -o $@
$(GUEST_OUT)/lib64/%.o: $(GUEST_SRC)/lib/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64) -c $< -o $@
$(GUEST_OUT)/lib32/%.o: $(GUEST_SRC)/lib/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS32) -c $< -o $@
$(GUEST_OUT)/lib32/%.o: $(GUEST_SRC)/lib/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS32) -c $< -o $@
$(GUEST_OUT)/obj64/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64) -c $< -o $@
$(GUEST_OUT)/obj32/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS32) -c $< -o $@

$(patsubst %,$(GUEST_OUT)/%.elf,$(GUESTS64)): $(GUEST_OUT)/%.elf: \
		$(GUEST_OUT)/obj64/%.o $(GUEST_LIB64) $(GUEST_SRC)/lib/guest64.ld
	$(GUEST_LD) -m elf_x86_64 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest64.ld \
		-o $@ $< $(GUEST_LIB64)

# Multiboot1 ELF.
$(GUEST_OUT)/hello32.elf: $(GUEST_OUT)/obj32/hello32.o $(GUEST_OUT)/lib32/mb1_header.o \
		$(GUEST_LIB32) $(GUEST_SRC)/lib/guest32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld \
		-o $@ $(filter %.o %.a,$^)

# Multiboot1 ELF, legacy-mode paging (test/manifests/shadow-paging.test).
$(GUEST_OUT)/shadow-paging32.elf: $(GUEST_OUT)/obj32/shadow-paging32.o \
		$(GUEST_OUT)/lib32/mb1_header.o $(GUEST_LIB32) $(GUEST_SRC)/lib/guest32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld \
		-o $@ $(filter %.o %.a,$^)

# Multiboot1 ELF, hardware task switches (test/manifests/taskswitch.test).
$(GUEST_OUT)/taskswitch32.elf: $(GUEST_OUT)/obj32/taskswitch32.o \
		$(GUEST_OUT)/lib32/mb1_header.o $(GUEST_LIB32) $(GUEST_SRC)/lib/guest32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld \
		-o $@ $(filter %.o %.a,$^)

# Multiboot1 ELF, hostile task switches (test/manifests/taskswitch-hostile.test).
$(GUEST_OUT)/taskswitch-hostile.elf: $(GUEST_OUT)/obj32/taskswitch-hostile.o \
		$(GUEST_OUT)/lib32/mb1_header.o $(GUEST_LIB32) $(GUEST_SRC)/lib/guest32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld \
		-o $@ $(filter %.o %.a,$^)

# Both headers: kasane prefers Multiboot2, QEMU's -kernel uses Multiboot1.
$(GUEST_OUT)/mbmod.elf: $(GUEST_OUT)/obj32/mbmod.o $(GUEST_OUT)/lib32/mb1_header.o \
		$(GUEST_OUT)/lib32/mb2_header.o $(GUEST_LIB32) $(GUEST_SRC)/lib/guest32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld \
		-o $@ $(filter %.o %.a,$^)

# Multiboot1 a.out kludge: a flat binary with no ELF headers.
$(GUEST_OUT)/hello32-aout.elf: $(GUEST_OUT)/obj32/hello32-aout.o \
		$(GUEST_OUT)/lib32/mb1_aout_header.o $(GUEST_LIB32) $(GUEST_SRC)/lib/guest32-aout.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) --no-warn-rwx-segments -T $(GUEST_SRC)/lib/guest32-aout.ld \
		-o $@ $(filter %.o %.a,$^)
$(GUEST_OUT)/hello32-aout.bin: $(GUEST_OUT)/hello32-aout.elf
	$(GUEST_OBJCOPY) -O binary $< $@

# Not a test: a Multiboot1 loader that runs an ELF64 guest under plain QEMU.
$(GUEST_OUT)/qemu-shim.elf: $(GUEST_OUT)/obj32/qemu-shim.o $(GUEST_OUT)/lib32/mb1_header.o \
		$(GUEST_LIB32) $(GUEST_SRC)/lib/guest32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld \
		-o $@ $(filter %.o %.a,$^)

-include $(wildcard $(GUEST_OUT)/*/*.d)
