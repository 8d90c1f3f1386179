#!/bin/bash
# kasane benchmarks: figures, not pass/fail.  Exit-path costs run under
# -icount shift=0,sleep=off, where the guest TSC counts instructions, so the
# figures are deterministic (EMULATORS.md).
set -u
cd "$(dirname "$0")/.."
OUT=build/bench
mkdir -p "$OUT"
G=build/guests

printf '[vm spin]\nkernel = /guests/spin.elf\nmemory = 16M\ncpu = 0\n' >"$OUT/spin.cfg"
sh tools/mkiso.sh "$OUT/spin.iso" "loglevel=info" "$OUT/spin.cfg:/boot/kasane.cfg" \
	"$G/spin.elf:/guests/spin.elf" || exit 1
setsid timeout -k 5 600 qemu-system-x86_64 -accel tcg -cpu max -M q35 -smp 1 -m 256M \
	-icount shift=0,sleep=off -seed 1 -rtc base=2024-01-01T00:00:00,clock=vm \
	-display none -no-reboot -monitor none -serial "file:$OUT/spin.log" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$OUT/spin.iso" -boot d \
	</dev/null >/dev/null 2>&1
sed -i 's/\r$//' "$OUT/spin.log"

figure() {      # figure NAME GOAL
	local v
	v=$(sed -n "s/^\[spin\] bench: $1 \([0-9][0-9]*\).*/\1/p" "$OUT/spin.log" | head -1)
	if [ -z "$v" ]; then
		echo "bench: $1: no figure (see $OUT/spin.log)"
		return
	fi
	printf 'bench: %-10s %6s ticks per round trip (goal <= %s)%s\n' "$1" "$v" "$2" \
		"$([ "$v" -le "$2" ] && echo '' || echo ', above goal')"
}
echo "exit-path round trips under -icount shift=0 (1 tick = 1 instruction):"
figure vmmcall 50
figure uart-out 150
v=$(sed -n 's/^\[spin\] bench: cpuid \([0-9][0-9]*\).*/\1/p' "$OUT/spin.log" | head -1)
echo "bench: cpuid      ${v:-?} ticks per round trip (for comparison: the generic exit path)"

# ---- performance isolation: an exclusively pinned "scanner" VM ------------
# Runs under multi-threaded TCG (icount would serialize the CPUs), on 2
# CPUs: the scanner owns CPU 1, the noisy VMs share CPU 0.  Alone first,
# then with noise; the figures compare the scanner's own chunk timings.
scan_run() {    # scan_run NAME CFG -> $OUT/NAME.log
	sh tools/mkiso.sh "$OUT/$1.iso" "loglevel=info" "$2:/boot/kasane.cfg" \
		"$G/scanner.elf:/guests/scanner.elf" "$G/noisy.elf:/guests/noisy.elf" || return 1
	setsid timeout -k 5 900 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -M q35 -smp 2 \
		-m 512M -display none -no-reboot -monitor none -serial "file:$OUT/$1.log" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$OUT/$1.iso" -boot d \
		</dev/null >/dev/null 2>&1
	sed -i 's/\r$//' "$OUT/$1.log"
}
SCAN='[vm scanner]\nkernel = /guests/scanner.elf\nmemory = 16M\ncpu = 1\nexclusive = yes\ncmdline = chunks=40 chunk_iters=2000000\n\n'
printf "$SCAN" >"$OUT/alone.cfg"
{ printf "$SCAN"
  printf '[vm spin]\nkernel = /guests/noisy.elf\nmemory = 8M\ncpu = 0\ncmdline = mode=spin iters=400000000\n\n'
  printf '[vm exits]\nkernel = /guests/noisy.elf\nmemory = 8M\ncpu = 0\ncmdline = mode=exits iters=400000\n\n'
  printf '[vm ipis]\nkernel = /guests/noisy.elf\nmemory = 8M\ncpu = 0\ncmdline = mode=ipi iters=400000\n\n'
} >"$OUT/noisy.cfg"
scan_run alone "$OUT/alone.cfg"
scan_run noisy "$OUT/noisy.cfg"
total() { sed -n 's/^\[scanner\] scanner: total \([0-9]*\) min \([0-9]*\) max \([0-9]*\).*/\1 \2 \3/p' "$1"; }
read -r ta mina maxa < <(total "$OUT/alone.log")
read -r tn minn maxn < <(total "$OUT/noisy.log")
echo "performance isolation (scanner pinned exclusively to CPU 1, noise on CPU 0):"
if [ -z "${ta:-}" ] || [ -z "${tn:-}" ]; then
	echo "bench: isolation: no figures (see $OUT/alone.log, $OUT/noisy.log)"
else
	awk -v ta="$ta" -v tn="$tn" -v mina="$mina" -v maxa="$maxa" -v minn="$minn" -v maxn="$maxn" 'BEGIN {
		printf "bench: isolation slowdown %+.2f %% (goal <= 1 %%): %d ticks alone, %d with noise\n",
			(tn / ta - 1) * 100, ta, tn
		printf "bench: isolation jitter   max/min chunk %.3f alone, %.3f with noise\n",
			maxa / mina, maxn / minn
	}'
fi
