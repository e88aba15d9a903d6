/* SPDX-License-Identifier: GPL-2.0 */
/*
 * backend - what a crypto backend gives the card core.
 *
 * The core (core.c, blob.c) owns everything that makes a card a member of
 * a group and is the same whatever does the crypto: the message format
 * and its checks, the dispatch of each operation, sessions, pin-blobs and
 * their quotas, and the key and state blob formats with their binding to
 * a session or a card-PIN.  A backend owns the secrets and the
 * arithmetic: it turns a master key into its working secrets and the
 * master key's check value (MKVP, equal on every card of a group),
 * seals and unseals the secret part of key and state blobs (the blob
 * header is authenticated data), computes pin-blob MACs, gives random
 * bytes, and performs every operation of message format v1 on the keys
 * it unseals: generate, encrypt/decrypt, sign/verify and MACs, digest,
 * wrap/unwrap, import/export, derive, random.  It says which mechanisms
 * of the table it does (a vendor token may lack some); the core refuses
 * the others, so an operation never sees a mechanism its backend left out.
 *
 * An operation gets the request (struct req_ctx, card_int.h) and uses the
 * core's services for everything that is not arithmetic: card_key_get()
 * (opened, binding and usage checked), card_get_param(), card_get_attrs(),
 * card_finish_new_key() (sealed and answered), card_state_seal() and
 * card_state_open().  It answers CKR_MECHANISM_INVALID for a mechanism of
 * the table (lib/msg/hsmg_mech.h) it does not do.
 *
 * Two backends: OpenSSL 3 (ossl_*.c), and a vendor token reached through
 * its PKCS#11 library (p11*.c, p11card.h), where every key of a blob is
 * wrapped by the token under the group's wrapping key and used inside the
 * token, and the working secrets come from a check value the token
 * computes with that key.
 */
#ifndef HSMG_LIB_CARD_BACKEND_H
#define HSMG_LIB_CARD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/hsmgroup.h>
#include <p11-kit/pkcs11.h>

struct req_ctx;
struct key;
struct hsmg_card_cache_stats;

/* Which part of a multi-part operation a request is. */
enum part { PART_SINGLE, PART_INIT, PART_UPDATE, PART_FINAL };

/* Which secret a seal is under: key blobs or state blobs. */
enum hsmg_card_seal { HSMG_SEAL_KEY, HSMG_SEAL_STATE };

/**
 * struct hsmg_card_backend - one crypto backend.  Every call returns 0 or
 * -1 (nothing is changed on -1) unless it returns a CK_RV.
 * @name: "openssl", ...
 * @create: a new instance, without a master key, from @arg (what
 *	hsmg_card_new_backend() was given: NULL for OpenSSL, the token's
 *	configuration for PKCS#11); NULL on failure.
 * @destroy: wipe every secret of @bs and free it.
 * @set_master_key: derive the working secrets from @mk (@mk_len bytes), or
 *	with @mk NULL forget them (no master key); @mkvp receives the
 *	check value (all zero without a key).  The caller keeps requests
 *	out meanwhile.  A backend whose secrets come from its token takes
 *	any @mk as "derive them again from the token".
 * @random: @len random bytes.
 * @seal: authenticated encryption of @len bytes @in into @out (same
 *	length) and @tag (@tag_len bytes) under the secret of @use, with
 *	@iv (@iv_len bytes, from @random) and @aad authenticated.
 * @unseal: the reverse; -1 when the tag does not verify (@out wiped).
 * @pin_mac: the 32-byte MAC of @data that pin-blobs and card-PIN blobs are.
 * @mechanisms: the mechanisms of the table (lib/msg/hsmg_mech.h) this
 *	instance does: writes at most @max of them to @types and returns how
 *	many it does.  Called once, when the card is made; the core answers
 *	CKR_MECHANISM_INVALID for any other before an operation is called.
 * @set_key_cache, @key_cache_stats: a cache of parsed keys, if the
 *	backend keeps one (hsmg_card_set_key_cache()).
 * @secret_ok: is the secret of an authentic key blob of @kind (whose
 *	attributes the core checked) one this backend makes?
 * @put_pubkey: answer %HSMG_TAG_OUT_PUBKEY of a private key.
 * @pkey_of: an EVP_PKEY of a private key for what the host computes
 *	(OpenSSL: the whole key; PKCS#11: its public part, for verifying
 *	and encrypting); NULL on failure.
 * @generate_key .. @export_key: the operations of message format v1.
 */
struct hsmg_card_backend {
	const char *name;
	void *(*create)(const void *arg);
	void (*destroy)(void *bs);
	int (*set_master_key)(void *bs, const uint8_t *mk, size_t mk_len,
			      uint8_t mkvp[HSMG_MKVP_LEN]);
	int (*random)(void *bs, void *out, size_t len);
	int (*seal)(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len,
		    const void *aad, size_t aad_len, const void *in, size_t len, void *out,
		    uint8_t *tag, size_t tag_len);
	int (*unseal)(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len,
		      const void *aad, size_t aad_len, const void *in, size_t len, void *out,
		      const uint8_t *tag, size_t tag_len);
	int (*pin_mac)(void *bs, const void *data, size_t len, uint8_t out[HSMG_PIN_BLOB_LEN]);
	size_t (*mechanisms)(void *bs, uint64_t *types, size_t max);
	int (*set_key_cache)(void *bs, unsigned int entries);
	void (*key_cache_stats)(void *bs, struct hsmg_card_cache_stats *st);
	bool (*secret_ok)(const struct key *k);
	CK_RV (*put_pubkey)(struct req_ctx *c, const struct key *k);
	struct evp_pkey_st *(*pkey_of)(const struct key *k);

	CK_RV (*generate_key)(struct req_ctx *c);
	CK_RV (*generate_keypair)(struct req_ctx *c);
	CK_RV (*cipher)(struct req_ctx *c, bool enc, enum part part);
	CK_RV (*sign_verify)(struct req_ctx *c, bool sign, enum part part);
	CK_RV (*digest)(struct req_ctx *c);
	CK_RV (*digest_part)(struct req_ctx *c, uint32_t op);
	CK_RV (*random_op)(struct req_ctx *c);
	CK_RV (*wrap)(struct req_ctx *c);
	CK_RV (*unwrap)(struct req_ctx *c);
	CK_RV (*derive)(struct req_ctx *c);
	CK_RV (*import)(struct req_ctx *c);
	CK_RV (*export_pubkey)(struct req_ctx *c);
	CK_RV (*export_key)(struct req_ctx *c);
};

/* The OpenSSL 3 backend (ossl_*.c). */
extern const struct hsmg_card_backend hsmg_card_backend_openssl;

#endif /* HSMG_LIB_CARD_BACKEND_H */
