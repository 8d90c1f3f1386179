# Sourced by test/run-bench.sh and test/bench-vblk.sh.
#
# log_wait LOG REGEX SECONDS: until a line of kasane's serial log LOG
# matches REGEX (true), or kasane says all its VMs ended or SECONDS pass
# (false).  For drivers that type on kasane's console at a guest's marker.
log_wait() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		grep -q '^kasane: all VMs ended' "$1" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}
