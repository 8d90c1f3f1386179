#!/bin/bash
# Where the instructions of an exit path go: boots ISO on QEMU under
# -icount shift=0,sleep=off (as make bench does) with the plugin
# tools/icount-trace.c, stops the record at the HIT-th execution of the
# guest instruction at TRIGGER (first opcode byte BYTE), and prints the
# instructions before it function by function, host (H, kasane.elf) and
# guest (G, GUEST.elf; the ISO's own kasane.elf for H) told apart by kasane's VMRUN: what follows it is the
# guest, until the instruction after it (where #VMEXIT returns).
#
# Usage: tools/icount-trace.sh ISO GUEST.elf TRIGGER BYTE HIT [WINDOW]
#   WINDOW  how many instructions up to the trigger to break down; default:
#           since the trigger's previous execution (one loop round trip).
# E.g. one CPUID round trip of bench-exits (after make bench):
#   objdump -d build/guests/bench-exits.elf | grep cpuid      -> 200096
#   tools/icount-trace.sh build/bench/exits.iso build/guests/bench-exits.elf 0x200096 0x0f 5000
# For a timer sample of bench-timer: TRIGGER = the handler's RDTSC,
# WINDOW = that sample's latency + 3 (bench-timer: ... samples: lines).
# Needs gcc, python3, binutils, xorriso; writes build/trace/.
set -eu
[ $# -ge 5 ] || { sed -n '2,/^set/p' "$0" | sed '$d'; exit 2; }
iso=$1 guest=$2 trigger=$3 byte=$4 hit=$5 window=${6:-0}
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/trace
mkdir -p "$out"
so=$out/icount-trace.so
[ "$so" -nt "$top/tools/icount-trace.c" ] ||
	gcc -O2 -Wall -shared -fPIC -fvisibility=hidden -o "$so" "$top/tools/icount-trace.c"
# The hypervisor the ISO boots, for its symbols.
hv=$out/kasane.elf
rm -f "$hv"
xorriso -osirrox on -indev "$iso" -extract /boot/kasane.elf "$hv" >/dev/null 2>&1 ||
	{ echo "no /boot/kasane.elf in $iso" >&2; exit 1; }
vmrun=$(objdump -d --no-show-raw-insn "$hv" |
	awk '$2 == "vmrun" { sub(":", "", $1); print $1; exit }')
[ -n "$vmrun" ] || { echo "no VMRUN in $iso's kasane.elf" >&2; exit 1; }
rec=$out/record.txt
rm -f "$rec"
timeout -k 5 600 qemu-system-x86_64 -accel tcg -cpu max -M q35 -smp 1 -m 256M \
	-icount shift=0,sleep=off -seed 1 -rtc base=2024-01-01T00:00:00,clock=vm \
	-display none -no-reboot -monitor none -serial "file:$out/serial.log" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$iso" -boot d \
	-plugin "$so,trigger=$trigger,byte=$byte,hit=$hit,depth=1000000,out=$rec" \
	</dev/null >/dev/null 2>&1 || true
[ -s "$rec" ] || { echo "the trigger did not run $hit times (see $out/serial.log)" >&2; exit 1; }
python3 - "$rec" "$hv" "$guest" "$vmrun" "$trigger" "$window" <<'EOF'
import bisect, subprocess, sys
rec, host_elf, guest_elf = sys.argv[1:4]
vmrun, trigger, window = int(sys.argv[4], 16), int(sys.argv[5], 0), int(sys.argv[6])

def symbols(elf):
    out = subprocess.run(['nm', '-n', elf], capture_output=True, text=True).stdout
    s = [(int(w[0], 16), w[2]) for w in (l.split() for l in out.splitlines())
         if len(w) == 3 and w[1] in 'TtWw']
    return [a for a, _ in s], [n for _, n in s]

def name(tab, a):
    i = bisect.bisect_right(tab[0], a) - 1
    return tab[1][i] if i >= 0 else hex(a)

addrs = [int(l, 16) for l in open(rec)]
# Mode before the first world switch in the record: whichever comes first.
mode = next(('H' if a == vmrun else 'G' for a in addrs if a in (vmrun, vmrun + 3)), 'H')
modes = []
for a in addrs:
    if a == vmrun + 3:
        mode = 'H'
    modes.append(mode)
    if a == vmrun:
        mode = 'G'
if window <= 0:
    prev = [i for i, a in enumerate(addrs[:-1]) if a == trigger and modes[i] == 'G']
    window = len(addrs) - 1 - prev[-1] if prev else len(addrs)
tabs = {'H': symbols(host_elf), 'G': symbols(guest_elf)}
runs, totals = [], {}
for a, m in list(zip(addrs, modes))[-window:]:
    f = m + ' ' + name(tabs[m], a)
    totals[f] = totals.get(f, 0) + 1
    if runs and runs[-1][0] == f:
        runs[-1][1] += 1
    else:
        runs.append([f, 1])
print('%d instructions up to and including the trigger, in order:' % window)
for f, n in runs:
    print('%7d  %s' % (n, f))
print('by function:')
for f, n in sorted(totals.items(), key=lambda x: -x[1]):
    print('%7d  %s' % (n, f))
for m, what in (('H', 'host (kasane)'), ('G', 'guest')):
    print('%7d  %s' % (sum(n for f, n in totals.items() if f[0] == m), what))
EOF
