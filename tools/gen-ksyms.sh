#!/bin/sh
# Turn `nm -n` output into an assembly symbol table for backtraces:
# ksym_count, then sorted {address, name offset} pairs, then the names.
# Usage: gen-ksyms.sh NMFILE > ksyms.S   (NMFILE may be /dev/null)
set -e
awk '
BEGIN { n = 0 }
$2 ~ /^[tT]$/ && $3 !~ /^\./ { addr[n] = $1; name[n] = $3; n++ }
END {
	print "\t.section .ksyms, \"a\""
	print "\t.balign 8"
	print "\t.globl ksym_count, ksym_table, ksym_names"
	print "ksym_count:\t.quad " n
	print "ksym_table:"
	off = 0
	for (i = 0; i < n; i++) {
		printf "\t.quad 0x%s, %d\n", addr[i], off
		off += length(name[i]) + 1
	}
	print "ksym_names:"
	for (i = 0; i < n; i++)
		printf "\t.asciz \"%s\"\n", name[i]
}' "$1"
