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

# ---- Bochs: a second, independent SVM (AMD "ryzen" model, with NRIPS) ----
# run_bochs LOG ISO CPUS TIMEOUT: Bochs starts in its debugger; the rc file
# continues and quits.  It ignores SIGTERM, hence SIGINT (EMULATORS.md).
run_bochs() {
	local log=$1 isof=$2 cpus=$3 t=$4 dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/kasane-bochs.XXXXXX")
	cat >"$dir/bochsrc" <<-EOF
	megs: 512
	romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	display_library: term
	ata0-master: type=cdrom, path=$PWD/$isof, status=inserted
	boot: cdrom
	com1: enabled=1, mode=file, dev=$dir/serial.log
	cpu: model=ryzen, count=$cpus, ips=10000000, reset_on_triple_fault=0
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

# ---- event delivery: NMI blocking, interrupt shadows, faults in delivery --
# One guest checks each rule (test/guests/events.c); two more VMs end on
# purpose: a fault while delivering #DF, and an IDT in device memory.  The
# same ISO runs on QEMU's SVM and on Bochs's.
if want 'events/*'; then
	# QEMU: also the NMI that a faulting IRET unblocked arrives before the
	# #GP handler's first instruction (Bochs 2.7 holds the host interrupt
	# that makes it so while the guest's IF is 0).
	ev_cfg() {              # ev_cfg [qemu]: the VMs
		printf '[vm events]\nkernel = /guests/events.elf\nmemory = 16M\ncpus = 2\n'
		[ "${1:-}" ] && printf 'cmdline = nmi_at_entry=1\n'
		echo
		[ "${1:-}" ] && guest_cfg events-triple events.elf 16M mode=triple
		guest_cfg events-mmio events.elf 16M mode=mmio-idt
	}
	ev_cfg qemu >"$OUT/events.cfg"
	EV_CHECKS=(
		'nmi-if0|self NMI with IF=0: 1 NMI\(s\), 0 nested'
		'nmi-held-until-iret|self NMI sent inside the NMI handler: 2 NMI\(s\), 0 nested'
		'nmi-merged|two self NMIs sent inside the NMI handler: 2 NMI\(s\), 0 nested'
		'nmi-other-cpu|NMI from the other CPU inside the NMI handler: 2 NMI\(s\), 0 nested'
		'nmi-lint1|NMI button \(LINT1\), and again inside the handler: 2 NMI\(s\), 0 nested'
		'nmi-lint1-masked|NMI button with LINT1 masked: 0 NMI\(s\)'
		'nmi-ioapic|I/O APIC pin [0-9]+ in NMI mode, and again inside the handler: 2 NMI\(s\), 0 nested'
		'nmi-faulting-iret|IRET that faults: #GP\(0x1230\) x1; NMIs 2, nested 0; the 2nd came after the IRET yes, inside the #GP handler yes'
		'sti-hlt|STI; HLT with an interrupt pending: 1 interrupt\(s\) taken in it'
		'sti-shadow-emulated|STI; ICR write: the IPI came after 0 more'
		'movss-shadow-emulated|MOV SS; ICR write: the IPI came after 0 more'
		'movss-shadow-timer|MOV SS loop under .* on the instruction after it 0,'
		'movss-shadow-nmi|MOV SS loop under NMIs from the other CPU: [0-9]+ NMIs, in the loop [0-9]+, on the instruction after MOV SS 0$'
		'np-absent-gate|interrupt 0x54 through a not-present gate: #NP x1, error code 0x(2a|54)[23] .*gate present again yes, in service yes'
		'df-during-pf|#PF with its gate absent: #DF x1, error code 0x0$'
	)
	ev_check_all() {        # ev_check_all PREFIX [qemu]: one result per check, from GROUP_LOG
		local c
		for c in "${EV_CHECKS[@]}"; do
			guest_check "events/$1${c%%|*}" "^\[events\] events: ${c#*|}"
		done
		mapfile -t p < <(passes events); guest_check "events/${1}all" "${p[@]}"
		[ "${2:-}" ] && guest_check "events/${1}nmi-faulting-iret-before-handler" \
			'^\[events\] events: IRET that faults: .*\(NMIs there: 2 at entry'
		[ "${2:-}" ] && guest_check "events/${1}triple-fault" \
			'^\[events-triple\] events: #PF, #DF and their gates absent: about to triple-fault' \
			"^kasane: VM 'events-triple' ended: triple fault"
		guest_check "events/${1}delivery-into-mmio" \
			"^kasane: VM 'events-mmio' ended: .*delivering exception vector 6 touched guest-physical 0x0*febf0060, which is not RAM"
	}
	group_run events 2 256M 120 "$OUT/events.cfg" $G/events.elf:/guests/events.elf
	ev_check_all "" qemu
	# Bochs 2.7 stops the whole emulation when an SVM guest triple-faults
	# (a panic, not the shutdown intercept): no events-triple there.
	ev_cfg >"$OUT/events-bochs.cfg"
	GROUP_LOG=$OUT/events-bochs.log
	if sh tools/mkiso.sh "$ISO_CACHE/events-bochs.iso" "loglevel=info" \
		"$OUT/events-bochs.cfg:/boot/kasane.cfg" $G/events.elf:/guests/events.elf; then
		run_bochs "$GROUP_LOG" "$ISO_CACHE/events-bochs.iso" 2 240
	else
		QEMU_RC=iso
	fi
	ev_check_all bochs-
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
