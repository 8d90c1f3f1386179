#!/bin/sh
# Build a GRUB2 BIOS ISO that boots kasane through Multiboot2.
# Usage: mkiso.sh OUT.iso "HYPERVISOR CMDLINE" [FILE[:GUESTPATH[ ARGS]] ...]
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
CMDLINE="$cmdline" MODULES="$mods" awk '
{ gsub(/@CMDLINE@/, ENVIRON["CMDLINE"]); if ($0 ~ /@MODULES@/) { printf "%s", ENVIRON["MODULES"]; next } print }
' "$top/iso/grub.cfg.in" > "$work/boot/grub/grub.cfg"
grub-mkrescue -o "$out" --install-modules="normal multiboot2 serial terminal" \
	--locales= --fonts= --themes= "$work" >/dev/null 2>"$log" || {
	cat "$log" >&2; exit 1; }
