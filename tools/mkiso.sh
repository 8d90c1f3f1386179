#!/bin/sh
# Build a GRUB2 ISO that boots kasane through Multiboot2, on BIOS and, when
# grub-efi-amd64-bin is installed, on x86-64 UEFI (grub-mkrescue then adds
# an EFI El Torito image, /efi.img).  The image is hybrid: it boots from a
# CD and, written with dd, from a USB stick.
# Usage: mkiso.sh OUT.iso "HYPERVISOR CMDLINE" [FILE[:GUESTPATH[ ARGS]] ...]
# GRUB_PRE, if set, is GRUB script run in the menu entry before kasane is
# loaded (the tests use it to change the memory map with cutmem).
# Each extra argument becomes a `module2 /GUESTPATH /GUESTPATH ARGS` line (GRUB
# passes a module its arguments but not its name, so the path is repeated
# as the first word: README "Declaring VMs"); FILE is copied
# into the ISO at GUESTPATH (default /modules/BASENAME).
set -e
out=$1; cmdline=$2; shift 2
top=$(dirname "$0")/..
work=$(mktemp -d "${TMPDIR:-/tmp}/kasane-iso.XXXXXX")
log=$(mktemp "${TMPDIR:-/tmp}/kasane-iso-log.XXXXXX")
trap 'rm -rf "$work" "$log"' EXIT
mkdir -p "$work/boot/grub"
cp "$top/build/kasane.elf" "$work/boot/kasane.elf"
mods=""
for m in "$@"; do
	file=${m%%:*}
	rest=""
	case "$m" in *:*) rest=${m#*:} ;; esac
	path=${rest%% *}
	args=""
	case "$rest" in *" "*) args=" ${rest#* }" ;; esac
	[ -n "$path" ] || path=/modules/$(basename "$file")
	mkdir -p "$work$(dirname "$path")"
	cp "$file" "$work$path"
	mods="$mods	module2 $path $path$args
"
done
# Substitute with awk: cmdline and module text may hold any character but NUL.
CMDLINE="$cmdline" MODULES="$mods" PRE="${GRUB_PRE:-}" awk '
/^[ \t]*@MODULES@[ \t]*$/ { printf "%s", ENVIRON["MODULES"]; next }
/^[ \t]*@PRE@[ \t]*$/ { if (ENVIRON["PRE"] != "") print "\t" ENVIRON["PRE"]; next }
{ gsub(/@CMDLINE@/, ENVIRON["CMDLINE"]); print }
' "$top/iso/grub.cfg.in" > "$work/boot/grub/grub.cfg"
# GRUB's core image tries to load every partition-map module: ship them
# all, so it prints no "not found" errors.
parts="part_acorn part_amiga part_apple part_bsd part_dfly part_dvh part_gpt part_msdos part_plan part_sun part_sunpc"
grub-mkrescue -o "$out" --install-modules="normal multiboot2 serial terminal mmap $parts" \
	--locales= --fonts= --themes= "$work" >/dev/null 2>"$log" || {
	cat "$log" >&2; exit 1; }
