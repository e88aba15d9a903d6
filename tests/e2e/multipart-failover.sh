#!/usr/bin/env bash
# Multi-part operations across a card failure, in the guest with 3 cards:
#
#   scripts/vm --cards 3 -- tests/e2e/multipart-failover.sh
#
# hsmg-e2e-multipart streams E2E_MP_MIB (64) MiB through the PKCS#11 module
# in E2E_MP_CHUNK-byte parts, and when half is fed a card is killed
# (SIGKILL) while the operation goes on; the card comes back before the
# next run:
#  1) SHA-256 digest, card 2 killed: must equal openssl's of the file;
#  2) AES-256 encryption (CBC-PAD when the token lists it, else GCM), card 3
#     killed: the ciphertext has the expected length;
#  3) decryption of that ciphertext and its SHA-256 at once, card 1 killed:
#     must give the file back, and the digest must equal openssl's.
set -uo pipefail
E2E_NAME=multipart-failover
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_guest
mp=$repo/build/tests/hsmg-e2e-multipart
[ -x "$mp" ] || skip "$mp is not built (make)"
for i in 1 2 3; do
	[ -n "$("$repo/scripts/cards" pid "$i")" ] || skip "card $i is not running (scripts/vm --cards 3)"
done
cd "$WORK" || exit 1
mib=${E2E_MP_MIB:-64}
chunk=${E2E_MP_CHUNK:-65536}

check "init token and user PIN" init_token e2e-multipart
load_mechs
if has_mech_flag AES-CBC-PAD encrypt; then
	mech=cbc-pad
elif has_mech_flag AES-GCM encrypt; then
	mech=gcm
else
	bad "the token lists neither AES-CBC-PAD nor AES-GCM"
	finish
	exit 1
fi
log "making $mib MiB of input"
head -c $((mib * 1024 * 1024)) /dev/urandom >in.bin
want_in=$(openssl dgst -sha256 -r in.bin | cut -d' ' -f1)

per_card() {
	local i out=""
	for i in 1 2 3; do out+=" card$i=$(card_requests "$i")"; done
	echo "${out# }"
}

# run_killing CARD OUT.log ARGS...: run hsmg-e2e-multipart, kill CARD at half-way.
run_killing() {
	local card=$1 logf=$2 pid alive=0 i
	shift 2
	rm -f half
	"$mp" --module "$MODULE" --pin "$USER_PIN" --chunk "$chunk" --half-file half "$@" >"$logf" 2>&1 &
	pid=$!
	for i in $(seq 1 2400); do
		[ -e half ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -e half ]; then
		# Kill first, talk later: the second half takes only seconds.
		"$repo/scripts/cards" kill "$card"
		kill -0 "$pid" 2>/dev/null && alive=1
		log "half-way: card $card killed; the operation is $([ $alive = 1 ] && echo "still running" || echo "already done") (requests: $(per_card))"
	fi
	wait "$pid"
	local rc=$?
	[ "$alive" = 1 ] || { echo "card $card was not killed while the operation ran"; return 1; }
	return $rc
}

ensure_cards() {
	local i
	for i in 1 2 3; do
		[ -n "$("$repo/scripts/cards" pid "$i")" ] || { log "restarting card $i"; "$repo/scripts/cards" start "$i"; }
	done
}
sha_of() { sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$1"; }

log "1) SHA-256 of $mib MiB in $chunk-byte parts; card 2 dies half-way"
check "multi-part digest completes although card 2 died half-way" \
	run_killing 2 dig.log --ops digest --in in.bin --out /dev/null
sed 's/^/    /' dig.log
got=$(sha_of dig.log)
check "the multi-part SHA-256 equals openssl's (${got:0:16}...)" test "${got:-x}" = "$want_in"
ensure_cards

log "2) AES-256 $mech encryption of $mib MiB; card 3 dies half-way"
check "multi-part encryption completes although card 3 died half-way" \
	run_killing 3 enc.log --ops cipher --mech "$mech" --in in.bin --out ct.bin
sed 's/^/    /' enc.log
want_len=$((mib * 1024 * 1024 + 16)) # CBC-PAD adds a whole block, GCM a 16-byte tag
check "the ciphertext is $want_len bytes" test "$(stat -c %s ct.bin 2>/dev/null)" = "$want_len"
ensure_cards

log "3) decryption of it + SHA-256 of the ciphertext at once; card 1 dies half-way"
want_ct=$(openssl dgst -sha256 -r ct.bin | cut -d' ' -f1)
check "multi-part decryption + digest complete although card 1 died half-way" \
	run_killing 1 dec.log --decrypt --mech "$mech" --in ct.bin --out pt.bin
sed 's/^/    /' dec.log
got=$(sha_of dec.log)
check "the multi-part SHA-256 of the ciphertext equals openssl's" test "${got:-x}" = "$want_ct"
check "decryption gives the input back (cmp)" cmp in.bin pt.bin
ensure_cards
log "requests per card at the end: $(per_card)"
finish
