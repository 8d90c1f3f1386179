#!/bin/sh
# Boot a kasane ISO in QEMU with the serial console on this terminal.
# Usage: run-qemu.sh ISO SMP MEM [EXTRA QEMU ARGS...]
# Uses KVM when /dev/kvm offers nested SVM or VMX, else TCG with -cpu max
# (which emulates AMD SVM).
iso=$1 smp=$2 mem=$3; shift 3
. "$(dirname "$0")/qemu-accel.sh"
exec qemu-system-x86_64 $QEMU_ACCEL -smp "$smp" -m "$mem" -M q35 \
	-nographic -no-reboot -cdrom "$iso" -boot d \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@"
