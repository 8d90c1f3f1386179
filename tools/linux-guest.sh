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
#   kasane.expect_cpus=N   "KASANE-LINUX-CHECK cpus PASS" if N CPUs are
#                          online (nproc and /proc/cpuinfo agree), else FAIL
#   kasane.clock=S         "KASANE-LINUX-CLOCK guest N us host N us drift N
#                          ppm PASS": the wall clock against the ACPI PM
#                          timer over S seconds with every vCPU busy
#                          (tools/linux-clock.c, built static with gcc)
#   kasane.action=poweroff (default) | reboot | reboot-once | shell
#                          reboot-once: reboots if CMOS byte 0x7f is not
#                          0x4b and sets it (CMOS RAM survives a reboot),
#                          powers off otherwise; shell: busybox init runs a
#                          shell on the console, and `poweroff` powers off
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
   [ "$out/initrd.img" -nt "$me" ] && [ "$out/initrd.img" -nt tools/linux-clock.c ]; then
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
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc}
cp "$bb" "$root/bin/busybox"
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
(cd "$root" && find . | LC_ALL=C sort | "$bb" cpio -o -H newc >"$out/initrd.img.tmp" 2>/dev/null) ||
	fail "cpio of the initramfs failed"
head -c 4000000 "$out/vmlinuz.tmp" >"$out/vmlinuz-truncated"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.img.tmp" "$out/initrd.img"
rm -rf "$x"
echo "linux-guest: $out/vmlinuz ($kpkg), $out/initrd.img"
