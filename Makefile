# kasane: build, run and test.  See README.md.

SMP      ?= 4
MEM      ?= 512M
QEMU_EXTRA ?=
CMDLINE  ?= console=com1 loglevel=info
# make test-long: seconds of the soak (VMs restarted, hostile ones too).
SOAK_SECS ?= 1800
# make run: bios (SeaBIOS) or uefi (OVMF); RUN_ISO: the ISO it boots.
FIRMWARE ?= bios
RUN_ISO  ?= $(BUILD)/kasane.iso
# make run: COM2, the guest debugger's line (core/gdbstub.c), on this TCP port.
GDB_PORT ?= 1234

BUILD    := build
CC       := gcc
HOSTCC   := gcc
LD       := ld
OBJCOPY  := objcopy
NM       := nm

# The hypervisor: freestanding C11, no SSE, no red zone (interrupts use the
# same stack), frame pointers kept for backtraces.
KCFLAGS  := -std=c11 -ffreestanding -fno-builtin -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	    -I. -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	    -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387 \
	    -mcmodel=small -fno-pic -fno-pie -fstack-protector-strong -mstack-protector-guard=global -fno-omit-frame-pointer \
	    -fno-asynchronous-unwind-tables -fno-strict-aliasing -fno-common \
	    -ffunction-sections -MMD -MP
KASFLAGS := -I. -D__ASSEMBLY__ -MMD -MP
KLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld

# Every source file in the hypervisor's folders is part of it.
KDIRS    := boot arch/x86 arch/x86/svm arch/x86/vmx core devices mm drivers virtio guest-loader kernel lib
KSRCS    := $(foreach d,$(KDIRS),$(wildcard $(d)/*.c) $(wildcard $(d)/*.S))
KOBJS    := $(patsubst %,$(BUILD)/k/%.o,$(KSRCS))

.PHONY: all run test test-build test-long unit bench clean deps iso
all: $(BUILD)/kasane.elf $(BUILD)/kasane.iso

$(BUILD)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(KASFLAGS) -c $< -o $@

# Two-pass link: the symbol table for backtraces is generated from the first
# link and placed in the last section, so no code address moves.
$(BUILD)/kasane.stage1.elf: $(KOBJS) linker.ld $(BUILD)/k/empty-ksyms.o
	$(LD) $(KLDFLAGS) -o $@ $(KOBJS) $(BUILD)/k/empty-ksyms.o

$(BUILD)/k/empty-ksyms.o: tools/gen-ksyms.sh
	@mkdir -p $(dir $@)
	sh tools/gen-ksyms.sh /dev/null > $(BUILD)/k/empty-ksyms.S
	$(CC) $(KASFLAGS) -c $(BUILD)/k/empty-ksyms.S -o $@

$(BUILD)/k/ksyms.o: $(BUILD)/kasane.stage1.elf tools/gen-ksyms.sh
	$(NM) -n --defined-only $< > $(BUILD)/k/stage1.nm
	sh tools/gen-ksyms.sh $(BUILD)/k/stage1.nm > $(BUILD)/k/ksyms.S
	$(CC) $(KASFLAGS) -c $(BUILD)/k/ksyms.S -o $@

$(BUILD)/kasane.elf: $(BUILD)/kasane.stage1.elf $(BUILD)/k/ksyms.o tools/check-image.sh
	$(LD) $(KLDFLAGS) -o $@ $(KOBJS) $(BUILD)/k/ksyms.o
	sh tools/check-image.sh $(BUILD)/kasane.stage1.elf $@

-include $(shell find $(BUILD)/k -name '*.d' 2>/dev/null)

# ---- host unit tests -------------------------------------------------------
# Each test/unit/NAME.mk adds NAME to UNIT_TESTS and sets UNIT_SRCS_NAME to
# the hypervisor sources it tests; test/unit/test_NAME.c holds the cases.
UNIT_TESTS :=
include $(wildcard test/unit/*.mk)
UNIT_CFLAGS := -std=c11 -I. -O1 -g -Wall -Wextra -Wno-unused-parameter -Wno-unused-function \
	       -fsanitize=address,undefined -fno-sanitize-recover=undefined -DHOST_TEST
UNIT_BINS := $(patsubst %,$(BUILD)/unit/%,$(UNIT_TESTS))

.SECONDEXPANSION:
$(BUILD)/unit/%: test/unit/test_%.c test/unit/check.h $$(UNIT_SRCS_$$*) $(wildcard */*.h */*/*.h */*/*/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_SRCS_$*)

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

# ---- test guests (built with the host toolchain, freestanding) ------------------
include test/guests/guests.mk

# ---- ISO, run, test ----------------------------------------------------------
deps:
	@sh tools/install-deps.sh

# The ISO that `make run` boots: kasane, the demo config and its guests.
# The Debian VM's kernel and initramfs come from Debian's packages at build
# time (tools/linux-guest.sh, cached in build/linux; never committed).
DEMO_GUESTS := hello64 smp lapic-timer hello32
$(BUILD)/kasane.iso: $(BUILD)/kasane.elf iso/grub.cfg.in iso/demo.cfg tools/mkiso.sh \
		$(patsubst %,$(BUILD)/guests/%.elf,$(DEMO_GUESTS)) build/linux/vmlinuz
	sh tools/mkiso.sh $@ "$(CMDLINE)" iso/demo.cfg:/boot/kasane.cfg \
		$(foreach g,$(DEMO_GUESTS),$(BUILD)/guests/$(g).elf:/guests/$(g).elf) \
		build/linux/vmlinuz:/linux/vmlinuz build/linux/initrd.img:/linux/initrd.img

iso: $(BUILD)/kasane.iso

# Exits 0 only if every VM ended with status 0 (tools/run-qemu.sh).
run: deps
	$(MAKE) all
	FIRMWARE=$(FIRMWARE) sh tools/run-qemu.sh $(RUN_ISO) $(SMP) $(MEM) -serial mon:stdio \
		-serial tcp:127.0.0.1:$(GDB_PORT),server=on,wait=off $(QEMU_EXTRA)

# Everything the tests need, built.
test-build: all $(UNIT_BINS) $(GUEST_ELFS)

test: deps
	$(MAKE) test-build
	bash test/run-tests.sh

# The suite, then planted bugs it must catch (test/mutants/README.md).
test-long: test
	KASANE_LONG=1 bash test/run-tests.sh 'linux/clock*'
	KASANE_EMULATOR=bochs-vmx bash test/run-tests.sh 'guest/*' 'config/*' 'smp/*' 'events/*'
	bash test/run-tests.sh 'long/*'
	bash test/mutants/run.sh
	KASANE_SOAK_SECS=$(SOAK_SECS) bash test/run-tests.sh soak

bench: deps
	$(MAKE) all $(GUEST_ELFS)
	bash test/run-bench.sh

clean:
	rm -rf $(BUILD)

# ---- fuzzers (test/fuzz/fuzz.mk) -------------------------------------------
include test/fuzz/fuzz.mk
