# Fuzzers (test/fuzz/, README.md "Fuzzing"): one libFuzzer target per
# parser of guest- or user-controlled data.  Each test/fuzz/fuzz_NAME.c is
# built two ways from the same sources:
#   build/fuzz/NAME       clang, -fsanitize=fuzzer,address,undefined: `make fuzz`
#                         runs each for FUZZ_SECONDS on a scratch copy of its corpus;
#   build/unit/fuzz-NAME  gcc with the unit tests' flags and test/fuzz/replay.c:
#                         replays test/fuzz/corpus/NAME and test/fuzz/crashes/NAME
#                         as one result in `make test` (test/run-tests.sh runs
#                         every build/unit binary).
FUZZ_TARGETS := x86 config cmdline loader acpi bootinfo virtq gdb
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang

FUZZ_SRCS_x86      := arch/x86/decode.c arch/x86/emulate.c core/gpt.c mm/guest_mem.c
FUZZ_SRCS_config   := $(UNIT_SRCS_config)
FUZZ_SRCS_cmdline  := $(UNIT_SRCS_config)
# The unit test's loader sources plus every format file, so a format added
# to gl_formats[] (tried by probing) is fuzzed as soon as it is linked in.
FUZZ_SRCS_loader   := $(sort $(filter-out test/%,$(UNIT_SRCS_loader)) $(wildcard guest-loader/fmt_*.c))
FUZZ_SRCS_acpi     := drivers/acpi_boot.c drivers/acpi.c lib/printf.c
FUZZ_SRCS_bootinfo := boot/bootinfo.c
FUZZ_SRCS_virtq    := virtio/virtq.c mm/guest_mem.c lib/printf.c
FUZZ_SRCS_gdb      := core/gdb_proto.c

FUZZ_CFLAGS := -std=c11 -I. -O1 -g -Wall -Wextra -Wno-unused-parameter -Wno-unused-function \
	       -DHOST_TEST -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BINS   := $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))
FUZZ_REPLAY := $(patsubst %,$(BUILD)/unit/fuzz-%,$(FUZZ_TARGETS))
FUZZ_HDRS    = test/fuzz/fuzz.h $(wildcard */*.h */*/*.h)

.PHONY: fuzz fuzz-build
$(BUILD)/fuzz/%: test/fuzz/fuzz_%.c $$(FUZZ_SRCS_$$*) $$(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS_$*)

$(BUILD)/unit/fuzz-%: test/fuzz/fuzz_%.c test/fuzz/replay.c $$(FUZZ_SRCS_$$*) $$(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(UNIT_CFLAGS) -DFUZZ_NAME='"$*"' -o $@ $< test/fuzz/replay.c $(FUZZ_SRCS_$*)

test-build: $(FUZZ_REPLAY)

fuzz-build: $(FUZZ_BINS)

# New inputs go to build/fuzz/corpus/NAME (the committed corpus stays
# small; copy an input worth keeping into test/fuzz/corpus/NAME), crashes
# to build/fuzz/crash-NAME-*.  Stops at the first fuzzer that crashes.
fuzz: deps
	$(MAKE) fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		mkdir -p $(BUILD)/fuzz/corpus/$$t; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
			-artifact_prefix=$(BUILD)/fuzz/crash-$$t- $(BUILD)/fuzz/corpus/$$t \
			test/fuzz/corpus/$$t $$(test -d test/fuzz/crashes/$$t && echo test/fuzz/crashes/$$t) \
			2>$(BUILD)/fuzz/$$t.log || { tail -30 $(BUILD)/fuzz/$$t.log; exit 1; }; \
		grep -E '^#[0-9]+.*DONE' $(BUILD)/fuzz/$$t.log | tail -1; \
	done
