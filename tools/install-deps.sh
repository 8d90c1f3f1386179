#!/bin/sh
# Install the Debian packages kasane needs to build, run and test, if missing.
set -e
need=""
check() { command -v "$1" >/dev/null 2>&1 || need="$need $2"; }
check gcc gcc
check make make
check ld binutils
check qemu-system-x86_64 qemu-system-x86
check grub-mkrescue grub-common
check xorriso xorriso
check mformat mtools
[ -d /usr/lib/grub/i386-pc ] || need="$need grub-pc-bin"
# UEFI: grub-mkrescue adds an EFI boot image when GRUB's x86_64-efi modules
# are there; OVMF is the firmware for `make run FIRMWARE=uefi` and the tests.
# Installed without recommends: those (shim, signed GRUB) would set up
# this machine's own EFI boot.
efi_need=""
[ -d /usr/lib/grub/x86_64-efi ] || efi_need="$efi_need grub-efi-amd64-bin"
[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || efi_need="$efi_need ovmf"
# The host unit tests are built with ASan/UBSan.
[ -n "$(gcc -print-file-name=libasan.so | grep /)" ] || need="$need libasan8"
[ -n "$(gcc -print-file-name=libubsan.so | grep /)" ] || need="$need libubsan1"
# The fuzzers (test/fuzz/, `make fuzz`): clang with libFuzzer; on Debian 12
# clang's fuzzer and sanitizer runtimes are in libclang-rt-14-dev, only
# recommended by clang-14, so an install without recommends lacks them.
check clang clang
[ -f "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] ||
	need="$need libclang-rt-14-dev"
# The test runner uses setsid/timeout (coreutils, util-linux) and pgrep.
check pgrep procps
# Bochs: the second SVM implementation the tests run on.
check bochs "bochs bochs-term"
[ -f /usr/share/bochs/BIOS-bochs-latest ] || need="$need bochsbios"
[ -f /usr/share/vgabios/vgabios.bin ] || need="$need vgabios"
check setsid util-linux
check ss iproute2                       # free TCP ports for serial lines (run-tests.sh)
# ACPICA's disassembler: the unit tests compare `iasl -d` of the generated
# ACPI tables with the expected text.
check iasl acpica-tools
# Debian's gdb drives the guest debugger's tests (gdb/*) in batch mode.
check gdb gdb
if [ -n "$need$efi_need" ]; then
	echo "install-deps: installing$need$efi_need"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	[ -z "$need" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
	[ -z "$efi_need" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends $efi_need >/dev/null
fi
