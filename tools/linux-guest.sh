#!/bin/bash
# The Linux guest of the tests: Debian's own kernel and busybox, fetched with
# apt-get download and cached under build/linux/ (never committed), and an
# initramfs built here around them.
#   build/linux/vmlinuz     the kernel of linux-image-amd64 (a bzImage)
#   build/linux/initrd.img  a newc cpio: busybox, its applet links, /init
#   build/linux/vmlinuz-truncated  its first 4 MB: a corrupted kernel
# /init mounts proc, sys and dev, prints "KASANE-LINUX-INIT ok cpus=N", does
# the checks the kernel command line asks for, and ends the VM.  Its markers
# go to the kernel log (/dev/kmsg, so they appear as "[  T] MARKER" among
# the kernel's lines, written out synchronously even if poweroff follows at
# once, and whatever state the serial driver's interrupts are in):
# It always says "KASANE-LINUX-DMI VENDOR/PRODUCT/SERIAL/BIOS-VENDOR", from the
# SMBIOS tables (/sys/class/dmi/id).
#   kasane.expect_cpus=N   "KASANE-LINUX-CHECK cpus PASS" if N CPUs are
#                          online (nproc and /proc/cpuinfo agree), else FAIL
#   kasane.clock=S         "KASANE-LINUX-CLOCK guest N us host N us drift N
#                          ppm PASS": the wall clock against the ACPI PM
#                          timer over S seconds with every vCPU busy
#                          (tools/linux-clock.c, built static with gcc)
#   kasane.settle=N        sleep N seconds before the action below
#   kasane.action=poweroff (default) | reboot | reboot-once | shell
#                          reboot-once: reboots if CMOS byte 0x7f is not
#                          0x4b and sets it (CMOS RAM survives a reboot),
#                          powers off otherwise; shell: busybox init runs a
#                          shell on the console, and `poweroff` powers off
#   kasane.modules=yes     insmod the kernel modules listed in KMODS below
#                          (with what they depend on, in order) and say
#                          "KASANE-LINUX-CHECK modules PASS" or FAIL
#                          (kasane.net loads the same modules, quietly)
#   kasane.disk=vdX        virtio-blk checks on /dev/vdX, made from
#                          build/linux/disk.img: its first MiB's md5 is the
#                          host's (disk-md5); 64 KiB written at 4 MiB read
#                          back after dropping the page cache (disk-pattern);
#                          mke2fs, mount, write a file, umount, mount, read
#                          it back (disk-ext2: busybox has no mkfs.ext2 name,
#                          its mke2fs makes ext2)
#   kasane.disk_ro=vdX     /dev/vdX is read-only and refuses a write (disk-ro)
#   kasane.hvc=yes         writes "KASANE-HVC0 hello from hvc0" to /dev/hvc0
#   kasane.hwrng=yes       /dev/hwrng is virtio's and gives 64 bytes (hwrng)
# Disk images made here: disk.img (16 MiB; the first MiB is seq's output,
# the rest zeroes), disk-ro.img (1 MiB), disk-odd.img (1000 bytes).
#   kasane.net=IP/LEN kasane.peer=IP kasane.nettest=recv|send|ping|alone
#                          virtio-net: load the modules, give eth0 IP/LEN and
#                          ping the peer ("KASANE-NET ping PASS"); recv: take a
#                          file and its md5 over busybox nc (ports 5000, 5001),
#                          "KASANE-NET md5 PASS|FAIL"; send: send 4 MiB of
#                          random bytes and their md5, and the time that took;
#                          ping: the ping alone; alone: the peer must not
#                          answer ("KASANE-NET isolated PASS|FAIL")
# Usage: tools/linux-guest.sh [OUT-DIR]   (default build/linux); exits non-zero
# with a one-line reason when the packages cannot be fetched or unpacked.
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)
me=$PWD/tools/linux-guest.sh

# Cached: rebuilt only when this script changes.
if [ -s "$out/vmlinuz" ] && [ -s "$out/vmlinuz-truncated" ] && [ -s "$out/initrd.img" ] &&
   [ -s "$out/disk.img" ] && [ "$out/initrd.img" -nt "$me" ] && [ "$out/initrd.img" -nt tools/linux-clock.c ]; then
	exit 0
fi

fail() { echo "linux-guest: $*" >&2; exit 1; }
command -v apt-get >/dev/null || fail "apt-get is missing (a Debian host is needed)"
command -v dpkg-deb >/dev/null || fail "dpkg-deb is missing"

debs=$out/debs
mkdir -p "$debs"
# The metapackage names the versioned image package (linux-image-6.1.0-N-amd64).
image_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1
}
kpkg=$(image_pkg)
# A fresh machine may have no package lists yet (a minimal image): fetch them once.
if [ -z "$kpkg" ]; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq >/dev/null 2>&1
	kpkg=$(image_pkg)
fi
[ -n "$kpkg" ] || fail "apt-cache names no linux-image-*-amd64 for linux-image-amd64 (run apt-get update?)"
have() { ls "$debs"/"$1"_*.deb >/dev/null 2>&1; }
if ! have "$kpkg" || ! have busybox-static; then
	(cd "$debs" && apt-get download "$kpkg" busybox-static >"$debs/download.log" 2>&1) ||
		fail "apt-get download $kpkg busybox-static failed: $(tail -1 "$debs/download.log")"
fi

x=$out/extract
rm -rf "$x"
mkdir -p "$x"
for d in "$debs"/"$kpkg"_*.deb "$debs"/busybox-static_*.deb; do
	dpkg-deb -x "$d" "$x" || fail "cannot unpack $d"
done
cp "$(ls "$x"/boot/vmlinuz-* | head -1)" "$out/vmlinuz.tmp" || fail "no /boot/vmlinuz-* in $kpkg"
bb=$x/bin/busybox
[ -x "$bb" ] || fail "no /bin/busybox in busybox-static"

root=$x/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,mnt,lib/modules}
cp "$bb" "$root/bin/busybox"

# The kernel modules /init loads (kasane.modules=yes, kasane.net): KMODS
# and, first, what each depends on (the depends= field of its .modinfo),
# into /lib/modules with their load order in /lib/modules/order.
KMODS="virtio_pci virtio_blk virtio_console virtio-rng virtio_net crc32c_generic ext4"
kmoddir=$(ls -d "$x"/lib/modules/*/kernel | head -1)
[ -d "$kmoddir" ] || fail "no /lib/modules/*/kernel in $kpkg"
# NAME PATH per module, '-' in names read as '_' (as modprobe does).
find "$kmoddir" -name '*.ko' | awk -F/ '{ n = $NF; sub(/\.ko$/, "", n); gsub(/-/, "_", n); print n, $0 }' >"$x/kmods"
kmod_path() {   # kmod_path NAME: its .ko
	local f
	f=$(awk -v n="${1//-/_}" '$1 == n { print $2; exit }' "$x/kmods")
	[ -n "$f" ] || fail "kernel module $1 not in $kpkg"
	echo "$f"
}
kmod_add() {    # kmod_add NAME: its dependencies, then itself, once each
	local k d
	k=$(kmod_path "$1")
	grep -qx "$(basename "$k")" "$root/lib/modules/order" 2>/dev/null && return 0
	for d in $(tr '\0' '\n' <"$k" | sed -n 's/^depends=//p' | head -1 | tr ',' ' '); do
		kmod_add "$d"
	done
	cp "$k" "$root/lib/modules/"
	basename "$k" >>"$root/lib/modules/order"
}
: >"$root/lib/modules/order"
for m in $KMODS; do kmod_add "$m"; done

# The virtio-blk test disks; the guest compares the first MiB's md5 with the host's.
seq 1 200000 | head -c 1048576 >"$out/disk.img.tmp"
md5sum <"$out/disk.img.tmp" | cut -d' ' -f1 >"$root/etc/kasane-disk.md5"
cp "$out/disk.img.tmp" "$out/disk-ro.img.tmp"
truncate -s 16M "$out/disk.img.tmp"
head -c 1000 "$out/disk-ro.img.tmp" >"$out/disk-odd.img"
mv "$out/disk.img.tmp" "$out/disk.img"
mv "$out/disk-ro.img.tmp" "$out/disk-ro.img"
# One link per applet, where busybox says it belongs.
"$bb" --list-full | while read -r a; do
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done
gcc -static -O2 -Wall -o "$root/bin/kasane-clock" tools/linux-clock.c ||
	fail "cannot build tools/linux-clock.c statically (gcc and libc6-dev are needed)"
cat >"$root/init" <<'EOF'
#!/bin/sh
# kasane's Linux test init (tools/linux-guest.sh).
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
say() { echo "<2>$*" 2>/dev/null >/dev/kmsg || echo "$*"; }
arg() {         # arg NAME: the value of kasane.NAME= on the kernel command line
	for w in $(cat /proc/cmdline); do
		case $w in "kasane.$1="*) echo "${w#*=}"; return ;; esac
	done
}
cpus=$(nproc)
say "KASANE-LINUX-INIT ok cpus=$cpus"
# What the firmware's SMBIOS tables say (Linux's DMI): vendor/product/serial.
dmi() { cat "/sys/class/dmi/id/$1" 2>/dev/null; }
say "KASANE-LINUX-DMI $(dmi sys_vendor)/$(dmi product_name)/$(dmi product_serial)/$(dmi bios_vendor)"
want=$(arg expect_cpus)
if [ -n "$want" ]; then
	info=$(grep -c '^processor' /proc/cpuinfo)
	if [ "$cpus" = "$want" ] && [ "$info" = "$want" ]; then
		say "KASANE-LINUX-CHECK cpus PASS ($want)"
	else
		say "KASANE-LINUX-CHECK cpus FAIL (nproc $cpus, /proc/cpuinfo $info, expected $want)"
	fi
fi
secs=$(arg clock)
[ -n "$secs" ] && say "KASANE-LINUX-CLOCK $(kasane-clock "$secs" 2>&1)"
# CMOS byte 0x7f through /dev/port: index port 0x70, data port 0x71.
cmos_get() { printf '\177' | dd of=/dev/port bs=1 seek=112 2>/dev/null
	dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
cmos_set() { printf '\177' | dd of=/dev/port bs=1 seek=112 2>/dev/null
	printf "$1" | dd of=/dev/port bs=1 seek=113 2>/dev/null; }
check() { if [ "$2" = 0 ]; then say "KASANE-LINUX-CHECK $1 PASS"; else say "KASANE-LINUX-CHECK $1 FAIL${3:+ ($3)}"; fi; }
# The modules of /lib/modules/order not loaded yet, in order; prints those
# insmod refused.
load_modules() {
	bad=""
	for m in $(cat /lib/modules/order); do
		n=$(echo "${m%.ko}" | tr - _)
		grep -q "^$n " /proc/modules && continue
		insmod "/lib/modules/$m" 2>/dev/null || bad="$bad $m"
	done
	echo "$bad"
}
if [ "$(arg modules)" = yes ]; then
	bad=$(load_modules)
	check modules "$([ -z "$bad" ]; echo $?)" "insmod failed:$bad"
	mdev -s 2>/dev/null
fi
d=$(arg disk)
if [ -n "$d" ]; then
	sum=$(dd if=/dev/$d bs=1M count=1 2>/dev/null | md5sum | cut -d' ' -f1)
	check disk-md5 "$([ "$sum" = "$(cat /etc/kasane-disk.md5)" ]; echo $?)" "$sum"
	seq 7 20000 | head -c 65536 >/tmp/pat
	dd if=/tmp/pat of=/dev/$d bs=4096 seek=1024 conv=fsync 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/$d of=/tmp/back bs=4096 skip=1024 count=16 2>/dev/null
	cmp -s /tmp/pat /tmp/back
	check disk-pattern $?
	r=1
	if mke2fs -q /dev/$d >/dev/null 2>&1 && mount -t ext2 /dev/$d /mnt; then
		echo "kasane ext2 file" >/mnt/f && umount /mnt && echo 3 >/proc/sys/vm/drop_caches &&
			mount -t ext2 /dev/$d /mnt && [ "$(cat /mnt/f)" = "kasane ext2 file" ] && r=0
		umount /mnt 2>/dev/null
	fi
	check disk-ext2 $r
fi
d=$(arg disk_ro)
if [ -n "$d" ]; then
	r=1
	if [ "$(cat /sys/block/$d/ro)" = 1 ] &&
	   ! dd if=/dev/zero of=/dev/$d bs=512 count=1 conv=fsync 2>/dev/null; then r=0; fi
	check disk-ro $r
fi
if [ "$(arg hvc)" = yes ]; then
	echo "KASANE-HVC0 hello from hvc0" >/dev/hvc0
fi
if [ "$(arg hwrng)" = yes ]; then
	n=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)
	cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
	check hwrng "$([ "$n" = 64 ] && [ "${cur#virtio_rng}" != "$cur" ]; echo $?)" "$n bytes from $cur"
fi
# virtio-net between VMs (kasane.net, kasane.peer, kasane.nettest).
net=$(arg net)
if [ -n "$net" ]; then
	bad=$(load_modules)
	[ -z "$bad" ] || say "KASANE-NET modules FAIL:$bad"
	ip addr add "$net" dev eth0 && ip link set eth0 up || say "KASANE-NET eth0 FAIL"
	peer=$(arg peer)
	pings() {       # pings N: up to N one-second tries; true on the first answer
		i=0
		while [ $i -lt "$1" ]; do
			ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && return 0
			i=$((i + 1))
		done
		return 1
	}
	case $(arg nettest) in
	alone)
		if pings 5; then say "KASANE-NET isolated FAIL"; else say "KASANE-NET isolated PASS"; fi ;;
	recv)
		pings 120 && say "KASANE-NET ping PASS" || say "KASANE-NET ping FAIL"
		timeout 120 nc -l -p 5000 -e /bin/kasane-save /tmp/file
		timeout 60 nc -l -p 5001 -e /bin/kasane-save /tmp/sum
		got=$(md5sum </tmp/file | cut -d' ' -f1)
		size=$(wc -c </tmp/file)
		if [ "$got" = "$(cat /tmp/sum)" ]; then
			say "KASANE-NET md5 PASS $got ($size bytes)"
		else
			say "KASANE-NET md5 FAIL got $got ($size bytes), sent $(cat /tmp/sum)"
		fi ;;
	send)
		pings 120 && say "KASANE-NET ping PASS" || say "KASANE-NET ping FAIL"
		dd if=/dev/urandom of=/tmp/file bs=64k count=64 2>/dev/null
		md5sum </tmp/file | cut -d' ' -f1 >/tmp/sum
		ms() { read -r up _ </proc/uptime; echo $((${up%.*} * 1000 + 10 * 1${up#*.} - 1000)); }
		say "KASANE-NET send start"
		t0=$(ms)
		for f in file:5000 sum:5001; do
			i=0
			until timeout 120 nc -w 5 "$peer" "${f#*:}" <"/tmp/${f%:*}"; do
				i=$((i + 1)); [ $i -lt 30 ] || break; sleep 1
			done
		done
		say "KASANE-NET sent $(cat /tmp/sum) in $(($(ms) - t0)) ms" ;;
	ping)
		pings 120 && say "KASANE-NET ping PASS" || say "KASANE-NET ping FAIL" ;;
	esac
	cat /sys/class/net/eth0/statistics/rx_packets /sys/class/net/eth0/statistics/tx_packets \
		2>/dev/null | tr '\n' ' ' | sed 's/^/KASANE-NET eth0 rx tx: /' | while read -r l; do say "$l"; done
fi
# kasane.settle=N: N seconds of the guest's own time before the action, for
# tests of what the kernel does a while after boot (the TSC's refined
# calibration runs about two seconds after the clocksource registers).
n=$(arg settle)
case $n in ''|*[!0-9]*) ;; *) sleep "$n" ;; esac
action=$(arg action)
case ${action:-poweroff} in
reboot)
	say "KASANE-LINUX-ACTION reboot"
	reboot -f ;;
reboot-once)
	if [ "$(cmos_get)" != 4b ]; then
		cmos_set K
		say "KASANE-LINUX-ACTION reboot (first boot)"
		reboot -f
	fi
	cmos_set '\000'
	say "KASANE-LINUX-ACTION poweroff (second boot)"
	poweroff -f ;;
shell)
	say "KASANE-LINUX-ACTION shell"
	# busybox init as PID 1: a shell on the console, respawned, and a
	# `poweroff` typed there shuts down through ACPI.
	printf '::respawn:-/bin/cttyhack /bin/sh\n' >/etc/inittab
	exec /sbin/init ;;
*)
	say "KASANE-LINUX-ACTION poweroff"
	poweroff -f ;;
esac
EOF
chmod 755 "$root/init"
# kasane-save FILE: what busybox nc -e hands it (the connection) into FILE.
printf '#!/bin/sh\ncat >"$1"\n' >"$root/bin/kasane-save"
chmod 755 "$root/bin/kasane-save"
(cd "$root" && find . | LC_ALL=C sort | "$bb" cpio -o -H newc >"$out/initrd.img.tmp" 2>/dev/null) ||
	fail "cpio of the initramfs failed"
head -c 4000000 "$out/vmlinuz.tmp" >"$out/vmlinuz-truncated"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.img.tmp" "$out/initrd.img"
rm -rf "$x"
echo "linux-guest: $out/vmlinuz ($kpkg), $out/initrd.img"
