/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p11_int - what p11.c and p11_ops.c share (the PKCS#11 backend).
 */
#ifndef HSMG_LIB_CARD_P11_INT_H
#define HSMG_LIB_CARD_P11_INT_H

#include <stdatomic.h>

#include <openssl/sha.h>

#include "card_int.h"

/* Most token sessions one card keeps. */
#define P11_MAX_SESSIONS 64
/* Longest check value (a 32-byte value wrapped: 40 bytes). */
#define P11_CHECK_MAX 64

/* The secret of a key blob made by this backend ("P11K"). */
#define P11_SECRET_MAGIC 0x4b313150U
struct p11_secret {
	uint32_t magic;
	uint32_t wrap_mech; /* CKM_AES_KEY_WRAP_PAD or CKM_AES_CBC_PAD */
	uint32_t wrapped_len;
	uint32_t pub_len; /* EC: the point; RSA: struct hsmg_msg_rsa_pub, n, e */
	uint8_t iv[16];	  /* CKM_AES_CBC_PAD */
			  /* then wrapped_len bytes of wrapped key, pub_len bytes of public key */
};

/* One unwrapped key in the token. */
struct p11_hent {
	uint8_t id[32]; /* SHA-256 of the blob */
	CK_OBJECT_HANDLE handle;
	uint64_t used;
	uint64_t gen;
	unsigned int refs;
};

/*
 * struct p11_be - an instance: @sec first, so that the core's secrets and
 * the public-key cache work on it as on the OpenSSL backend's.
 */
struct p11_be {
	struct ossl_be sec;
	struct p11_mod *mod;
	CK_FUNCTION_LIST *fl;
	char *module, *token, *wrap_label;
	char *pin;
	size_t pin_len;
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE gkey;
	bool trusted; /* the group key has CKA_TRUSTED */
	CK_MECHANISM_TYPE wrap_mech, check_mech;
	CK_MECHANISM_TYPE *mech;
	CK_FLAGS *mech_flags;
	unsigned int nmech;
	uint8_t check[P11_CHECK_MAX];
	size_t check_len;
	_Atomic CK_RV failed;

	pthread_mutex_t lock; /* the sessions */
	pthread_cond_t cond;
	CK_SESSION_HANDLE *sess;
	bool *busy;
	unsigned int nsess, want_sess;

	pthread_mutex_t hc_lock; /* the handle cache */
	struct p11_hent *hc;
	unsigned int hc_cap;
	uint64_t hc_clock, gen, hc_hits, hc_misses;
};

extern const struct hsmg_card_backend hsmg_card_backend_p11;

static inline struct p11_be *p11_be_of(struct req_ctx *c)
{
	return c->card->bs;
}

/* p11.c */
const char *p11_mech_name(CK_MECHANISM_TYPE m);
bool p11_rv_is_failure(CK_RV rv);
CK_RV p11_check(struct p11_be *be, CK_RV rv);
CK_RV p11_sess_get(struct p11_be *be, CK_SESSION_HANDLE *s);
void p11_sess_put(struct p11_be *be, CK_SESSION_HANDLE s);
bool p11_has_mech(const struct p11_be *be, CK_MECHANISM_TYPE m, CK_FLAGS need);
int p11_set_key_cache(void *bs, unsigned int entries);
void p11_key_cache_stats(void *bs, struct hsmg_card_cache_stats *st);
CK_OBJECT_HANDLE p11_hc_get(struct p11_be *be, const uint8_t id[32], struct p11_hent **ent);
void p11_hc_add(struct p11_be *be, const uint8_t id[32], CK_OBJECT_HANDLE h, struct p11_hent **ent,
		CK_OBJECT_HANDLE *evict);
void p11_hc_put(struct p11_be *be, struct p11_hent *ent, bool bad);

/* p11_ops.c */
size_t p11_mechanisms(void *bs, uint64_t *types, size_t max);
bool p11_secret_ok(const struct key *k);
CK_RV p11_put_pubkey(struct req_ctx *c, const struct key *k);
EVP_PKEY *p11_pkey_of(const struct key *k);
CK_RV p11_op_generate_key(struct req_ctx *c);
CK_RV p11_op_generate_keypair(struct req_ctx *c);
CK_RV p11_op_cipher(struct req_ctx *c, bool enc, enum part part);
CK_RV p11_op_sign_verify(struct req_ctx *c, bool sign, enum part part);
CK_RV p11_op_random(struct req_ctx *c);
CK_RV p11_op_export_key(struct req_ctx *c);
CK_RV p11_op_unsupported(struct req_ctx *c);

#endif /* HSMG_LIB_CARD_P11_INT_H */
