/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmgroup message format, version 1 (%HSMG_MSG_VERSION): what the PKCS#11
 * module (or any client) sends to a coprocessor card through
 * %HSMG_IOC_SUBMIT, and what the card answers.  It is a contract between the
 * client library and the card core (lib/), not kernel ABI: the kernel does
 * not look inside a message, it only checks its length against
 * %HSMG_MAX_MSG_SIZE (uapi/linux/hsmgroup.h), and no driver file includes
 * this header.  A change of layout or meaning bumps %HSMG_MSG_VERSION.
 *
 * No field is named like one of the lower-case compatibility macros of
 * p11-kit's <p11-kit/pkcs11.h> (iv_len, aad_len, tag_bits, hash_alg,
 * reserved, ...), so the two headers may be included in any order.
 *
 * Layout of one message (every integer in host byte order, the message never
 * leaves the host; a driver for a real card converts):
 *
 *   struct hsmg_msg_hdr            48 bytes
 *   TLV 0: struct hsmg_msg_tlv     8 bytes, then @len value bytes, then zero
 *                                  padding up to the next multiple of 8
 *   TLV 1 ...
 *
 * Rules a valid message keeps (the codec in lib/msg/hsmg_msg.c enforces them
 * on both sides; a card answers violations as described at enum
 * hsmg_msg_op):
 *
 * - @hdr.length is the whole message (header, TLVs, padding) and equals
 *   the number of bytes received; it is a multiple of 8 and at most
 *   %HSMG_MAX_MSG_SIZE (from hsmgroup.h).
 * - @hdr.ntlv is the exact number of TLVs, at most %HSMG_MSG_MAX_TLVS.
 * - TLVs follow each other without gaps; the last one ends exactly at
 *   @hdr.length; padding bytes are zero.
 * - Each tag appears at most once (duplicates are rejected, there is no
 *   "last one wins").  A request carries only request tags
 *   (%HSMG_TAG_KEY .. %HSMG_TAG_SIGNATURE), a response only response tags
 *   (%HSMG_TAG_OUT_DATA .. %HSMG_TAG_OUT_STATE); tag 0 and unknown tags are
 *   rejected.  A later version that adds tags bumps %HSMG_MSG_VERSION.
 * - @flags and @rsvd are zero; @rv is zero in a request.
 *
 * Key blobs and state blobs are opaque to everybody but the card: they are
 * encrypted and authenticated under the card's master key, so any member of
 * a group can use them and the host can keep them anywhere.
 */
#ifndef HSMG_LIB_MSG_HSMGROUP_MSG_H
#define HSMG_LIB_MSG_HSMGROUP_MSG_H

#include <linux/types.h>

/** HSMG_MSG_MAGIC - first four bytes of every message ("HSMG" as a u32). */
#define HSMG_MSG_MAGIC 0x474d5348U
/** HSMG_MSG_VERSION - version of this format. */
#define HSMG_MSG_VERSION 1
/** HSMG_MSG_HDR_SIZE - size of &struct hsmg_msg_hdr. */
#define HSMG_MSG_HDR_SIZE 48
/** HSMG_MSG_TLV_HDR_SIZE - size of &struct hsmg_msg_tlv. */
#define HSMG_MSG_TLV_HDR_SIZE 8
/** HSMG_MSG_ALIGN - TLVs start at, and the message ends at, this multiple. */
#define HSMG_MSG_ALIGN 8
/** HSMG_MSG_MAX_TLVS - most TLVs in one message. */
#define HSMG_MSG_MAX_TLVS 16
/** HSMG_MSG_MAX_RANDOM - most bytes one %HSMG_MSG_OP_RANDOM returns. */
#define HSMG_MSG_MAX_RANDOM 65536

/**
 * enum hsmg_msg_type - direction of a message.
 * @HSMG_MSG_REQUEST: client to card.
 * @HSMG_MSG_RESPONSE: card to client.
 */
enum hsmg_msg_type {
	HSMG_MSG_REQUEST = 1,
	HSMG_MSG_RESPONSE = 2,
};

/**
 * enum hsmg_msg_op - the operation; a response carries its request's op.
 *
 * Multi-part operations are stateless on the card: *_INIT returns
 * %HSMG_TAG_OUT_STATE, each *_UPDATE takes %HSMG_TAG_STATE (plus its
 * input) and returns the next %HSMG_TAG_OUT_STATE, *_FINAL takes the state
 * and returns the result.  A state blob is authenticated, bound to the
 * session id of the request that made it and to the mechanism in the
 * header (which must be the same in every part); a tampered, foreign or
 * mismatching state gives %CKR_SAVED_STATE_INVALID.  Any member of the
 * group can serve any part.
 *
 * Answers of a card (emulated card: tools/hsmsimd):
 * - header unusable (shorter than the header, wrong magic, version, type,
 *   length field not equal to the received length): no response message,
 *   the transport status is %HSMG_BE_BADREQ (the client gets -EPROTO);
 * - header usable but the rest malformed (flags/rsvd/rv not zero, TLV
 *   framing, duplicate or unknown tags, a tag the op does not take, a
 *   missing or wrongly sized TLV): a response with rv %CKR_ARGUMENTS_BAD
 *   and no TLVs;
 * - otherwise a response with rv %CKR_OK and the outputs below, or another
 *   CKR_* value and no TLVs.  Ops not implemented: %CKR_FUNCTION_NOT_SUPPORTED;
 *   mechanisms not supported for the op: %CKR_MECHANISM_INVALID; a missing
 *   or invalid mechanism parameter: %CKR_MECHANISM_PARAM_INVALID; an output
 *   that would make the response exceed %HSMG_MAX_MSG_SIZE:
 *   %CKR_DATA_LEN_RANGE.
 * - key blobs: tampered, truncated, or from another master key:
 *   %CKR_KEY_HANDLE_INVALID; bound (strict/VHSM) to a session that is not
 *   logged in on the card: %CKR_USER_NOT_LOGGED_IN; bound to another
 *   session's pin-blob or another card-PIN: %CKR_KEY_HANDLE_INVALID; wrong
 *   key type for the mechanism: %CKR_KEY_TYPE_INCONSISTENT; use not in
 *   the key's usage: %CKR_KEY_FUNCTION_NOT_PERMITTED.
 *
 * Keyed multi-part operations (ENCRYPT, DECRYPT, SIGN, VERIFY) carry the
 * same key input in EVERY part: %HSMG_TAG_KEY (the same blob bytes as in
 * *_INIT), or for VERIFY/ENCRYPT with a public key %HSMG_TAG_PUBKEY (plus
 * %HSMG_TAG_ATTRS if the INIT had it).  The card checks the key (binding,
 * login, usage) on every part, and the state is bound to the SHA-256 of
 * those key bytes; another key gives %CKR_SAVED_STATE_INVALID.
 * %HSMG_TAG_PARAM is taken by *_INIT only (the state keeps what it needs).
 * A state never holds the data seen so far, only the running cipher, MAC
 * or hash state plus at most one partial block (and for GCM decryption the
 * last tag-length bytes), so multi-part operations have no length limit
 * and any member can continue them.  A state blob is not single-use: the
 * host must not feed an old state twice (for CTR/GCM encryption that
 * would reuse keystream), as with any stateless coprocessor.
 *
 * Mechanisms (%HSMG_TAG_PARAM layouts at &struct hsmg_msg_gcm_param and
 * following; "no PARAM" means the tag must be absent or empty):
 *
 * - %CKM_AES_ECB (no PARAM), %CKM_AES_CBC (PARAM: 16-byte IV),
 *   %CKM_AES_CBC_PAD (PARAM: 16-byte IV; PKCS#7 padding),
 *   %CKM_AES_CTR (&struct hsmg_msg_ctr_param), %CKM_AES_GCM
 *   (&struct hsmg_msg_gcm_param + IV + AAD): ENCRYPT/DECRYPT single and
 *   multi-part with an AES key.  ECB/CBC without padding: data (single
 *   part, or the total at FINAL) not a multiple of 16 gives
 *   %CKR_DATA_LEN_RANGE (encrypt) or %CKR_ENCRYPTED_DATA_LEN_RANGE
 *   (decrypt); bad CBC_PAD padding %CKR_ENCRYPTED_DATA_INVALID.  CTR: more
 *   blocks than the counter bits allow gives %CKR_DATA_LEN_RANGE.  GCM
 *   encryption returns ciphertext as parts arrive and the tag at FINAL
 *   (ciphertext || tag overall).  GCM decryption takes ciphertext || tag
 *   as a stream; each DECRYPT_UPDATE returns the plaintext of all but the
 *   last tag-length bytes seen so far, DECRYPT_FINAL returns the rest
 *   after checking the tag (%CKR_ENCRYPTED_DATA_INVALID when wrong).  The
 *   card thus releases unverified plaintext to the host in UPDATE answers:
 *   the shim must hold it back and give it to the application only after
 *   DECRYPT_FINAL returned %CKR_OK (PKCS#11 3.0 lets C_DecryptUpdate for
 *   GCM return nothing and C_DecryptFinal everything).
 * - %CKM_RSA_PKCS: SIGN/VERIFY (single-part; DATA is the DigestInfo or
 *   any value up to modulus-11 bytes) and ENCRYPT/DECRYPT (single-part).
 * - %CKM_SHA1_RSA_PKCS, %CKM_SHA224_RSA_PKCS, %CKM_SHA256_RSA_PKCS,
 *   %CKM_SHA384_RSA_PKCS, %CKM_SHA512_RSA_PKCS: SIGN/VERIFY, single and
 *   multi-part, no PARAM.
 * - %CKM_RSA_PKCS_PSS (single-part, DATA is the hash, as long as
 *   @hash's output) and %CKM_SHA1_RSA_PKCS_PSS .. %CKM_SHA512_RSA_PKCS_PSS
 *   (single and multi-part; @hash must be the mechanism's hash):
 *   SIGN/VERIFY with &struct hsmg_msg_pss_param.
 * - %CKM_RSA_PKCS_OAEP: ENCRYPT/DECRYPT single-part with
 *   &struct hsmg_msg_oaep_param + label.
 * - %CKM_ECDSA (single-part, DATA 1..64 bytes taken as the hash) and
 *   %CKM_ECDSA_SHA1, %CKM_ECDSA_SHA224, %CKM_ECDSA_SHA256,
 *   %CKM_ECDSA_SHA384, %CKM_ECDSA_SHA512 (single and multi-part): SIGN /
 *   VERIFY on P-256, P-384, P-521, no PARAM; signature r || s, each as
 *   long as the curve order (32, 48, 66 bytes).
 * - %CKM_AES_CMAC (16-byte MAC) and %CKM_AES_CMAC_GENERAL (PARAM: one
 *   __u32 MAC length 1..16): SIGN/VERIFY single and multi-part, AES key.
 * - %CKM_SHA_1_HMAC, %CKM_SHA224_HMAC, %CKM_SHA256_HMAC, %CKM_SHA384_HMAC,
 *   %CKM_SHA512_HMAC (full-length MAC) and their *_HMAC_GENERAL forms
 *   (PARAM: one __u32 MAC length 1..digest length): SIGN/VERIFY single and
 *   multi-part with a %CKK_GENERIC_SECRET key.  A wrong-length signature to
 *   VERIFY (MACs, RSA, ECDSA) gives %CKR_SIGNATURE_LEN_RANGE, a wrong one
 *   %CKR_SIGNATURE_INVALID.
 * - Key generation: %CKM_AES_KEY_GEN (value_len 16/24/32),
 *   %CKM_GENERIC_SECRET_KEY_GEN (value_len 1..512), %CKM_EC_KEY_PAIR_GEN
 *   (curve), %CKM_RSA_PKCS_KEY_PAIR_GEN (value_len = modulus BITS,
 *   2048..4096, multiple of 8; optional PARAM = public exponent, big-endian,
 *   1..8 bytes, odd, >= 3; default 65537).
 * - %CKM_AES_KEY_WRAP (RFC 3394; optional PARAM: 8-byte IV) and
 *   %CKM_AES_KEY_WRAP_PAD (RFC 5649; optional PARAM: 4-byte AIV): WRAP and
 *   UNWRAP.  The wrapped value of a secret key is its key bytes (KEY_WRAP
 *   needs a multiple of 8, at least 16); of an RSA or EC private key its
 *   PKCS#8 PrivateKeyInfo DER (use KEY_WRAP_PAD).
 * - %CKM_ECDH1_DERIVE: DERIVE with &struct hsmg_msg_ecdh_param.
 *
 * Public keys (%HSMG_TAG_PUBKEY, %HSMG_TAG_OUT_PUBKEY): EC: the
 * uncompressed point 0x04 || X || Y (65, 97 or 133 bytes; its length gives
 * the curve when no %HSMG_TAG_ATTRS says it); RSA: &struct hsmg_msg_rsa_pub
 * then modulus and public exponent (big-endian).  A request with
 * %HSMG_TAG_PUBKEY and no %HSMG_TAG_ATTRS is EC; for RSA add ATTRS with
 * @key_type %CKK_RSA (other ATTRS fields 0).
 *
 * @HSMG_MSG_OP_RANDOM: random bytes.  In: %HSMG_TAG_PARAM = __u32 count
 *	(1..%HSMG_MSG_MAX_RANDOM); mechanism ignored (0).  Out:
 *	%HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_GENERATE_KEY: secret key generation (%CKM_AES_KEY_GEN,
 *	%CKM_GENERIC_SECRET_KEY_GEN).  In: %HSMG_TAG_ATTRS.  Out:
 *	%HSMG_TAG_OUT_KEY.
 * @HSMG_MSG_OP_GENERATE_KEYPAIR: key pair (%CKM_EC_KEY_PAIR_GEN,
 *	%CKM_RSA_PKCS_KEY_PAIR_GEN).  In: %HSMG_TAG_ATTRS (curve or modulus
 *	bits; usage applies to the private key blob, which also serves the
 *	public operations), optional %HSMG_TAG_PARAM (RSA exponent).  Out:
 *	%HSMG_TAG_OUT_KEY (private key blob), %HSMG_TAG_OUT_PUBKEY.
 * @HSMG_MSG_OP_ENCRYPT: single-part encryption.  In: %HSMG_TAG_KEY (for
 *	RSA also %HSMG_TAG_PUBKEY + %HSMG_TAG_ATTRS instead), %HSMG_TAG_PARAM,
 *	%HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_DATA.  For %CKM_AES_GCM the output
 *	is ciphertext || tag (PKCS#11 convention).
 * @HSMG_MSG_OP_ENCRYPT_INIT: In: key, %HSMG_TAG_PARAM.  Out:
 *	%HSMG_TAG_OUT_STATE.
 * @HSMG_MSG_OP_ENCRYPT_UPDATE: In: key, %HSMG_TAG_STATE, %HSMG_TAG_DATA.
 *	Out: %HSMG_TAG_OUT_STATE, %HSMG_TAG_OUT_DATA (possibly empty).
 * @HSMG_MSG_OP_ENCRYPT_FINAL: In: key, %HSMG_TAG_STATE, optional
 *	%HSMG_TAG_DATA (a last part).  Out: %HSMG_TAG_OUT_DATA (possibly
 *	empty).
 * @HSMG_MSG_OP_DECRYPT: single-part decryption, as ENCRYPT; for
 *	%CKM_AES_GCM the input is ciphertext || tag; a wrong tag gives
 *	%CKR_ENCRYPTED_DATA_INVALID.
 * @HSMG_MSG_OP_DECRYPT_INIT: as ENCRYPT_INIT.
 * @HSMG_MSG_OP_DECRYPT_UPDATE: as ENCRYPT_UPDATE.
 * @HSMG_MSG_OP_DECRYPT_FINAL: as ENCRYPT_FINAL.
 * @HSMG_MSG_OP_SIGN: single-part signature or MAC.  In: %HSMG_TAG_KEY,
 *	optional %HSMG_TAG_PARAM, %HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_SIGN_INIT: In: %HSMG_TAG_KEY, optional %HSMG_TAG_PARAM.
 *	Out: %HSMG_TAG_OUT_STATE.
 * @HSMG_MSG_OP_SIGN_UPDATE: In: %HSMG_TAG_KEY, %HSMG_TAG_STATE,
 *	%HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_STATE.
 * @HSMG_MSG_OP_SIGN_FINAL: In: %HSMG_TAG_KEY, %HSMG_TAG_STATE, optional
 *	%HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_VERIFY: single-part verification.  In: %HSMG_TAG_KEY (a
 *	private key blob, or a secret key for MACs) or %HSMG_TAG_PUBKEY (with
 *	optional %HSMG_TAG_ATTRS, see above), optional %HSMG_TAG_PARAM,
 *	%HSMG_TAG_DATA, %HSMG_TAG_SIGNATURE.  Out: nothing; rv %CKR_OK,
 *	%CKR_SIGNATURE_INVALID or %CKR_SIGNATURE_LEN_RANGE.
 * @HSMG_MSG_OP_VERIFY_INIT: as SIGN_INIT (key as in VERIFY).
 * @HSMG_MSG_OP_VERIFY_UPDATE: as SIGN_UPDATE.
 * @HSMG_MSG_OP_VERIFY_FINAL: In: key, %HSMG_TAG_STATE, optional
 *	%HSMG_TAG_DATA, %HSMG_TAG_SIGNATURE.  Out: nothing (rv as VERIFY).
 * @HSMG_MSG_OP_DIGEST: single-part digest, e.g. %CKM_SHA256.  In:
 *	%HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_DIGEST_INIT: no input.  Out: %HSMG_TAG_OUT_STATE.
 * @HSMG_MSG_OP_DIGEST_UPDATE: In: %HSMG_TAG_STATE, %HSMG_TAG_DATA.  Out:
 *	%HSMG_TAG_OUT_STATE.
 * @HSMG_MSG_OP_DIGEST_FINAL: In: %HSMG_TAG_STATE, optional %HSMG_TAG_DATA
 *	(a last part).  Out: %HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_WRAP: wrap %HSMG_TAG_KEY2 (any key blob with
 *	%HSMG_KEY_EXTRACTABLE, else %CKR_KEY_UNEXTRACTABLE) under
 *	%HSMG_TAG_KEY (an AES key with %HSMG_KEY_USE_WRAP), optional
 *	%HSMG_TAG_PARAM.  Out: %HSMG_TAG_OUT_DATA (the wrapped key).
 * @HSMG_MSG_OP_UNWRAP: unwrap %HSMG_TAG_DATA under %HSMG_TAG_KEY (AES key
 *	with %HSMG_KEY_USE_UNWRAP), optional %HSMG_TAG_PARAM, into a new blob
 *	with %HSMG_TAG_ATTRS (@key_type says what the plaintext is;
 *	@value_len 0 takes the unwrapped length, else must equal it; for EC
 *	@curve 0 takes the curve of the PKCS#8 key, else must equal it).  A
 *	wrong integrity check value: %CKR_WRAPPED_KEY_INVALID.  Out:
 *	%HSMG_TAG_OUT_KEY, and %HSMG_TAG_OUT_PUBKEY for private keys.
 * @HSMG_MSG_OP_DERIVE: derive a key (%CKM_ECDH1_DERIVE) from %HSMG_TAG_KEY
 *	(EC private key with %HSMG_KEY_USE_DERIVE), %HSMG_TAG_PARAM
 *	(&struct hsmg_msg_ecdh_param), %HSMG_TAG_ATTRS of the new secret key
 *	(%CKK_AES with value_len 16/24/32 or %CKK_GENERIC_SECRET with value_len
 *	1..512, 0 = the whole KDF output / shared secret).  Out:
 *	%HSMG_TAG_OUT_KEY.
 * @HSMG_MSG_OP_IMPORT_KEY: turn a clear key value into a blob (for
 *	C_CreateObject and similar).  In: %HSMG_TAG_ATTRS, %HSMG_TAG_DATA (the
 *	value), optional %HSMG_TAG_PARAM = __u32 HSMG_IMPORT_FMT_* (default
 *	%HSMG_IMPORT_FMT_RAW); mechanism ignored (0).  Out: %HSMG_TAG_OUT_KEY,
 *	and %HSMG_TAG_OUT_PUBKEY for private keys.  The card wipes the value
 *	after use; the caller should too.  Invalid values:
 *	%CKR_ATTRIBUTE_VALUE_INVALID; lengths %CKR_KEY_SIZE_RANGE.
 * @HSMG_MSG_OP_EXPORT_PUBKEY: the public part of a private key blob.  In:
 *	%HSMG_TAG_KEY; mechanism ignored (0).  Out: %HSMG_TAG_OUT_PUBKEY, and
 *	%HSMG_TAG_OUT_DATA = the sealed &struct hsmg_msg_key_attrs of the blob
 *	(32 bytes; also works for secret keys, without OUT_PUBKEY).
 * @HSMG_MSG_OP_EXPORT_KEY: the clear value of a secret key blob, for
 *	C_GetAttributeValue(CKA_VALUE) of a key that is not sensitive and
 *	extractable.  In: %HSMG_TAG_KEY (%CKK_AES or %CKK_GENERIC_SECRET;
 *	others give %CKR_KEY_TYPE_INCONSISTENT); mechanism ignored (0).  The
 *	blob must carry both %HSMG_KEY_EXTRACTABLE (else
 *	%CKR_KEY_UNEXTRACTABLE) and %HSMG_KEY_NOT_SENSITIVE (else
 *	%CKR_ATTRIBUTE_SENSITIVE).  Out: %HSMG_TAG_OUT_DATA = the key bytes
 *	(@value_len of them).  The caller wipes them after use.
 * @HSMG_MSG_OP_AUTH_RECORD: a new authentication record (the clear head
 *	is &struct hsmg_auth_record_hdr of linux/hsmgroup.h, the rest sealed
 *	under the master key) for a PIN of a token.  In: %HSMG_TAG_PARAM =
 *	&struct hsmg_msg_auth_param, %HSMG_TAG_DATA = the PIN (1..
 *	%HSMG_MAX_PIN_LEN bytes); mechanism ignored (0).  The record carries
 *	the token's secret, to which the card binds the token's keys.  A
 *	record made in a session logged in with a record of the same token
 *	keeps that secret (user records: by the SO, C_InitPIN, or the user,
 *	C_SetPIN; SO records: by the SO only) and clears the card's count of
 *	that user's failed logins; any other record carries a new secret
 *	(C_InitToken; the migration of a token made before records), which no
 *	existing key is bound to, and the token id the card derives from it
 *	(@token of the parameter is then ignored): a new secret is a new
 *	token, never an existing one's id.  Out: %HSMG_TAG_OUT_DATA = the
 *	record (%HSMG_MSG_AUTH_RECORD_LEN bytes).
 * @HSMG_MSG_OP_REBIND: bind a key blob made before records (no binding,
 *	not %HSMG_KEY_PUBLIC) to the user of the request's session, which must
 *	be logged in as the user with a record (else %CKR_USER_NOT_LOGGED_IN);
 *	a blob already bound to that user comes back unchanged, any other
 *	gives %CKR_KEY_HANDLE_INVALID.  In: %HSMG_TAG_KEY; mechanism ignored
 *	(0).  Out: %HSMG_TAG_OUT_KEY.
 * @HSMG_MSG_OP_CARDPIN: seal or open the card-PIN of a VHSM token, bound to
 *	the token's secret: only a session logged in as the token's user with
 *	its record (else %CKR_USER_NOT_LOGGED_IN) seals it or opens it.  In:
 *	%HSMG_TAG_PARAM = __u32 %HSMG_CARDPIN_SEAL or %HSMG_CARDPIN_OPEN,
 *	%HSMG_TAG_DATA = the card-PIN (8..16 bytes) or the sealed card-PIN
 *	(%HSMG_MSG_CARDPIN_SEALED_LEN bytes; else %CKR_DATA_LEN_RANGE); a
 *	sealed card-PIN of another token or altered gives
 *	%CKR_ENCRYPTED_DATA_INVALID.  Out: %HSMG_TAG_OUT_DATA = the sealed
 *	card-PIN or the card-PIN.
 */
enum hsmg_msg_op {
	HSMG_MSG_OP_RANDOM = 1,
	HSMG_MSG_OP_GENERATE_KEY = 2,
	HSMG_MSG_OP_GENERATE_KEYPAIR = 3,
	HSMG_MSG_OP_ENCRYPT = 4,
	HSMG_MSG_OP_ENCRYPT_INIT = 5,
	HSMG_MSG_OP_ENCRYPT_UPDATE = 6,
	HSMG_MSG_OP_ENCRYPT_FINAL = 7,
	HSMG_MSG_OP_DECRYPT = 8,
	HSMG_MSG_OP_DECRYPT_INIT = 9,
	HSMG_MSG_OP_DECRYPT_UPDATE = 10,
	HSMG_MSG_OP_DECRYPT_FINAL = 11,
	HSMG_MSG_OP_SIGN = 12,
	HSMG_MSG_OP_SIGN_INIT = 13,
	HSMG_MSG_OP_SIGN_UPDATE = 14,
	HSMG_MSG_OP_SIGN_FINAL = 15,
	HSMG_MSG_OP_VERIFY = 16,
	HSMG_MSG_OP_VERIFY_INIT = 17,
	HSMG_MSG_OP_VERIFY_UPDATE = 18,
	HSMG_MSG_OP_VERIFY_FINAL = 19,
	HSMG_MSG_OP_DIGEST = 20,
	HSMG_MSG_OP_DIGEST_INIT = 21,
	HSMG_MSG_OP_DIGEST_UPDATE = 22,
	HSMG_MSG_OP_DIGEST_FINAL = 23,
	HSMG_MSG_OP_WRAP = 24,
	HSMG_MSG_OP_UNWRAP = 25,
	HSMG_MSG_OP_DERIVE = 26,
	HSMG_MSG_OP_IMPORT_KEY = 27,
	HSMG_MSG_OP_EXPORT_PUBKEY = 28,
	HSMG_MSG_OP_EXPORT_KEY = 29,
	HSMG_MSG_OP_AUTH_RECORD = 30,
	HSMG_MSG_OP_REBIND = 31,
	HSMG_MSG_OP_CARDPIN = 32,
	HSMG_MSG_OP_MAX = 32,
};

/**
 * struct hsmg_msg_hdr - start of every message.
 * @magic: %HSMG_MSG_MAGIC.
 * @version: %HSMG_MSG_VERSION.
 * @type: enum hsmg_msg_type.
 * @op: enum hsmg_msg_op.
 * @flags: must be 0 (none defined in version 1).
 * @mechanism: the PKCS#11 CKM_* value of the operation (CK_MECHANISM_TYPE);
 *	echoed in the response.
 * @rv: 0 in a request; the PKCS#11 CKR_* result (CK_RV) in a response.
 * @length: bytes of the whole message including this header, a multiple
 *	of %HSMG_MSG_ALIGN, %HSMG_MSG_HDR_SIZE..%HSMG_MAX_MSG_SIZE.
 * @ntlv: number of TLVs after the header, 0..%HSMG_MSG_MAX_TLVS.
 * @rsvd: must be 0.
 */
struct hsmg_msg_hdr {
	__u32 magic;
	__u16 version;
	__u16 type;
	__u32 op;
	__u32 flags;
	__u64 mechanism;
	__u64 rv;
	__u32 length;
	__u32 ntlv;
	__u64 rsvd;
};

/**
 * enum hsmg_msg_tag - what a TLV holds.
 * @HSMG_TAG_KEY: (request) key blob, as returned in %HSMG_TAG_OUT_KEY.
 * @HSMG_TAG_KEY2: (request) second key blob (the key to wrap, a peer...).
 * @HSMG_TAG_PUBKEY: (request) public key: for EC the uncompressed point
 *	0x04 || X || Y (the value inside CKA_EC_POINT's DER OCTET STRING);
 *	for RSA &struct hsmg_msg_rsa_pub, modulus, exponent.
 * @HSMG_TAG_DATA: (request) input data.
 * @HSMG_TAG_PARAM: (request) mechanism parameter; layout by mechanism
 *	(see enum hsmg_msg_op): e.g. %CKM_AES_GCM: &struct hsmg_msg_gcm_param
 *	then IV then AAD; RANDOM: one __u32 byte count.
 * @HSMG_TAG_ATTRS: (request) &struct hsmg_msg_key_attrs, exactly.
 * @HSMG_TAG_STATE: (request) state blob of a multi-part operation.
 * @HSMG_TAG_SIGNATURE: (request) signature to verify.
 * @HSMG_TAG_OUT_DATA: (response) output data.
 * @HSMG_TAG_OUT_KEY: (response) new key blob (for a key pair: the private
 *	key).  Opaque; at most %HSMG_MSG_MAX_KEY_BLOB bytes (RSA-4096 about
 *	2.5 KiB, others a few hundred).
 * @HSMG_TAG_OUT_PUBKEY: (response) new public key, format as
 *	%HSMG_TAG_PUBKEY.
 * @HSMG_TAG_OUT_STATE: (response) next state blob of a multi-part operation.
 * @HSMG_TAG_REQ_FIRST: first request tag.
 * @HSMG_TAG_REQ_LAST: last request tag.
 * @HSMG_TAG_RESP_FIRST: first response tag.
 * @HSMG_TAG_RESP_LAST: last response tag.
 * @HSMG_TAG_MAX: largest tag of this version.
 */
enum hsmg_msg_tag {
	HSMG_TAG_KEY = 1,
	HSMG_TAG_KEY2 = 2,
	HSMG_TAG_PUBKEY = 3,
	HSMG_TAG_DATA = 4,
	HSMG_TAG_PARAM = 5,
	HSMG_TAG_ATTRS = 6,
	HSMG_TAG_STATE = 7,
	HSMG_TAG_SIGNATURE = 8,
	HSMG_TAG_OUT_DATA = 9,
	HSMG_TAG_OUT_KEY = 10,
	HSMG_TAG_OUT_PUBKEY = 11,
	HSMG_TAG_OUT_STATE = 12,

	HSMG_TAG_REQ_FIRST = HSMG_TAG_KEY,
	HSMG_TAG_REQ_LAST = HSMG_TAG_SIGNATURE,
	HSMG_TAG_RESP_FIRST = HSMG_TAG_OUT_DATA,
	HSMG_TAG_RESP_LAST = HSMG_TAG_OUT_STATE,
	HSMG_TAG_MAX = HSMG_TAG_OUT_STATE,
};

/**
 * struct hsmg_msg_tlv - head of one TLV.
 * @tag: enum hsmg_msg_tag.
 * @len: bytes of value that follow, without the padding.
 */
struct hsmg_msg_tlv {
	__u32 tag;
	__u32 len;
};

/* Curves of &struct hsmg_msg_key_attrs.curve. */
/** HSMG_CURVE_NONE - not an EC key. */
#define HSMG_CURVE_NONE 0
/** HSMG_CURVE_P256 - NIST P-256 (secp256r1, prime256v1). */
#define HSMG_CURVE_P256 1
/** HSMG_CURVE_P384 - NIST P-384 (secp384r1). */
#define HSMG_CURVE_P384 2
/** HSMG_CURVE_P521 - NIST P-521 (secp521r1). */
#define HSMG_CURVE_P521 3

/* Key usage bits of &struct hsmg_msg_key_attrs.usage. */
#define HSMG_KEY_USE_ENCRYPT (1U << 0)
#define HSMG_KEY_USE_DECRYPT (1U << 1)
#define HSMG_KEY_USE_SIGN    (1U << 2)
#define HSMG_KEY_USE_VERIFY  (1U << 3)
#define HSMG_KEY_USE_WRAP    (1U << 4)
#define HSMG_KEY_USE_UNWRAP  (1U << 5)
#define HSMG_KEY_USE_DERIVE  (1U << 6)
#define HSMG_KEY_USE_ALL     ((1U << 7) - 1)

/* Key flags of &struct hsmg_msg_key_attrs.flags. */
/**
 * HSMG_KEY_TOKEN - a token object (CKA_TOKEN true).  Strict sessions bind
 * only session keys (this flag clear) to the session's pin-blob; VHSM
 * sessions bind every key to the card-PIN.
 */
#define HSMG_KEY_TOKEN (1U << 0)
/** HSMG_KEY_EXTRACTABLE - the key may be wrapped (CKA_EXTRACTABLE). */
#define HSMG_KEY_EXTRACTABLE (1U << 1)
/**
 * HSMG_KEY_NOT_SENSITIVE - a secret key whose clear value may be read
 * (CKA_SENSITIVE false): %HSMG_MSG_OP_EXPORT_KEY returns it when
 * %HSMG_KEY_EXTRACTABLE is set too.  Without it (every blob made before
 * the flag existed) the value never leaves the card in clear.
 */
#define HSMG_KEY_NOT_SENSITIVE (1U << 2)
/**
 * HSMG_KEY_PUBLIC - a key usable without login (CKA_PRIVATE false).
 * Without it, a key made in a session logged in as the user with an
 * authentication record is bound to the token's secret: the card uses it
 * only in sessions logged in with that token's user PIN (the public part
 * of a private key stays readable: %HSMG_MSG_OP_EXPORT_PUBKEY, verify,
 * encrypt).
 */
#define HSMG_KEY_PUBLIC (1U << 3)
#define HSMG_KEY_ALL_FLAGS                                                                         \
	(HSMG_KEY_TOKEN | HSMG_KEY_EXTRACTABLE | HSMG_KEY_NOT_SENSITIVE | HSMG_KEY_PUBLIC)

/* The direction of %HSMG_MSG_OP_CARDPIN. */
#define HSMG_CARDPIN_SEAL 0
#define HSMG_CARDPIN_OPEN 1
/** HSMG_MSG_CARDPIN_SEALED_LEN - bytes of a sealed card-PIN. */
#define HSMG_MSG_CARDPIN_SEALED_LEN 45

/** HSMG_MSG_AUTH_RECORD_LEN - bytes of an authentication record. */
#define HSMG_MSG_AUTH_RECORD_LEN 116

/**
 * struct hsmg_msg_auth_param - value of %HSMG_TAG_PARAM for
 * %HSMG_MSG_OP_AUTH_RECORD.
 * @user: %HSMG_AUTH_USER or %HSMG_AUTH_SO (linux/hsmgroup.h).
 * @rsvd: must be 0.
 * @token: the token the request's session must be logged in to for the
 *	record to keep the token's secret.
 */
struct hsmg_msg_auth_param {
	__u32 user;
	__u32 rsvd;
	__u8 token[16];
};

/**
 * struct hsmg_msg_key_attrs - attributes of a key to generate (value of
 * %HSMG_TAG_ATTRS).  The card seals them into the key blob and enforces
 * them on every use (%CKR_KEY_FUNCTION_NOT_PERMITTED,
 * %CKR_KEY_TYPE_INCONSISTENT).
 * @key_type: PKCS#11 CKK_* value: %CKK_AES, %CKK_GENERIC_SECRET, %CKK_EC,
 *	%CKK_RSA.
 * @value_len: key length in bytes for secret keys (AES: 16, 24, 32;
 *	generic secret: 1..512); the modulus length in BITS for RSA
 *	(2048..4096, a multiple of 8; 0 on import: taken from the key); 0 for
 *	EC.  Else %CKR_KEY_SIZE_RANGE.
 * @curve: HSMG_CURVE_* for EC keys, %HSMG_CURVE_NONE otherwise.
 *	Unsupported curves give %CKR_CURVE_NOT_SUPPORTED.
 * @usage: HSMG_KEY_USE_* the key may be used for; 0 means every use the
 *	key type supports (AES: all; generic secret: SIGN, VERIFY, DERIVE;
 *	EC: SIGN, VERIFY, DERIVE; RSA: ENCRYPT, DECRYPT, SIGN, VERIFY, WRAP,
 *	UNWRAP).
 * @flags: HSMG_KEY_* bits; unknown bits give %CKR_ATTRIBUTE_VALUE_INVALID.
 * @rsvd: must be 0.
 */
struct hsmg_msg_key_attrs {
	__u64 key_type;
	__u32 value_len;
	__u32 curve;
	__u32 usage;
	__u32 flags;
	__u64 rsvd;
};

/**
 * struct hsmg_msg_gcm_param - head of %HSMG_TAG_PARAM for %CKM_AES_GCM,
 * followed by @iv_bytes bytes of IV and @aad_bytes bytes of additional
 * authenticated data; the TLV is exactly that long.
 * @iv_bytes: IV bytes, 1..%HSMG_MSG_GCM_MAX_IV (12 recommended).
 * @aad_bytes: AAD bytes (may be 0).
 * @tag_nbits: tag length in bits, 32..128, a multiple of 8 (PKCS#11
 *	ulTagBits).
 * @rsvd: must be 0.
 */
struct hsmg_msg_gcm_param {
	__u32 iv_bytes;
	__u32 aad_bytes;
	__u32 tag_nbits;
	__u32 rsvd;
};

/** HSMG_MSG_GCM_MAX_IV - longest GCM IV accepted. */
#define HSMG_MSG_GCM_MAX_IV 128

/** HSMG_MSG_MAX_KEY_BLOB - longest key blob a card of this version makes. */
#define HSMG_MSG_MAX_KEY_BLOB 4096

/**
 * struct hsmg_msg_ctr_param - %HSMG_TAG_PARAM of %CKM_AES_CTR (exactly
 * this size; CK_AES_CTR_PARAMS).
 * @ctr_nbits: how many low-order bits of @cb are the counter, 1..128.
 *	The counter may not wrap back to its start (%CKR_DATA_LEN_RANGE).
 * @rsvd: must be 0.
 * @cb: the initial counter block.
 */
struct hsmg_msg_ctr_param {
	__u32 ctr_nbits;
	__u32 rsvd;
	__u8 cb[16];
};

/**
 * struct hsmg_msg_pss_param - %HSMG_TAG_PARAM of the RSA PSS mechanisms
 * (exactly this size; CK_RSA_PKCS_PSS_PARAMS with 64-bit fields).
 * @hash: %CKM_SHA_1, %CKM_SHA224, %CKM_SHA256, %CKM_SHA384 or
 *	%CKM_SHA512; for CKM_SHAx_RSA_PKCS_PSS it must be that x.
 * @mgf: %CKG_MGF1_SHA1 .. %CKG_MGF1_SHA512 (any, independent of @hash).
 * @salt_len: salt bytes, 0..(modulus bytes - hash length - 2).
 */
struct hsmg_msg_pss_param {
	__u64 hash;
	__u64 mgf;
	__u64 salt_len;
};

/**
 * struct hsmg_msg_oaep_param - head of %HSMG_TAG_PARAM of
 * %CKM_RSA_PKCS_OAEP, followed by @label_len bytes of label; the TLV is
 * exactly that long (CK_RSA_PKCS_OAEP_PARAMS).
 * @hash: %CKM_SHA_1 .. %CKM_SHA512 (as for PSS).
 * @mgf: %CKG_MGF1_SHA1 .. %CKG_MGF1_SHA512.
 * @source: %CKZ_DATA_SPECIFIED, or 0 when @label_len is 0.
 * @label_len: label bytes, 0..%HSMG_MSG_MAX_LABEL.
 * @rsvd: must be 0.
 */
struct hsmg_msg_oaep_param {
	__u64 hash;
	__u64 mgf;
	__u64 source;
	__u32 label_len;
	__u32 rsvd;
};

/** HSMG_MSG_MAX_LABEL - longest OAEP label accepted. */
#define HSMG_MSG_MAX_LABEL 1024

/**
 * struct hsmg_msg_ecdh_param - head of %HSMG_TAG_PARAM of
 * %CKM_ECDH1_DERIVE, followed by @shared_len bytes of shared data (for the
 * KDF) and @public_len bytes of the peer's public point; the TLV is
 * exactly that long (CK_ECDH1_DERIVE_PARAMS).
 * @kdf: %CKD_NULL (the key is the leading value_len bytes of the shared
 *	secret, the x coordinate; @shared_len must be 0) or %CKD_SHA1_KDF,
 *	%CKD_SHA224_KDF, %CKD_SHA256_KDF, %CKD_SHA384_KDF, %CKD_SHA512_KDF
 *	(ANSI X9.63 KDF over the secret and the shared data; value_len 0
 *	means the hash length).
 * @shared_len: shared data bytes, 0..%HSMG_MSG_MAX_LABEL.
 * @public_len: the peer's point: uncompressed 0x04 || X || Y, or that
 *	point inside a DER OCTET STRING (as CKA_EC_POINT); it must be on the
 *	key's curve (%CKR_MECHANISM_PARAM_INVALID otherwise).
 */
struct hsmg_msg_ecdh_param {
	__u64 kdf;
	__u32 shared_len;
	__u32 public_len;
};

/**
 * struct hsmg_msg_rsa_pub - head of an RSA public key (%HSMG_TAG_PUBKEY,
 * %HSMG_TAG_OUT_PUBKEY), followed by the modulus and the public exponent,
 * big-endian (CKA_MODULUS, CKA_PUBLIC_EXPONENT); the TLV is exactly that
 * long.  Output has no leading zero bytes; input may.
 * @modulus_len: modulus bytes, 1..512.
 * @exponent_len: public exponent bytes, 1..8.
 */
struct hsmg_msg_rsa_pub {
	__u32 modulus_len;
	__u32 exponent_len;
};

/* Formats of %HSMG_MSG_OP_IMPORT_KEY (its __u32 %HSMG_TAG_PARAM). */
/**
 * HSMG_IMPORT_FMT_RAW - secret keys: the key bytes (CKA_VALUE); EC: the
 * private scalar, big-endian (CKA_VALUE), curve from @curve of the attrs;
 * RSA: &struct hsmg_msg_rsa_priv then its values.
 */
#define HSMG_IMPORT_FMT_RAW 0
/**
 * HSMG_IMPORT_FMT_DER - RSA and EC private keys only: PKCS#8
 * PrivateKeyInfo, or a PKCS#1 RSAPrivateKey / SEC1 ECPrivateKey, DER.
 */
#define HSMG_IMPORT_FMT_DER 1

/**
 * struct hsmg_msg_rsa_priv - head of an RSA private key in
 * %HSMG_IMPORT_FMT_RAW, followed by the values in this order, each
 * big-endian: modulus, public exponent, private exponent, prime 1,
 * prime 2, exponent 1, exponent 2, coefficient (CKA_MODULUS ..
 * CKA_COEFFICIENT).  All eight are required (%CKR_TEMPLATE_INCOMPLETE).
 * @len: byte length of each value, in the order above.
 */
struct hsmg_msg_rsa_priv {
	__u32 len[8];
};

#endif /* HSMG_LIB_MSG_HSMGROUP_MSG_H */
