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
