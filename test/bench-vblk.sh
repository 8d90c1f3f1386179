#!/bin/bash
# The virtio-blk section of `make bench` (test/run-bench.sh runs it; it also
# runs alone): one Debian guest (1 vCPU, 256M) reads and writes a 64 MiB disk,
# booted directly by QEMU with QEMU's own virtio-blk-pci, then as a kasane
# VM (on QEMU's AMD SVM under multi-threaded TCG) with kasane's virtio-blk.
#   - sequential 4 KiB and 64 KiB reads and writes with busybox dd and
#     O_DIRECT, timed by the guest's CLOCK_MONOTONIC: MiB/s, and kasane as
#     a fraction of bare QEMU;
#   - 128 MiB of 4 KiB reads at queue depth 32 (32 threads, each a pread on
#     its own O_DIRECT descriptor: test/bench/blkbench.c): exits per request, from
#     kasane's `stats -j` typed on its console just before and just after
#     (the guest idles 5 s on each side) and the requests the guest's
#     /sys/block/vda/stat counts in between.  Goal <= 0.1.
# Figures beside their goals, never pass/fail; exit status 1 only if a run
# gave no figures.  The bench's initramfs is the test one (tools/linux-guest.sh)
# with its own /init and the static helper added.
set -u
cd "$(dirname "$0")/.."
OUT=build/bench
mkdir -p "$OUT"
broke=0
L=build/linux
echo "virtio-blk: one Debian guest (1 vCPU), bare QEMU's virtio-blk-pci beside kasane's (TCG):"
sh tools/linux-guest.sh >/dev/null 2>&1 || true
bb=$(ls $L/debs/busybox-static_*.deb 2>/dev/null | head -1)
if [ ! -f $L/vmlinuz ] || [ ! -f $L/initrd.img ] || [ -z "$bb" ]; then
	echo "bench: vblk: no figures (tools/linux-guest.sh could not fetch the guest)"
	exit 1
fi

# ---- the bench's initramfs: the test one, its /init replaced, kbench added ----
root=$OUT/vblk-root
rm -rf "$root" "$OUT/vblk-bb"
mkdir -p "$root" "$OUT/vblk-bb"
dpkg-deb -x "$bb" "$OUT/vblk-bb" || exit 1
BBX=$PWD/$OUT/vblk-bb/bin/busybox
(cd "$root" && "$BBX" cpio -id <"$OLDPWD/$L/initrd.img" 2>/dev/null) || exit 1
gcc -static -O2 -Wall -pthread test/bench/blkbench.c -o "$root/bin/kbench" || exit 1
cat >"$root/init" <<'EOF'
#!/bin/sh
# The virtio-blk bench's init (test/bench-vblk.sh).
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
say() { echo "<2>KASANE-BLK $*" >/dev/kmsg; }
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m" 2>/dev/null; done
mdev -s 2>/dev/null
d=/dev/vda
[ -b $d ] || { say "no $d"; poweroff -f; }
reads() { read -r n _ </sys/block/vda/stat; echo "$n"; }
# seq OP BS COUNT: dd with O_DIRECT, "seq OP BS BYTES US"
seq_dd() {
	t0=$(kbench now)
	if [ "$1" = read ]; then
		dd if=$d of=/dev/null bs=$2 count=$3 iflag=direct 2>/dev/null
	else
		dd if=/dev/zero of=$d bs=$2 count=$3 oflag=direct 2>/dev/null
	fi || say "dd $1 $2 failed"
	t1=$(kbench now)
	say "seq $1 $2 $(($2 * $3)) $((t1 - t0))"
}
seq_dd read 4096 4096
seq_dd read 65536 1024
seq_dd write 4096 4096
seq_dd write 65536 1024
say "qd32 wait"
sleep 5
r0=$(reads)
out=$(kbench qd $d 32 4096 134217728)
r1=$(reads)
say "qd32 end $out, $((r1 - r0)) requests"
sleep 5
say "done"
poweroff -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | "$BBX" cpio -o -H newc >"$OLDPWD/$OUT/vblk-initrd.img" 2>/dev/null) ||
	exit 1
rm -f "$OUT/vblk-disk.img"
truncate -s 64M "$OUT/vblk-disk.img"
CMDLINE="console=ttyS0 loglevel=5"

# ---- bare QEMU ---------------------------------------------------------------
cp "$OUT/vblk-disk.img" "$OUT/vblk-bare.img"
setsid timeout -k 5 900 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -M q35 -smp 1 \
	-m 256M -display none -no-reboot -monitor none -serial "file:$OUT/vblk-bare.log" \
	-drive file="$OUT/vblk-bare.img",if=none,format=raw,cache=unsafe,id=d0 \
	-device virtio-blk-pci,drive=d0,disable-legacy=on \
	-kernel $L/vmlinuz -initrd "$OUT/vblk-initrd.img" -append "$CMDLINE" </dev/null >/dev/null 2>&1
sed -i 's/\r$//' "$OUT/vblk-bare.log"

# ---- kasane ------------------------------------------------------------------
log=$OUT/vblk-vm.log
printf '[vm vblk]\nkernel = /linux/vmlinuz\ninitrd = /linux/vblk-initrd.img\nmemory = 256M\ncpu = 1\ndisk = /linux/vblk.img\ncmdline = %s\n' \
	"$CMDLINE" >"$OUT/vblk.cfg"
sh tools/mkiso.sh "$OUT/vblk.iso" "loglevel=info" "$OUT/vblk.cfg:/boot/kasane.cfg" \
	$L/vmlinuz:/linux/vmlinuz "$OUT/vblk-initrd.img:/linux/vblk-initrd.img" \
	"$OUT/vblk-disk.img:/linux/vblk.img" || exit 1
. test/bench-lib.sh
# wait_for REGEX: until a log line matches (at most 15 min) or the run ended.
wait_for() { log_wait "$log" "$1" 900; }
# Types `stats -j vblk` around the queue-depth-32 run.
drive_stats() {
	wait_for 'KASANE-BLK qd32 wait' || return
	printf 'stats -j vblk\r'
	wait_for 'KASANE-BLK qd32 end' || return
	printf 'stats -j vblk\r'
	wait_for '^kasane: all VMs ended'
}
rm -f "$log"
drive_stats | setsid timeout -k 5 900 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -M q35 \
	-smp 2 -m 1G -display none -no-reboot -monitor none -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$OUT/vblk.iso" -boot d >"$log" 2>&1
sed -i 's/\r$//' "$log"

# ---- figures -----------------------------------------------------------------
# seq LOG OP BS -> "BYTES US"
seq_of() { sed -n "s/.*KASANE-BLK seq $2 $3 \([0-9]*\) \([0-9]*\)$/\1 \2/p" "$1" | head -1; }
for op in read write; do
	for bs in 4096 65536; do
		read -r bb bu < <(seq_of "$OUT/vblk-bare.log" $op $bs)
		read -r kb ku < <(seq_of "$log" $op $bs)
		if [ -z "${bu:-}" ] || [ -z "${ku:-}" ]; then
			echo "bench: vblk seq $op $bs: no figure (see $OUT/vblk-bare.log, $log)"
			broke=1
			continue
		fi
		awk -v op=$op -v bs=$((bs / 1024)) -v bb="$bb" -v bu="$bu" -v kb="$kb" -v ku="$ku" 'BEGIN {
			b = bb / 1048576 / (bu / 1e6); k = kb / 1048576 / (ku / 1e6)
			printf "bench: vblk seq %-5s %2d KiB: bare %7.2f MiB/s, kasane %7.2f MiB/s: kasane %.2f of bare (no goal)\n",
				op, bs, b, k, k / b }'
	done
done
# The two stats -j summary lines after the "qd32 wait" marker; the first
# must come before "qd32 end" (and in fact comes while the guest sleeps).
sum_lines=$(grep -nE '^\{"vm":"vblk","state"' "$log" | head -2)
n_wait=$(grep -nE 'KASANE-BLK qd32 end' "$log" | head -1 | cut -d: -f1)
e0=$(sed -n '1s/.*"exits":\([0-9]*\).*/\1/p' <<<"$sum_lines")
l0=$(sed -n '1s/:.*//p' <<<"$sum_lines")
e1=$(sed -n '2s/.*"exits":\([0-9]*\).*/\1/p' <<<"$sum_lines")
qd=$(sed -n 's/.*KASANE-BLK qd32 end \([0-9]*\) bytes in \([0-9]*\) us, \([0-9]*\) requests$/\1 \2 \3/p' "$log" | head -1)
qdb=$(sed -n 's/.*KASANE-BLK qd32 end \([0-9]*\) bytes in \([0-9]*\) us, \([0-9]*\) requests$/\1 \2 \3/p' \
	"$OUT/vblk-bare.log" | head -1)
if [ -z "$e0" ] || [ -z "$e1" ] || [ -z "$qd" ] || [ -z "$n_wait" ] || [ "$l0" -gt "$n_wait" ]; then
	echo "bench: vblk qd32: no figure (see $log)"
	broke=1
else
	read -r qbytes qus qreq <<<"$qd"
	read -r bbytes bus _ <<<"${qdb:-0 0 0}"
	awk -v e="$((e1 - e0))" -v r="$qreq" -v kb="$qbytes" -v ku="$qus" -v bb="$bbytes" -v bu="$bus" 'BEGIN {
		x = r > 0 ? e / r : e
		printf "bench: vblk qd32 exits per 4 KiB request %.3f (goal <= 0.1): %s  [%d exits, %d requests]\n",
			x, (r > 0 && x <= 0.1) ? "met" : "NOT met", e, r
		k = kb / 1048576 / (ku / 1e6)
		if (bu > 0) {
			b = bb / 1048576 / (bu / 1e6)
			printf "bench: vblk qd32 4 KiB reads: bare %.2f MiB/s, kasane %.2f MiB/s: kasane %.2f of bare (no goal)\n", b, k, k / b
		} else
			printf "bench: vblk qd32 4 KiB reads: kasane %.2f MiB/s (no bare figure)\n", k
	}'
	# Where the exits went, by reason (the two stats -j views), each also
	# per request.
	grep -E '^\{"vm":"vblk","exit"' "$log" | awk -F'"' -v r="$qreq" '{
		split($0, a, "\"count\":"); split(a[2], c, ","); n[$8] = (n[$8] == "" ? c[1] : c[1] - n[$8]) }
		END { s = ""; for (k in n) if (n[k] > 0)
			s = s (s == "" ? "" : ", ") sprintf("%s %d (%.3f)", k, n[k], r > 0 ? n[k] / r : 0)
		      print "  exits by reason during the run (per request): " s }'
fi
exit $broke
