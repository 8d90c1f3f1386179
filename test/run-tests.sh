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
	local exitdev="-device isa-debug-exit,iobase=0xf4,iosize=0x04"
	[ "${NO_EXIT_DEVICE:-}" ] && exitdev=""
	setsid timeout -k 5 "$t" qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none \
		-no-reboot -serial "file:$log" -monitor none $exitdev "$@" </dev/null >"$log.qemu" 2>&1
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
# No ACPI tables at all: a clear message and a one-CPU boot, not a crash.
boot_test boot-no-acpi 1 60 "" "-smp 2 -m 128M -M pc -no-acpi" \
	'^acpi: no RSDP \(no Multiboot2 ACPI tag, none in the BIOS areas\); booting one CPU' \
	'^kasane: 1 CPUs online'
boot_test cmdline-unknown 1 60 "frobnicate=1 loglevel=loud" "-smp 1 -m 128M" \
	"unknown option 'frobnicate=1'" 'loglevel=loud' '^kasane: 1 CPUs online'
FAULT_DIAG=('EXCEPTION #PF page fault \(vector 14\) error 0x2 on CPU' 'RIP [0-9a-f]{16}'
	'RAX [0-9a-f]{16}  RBX' 'R15 [0-9a-f]{16}' 'CR2 0000000000000010' '^Backtrace:'
	'at [0-9a-f]{16} selftest_fault\+0x' 'all CPUs stopped')
boot_test fault-bsp 7 60 "selftest=fault-pf" "-smp 2 -m 128M" "${FAULT_DIAG[@]}" 'on CPU 0$'
boot_test fault-ap 7 60 "selftest=fault-ap" "-smp 4 -m 128M" "${FAULT_DIAG[@]}" 'on CPU 3$'
boot_test fault-ud 7 60 "selftest=fault-ud" "-smp 1 -m 128M" \
	'EXCEPTION #UD invalid opcode \(vector 6\)' 'CR2' 'selftest_fault\+0x' 'all CPUs stopped'

# Without QEMU's exit device, the end of the run is an ACPI power-off
# (FADT PM1a_CNT with \_S5's SLP_TYP), after which QEMU exits with 0.
if want shutdown-acpi; then
	isof=$(iso shutdown-acpi "onexit=poweroff")
	NO_EXIT_DEVICE=1 run_qemu $OUT/shutdown-acpi.log 60 -cdrom "$isof" -boot d -smp 2 -m 128M
	if [ "$QEMU_RC" = 0 ] && why=$(expect $OUT/shutdown-acpi.log '^kasane: all VMs ended, status 0$') &&
	   ! grep -q 'power-off failed' $OUT/shutdown-acpi.log; then
		result shutdown-acpi ok
	else
		result shutdown-acpi fail "QEMU exit $QEMU_RC ${why:-}, see $OUT/shutdown-acpi.log"
	fi
fi

# Multiboot1 through QEMU's -kernel (the a.out kludge), the quick dev loop.
if want boot-multiboot1; then
	run_qemu $OUT/boot-multiboot1.log 60 -kernel build/kasane.elf -append "loglevel=info" -smp 2 -m 128M
	if [ "$QEMU_RC" = 1 ] && why=$(expect $OUT/boot-multiboot1.log '\(Multiboot1\)' '^kasane: 2 CPUs online'); then
		result boot-multiboot1 ok
	else
		result boot-multiboot1 fail "QEMU exit $QEMU_RC ${why:-}"
	fi
fi

# ---- guests: each test guest runs as a VM, several at once ----------------
G=build/guests
# group_run NAME SMP MEM TIMEOUT CFGFILE [FILE:PATH ...]: boots an ISO with the
# config as /boot/kasane.cfg plus the given modules; sets GROUP_LOG, QEMU_RC.
group_run() {
	local name=$1 smp=$2 mem=$3 t=$4 cfg=$5; shift 5
	GROUP_LOG=$OUT/$name.log
	local isof=$ISO_CACHE/$name.iso
	if ! sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" "$@"; then
		QEMU_RC=iso
		return
	fi
	run_qemu "$GROUP_LOG" "$t" -cdrom "$isof" -boot d -smp "$smp" -m "$mem"
}

# guest_check TEST PATTERN...: one result from the last group's log.
guest_check() {
	local name=$1; shift
	local why
	if [ "$QEMU_RC" = iso ]; then
		result "$name" fail "ISO build failed"
	elif [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then
		result "$name" fail "timed out, see $GROUP_LOG"
	elif ! why=$(expect "$GROUP_LOG" "$@"); then
		result "$name" fail "$why, see $GROUP_LOG"
	else
		result "$name" ok
	fi
}

# A guest that passes: its own SUCCESS line, and an orderly end with status 0.
passes() {
	echo "^\[$1\] TEST $1: SUCCESS"
	echo "^kasane: VM '$1' ended: (wrote the exit port|exit hypercall) .*; status 0;"
}

guest_cfg() {    # guest_cfg NAME FILE MEM [CMDLINE]: one config section
	printf '[vm %s]\nkernel = /guests/%s\nmemory = %s\n' "$1" "$2" "$3"
	[ -n "${4:-}" ] && printf 'cmdline = %s\n' "$4"
	echo
}

if want 'guest/*' || want 'config/*'; then
	if true; then
		cfg=$OUT/group1.cfg
		{ guest_cfg hello32 hello32.elf 16M; guest_cfg hello64 hello64.elf 16M
		  guest_cfg cpuid cpuid.elf 16M; guest_cfg portio portio.elf 16M; } >"$cfg"
		group_run guests1 4 512M 120 "$cfg" $G/hello32.elf:/guests/hello32.elf \
			$G/hello64.elf:/guests/hello64.elf $G/cpuid.elf:/guests/cpuid.elf \
			$G/portio.elf:/guests/portio.elf
		mapfile -t p < <(passes hello32); guest_check guest/hello32 "${p[@]}" \
			"VM 'hello32': multiboot1 kernel"
		mapfile -t p < <(passes hello64); guest_check guest/hello64 "${p[@]}" \
			"VM 'hello64': elf64 kernel"
		mapfile -t p < <(passes cpuid); guest_check guest/cpuid "${p[@]}"
		mapfile -t p < <(passes portio); guest_check guest/portio "${p[@]}" \
			'^\[portio\] portio: rep outsb ok$'
		guest_check guest/concurrent "^kasane: VM 'hello32'.* on CPU [0-3]$" \
			"^kasane: VM 'portio'.* on CPU [0-3]$" '^kasane: all VMs ended, status 0$'

		cfg=$OUT/group2.cfg
		{ guest_cfg mmio mmio.elf 16M; guest_cfg memory memory.elf 24M
		  guest_cfg exceptions exceptions.elf 16M; guest_cfg hypercall hypercall.elf 16M; } >"$cfg"
		group_run guests2 4 512M 180 "$cfg" $G/mmio.elf:/guests/mmio.elf \
			$G/memory.elf:/guests/memory.elf $G/exceptions.elf:/guests/exceptions.elf \
			$G/hypercall.elf:/guests/hypercall.elf
		mapfile -t p < <(passes mmio); guest_check guest/mmio "${p[@]}" "VM 'mmio' ended: .*exits: .*mmio [0-9]+"
		guest_check guest/memory '^\[memory\] memory: [0-9]+ pages ok' \
			'^\[memory\] memory: touching beyond RAM at 0x' \
			"^kasane: VM 'memory' ended: memory access out of range \(read of .* at guest-physical 0x0*1800000|^kasane: VM 'memory' ended: memory access out of range \(read at guest-physical 0x1800000"
		mapfile -t p < <(passes exceptions); guest_check guest/exceptions "${p[@]}"
		guest_check guest/hypercall '^\[hypercall\] TEST hypercall: SUCCESS' \
			'^\[hypercall\] hypercall: console write ok' \
			"^kasane: VM 'hypercall' ended: exit hypercall .*; status 0;"

		cfg=$OUT/group3.cfg
		{ guest_cfg fwcfg fwcfg.elf 32M "expect_cpus=1 expect_mem=32M"
		  printf '[vm mbmod]\nkernel = /guests/mbmod.elf\nmemory = 16M\ncmdline = test magic=42 end\nmodule = /guests/module.txt payload\n\n'
		  guest_cfg triple triple.elf 16M; guest_cfg hello32-aout hello32-aout.bin 16M; } >"$cfg"
		group_run guests3 4 512M 120 "$cfg" $G/fwcfg.elf:/guests/fwcfg.elf \
			$G/mbmod.elf:/guests/mbmod.elf test/guests/module.txt:/guests/module.txt \
			$G/triple.elf:/guests/triple.elf $G/hello32-aout.bin:/guests/hello32-aout.bin
		mapfile -t p < <(passes fwcfg); guest_check guest/fwcfg "${p[@]}"
		mapfile -t p < <(passes mbmod); guest_check guest/mbmod "${p[@]}"
		mapfile -t p < <(passes hello32-aout); guest_check guest/hello32-aout "${p[@]}" \
			"VM 'hello32-aout': multiboot1-aout kernel"
		guest_check guest/triple-fault-alone '^\[triple\] triple: about to triple-fault' \
			"^kasane: VM 'triple' ended: triple fault .*status -1" \
			'^\[fwcfg\] TEST fwcfg: SUCCESS' '^kasane: all VMs ended, status 1$'

		# Bad configuration: each mistake is reported with file and line,
		# and the valid VMs (from the file and from a module line) still run.
		cfg=$OUT/badcfg.cfg
		cat >"$cfg" <<-'CFG'
		[vm hello64]
		kernel = /guests/hello64.elf
		memory = 16M

		[vm typo]
		kernel = /guests/hello64.elf
		memroy = 16M

		[vm noimage]
		kernel = /guests/missing.elf
		memory = 16M

		[vm huge]
		kernel = /guests/hello64.elf
		memory = 64G

		[vm nocpu]
		kernel = /guests/hello64.elf
		memory = 16M
		cpu = 9

		[vm first]
		kernel = /guests/hello32.elf
		memory = 16M
		cpu = 2
		exclusive = yes

		[vm second]
		kernel = /guests/hello64.elf
		memory = 16M
		cpu = 2

		[vm notkernel]
		kernel = /guests/module.txt
		memory = 16M
		CFG
		group_run badcfg 4 512M 120 "$cfg" $G/hello64.elf:/guests/hello64.elf \
			$G/hello32.elf:/guests/hello32.elf test/guests/module.txt:/guests/module.txt \
			"$G/hello64.elf:/guests/mod64.elf name=modline mem=16M"
		guest_check config/errors \
			"^kasane: /boot/kasane.cfg:7: unknown key 'memroy' \(expected " \
			"^kasane: /boot/kasane.cfg:9: VM 'noimage'.*missing.elf" \
			"^kasane: /boot/kasane.cfg:13: VM 'huge'.*needs 65536 MiB" \
			"^kasane: /boot/kasane.cfg:17: VM 'nocpu'.*cpu 9 does not exist \(CPUs online: 0-3\)" \
			"^kasane: /boot/kasane.cfg:28: VM 'second': cpu 2 is exclusive to VM 'first'" \
			"^kasane: VM 'notkernel' \(/boot/kasane.cfg:33\) not started: .*not a loadable kernel"
		mapfile -t p < <(passes hello64); guest_check config/valid-vms-still-run "${p[@]}" \
			'^\[first\] TEST hello32: SUCCESS'
		guest_check config/module-line-vm "^kasane: VM 'modline': elf64 kernel" \
			'^\[modline\] TEST hello64: SUCCESS' "^kasane: VM 'modline' ended: .*status 0;"
	fi
fi

# ---- interrupts, timers, guest SMP and the scheduler ------------------------
if want 'intr/*'; then
	cfg=$OUT/intr.cfg
	{ guest_cfg lapic-timer lapic-timer.elf 16M; guest_cfg pit-ioapic pit-ioapic.elf 16M
	  guest_cfg pit-pic pit-pic.elf 16M; guest_cfg rtc rtc.elf 16M; } >"$cfg"
	group_run intr 4 512M 180 "$cfg" $G/lapic-timer.elf:/guests/lapic-timer.elf \
		$G/pit-ioapic.elf:/guests/pit-ioapic.elf $G/pit-pic.elf:/guests/pit-pic.elf \
		$G/rtc.elf:/guests/rtc.elf
	for t in lapic-timer pit-ioapic pit-pic rtc; do
		mapfile -t p < <(passes $t); guest_check intr/$t "${p[@]}"
	done
fi

if want 'smp/*'; then
	# An 8-vCPU guest on 4 CPUs (more vCPUs than CPUs), and IPIs.
	cfg=$OUT/smp.cfg
	{ printf '[vm smp]\nkernel = /guests/smp.elf\nmemory = 32M\ncpus = 8\ncmdline = expect_cpus=8\n\n'
	  printf '[vm ipi]\nkernel = /guests/ipi.elf\nmemory = 16M\ncpus = 4\n\n'
	  printf '[vm smp16]\nkernel = /guests/smp.elf\nmemory = 32M\ncpus = 16\ncmdline = expect_cpus=16\n\n'; } >"$cfg"
	group_run smp 4 512M 240 "$cfg" $G/smp.elf:/guests/smp.elf $G/ipi.elf:/guests/ipi.elf
	mapfile -t p < <(passes smp); guest_check smp/8-vcpus-on-4-cpus "${p[@]}"
	mapfile -t p < <(passes ipi); guest_check smp/ipi "${p[@]}"
	guest_check smp/16-vcpus '^\[smp16\] TEST smp: SUCCESS' "^kasane: VM 'smp16' ended: .*status 0;"
fi

if want 'sched/*'; then
	# 16 VMs on 4 CPUs all finish.
	cfg=$OUT/sched16.cfg
	for i in $(seq 1 16); do guest_cfg busy$i busy.elf 8M "iters=150000000"; done >"$cfg"
	group_run sched16 4 512M 300 "$cfg" $G/busy.elf:/guests/busy.elf
	pats=()
	for i in $(seq 1 16); do pats+=("^kasane: VM 'busy$i' ended: wrote the exit port .*status 0;"); done
	guest_check sched/16-vms-on-4-cpus "${pats[@]}" '^kasane: all VMs ended, status 0$'

	# An idle VM (HLT between timer interrupts) uses almost no CPU time by
	# the scheduler's own accounting, while a busy VM shares its CPU.
	cfg=$OUT/idle.cfg
	{ printf '[vm idle]\nkernel = /guests/idle.elf\nmemory = 16M\ncpu = 1\n\n'
	  printf '[vm busy]\nkernel = /guests/busy.elf\nmemory = 16M\ncpu = 1\ncmdline = iters=1500000000\n\n'; } >"$cfg"
	group_run idle 2 256M 180 "$cfg" $G/idle.elf:/guests/idle.elf $G/busy.elf:/guests/busy.elf
	mapfile -t p < <(passes idle)
	guest_check sched/idle-uses-no-cpu "${p[@]}" "^kasane: VM 'busy' ended: .*status 0;"
	# By the scheduler's own accounting: run time under 15 % of its life
	# (what it uses is calibrating its clock and taking its 100 ticks).
	{
		share=$(sed -n "s/^kasane: VM 'idle' ended: .*ran \([0-9]*\)\.\([0-9]*\) s;.*vcpu0 cpus 0x[0-9a-f]* run \([0-9]*\) ms.*/\1\2 \3/p" "$GROUP_LOG")
		read -r life run <<<"$share"
		if [ -n "${life:-}" ] && [ "$life" -gt 500 ] && [ $((run * 100)) -lt $((life * 15)) ]; then
			result sched/idle-cpu-share ok
		else
			result sched/idle-cpu-share fail "idle VM: life ${life:-?} ms, ran ${run:-?} ms, see $GROUP_LOG"
		fi
	}

	# Weights: two equal jobs share CPU 1; the weight-300 VM gets about 3/4
	# of it, so it finishes first and waits less than half as long.
	cfg=$OUT/weight.cfg
	{ printf '[vm heavy]\nkernel = /guests/busy.elf\nmemory = 8M\ncpu = 1\nweight = 300\ncmdline = iters=800000000\n\n'
	  printf '[vm light]\nkernel = /guests/busy.elf\nmemory = 8M\ncpu = 1\nweight = 100\ncmdline = iters=800000000\n\n'; } >"$cfg"
	group_run weight 2 256M 180 "$cfg" $G/busy.elf:/guests/busy.elf
	waits=$(sed -n "s/^kasane: VM '\(heavy\|light\)' ended: .*status 0;.* wait \([0-9]*\) ms$/\1 \2/p" "$GROUP_LOG" | tr '\n' ' ')
	read -r first wfirst second wsecond <<<"$waits"
	if [ "${first:-}" = heavy ] && [ "${second:-}" = light ] && [ $((wfirst * 2)) -lt "$wsecond" ]; then
		result sched/weights ok
	else
		result sched/weights fail "end order and waits: ${waits:-none}, see $GROUP_LOG"
	fi

	# FPU/SSE state is per vCPU: two VMs time-share CPU 1, each checking
	# its XMM registers across preemptions.
	cfg=$OUT/fpu.cfg
	{ guest_cfg fpua fpu.elf 8M "rounds=30"; guest_cfg fpub fpu.elf 8M "rounds=30"; } |
		sed 's/^memory = 8M$/memory = 8M\ncpu = 1/' >"$cfg"
	group_run fpu 2 256M 180 "$cfg" $G/fpu.elf:/guests/fpu.elf
	guest_check sched/fpu-state-per-vcpu '^\[fpua\] TEST fpu: SUCCESS' '^\[fpub\] TEST fpu: SUCCESS' \
		"^kasane: VM 'fpua' ended: .*vcpu0 cpus 0x2 run" "^kasane: VM 'fpub' ended: .*vcpu0 cpus 0x2 run"

	# Load balancing: short VMs pinned to CPU 3 end early; CPU 3, now idle,
	# takes waiting vCPUs of the long VMs (CPU set 1-3) from CPUs 1 and 2.
	cfg=$OUT/balance.cfg
	{ for i in 1 2; do printf '[vm short%d]\nkernel = /guests/busy.elf\nmemory = 8M\ncpu = 3\ncmdline = iters=50000000\n\n' $i; done
	  for i in 1 2 3 4; do printf '[vm long%d]\nkernel = /guests/busy.elf\nmemory = 8M\naffinity = 1-3\ncmdline = iters=900000000\n\n' $i; done
	} >"$cfg"
	group_run balance 4 512M 180 "$cfg" $G/busy.elf:/guests/busy.elf
	guest_check sched/load-balancing "^kasane: VM 'long[1-4]' ended: .*status 0;.*vcpu0 cpus 0x[9a-f] run" \
		'^kasane: all VMs ended, status 0$'

	# Exclusive pinning: the pinned vCPU runs only on CPU 3, nothing else does.
	cfg=$OUT/pin.cfg
	{ printf '[vm scanner]\nkernel = /guests/busy.elf\nmemory = 16M\ncpu = 3\nexclusive = yes\ncmdline = iters=600000000\n\n'
	  for i in 1 2 3 4 5 6; do
		printf '[vm noisy%d]\nkernel = /guests/busy.elf\nmemory = 8M\ncmdline = iters=200000000\n\n' $i
	  done; } >"$cfg"
	group_run pin 4 512M 240 "$cfg" $G/busy.elf:/guests/busy.elf
	pats=("^kasane: VM 'scanner' ended: wrote the exit port .*status 0;.*vcpu0 cpus 0x8 run")
	for i in 1 2 3 4 5 6; do
		pats+=("^kasane: VM 'noisy$i' ended: wrote the exit port .*status 0;.*vcpu0 cpus 0x[0-7] run")
	done
	guest_check sched/exclusive-pinning "${pats[@]}"
fi

# The console shows the scheduler's view on a key press ('s' on COM1).
if want 'console/*'; then
	cfg=$OUT/view.cfg
	{ printf '[vm viewa]\nkernel = /guests/busy.elf\nmemory = 8M\nweight = 300\ncmdline = iters=3000000000\n\n'
	  printf '[vm viewb]\nkernel = /guests/idle.elf\nmemory = 8M\n\n'; } >"$cfg"
	log=$OUT/view.log
	isof=$ISO_CACHE/view.iso
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" \
		$G/busy.elf:/guests/busy.elf $G/idle.elf:/guests/idle.elf; then
		# Type 's' once the VMs are running (their first lines are out).
		( for i in $(seq 1 200); do
			grep -q "VM 'viewb': elf64" "$log" 2>/dev/null && break; sleep 0.1
		  done; sleep 1; printf s ) |
		setsid timeout -k 5 120 qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none \
			-no-reboot -monitor none -serial stdio -smp 2 -m 256M \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$isof" -boot d >"$log" 2>&1
		QEMU_RC=$?
		sed -i 's/\r$//' "$log"
	else
		QEMU_RC=iso
	fi
	GROUP_LOG=$log
	guest_check console/scheduler-view '^kasane: scheduler \(2 CPUs, housekeeping on CPU 0\)' \
		'^  CPU [01]: [0-9]+ vCPUs, [0-9]+ waiting, idle [0-9]+ ms' \
		"^  VM 'viewa' \(weight 300\):" \
		'^    vCPU 0 on CPU [01]: (running|runnable) +run [0-9]+ ms, wait [0-9]+ ms, [0-9]+ exits'
fi

# ---- UEFI: the same ISO on OVMF; make run's exit status; firmware quirks ----
# run_ovmf LOG TIMEOUT ARGS...: run_qemu with OVMF (Debian's ovmf) as the
# firmware and a private copy of its variable store.  OVMF prints its own
# BdsDxe lines on the serial port before GRUB's.
OVMF_DIR=/usr/share/OVMF
run_ovmf() {
	local log=$1 t=$2 vars; shift 2
	vars=$(mktemp "${TMPDIR:-/tmp}/kasane-vars.XXXXXX")
	cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$vars"
	run_qemu "$log" "$t" -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_DIR/OVMF_CODE_4M.fd" \
		-drive "if=pflash,format=raw,unit=1,file=$vars" "$@"
	rm -f "$vars"
}

# The one ISO holds a BIOS and an EFI El Torito boot image; the EFI one is a
# FAT image with the removable-media loader /EFI/BOOT/BOOTX64.EFI.
if want uefi/iso-bios-and-efi; then
	rep=$(xorriso -indev build/kasane.iso -report_el_torito plain 2>/dev/null)
	tmpd=$(mktemp -d "${TMPDIR:-/tmp}/kasane-efiimg.XXXXXX")
	xorriso -osirrox on -indev build/kasane.iso -extract /efi.img "$tmpd/efi.img" >/dev/null 2>&1
	if grep -qE '^El Torito boot img : +[0-9]+ +BIOS ' <<<"$rep" &&
	   grep -qE '^El Torito boot img : +[0-9]+ +UEFI ' <<<"$rep" &&
	   grep -qE '^El Torito img path : +[0-9]+ +/efi.img$' <<<"$rep" &&
	   mdir -i "$tmpd/efi.img" ::/EFI/BOOT 2>/dev/null | grep -qi 'BOOTX64 *EFI'; then
		result uefi/iso-bios-and-efi ok
	else
		result uefi/iso-bios-and-efi fail "build/kasane.iso lacks a BIOS or an EFI boot image: $(grep 'boot img' <<<"$rep" | tr -s ' ' | tr '\n' ';')"
	fi
	rm -rf "$tmpd"
fi

# Under OVMF, 4 CPUs and 4 GiB (2 GiB of it above 4 GiB): the firmware, the
# memory map and the RSDP are named, every CPU comes up, and guests run;
# VM 'high' (2040 MiB in one block) fits only in the RAM above 4 GiB.
if want 'uefi/*'; then
	cfg=$OUT/uefi.cfg
	{ guest_cfg hello64 hello64.elf 16M; guest_cfg hello32 hello32.elf 16M
	  printf '[vm smp]\nkernel = /guests/smp.elf\nmemory = 32M\ncpus = 2\ncmdline = expect_cpus=2\n\n'
	  printf '[vm high]\nkernel = /guests/hello64.elf\nmemory = 2040M\n\n'; } >"$cfg"
	GROUP_LOG=$OUT/uefi.log
	isof=$ISO_CACHE/uefi.iso
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" \
		$G/hello64.elf:/guests/hello64.elf $G/hello32.elf:/guests/hello32.elf $G/smp.elf:/guests/smp.elf; then
		run_ovmf "$GROUP_LOG" 180 -cdrom "$isof" -boot d -smp 4 -m 4G
	else
		QEMU_RC=iso
	fi
	guest_check uefi/firmware-named '^kasane: firmware: UEFI \(EFI system table at 0x[0-9a-f]+\)$' \
		'^kasane: memory map \(Multiboot2\), from the EFI memory map tag \(Multiboot2 type 17\):$' \
		'^acpi: RSDP from the Multiboot2 ACPI 2\.0\+ \(type 15\) tag$'
	guest_check uefi/smp4 "$CPUS_OK" 'APIC id 3' '^kasane: 4 CPUs online$'
	guest_check uefi/mem-4G '^  \[0x000100000000-0x00017fffffff\] usable$' \
		'^kasane: 40[0-9][0-9] MiB RAM, (39[0-9][0-9]|40[0-9][0-9]) MiB free' \
		"^kasane: VM 'high': elf64 kernel .*2040 MiB RAM" '^\[high\] TEST hello64: SUCCESS'
	for t in hello64 hello32 smp; do
		mapfile -t p < <(passes $t); guest_check uefi/$t "${p[@]}"
	done
	if [ "$QEMU_RC" = 1 ]; then
		result uefi/end-status ok
	else
		result uefi/end-status fail "QEMU exit $QEMU_RC, expected 1 (every VM status 0), see $GROUP_LOG"
	fi
fi

# make run boots with tools/run-qemu.sh and exits 0 only if every VM ended
# with status 0: a passing VM under OVMF, a failing one under SeaBIOS, and
# a hypervisor panic (the script's own status 2).
if want 'run/*'; then
	{ guest_cfg hello64 hello64.elf 16M; } >"$OUT/run-pass.cfg"
	{ guest_cfg hello64 hello64.elf 16M; guest_cfg triple triple.elf 16M; } >"$OUT/run-fail.cfg"
	sh tools/mkiso.sh "$ISO_CACHE/run-pass.iso" "loglevel=info" "$OUT/run-pass.cfg:/boot/kasane.cfg" \
		$G/hello64.elf:/guests/hello64.elf
	sh tools/mkiso.sh "$ISO_CACHE/run-fail.iso" "loglevel=info" "$OUT/run-fail.cfg:/boot/kasane.cfg" \
		$G/hello64.elf:/guests/hello64.elf $G/triple.elf:/guests/triple.elf
	sh tools/mkiso.sh "$ISO_CACHE/run-panic.iso" "loglevel=info selftest=fault-pf"
	# run_make NAME ARGS...: make run, its output in $OUT/NAME.log; sets RUN_RC.
	run_make() {
		local name=$1; shift
		setsid timeout -k 5 180 make -s --no-print-directory run SMP=2 MEM=256M "$@" \
			</dev/null >"$OUT/$name.log" 2>&1
		RUN_RC=$?
		sed -i 's/\r$//' "$OUT/$name.log"
	}
	if want run/uefi-pass-exits-0; then
		run_make run-uefi-pass FIRMWARE=uefi RUN_ISO="$ISO_CACHE/run-pass.iso"
		if [ "$RUN_RC" = 0 ] && grep -q '^BdsDxe: ' "$OUT/run-uefi-pass.log" &&
		   grep -q '^\[hello64\] TEST hello64: SUCCESS' "$OUT/run-uefi-pass.log"; then
			result run/uefi-pass-exits-0 ok
		else
			result run/uefi-pass-exits-0 fail "make run exit $RUN_RC, see $OUT/run-uefi-pass.log"
		fi
	fi
	if want run/bios-fail-exits-nonzero; then
		run_make run-bios-fail RUN_ISO="$ISO_CACHE/run-fail.iso"
		if [ "$RUN_RC" != 0 ] && [ "$RUN_RC" != 124 ] &&
		   grep -q '^kasane: all VMs ended, status 1$' "$OUT/run-bios-fail.log" &&
		   grep -q '^run-qemu: a VM ended with a non-zero status' "$OUT/run-bios-fail.log"; then
			result run/bios-fail-exits-nonzero ok
		else
			result run/bios-fail-exits-nonzero fail "make run exit $RUN_RC, see $OUT/run-bios-fail.log"
		fi
	fi
	if want run/panic-exits-2; then
		setsid timeout -k 5 120 sh tools/run-qemu.sh "$ISO_CACHE/run-panic.iso" 2 128M \
			</dev/null >"$OUT/run-panic.log" 2>&1
		rc=$?
		if [ "$rc" = 2 ] && grep -q 'run-qemu: kasane panicked' "$OUT/run-panic.log"; then
			result run/panic-exits-2 ok
		else
			result run/panic-exits-2 fail "run-qemu.sh exit $rc, expected 2, see $OUT/run-panic.log"
		fi
	fi
fi

# No COM1 (as on many UEFI machines): kasane says so on COM2 when there is
# one, and with no COM port at all still runs its VMs to the end (QEMU's
# exit status 1 = kasane wrote 0).
if want 'console/no-com*'; then
	isof=$(iso no-com "loglevel=info")
	for kind in com2 none; do
		want console/no-com1-$kind || continue
		log=$OUT/no-com1-$kind.log
		extra=()
		[ $kind = com2 ] && extra=(-chardev "file,id=com2,path=$log" -device isa-serial,chardev=com2,iobase=0x2f8,irq=3)
		rm -f "$log"
		setsid timeout -k 5 60 qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none -no-reboot \
			-monitor none -serial none "${extra[@]}" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			-cdrom "$isof" -boot d -smp 2 -m 128M </dev/null >"$OUT/no-com1-$kind.qemu" 2>&1
		rc=$?
		[ -f "$log" ] && sed -i 's/\r//g' "$log"
		if [ "$rc" != 1 ]; then
			result console/no-com1-$kind fail "QEMU exit $rc, expected 1 (kasane wrote 0)"
		elif [ $kind = com2 ] && ! grep -q '^kasane: no UART at COM1 (port 0x3f8); the console is off$' "$log"; then
			result console/no-com1-$kind fail "no 'no UART at COM1' line on COM2, see $log"
		else
			result console/no-com1-$kind ok
		fi
	done
fi

# Little free memory below 1 MiB (GRUB's cutmem leaves 7 pages): the page
# where the other CPUs start is taken before anything else allocates.
if want smp/low-memory-scarce; then
	isof=$ISO_CACHE/lowmem.iso
	GRUB_PRE="cutmem 0x1000 0x98000" sh tools/mkiso.sh "$isof" "loglevel=info"
	run_qemu $OUT/lowmem.log 60 -cdrom "$isof" -boot d -smp 4 -m 256M
	if [ "$QEMU_RC" = 1 ] && why=$(expect $OUT/lowmem.log '^  \[0x000000098000-0x00000009[0-9a-f]{4}\] usable$' \
		'^smp: other CPUs start at 0x9[89a-f]000$' '^kasane: 4 CPUs online$'); then
		result smp/low-memory-scarce ok
	else
		result smp/low-memory-scarce fail "QEMU exit $QEMU_RC ${why:-}, see $OUT/lowmem.log"
	fi
fi

# ---- Bochs: a second, independent SVM (AMD "ryzen" model, with NRIPS) ----
# run_bochs LOG ISO CPUS TIMEOUT [MODEL]: Bochs starts in its debugger; the rc
# file continues and quits.  It ignores SIGTERM, hence SIGINT (EMULATORS.md).
# MODEL: ryzen (AMD SVM, the default) or corei7_skylake_x (Intel VMX).
run_bochs() {
	local log=$1 isof=$2 cpus=$3 t=$4 model=${5:-ryzen} dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/kasane-bochs.XXXXXX")
	cat >"$dir/bochsrc" <<-EOF
	megs: 512
	romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	display_library: term
	ata0-master: type=cdrom, path=$PWD/$isof, status=inserted
	boot: cdrom
	com1: enabled=1, mode=file, dev=$dir/serial.log
	cpu: model=$model, count=$cpus, ips=10000000, reset_on_triple_fault=0
	magic_break: enabled=1
	sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
	speaker: enabled=0
	log: $dir/bochs.log
	EOF
	printf 'c\nquit\n' >"$dir/rc"
	(cd "$dir" && setsid timeout -s INT -k 10 "$t" bochs -q -f bochsrc -rc rc </dev/null >/dev/null 2>&1)
	QEMU_RC=$?
	tr -d '\r' <"$dir/serial.log" >"$log" 2>/dev/null
	cp "$dir/bochs.log" "$log.bochs" 2>/dev/null
	rm -rf "$dir"
}

if want 'bochs/*'; then
	cfg=$OUT/bochs.cfg
	{ guest_cfg hello64 hello64.elf 16M; guest_cfg hello32 hello32.elf 16M
	  guest_cfg cpuid cpuid.elf 16M; guest_cfg mmio mmio.elf 16M
	  guest_cfg exceptions exceptions.elf 16M; guest_cfg hypercall hypercall.elf 16M
	  printf '[vm smp]\nkernel = /guests/smp.elf\nmemory = 32M\ncpus = 2\ncmdline = expect_cpus=2\n\n'; } >"$cfg"
	isof=$ISO_CACHE/bochs.iso
	GROUP_LOG=$OUT/bochs.log
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" \
		$G/hello64.elf:/guests/hello64.elf $G/hello32.elf:/guests/hello32.elf \
		$G/cpuid.elf:/guests/cpuid.elf $G/mmio.elf:/guests/mmio.elf \
		$G/exceptions.elf:/guests/exceptions.elf $G/hypercall.elf:/guests/hypercall.elf \
		$G/smp.elf:/guests/smp.elf; then
		run_bochs "$GROUP_LOG" "$isof" 2 300
	else
		QEMU_RC=iso
	fi
	guest_check bochs/svm-boot '^svm: AMD-V with nested paging, [0-9]+ ASIDs, next-RIP saving' \
		'^kasane: 2 CPUs online' '^kasane: all VMs ended, status 0$'
	# (Timer tests stay on QEMU: Bochs's TSC counts each CPU's instructions,
	# not time, so TSC-based timing in a guest does not hold there.)
	for t in hello64 hello32 cpuid mmio exceptions smp; do
		mapfile -t p < <(passes $t); guest_check bochs/$t "${p[@]}"
	done
	guest_check bochs/hypercall '^\[hypercall\] TEST hypercall: SUCCESS' \
		"^kasane: VM 'hypercall' ended: exit hypercall .*; status 0;"
fi

# ---- Bochs, Intel VT-x (VMX with EPT) ----------------------------------------
# The AMD group's ISO, unchanged, on Bochs's Intel model: kasane picks its
# back end by CPUID, so the same image runs the same guests under VMX.
# Then one ISO whose first VM's entry state is made invalid on purpose
# (selftest=bad-entry): that VM must end with the failed check named, and
# its neighbour must still finish.
if want 'bochs-vmx/*'; then
	isof=$ISO_CACHE/bochs.iso
	if [ ! -f "$isof" ] || [ build/kasane.elf -nt "$isof" ]; then
		cfg=$OUT/bochs.cfg
		{ guest_cfg hello64 hello64.elf 16M; guest_cfg hello32 hello32.elf 16M
		  guest_cfg cpuid cpuid.elf 16M; guest_cfg mmio mmio.elf 16M
		  guest_cfg exceptions exceptions.elf 16M; guest_cfg hypercall hypercall.elf 16M
		  printf '[vm smp]\nkernel = /guests/smp.elf\nmemory = 32M\ncpus = 2\ncmdline = expect_cpus=2\n\n'; } >"$cfg"
		sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" \
			$G/hello64.elf:/guests/hello64.elf $G/hello32.elf:/guests/hello32.elf \
			$G/cpuid.elf:/guests/cpuid.elf $G/mmio.elf:/guests/mmio.elf \
			$G/exceptions.elf:/guests/exceptions.elf $G/hypercall.elf:/guests/hypercall.elf \
			$G/smp.elf:/guests/smp.elf >/dev/null || isof=
	fi
	GROUP_LOG=$OUT/bochs-vmx.log
	if [ -n "$isof" ]; then run_bochs "$GROUP_LOG" "$isof" 2 300 corei7_skylake_x; else QEMU_RC=iso; fi
	guest_check bochs-vmx/vmx-boot '^kasane: virtualization: Intel VT-x \(VMX\)$' \
		'^vmx: Intel VT-x with EPT and unrestricted guest, VPID' \
		'^kasane: 2 CPUs online' '^kasane: all VMs ended, status 0$'
	for t in hello64 hello32 cpuid mmio exceptions smp; do
		mapfile -t p < <(passes $t); guest_check bochs-vmx/$t "${p[@]}"
	done
	guest_check bochs-vmx/hypercall '^\[hypercall\] TEST hypercall: SUCCESS' \
		"^kasane: VM 'hypercall' ended: exit hypercall .*; status 0;"
	# One ISO, both vendors: the AMD group booted this same file.
	if [ -f $OUT/bochs.log ] && [ ! "$isof" -nt $OUT/bochs.log ] &&
	   grep -q '^kasane: virtualization: AMD-V (SVM)$' $OUT/bochs.log &&
	   grep -q '^kasane: virtualization: Intel VT-x (VMX)$' "$GROUP_LOG"; then
		result bochs-vmx/one-iso-both-vendors ok
	elif want 'bochs/*'; then
		result bochs-vmx/one-iso-both-vendors fail "see $OUT/bochs.log and $GROUP_LOG"
	fi

	cfg=$OUT/bochs-bad-entry.cfg
	{ guest_cfg bad hello64.elf 16M; guest_cfg hello64 hello64.elf 16M; } >"$cfg"
	GROUP_LOG=$OUT/bochs-bad-entry.log
	if isof=$(iso bochs-bad-entry "loglevel=info selftest=bad-entry" "$cfg:/boot/kasane.cfg" \
			$G/hello64.elf:/guests/hello64.elf); then
		run_bochs "$GROUP_LOG" "$isof" 1 200 corei7_skylake_x
	else
		QEMU_RC=iso
	fi
	guest_check bochs-vmx/bad-entry \
		'^vmx: VM 0 vCPU 0: VM entry failed: invalid guest state: CS.L and CS.D/B both set' \
		"^kasane: VM 'bad' ended: .*refused vCPU 0's state \(exit code 0x80000021\)" \
		"^kasane: VM 'hello64' ended: .*; status 0;"
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
