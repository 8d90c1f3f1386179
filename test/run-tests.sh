#!/bin/bash
# kasane's test runner: host unit tests, QEMU boot tests of the ISO, then
# the guest tests described by test/manifests/*.test (README there).
# Prints one line per test and ends with "N passed, N failed"; exits
# non-zero on any failure.  Every QEMU run has a timeout, is killed (with
# its whole process group) when it hangs, and counts as failed then; every
# run must end with the exit status and the summary line it expects.
# Usage: test/run-tests.sh [NAME-GLOB...]   (only tests whose name matches one)
set -u
cd "$(dirname "$0")/.."
. tools/qemu-accel.sh
OUT=${KASANE_TEST_OUT:-build/test}
mkdir -p "$OUT"
FILTERS=("$@")
[ $# -gt 0 ] || FILTERS=('*')
MANIFESTS=${MANIFESTS:-test/manifests}
passed=0 failed=0
failures=()
failed_logs=()
RERUNS=()

result() {      # result NAME ok|fail [detail]
	if [ "$2" = ok ]; then
		passed=$((passed + 1))
		printf 'PASS  %s\n' "$1"
	else
		failed=$((failed + 1))
		failures+=("$1")
		# The log a failure points at, for the excerpts at the end.
		[[ ${3:-} =~ see\ ([^ ,]+\.log) ]] && failed_logs+=("${BASH_REMATCH[1]}")
		printf 'FAIL  %s%s\n' "$1" "${3:+: $3}"
	fi
}

want() {
	local f
	for f in "${FILTERS[@]}"; do
		# long/*: minutes-long runs (Linux on Bochs), only when asked by name (make test-long).
		[[ $1 == long/* && $f != long/* ]] && continue
		[[ $1 == $f ]] && return 0
	done
	return 1
}

# ---- the Linux guest: Debian's kernel and busybox, fetched and cached ------
# (tools/linux-guest.sh).  A failed fetch fails here, and then every test
# that needs the files fails too: none is skipped.
if ! lg=$(bash tools/linux-guest.sh 2>&1); then
	result linux-guest fail "$lg"
fi

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
	# -d cpu_reset: a triple fault of kasane itself ends QEMU (-no-reboot)
	# with nothing on the serial port; QEMU then says so in LOG.qemu,
	# with every CPU's state.
	setsid timeout -k 5 "$t" qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none \
		-no-reboot -serial "file:$log" -monitor none $exitdev -d cpu_reset "$@" \
		</dev/null >"$log.qemu" 2>&1
	QEMU_RC=$?
	[ -f "$log" ] && sed -i 's/\r$//' "$log"
}

# ---- the host's clocks (tools/hostclock.c) ----------------------------------
# host_clock_look: each CPU's TSC beside CLOCK_MONOTONIC, and steal time.
# The rate of each CPU's TSC is taken once here, over half a second.
HOSTCLOCK=${HOSTCLOCK:-build/hostclock}
if [ "$HOSTCLOCK" = build/hostclock ] &&
   { [ ! -x "$HOSTCLOCK" ] || [ tools/hostclock.c -nt "$HOSTCLOCK" ]; }; then
	gcc -O2 -Wall -o "$HOSTCLOCK" tools/hostclock.c || result hostclock fail "cannot build $HOSTCLOCK"
fi
host_clock_look() { [ -x "$HOSTCLOCK" ] && "$HOSTCLOCK"; }
HOST_RATE=$OUT/host-rate
{ host_clock_look; sleep 0.5; host_clock_look; } >"$HOST_RATE"
# host_clock_verdict BEFORE AFTER: why the host's clocks cannot be trusted
# across a run (nothing if they can): a CPU's TSC moved more than 100 ms
# (and 0.1 %) away from what CLOCK_MONOTONIC says passed, at the rate it
# had when the runner started.
host_clock_verdict() {
	awk -v rate="$HOST_RATE" -v before="$1" -v after="$2" '
	function load(f, t, m,   c) {
		while ((getline line < f) > 0) {
			split(line, w, " ")
			if (w[1] == "cpu") {
				c = w[2]
				if (!(c in t)) { t[c] = w[4]; m[c] = w[6] } else { t2[f, c] = w[4]; m2[f, c] = w[6] }
			}
		}
		close(f)
	}
	BEGIN {
		load(rate, rt, rm); load(before, bt, bm); load(after, at, am)
		for (c in bt) {
			if (!(c in at) || !((rate, c) in t2)) continue
			khz = (t2[rate, c] - rt[c]) / ((m2[rate, c] - rm[c]) / 1e6)
			if (khz <= 0) continue
			mono = am[c] - bm[c]
			drift = (at[c] - bt[c]) / khz * 1e6 - mono
			lim = 1e8 + mono / 1000
			if (drift > lim || -drift > lim)
				why = sprintf("TSC on CPU %s moved %+.0f ms against CLOCK_MONOTONIC in %.1f s", c, drift / 1e6, mono / 1e9)
		}
		if (why != "") print why
	}'
}
host_clock_report() {   # host_clock_report BEFORE AFTER: one line for a log excerpt
	awk 'FNR == 1 { f++ } $1 == "cpu" && $2 == 0 { t[f] = $4; m[f] = $6 } $1 == "steal" { s[f] = $2 }
	END { if (m[2] > m[1]) printf "host: run %.1f s, steal %.1f s (all CPUs), CPU 0 TSC ran %.0f cycles\n",
		(m[2] - m[1]) / 1e9, (s[2] - s[1]) / 100, t[2] - t[1] }' "$1" "$2"
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

# The end of every run with VMs: isa-debug-exit turns kasane's 0 (every VM
# ended with status 0) into QEMU status 1 and its 1 into 3; a panic writes
# 3 (QEMU status 7) and prints no summary.
summary_line() { echo "^kasane: all VMs ended, status $1\$"; }
qemu_status() { echo $(($1 * 2 + 1)); }

# run_verdict LOG RC EXPECTED-RC SUMMARY-STATUS TIMEOUT: why the run as a
# whole failed (nothing if it did not).  EXPECTED-RC "any" skips the exit
# status (Bochs always exits 1: the summary line must say it).
run_verdict() {
	local log=$1 rc=$2 exp=$3 st=$4 t=$5
	if [ "$rc" = iso ]; then
		echo "ISO build failed"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "timed out after ${t}s and was killed, see $log"
	elif [ "$exp" != any ] && [ "$rc" != "$exp" ]; then
		echo "exit status $rc, expected $exp, see $log"
	elif [ "$st" != none ] && ! grep -qE -- "$(summary_line "$st")" "$log"; then
		echo "no summary line 'kasane: all VMs ended, status $st', see $log"
	fi
}

# boot_test NAME EXIT TIMEOUT "CMDLINE" "QEMU ARGS" PATTERN...
# EXIT is the expected QEMU status: 1 = kasane wrote 0, 3 = wrote 1, 7 = panic
# (1 and 3 also need the summary line).
boot_test() {
	local name=$1 exp=$2 t=$3 cmdline=$4 qargs=$5; shift 5
	want "$name" || return 0
	local isof log=$OUT/$name.log why st=none
	isof=$(iso "$name" "$cmdline") || { result "$name" fail "ISO build failed"; return; }
	run_qemu "$log" "$t" -cdrom "$isof" -boot d $qargs
	[ "$exp" = 1 ] && st=0
	[ "$exp" = 3 ] && st=1
	why=$(run_verdict "$log" "$QEMU_RC" "$exp" "$st" "$t")
	[ -z "$why" ] && ! why=$(expect "$log" "$@") && why="$why, see $log"
	if [ -n "$why" ]; then
		result "$name" fail "$why"
	else
		result "$name" ok
	fi
}

CPUS_OK='^kasane: CPU [0-9]+ online \(APIC id [0-9]+'
boot_test boot-smp1 1 60 "loglevel=info" "-smp 1 -m 256M" \
	'^kasane 0\.[0-9]+\.[0-9]+' '^kasane: memory map' 'MiB free' "$CPUS_OK" '^kasane: 1 CPUs online$'
boot_test boot-smp4 1 60 "loglevel=info" "-smp 4 -m 256M" \
	'^kasane: CPU 3 online \(APIC id 3' '^kasane: 4 CPUs online$'
boot_test boot-smp8 1 90 "loglevel=info" "-smp 8 -m 256M" \
	'^kasane: CPU 7 online \(APIC id 7' '^kasane: 8 CPUs online$'
boot_test mem-128M 1 60 "" "-smp 2 -m 128M" \
	'^kasane: 12[0-9] MiB RAM' '^kasane: 2 CPUs online$'
boot_test mem-4G 1 60 "" "-smp 2 -m 4G" \
	'^kasane: 40[0-9][0-9] MiB RAM' '^  \[0x000100000000-.*\] usable$' '^kasane: 2 CPUs online$'
boot_test smp-limit 1 60 "smp=2" "-smp 4 -m 256M" '^kasane: 2 CPUs online$'
# No ACPI tables at all: a clear message and a one-CPU boot, not a crash.
boot_test boot-no-acpi 1 60 "" "-smp 2 -m 128M -M pc -no-acpi" \
	'^acpi: no RSDP \(no Multiboot2 ACPI tag, none in the BIOS areas\); booting one CPU$' \
	'^kasane: 1 CPUs online$'
boot_test cmdline-unknown 1 60 "frobnicate=1 loglevel=loud" "-smp 1 -m 128M" \
	"unknown option 'frobnicate=1'" 'loglevel=loud' '^kasane: 1 CPUs online$'
# A hypervisor exception: the whole diagnostic, then every CPU stops.
FAULT_REGS=('^  RIP [0-9a-f]{16}  CS 0008  RFLAGS [0-9a-f]{16}$'
	'^  RAX [0-9a-f]{16}  RBX [0-9a-f]{16}  RCX [0-9a-f]{16}$'
	'^  R13 [0-9a-f]{16}  R14 [0-9a-f]{16}  R15 [0-9a-f]{16}$'
	'^  CR3 [0-9a-f]{16}  CR4 [0-9a-f]{16}$' '^Backtrace:$'
	'^  at [0-9a-f]{16} selftest_fault\+0x[0-9a-f]+$' '^kasane: all CPUs stopped$')
FAULT_DIAG=("${FAULT_REGS[@]}" '^  CR0 [0-9a-f]{16}  CR2 0000000000000010$')
boot_test fault-bsp 7 60 "selftest=fault-pf" "-smp 2 -m 128M" "${FAULT_DIAG[@]}" \
	'^kasane: EXCEPTION #PF page fault \(vector 14\) error 0x2 on CPU 0$'
boot_test fault-ap 7 60 "selftest=fault-ap" "-smp 4 -m 128M" "${FAULT_DIAG[@]}" \
	'^kasane: EXCEPTION #PF page fault \(vector 14\) error 0x2 on CPU 3$'
boot_test fault-ud 7 60 "selftest=fault-ud" "-smp 1 -m 128M" "${FAULT_REGS[@]}" \
	'^kasane: EXCEPTION #UD invalid opcode \(vector 6\) error 0 on CPU 0$' \
	'^  CR0 [0-9a-f]{16}  CR2 [0-9a-f]{16}$'
# Hardening (issue 13): SMEP and SMAP on under -cpu max, a random stack
# canary, no writable and executable hypervisor page; a smashed stack is
# a panic that names the function.  The speculation line names each
# mitigation and why it is off (QEMU's TCG CPU has no speculation
# controls; arch/x86/spec.c).
boot_test hardening 1 60 "loglevel=info" "-smp 2 -m 128M" \
	'^kasane: speculation: IBPB on VM switch (on|off \(no IBPB\)), SPEC_CTRL per vCPU (on \(.*\)|off \(no SPEC_CTRL\)), RSB filled on every exit, VERW before entry (on|off \(.*\)), L1D flush before entry (on|off \(.*\)), IBPB on exit (on \(SRSO/Retbleed\)|off \(.*\))$' \
	'^kasane: hardening: SMEP on, SMAP on, stack protector canary from (RDSEED|RDRAND|TSC), W\^X: 0 writable and executable pages$'
boot_test stack-smash 7 60 "selftest=stack-smash" "-smp 1 -m 128M" \
	'^kasane: PANIC on CPU 0: stack smashed in harden_selftest_smash \(return address [0-9a-f]{16}\)$' \
	'^kasane: all CPUs stopped$'

# Without QEMU's exit device, the end of the run is an ACPI power-off
# (FADT PM1a_CNT with \_S5's SLP_TYP), after which QEMU exits with 0.
if want shutdown-acpi; then
	isof=$(iso shutdown-acpi "onexit=poweroff")
	NO_EXIT_DEVICE=1 run_qemu $OUT/shutdown-acpi.log 60 -cdrom "$isof" -boot d -smp 2 -m 128M
	why=$(run_verdict $OUT/shutdown-acpi.log "$QEMU_RC" 0 0 60)
	if [ -z "$why" ] && grep -q 'power-off failed' $OUT/shutdown-acpi.log; then
		why="power-off failed, see $OUT/shutdown-acpi.log"
	fi
	result shutdown-acpi "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# Multiboot1 through QEMU's -kernel (the a.out kludge), the quick dev loop.
if want boot-multiboot1; then
	log=$OUT/boot-multiboot1.log
	run_qemu $log 60 -kernel build/kasane.elf -append "loglevel=info" -smp 2 -m 128M
	why=$(run_verdict $log "$QEMU_RC" 1 0 60)
	[ -z "$why" ] && ! why=$(expect $log '\(Multiboot1\)' '^kasane: 2 CPUs online$') && why="$why, see $log"
	result boot-multiboot1 "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# ---- Bochs: a second, independent SVM (AMD "ryzen" model, with NRIPS) ----
# run_bochs LOG ISO CPUS MEM-MiB TIMEOUT [MODEL]: Bochs starts in its
# debugger; the rc file continues and quits.  It ignores SIGTERM, hence
# SIGINT.  Sets QEMU_RC: 124 if it timed out.  MODEL: ryzen (AMD SVM, the
# default) or corei7_skylake_x (Intel VMX with EPT).  BOCHS_COM1,
# BOCHS_COM2: bochsrc com1/com2 settings; BOCHS_SERIAL: the file COM1's
# output is in as it runs (LOG gets a copy without CRs at the end).
run_bochs() {
	local log=$1 isof=$2 cpus=$3 megs=$4 t=$5 model=${6:-ryzen} dir serial
	dir=$(mktemp -d "${TMPDIR:-/tmp}/kasane-bochs.XXXXXX")
	serial=${BOCHS_SERIAL:-$dir/serial.log}
	cat >"$dir/bochsrc" <<-EOF
	megs: $megs
	romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	display_library: term
	ata0-master: type=cdrom, path=$PWD/$isof, status=inserted
	boot: cdrom
	com1: ${BOCHS_COM1:-enabled=1, mode=file, dev=$serial}
	${BOCHS_COM2:+com2: $BOCHS_COM2}
	cpu: model=$model, count=$cpus, ips=10000000, reset_on_triple_fault=0
	magic_break: enabled=1
	sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
	speaker: enabled=0
	log: $dir/bochs.log
	EOF
	printf 'c\nquit\n' >"$dir/rc"
	(cd "$dir" && setsid timeout -s INT -k 10 "$t" bochs -q -f bochsrc -rc rc </dev/null >/dev/null 2>&1) &
	local bpid=$! drain=""
	# Its term display writes into a pty of its own that nobody reads; once
	# that is full (minutes into a Linux boot) Bochs blocks for good.  Read
	# the pty's other end (/dev/pts/N, N = the master's tty-index) away.
	local b p f idx
	for _ in $(seq 100); do
		b=""
		for p in $(pgrep -x bochs-bin); do      # ours runs in $dir
			[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$dir" ] && b=$p
		done
		for f in /proc/${b:-none}/fd/*; do
			[ "$(readlink "$f" 2>/dev/null)" = /dev/ptmx ] || continue
			idx=$(sed -n 's/^tty-index:\t*//p' "/proc/$b/fdinfo/${f##*/}")
			[ -n "$idx" ] && { cat "/dev/pts/$idx" >/dev/null 2>&1 & drain=$!; }
		done
		[ -n "$drain" ] && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.2
	done
	wait "$bpid"
	QEMU_RC=$?
	[ -n "$drain" ] && kill "$drain" 2>/dev/null
	tr -d '\r' <"$serial" >"$log" 2>/dev/null
	cp "$dir/bochs.log" "$log.bochs" 2>/dev/null
	rm -rf "$dir"
}

# A free TCP port for a serial port (several test runs may share the machine).
free_port() {
	local i p
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo $p; return; }
	done
	echo 0
}

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

# ---- guest tests: test/manifests/*.test ------------------------------------
# A manifest (format in test/manifests/README.md) names its group, gives
# the [vm] sections of kasane's config and the [test] sections that judge
# the group's log.  One boot per group runs every VM of its manifests.
declare -a GROUP_LIST=() T_NAME=() T_GROUP=() T_CHECKS=()
declare -A G_CFG=() G_FILES=() G_MODS=() G_CPUS=() G_MEM=() G_TIMEOUT=() G_EMU=() G_STATUS=() G_VMS=()
declare -A G_HVCMD=() G_SAMEISO=()
MANIFEST_ERRORS=()

mib() {         # mib SIZE: a K/M/G size in MiB (rounded down)
	local n=${1%[KkMmGg]}
	case $1 in
	*[Gg]) echo $((n * 1024)) ;;
	*[Kk]) echo $((n / 1024)) ;;
	*) echo "$n" ;;
	esac
}

# A guest file named in a [vm] section: /guests/NAME comes from build/guests
# or test/guests; a name found in neither stays out of the ISO (a test of a
# missing image).
guest_file() {
	# /linux/NAME: the Linux guest's files (tools/linux-guest.sh).
	if [ "${1#/linux/}" != "$1" ]; then
		[ -f "build/linux/${1#/linux/}" ] && echo "build/linux/${1#/linux/}"
		return
	fi
	local base=${1#/guests/}
	[ "$base" != "$1" ] || return 1
	if [ -f "build/guests/$base" ]; then echo "build/guests/$base"
	elif [ -f "test/guests/$base" ]; then echo "test/guests/$base"
	else return 1
	fi
}

manifest_error() { MANIFEST_ERRORS+=("$1: $2"); }

# manifest_read FILE: adds its VMs to its group and its tests to T_*.
manifest_read() {
	local f=$1 line key val section="" group="" n=0 lineno=0
	local cpus=4 mem=512M timeout=120 emu=qemu status=0 cfg="" mods=() files=() vms="" t=-1
	local hvcmd="" sameiso=""
	local re_kv='^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.*)$'
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		if [[ $line =~ ^\[vm[[:space:]]+([^]]+)\] ]]; then
			section=vm
			vms+=" ${BASH_REMATCH[1]}"
			cfg+="$line"$'\n'
			continue
		fi
		if [[ $line =~ ^\[test[[:space:]]+([^]]+)\] ]]; then
			section=test
			t=${#T_NAME[@]}
			T_NAME[t]=${BASH_REMATCH[1]}
			T_CHECKS[t]=""
			n=$((n + 1))
			continue
		fi
		if [ "$section" = vm ]; then
			# Verbatim: kasane parses it (and reports its mistakes by line).
			cfg+="$line"$'\n'
			if [[ $line =~ ^[[:space:]]*(kernel|module|initrd|disk)[[:space:]]*=[[:space:]]*([^[:space:]]+) ]]; then
				val=$(guest_file "${BASH_REMATCH[2]}") && files+=("$val:${BASH_REMATCH[2]}")
			fi
			continue
		fi
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		if ! [[ $line =~ $re_kv ]]; then
			manifest_error "$f:$lineno" "not 'key = value': $line"
			continue
		fi
		key=${BASH_REMATCH[1]}
		val=${BASH_REMATCH[2]%"${BASH_REMATCH[2]##*[![:space:]]}"}
		if [ "$section" = test ]; then
			case $key in
			passes|expect|reject|check) T_CHECKS[t]+="$key $val"$'\n' ;;
			*) manifest_error "$f:$lineno" "unknown test key '$key'" ;;
			esac
			continue
		fi
		case $key in
		group) group=$val ;;
		host_cpus) cpus=$val ;;
		host_mem) mem=$val ;;
		timeout) timeout=$val ;;
		emulator) emu=$val ;;
		status) status=$val ;;
		hv_cmdline) hvcmd=$val ;;
		same_iso_as) sameiso=$val ;;
		long) ;;        # read by the loop below
		boot_module)    # boot_module = FILE ISO-PATH [ARGS]: a module of its own
			local file=${val%% *} rest=${val#* }
			local src
			src=$(guest_file "/guests/$file") || { manifest_error "$f:$lineno" "no file '$file'"; continue; }
			mods+=("$src:$rest") ;;
		*) manifest_error "$f:$lineno" "unknown key '$key'" ;;
		esac
	done <"$f"
	if [ -z "$group" ]; then
		manifest_error "$f" "no 'group ='"
		return
	fi
	[ "$n" -gt 0 ] || manifest_error "$f" "no [test NAME] section"
	for ((i = ${#T_NAME[@]} - n; i < ${#T_NAME[@]}; i++)); do T_GROUP[i]=$group; done
	if [ -z "${G_EMU[$group]:-}" ]; then
		GROUP_LIST+=("$group")
		G_EMU[$group]=$emu G_CPUS[$group]=0 G_MEM[$group]=0 G_TIMEOUT[$group]=0 G_STATUS[$group]=0
		G_CFG[$group]="" G_FILES[$group]="" G_MODS[$group]="" G_VMS[$group]=""
	elif [ "${G_EMU[$group]}" != "$emu" ]; then
		manifest_error "$f" "group '$group' runs on ${G_EMU[$group]}, this manifest says $emu"
	fi
	for v in $vms; do
		[[ " ${G_VMS[$group]} " == *" $v "* ]] && manifest_error "$f" "VM '$v' twice in group '$group'"
	done
	[ -n "$hvcmd" ] && G_HVCMD[$group]=$hvcmd
	[ -n "$sameiso" ] && G_SAMEISO[$group]=$sameiso
	G_VMS[$group]+="$vms"
	# The group's machine fits its largest member, and waits for its slowest.
	[ "$cpus" -gt "${G_CPUS[$group]}" ] && G_CPUS[$group]=$cpus
	[ "$(mib "$mem")" -gt "${G_MEM[$group]}" ] && G_MEM[$group]=$(mib "$mem")
	[ "$timeout" -gt "${G_TIMEOUT[$group]}" ] && G_TIMEOUT[$group]=$timeout
	[ "$status" -gt "${G_STATUS[$group]}" ] && G_STATUS[$group]=$status
	G_CFG[$group]+="$cfg"$'\n'
	for x in "${files[@]}"; do
		[[ $'\n'"${G_FILES[$group]}" == *$'\n'"$x"$'\n'* ]] || G_FILES[$group]+="$x"$'\n'
	done
	for x in "${mods[@]}"; do G_MODS[$group]+="$x"$'\n'; done
}

# Lines of the log in order: "N:text" for grep -n based checks.
first_line() { grep -nE -- "$2" "$1" | head -1 | cut -d: -f1; }
last_line() { grep -nE -- "$2" "$1" | tail -1 | cut -d: -f1; }

# check_overlap LOG VM...: all the VMs ran at one time: each one's first
# output line comes before every one's last (run one after another, the
# first VM's last line would precede the next VM's first).
check_overlap() {
	local log=$1; shift
	local v a b max_first=0 min_last=999999999 fv="" lv=""
	for v in "$@"; do
		a=$(first_line "$log" "^\[$v\] ")
		b=$(last_line "$log" "^\[$v\] ")
		[ -n "$a" ] || { echo "no output from VM '$v'"; return 1; }
		[ "$a" -gt "$max_first" ] && max_first=$a fv=$v
		[ "$b" -lt "$min_last" ] && min_last=$b lv=$v
	done
	if [ "$max_first" -ge "$min_last" ]; then
		echo "no overlap: '$lv' printed its last line (line $min_last) before '$fv' its first (line $max_first)"
		return 1
	fi
}

# ended_field LOG VM SED-EXPR: a figure from the VM's "ended" line.
ended_line() { grep -E "^kasane: VM '$2' ended: " "$1" | head -1; }

# check_cpu_share LOG VM PERCENT MIN-LIFE-MS: by the scheduler's own
# accounting, vCPU 0 ran less than PERCENT of the VM's life, which lasted
# at least MIN-LIFE-MS.
check_cpu_share() {
	local log=$1 vm=$2 pct=$3 minlife=$4 l life run
	l=$(ended_line "$log" "$vm")
	life=$(sed -n 's/.*; ran \([0-9]*\)\.\([0-9]*\) s;.*/\1\2/p' <<<"$l")
	run=$(sed -n 's/.*vcpu0 cpus 0x[0-9a-f]* run \([0-9]*\) ms.*/\1/p' <<<"$l")
	life=$((10#${life:-0}))
	if [ -z "$run" ] || [ "$life" -lt "$minlife" ] || [ $((run * 100)) -ge $((life * pct)) ]; then
		echo "VM '$vm': life ${life} ms (at least $minlife wanted), ran ${run:-?} ms (under $pct % wanted)"
		return 1
	fi
}

# check_weights LOG HEAVY LIGHT RATIO: two VMs time-share one CPU for the
# whole of HEAVY's life (LIGHT ends after it).  By the scheduler's own
# accounting, HEAVY ran at least RATIO times as long as it waited (while it
# waited, LIGHT ran): with weights 300:100 it should run 3 ms for each
# 1 ms it waits.  Both figures come from one clock, so this holds at any
# speed of the machine.
check_weights() {
	local log=$1 heavy=$2 light=$3 ratio=$4 lh ll run wait
	lh=$(last_line "$log" "^kasane: VM '$heavy' ended: ")
	ll=$(last_line "$log" "^kasane: VM '$light' ended: ")
	if [ -z "$lh" ] || [ -z "$ll" ] || [ "$lh" -gt "$ll" ]; then
		echo "VM '$heavy' should end before VM '$light' (lines ${lh:-none}, ${ll:-none})"
		return 1
	fi
	read -r run wait < <(ended_line "$log" "$heavy" |
		sed -n 's/.*vcpu0 cpus 0x[0-9a-f]* run \([0-9]*\) ms wait \([0-9]*\) ms.*/\1 \2/p')
	if [ -z "${run:-}" ] || [ "$run" -lt $((wait * ratio)) ]; then
		echo "VM '$heavy' ran ${run:-?} ms and waited ${wait:-?} ms: less than $ratio:1"
		return 1
	fi
}

# check_ends_before LOG FIRST SECOND: VM FIRST ended before VM SECOND (a
# neighbour finished while the hostile VM beside it still ran).
check_ends_before() {
	local l1 l2
	l1=$(last_line "$1" "^kasane: VM '$2' ended: ")
	l2=$(last_line "$1" "^kasane: VM '$3' ended: ")
	if [ -z "$l1" ] || [ -z "$l2" ] || [ "$l1" -gt "$l2" ]; then
		echo "VM '$2' should end before VM '$3' (lines ${l1:-none}, ${l2:-none})"
		return 1
	fi
}

# check_quiet LOG VM MAX: VM's vCPU 0 was interrupted by the host (exits
# 'intr') at most MAX times per second it ran, by the scheduler's own
# clock.  A busy host can only make such interruptions rarer, never more
# frequent: they come from deadlines in real time (another vCPU's timers,
# slice ends) and from kicks.
check_quiet() {
	local n run
	n=$(ended_line "$1" "$2" | sed -n 's/.*exits: .*intr \([0-9]*\)[,;].*/\1/p')
	run=$(ended_line "$1" "$2" | sed -n 's/.*vcpu0 cpus 0x[0-9a-f]* run \([0-9]*\) ms.*/\1/p')
	if [ -z "$run" ] || [ "$run" -eq 0 ]; then
		echo "VM '$2': no run time in its end line"
		return 1
	fi
	if [ $(( ${n:-0} * 1000 )) -gt $(( $3 * run )) ]; then
		echo "VM '$2' was interrupted ${n:-0} times in $run ms of running: more than $3 per second"
		return 1
	fi
}

# check_tsc_khz LOG VM: the TSC frequency Linux in VM took (its "tsc:
# Detected" line) is kasane's own measurement, to 1 kHz: kvmclock's scale
# (core/pvclock.c) hands it over intact.  (A kernel that measured it
# against the HPET can come as close; the manifest's kvm-clock lines tell
# the two apart.)
check_tsc_khz() {
	local host guest
	host=$(sed -n 's/^kasane: TSC \([0-9]*\)\.\([0-9]\{3\}\) MHz$/\1\2/p' "$1" | head -1)
	guest=$(sed -n "s/^\[$2\] \[ *[0-9.]*\] tsc: Detected \([0-9]*\)\.\([0-9]\{3\}\) MHz processor\$/\1\2/p" "$1" | head -1)
	if [ -z "$host" ] || [ -z "$guest" ]; then
		echo "VM '$2': no TSC frequency to compare (kasane: '${host:-none}' kHz, guest: '${guest:-none}' kHz)"
		return 1
	fi
	local d=$(( 10#$host - 10#$guest ))
	if [ ${d#-} -gt 1 ]; then
		echo "VM '$2' took its TSC as $guest kHz, kasane measured $host kHz"
		return 1
	fi
}

# check_same_iso LOG GROUP PATTERN: LOG's run booted GROUP's ISO file, and
# GROUP's own log (from a run of that same file) has PATTERN.
check_same_iso() {
	local log=$1 other=$2 pat=$3 olog=$OUT/$2.log oiso=$ISO_CACHE/$2.iso
	if [ ! -f "$olog" ] || [ "$oiso" -nt "$olog" ] || ! grep -qE -- "$pat" "$olog"; then
		echo "group '$other' did not boot $oiso to '$pat' (see $olog)"
		return 1
	fi
	[ "$oiso" -nt "$log" ] && { echo "$oiso changed after this run"; return 1; }
	return 0
}

# test_verdict LOG CHECKS: why a test's checks fail on LOG (nothing if they pass).
test_verdict() {
	local log=$1 kind arg vm guest
	while read -r kind arg; do
		[ -n "$kind" ] || continue
		case $kind in
		passes)
			read -r vm guest <<<"$arg"
			# Its own SUCCESS line, and an orderly end with status 0.
			expect "$log" "^\[$vm\] TEST ${guest:-$vm}: SUCCESS\$" \
				"^kasane: VM '$vm' ended: (wrote the exit port|exit hypercall) .*; status 0;" || return ;;
		expect)
			expect "$log" "$arg" || return ;;
		reject)
			if grep -qE -- "$arg" "$log"; then
				echo "unwanted: $(grep -m1 -E -- "$arg" "$log")"
				return
			fi ;;
		check)
			local fn=${arg%% *} args=${arg#* }
			[ "$args" = "$arg" ] && args=""
			case $fn in
			overlap|cpu-share|weights|same-iso|ends-before|quiet|tsc-khz) "check_${fn//-/_}" "$log" $args || return ;;
			*) echo "unknown check '$fn'"; return ;;
			esac ;;
		esac
	done <<<"$2"
}

# group_boot: boots run_group's ISO on the group's emulator (run_group's
# locals: g, log, isof, t, ok); sets QEMU_RC.
group_boot() {
	if ! $ok; then
		QEMU_RC=iso
	elif [ "${G_EMU[$g]}" = bochs ]; then
		run_bochs "$log" "$isof" "${G_CPUS[$g]}" "${G_MEM[$g]}" "$t"
	elif [ "${G_EMU[$g]}" = bochs-vmx ]; then
		run_bochs "$log" "$isof" "${G_CPUS[$g]}" "${G_MEM[$g]}" "$t" corei7_skylake_x
	elif [[ ${G_EMU[$g]} == bochs:* ]]; then      # emulator = bochs:MODEL, any Bochs CPU model
		run_bochs "$log" "$isof" "${G_CPUS[$g]}" "${G_MEM[$g]}" "$t" "${G_EMU[$g]#bochs:}"
	elif [[ ${G_EMU[$g]} == qemu:* ]]; then       # emulator = qemu:CPU, a TCG CPU model of its own
		QEMU_ACCEL="-accel tcg,thread=multi -cpu ${G_EMU[$g]#qemu:}" \
			run_qemu "$log" "$t" -cdrom "$isof" -boot d -smp "${G_CPUS[$g]}" -m "${G_MEM[$g]}M"
	elif [ "${G_EMU[$g]}" = ovmf ]; then
		run_ovmf "$log" "$t" -cdrom "$isof" -boot d -smp "${G_CPUS[$g]}" -m "${G_MEM[$g]}M"
	else
		run_qemu "$log" "$t" -cdrom "$isof" -boot d -smp "${G_CPUS[$g]}" -m "${G_MEM[$g]}M"
	fi
}

# run_group GROUP: boots it (unless none of its tests is wanted) and judges its tests.
run_group() {
	local g=$1 i any=false
	for i in "${!T_NAME[@]}"; do
		[ "${T_GROUP[i]}" = "$g" ] && want "${T_NAME[i]}" && any=true
	done
	$any || return 0
	local cfg=$OUT/$g.cfg log=$OUT/$g.log isof=$ISO_CACHE/$g.iso t=${G_TIMEOUT[$g]}
	local st=${G_STATUS[$g]} isoargs=() x src=$g ok=true
	# same_iso_as: boot the very ISO another group built (or build it the
	# same way if that group did not run).
	[ -n "${G_SAMEISO[$g]:-}" ] && src=${G_SAMEISO[$g]} && isof=$ISO_CACHE/$src.iso
	if [ "$src" = "$g" ] || [ ! -f "$isof" ] || [ build/kasane.elf -nt "$isof" ]; then
		printf '%s' "${G_CFG[$src]}" >"$OUT/$src.cfg"
		isoargs=("$OUT/$src.cfg:/boot/kasane.cfg")
		while IFS= read -r x; do [ -n "$x" ] && isoargs+=("$x"); done <<<"${G_FILES[$src]}${G_MODS[$src]}"
		sh tools/mkiso.sh "$isof" "loglevel=info ${G_HVCMD[$src]:-}" "${isoargs[@]}" || ok=false
	fi
	# KASANE_EMULATOR=bochs-vmx (make test-long) runs the QEMU groups on
	# Bochs's Intel model instead: the whole guest suite under VT-x.
	# Bochs runs every CPU on one host thread: give such a run 4 times as long.
	if [ "${G_EMU[$g]}" = qemu ] && [ -n "${KASANE_EMULATOR:-}" ]; then
		G_EMU[$g]=$KASANE_EMULATOR
		t=$((t * 4))
	fi
	local attempt hwhy names=() whys=() failing
	for attempt in 1 2; do
		host_clock_look >"$log.host-before"
		group_boot
		host_clock_look >"$log.host-after"
		names=() whys=() failing=false
		local exp
		exp=$(qemu_status "$st")
		[[ ${G_EMU[$g]} == bochs* ]] && exp=any
		local gwhy why
		gwhy=$(run_verdict "$log" "$QEMU_RC" "$exp" "$st" "$t")
		for i in "${!T_NAME[@]}"; do
			[ "${T_GROUP[i]}" = "$g" ] && want "${T_NAME[i]}" || continue
			# A run that did not end says so first; then the test's own
			# checks; then a wrong end of a run that printed what they want.
			why=$gwhy
			if [ -z "$gwhy" ] || [[ $gwhy != timed* && $gwhy != ISO* ]]; then
				why=$(test_verdict "$log" "${T_CHECKS[i]}")
				# (and how the run itself ended, if that was wrong too)
				[ -n "$why" ] && why="$why, see $log${gwhy:+; the run: ${gwhy%, see *}}"
				[ -z "$why" ] && why=$gwhy
			fi
			names+=("${T_NAME[i]}") whys+=("$why")
			[ -n "$why" ] && failing=true
		done
		# Bochs's TSC counts its own instructions: the host's clocks are
		# nothing to it.
		[[ ${G_EMU[$g]} == bochs* ]] && break
		hwhy=$(host_clock_verdict "$log.host-before" "$log.host-after")
		$failing && [ -n "$hwhy" ] && [ "$attempt" = 1 ] || break
		# The machine under QEMU made time leap (tools/hostclock.c): no
		# guest can keep time across that, so this run says nothing of
		# kasane.  Once more; a second failure counts whatever happened.
		RERUNS+=("group $g failed while the host's $hwhy; it ran again (its first log: $log.1)")
		echo "note: ${RERUNS[-1]}"
		cp "$log" "$log.1"
	done
	for i in "${!names[@]}"; do
		result "${names[i]}" "$([ -z "${whys[i]}" ] && echo ok || echo fail)" "${whys[i]}"
	done
}

for f in "$MANIFESTS"/*.test; do
	# long = yes: a group of a minute or more, run by make test-long only.
	grep -qE '^long[[:space:]]*=[[:space:]]*yes' "$f" 2>/dev/null && [ -z "${KASANE_LONG:-}" ] && continue
	[ -f "$f" ] && manifest_read "$f"
done
for e in "${MANIFEST_ERRORS[@]}"; do
	result "manifest" fail "$e"
done
for g in "${GROUP_LIST[@]}"; do
	run_group "$g"
done

# ---- a CPU without nested paging: QEMU's SVM with NPT taken away ----------------
# kasane finds no NPT, says so, and runs every VM on shadow paging by itself;
# a VM that asks for nested paging is told no and runs on shadow paging too.
if want shadow/no-npt; then
	G=build/guests
	cfg=$OUT/nonpt.cfg
	{ printf '[vm nonpt]\nkernel = /guests/shadow-paging.elf\nmemory = 16M\ncmdline = tlb\n\n'
	  printf '[vm asknested]\nkernel = /guests/shadow-paging.elf\nmemory = 16M\ncmdline = tlb\npaging = nested\n'; } >"$cfg"
	log=$OUT/nonpt.log
	QEMU_RC=iso
	isof=$ISO_CACHE/nonpt.iso
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" \
		$G/shadow-paging.elf:/guests/shadow-paging.elf; then
		QEMU_ACCEL="-accel tcg,thread=multi -cpu max,-npt" run_qemu "$log" 120 \
			-cdrom "$isof" -boot d -smp 2 -m 256M
	fi
	why=$(run_verdict $log "$QEMU_RC" 1 0 120)
	[ -z "$why" ] && ! why=$(expect $log '^svm: AMD-V without nested paging' \
		"^kasane: VM 'nonpt': this CPU has no nested paging; it runs on shadow paging" \
		"^kasane: VM 'asknested' \\(/boot/kasane.cfg:[0-9]+\\): paging = nested refused: this CPU has no nested paging" \
		"^kasane: VM 'nonpt': shadow paging: [1-9]" \
		"^kasane: VM 'asknested': shadow paging: [1-9]") && why="$why, see $log"
	[ -z "$why" ] && why=$(test_verdict $log "passes nonpt shadow-paging
passes asknested shadow-paging") && [ -n "$why" ] && why="$why, see $log"
	result shadow/no-npt "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# ---- the demo that `make run` boots (iso/demo.cfg) ----------------------------
if want demo; then
	log=$OUT/demo.log
	rm -f $log
	QEMU_RC=iso
	[ -f build/kasane.iso ] && run_qemu $log 180 -cdrom build/kasane.iso -boot d -smp 4 -m 512M
	why=$(run_verdict $log "$QEMU_RC" 1 0 180)
	[ -f build/kasane.iso ] || why="no build/kasane.iso (make all builds it)"
	for v in hello:hello64 smp:smp timers:lapic-timer legacy:hello32; do
		[ -n "$why" ] && break
		why=$(test_verdict $log "passes ${v%%:*} ${v#*:}") && [ -n "$why" ] && why="$why, see $log"
	done
	# The Debian VM: Linux saw both its CPUs and powered off.
	[ -z "$why" ] && ! why=$(expect $log '^\[debian\] \[ *[0-9.]+\] KASANE-LINUX-CHECK cpus PASS' \
		"^kasane: VM 'debian' ended: powered off .*; status 0;") && why="$why, see $log"
	result demo "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# The console shows the scheduler's view on its command `sched` (typed on COM1).
if want 'console/*'; then
	G=build/guests
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
		  done; sleep 1; printf 'sched\r' ) |
		setsid timeout -k 5 120 qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none \
			-no-reboot -monitor none -serial stdio -smp 2 -m 256M \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$isof" -boot d >"$log" 2>&1
		QEMU_RC=$?
		sed -i 's/\r$//' "$log"
	else
		QEMU_RC=iso
	fi
	why=$(run_verdict $log "$QEMU_RC" 1 0 120)
	[ -z "$why" ] && ! why=$(expect $log '^kasane: scheduler \(2 CPUs, housekeeping on CPU 0\)' \
		'^  CPU [01]: [0-9]+ vCPUs, [0-9]+ waiting, idle [0-9]+ ms' \
		"^  VM 'viewa' \(weight 300\):" \
		'^    vCPU 0 on CPU [01]: (running|runnable) +run [0-9]+ ms, wait [0-9]+ ms, [0-9]+ exits') &&
		why="$why, see $log"
	result console/scheduler-view "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# Console input: Ctrl-A three times moves the keyboard from kasane to the
# first VM, then to the second; what is typed reaches only the focused
# VM's COM1 (through its receive interrupt).  One Ctrl-A that is not a
# switch is typed through.
if want console/input-focus; then
	G=build/guests
	cfg=$OUT/conin.cfg
	{ printf '[vm ina]\nkernel = /guests/conin.elf\nmemory = 8M\n\n'
	  printf '[vm inb]\nkernel = /guests/conin.elf\nmemory = 8M\n\n'; } >"$cfg"
	log=$OUT/conin.log
	isof=$ISO_CACHE/conin.iso
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" \
		$G/conin.elf:/guests/conin.elf; then
		# Type once both guests listen.
		( for i in $(seq 1 600); do
			[ "$(grep -c 'conin: ready' "$log" 2>/dev/null)" -ge 2 ] && break; sleep 0.1
		  done; printf '\001\001\001to-a\r\001\001\001to-b\001z\r' ) |
		setsid timeout -k 5 120 qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none \
			-no-reboot -monitor none -serial stdio -smp 2 -m 256M \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$isof" -boot d >"$log" 2>&1
		QEMU_RC=$?
		sed -i 's/\r$//' "$log"
	else
		QEMU_RC=iso
	fi
	why=$(run_verdict $log "$QEMU_RC" 1 0 120)
	[ -z "$why" ] && ! why=$(expect $log "^kasane: console input goes to VM 'ina' \(COM1\)" \
		"^kasane: console input goes to VM 'inb' \(COM1\)" \
		"^\[ina\] conin: line 'to-a' " "^\[inb\] conin: line 'to-b\\\\x01z' ") &&
		why="$why, see $log"
	for v in ina inb; do
		[ -n "$why" ] && break
		why=$(test_verdict $log "passes $v conin") && [ -n "$why" ] && why="$why, see $log"
	done
	result console/input-focus "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# ---- the management console (core/console_cmd.c), driven over COM1 ----------
# console_boot NAME CFG TIMEOUT DRIVER MODULE...: boots CFG on 2 CPUs with
# kasane's console on QEMU's stdio; DRIVER, a function, runs alongside and
# what it prints is typed.  Sets log and QEMU_RC.
console_boot() {
	local name=$1 cfg=$2 t=$3 driver=$4; shift 4
	local isof=$ISO_CACHE/$name.iso
	log=$OUT/$name.log
	rm -f "$log"
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" "$@"; then
		host_clock_look >"$log.host-before"     # for a failure's excerpt
		$driver | setsid timeout -k 5 "$t" qemu-system-x86_64 $QEMU_ACCEL -M q35 \
			-display none -no-reboot -monitor none -serial stdio -smp 2 -m "${CONSOLE_MEM:-256M}" \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$isof" -boot d >"$log" 2>&1
		QEMU_RC=$?
		host_clock_look >"$log.host-after"
		sed -i 's/\r$//' "$log"
	else
		QEMU_RC=iso
	fi
}
# In a driver: wait_for REGEX [N]: until N lines (default 1) of the log
# match, at most 60 s, or the run has ended.
wait_for() {
	local i
	for i in $(seq 1 600); do
		[ "$(grep -cE -- "$1" "$log" 2>/dev/null)" -ge "${2:-1}" ] && return 0
		grep -q '^kasane: all VMs ended' "$log" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}
# In a driver: cmd LINE REGEX [N]: type a command, wait for its answer.
cmd() {
	printf '%s\r' "$1"
	wait_for "$2" "${3:-1}"
}
# Line numbers of the lines matching REGEX.
lines_of() { grep -nE -- "$1" "$log" | cut -d: -f1; }

# Typing into a Linux shell: kasane.action=shell runs busybox init with a
# shell on ttyS0.  Ctrl-A three times moves the keyboard to the VM; a
# command typed there is answered by the shell, and `poweroff` typed there
# powers the VM off through ACPI (status 0, "powered off").
drive_linux_shell() {
	wait_for '^\[lsh\] \[ *[0-9.]+\] KASANE-LINUX-ACTION shell' || return
	sleep 2                         # the shell starts and prompts
	printf '\001\001\001'
	wait_for "^kasane: console input goes to VM 'lsh' \(COM1\)" || return
	printf 'echo kasane-$((6 * 7))-shell\r'
	wait_for '^\[lsh\] kasane-42-shell' || return    # (lines end in CR LF here)
	sleep 1                         # the next prompt
	printf 'poweroff\r'
	wait_for "^kasane: VM 'lsh' ended"    # typed input stays open until then
}
# console_linux NAME VM CPUS CMDLINE DRIVER: one Debian VM of 160 MiB,
# booted with the console driven by DRIVER (at most 300 s); sets log and
# why (the run's own verdict).
console_linux() {
	local cfg=$OUT/$1.cfg
	printf '[vm %s]\nkernel = /linux/vmlinuz\ninitrd = /linux/initrd.img\nmemory = 160M\ncpus = %s\ncmdline = console=ttyS0 loglevel=5 %s\n' \
		"$2" "$3" "$4" >"$cfg"
	console_boot "$1" "$cfg" 300 "$5" build/linux/vmlinuz:/linux/vmlinuz \
		build/linux/initrd.img:/linux/initrd.img
	why=$(run_verdict $log "$QEMU_RC" 1 0 300)
}
if want console/linux-shell; then
	console_linux linsh lsh 1 kasane.action=shell drive_linux_shell
	[ -z "$why" ] && ! why=$(expect $log "^kasane: console input goes to VM 'lsh' \(COM1\)" \
		'^\[lsh\] kasane-42-shell$' "^kasane: VM 'lsh' ended: powered off .*; status 0;") &&
		why="$why, see $log"
	result console/linux-shell "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# list, list -j, help, bad commands and names; pause a counting VM (its
# count stops and kasane's accounting of it stands still across two
# looks), resume it (the count goes on); its neighbour runs throughout.
drive_commands() {
	wait_for '\[cnta\] counter: tick 3' && wait_for '\[cntb\] counter: tick 3' || return
	# Line editing: an escape sequence (cursor up) is dropped, Ctrl-U
	# takes the line back, DEL one character; a line over 80 characters
	# is cut there (and is no command).
	cmd $'\033[Agarbage\025hellp\177\177p' '^kasane: commands \(' &&
	cmd frobnicate '^kasane: unknown command' &&
	cmd "$(printf 'y%.0s' $(seq 1 100))" '^kasane: unknown command' 2 &&
	cmd 'pause nosuch' "^kasane: no VM 'nosuch'" &&
	cmd 'stats' '^kasane: usage: stats \[-j\] NAME' &&
	cmd 'log loud' "^kasane: no log level 'loud'" &&
	cmd 'log warn' '^kasane: log level warn' &&
	cmd 'log info' '^kasane: log level info' || return
	# Half a command typed while both VMs print: their lines must not be
	# glued to it, and the typed part is shown again after them.
	printf 'sta'
	sleep 0.6
	cmd 'ts cntb' "^kasane: VM 'cntb' \(running\): " &&
	cmd 'pause cnta' "^kasane: VM 'cnta' paused" || return
	sleep 1
	cmd list '^  +1 cntb ' &&
	cmd 'list -j' '^\{"id":1,' &&
	cmd 'stats -j cnta' '^\{"vm":"cnta","state"' || return
	sleep 1.5
	cmd 'stats -j cnta' '^\{"vm":"cnta","state"' 2 &&
	cmd 'resume cnta' "^kasane: VM 'cnta' resumed" &&
	cmd 'stats cnta' "^kasane: VM 'cnta' \(running\): "
}
# The stats -j summaries of VM $1 in the log must be the same $2 times:
# no exit and no run time between them.
check_paused_stats() {
	local a b
	a=$(grep -E "^\{\"vm\":\"$1\",\"state\"" "$log" | sed -n 1p)
	b=$(grep -E "^\{\"vm\":\"$1\",\"state\"" "$log" | sed -n 2p)
	[ -n "$a" ] && [ "$a" = "$b" ] || { echo "stats -j of paused '$1' changed: '$a' then '$b'"; return 1; }
	[[ $a == *'"state":"paused"'* ]] || { echo "stats -j of '$1': not paused: $a"; return 1; }
}
# No tick of VM $1 between the lines numbered $2 and $3; some of VM $4.
check_ticks_between() {
	local n
	n=$(sed -n "$2,$3p" "$log" | grep -cE "\[$1\] counter: tick")
	[ "$n" = 0 ] || { echo "'$1' counted while paused ($n ticks)"; return 1; }
	n=$(sed -n "$2,$3p" "$log" | grep -cE "\[$4\] counter: tick")
	[ "$n" -gt 0 ] || { echo "'$4' did not count while '$1' was paused"; return 1; }
}
if want console/commands; then
	cfg=$OUT/concmd.cfg
	{ printf '[vm cnta]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=40\n\n'
	  printf '[vm cntb]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=100\n\n'; } >"$cfg"
	console_boot concmd "$cfg" 150 drive_commands build/guests/counter.elf:/guests/counter.elf
	why=$(run_verdict $log "$QEMU_RC" 1 0 150)
	[ -z "$why" ] && ! why=$(expect $log '^  help +this list' '^  pause NAME ' \
		"^kasane: unknown command 'frobnicate'" "^kasane: unknown command '$(printf 'y%.0s' $(seq 1 32))'$" \
		'^kasane: commands: help list stats sched pause resume destroy restart' \
		"^kasane: no VM 'nosuch'" '^kasane: VMs: cnta cntb' \
		'^kasane: 2 VMs, [0-9]+ KiB free' '^  +0 cnta +paused +0@[01] +8 MiB +[0-9]+\.[0-9] s +[0-9]+$' \
		'^  +1 cntb +running +0@[01] +8 MiB' \
		'^\{"id":0,"name":"cnta","state":"paused","end":"","detail":"","status":0,"boots":1,"memory_mib":8,"uptime_ms":[0-9]+,"exits":[1-9][0-9]*,"vcpus":\[\{"id":0,"cpu":[01],"state":"paused"\}\]\}$' \
		'^\{"id":1,"name":"cntb","state":"(running|halted)",' \
		'^\{"vm":"cnta","exit":"io","count":[1-9][0-9]*,"share":[0-9]+\.[0-9],"total_ns":[1-9][0-9]*,"mean_ns":[1-9][0-9]*\}$' \
		'^  io +[1-9][0-9]* +[0-9]+\.[0-9]% +[0-9]+ +[1-9][0-9]*$' \
		'^sta$' '^stats cntb$' "^kasane: VM 'cntb' \(running\): ") && why="$why, see $log"
	[ -z "$why" ] && ! why=$(check_paused_stats cnta) && why="$why, see $log"
	if [ -z "$why" ]; then
		s=$(lines_of '^\{"vm":"cnta","state"' | tr '\n' ' ')
		why=$(check_ticks_between cnta ${s%% *} $(echo $s | cut -d' ' -f2) cntb) && why="" || why="$why, see $log"
	fi
	# The count went on after the resume, to its end.
	[ -z "$why" ] && ! why=$(expect $log '\[cnta\] counter: tick 40$') && why="$why, see $log"
	for v in cnta cntb; do
		[ -n "$why" ] && break
		why=$(test_verdict $log "passes $v counter") && [ -n "$why" ] && why="$why, see $log"
	done
	result console/commands "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# free_kib N: the Nth `mem -j` answer in the log.
free_kib() { grep -E '^\{"free_kib":[0-9]+\}' "$log" | sed -n "$1p" | tr -dc 0-9; }

# destroy ends a running VM, and a paused and halted one, now; each is
# reported as other ends are and its memory comes back; the neighbour
# finishes.  A destroyed VM ends with status -1, so the run's is 1.
drive_destroy() {
	wait_for '\[victim\] counter: tick 2' && wait_for '\[nbr\] counter: tick 2' &&
	wait_for '\[sleeper\] idle: timer clock' || return
	cmd 'mem -j' '^\{"free_kib":' &&
	cmd 'destroy victim' "^kasane: VM 'victim' ended: " &&
	cmd 'mem -j' '^\{"free_kib":' 2 &&
	cmd 'destroy victim' "^kasane: VM 'victim' has ended" &&
	cmd 'pause sleeper' "^kasane: VM 'sleeper' paused" &&
	cmd 'destroy sleeper' "^kasane: VM 'sleeper' ended: " &&
	cmd 'resume sleeper' "^kasane: VM 'sleeper' has ended" &&
	cmd list '^  +2 sleeper '
}
if want console/destroy; then
	cfg=$OUT/condes.cfg
	{ printf '[vm victim]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=100000\n\n'
	  printf '[vm nbr]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=100\n\n'
	  printf '[vm sleeper]\nkernel = /guests/idle.elf\nmemory = 8M\ncmdline = hz=50 ticks=100000\n\n'; } >"$cfg"
	console_boot condes "$cfg" 150 drive_destroy build/guests/counter.elf:/guests/counter.elf \
		build/guests/idle.elf:/guests/idle.elf
	why=$(run_verdict $log "$QEMU_RC" 3 1 150)
	[ -z "$why" ] && ! why=$(expect $log "^kasane: destroying VM 'victim'" \
		"^kasane: VM 'victim' ended: destroyed \(destroyed from the console\); status -1; " \
		"^kasane: VM 'sleeper' ended: destroyed \(destroyed from the console\); status -1; " \
		"^kasane: VM 'victim' has ended \(destroyed\)$" "^kasane: VM 'sleeper' has ended \(destroyed\)$" \
		'^  +0 victim +ended \(destroyed, status -1\) +0@[01] ' \
		'^  victim +status -1 +destroyed$' '^  sleeper +status -1 +destroyed$') && why="$why, see $log"
	if [ -z "$why" ]; then
		a=$(free_kib 1) b=$(free_kib 2)
		[ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -ge 8192 ] ||
			why="free memory went from '$a' to '$b' KiB, not up by the VM's 8 MiB, see $log"
	fi
	[ -z "$why" ] && why=$(test_verdict $log "passes nbr counter") && [ -n "$why" ] && why="$why, see $log"
	result console/destroy "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# restart boots a VM again from its config, here four times in a row;
# the free memory with the VM running is the same after as before (the
# create/destroy loop: RAM, nested page tables, vCPU and device state all
# come back), and the last boot runs to its end.
drive_restart() {
	wait_for '\[rb\] counter: tick 2' || return
	cmd 'mem -j' '^\{"free_kib":' || return
	for k in 2 3 4 5; do
		cmd 'restart rb' '\[rb\] counter: boot' $k && wait_for '\[rb\] counter: tick 1' $k || return
	done
	cmd 'mem -j' '^\{"free_kib":' 2 &&
	cmd 'list -j' '^\{"id":0,"name":"rb"'
}
if want console/restart; then
	cfg=$OUT/conrst.cfg
	printf '[vm rb]\nkernel = /guests/counter.elf\nmemory = 16M\ncmdline = ticks=30\n\n' >"$cfg"
	console_boot conrst "$cfg" 150 drive_restart build/guests/counter.elf:/guests/counter.elf
	why=$(run_verdict $log "$QEMU_RC" 1 0 150)
	[ -z "$why" ] && ! why=$(expect $log "^kasane: restarting VM 'rb'" \
		"^kasane: VM 'rb' is reset \(restart from the console\): restarting it" \
		'^\{"id":0,"name":"rb","state":"running","end":"","detail":"","status":0,"boots":5,') &&
		why="$why, see $log"
	if [ -z "$why" ]; then
		n=$(grep -c '\[rb\] counter: boot' $log) a=$(free_kib 1) b=$(free_kib 2)
		[ "$n" = 5 ] || why="'rb' booted $n times, expected 5, see $log"
		[ -z "$why" ] && { [ -n "$a" ] && [ "$a" = "$b" ] ||
			why="free memory $a KiB before four restarts, $b KiB after, see $log"; }
	fi
	[ -z "$why" ] && why=$(test_verdict $log "passes rb counter") && [ -n "$why" ] && why="$why, see $log"
	result console/restart "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# Pause and resume an SMP guest (4 vCPUs on 2 CPUs, beside a counting
# VM) up to three times while it runs: first before its APs start, then in
# its job.  vCPUs running, halted, waiting for SIPI or queued behind the
# other VM's are parked each time (every pause ends in a list that shows
# the VM paused, no vCPU running) and the guest's job still comes out
# right.
drive_pause_smp() {
	wait_for "^kasane: VM 'sm': elf64" || return
	local k i l=0
	for k in 1 2 3; do
		grep -q "^kasane: VM 'sm' ended" "$log" && return
		cmd 'pause sm' "^kasane: VM 'sm' (paused|has ended)" $k || return
		grep -q "^kasane: VM 'sm' has ended" "$log" && return
		# Until every vCPU has left the guest ("pausing" before).
		for i in $(seq 1 25); do
			l=$((l + 1))
			cmd 'list -j' '^\{"id":0,"name":"sm"' $l || return
			[ "$(grep -cE '^\{"id":0,"name":"sm","state":"paused"' "$log")" -ge $k ] && break
			sleep 0.2
		done
		cmd 'resume sm' "^kasane: VM 'sm' resumed" $k || return
		sleep 0.2
	done
}
if want console/pause-smp; then
	cfg=$OUT/consmp.cfg
	{ printf '[vm sm]\nkernel = /guests/smp.elf\nmemory = 16M\ncpus = 4\ncmdline = expect_cpus=4\n\n'
	  printf '[vm cnt]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=40\n\n'; } >"$cfg"
	console_boot consmp "$cfg" 200 drive_pause_smp build/guests/smp.elf:/guests/smp.elf \
		build/guests/counter.elf:/guests/counter.elf
	why=$(run_verdict $log "$QEMU_RC" 1 0 200)
	if [ -z "$why" ]; then
		p=$(grep -c "^kasane: VM 'sm' paused" $log)
		n=$(grep -cE '^\{"id":0,"name":"sm","state":"paused",' $log)
		r=$(grep -cE '^\{"id":0,"name":"sm","state":"paused",.*"state":"running"' $log)
		[ "$p" -ge 1 ] && [ "$n" = "$p" ] && [ "$r" = 0 ] ||
			why="'sm' paused $p times, listed paused $n times, with a running vCPU $r times, see $log"
	fi
	for v in 'sm smp' 'cnt counter'; do
		[ -n "$why" ] && break
		why=$(test_verdict $log "passes $v") && [ -n "$why" ] && why="$why, see $log"
	done
	result console/pause-smp "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# Pause a 2-vCPU Linux VM for 5 s from the console and resume it.  Its
# clock ran on meanwhile; with a soft-lockup threshold of 2 s
# (watchdog_thresh=1) its watchdog would call the stand a hung CPU
# ("BUG: soft lockup"), but kasane marks its kvmclock records
# PVCLOCK_GUEST_STOPPED when it goes on (core/pvclock.c), so Linux resets
# its detectors instead, and settles and powers off with a clean log.
drive_pause_linux() {
	wait_for '^\[lp\] \[ *[0-9.]+\] KASANE-LINUX-CHECK cpus PASS \(2\)' || return    # (lines end in CR LF here)
	cmd 'pause lp' "^kasane: VM 'lp' paused" || return
	sleep 5
	cmd 'resume lp' "^kasane: VM 'lp' resumed" || return
	wait_for "^kasane: VM 'lp' ended"
}
if want console/pause-linux; then
	console_linux pauselin lp 2 'watchdog_thresh=1 kasane.expect_cpus=2 kasane.settle=8' drive_pause_linux
	[ -z "$why" ] && ! why=$(expect $log "^kasane: VM 'lp' paused" "^kasane: VM 'lp' resumed" \
		"^kasane: VM 'lp' ended: powered off .*; status 0;") && why="$why, see $log"
	[ -z "$why" ] && why=$(test_verdict $log "reject soft lockup|BUG:|WARNING:|Call Trace|rcu.*stall") &&
		[ -n "$why" ] && why="$why, see $log"
	# It was paused after its CPU check and before its end.
	if [ -z "$why" ]; then
		c=$(first_line $log 'KASANE-LINUX-CHECK cpus PASS') p=$(first_line $log "^kasane: VM 'lp' paused")
		r=$(first_line $log "^kasane: VM 'lp' resumed") e=$(first_line $log "^kasane: VM 'lp' ended")
		[ "$c" -lt "$p" ] && [ "$p" -lt "$r" ] && [ "$r" -lt "$e" ] ||
			why="not paused while it ran (lines: check $c, pause $p, resume $r, end $e), see $log"
	fi
	result console/pause-linux "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# ---- soak (issue 13; make test-long only: KASANE_SOAK_SECS set) ------------
# For KASANE_SOAK_SECS seconds the console restarts, in turn, two counting
# VMs and five hostile ones (an unmasked LAPIC timer storm, a masked PIT
# storm, IPI broadcast and NMI floods, a console flood: test/guests/
# hostile-*.c); each restart creates the VM anew.  At the end every VM is
# restarted once more and destroyed.  kasane's free memory with all VMs
# freshly booted is the same after the soak as before it, the counting VMs
# never end except by the console, and the run reaches its summary.
SOAK_GOOD="sk-cnt1 sk-cnt2"
SOAK_BAD="sk-lapic sk-pit sk-bcast sk-nmi sk-flood"
soak_restart_all() {    # soak_restart_all ROUND: restart every VM, wait for each
	local vm
	for vm in $SOAK_GOOD $SOAK_BAD; do
		cmd "restart $vm" "^kasane: VM '$vm' is reset \(restart from the console\)" "$1" || return
	done
	sleep 2
}
drive_soak() {
	local round=1 end=$((SECONDS + KASANE_SOAK_SECS)) vm
	wait_for '\[sk-cnt2\] counter: tick 2' || return
	soak_restart_all $round && cmd 'mem -j' '^\{"free_kib":' || return
	while [ $SECONDS -lt $end ]; do
		round=$((round + 1))
		soak_restart_all $round || return
	done
	round=$((round + 1))
	soak_restart_all $round && cmd 'mem -j' '^\{"free_kib":' 2 || return
	echo "soak: $round rounds" >&2
	for vm in $SOAK_GOOD $SOAK_BAD; do
		cmd "destroy $vm" "^kasane: VM '$vm' ended: " || return
	done
}
if want soak && [ -n "${KASANE_SOAK_SECS:-}" ]; then
	cfg=$OUT/soak.cfg
	{ for vm in $SOAK_GOOD; do
		printf '[vm %s]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=10000000\n\n' $vm
	  done
	  printf '[vm sk-lapic]\nkernel = /guests/hostile-timer.elf\nmemory = 16M\ncmdline = storm=lapic masked=0 secs=1000000\n\n'
	  printf '[vm sk-pit]\nkernel = /guests/hostile-timer.elf\nmemory = 16M\ncmdline = storm=pit masked=1 secs=1000000\n\n'
	  printf '[vm sk-bcast]\nkernel = /guests/hostile-ipi.elf\nmemory = 16M\ncpus = 2\ncmdline = storm=bcast secs=1000000\n\n'
	  printf '[vm sk-nmi]\nkernel = /guests/hostile-ipi.elf\nmemory = 16M\ncpus = 2\ncmdline = storm=nmi secs=1000000\n\n'
	  printf '[vm sk-flood]\nkernel = /guests/hostile-console.elf\nmemory = 16M\ncmdline = secs=1000000\n\n'
	} >"$cfg"
	t=$((KASANE_SOAK_SECS + 600))
	console_boot soak "$cfg" $t drive_soak build/guests/counter.elf:/guests/counter.elf \
		build/guests/hostile-timer.elf:/guests/hostile-timer.elf \
		build/guests/hostile-ipi.elf:/guests/hostile-ipi.elf \
		build/guests/hostile-console.elf:/guests/hostile-console.elf
	why=$(run_verdict $log "$QEMU_RC" 3 1 $t)
	if [ -z "$why" ]; then
		a=$(free_kib 1) b=$(free_kib 2)
		[ -n "$a" ] && [ "$a" = "$b" ] ||
			why="free memory $a KiB with every VM booted before the soak, '$b' KiB after, see $log"
	fi
	for vm in $SOAK_GOOD; do
		[ -n "$why" ] && break
		bad=$(grep -E "^kasane: VM '$vm' ended: " $log | grep -vE 'ended: (reset \(restart|destroyed \(destroyed)' | head -1)
		[ -n "$bad" ] && why="a well-behaved VM ended badly: $bad"
	done
	[ -z "$why" ] && [ "$(grep -c '^kasane: VM .sk-cnt1. is reset (restart from the console)' $log)" -lt 3 ] &&
		why="fewer than 3 rounds of restarts, see $log"
	result soak "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# ---- snapshot and restore (core/snapshot.c), driven over COM1 -------------
# A 1-vCPU and a 3-vCPU snap-count guest (local APIC timers, counts in RAM
# and in XMM registers, halted vCPUs) are each snapshotted, run on, and
# are restored; each count goes on from its snapshot's.  A VM too large to
# copy into the free memory is refused; a tag that is not there is too.
snapshot_steps() {
	wait_for '\[sc\] snap-count: tick 3 ' && wait_for '\[sm\] snap-count: tick 3 ' || return
	cmd 'snapshot sc' "^kasane: snapshot 'default' of VM 'sc' taken" &&
	cmd 'snapshot sm one' "^kasane: snapshot 'one' of VM 'sm' taken" &&
	wait_for '\[sh\] snap-count: tick 3 ' &&
	cmd 'snapshot sh' "^kasane: snapshot 'default' of VM 'sh' taken" &&
	cmd snapshots '^kasane: 3 snapshots, ' &&
	cmd 'snapshot big' "^kasane: snapshot of VM 'big' refused: " &&
	cmd 'restore sc nosuch' "^kasane: VM 'sc' has no snapshot 'nosuch'" || return
	wait_for '\[sc\] snap-count: tick 25 ' && wait_for '\[sm\] snap-count: tick 25 ' || return
	cmd 'restore sc' "^kasane: VM 'sc' restored to snapshot 'default'" &&
	cmd 'restore sm one' "^kasane: VM 'sm' restored to snapshot 'one'" || return
	wait_for '\[sh\] snap-count: tick 25 ' &&
	cmd 'restore sh' "^kasane: VM 'sh' restored to snapshot 'default'" || return
	wait_for "^kasane: VM 'sc' ended" && wait_for "^kasane: VM 'sm' ended" &&
	wait_for "^kasane: VM 'sh' ended"
}
# The run ends soon even when a step failed.
drive_snapshot() {
	snapshot_steps
	cmd 'destroy big' "^kasane: VM 'big' ended: "
}
# check_resumed VM TAKEN RESTORED: VM's first tick after the line matching
# RESTORED is the one after its last tick before TAKEN, and its guest time
# lies before that of the last tick before RESTORED (no jump in time).
check_resumed() {
	local vm=$1 lt lr s l first
	lt=$(lines_of "$2" | head -1) lr=$(lines_of "$3" | head -1)
	[ -n "$lt" ] && [ -n "$lr" ] || { echo "no snapshot or restore line for '$vm'"; return 1; }
	# A typed command's echo may stand in front of a guest line.
	local tick="\[$vm\] snap-count: tick [0-9]+ t=[0-9]+"
	s=$(sed -n "1,${lt}p" "$log" | grep -oE "$tick" | tail -1)
	l=$(sed -n "1,${lr}p" "$log" | grep -oE "$tick" | tail -1)
	first=$(sed -n "${lr},\$p" "$log" | grep -oE "$tick" | head -1)
	local sn=${s#*tick } ln=${l#*tick } fn=${first#*tick }
	sn=${sn%% *} ln=${ln%% *} fn=${fn%% *}
	local lt_ms=${l#*t=} ft_ms=${first#*t=}
	lt_ms=${lt_ms%% *} ft_ms=${ft_ms%% *}
	[ -n "$sn" ] && [ -n "$fn" ] && [ "$fn" = $((sn + 1)) ] ||
		{ echo "'$vm': tick $sn at the snapshot, tick $fn first after the restore"; return 1; }
	[ "$ln" -gt $((sn + 1)) ] && [ "$ft_ms" -lt "$lt_ms" ] ||
		{ echo "'$vm': after the restore tick $fn at t=$ft_ms ms, before it tick $ln at t=$lt_ms ms"; return 1; }
}
if want 'snapshot/*'; then
	cfg=$OUT/snap.cfg
	{ printf '[vm sc]\nkernel = /guests/snap-count.elf\nmemory = 8M\ncmdline = ticks=60\n\n'
	  printf '[vm sm]\nkernel = /guests/snap-count.elf\nmemory = 16M\ncpus = 3\ncmdline = ticks=60\n\n'
	  printf '[vm big]\nkernel = /guests/counter.elf\nmemory = 112M\ncmdline = ticks=100000 period_ms=1000\n\n'
	  printf '[vm sh]\nkernel = /guests/snap-count.elf\nmemory = 8M\ncmdline = timer=hpet period=20 ticks=30\n\n'; } >"$cfg"
	console_boot snap "$cfg" 200 drive_snapshot build/guests/snap-count.elf:/guests/snap-count.elf \
		build/guests/counter.elf:/guests/counter.elf
	verdict=$(run_verdict $log "$QEMU_RC" 3 1 200)
	for t in counter smp refused hpet; do
		want snapshot/$t || continue
		why=$verdict
		case $t in
		counter)
			[ -z "$why" ] && ! why=$(check_resumed sc "^kasane: snapshot 'default' of VM 'sc' taken" \
				"^kasane: VM 'sc' restored") && why="$why, see $log"
			[ -z "$why" ] && why=$(test_verdict $log "passes sc snap-count") && [ -n "$why" ] && why="$why, see $log" ;;
		smp)
			[ -z "$why" ] && ! why=$(check_resumed sm "^kasane: snapshot 'one' of VM 'sm' taken" \
				"^kasane: VM 'sm' restored") && why="$why, see $log"
			[ -z "$why" ] && ! why=$(expect $log '^\[sm\] snap-count: tick 60 t=[0-9]+ aps=[0-9]+,[0-9]+$') &&
				why="$why, see $log"
			[ -z "$why" ] && why=$(test_verdict $log "passes sm snap-count") && [ -n "$why" ] && why="$why, see $log" ;;
		hpet)
			# The HPET's timer goes on from the snapshot, and the ISA IRQ 0
			# edge at tick 15 came both before the restore and after it.
			[ -z "$why" ] && ! why=$(check_resumed sh "^kasane: snapshot 'default' of VM 'sh' taken" \
				"^kasane: VM 'sh' restored") && why="$why, see $log"
			[ -z "$why" ] && [ "$(grep -c '^\[sh\] snap-count: IRQ 0 edge from the PIT at tick 15$' $log)" != 2 ] &&
				why="the IRQ 0 edge at tick 15 did not come before and after the restore, see $log"
			[ -z "$why" ] && why=$(test_verdict $log "passes sh snap-count") && [ -n "$why" ] && why="$why, see $log" ;;
		refused)
			[ -z "$why" ] && ! why=$(expect $log \
				"^kasane: snapshot of VM 'big' refused: it needs [0-9]+ KiB, [0-9]+ KiB are free" \
				"^kasane: VM 'sc' has no snapshot 'nosuch'" \
				"^  sc +default +[0-9]+\.[0-9]{3} +[0-9]+ +[0-9]+$" "^  sm +one " \
				"^kasane: VM 'big' ended: destroyed") && why="$why, see $log" ;;
		esac
		result snapshot/$t "$([ -z "$why" ] && echo ok || echo fail)" "$why"
	done
fi

# snapshot/counter on Bochs's Intel model: the VT-x back end's
# get_cpu_state/set_cpu_state (the VMCS).  Bochs's COM1 is a TCP server
# here; the harness reads the console from it and types into it.
snapshot_vmx_steps() {
	wait_for '\[sc\] snap-count: tick 3 ' || return
	cmd 'snapshot sc' "^kasane: snapshot 'default' of VM 'sc' taken" || return
	wait_for '\[sc\] snap-count: tick 25 ' || return
	cmd 'restore sc' "^kasane: VM 'sc' restored to snapshot 'default'" || return
	wait_for "^kasane: VM 'sc' ended"
}
if want 'snapshot/counter-vmx'; then
	cfg=$OUT/snap-vmx.cfg
	printf '[vm sc]\nkernel = /guests/snap-count.elf\nmemory = 8M\ncmdline = ticks=60\n' >"$cfg"
	log=$PWD/$OUT/snap-vmx.live isof=$ISO_CACHE/snap-vmx.iso
	rm -f "$log"
	port=$(free_port)
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" \
		build/guests/snap-count.elf:/guests/snap-count.elf; then
		BOCHS_COM1="enabled=1, mode=socket-server, dev=127.0.0.1:$port" BOCHS_SERIAL=$log \
			run_bochs "$OUT/snap-vmx.log" "$isof" 2 256 200 corei7_skylake_x &
		bpid=$!
		for i in $(seq 1 300); do
			{ exec 4<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null && break
			sleep 0.2
		done
		cat <&4 >"$log" &
		snapshot_vmx_steps >&4
		exec 4>&-
		wait $bpid
		QEMU_RC=$?
	else
		QEMU_RC=iso
	fi
	log=$OUT/snap-vmx.log
	why=$(run_verdict $log "$QEMU_RC" any 0 200)
	[ -z "$why" ] && ! why=$(check_resumed sc "^kasane: snapshot 'default' of VM 'sc' taken" \
		"^kasane: VM 'sc' restored") && why="$why, see $log"
	[ -z "$why" ] && why=$(test_verdict $log "passes sc snap-count") && [ -n "$why" ] && why="$why, see $log"
	result snapshot/counter-vmx "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# Create and destroy in a loop: a VM with a snapshot is destroyed and
# started again three times (and restarted once); its snapshots go with
# it, and the free memory comes back to what it was (RAM, nested page
# tables, vCPU, device and snapshot memory all given back).
snaploop_steps() {
	wait_for '\[lp\] counter: tick 2' && wait_for '\[nb\] counter: tick 2' || return
	cmd 'mem -j' '^\{"free_kib":' &&
	cmd 'start lp' "^kasane: VM 'lp' has not ended" || return
	local k
	for k in 1 2 3; do
		cmd "snapshot lp s$k" "^kasane: snapshot 's$k' of VM 'lp' taken" || return
		[ $k = 1 ] && { cmd 'mem -j' '^\{"free_kib":' 2 || return; }
		[ $k = 2 ] && { cmd 'restart lp' '\[lp\] counter: boot' 3 && wait_for '\[lp\] counter: tick 1' 3 &&
			cmd "snapshot lp again" "^kasane: snapshot 'again' of VM 'lp' taken" || return; }
		cmd 'destroy lp' "^kasane: VM 'lp' ended: " $k || return
		# Its last vCPU reports it, then frees it: start waits for that.
		for i in $(seq 1 20); do
			cmd 'start lp' "^kasane: (starting VM 'lp' again|VM 'lp' has not ended)" $((k + i)) || return
			[ "$(grep -c "^kasane: starting VM 'lp' again" "$log")" -ge $k ] && break
			sleep 0.2
		done
		wait_for '\[lp\] counter: tick 1' $((k + 1 + (k >= 2))) || return
	done
	cmd snapshots '^kasane: 0 snapshots, ' &&
	cmd 'mem -j' '^\{"free_kib":' 3
}
drive_snaploop() {
	snaploop_steps
	cmd 'destroy lp' "^kasane: VM 'lp' ended: " 4
	cmd 'destroy nb' "^kasane: VM 'nb' ended: "
}
if want snapshot/create-destroy; then
	cfg=$OUT/snaploop.cfg
	{ printf '[vm lp]\nkernel = /guests/counter.elf\nmemory = 16M\ncmdline = ticks=100000\n\n'
	  printf '[vm nb]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=100000\n\n'; } >"$cfg"
	console_boot snaploop "$cfg" 200 drive_snaploop build/guests/counter.elf:/guests/counter.elf
	why=$(run_verdict $log "$QEMU_RC" 3 1 200)
	[ -z "$why" ] && ! why=$(expect $log "^kasane: VM 'lp' has not ended" \
		"^kasane: VM 'lp' ended: destroyed \(destroyed from the console\); status -1; ") &&
		why="$why, see $log"
	if [ -z "$why" ]; then
		n=$(grep -c '\[lp\] counter: boot' $log) a=$(free_kib 1) b=$(free_kib 2) c=$(free_kib 3)
		[ "$n" = 5 ] || why="'lp' booted $n times, expected 5, see $log"
		[ -z "$why" ] && { [ -n "$a" ] && [ -n "$b" ] && [ $((a - b)) -ge 16384 ] ||
			why="a snapshot of 'lp' took $a - $b KiB, not its 16 MiB of RAM, see $log"; }
		[ -z "$why" ] && { [ -n "$c" ] && [ "$a" = "$c" ] ||
			why="free memory $a KiB before the loop, $c KiB after, see $log"; }
	fi
	result snapshot/create-destroy "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# A Debian Linux VM at its busybox shell (tools/linux-guest.sh) is
# snapshotted; a command typed into it (through the console's input
# focus) answers; it is restored, and a command typed then answers too;
# it powers off.
drive_snaplinux() {
	wait_for '^\[linux\] .*KASANE-LINUX-ACTION shell' || return
	sleep 1
	cmd 'snapshot linux' "^kasane: snapshot 'default' of VM 'linux' taken" || return
	printf '\001\001\001'
	wait_for "^kasane: console input goes to VM 'linux'" || return
	sleep 0.5
	printf 'echo SNAP-$((6*7))\r'
	# (Linux ends its lines with CR LF: the log has the CR until the end.)
	wait_for '^\[linux\] SNAP-42' || return
	printf '\001\001\001'
	wait_for "^kasane: console input goes to kasane" || return
	cmd 'restore linux' "^kasane: VM 'linux' restored to snapshot 'default'" || return
	printf '\001\001\001'
	wait_for "^kasane: console input goes to VM 'linux'" 2 || return
	sleep 0.5
	printf 'echo AFTER-$((7*8))\r'
	wait_for '^\[linux\] AFTER-56' || return
	printf 'poweroff -f\r'
}
if want snapshot/linux; then
	cfg=$OUT/snaplinux.cfg
	printf '[vm linux]\nkernel = /linux/vmlinuz\ninitrd = /linux/initrd.img\nmemory = 192M\ncpus = 2\ncmdline = console=ttyS0 loglevel=5 kasane.action=shell\n\n' >"$cfg"
	CONSOLE_MEM=768M console_boot snaplinux "$cfg" 240 drive_snaplinux \
		build/linux/vmlinuz:/linux/vmlinuz build/linux/initrd.img:/linux/initrd.img
	why=$(run_verdict $log "$QEMU_RC" 1 0 240)
	[ -z "$why" ] && ! why=$(expect $log '^\[linux\] SNAP-42$' '^\[linux\] AFTER-56$' \
		"^kasane: VM 'linux' ended: .*; status 0;") && why="$why, see $log"
	# A clock message is not this test's subject: a snapshot stops the VM
	# like a pause, and Linux's clocksource watchdog may then see a
	# PM-timer read held up (linux/* on its own still rejects it).
	[ -z "$why" ] && why=$(test_verdict $log "reject BUG:|WARNING:|Call Trace|Kernel panic") &&
		[ -n "$why" ] && why="$why, see $log"
	result snapshot/linux "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# Two Debian VMs on switch 'snaplan' (tools/linux-guest.sh), one of them
# with a virtio disk, console and entropy device, pinged each other and
# wait at their shells.  vnet/switches: the console's `switches` shows both
# ports with frames each way.  console/hvc0-input: the input focus goes
# kasane, snapa's COM1, snapa's hvc0, snapb's COM1; a line typed on hvc0
# reaches a reader of /dev/hvc0 in the guest.  snapshot/virtio-linux: an
# ext2 file written on vda is snapshotted with the VM, changed in place (the
# same disk block: a rewrite would take a new block and leave the old one
# as it was, disk capture or not), and the VM restored; after a remount
# (page cache dropped) the disk holds the snapshot's contents, a new file goes to the disk and back, and the NIC
# still reaches the peer.
# In a driver: focus_to VM PORT | focus_to kasane: Ctrl-A three times until
# the console says the input goes there (at most four moves).
focus_to() {
	local re="^kasane: console input goes to VM '$1' \\(${2:-}\\)" k n
	[ "$1" = kasane ] && re='^kasane: console input goes to kasane'
	for k in 1 2 3 4; do
		n=$(grep -cE -- '^kasane: console input goes to' "$log")
		printf '\001\001\001'
		wait_for '^kasane: console input goes to' $((n + 1)) || return 1
		grep -E -- '^kasane: console input goes to' "$log" | tail -1 | grep -qE -- "$re" && {
			sleep 0.5; return 0; }
	done
	return 1
}
# In a driver: wait_boot REGEX: wait_for, up to six times (two Linux boots
# on a loaded host take minutes).
wait_boot() {
	local k
	for k in 1 2 3 4 5 6; do wait_for "$1" && return 0; done
	return 1
}
drive_snapvirtio() {
	wait_boot '^\[snapa\] .*KASANE-LINUX-ACTION shell' &&
		wait_boot '^\[snapb\] .*KASANE-LINUX-ACTION shell' || return
	sleep 1
	cmd switches '^  snapb net0 ' || return
	focus_to snapa COM1 || return
	printf 'mke2fs -q /dev/vda && mount -t ext2 /dev/vda /mnt && echo one >/mnt/f && sync && echo WROTE-$(cat /mnt/f)\r'
	wait_for '^\[snapa\] WROTE-one' || return
	printf '(read -r l </dev/hvc0; echo; echo "HVC-GOT $l") &\r'
	sleep 1
	focus_to snapa hvc0 || return
	printf 'typed-into-hvc0\r'
	wait_for '^\[snapa\] HVC-GOT typed-into-hvc0' || return
	focus_to kasane || return
	cmd 'snapshot snapa' "^kasane: snapshot 'default' of VM 'snapa' taken" || return
	focus_to snapa COM1 || return
	printf 'printf two | dd of=/mnt/f conv=notrunc 2>/dev/null && sync && echo CHANGED-$(cat /mnt/f)\r'
	wait_for '^\[snapa\] CHANGED-two' || return
	focus_to kasane || return
	cmd 'restore snapa' "^kasane: VM 'snapa' restored to snapshot 'default'" || return
	focus_to snapa COM1 || return
	printf 'umount /mnt && echo 3 >/proc/sys/vm/drop_caches && mount -t ext2 /dev/vda /mnt && echo DISK-$(cat /mnt/f)\r'
	wait_for '^\[snapa\] DISK-' || return
	printf 'echo three >/mnt/g && umount /mnt && echo 3 >/proc/sys/vm/drop_caches && mount -t ext2 /dev/vda /mnt && echo AFTER-$(cat /mnt/g)\r'
	wait_for '^\[snapa\] AFTER-' || return
	printf 'ping -c 1 -W 5 10.0.9.2 >/dev/null && echo NET-AFTER-ok\r'
	wait_for '^\[snapa\] NET-AFTER-ok' || return
	printf 'poweroff -f\r'
	wait_for "^kasane: VM 'snapa' ended" || return
	focus_to snapb COM1 || return
	printf 'poweroff -f\r'
}
if want snapshot/virtio-linux || want console/hvc0-input || want vnet/switches; then
	cfg=$OUT/snapvirtio.cfg
	lx='kernel = /linux/vmlinuz\ninitrd = /linux/initrd.img\n'
	{ printf "[vm snapa]\n${lx}memory = 160M\ncmdline = console=ttyS0 loglevel=5 kasane.modules=yes kasane.net=10.0.9.1/24 kasane.peer=10.0.9.2 kasane.nettest=ping kasane.action=shell\n"
	  printf 'disk = /linux/disk.img\nconsole = virtio\nrng = yes\nnet = snaplan\n\n'
	  printf "[vm snapb]\n${lx}memory = 128M\ncmdline = console=ttyS0 loglevel=5 kasane.net=10.0.9.2/24 kasane.peer=10.0.9.1 kasane.nettest=ping kasane.action=shell\n"
	  printf 'net = snaplan\n\n'; } >"$cfg"
	CONSOLE_MEM=768M console_boot snapvirtio "$cfg" 600 drive_snapvirtio \
		build/linux/vmlinuz:/linux/vmlinuz build/linux/initrd.img:/linux/initrd.img \
		build/linux/disk.img:/linux/disk.img
	run=$(run_verdict $log "$QEMU_RC" 1 0 600)
	[ -z "$run" ] && run=$(test_verdict $log "reject BUG:|WARNING:|Call Trace|Kernel panic|needs reset") &&
		[ -n "$run" ] && run="$run, see $log"
	port='[0-9a-f:]{17}  tx [1-9][0-9]* frames [1-9][0-9]* bytes 0 drops  rx [1-9][0-9]* frames [1-9][0-9]* bytes 0 drops$'
	why=$run
	[ -z "$why" ] && ! why=$(expect $log '^switch snaplan: 2 ports, 2 addresses learned$' \
		"^  snapa net0 $port" "^  snapb net0 $port") &&
		why="$why, see $log"
	want vnet/switches && result vnet/switches "$([ -z "$why" ] && echo ok || echo fail)" "$why"
	why=$run
	[ -z "$why" ] && ! why=$(expect $log "^kasane: console input goes to VM 'snapa' \(hvc0\)" \
		'^\[snapa\] HVC-GOT typed-into-hvc0$') && why="$why, see $log"
	want console/hvc0-input && result console/hvc0-input "$([ -z "$why" ] && echo ok || echo fail)" "$why"
	why=$run
	[ -z "$why" ] && ! why=$(expect $log '^\[snapa\] WROTE-one$' '^\[snapa\] CHANGED-two$' \
		'^\[snapa\] DISK-one$' '^\[snapa\] AFTER-three$' '^\[snapa\] NET-AFTER-ok$' \
		"^kasane: VM 'snapa' ended: .*; status 0;" "^kasane: VM 'snapb' ended: .*; status 0;") &&
		why="$why, see $log"
	want snapshot/virtio-linux && result snapshot/virtio-linux "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# ---- UEFI, make run, firmware quirks (the OVMF guest group is uefi.test) ---
G=build/guests
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
# make run boots with tools/run-qemu.sh and exits 0 only if every VM ended
# with status 0: a passing VM under OVMF, a failing one under SeaBIOS, and
# a hypervisor panic (the script's own status 2).
if want 'run/*'; then
	vm_hello='[vm hello64]\nkernel = /guests/hello64.elf\nmemory = 16M\n\n'
	printf "$vm_hello" >"$OUT/run-pass.cfg"
	printf "$vm_hello[vm triple]\nkernel = /guests/triple.elf\nmemory = 16M\n\n" >"$OUT/run-fail.cfg"
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

# ---- the harness itself --------------------------------------------------------
# A QEMU that never ends (here: no bootable media, so the firmware waits
# forever) must be killed, counted as a timeout, and leave no process behind.
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

# The verdicts themselves, on made-up logs: a panic after every VM ended,
# a missing summary, a wrong status, a hang all fail a run that printed
# every line its tests look for; VMs that ran one after another do not
# overlap.
if want harness-verdicts; then
	h=$OUT/harness-verdict.log
	printf '%s\n' "[a] TEST a: SUCCESS" \
		"kasane: VM 'a' ended: wrote the exit port (guest wrote 0 to port 0xf4); status 0; ran 0.1 s" \
		"kasane: all VMs ended, status 0" >"$h"
	bad=""
	[ -z "$(run_verdict "$h" 1 1 0 9)" ] || bad+=" (good run refused)"
	[ -n "$(run_verdict "$h" 7 1 0 9)" ] || bad+=" (status 7 passed)"
	[ -n "$(run_verdict "$h" 3 1 0 9)" ] || bad+=" (status 3 passed)"
	[ -n "$(run_verdict "$h" 124 1 0 9)" ] || bad+=" (timeout passed)"
	[ -n "$(run_verdict "$h" 3 3 1 9)" ] || bad+=" (status-1 summary missing passed)"
	[ -n "$(run_verdict "$h" 1 any 1 9)" ] || bad+=" (Bochs summary mismatch passed)"
	[ -z "$(test_verdict "$h" "passes a")" ] || bad+=" (passes refused)"
	[ -n "$(test_verdict "$h" "passes b")" ] || bad+=" (passes of a missing VM passed)"
	[ -n "$(test_verdict "$h" "reject ^\[a\]")" ] || bad+=" (reject passed)"
	[ -n "$(test_verdict "$h" "check overlap a b")" ] || bad+=" (overlap without output passed)"
	printf '%s\n' "[a] first" "[a] last" "[b] first" "[b] last" >"$h.seq"
	printf '%s\n' "[a] first" "[b] first" "[a] last" "[b] last" >"$h.par"
	[ -n "$(test_verdict "$h.seq" "check overlap a b")" ] || bad+=" (VMs one after another overlap)"
	[ -z "$(test_verdict "$h.par" "check overlap a b")" ] || bad+=" (interleaved VMs refused)"
	sed -i '$d' "$h"
	[ -n "$(run_verdict "$h" 1 1 0 9)" ] || bad+=" (no summary passed)"
	# The host's clocks across a run: 2.096 GHz against CLOCK_MONOTONIC,
	# then 10 s in which CPU 1's TSC ran 10 s (fine) or 12.3 s (a leap).
	printf '%s\n' 'cpu 0 tsc 1000 mono 0' 'cpu 1 tsc 5000 mono 0' 'steal 0' \
		'cpu 0 tsc 1048001000 mono 500000000' 'cpu 1 tsc 1048005000 mono 500000000' 'steal 0' >"$h.rate"
	printf '%s\n' 'cpu 0 tsc 0 mono 0' 'cpu 1 tsc 0 mono 0' 'steal 0' >"$h.before"
	printf '%s\n' 'cpu 0 tsc 20960000000 mono 10000000000' 'cpu 1 tsc 20960000000 mono 10000000000' \
		'steal 0' >"$h.steady"
	printf '%s\n' 'cpu 0 tsc 20960000000 mono 10000000000' 'cpu 1 tsc 25780800000 mono 10000000000' \
		'steal 0' >"$h.leap"
	[ -z "$(HOST_RATE=$h.rate host_clock_verdict "$h.before" "$h.steady")" ] || bad+=" (steady TSC refused)"
	[[ $(HOST_RATE=$h.rate host_clock_verdict "$h.before" "$h.leap") == *"CPU 1 moved +2300 ms"* ]] ||
		bad+=" (TSC leap of 2.3 s not seen)"
	result harness-verdicts "$([ -z "$bad" ] && echo ok || echo fail)" "$bad"
fi

# A group that fails while the host's TSC leaps against CLOCK_MONOTONIC
# runs once more, and only then: the runner, run on a group that always
# fails, with a stand-in for tools/hostclock.c whose TSC jumps 5 s during
# the first run (FAKE_JUMP=1) or never.  Its own output directory.
if want harness-host-clock; then
	d=$OUT/harness-hc
	rm -rf "$d"
	mkdir -p "$d/m"
	printf '%s\n' 'group = hc' '[vm hc]' 'kernel = /guests/concurrent.elf' 'memory = 8M' \
		'cmdline = ms=1' '[test hc/one]' 'passes = hc concurrent' 'expect = ^never printed$' \
		>"$d/m/hc.test"
	# Look k (1, 2: the rate; then one before and one after each run):
	# 2 GHz on both CPUs, k s of CLOCK_MONOTONIC, and from look 4 on,
	# with FAKE_JUMP=1, 5 s more of TSC.
	cat >"$d/clock" <<-'EOF'
	#!/bin/bash
	n=$(( $(cat "$0.n" 2>/dev/null || echo 0) + 1 )); echo $n >"$0.n"
	j=0; [ "${FAKE_JUMP:-0}" = 1 ] && [ $n -ge 4 ] && j=10000000000
	for c in 0 1; do echo "cpu $c tsc $(( n * 2000000000 + j )) mono $(( n * 1000000000 ))"; done
	echo "steal 0"
	EOF
	chmod +x "$d/clock"
	hc_run() {     # hc_run JUMP -> the runner's output
		rm -f "$d/clock.n"
		FAKE_JUMP=$1 HOSTCLOCK=$d/clock KASANE_TEST_OUT=$d/out MANIFESTS=$d/m \
			bash test/run-tests.sh 'hc/*' 2>&1
	}
	bad=""
	o=$(hc_run 1)
	# (said where it happens and again beside the summary)
	[ "$(grep -c '^note: group hc failed while the host.s TSC on CPU [01] moved +5000 ms' <<<"$o")" = 2 ] ||
		bad+=" (a leap did not rerun the group exactly once)"
	grep -q '^FAIL  hc/one' <<<"$o" && grep -q '^0 passed, 1 failed$' <<<"$o" ||
		bad+=" (a rerun that failed again did not fail)"
	[ "$(cat "$d/clock.n")" = 6 ] || bad+=" ($(cat "$d/clock.n") looks at the clock, not 6)"
	o=$(hc_run 0)
	grep -q '^note: group' <<<"$o" && bad+=" (a steady clock reran the group)"
	grep -q '^0 passed, 1 failed$' <<<"$o" || bad+=" (a failure with a steady clock did not fail)"
	result harness-host-clock "$([ -z "$bad" ] && echo ok || echo fail)" "${bad:+$bad, see $d}"
fi

# ---- the gdb stub (core/gdbstub.c): Debian's gdb in batch mode on COM2 -------
# gdb-target (2 vCPUs, gdb = yes) waits for gdb before its first
# instruction; gdb connects over COM2, breaks on a function by name, reads
# a variable and registers (of the target description's segment, control
# and EFER ones too), single-steps twice, sees a hardware watchpoint hit,
# breaks in an STI's interrupt shadow and single-steps out of it, lists
# both vCPU threads, writes a variable the guest waits for, and detaches:
# the guest then checks its own INT3, TF and debug registers and ends with
# status 0.  A counting neighbour VM runs throughout and finishes
# undisturbed.  gdb/session runs it on QEMU (AMD-V), gdb/session-vmx on
# Bochs's Intel model (VT-x).
GDB_SESSION=(-ex 'break gdb_break_here' -ex continue
	-ex 'printf "COUNTER %d\n", gdb_counter' -ex 'printf "RDI %d\n", $rdi'
	-ex 'printf "SYS %x %x %x %x %x\n", ($cr0 >> 31) & 1, ($efer >> 10) & 1, $cs, $ss, $fs_base'
	-ex 'set $a = $pc' -ex stepi -ex 'set $b = $pc' -ex stepi -ex 'set $c = $pc'
	-ex 'printf "STEPS %x %x %x\n", $a, $b, $c'
	-ex 'delete 1' -ex 'watch gdb_watched' -ex continue -ex delete
	-ex 'break *gdb_after_sti' -ex continue -ex stepi
	-ex 'printf "STI %d\n", $pc - (long)&gdb_after_sti' -ex delete
	-ex 'info threads' -ex 'set var gdb_poke = 42' -ex detach)
gdb_session_cfg() {
	printf '[vm gdbt]\nkernel = /guests/gdb-target.elf\nmemory = 16M\ncpus = 2\ngdb = yes\n\n'
	printf '[vm neighbour]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=40 period_ms=100\n'
}
# gdb_session_verdict LOG GDBLOG RUN-VERDICT: why the session failed.
gdb_session_verdict() {
	local log=$1 gdblog=$2 why=$3 a b c next2 n
	[ -z "$why" ] && ! why=$(expect $gdblog '^Thread 1 hit Breakpoint 1, gdb_break_here \(x=x@entry=1\)' \
		'^COUNTER 7$' '^RDI 1$' '^SYS 1 1 8 10 0$' '^Thread 1 hit Hardware watchpoint 2: gdb_watched$' \
		'^New value = 4660$' '^Thread 1 hit Breakpoint 3, .* in sti_shadow ' '^STI 1$' \
		'^\* 1 +Thread 1 \(VM gdbt vCPU 0 \(paused\)\)' \
		'^  2 +Thread 2 \(VM gdbt vCPU 1 \(paused\)\) .*ap_spin' \
		'^\[Inferior 1 \(Remote target\) detached\]$') && why="$why, see $gdblog"
	# Each stepi ran exactly one instruction: the next two of the
	# disassembly after the breakpoint's address.
	if [ -z "$why" ]; then
		read -r _ a b c < <(grep '^STEPS ' $gdblog)
		next2=$(objdump -d --no-show-raw-insn build/guests/gdb-target.elf |
			sed -n 's/^ *\([0-9a-f]*\):.*/\1/p' | grep -A2 -x "${a:-none}" | tail -n +2 | tr '\n' ' ')
		[ -n "${a:-}" ] && [ "$next2" = "$b $c " ] ||
			why="stepi went ${a:-?} -> ${b:-?} -> ${c:-?}, not to the next two instructions ($next2), see $gdblog"
	fi
	[ -z "$why" ] && ! why=$(expect $log "^kasane: gdb stub detached from VM 'gdbt'; it runs on$" \
		'^\[gdbt\] gdb-target: own int3 and single step work \(a debugger attached\)$' \
		'^\[gdbt\] gdb-target: own debug registers work$') && why="$why, see $log"
	for v in gdbt:gdb-target neighbour:counter; do
		[ -n "$why" ] && break
		why=$(test_verdict $log "passes ${v%%:*} ${v#*:}") && [ -n "$why" ] && why="$why, see $log"
	done
	# The neighbour ran while gdbt stood stopped for gdb: ticks between
	# the attach and the detach.
	if [ -z "$why" ]; then
		a=$(first_line $log "gdb stub on COM2 attached") d=$(first_line $log "gdb stub detached")
		n=$(sed -n "${a},${d}p" $log | grep -c '^\[neighbour\] counter: tick')
		[ "$n" -ge 3 ] || why="the neighbour printed $n ticks while gdbt was debugged, see $log"
	fi
	echo "$why"
}
# gdb_boot_qemu NAME ELF CMDS...: boot $OUT/NAME.cfg under QEMU with COM2
# on a TCP port, then, once the stub has attached to a VM, run gdb on ELF
# with CMDS.  The log is $OUT/NAME.log, gdb's $OUT/NAME-session.log;
# sets QEMU_RC.
gdb_boot_qemu() {
	local name=$1 elf=$2 log=$OUT/$1.log gdblog=$OUT/$1-session.log port qpid i
	local isof=$ISO_CACHE/$1.iso
	shift 2
	rm -f "$log" "$gdblog"
	port=$(free_port)
	if ! sh tools/mkiso.sh "$isof" "loglevel=info" "$OUT/$name.cfg:/boot/kasane.cfg" \
		$(gdb_iso_files "$OUT/$name.cfg"); then
		QEMU_RC=iso
		return
	fi
	setsid timeout -k 5 120 qemu-system-x86_64 $QEMU_ACCEL -M q35 -display none \
		-no-reboot -monitor none -serial "file:$log" \
		-serial "tcp:127.0.0.1:$port,server=on,wait=off" -smp 2 -m 256M \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$isof" -boot d \
		</dev/null >"$log.qemu" 2>&1 &
	qpid=$!
	for i in $(seq 1 600); do
		grep -q "gdb stub on COM2 attached to VM" "$log" 2>/dev/null && break
		sleep 0.1
	done
	timeout -k 5 90 gdb -batch -nx -ex 'set pagination off' -ex 'set confirm off' \
		-ex "target remote 127.0.0.1:$port" "$@" "$elf" >"$gdblog" 2>&1
	wait $qpid
	QEMU_RC=$?
	sed -i 's/\r$//' "$log"
}

# gdb_boot_bochs NAME ELF CMDS...: the same on Bochs's Intel model (VT-x).
# Bochs's COM2 is a TCP server that waits for its client before the
# simulation starts: the harness connects at once and holds the connection
# in fd 3, and gdb, started once the stub has attached, talks through it
# with `target remote | COMMAND`.  Sets QEMU_RC to run_bochs's status
# (Bochs's own is judged by the summary line).
gdb_boot_bochs() {
	local name=$1 elf=$2 log=$OUT/$1.log gdblog=$OUT/$1-session.log live=$PWD/$OUT/$1.live
	local isof=$ISO_CACHE/$1.iso port bpid i
	shift 2
	rm -f "$log" "$gdblog" "$live"
	port=$(free_port)
	if ! sh tools/mkiso.sh "$isof" "loglevel=info" "$OUT/$name.cfg:/boot/kasane.cfg" \
		$(gdb_iso_files "$OUT/$name.cfg"); then
		QEMU_RC=iso
		return
	fi
	BOCHS_COM2="enabled=1, mode=socket-server, dev=127.0.0.1:$port" BOCHS_SERIAL=$live \
		run_bochs "$log" "$isof" 2 256 150 corei7_skylake_x &
	bpid=$!
	for i in $(seq 1 300); do
		{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null && break
		sleep 0.2
	done
	for i in $(seq 1 1200); do
		grep -q "gdb stub on COM2 attached to VM" "$live" 2>/dev/null && break
		sleep 0.1
	done
	timeout -k 5 120 gdb -batch -nx -ex 'set pagination off' -ex 'set confirm off' \
		-ex 'target remote | cat <&3 2>/dev/null & exec cat >&3' "$@" "$elf" >"$gdblog" 2>&1
	exec 3>&-
	wait $bpid
	QEMU_RC=$?
}

# The guests a gdb config names, as mkiso.sh takes them.
gdb_iso_files() {
	sed -n 's|^kernel = /guests/\(.*\)|build/guests/\1:/guests/\1|p' "$1" | sort -u
}

if want 'gdb/session'; then
	gdb_session_cfg >"$OUT/gdb.cfg"
	gdb_boot_qemu gdb build/guests/gdb-target.elf "${GDB_SESSION[@]}"
	why=$(gdb_session_verdict $OUT/gdb.log $OUT/gdb-session.log \
		"$(run_verdict $OUT/gdb.log "$QEMU_RC" 1 0 120)")
	result gdb/session "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# The same session on Bochs's Intel model.
if want 'gdb/session-vmx'; then
	gdb_session_cfg >"$OUT/gdb-vmx.cfg"
	gdb_boot_bochs gdb-vmx build/guests/gdb-target.elf "${GDB_SESSION[@]}"
	why=$(gdb_session_verdict $OUT/gdb-vmx.log $OUT/gdb-vmx-session.log \
		"$(run_verdict $OUT/gdb-vmx.log "$QEMU_RC" any 0 150)")
	result gdb/session-vmx "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# ---- gdb writes registers (core/gdb_regs.c) --------------------------------
# gdb-regs (1 vCPU, gdb = yes) stops at gdb_regs_here; gdb writes RFLAGS,
# ES, FS base, CR0, XMM5 and MXCSR, tries three writes the CPU would refuse
# (a selector past the GDT limit, CR0.PG without PE, a reserved MXCSR bit:
# each must get an error and leave the register as it was), and detaches;
# the guest then reads its registers and prints them.  A raw P of CR3's
# own value (gdb sends none for `set $cr3 = $cr3`) flushes the vCPU's TLB
# as a MOV to CR3 does.  gdb/regs runs on QEMU (AMD-V) with shadow paging,
# where that flush shows in the shadow tables' counters, gdb/regs-vmx on
# Bochs's Intel model (VT-x) with EPT.
GDB_REGS=(-ex 'break *gdb_regs_here' -ex continue
	-ex 'set $eflags = $eflags | 0x40000' -ex 'set $es = 0x10' -ex 'set $es = 0x18'
	-ex 'set $fs_base = 0x123456789a0' -ex 'set $cr0 = $cr0 | 0x40000'
	-ex 'set $cr0 = ($cr0 | 0x80000000) & ~1'
	-ex 'eval "maint packet P3d=%02x%02x%02x%02x%02x%02x%02x%02x", $cr3 & 0xff, ($cr3 >> 8) & 0xff, ($cr3 >> 16) & 0xff, ($cr3 >> 24) & 0xff, ($cr3 >> 32) & 0xff, ($cr3 >> 40) & 0xff, ($cr3 >> 48) & 0xff, $cr3 >> 56'
	-ex 'set $xmm5.v2_int64[0] = 0x1122334455667788'
	-ex 'set $xmm5.v2_int64[1] = 0x99aabbccddeeff00'
	-ex 'set $mxcsr = 0x3f80' -ex 'set $mxcsr = 0x13f80'
	-ex 'maintenance flush register-cache'
	-ex 'printf "REGS %x %x %x %x\n", $es, ($cr0 >> 18) & 1, $cr0 & 0x80000001, $mxcsr'
	-ex detach)
# gdb_regs_cfg PAGING: the VM, on nested or shadow paging.
gdb_regs_cfg() {
	printf '[vm gdbr]\nkernel = /guests/gdb-regs.elf\nmemory = 16M\ngdb = yes\npaging = %s\n' "$1"
}
# gdb_regs_verdict LOG GDBLOG RUN-VERDICT: why the run failed.
gdb_regs_verdict() {
	local log=$1 gdblog=$2 why=$3 n
	[ -z "$why" ] && ! why=$(expect $gdblog '^Breakpoint 1, 0x[0-9a-f]+ in test_main ' \
		'^REGS 10 1 80000001 3f80$' '^received: "OK"$' \
		'^\[Inferior 1 \(Remote target\) detached\]$') &&
		why="$why, see $gdblog"
	# The three refused writes, each its own error.
	if [ -z "$why" ]; then
		n=$(grep -c "^Could not write register .*E16" $gdblog)
		[ "$n" = 3 ] || why="$n refused register writes, not 3, see $gdblog"
	fi
	[ -z "$why" ] && ! why=$(expect $log "^\[gdbr\] gdb-regs: AC 1 ES 10 FSBASE 123456789a0 AM 1 XMM5 1122334455667788:99aabbccddeeff00 MXCSR 3f80$") &&
		why="$why, see $log"
	[ -z "$why" ] && grep -q "^kasane: VM 'gdbr': shadow paging, " $log &&
		! grep -qE "^kasane: VM 'gdbr': shadow paging: .* [1-9][0-9]* flushes" $log &&
		why="the CR3 write flushed no shadow tables, see $log"
	[ -z "$why" ] && why=$(test_verdict $log "passes gdbr gdb-regs") && [ -n "$why" ] &&
		why="$why, see $log"
	echo "$why"
}
if want 'gdb/regs'; then
	gdb_regs_cfg shadow >"$OUT/gdb-regs.cfg"
	gdb_boot_qemu gdb-regs build/guests/gdb-regs.elf "${GDB_REGS[@]}"
	why=$(gdb_regs_verdict $OUT/gdb-regs.log $OUT/gdb-regs-session.log \
		"$(run_verdict $OUT/gdb-regs.log "$QEMU_RC" 1 0 120)")
	result gdb/regs "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi
if want 'gdb/regs-vmx'; then
	gdb_regs_cfg nested >"$OUT/gdb-regs-vmx.cfg"
	gdb_boot_bochs gdb-regs-vmx build/guests/gdb-regs.elf "${GDB_REGS[@]}"
	why=$(gdb_regs_verdict $OUT/gdb-regs-vmx.log $OUT/gdb-regs-vmx-session.log \
		"$(run_verdict $OUT/gdb-regs-vmx.log "$QEMU_RC" any 0 150)")
	result gdb/regs-vmx "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

# The console's `debug NAME` attaches the stub to a running VM, which
# stops; gdb connects, gets an error for an address no
# page maps, continues, interrupts it with Ctrl-C (SIGINT to gdb sends
# 0x03), and detaches: the count goes on and the VM ends with status 0.
gdb_console_driver() {
	wait_for '^\[spin\] counter: tick 3' || return
	printf 'debug spin\r'
	wait_for "^kasane: VM 'spin' stopped for gdb on COM2" || return
	# --foreground: timeout then passes our SIGINT to gdb once.  Without it
	# timeout also signals its whole process group, gdb gets a second
	# Ctrl-C while the first is pending, and in batch mode it answers its
	# "target is not responding to interrupt requests" with a disconnect.
	timeout --foreground -k 5 60 gdb -batch -nx -ex 'set pagination off' -ex "target remote 127.0.0.1:$port" \
		-ex 'info threads' -ex 'x/1xg 0xdead00000000' -ex 'printf "CONTINUE\n"' -ex continue \
		-ex 'printf "STOPPED\n"' -ex detach build/guests/counter.elf >"$gdblog" 2>&1 &
	local g=$!
	# SIGINT once gdb has let the VM run on.
	for i in $(seq 1 300); do grep -q '^CONTINUE' "$gdblog" 2>/dev/null && break; sleep 0.1; done
	sleep 1
	kill -INT $g
	wait $g
	wait_for "^kasane: VM 'spin' ended" || return
}
if want 'gdb/console-attach'; then
	G=build/guests
	cfg=$OUT/gdbcon.cfg
	printf '[vm spin]\nkernel = /guests/counter.elf\nmemory = 8M\ncmdline = ticks=80 period_ms=100\n' >"$cfg"
	log=$OUT/gdbcon.log gdblog=$OUT/gdbcon-session.log
	isof=$ISO_CACHE/gdbcon.iso
	rm -f "$log" "$gdblog"
	port=$(free_port)
	if sh tools/mkiso.sh "$isof" "loglevel=info" "$cfg:/boot/kasane.cfg" $G/counter.elf:/guests/counter.elf; then
		gdb_console_driver | setsid timeout -k 5 120 qemu-system-x86_64 $QEMU_ACCEL -M q35 \
			-display none -no-reboot -monitor none -serial stdio \
			-serial "tcp:127.0.0.1:$port,server=on,wait=off" -smp 2 -m 256M \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$isof" -boot d >"$log" 2>&1
		QEMU_RC=$?
		sed -i 's/\r$//' "$log"
	else
		QEMU_RC=iso
	fi
	why=$(run_verdict $log "$QEMU_RC" 1 0 120)
	[ -z "$why" ] && ! why=$(expect $gdblog '^\* 1 +Thread 1 \(VM spin vCPU 0 \(paused\)\)' \
		'Cannot access memory at address 0xdead00000000$' \
		'^(Program|Thread 1) received signal SIGINT, Interrupt\.$' '^STOPPED$' \
		'^\[Inferior 1 \(Remote target\) detached\]$') && why="$why, see $gdblog"
	[ -z "$why" ] && why=$(test_verdict $log "passes spin counter") && [ -n "$why" ] && why="$why, see $log"
	# It counted on to the end after the detach.
	[ -z "$why" ] && ! why=$(expect $log '^\[spin\] counter: tick 80$') && why="$why, see $log"
	result gdb/console-attach "$([ -z "$why" ] && echo ok || echo fail)" "$why"
fi

echo
# What the failed runs' logs say of why, next to the summary: a CI report
# may keep only the end of this output, and not the logs themselves.
# Each log once (5 at most), its lines that tell why a VM or the host ended
# (8 at most; VMs that ended well left out), so that the excerpts fit in
# the last 60 lines or so.
excerpt_logs() {
	local seen=" " log n=0
	for log in "${failed_logs[@]}"; do
		[[ $seen == *" $log "* ]] && continue
		seen+="$log "
		[ -f "$log" ] || continue
		n=$((n + 1))
		[ $n -le 5 ] || { echo "(more failed logs not excerpted)"; return; }
		echo "---- $log"
		if [ -f "$log.host-before" ] && [ -f "$log.host-after" ]; then
			host_clock_report "$log.host-before" "$log.host-after"
			host_clock_verdict "$log.host-before" "$log.host-after"
		fi
		grep -a -H -m 2 -E "Triple fault|terminating|Segmentation|Abort|assert" "$log.qemu" 2>/dev/null
		grep -a -E "ended|error|Error|ERROR|FAIL|panic|fault|BUG|WARNING|unstable|calibrat|timed out|timeout|refused|NEEDS_RESET|missing|killed" "$log" |
			grep -a -v -E "PASS|SUCCESS|; status 0;|^  [^ ]+ +status 0 " | tail -n 8 | cut -c1-220
	done
}
for x in "${RERUNS[@]}"; do echo "note: $x"; done
if [ ${#failures[@]} -gt 0 ]; then
	excerpt_logs
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
