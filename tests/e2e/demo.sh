#!/usr/bin/env bash
# The guest side of 'make demo' (scripts/demo boots the guest with 3 cards):
#
#   scripts/vm --cards 3 -- tests/e2e/demo.sh
#
# Initialises a token, creates keys with pkcs11-tool (RSA 2048 when the token
# has it, EC P-256, AES-256), then runs real PKCS#11 clients in loops:
# openssl (pkcs11 engine) and pkcs11-tool processes signing, each signature
# verified by openssl with the exported public key; long-lived PyKCS11
# clients doing AES-GCM round trips and ECDSA sign/verify in one session;
# plus hsmg-load straight on /dev/hsmgroup.  Mid-run card 2 is killed
# (SIGKILL) and later restarted.  Prints the requests each card served and
# the number of application-visible errors, which must be 0.
#
# Environment: DEMO_PHASE_S (seconds per phase, default 20).
set -uo pipefail
E2E_NAME=demo
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_guest
cd "$WORK" || exit 1
phase=${DEMO_PHASE_S:-20}
cards=$repo/scripts/cards
step() { log "== $*"; }
# hsmg-load is stopped by SIGTERM; hold its pid here for the exit trap.
load_pid=
demo_cleanup() {
	touch "$WORK/stop"
	[ -z "$load_pid" ] || kill -TERM "$load_pid" 2>/dev/null
	wait 2>/dev/null
	e2e_cleanup
}
trap demo_cleanup EXIT

step "group: $("$repo/build/tests/hsmg-members" | grep -c online) of 3 members online"
"$repo/build/tests/hsmg-members" | sed 's/^/    /'

step "initialising the token (pkcs11-tool --init-token, --init-pin)"
init_token demo >/dev/null 2>&1 || { bad "token initialisation"; finish; exit 1; }
load_mechs

step "creating keys with pkcs11-tool"
p11u --keypairgen --key-type EC:prime256v1 --label demo-ec --id 01 --usage-sign >/dev/null 2>&1 &&
	p11u --read-object --type pubkey --id 01 -o ec.der >/dev/null 2>&1 &&
	openssl pkey -pubin -inform DER -in ec.der -out ec.pem ||
	{ bad "EC P-256 key pair"; finish; exit 1; }
echo "    EC P-256 key pair 'demo-ec'"
p11u --keygen --key-type AES:32 --label demo-aes --id 02 >/dev/null 2>&1 ||
	{ bad "AES-256 key"; finish; exit 1; }
echo "    AES-256 key 'demo-aes'"
rsa=0
if has_mech RSA-PKCS-KEY-PAIR-GEN; then
	if p11u --keypairgen --key-type rsa:2048 --label demo-rsa --id 03 --usage-sign >/dev/null 2>&1 &&
		p11u --read-object --type pubkey --id 03 -o rsa.der >/dev/null 2>&1 &&
		openssl pkey -pubin -inform DER -in rsa.der -out rsa.pem; then
		rsa=1
		echo "    RSA 2048 key pair 'demo-rsa'"
	else
		bad "RSA 2048 key pair"
	fi
else
	echo "    (the token lists no RSA key generation yet: no RSA key)"
fi

cat >openssl.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $(ls /usr/lib/*/engines-3/pkcs11.so | head -n 1)
MODULE_PATH = $MODULE
init = 0
EOF
head -c 4096 /dev/urandom >data.bin

# --- the clients ----------------------------------------------------------------
# Each loop appends one line per operation to its log: "ok" or "ERR <what>".
loop() { # NAME COMMAND...: repeat COMMAND until $WORK/stop exists
	local name=$1
	shift
	while [ ! -e "$WORK/stop" ]; do
		if "$@" >>"$WORK/$name.out" 2>&1; then echo ok; else echo "ERR $name"; fi
	done >"$WORK/$name.log"
}
ossl_sign() { # ALG-LABEL PUB.pem SIG
	OPENSSL_CONF=$WORK/openssl.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine \
		-sign "pkcs11:token=demo;object=$1;type=private;pin-value=$USER_PIN" -out "$3" data.bin 2>/dev/null &&
		openssl dgst -sha256 -verify "$2" -signature "$3" data.bin >/dev/null
}
tool_sign() { # ID MECH PUB.pem SIG [fmt...]
	local id=$1 mech=$2 pub=$3 sig=$4
	shift 4
	p11u --sign --id "$id" -m "$mech" "$@" -i data.bin -o "$sig" >/dev/null 2>&1 &&
		openssl dgst -sha256 -verify "$pub" -signature "$sig" data.bin >/dev/null
}
cat >client.py <<'EOF'
import os, sys, time
import PyKCS11
from PyKCS11 import Mechanism, AES_GCM_Mechanism
from PyKCS11.LowLevel import *
name, module, pin, stop = sys.argv[1:5]
lib = PyKCS11.PyKCS11Lib()
lib.load(module)
s = lib.openSession(lib.getSlotList(tokenPresent=True)[0], CKF_SERIAL_SESSION | CKF_RW_SESSION)
s.login(pin)
aes = s.findObjects([(CKA_LABEL, "demo-aes"), (CKA_CLASS, CKO_SECRET_KEY)])[0]
ec = s.findObjects([(CKA_LABEL, "demo-ec"), (CKA_CLASS, CKO_PRIVATE_KEY)])[0]
ecpub = s.findObjects([(CKA_LABEL, "demo-ec"), (CKA_CLASS, CKO_PUBLIC_KEY)])[0]
with open(name + ".log", "w") as log:
    while not os.path.exists(stop):
        try:
            data = os.urandom(4096)
            m = AES_GCM_Mechanism(os.urandom(12), b"demo", 128)
            ok = bytes(s.decrypt(aes, s.encrypt(aes, data, m), m)) == data
            print("ok" if ok else "ERR gcm round trip differs", file=log)
            d = os.urandom(32)
            sig = s.sign(ec, d, Mechanism(CKM_ECDSA))
            print("ok" if s.verify(ecpub, d, sig, Mechanism(CKM_ECDSA)) else "ERR ecdsa verify", file=log)
        except PyKCS11.PyKCS11Error as e:
            print("ERR %s" % e, file=log)
        log.flush()
s.logout()
s.closeSession()
EOF

requests_now() { # CARD
	"$cards" ctl "$1" status 2>/dev/null | jq -r .requests 2>/dev/null || echo 0
}
declare -A r0 r_kill r_end
for i in 1 2 3; do r0[$i]=$(requests_now "$i"); done

step "starting the clients: openssl engine (EC), pkcs11-tool (EC)$([ $rsa = 1 ] && echo ', pkcs11-tool + openssl engine (RSA)'), 2 PyKCS11 (AES-GCM + ECDSA), hsmg-load (2 clients, raw ioctl)"
loop ossl-ec ossl_sign demo-ec ec.pem sig-ossl-ec.bin &
loop tool-ec tool_sign 01 ECDSA-SHA256 ec.pem sig-tool-ec.bin --signature-format openssl &
if [ "$rsa" = 1 ]; then
	loop tool-rsa tool_sign 03 SHA256-RSA-PKCS rsa.pem sig-tool-rsa.bin &
	loop ossl-rsa ossl_sign demo-rsa rsa.pem sig-ossl-rsa.bin &
fi
for n in 1 2; do
	/usr/bin/python3 client.py "py$n" "$MODULE" "$USER_PIN" "$WORK/stop" 2>"py$n.err" &
done
nice -n 10 "$repo/build/tests/hsmg-load" --clients 2 --duration 600 --login >load.out 2>&1 &
load_pid=$!

ops() { cat "$WORK"/*.log 2>/dev/null | grep -c '^ok' || true; }
errs() { cat "$WORK"/*.log 2>/dev/null | grep -c '^ERR' || true; }
progress() { echo "    client ops so far: $(ops) ok, $(errs) errors; card requests: 1=$(requests_now 1) 2=$(requests_now 2) 3=$(requests_now 3)"; }

sleep "$phase"
progress
step "killing card 2 (SIGKILL) under load"
for i in 1 2 3; do r_kill[$i]=$(requests_now "$i"); done
"$cards" kill 2
sleep "$phase"
progress
"$repo/build/tests/hsmg-members" | sed 's/^/    /'
step "restarting card 2"
"$cards" start 2
sleep "$phase"
progress
step "stopping the clients"
touch "$WORK/stop"
kill -TERM "$load_pid" 2>/dev/null
wait
load_pid=
for i in 1 2 3; do r_end[$i]=$(requests_now "$i"); done

# --- report ------------------------------------------------------------------------
step "results"
printf '    %-6s %12s %20s %16s\n' card "before load" "until card 2 died" "at the end"
for i in 1 2 3; do
	printf '    %-6s %12s %20s %16s\n' "card $i" "${r0[$i]}" "${r_kill[$i]}" "${r_end[$i]}"
done
echo "    (card 2's counter restarts with its process; the kernel's per-member totals:)"
"$repo/build/tests/hsmg-members" | sed 's/^/    /'
total_err=0
for f in "$WORK"/*.log; do
	n=$(basename "$f" .log)
	o=$(grep -c '^ok' "$f")
	e=$(grep -c '^ERR' "$f")
	total_err=$((total_err + e))
	printf '    client %-9s %6d ok %4d errors\n' "$n" "$o" "$e"
	grep '^ERR' "$f" | sort | uniq -c | head -n 3 | sed 's/^/        /'
done
lerr=$(sed -n 's/.*[ :]errors=\([0-9]*\).*/\1/p' load.out | head -n 1)
lops=$(sed -n 's/.*[ :]ops=\([0-9]*\).*/\1/p' load.out | head -n 1)
lfo=$(sed -n 's/.*[ :]failovers=\([0-9]*\).*/\1/p' load.out | head -n 1)
printf '    hsmg-load          %6s ops %4s errors, %s requests re-sent to another card\n' \
	"${lops:-?}" "${lerr:-?}" "${lfo:-?}"
total_err=$((total_err + ${lerr:-1}))
echo
echo "demo: $(ops) PKCS#11 client operations + ${lops:-?} hsmg-load operations;" \
	"application-visible errors: $total_err"
check "application-visible errors: 0" test "$total_err" -eq 0
check "card 2 served requests before it died" test "${r_kill[2]:-0}" -gt "${r0[2]:-0}"
check "card 2 serves again after its restart" test "${r_end[2]:-0}" -gt 0
check "cards 1 and 3 served while card 2 was dead" test "${r_end[1]}" -gt "${r_kill[1]}" -a "${r_end[3]}" -gt "${r_kill[3]}"
finish
