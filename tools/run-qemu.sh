#!/bin/sh
# Boot a kasane ISO in QEMU with the serial console on this terminal.
# Usage: run-qemu.sh ISO SMP MEM [EXTRA QEMU ARGS...]
# FIRMWARE=bios (the default: SeaBIOS) or FIRMWARE=uefi (Debian's OVMF,
# package ovmf, with a private writable copy of its variable store).
# Uses KVM when /dev/kvm offers nested SVM or VMX, else TCG with -cpu max
# (which emulates AMD SVM).
#
# Exit status: kasane ends the run through isa-debug-exit, and QEMU then
# exits with (v << 1) | 1 for the value v kasane wrote.  This script maps it:
#   0  every VM ended with status 0    (kasane wrote 0, QEMU exited 1)
#   1  a VM ended with another status  (kasane wrote 1, QEMU exited 3)
#   2  kasane panicked                 (kasane wrote 3, QEMU exited 7)
#   3  no status from kasane: QEMU was quit by hand (Ctrl-A x), powered
#      off, failed to start, or was killed
iso=$1 smp=$2 mem=$3; shift 3
. "$(dirname "$0")/qemu-accel.sh"

OVMF_DIR=${OVMF_DIR:-/usr/share/OVMF}
fw=""
vars=""
case ${FIRMWARE:-bios} in
bios) ;;
uefi)
	code=$OVMF_DIR/OVMF_CODE_4M.fd
	if [ ! -r "$code" ] || [ ! -r "$OVMF_DIR/OVMF_VARS_4M.fd" ]; then
		echo "run-qemu: FIRMWARE=uefi needs $code and OVMF_VARS_4M.fd (Debian package ovmf)" >&2
		exit 3
	fi
	# The variable store is written by the firmware: each run gets its own.
	vars=$(mktemp "${TMPDIR:-/tmp}/kasane-ovmf-vars.XXXXXX") || exit 3
	trap 'rm -f "$vars"' EXIT
	trap 'exit 3' HUP INT TERM
	cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$vars" || exit 3
	fw="-drive if=pflash,format=raw,unit=0,readonly=on,file=$code
	    -drive if=pflash,format=raw,unit=1,file=$vars"
	;;
*)
	echo "run-qemu: FIRMWARE must be bios or uefi, not '$FIRMWARE'" >&2
	exit 3
	;;
esac

# $fw and $QEMU_ACCEL are split into words on purpose; the paths in them
# come from OVMF_DIR and mktemp.
qemu-system-x86_64 $QEMU_ACCEL -smp "$smp" -m "$mem" -M q35 $fw \
	-nographic -no-reboot -cdrom "$iso" -boot d \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@"
rc=$?
case $rc in
1) exit 0 ;;
3) echo "run-qemu: a VM ended with a non-zero status (QEMU exit status 3)" >&2; exit 1 ;;
7) echo "run-qemu: kasane panicked (QEMU exit status 7)" >&2; exit 2 ;;
*) echo "run-qemu: QEMU ended with status $rc, without kasane's end-of-run status" >&2; exit 3 ;;
esac
