#!/usr/bin/env bash
# OpenSC pkcs11-tool against hsmgroup-pkcs11.so, in the guest with cards:
#
#   scripts/vm --cards 3 -- tests/e2e/pkcs11-tool.sh
#
# Token and PIN life cycle, key generation of every type the token lists,
# sign/verify (signatures also verified by openssl with the exported public
# key), encrypt/decrypt (RSA against openssl), wrap/unwrap, ECDH derive
# (against openssl), digests (against openssl), objects, 'pkcs11-tool --test'.
# Each operation is tested when the token lists its mechanism; the last
# check, "required mechanisms present", fails naming every mechanism of the
# card message format (lib/msg/hsmgroup_msg.h) the token does not list.
set -uo pipefail
E2E_NAME=pkcs11-tool
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_guest
command -v pkcs11-tool >/dev/null || skip "pkcs11-tool missing (scripts/install-deps: opensc)"
cd "$WORK" || exit 1

head -c 10000 /dev/urandom >data.bin
head -c 32 /dev/urandom >hash32.bin

# --- token and PINs ---------------------------------------------------------
log "token initialisation"
check "slot with a present token is listed" sh -c "pkcs11-tool --module '$MODULE' -L | grep -q 'Slot 0'"
check "init token (--init-token --so-pin)" p11 --init-token --label e2e-tool --so-pin "$SO_PIN"
check "token label is e2e-tool" sh -c "pkcs11-tool --module '$MODULE' -L | grep -q 'token label *: e2e-tool'"
check "init user PIN (--login --login-type so --init-pin)" \
	p11 --login --login-type so --so-pin "$SO_PIN" --init-pin --pin "$USER_PIN"
check "user login (--login --pin)" p11u --list-objects
check "wrong user PIN is refused" refused CKR_PIN_INCORRECT \
	pkcs11-tool --module "$MODULE" --login --pin 99999999 -O
check "change user PIN (--change-pin)" p11 --login --pin "$USER_PIN" --change-pin --new-pin 11223344
check "login with the new PIN" p11 --login --pin 11223344 --list-objects
check "old PIN is refused after the change" refused CKR_PIN_INCORRECT \
	pkcs11-tool --module "$MODULE" --login --pin "$USER_PIN" -O
check "change the PIN back" p11 --login --pin 11223344 --change-pin --new-pin "$USER_PIN"

load_mechs
log "token lists ${#MECHS[@]} mechanisms:"
sed -n 's/^  /    /p' "$WORK/mechs.txt"

# --- helpers ----------------------------------------------------------------
# pkcs11-tool 0.23 --verify exits 0 also on a bad signature: judge by its message.
p11verify() { p11u --verify "$@" >"$WORK/verify.out" 2>&1; cat "$WORK/verify.out"; grep -q 'Signature is valid' "$WORK/verify.out"; }
pubkey_pem() { # ID OUT.pem
	p11u --read-object --type pubkey --id "$1" -o "$2.der" &&
		openssl pkey -pubin -inform DER -in "$2.der" -out "$2"
}
# pkcs11-tool 0.23 cannot export P-384/P-521 public keys ("cannot create
# EVP_PKEY"): wrap the token's CKA_EC_POINT (from --list-objects) in a
# SubjectPublicKeyInfo for openssl instead.
ec_pubkey_pem() { # ID CURVE OUT.pem
	local hex point prefix len
	# (-O lists every public key: take the EC_POINT of the block with ID $1)
	hex=$(p11u --list-objects --type pubkey | awk -v id="$1" '
		$1 == "EC_POINT:" { p = $2 }
		$1 == "ID:" && $2 == id { print p; exit }')
	case $2 in
	prime256v1) len=65 prefix=3059301306072a8648ce3d020106082a8648ce3d030107034200 ;;
	secp384r1) len=97 prefix=3076301006072a8648ce3d020106052b81040022036200 ;;
	secp521r1) len=133 prefix=30819b301006072a8648ce3d020106052b8104002303818600 ;;
	esac
	# The DER OCTET STRING around the point, or (some tokens) the bare point.
	point=${hex: -$((2 * len))}
	echo "$prefix$point" | xxd -r -p >"$3.der" && openssl pkey -pubin -inform DER -in "$3.der" -out "$3"
}
# sign with pkcs11-tool, verify with pkcs11-tool and with openssl dgst.
sign_verify() { # ID MECH DGST [extra pkcs11-tool args...] -- [extra openssl args]
	local id=$1 mech=$2 dgst=$3 sig=sig-$1-$2.bin
	shift 3
	local p11args=() osslargs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do p11args+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	osslargs=("$@")
	local fmt=()
	[[ "$mech" == ECDSA* ]] && fmt=(--signature-format openssl)
	check "sign $mech (key $id)" p11u --sign --id "$id" -m "$mech" "${p11args[@]}" "${fmt[@]}" \
		-i data.bin -o "$sig"
	check "verify $mech with pkcs11-tool (key $id)" p11verify --id "$id" -m "$mech" \
		"${p11args[@]}" "${fmt[@]}" -i data.bin --signature-file "$sig"
	check "verify $mech with openssl dgst -$dgst (key $id)" openssl dgst "-$dgst" -verify "pub-$id.pem" \
		"${osslargs[@]}" -signature "$sig" data.bin
	# A changed message must not verify.
	printf x >>data.bin
	check "openssl rejects the $mech signature of changed data (key $id)" \
		refused "Verification failure" openssl dgst "-$dgst" -verify "pub-$id.pem" "${osslargs[@]}" \
		-signature "$sig" data.bin
	check "pkcs11-tool rejects the $mech signature of changed data (key $id)" \
		says "Invalid signature\|CKR_SIGNATURE_INVALID" pkcs11-tool --module "$MODULE" --login \
		--pin "$USER_PIN" --verify --id "$id" -m "$mech" "${p11args[@]}" "${fmt[@]}" -i data.bin \
		--signature-file "$sig"
	truncate -s -1 data.bin
}

# --- EC keys ------------------------------------------------------------------
ec_max=0
if has_mech ECDSA-KEY-PAIR-GEN; then
	ec_max=$(sed -n 's/.*keySize={[0-9]*,\([0-9]*\)}.*/\1/p' <<<"${MECHS[ECDSA-KEY-PAIR-GEN]}")
fi
declare -A curve_id=([prime256v1]=01 [secp384r1]=02 [secp521r1]=03)
declare -A curve_bits=([prime256v1]=256 [secp384r1]=384 [secp521r1]=521)
declare -A curve_dgst=([prime256v1]=sha256 [secp384r1]=sha384 [secp521r1]=sha512)
ec_ids=()
for curve in prime256v1 secp384r1 secp521r1; do
	[ "${curve_bits[$curve]}" -le "${ec_max:-0}" ] || continue
	id=${curve_id[$curve]}
	log "EC $curve key pair"
	check "generate EC $curve key pair (id $id)" p11u --keypairgen --key-type "EC:$curve" \
		--label "ec-$curve" --id "$id" --usage-sign --usage-derive
	if [ "$curve" = prime256v1 ]; then
		check "export EC $curve public key (--read-object) and read it with openssl" pubkey_pem "$id" "pub-$id.pem"
	else
		check "EC $curve public key (CKA_EC_POINT) read by openssl" ec_pubkey_pem "$id" "$curve" "pub-$id.pem"
	fi
	check "exported key is on $curve" sh -c "openssl pkey -pubin -in pub-$id.pem -text -noout | grep -q 'NIST CURVE: P-${curve_bits[$curve]}\|ASN1 OID: $curve'"
	ec_ids+=("$id")
	for m in ECDSA-SHA1 ECDSA-SHA256 ECDSA-SHA384 ECDSA-SHA512; do
		has_mech_flag "$m" sign || continue
		d=$(tr '[:upper:]' '[:lower:]' <<<"${m#ECDSA-}")
		sign_verify "$id" "$m" "$d"
	done
	if has_mech_flag ECDSA sign; then
		# Raw ECDSA over a hash computed by openssl.
		d=${curve_dgst[$curve]}
		openssl dgst "-$d" -binary data.bin >"h-$d.bin"
		check "sign ECDSA (raw, $d hash by openssl, key $id)" p11u --sign --id "$id" -m ECDSA \
			--signature-format openssl -i "h-$d.bin" -o "sig-$id-raw.bin"
		check "openssl verifies the raw ECDSA signature (key $id)" openssl dgst "-$d" \
			-verify "pub-$id.pem" -signature "sig-$id-raw.bin" data.bin
	fi
done

# --- ECDH derive ----------------------------------------------------------------
if has_mech_flag ECDH1-DERIVE derive && [ ${#ec_ids[@]} -gt 0 ]; then
	log "ECDH1-DERIVE against openssl"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.pem 2>/dev/null
	openssl pkey -in peer.pem -pubout -outform DER -out peer-pub.der
	check "derive ECDH secret with the token's P-256 key (--derive -m ECDH1-DERIVE)" \
		p11u --derive -m ECDH1-DERIVE --id 01 -i peer-pub.der -o secret-token.bin
	openssl pkeyutl -derive -inkey peer.pem -peerkey pub-01.pem -out secret-openssl.bin
	check "the derived secret equals openssl's ECDH secret" cmp secret-token.bin secret-openssl.bin
fi

# --- RSA ------------------------------------------------------------------------
if has_mech RSA-PKCS-KEY-PAIR-GEN; then
	log "RSA 2048 key pair (slow in TCG)"
	check "generate RSA 2048 key pair (id 04)" p11u --keypairgen --key-type rsa:2048 --label rsa2048 \
		--id 04 --usage-sign --usage-decrypt
	check "export RSA public key and read it with openssl" pubkey_pem 04 pub-04.pem
	for m in SHA1-RSA-PKCS SHA256-RSA-PKCS SHA384-RSA-PKCS SHA512-RSA-PKCS; do
		has_mech_flag "$m" sign || continue
		d=$(tr '[:upper:]' '[:lower:]' <<<"${m%%-*}")
		sign_verify 04 "$m" "$d"
	done
	for m in SHA256-RSA-PKCS-PSS SHA384-RSA-PKCS-PSS SHA512-RSA-PKCS-PSS; do
		has_mech_flag "$m" sign || continue
		d=$(tr '[:upper:]' '[:lower:]' <<<"${m%%-*}")
		D=${d^^}
		hl=$(($(openssl dgst "-$d" -binary </dev/null | wc -c)))
		sign_verify 04 "$m" "$d" --mgf "MGF1-$D" --salt-len "$hl" -- \
			-sigopt rsa_padding_mode:pss -sigopt "rsa_pss_saltlen:$hl" -sigopt "rsa_mgf1_md:$d"
	done
	if has_mech_flag RSA-PKCS sign; then
		# RSA-PKCS over a DigestInfo that openssl makes: openssl pkeyutl -verify checks it.
		openssl dgst -sha256 -binary data.bin >h256.bin
		check "sign RSA-PKCS (raw; SHA-256 DigestInfo by openssl)" sh -c "
			echo 3031300d060960864801650304020105000420 | xxd -r -p >di.bin &&
			cat h256.bin >>di.bin &&
			pkcs11-tool --module '$MODULE' --login --pin '$USER_PIN' --sign --id 04 -m RSA-PKCS -i di.bin -o sig-raw.bin"
		check "openssl verifies the RSA-PKCS signature" openssl dgst -sha256 -verify pub-04.pem \
			-signature sig-raw.bin data.bin
	fi
	head -c 100 /dev/urandom >msg.bin
	if has_mech_flag RSA-PKCS decrypt; then
		openssl pkeyutl -encrypt -pubin -inkey pub-04.pem -in msg.bin -out enc-pkcs.bin
		check "decrypt RSA-PKCS of openssl's ciphertext" p11u --decrypt --id 04 -m RSA-PKCS \
			-i enc-pkcs.bin -o dec-pkcs.bin
		check "RSA-PKCS plaintext matches" cmp msg.bin dec-pkcs.bin
	fi
	if has_mech_flag RSA-PKCS-OAEP decrypt; then
		for d in sha1 sha256; do
			D=${d^^}
			[ "$D" = SHA1 ] && D=SHA-1
			openssl pkeyutl -encrypt -pubin -inkey pub-04.pem -pkeyopt rsa_padding_mode:oaep \
				-pkeyopt "rsa_oaep_md:$d" -pkeyopt "rsa_mgf1_md:$d" -in msg.bin -out "enc-oaep-$d.bin"
			check "decrypt RSA-PKCS-OAEP ($d) of openssl's ciphertext" p11u --decrypt --id 04 \
				-m RSA-PKCS-OAEP --hash-algorithm "$D" --mgf "MGF1-${d^^}" -i "enc-oaep-$d.bin" \
				-o "dec-oaep-$d.bin"
			check "RSA-PKCS-OAEP ($d) plaintext matches" cmp msg.bin "dec-oaep-$d.bin"
		done
	fi
fi

# --- AES --------------------------------------------------------------------------
if has_mech AES-KEY-GEN; then
	log "AES keys"
	for len in 16 24 32; do
		[[ "${MECHS[AES-KEY-GEN]}" == *"keySize={"* ]] || break
		check "generate AES-$((len * 8)) key (id 10$len)" p11u --keygen --key-type "AES:$len" \
			--label "aes$((len * 8))" --id "10$len" --usage-decrypt
	done
	iv=000102030405060708090a0b0c0d0e0f
	head -c 4096 /dev/urandom >plain16.bin # a multiple of the block size
	# (pkcs11-tool 0.23 encrypts with ECB, CBC, CBC-PAD only; CTR/GCM: pykcs11_test.py)
	for m in AES-ECB AES-CBC AES-CBC-PAD; do
		has_mech_flag "$m" encrypt || continue
		ivopt=(--iv "$iv")
		[ "$m" = AES-ECB ] && ivopt=()
		in=plain16.bin
		[ "$m" = AES-CBC-PAD ] && in=data.bin
		check "encrypt $m (AES-256, id 1032)" p11u --encrypt --id 1032 -m "$m" "${ivopt[@]}" -i "$in" \
			-o "enc-$m.bin"
		check "decrypt $m (AES-256, id 1032)" p11u --decrypt --id 1032 -m "$m" "${ivopt[@]}" \
			-i "enc-$m.bin" -o "dec-$m.bin"
		check "$m round trip gives the plaintext back" cmp "$in" "dec-$m.bin"
		check "$m ciphertext differs from the plaintext" sh -c "! cmp -s $in enc-$m.bin"
	done
fi

# --- generic secret + HMAC ------------------------------------------------------------
if has_mech GENERIC-SECRET-KEY-GEN; then
	log "generic secret key and HMAC"
	check "generate GENERIC:64 secret key (id 20)" p11u --keygen --key-type GENERIC:64 \
		--label hmac --id 20 --usage-sign
	for m in SHA256-HMAC SHA384-HMAC SHA512-HMAC; do
		has_mech_flag "$m" sign || continue
		check "sign $m (id 20)" p11u --sign --id 20 -m "$m" -i data.bin -o "mac1-$m.bin"
		check "sign $m again (id 20)" p11u --sign --id 20 -m "$m" -i data.bin -o "mac2-$m.bin"
		check "$m is deterministic and as long as its hash" sh -c "cmp mac1-$m.bin mac2-$m.bin &&
			test \$(stat -c %s mac1-$m.bin) = \$(openssl dgst -${m%%-*} -binary </dev/null | wc -c)"
		check "verify $m (id 20)" p11verify --id 20 -m "$m" -i data.bin --signature-file "mac1-$m.bin"
	done
fi
# (AES-CMAC: pkcs11-tool 0.23 signs only with private or HMAC keys; see pykcs11_test.py)

# --- wrap / unwrap ------------------------------------------------------------------
wrap_mech=
for m in AES-KEY-WRAP AES-KEY-WRAP-PAD mechtype-0x210A AES-CBC AES-CBC-PAD; do
	if has_mech_flag "$m" wrap && has_mech_flag "$m" unwrap; then
		wrap_mech=$m
		break
	fi
done
if [ -n "$wrap_mech" ]; then
	log "wrap/unwrap with $wrap_mech"
	check "generate AES wrapping key (id 30, --usage-wrap)" p11u --keygen --key-type AES:32 \
		--label kek --id 30 --usage-wrap
	check "generate extractable AES key to wrap (id 31)" p11u --keygen --key-type AES:32 \
		--label wrapme --id 31 --usage-decrypt --extractable
	wiv=()
	[[ "$wrap_mech" == AES-CBC* ]] && wiv=(--iv 000102030405060708090a0b0c0d0e0f)
	check "wrap key 31 under key 30 ($wrap_mech)" p11u --wrap -m "$wrap_mech" --id 30 "${wiv[@]}" \
		--application-id 31 -o wrapped.bin
	check "unwrap it as a new AES key (id 32)" p11u --unwrap -m "$wrap_mech" --id 30 "${wiv[@]}" \
		--key-type AES: -i wrapped.bin --application-id 32 --application-label unwrapped
	# Same key <=> same AES-CBC ciphertext of the same data under the same IV.
	cm=
	for m in AES-CBC AES-ECB AES-CBC-PAD; do has_mech_flag "$m" encrypt && { cm=$m; break; }; done
	if [ -n "$cm" ]; then
		ivo=(--iv 000102030405060708090a0b0c0d0e0f)
		[ "$cm" = AES-ECB ] && ivo=()
		head -c 64 /dev/urandom >p64.bin
		check "the unwrapped key encrypts like the original ($cm)" sh -c "
			pkcs11-tool --module '$MODULE' --login --pin '$USER_PIN' --encrypt --id 31 -m $cm ${ivo[*]} -i p64.bin -o c31.bin &&
			pkcs11-tool --module '$MODULE' --login --pin '$USER_PIN' --encrypt --id 32 -m $cm ${ivo[*]} -i p64.bin -o c32.bin &&
			cmp c31.bin c32.bin"
	fi
	check "a non-extractable key cannot be wrapped" refused CKR_KEY_UNEXTRACTABLE \
		pkcs11-tool --module "$MODULE" --login --pin "$USER_PIN" --wrap -m "$wrap_mech" --id 30 \
		"${wiv[@]}" --application-id 1032 -o w2.bin
fi

# --- digests against openssl ----------------------------------------------------------
log "digests"
for m in SHA-1 SHA224 SHA256 SHA384 SHA512; do
	has_mech_flag "$m" digest || continue
	d=$(tr '[:upper:]' '[:lower:]' <<<"${m//-/}")
	check "digest $m equals openssl dgst -$d" sh -c "
		pkcs11-tool --module '$MODULE' --hash -m $m -i data.bin -o h.bin &&
		openssl dgst -$d -binary data.bin | cmp - h.bin"
done

# --- random -----------------------------------------------------------------------------
check "generate 64 random bytes" sh -c "pkcs11-tool --module '$MODULE' --generate-random 64 -o r.bin && test \$(stat -c %s r.bin) = 64"

# --- objects --------------------------------------------------------------------------
log "objects"
echo "hello hsmgroup" >obj.txt
check "write a data object" p11u --write-object obj.txt --type data --label e2e-data \
	--application-label e2e-app
check "read the data object back" sh -c "pkcs11-tool --module '$MODULE' --login --pin '$USER_PIN' --read-object --type data --label e2e-data -o obj.out && cmp obj.txt obj.out"
check "--list-objects shows the EC key pair" sh -c "pkcs11-tool --module '$MODULE' --login --pin '$USER_PIN' -O | grep -q 'Private Key Object; EC'"
check "--list-objects shows the data object" sh -c "pkcs11-tool --module '$MODULE' --login --pin '$USER_PIN' -O | grep -q e2e-data"
check "private keys are hidden without login" lists 'Public Key Object' 'Private Key Object' \
	pkcs11-tool --module "$MODULE" -O
check "rename an object (--set-id)" p11u --type pubkey --id 01 --set-id 0a
check "the renamed public key is found under its new id" p11u --read-object --type pubkey --id 0a -o renamed.der
check "delete the data object" p11u --delete-object --type data --label e2e-data
check "the deleted data object is gone" lists 'Private Key Object' e2e-data \
	pkcs11-tool --module "$MODULE" --login --pin "$USER_PIN" -O
check "token objects persist: a new process sees the AES key" sh -c "pkcs11-tool --module '$MODULE' --login --pin '$USER_PIN' -O --type secrkey | grep -q aes256"

# --- pkcs11-tool's own test ---------------------------------------------------------------
log "pkcs11-tool --test --login"
check "pkcs11-tool --test --login" sh -c "pkcs11-tool --module '$MODULE' --test --login --pin '$USER_PIN' >test.out 2>&1 && grep -q '^No errors' test.out"
sed 's/^/    /' test.out 2>/dev/null | tail -n 25

# --- required mechanisms ------------------------------------------------------------------
# Every mechanism the card message format defines (lib/msg/hsmgroup_msg.h),
# by pkcs11-tool name (or its mechtype-0x... form for names it does not know).
required=(
	RSA-PKCS-KEY-PAIR-GEN RSA-PKCS SHA1-RSA-PKCS SHA256-RSA-PKCS SHA384-RSA-PKCS SHA512-RSA-PKCS
	RSA-PKCS-PSS SHA256-RSA-PKCS-PSS SHA384-RSA-PKCS-PSS SHA512-RSA-PKCS-PSS RSA-PKCS-OAEP
	ECDSA-KEY-PAIR-GEN ECDSA ECDSA-SHA1 ECDSA-SHA256 ECDSA-SHA384 ECDSA-SHA512 ECDH1-DERIVE
	AES-KEY-GEN AES-ECB AES-CBC AES-CBC-PAD AES-CTR AES-GCM AES-CMAC
	AES-KEY-WRAP mechtype-0x210A
	GENERIC-SECRET-KEY-GEN SHA-1-HMAC SHA256-HMAC SHA384-HMAC SHA512-HMAC
	SHA-1 SHA224 SHA256 SHA384 SHA512
)
missing=()
for m in "${required[@]}"; do has_mech "$m" || missing+=("$m"); done
[ "$ec_max" -ge 521 ] 2>/dev/null || missing+=("EC P-384/P-521 (ECDSA-KEY-PAIR-GEN keySize max ${ec_max:-none})")
[ ${#missing[@]} -eq 0 ] || note "mechanism 0x210A is CKM_AES_KEY_WRAP_PAD"
check "required mechanisms present${missing[*]:+ (missing: ${missing[*]})}" test ${#missing[@]} -eq 0

finish
