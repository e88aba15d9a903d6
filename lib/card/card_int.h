/* SPDX-License-Identifier: GPL-2.0 */
/*
 * card_int - what the files of the card share, not for users of the
 * library (card.h is their interface).
 *
 * The card is cut in two where a crypto backend plugs in (backend.h says
 * what each side holds): the core (core.c, blob.c) and the backend the
 * card was created with (card->be, its instance card->bs), today OpenSSL
 * (ossl.c, ossl_*.c with aesmode.c, hashstate.c, pk.c).  The core calls
 * the backend only through struct hsmg_card_backend; a backend's
 * operations call the core's request services declared below
 * (card_key_get(), card_state_seal(), card_get_param(), ...).
 */
#ifndef HSMG_LIB_CARD_INT_H
#define HSMG_LIB_CARD_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "aesmode.h"
#include "backend.h"
#include "card.h"
#include "hashstate.h"
#include "hsmg_mech.h"
#include "pk.h"
#include "hsmg_msg.h"

#define KEYLEN	     32
#define IVLEN	     12
#define TAGLEN	     16
#define SESS_BUCKETS 1024

#define KBLOB_MAGIC  0x424b5348U /* "HSKB" */
#define SBLOB_MAGIC  0x42535348U /* "HSSB" */
#define BLOB_VERSION 1

enum key_kind { KIND_AES = 1, KIND_EC_PRIV = 2, KIND_RSA_PRIV = 3, KIND_SECRET = 4 };

#define BIND_SESSION (1U << 0)
#define BIND_CARDPIN (1U << 1)
/* Bound to the user of a token (auth.c): kblob_hdr.session_bind holds
 * card_auth_user_bind() of the token's secret (never with BIND_SESSION). */
#define BIND_USER (1U << 2)

struct kblob_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
	struct hsmg_msg_key_attrs attrs;
	uint32_t bind;
	uint32_t secret_len;
	uint8_t session_bind[HSMG_PIN_BLOB_LEN];
	uint8_t cardpin_bind[HSMG_PIN_BLOB_LEN];
	uint8_t iv[IVLEN];
	uint8_t reserved[4];
};
_Static_assert(sizeof(struct kblob_hdr) == 128, "key blob header");

/* The OpenSSL backend's largest (an RSA DER), or the PKCS#11 backend's (a
 * wrapped RSA-4096 key and its public key). */
#define MAX_SECRET  3200
#define MAX_GENERIC 512
#define RSA_PUB_MAX (sizeof(struct hsmg_msg_rsa_pub) + PK_RSA_MAX_BYTES + 8)

enum state_kind {
	STATE_DIGEST = 1,
	STATE_ENCRYPT = 2,
	STATE_DECRYPT = 3,
	STATE_SIGN = 4,
	STATE_VERIFY = 5,
};

struct sblob_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
	uint64_t mechanism;
	uint64_t session;
	uint32_t state_len;
	uint8_t iv[IVLEN];
};
_Static_assert(sizeof(struct sblob_hdr) == 40, "state blob header");

/* What a login with an authentication record proved (auth.c). */
struct card_auth {
	bool valid;
	uint16_t user; /* HSMG_AUTH_* */
	uint8_t token[16];
	uint8_t secret[32];		      /* the token's secret T */
	uint8_t user_bind[HSMG_PIN_BLOB_LEN]; /* what BIND_USER keys carry */
};

/* The card's count of failed logins of one token and user (auth.c). */
struct pin_count {
	uint8_t token[16];
	uint16_t user;
	uint16_t failures;
};

struct sess {
	struct sess *next;
	uint64_t id;
	uint64_t queues[HSMG_CARD_MAX_QUEUES / 64]; /* bit per local queue logged in on */
	unsigned int nlogged;			    /* bits set in @queues */
	uint32_t login_flags;
	bool has_cardpin;
	uint8_t pin_blob[HSMG_PIN_BLOB_LEN];
	uint8_t cardpin_blob[HSMG_PIN_BLOB_LEN];
	struct card_auth auth;
};

struct hsmg_card {
	uint8_t mkvp[HSMG_MKVP_LEN];
	const struct hsmg_card_backend *be;
	void *bs;      /* the backend's instance */
	bool *mech_ok; /* per entry of the mechanism table: the backend does it */
	unsigned int nqueues;
	unsigned int quota; /* accessed atomically */

	pthread_mutex_t lock; /* sessions */
	struct sess *buckets[SESS_BUCKETS];
	unsigned int nsess;
	unsigned int qsess[HSMG_CARD_MAX_QUEUES];

	pthread_mutex_t pin_lock; /* the count of failed logins */
	unsigned int pin_max;
	struct pin_count *pinc;
	unsigned int npinc;
	char *pinc_path;
	unsigned long pinc_errors;
};

/* A copy of a session's login, taken under the lock. */
struct login_view {
	bool logged_in;
	uint32_t login_flags;
	bool has_cardpin;
	uint8_t pin_blob[HSMG_PIN_BLOB_LEN];
	uint8_t cardpin_blob[HSMG_PIN_BLOB_LEN];
	struct card_auth auth;
};

/* A decoded key. */
struct key {
	uint16_t kind;
	struct hsmg_msg_key_attrs attrs;
	uint32_t bind;
	uint8_t session_bind[HSMG_PIN_BLOB_LEN];
	uint8_t cardpin_bind[HSMG_PIN_BLOB_LEN];
	uint32_t secret_len;
	uint8_t secret[MAX_SECRET];
};

/*
 * One parsed private key: the sealed blob it came from (ciphertext and
 * clear header, nothing secret), its decoded header (struct key without the
 * secret) and the EVP_PKEY.  A request whose blob is byte for byte one that
 * opened under the current master key skips the unsealing and the parsing;
 * binding, kind and usage are still checked on every request.
 */
struct pkc_ent {
	uint8_t *blob; /* NULL: free slot */
	uint32_t blob_len;
	uint64_t used;	/* LRU clock */
	struct key hdr; /* secret all zero */
	EVP_PKEY *pkey;
};

/* Everything one crypto request needs. */
struct req_ctx {
	struct hsmg_card *card;
	unsigned int queue;
	const struct hsmg_be_req *req;
	const struct hsmg_msg_view *v;
	struct hsmg_msg_builder *b;
};

/* The bit of a key kind in a mask of kinds. */
#define KM(kind) (1U << (kind))

/* A public key for VERIFY/ENCRYPT: from a private key blob (usage @use)
 * or from PUBKEY (+ATTRS).  @id/@id_len: the bytes that name the key (for
 * binding states). */
struct pubref {
	EVP_PKEY *pkey;
	uint32_t curve; /* EC */
	bool rsa;
	const uint8_t *id;
	uint32_t id_len;
};

/* ---- the core: the card and its sessions (core.c) */

void card_login_lookup(struct hsmg_card *card, unsigned int queue, uint64_t id,
		       struct login_view *lv);

/* ---- the core: authentication records and failed logins (auth.c) */

/* Check @pin against record @rec for a login with @flags: HSMG_BE_OK
 * (with *@out), _PIN_INCORRECT (counted), _PIN_LOCKED, _BADREQ (not a
 * record of this group), _FAILED. */
uint32_t card_auth_login(struct hsmg_card *card, uint32_t flags, const uint8_t *pin,
			 uint32_t pin_len, const uint8_t *rec, uint32_t rec_len,
			 struct card_auth *out);
int card_auth_user_bind(const struct hsmg_card *card, const uint8_t token[16],
			const uint8_t secret[32], uint8_t out[HSMG_PIN_BLOB_LEN]);
CK_RV card_op_auth_record(struct req_ctx *c);
CK_RV card_op_rebind(struct req_ctx *c);
CK_RV card_op_cardpin(struct req_ctx *c);

/* ---- the core: key and state blobs, request services (blob.c) */

enum part card_part_of(uint32_t op);
/* A use of the public part of a private key only (verify, encrypt, export
 * of the public key): a key bound to a token's user needs no login. */
#define CARD_USE_PUBLIC_PART (1U << 31)
CK_RV card_key_allowed(struct req_ctx *c, const struct key *k, uint32_t kinds, uint32_t use);
CK_RV card_key_get(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use, struct key *k);
CK_RV card_get_attrs(struct req_ctx *c, struct hsmg_msg_key_attrs *a);
CK_RV card_usage_fix(struct hsmg_msg_key_attrs *a, uint16_t kind);
void card_get_param(struct req_ctx *c, const uint8_t **p, uint32_t *len);
CK_RV card_finish_new_key(struct req_ctx *c, struct key *k);
CK_RV card_state_seal(struct req_ctx *c, uint16_t kind, const void *st, size_t st_len);
CK_RV card_state_open(struct req_ctx *c, uint16_t kind, void *st, size_t cap, size_t exact,
		      size_t *st_len);
void card_key_id_hash(const void *id, size_t len, uint8_t out[32]);

/* ---- the OpenSSL backend */

/*
 * struct ossl_be - an instance of the OpenSSL backend: the secrets derived
 * from the master key (HKDF-SHA256, see card.h) and the parsed-key cache
 * (under @pkc_lock).
 */
struct ossl_be {
	uint8_t k_wrap[KEYLEN];
	uint8_t k_state[KEYLEN];
	uint8_t k_pin[KEYLEN];
	pthread_mutex_t pkc_lock;
	struct pkc_ent *pkc;
	unsigned int pkc_cap;
	uint64_t pkc_clock;
	uint64_t pkc_hits, pkc_misses;
};

/* The instance of the card a request runs on. */
static inline struct ossl_be *ossl_be_of(struct req_ctx *c)
{
	return c->card->bs;
}

/* ossl_keys.c */
/* ---- the OpenSSL backend (ossl_*.c) */

/* ossl.c: the instance's secrets and what uses them (the PKCS#11 backend's
 * too, with its struct ossl_be). */
int ossl_set_master_key(void *bs, const uint8_t *mk, size_t mk_len, uint8_t mkvp[HSMG_MKVP_LEN]);
int ossl_random(void *bs, void *out, size_t len);
int ossl_seal(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len, const void *aad,
	      size_t aad_len, const void *in, size_t len, void *out, uint8_t *tag, size_t tag_len);
int ossl_unseal(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len,
		const void *aad, size_t aad_len, const void *in, size_t len, void *out,
		const uint8_t *tag, size_t tag_len);
int ossl_pin_mac(void *bs, const void *data, size_t len, uint8_t out[HSMG_PIN_BLOB_LEN]);

int card_hkdf(const uint8_t *ikm, size_t ikm_len, const char *label, uint8_t *out, size_t len);
void card_pkc_flush_locked(struct ossl_be *be);
int ossl_set_key_cache(void *bs, unsigned int entries);
void ossl_key_cache_stats(void *bs, struct hsmg_card_cache_stats *st);
int card_gcm(bool enc, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
	     const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
	     uint8_t *tag, size_t taglen);
bool card_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
CK_RV card_put_pubkey(struct req_ctx *c, const struct key *k);
CK_RV card_key_from_pkey(EVP_PKEY *pkey, const struct hsmg_msg_key_attrs *a, struct key *k);
CK_RV card_key_get_pkey(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use,
			struct key *k, EVP_PKEY **pkey);
CK_RV card_pub_get(struct req_ctx *c, uint32_t use, struct pubref *p);
EVP_PKEY *card_key_pkey(const struct key *k);

/* ossl_gen.c */
CK_RV card_op_generate_key(struct req_ctx *c);
CK_RV card_op_generate_keypair(struct req_ctx *c);

/* ossl_cipher.c */
CK_RV card_op_cipher(struct req_ctx *c, bool enc, enum part part);

/* ossl_sig.c */
CK_RV card_op_sigop(struct req_ctx *c, bool sign, enum part part);

/* ossl_wrap.c */
CK_RV card_op_import(struct req_ctx *c);
CK_RV card_op_export_pubkey(struct req_ctx *c);
CK_RV card_op_export_key(struct req_ctx *c);
CK_RV card_op_wrap(struct req_ctx *c);
CK_RV card_op_unwrap(struct req_ctx *c);
CK_RV card_op_derive(struct req_ctx *c);

/* ossl_digest.c */
CK_RV card_op_digest(struct req_ctx *c);
CK_RV card_op_digest_part(struct req_ctx *c, uint32_t op);
CK_RV card_op_random(struct req_ctx *c);

#endif /* HSMG_LIB_CARD_INT_H */
