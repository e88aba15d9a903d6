#!/usr/bin/env bash
# OpenSSL through libp11's PKCS#11 engine (libengine-pkcs11-openssl) with
# hsmgroup-pkcs11.so, in the guest with cards:
#
#   scripts/vm --cards 3 -- tests/e2e/openssl-engine.sh
#
# Keys made by pkcs11-tool are used by openssl through pkcs11: URIs: sign a
# file (EC, and RSA when the token has it), verify with openssl's own code
# and the exported public key, create and verify a CSR and a self-signed
# certificate, RSA decryption through the engine.
set -uo pipefail
E2E_NAME=openssl-engine
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_guest
engine_so=$(ls /usr/lib/*/engines-3/pkcs11.so 2>/dev/null | head -n 1)
[ -n "$engine_so" ] || skip "libp11's pkcs11 engine missing (scripts/install-deps: libengine-pkcs11-openssl)"
cd "$WORK" || exit 1

cat >openssl.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engine_so
MODULE_PATH = $MODULE
init = 0
[req]
distinguished_name = dn
prompt = no
[dn]
CN = hsmgroup e2e
O = hsmgroup
EOF
export OPENSSL_CONF=$WORK/openssl.cnf
ENG=(-engine pkcs11 -keyform engine)
TOKEN=e2e-ossl
uri() { echo "pkcs11:token=$TOKEN;object=$1;type=$2;pin-value=$USER_PIN"; }

log "token and keys (pkcs11-tool)"
check "init token and user PIN" init_token "$TOKEN"
load_mechs
check "openssl loads the pkcs11 engine with the module" sh -c "openssl engine -t pkcs11 | grep -q available"
head -c 20000 /dev/urandom >data.bin

algs=()
has_mech ECDSA-KEY-PAIR-GEN && algs+=(ec)
has_mech RSA-PKCS-KEY-PAIR-GEN && algs+=(rsa)
[ ${#algs[@]} -gt 0 ] || bad "the token lists no key pair generation mechanism"
for alg in "${algs[@]}"; do
	case $alg in
	ec) kt=EC:prime256v1 id=01 ;;
	rsa) kt=rsa:2048 id=02 ;;
	esac
	log "$alg: key pair, sign, verify, CSR"
	check "$alg: generate key pair $kt (label $alg-key)" p11u --keypairgen --key-type "$kt" \
		--label "$alg-key" --id "$id" --usage-sign --usage-decrypt
	check "$alg: export the public key through the engine (openssl pkey -engine)" \
		openssl pkey -engine pkcs11 -inform engine -pubin -in "$(uri "$alg-key" public)" -pubout -out "pub-$alg.pem"
	check "$alg: sign a file with openssl dgst -sha256 -engine pkcs11 (pkcs11: URI key)" \
		openssl dgst -sha256 "${ENG[@]}" -sign "$(uri "$alg-key" private)" -out "sig-$alg.bin" data.bin
	check "$alg: openssl (no engine) verifies the signature with the exported public key" \
		openssl dgst -sha256 -verify "pub-$alg.pem" -signature "sig-$alg.bin" data.bin
	check "$alg: openssl verifies with the token's public key through the engine" \
		openssl dgst -sha256 "${ENG[@]}" -verify "$(uri "$alg-key" public)" -signature "sig-$alg.bin" data.bin
	check "$alg: a signature of other data does not verify" sh -c \
		"printf x | cat data.bin - >data2.bin; ! openssl dgst -sha256 -verify pub-$alg.pem -signature sig-$alg.bin data2.bin"
	check "$alg: openssl pkeyutl -sign through the engine (SHA-384 digest)" sh -c "
		openssl dgst -sha384 -binary data.bin >h384.bin &&
		openssl pkeyutl -sign -engine pkcs11 -keyform engine -inkey '$(uri "$alg-key" private)' -pkeyopt digest:sha384 -in h384.bin -out sig384-$alg.bin &&
		openssl dgst -sha384 -verify pub-$alg.pem -signature sig384-$alg.bin data.bin"
	check "$alg: create a CSR (openssl req -new -engine pkcs11 -keyform engine -key pkcs11:...)" \
		openssl req -new "${ENG[@]}" -key "$(uri "$alg-key" private)" -sha256 -out "req-$alg.pem"
	check "$alg: the CSR verifies (openssl req -verify)" sh -c \
		"openssl req -in req-$alg.pem -verify -noout 2>&1 | grep -qi 'verify OK'"
	check "$alg: the CSR carries the token's public key" sh -c \
		"openssl req -in req-$alg.pem -pubkey -noout | cmp - pub-$alg.pem"
	check "$alg: self-signed certificate through the engine (openssl req -x509)" \
		openssl req -new -x509 -days 1 "${ENG[@]}" -key "$(uri "$alg-key" private)" -sha256 -out "cert-$alg.pem"
	check "$alg: the certificate verifies (openssl verify)" openssl verify -CAfile "cert-$alg.pem" "cert-$alg.pem"
	if [ "$alg" = rsa ]; then
		head -c 48 /dev/urandom >secret.bin
		openssl pkeyutl -encrypt -pubin -inkey pub-rsa.pem -in secret.bin -out secret.enc
		check "rsa: decrypt through the engine (openssl pkeyutl -decrypt, PKCS#1 v1.5)" sh -c "
			openssl pkeyutl -decrypt -engine pkcs11 -keyform engine -inkey '$(uri rsa-key private)' -in secret.enc -out secret.dec && cmp secret.bin secret.dec"
		if has_mech RSA-PKCS-PSS; then
			check "rsa: RSA-PSS signature through the engine, verified by openssl" sh -c "
				openssl dgst -sha256 -engine pkcs11 -keyform engine -sign '$(uri rsa-key private)' -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out sig-pss.bin data.bin &&
				openssl dgst -sha256 -verify pub-rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -signature sig-pss.bin data.bin"
		fi
	fi
done
has_mech RSA-PKCS-KEY-PAIR-GEN || note "no RSA key pair generation listed: RSA engine tests not run"

finish
