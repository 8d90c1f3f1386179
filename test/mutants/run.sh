#!/bin/bash
# Mutation testing: plants each bug of test/mutants/*.mut in turn, builds,
# runs the tests that should catch it, and puts the source back.  Prints
# one line per mutant (caught, with the tests that failed; SURVIVED; or
# STALE when its text no longer matches the source exactly once, or it
# does not build), then a score.  Exits 0 only if every mutant applied and
# was caught.  Assumes the unmutated tree passes (make test-long runs make
# test first).  Format of a .mut file: test/mutants/README.md.
# Usage: test/mutants/run.sh [NAME-GLOB]   (only mutants whose file name matches)
set -u
shopt -u patsub_replacement 2>/dev/null   # & in a replacement is literal
cd "$(dirname "$0")/../.."
OUT=build/mutants
mkdir -p "$OUT"
FILTER=${1:-*}
caught=0 survived=0 stale=0
survivors=() stales=()
MUT_FILE=""

restore() {
	if [ -n "$MUT_FILE" ]; then
		cp "$OUT/original" "$MUT_FILE"
		MUT_FILE=""
	fi
}
trap 'restore; echo "interrupted: source restored"; exit 130' INT TERM
trap restore EXIT

# parse FILE: sets M_FILE, M_TESTS, M_FROM, M_TO (whole lines, each ending in \n).
parse() {
	local line part=head
	M_FILE="" M_TESTS="" M_FROM="" M_TO=""
	while IFS= read -r line || [ -n "$line" ]; do
		case $part:$line in
		*:'@@ from') part=from ;;
		*:'@@ to') part=to ;;
		*:'@@ end') part=done ;;
		head:file\ =\ *) M_FILE=${line#file = } ;;
		head:tests\ =\ *) M_TESTS=${line#tests = } ;;
		from:*) M_FROM+="$line"$'\n' ;;
		to:*) M_TO+="$line"$'\n' ;;
		esac
	done <"$1"
	[ -n "$M_FILE" ] && [ -n "$M_TESTS" ] && [ -n "$M_FROM" ] && [ "$part" = done ]
}

mark_stale() {  # mark_stale NAME WHY
	stale=$((stale + 1))
	stales+=("$1")
	printf 'STALE     %s: %s\n' "$1" "$2"
}

for mut in test/mutants/*.mut; do
	name=$(basename "$mut" .mut)
	[[ $name == $FILTER ]] || continue
	if ! parse "$mut"; then
		mark_stale "$name" "malformed (needs file =, tests =, @@ from, @@ to, @@ end)"
		continue
	fi
	if [ ! -f "$M_FILE" ]; then
		mark_stale "$name" "no file $M_FILE"
		continue
	fi
	content=""
	IFS= read -r -d '' content <"$M_FILE"
	rest=${content//"$M_FROM"/}
	n=$(( (${#content} - ${#rest}) / ${#M_FROM} ))
	if [ "$n" -ne 1 ]; then
		mark_stale "$name" "its text occurs $n times in $M_FILE (must be once): refresh the mutant"
		continue
	fi
	start=$(date +%s)
	cp "$M_FILE" "$OUT/original"
	MUT_FILE=$M_FILE
	printf '%s' "${content/"$M_FROM"/"$M_TO"}" >"$M_FILE"
	if ! make -s -j2 test-build >"$OUT/$name.build" 2>&1; then
		restore
		mark_stale "$name" "does not build, see $OUT/$name.build"
		continue
	fi
	# shellcheck disable=SC2086  # M_TESTS is a list of globs for run-tests.sh
	bash test/run-tests.sh $M_TESTS >"$OUT/$name.log" 2>&1
	rc=$?
	restore
	secs=$(( $(date +%s) - start ))
	if [ $rc -ne 0 ]; then
		caught=$((caught + 1))
		by=$(sed -n 's/^FAIL  \([^:]*\).*/\1/p' "$OUT/$name.log" | head -4 | tr '\n' ' ')
		printf 'caught    %s (%ss) by %s\n' "$name" "$secs" "${by:-the runner, see $OUT/$name.log}"
	else
		survived=$((survived + 1))
		survivors+=("$name")
		printf 'SURVIVED  %s (%ss): %s passed, see %s\n' "$name" "$secs" "$M_TESTS" "$OUT/$name.log"
	fi
done

# Leave the build matching the source again.
make -s -j2 test-build >"$OUT/rebuild.log" 2>&1 || echo "rebuild of the clean tree failed, see $OUT/rebuild.log"

total=$((caught + survived))
echo
[ ${#survivors[@]} -gt 0 ] && echo "survived: ${survivors[*]}"
[ ${#stales[@]} -gt 0 ] && echo "stale: ${stales[*]}"
if [ $total -gt 0 ]; then
	echo "mutants: $caught caught, $survived survived, $stale stale; score $caught/$total = $((caught * 100 / total)) %"
else
	echo "mutants: none run ($stale stale)"
fi
[ $survived -eq 0 ] && [ $stale -eq 0 ] && [ $total -gt 0 ]
