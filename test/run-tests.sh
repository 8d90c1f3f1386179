#!/bin/bash
# kasane's test runner: host unit tests, then QEMU boot tests of the ISO.
# Prints one line per test and ends with "N passed, N failed"; exits
# non-zero on any failure.  Every QEMU run has a timeout, is killed (with
# its whole process group) when it hangs, and counts as failed then.
# Usage: test/run-tests.sh [NAME-GLOB]   (only tests whose name matches)
set -u
cd "$(dirname "$0")/.."
. tools/qemu-accel.sh
OUT=build/test
mkdir -p "$OUT"
FILTER=${1:-*}
passed=0 failed=0
failures=()

result() {      # result NAME ok|fail [detail]
	if [ "$2" = ok ]; then
		passed=$((passed + 1))
		printf 'PASS  %s\n' "$1"
	else
		failed=$((failed + 1))
		failures+=("$1")
		printf 'FAIL  %s%s\n' "$1" "${3:+: $3}"
	fi
}

want() { [[ $1 == $FILTER ]]; }

# ---- host unit tests: one result per test case ----------------------------
for bin in build/unit/*; do
	[ -x "$bin" ] || continue
	name=unit/$(basename "$bin")
	want "$name" || continue
	log=$OUT/$(basename "$bin").log
	timeout -k 5 120 "$bin" >"$log" 2>&1
	rc=$?
	while read -r tag case; do
		case $tag in
		ok) result "unit/$case" ok ;;
		FAIL) result "unit/$case" fail "see $log" ;;
		esac
	done <"$log"
	# A crash (sanitizer, signal) or a mismatch between cases and status.
	if [ $rc -ne 0 ] && ! grep -q '^FAIL' "$log"; then
		result "$name" fail "exit status $rc, see $log"
	fi
done

# ---- QEMU ------------------------------------------------------------------
# run_qemu LOG TIMEOUT ARGS...: boots, serial output to LOG; sets QEMU_RC
# (124 = timed out and killed).
run_qemu() {
	local log=$1 t=$2; shift 2
	rm -f "$log"
	# setsid: QEMU gets its own process group, so a hang is killed whole.
	setsid timeout -k 5 "$t" qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none \
		-no-reboot -serial "file:$log" -monitor none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" </dev/null >"$log.qemu" 2>&1
	QEMU_RC=$?
	[ -f "$log" ] && sed -i 's/\r$//' "$log"
}

ISO_CACHE=$OUT/iso
mkdir -p "$ISO_CACHE"
# iso NAME CMDLINE [MODULES...]: builds (once) an ISO with that command line.
iso() {
	local name=$1 cmdline=$2; shift 2
	local f=$ISO_CACHE/$name.iso
	if [ ! -f "$f" ] || [ build/kasane.elf -nt "$f" ]; then
		sh tools/mkiso.sh "$f" "$cmdline" "$@" || return 1
	fi
	echo "$f"
}

# expect LOG PATTERN...: every extended regex must match some line.
expect() {
	local log=$1; shift
	for p in "$@"; do
		if ! grep -qE -- "$p" "$log"; then
			echo "missing: $p"
			return 1
		fi
	done
	return 0
}

# boot_test NAME EXIT TIMEOUT "CMDLINE" "QEMU ARGS" PATTERN...
# EXIT is the expected QEMU status: 1 = kasane wrote 0, 3 = wrote 1, 7 = panic.
boot_test() {
	local name=$1 exp=$2 t=$3 cmdline=$4 qargs=$5; shift 5
	want "$name" || return 0
	local isof log=$OUT/$name.log
	isof=$(iso "$name" "$cmdline") || { result "$name" fail "ISO build failed"; return; }
	run_qemu "$log" "$t" -cdrom "$isof" -boot d $qargs
	if [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then
		result "$name" fail "timed out after ${t}s and was killed, see $log"
		return
	fi
	local why
	if [ "$QEMU_RC" != "$exp" ]; then
		result "$name" fail "QEMU exit $QEMU_RC, expected $exp, see $log"
		return
	fi
	if ! why=$(expect "$log" "$@"); then
		result "$name" fail "$why, see $log"
		return
	fi
	result "$name" ok
}

CPUS_OK='kasane: CPU [0-9]+ online \(APIC id [0-9]+'
boot_test boot-smp1 1 60 "loglevel=info" "-smp 1 -m 256M" \
	'kasane 0\.[0-9]+\.[0-9]+' 'memory map' 'MiB free' "$CPUS_OK" '^kasane: 1 CPUs online'
boot_test boot-smp4 1 60 "loglevel=info" "-smp 4 -m 256M" \
	'APIC id 3' '^kasane: 4 CPUs online'
boot_test boot-smp8 1 90 "loglevel=info" "-smp 8 -m 256M" \
	'APIC id 7' '^kasane: 8 CPUs online'
boot_test mem-128M 1 60 "" "-smp 2 -m 128M" \
	'kasane: 12[0-9] MiB RAM' '^kasane: 2 CPUs online'
boot_test mem-4G 1 60 "" "-smp 2 -m 4G" \
	'kasane: 40[0-9][0-9] MiB RAM' '0x000100000000-.*usable' '^kasane: 2 CPUs online'
boot_test smp-limit 1 60 "smp=2" "-smp 4 -m 256M" '^kasane: 2 CPUs online'
boot_test cmdline-unknown 1 60 "frobnicate=1 loglevel=loud" "-smp 1 -m 128M" \
	"unknown option 'frobnicate=1'" 'loglevel=loud' '^kasane: 1 CPUs online'
FAULT_DIAG=('EXCEPTION #PF page fault \(vector 14\) error 0x2 on CPU' 'RIP [0-9a-f]{16}'
	'RAX [0-9a-f]{16}  RBX' 'R15 [0-9a-f]{16}' 'CR2 0000000000000010' '^Backtrace:'
	'at [0-9a-f]{16} selftest_fault\+0x' 'all CPUs stopped')
boot_test fault-bsp 7 60 "selftest=fault-pf" "-smp 2 -m 128M" "${FAULT_DIAG[@]}" 'on CPU 0$'
boot_test fault-ap 7 60 "selftest=fault-ap" "-smp 4 -m 128M" "${FAULT_DIAG[@]}" 'on CPU 3$'
boot_test fault-ud 7 60 "selftest=fault-ud" "-smp 1 -m 128M" \
	'EXCEPTION #UD invalid opcode \(vector 6\)' 'CR2' 'selftest_fault\+0x' 'all CPUs stopped'

# Multiboot1 through QEMU's -kernel (the a.out kludge), the quick dev loop.
if want boot-multiboot1; then
	run_qemu $OUT/boot-multiboot1.log 60 -kernel build/kasane.elf -append "loglevel=info" -smp 2 -m 128M
	if [ "$QEMU_RC" = 1 ] && why=$(expect $OUT/boot-multiboot1.log '\(Multiboot1\)' '^kasane: 2 CPUs online'); then
		result boot-multiboot1 ok
	else
		result boot-multiboot1 fail "QEMU exit $QEMU_RC ${why:-}"
	fi
fi

# The harness itself: a QEMU that never ends (here: no bootable media, so
# the firmware waits forever) must be killed, counted as a timeout, and
# leave no process behind.
if want harness-timeout; then
	marker="kasane-hang-$$"
	run_qemu $OUT/harness-timeout.log 3 -name "$marker" -boot n -net none
	sleep 1
	if [ "$QEMU_RC" = 124 ] && ! pgrep -f "$marker" >/dev/null; then
		result harness-timeout ok
	else
		result harness-timeout fail "rc=$QEMU_RC, leftover: $(pgrep -f "$marker" | tr '\n' ' ')"
	fi
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
