# shellcheck shell=bash
# tests/lib/harness.sh - counting and printing the checks of a test tier,
# sourced by each tier's run script after it named the tier:
#
#   HARNESS_NAME=sessions
#   . tests/lib/harness.sh        (from the repository's top directory)
#
# The lines are what tests/run-vm, the scripts and people read: "ok: WHAT",
# "FAIL: WHAT", "NAME: SKIP: WHY" (exit 77), "NAME: N passed, M failed".
#   ok WHAT, bad WHAT     one passed / failed check (failed[] keeps the names)
#   check WHAT CMD...     ok WHAT when CMD succeeds, else bad WHAT
#   skip WHY              the tier cannot run here: say why, exit 77
#   log WHAT              "NAME: [  s.d s] WHAT", the time since sourcing
#   finish [TAIL]         "NAME: N passed, M failed[TAIL]"; status 0 when
#                         none failed
# Options (set before sourcing or any time after):
#   HARNESS_STAMP=1       "ok: [Ns] WHAT" (bash's SECONDS) in ok and bad
#   HARNESS_LOG=FILE      check sends CMD's output to FILE and shows its
#                         last 15 lines when CMD fails
#   HARNESS_LIST_FAILED=1 finish lists the failed checks first
pass=0 fail=0 failed=()
harness_t0=$(date +%s%N)

ok() {
	pass=$((pass + 1))
	echo "ok: ${HARNESS_STAMP:+[${SECONDS}s] }$*"
}
bad() {
	fail=$((fail + 1))
	failed+=("$*")
	echo "FAIL: ${HARNESS_STAMP:+[${SECONDS}s] }$*"
}
check() {
	local what=$1
	shift
	if [ -z "${HARNESS_LOG:-}" ]; then
		if "$@"; then ok "$what"; else bad "$what"; fi
	elif "$@" >"$HARNESS_LOG" 2>&1; then
		ok "$what"
	else
		bad "$what"
		sed 's/^/    /' "$HARNESS_LOG" | tail -n 15
	fi
}
skip() {
	echo "$HARNESS_NAME: SKIP: $*"
	exit 77
}
log() {
	local ms=$((($(date +%s%N) - harness_t0) / 1000000))
	printf '%s: [%3d.%01ds] %s\n' "$HARNESS_NAME" $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}
finish() {
	if [ -n "${HARNESS_LIST_FAILED:-}" ] && [ "$fail" -gt 0 ]; then
		echo "$HARNESS_NAME: failed checks:"
		printf '  - %s\n' "${failed[@]}"
	fi
	echo "$HARNESS_NAME: $pass passed, $fail failed${1:-}"
	[ "$fail" -eq 0 ]
}
