# shellcheck shell=bash
# Common part of the end-to-end tests (sourced): the module, a private token
# directory under /tmp, PINs, result counting.
#
#   E2E_NAME=pkcs11-tool; . tests/e2e/lib.sh
#
# Environment: HSMGROUP_TOKEN_DIR (default: a new directory under /tmp, so
# each script starts from an uninitialised token), E2E_KEEP=1 keeps the work
# directory.  HSMGROUP_PIN_ITERATIONS defaults to the shim's minimum here:
# PBKDF2 at the default 200000 rounds costs seconds per login in a TCG
# guest, and the clients here log in hundreds of times.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# E2E_MODULE runs the client tests against another PKCS#11 module (e.g.
# SoftHSM, to check the tests themselves on the host).
MODULE=${E2E_MODULE:-$repo/build/hsmgroup-pkcs11.so}
SO_PIN=87654321
USER_PIN=12345678
E2E_NAME=${E2E_NAME:-e2e}

WORK=$(mktemp -d "/tmp/e2e-$E2E_NAME.XXXXXX")
export HSMGROUP_TOKEN_DIR=${HSMGROUP_TOKEN_DIR:-$WORK/tokens}
export HSMGROUP_PIN_ITERATIONS=${HSMGROUP_PIN_ITERATIONS:-1000}
mkdir -p "$HSMGROUP_TOKEN_DIR"

e2e_cleanup() {
	[ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap e2e_cleanup EXIT

# ok, bad, check (output to $WORK/last.log, shown on failure), skip, log,
# finish (the failed checks listed first): tests/lib/harness.sh.
HARNESS_NAME=$E2E_NAME HARNESS_LOG=$WORK/last.log HARNESS_LIST_FAILED=1
# shellcheck source=tests/lib/harness.sh
. "$repo/tests/lib/harness.sh"
# refused WANT CMD...: CMD fails AND its output names WANT (a CKR_* name, a
# message; a grep pattern).  A failure for another reason (the module not
# loaded, the tool missing, a crash) is no refusal: '! CMD' would pass then.
refused() {
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then
		tail -n 5 <<<"$out"
		echo "  succeeded; expected a refusal ($want)"
		return 1
	fi
	grep -q -- "$want" <<<"$out" && return 0
	tail -n 5 <<<"$out"
	echo "  failed without saying $want"
	return 1
}
# says WANT CMD...: CMD's output names WANT, whatever its exit status (tools
# that report a result, e.g. "Invalid signature", with exit 0).
says() {
	local want=$1 out
	shift
	out=$("$@" 2>&1)
	grep -q -- "$want" <<<"$out" && return 0
	tail -n 5 <<<"$out"
	echo "  no '$want' in the output"
	return 1
}
# lists YES NO CMD...: CMD succeeds, its output has YES (skipped when
# empty) and not NO: 'CMD | grep -q NO' negated passes when CMD fails.
lists() {
	local yes=$1 no=$2 out
	shift 2
	if ! out=$("$@" 2>&1); then
		tail -n 5 <<<"$out"
		echo "  the command failed"
		return 1
	fi
	if [ -n "$yes" ] && ! grep -q -- "$yes" <<<"$out"; then
		echo "  no '$yes' in the output"
		return 1
	fi
	if grep -q -- "$no" <<<"$out"; then
		grep -- "$no" <<<"$out" | head -n 3
		echo "  '$no' in the output"
		return 1
	fi
}
note() { echo "  note: $*"; }

need_guest() {
	[ -n "${E2E_MODULE:-}" ] && return 0
	[ -c /dev/hsmgroup ] || skip "/dev/hsmgroup missing (run in the guest: scripts/vm --cards 3 -- tests/e2e/run)"
	[ -f "$MODULE" ] || skip "$MODULE is not built (make)"
}

p11() { pkcs11-tool --module "$MODULE" "$@"; }
p11u() { pkcs11-tool --module "$MODULE" --login --pin "$USER_PIN" "$@"; }

# A fresh token with the test PINs.
init_token() { # LABEL
	p11 --init-token --label "$1" --so-pin "$SO_PIN" &&
		p11 --login --login-type so --so-pin "$SO_PIN" --init-pin --pin "$USER_PIN"
}

# Mechanisms the token lists (pkcs11-tool -M): MECHS[name]="flags, ..."
declare -A MECHS
load_mechs() {
	local line name
	MECHS=()
	# (no process substitution: the guest has no /dev/fd)
	p11 -M >"$WORK/mechs.txt" 2>/dev/null
	while IFS= read -r line; do
		case "$line" in
		"  "*) ;;
		*) continue ;;
		esac
		line=${line#  }
		name=${line%%,*}
		name=${name%% *}
		MECHS[$name]=$line
	done <"$WORK/mechs.txt"
}
has_mech() { [ -n "${MECHS[$1]:-}" ]; }
# has_mech_flag NAME FLAG: the mechanism is listed with FLAG (sign, encrypt, wrap, ...)
has_mech_flag() { has_mech "$1" && [[ ", ${MECHS[$1]#*, }," == *", $2,"* ]]; }

# Card request counts (hsmsimd control socket "requests") of card I.
card_requests() {
	"$repo/scripts/cards" ctl "$1" status 2>/dev/null | jq -r .requests 2>/dev/null || echo "?"
}
