#!/bin/sh
# Check the linked image: code addresses identical in both link passes (so
# the symbol table is right) and a linear file layout for the Multiboot1
# a.out kludge (file offset - address constant over all loadable segments).
set -e
stage1=$1 final=$2
a=$(nm -n --defined-only "$stage1" | awk '$2 ~ /^[tT]$/' | md5sum)
b=$(nm -n --defined-only "$final" | awk '$2 ~ /^[tT]$/' | md5sum)
if [ "$a" != "$b" ]; then
	echo "check-image: code symbols moved between link passes" >&2
	exit 1
fi
readelf -lW "$final" | awk '
function hex(s,    i, v, c) {
	v = 0; s = tolower(s); sub(/^0x/, "", s)
	for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
	return v
}
$1 == "LOAD" {
	d = hex($3) - hex($2)
	if (seen && d != delta) { print "check-image: non-linear file layout: " $0 > "/dev/stderr"; bad = 1 }
	delta = d; seen = 1
}
END { exit bad }'
