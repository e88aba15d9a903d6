/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hsmgroup message format, version 1: what the PKCS#11 shim (or any client)
 * sends to a coprocessor card through %HSMG_IOC_SUBMIT, and what the card
 * answers.  The kernel does not look inside; it only checks the length.
 *
 * Layout of one message (every integer in host byte order, the message never
 * leaves the host; a driver for a real card converts):
 *
 *   struct hsmg_msg_hdr            48 bytes
 *   TLV 0: struct hsmg_msg_tlv     8 bytes, then @len value bytes, then zero
 *                                  padding up to the next multiple of 8
 *   TLV 1 ...
 *
 * Rules a valid message keeps (the codec in common/hsmg_msg.c enforces them
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
 * - @flags and @reserved are zero; @rv is zero in a request.
 *
 * Key blobs and state blobs are opaque to everybody but the card: they are
 * encrypted and authenticated under the card's master key, so any member of
 * a group can use them and the host can keep them anywhere.
 */
#ifndef _UAPI_LINUX_HSMGROUP_MSG_H
#define _UAPI_LINUX_HSMGROUP_MSG_H

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
 * - header usable but the rest malformed (flags/reserved/rv not zero, TLV
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
 * @HSMG_MSG_OP_RANDOM: random bytes.  In: %HSMG_TAG_PARAM = __u32 count
 *	(1..%HSMG_MSG_MAX_RANDOM); mechanism ignored (0).  Out:
 *	%HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_GENERATE_KEY: secret key generation, e.g. %CKM_AES_KEY_GEN.
 *	In: %HSMG_TAG_ATTRS.  Out: %HSMG_TAG_OUT_KEY.
 * @HSMG_MSG_OP_GENERATE_KEYPAIR: key pair, e.g. %CKM_EC_KEY_PAIR_GEN.  In:
 *	%HSMG_TAG_ATTRS (curve; usage applies to the private key).  Out:
 *	%HSMG_TAG_OUT_KEY (private key blob), %HSMG_TAG_OUT_PUBKEY.
 * @HSMG_MSG_OP_ENCRYPT: single-part encryption.  In: %HSMG_TAG_KEY,
 *	%HSMG_TAG_PARAM, %HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_DATA.  For
 *	%CKM_AES_GCM the output is ciphertext || tag (PKCS#11 convention).
 * @HSMG_MSG_OP_ENCRYPT_INIT: multi-part encryption, first part.
 * @HSMG_MSG_OP_ENCRYPT_UPDATE: multi-part encryption, middle part.
 * @HSMG_MSG_OP_ENCRYPT_FINAL: multi-part encryption, last part.
 * @HSMG_MSG_OP_DECRYPT: single-part decryption, as ENCRYPT; for
 *	%CKM_AES_GCM the input is ciphertext || tag; a wrong tag gives
 *	%CKR_ENCRYPTED_DATA_INVALID.
 * @HSMG_MSG_OP_DECRYPT_INIT: multi-part decryption, first part.
 * @HSMG_MSG_OP_DECRYPT_UPDATE: multi-part decryption, middle part.
 * @HSMG_MSG_OP_DECRYPT_FINAL: multi-part decryption, last part.
 * @HSMG_MSG_OP_SIGN: single-part signature.  In: %HSMG_TAG_KEY (private
 *	key blob), %HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_DATA.  %CKM_ECDSA
 *	signs DATA as a hash; %CKM_ECDSA_SHA256 hashes DATA first.  ECDSA
 *	signatures are r || s, each as long as the curve order (PKCS#11).
 * @HSMG_MSG_OP_SIGN_INIT: multi-part signature, first part.
 * @HSMG_MSG_OP_SIGN_UPDATE: multi-part signature, middle part.
 * @HSMG_MSG_OP_SIGN_FINAL: multi-part signature, last part.
 * @HSMG_MSG_OP_VERIFY: single-part verification.  In: %HSMG_TAG_KEY (a
 *	private key blob) or %HSMG_TAG_PUBKEY (with %HSMG_TAG_ATTRS for the
 *	curve, default P-256), %HSMG_TAG_DATA, %HSMG_TAG_SIGNATURE.  Out:
 *	nothing; rv %CKR_OK, %CKR_SIGNATURE_INVALID or %CKR_SIGNATURE_LEN_RANGE.
 * @HSMG_MSG_OP_VERIFY_INIT: multi-part verification, first part.
 * @HSMG_MSG_OP_VERIFY_UPDATE: multi-part verification, middle part.
 * @HSMG_MSG_OP_VERIFY_FINAL: multi-part verification, last part.
 * @HSMG_MSG_OP_DIGEST: single-part digest, e.g. %CKM_SHA256.  In:
 *	%HSMG_TAG_DATA.  Out: %HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_DIGEST_INIT: no input.  Out: %HSMG_TAG_OUT_STATE.
 * @HSMG_MSG_OP_DIGEST_UPDATE: In: %HSMG_TAG_STATE, %HSMG_TAG_DATA.  Out:
 *	%HSMG_TAG_OUT_STATE.
 * @HSMG_MSG_OP_DIGEST_FINAL: In: %HSMG_TAG_STATE, optional %HSMG_TAG_DATA
 *	(a last part).  Out: %HSMG_TAG_OUT_DATA.
 * @HSMG_MSG_OP_WRAP: wrap %HSMG_TAG_KEY2 under %HSMG_TAG_KEY (declared).
 * @HSMG_MSG_OP_UNWRAP: unwrap %HSMG_TAG_DATA under %HSMG_TAG_KEY into a
 *	new blob with %HSMG_TAG_ATTRS (declared).
 * @HSMG_MSG_OP_DERIVE: derive a key from %HSMG_TAG_KEY (declared).
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
	HSMG_MSG_OP_MAX = 26,
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
 * @reserved: must be 0.
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
	__u64 reserved;
};

/**
 * enum hsmg_msg_tag - what a TLV holds.
 * @HSMG_TAG_KEY: (request) key blob, as returned in %HSMG_TAG_OUT_KEY.
 * @HSMG_TAG_KEY2: (request) second key blob (the key to wrap, a peer...).
 * @HSMG_TAG_PUBKEY: (request) public key: for EC the uncompressed point
 *	0x04 || X || Y (the value inside CKA_EC_POINT's DER OCTET STRING).
 * @HSMG_TAG_DATA: (request) input data.
 * @HSMG_TAG_PARAM: (request) mechanism parameter; layout by mechanism:
 *	%CKM_AES_GCM: &struct hsmg_msg_gcm_param then IV then AAD; RANDOM:
 *	one __u32 byte count.
 * @HSMG_TAG_ATTRS: (request) &struct hsmg_msg_key_attrs, exactly.
 * @HSMG_TAG_STATE: (request) state blob of a multi-part operation.
 * @HSMG_TAG_SIGNATURE: (request) signature to verify.
 * @HSMG_TAG_OUT_DATA: (response) output data.
 * @HSMG_TAG_OUT_KEY: (response) new key blob (for a key pair: the private
 *	key).  Opaque, at most a few hundred bytes.
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

/* Key usage bits of &struct hsmg_msg_key_attrs.usage. */
#define HSMG_KEY_USE_ENCRYPT (1U << 0)
#define HSMG_KEY_USE_DECRYPT (1U << 1)
#define HSMG_KEY_USE_SIGN (1U << 2)
#define HSMG_KEY_USE_VERIFY (1U << 3)
#define HSMG_KEY_USE_WRAP (1U << 4)
#define HSMG_KEY_USE_UNWRAP (1U << 5)
#define HSMG_KEY_USE_DERIVE (1U << 6)
#define HSMG_KEY_USE_ALL ((1U << 7) - 1)

/* Key flags of &struct hsmg_msg_key_attrs.flags. */
/**
 * HSMG_KEY_TOKEN - a token object (CKA_TOKEN true).  Strict sessions bind
 * only session keys (this flag clear) to the session's pin-blob; VHSM
 * sessions bind every key to the card-PIN.
 */
#define HSMG_KEY_TOKEN (1U << 0)
/** HSMG_KEY_EXTRACTABLE - the key may be wrapped (CKA_EXTRACTABLE). */
#define HSMG_KEY_EXTRACTABLE (1U << 1)
#define HSMG_KEY_ALL_FLAGS (HSMG_KEY_TOKEN | HSMG_KEY_EXTRACTABLE)

/**
 * struct hsmg_msg_key_attrs - attributes of a key to generate (value of
 * %HSMG_TAG_ATTRS).  The card seals them into the key blob and enforces
 * them on every use (%CKR_KEY_FUNCTION_NOT_PERMITTED,
 * %CKR_KEY_TYPE_INCONSISTENT).
 * @key_type: PKCS#11 CKK_* value (e.g. CKK_AES, CKK_EC).
 * @value_len: key length in bytes for secret keys (AES: 16, 24, 32);
 *	0 for key pairs.  Else %CKR_KEY_SIZE_RANGE.
 * @curve: HSMG_CURVE_* for EC keys, %HSMG_CURVE_NONE otherwise.
 *	Unsupported curves give %CKR_CURVE_NOT_SUPPORTED.
 * @usage: HSMG_KEY_USE_* the key may be used for; 0 means every use the
 *	key type supports.
 * @flags: HSMG_KEY_* bits; unknown bits give %CKR_ATTRIBUTE_VALUE_INVALID.
 * @reserved: must be 0.
 */
struct hsmg_msg_key_attrs {
	__u64 key_type;
	__u32 value_len;
	__u32 curve;
	__u32 usage;
	__u32 flags;
	__u64 reserved;
};

/**
 * struct hsmg_msg_gcm_param - head of %HSMG_TAG_PARAM for %CKM_AES_GCM,
 * followed by @iv_len bytes of IV and @aad_len bytes of additional
 * authenticated data; the TLV is exactly that long.
 * @iv_len: IV bytes, 1..%HSMG_MSG_GCM_MAX_IV (12 recommended).
 * @aad_len: AAD bytes (may be 0).
 * @tag_bits: tag length in bits, 32..128, a multiple of 8 (PKCS#11
 *	ulTagBits).
 * @reserved: must be 0.
 */
struct hsmg_msg_gcm_param {
	__u32 iv_len;
	__u32 aad_len;
	__u32 tag_bits;
	__u32 reserved;
};

/** HSMG_MSG_GCM_MAX_IV - longest GCM IV accepted. */
#define HSMG_MSG_GCM_MAX_IV 128

#endif /* _UAPI_LINUX_HSMGROUP_MSG_H */
