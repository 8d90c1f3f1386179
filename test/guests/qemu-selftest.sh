#!/bin/sh
# Runs test guests under plain QEMU (no kasane) to check their own logic.
# 64-bit guests go through qemu-shim.elf.  Expected failures without kasane:
#   cpuid       TCG's signature, SVM reported, no #GP for unknown MSRs
#   exceptions  no #GP for WRMSR to an unknown MSR
#   portio      16/32-bit fw_cfg data reads (QEMU's data port is byte-wide)
#   memory      the access beyond RAM does not end the VM
#   triple      passes if nothing follows "about to triple-fault"
# Not run: mmio (no scratch page), hypercall and spin (VMMCALL is #UD).
# Usage: test/guests/qemu-selftest.sh [GUEST [MODULE-ARGS]]
set -u
cd "$(dirname "$0")/../.."
make -s -f test/guests/guests.mk guests || exit 1
B=build/guests
run() {         # run NAME QEMU-ARGS...
	name=$1; shift
	echo "== $name"
	timeout -k 2 30 qemu-system-x86_64 -M q35 -m 128M -smp 2 -display none -monitor none \
		-no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 "$@" </dev/null
	echo "== $name: qemu exit status $? (1 = guest status 0)"
}
if [ $# -ge 1 ]; then
	case $1 in
	hello32|hello32-aout) run "$1" -kernel $B/$1.* ;;
	mbmod) cp test/guests/module.txt $B/payload
	       (cd $B && run mbmod -kernel mbmod.elf -append "magic=42" -initrd payload) ;;
	*) run "$1" -kernel $B/qemu-shim.elf -initrd "$B/$1.elf ${2:-}" ;;
	esac
	exit 0
fi
# QEMU passes the module's file name as its string: call it "payload".
cp test/guests/module.txt $B/payload
run hello32 -kernel $B/hello32.elf
run hello32-aout -kernel $B/hello32-aout.bin
(cd $B && run mbmod -kernel mbmod.elf -append "magic=42" -initrd payload)
for g in hello64 cpuid portio exceptions triple memory; do
	run $g -kernel $B/qemu-shim.elf -initrd "$B/$g.elf"
done
run fwcfg -kernel $B/qemu-shim.elf -initrd "$B/fwcfg.elf expect_cpus=2 expect_mem=128M"
