#!/usr/bin/env bash
# hsmgroupctl token migrate, on the host (make check-store-pg): a SQLite
# token with objects (written by hsmg-storewriter, the module's own code over
# the mock card) is copied into a throwaway PostgreSQL server and back into
# another directory; each copy serves every object (hsmg-storewriter check
# through the module, PINs included), refusals say why and exit non-zero.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
HARNESS_NAME=migrate HARNESS_LOG=/tmp/hsmg-migrate-last.log
# shellcheck source=tests/lib/harness.sh
. tests/lib/harness.sh
ctl=build/hsmgroupctl sw=build/tests/hsmg-storewriter
[ -x /usr/lib/postgresql/15/bin/initdb ] || skip "no PostgreSQL 15 (scripts/install-deps)"
tmp=$(mktemp -d /tmp/hsmg-migrate.XXXXXX)
chmod 0755 "$tmp"
trap 'scripts/pg-server stop "$tmp/pg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
pg=$(scripts/pg-server start "$tmp/pg") || { bad "PostgreSQL starts"; finish; exit 1; }
export HSMGROUP_CONFIG=/nonexistent HSMGROUP_TOKEN_DIR=$tmp/sqlite
mkdir -p "$HSMGROUP_TOKEN_DIR"
check "a SQLite token" "$sw" init
"$sw" write m "$tmp/m.log" 2>/dev/null &
w=$!
sleep 1
kill "$w"
wait "$w" 2>/dev/null
n=$(grep -c '^c ' "$tmp/m.log")
mkvp=$(ls "$HSMGROUP_TOKEN_DIR" | sed -n 's/^token-\([0-9a-f]\{64\}\)\.db$/\1/p')
check "it holds $n objects (MKVP ${mkvp:0:16}...)" test "$n" -gt 10 -a -n "$mkvp"

check "migrate SQLite -> PostgreSQL, verified" sh -c \
	"$ctl token migrate --mkvp $mkvp --from sqlite --to '$pg' | grep -q 'read back and equal'"
check "the module serves every object from PostgreSQL" \
	env HSMGROUP_TOKEN_STORE="$pg" "$sw" check "$tmp/m.log"
refused_with() {
	local want=$1 out
	shift
	out=$("$@" 2>&1) && { echo "succeeded: $out"; return 1; }
	grep -q -- "$want" <<<"$out" || { echo "no '$want' in: $out"; return 1; }
}
check "a second copy into the same database is refused" \
	refused_with "already holds this token" "$ctl" token migrate --mkvp "$mkvp" --from sqlite --to "$pg"
check "PostgreSQL -> SQLite (another directory), verified" sh -c \
	"$ctl token migrate --mkvp $mkvp --from '$pg' --to sqlite:$tmp/back | grep -q 'read back and equal'"
check "the module serves every object from the copy's copy" \
	env HSMGROUP_TOKEN_DIR="$tmp/back" "$sw" check "$tmp/m.log"
check "json output" sh -c "$ctl -j token migrate --mkvp $mkvp --from sqlite --to sqlite:$tmp/back2 | grep -q '\"verified\": *true'"
check "a bad MKVP is a usage error (exit 2)" sh -c "$ctl token migrate --mkvp 12 --to sqlite:$tmp/x; test \$? = 2"
check "no --to is a usage error (exit 2)" sh -c "$ctl token migrate --mkvp $mkvp; test \$? = 2"
check "an uninitialized token is refused" refused_with "not initialized" \
	"$ctl" token migrate --mkvp "$(printf '%064d' 7)" --from sqlite --to "$pg"
check "an unreachable database: the reason, exit 1" sh -c "$ctl token migrate --mkvp $mkvp \
	--from sqlite --to 'postgresql:host=$tmp/nowhere dbname=x' 2>&1 | grep -q 'unreachable'"
check "a password in the location is refused, with the reason" refused_with "password in token_store is refused" \
	"$ctl" token migrate --mkvp "$mkvp" --from sqlite --to "$pg password=x"

# The grants docs/multihost.md gives a module that does not own the schema.
pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
grants=$(sed -n '/-- grants:begin/,/-- grants:end/p' docs/multihost.md | sed 's/^ *//' |
	grep -v '^--' | sed "s/PASSWORD 'CHANGE-ME'/PASSWORD '$pw'/")
[ "$(grep -c GRANT <<<"$grants")" -ge 5 ] || bad "the grants of docs/multihost.md are not found"
check "a role with only the documented grants (no owner, no superuser)" \
	scripts/pg-server psql "$tmp/pg" -q -v ON_ERROR_STOP=1 -c "$grants"
(umask 077; printf '*:*:*:hsmgroup_app:%s\n' "$pw" >"$tmp/app.pass")
app=$(sed "s/user=hsmg passfile=[^ ]*/user=hsmgroup_app passfile=${tmp//\//\\/}\/app.pass/" <<<"$pg")
check "the module serves the token as that role" env HSMGROUP_TOKEN_STORE="$app" "$sw" check "$tmp/m.log"
export HSMGROUP_TOKEN_DIR=$tmp/app-tokens
mkdir -p "$HSMGROUP_TOKEN_DIR"
scripts/pg-server psql "$tmp/pg" -q -c "DELETE FROM hsmg_tokens" >/dev/null
check "and makes, writes and destroys objects as that role" sh -c \
	"HSMGROUP_TOKEN_STORE='$app' $sw init && (HSMGROUP_TOKEN_STORE='$app' timeout -s KILL 2 $sw write g $tmp/g.log; true) && HSMGROUP_TOKEN_STORE='$app' $sw check $tmp/g.log"
check "that role cannot change the schema" sh -c \
	"! env PGPASSFILE=$tmp/app.pass /usr/lib/postgresql/15/bin/psql 'host=$tmp/pg/sock port=$(cat "$tmp/pg/port") dbname=hsmg user=hsmgroup_app' -c 'DROP TABLE hsmg_objects' 2>/dev/null"
finish
