// SPDX-License-Identifier: GPL-2.0
/*
 * card - request processing of the emulated coprocessor (see card.h for the
 * formats and the binding rules).  Every buffer that held key material, a
 * PIN or a plaintext is wiped with OPENSSL_cleanse() on every path.
 */
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

#include "card.h"
#include "hashstate.h"
#include "hsmg_msg.h"

#define KEYLEN	     32
#define IVLEN	     12
#define TAGLEN	     16
#define SESS_BUCKETS 1024

#define KBLOB_MAGIC  0x424b5348U /* "HSKB" */
#define SBLOB_MAGIC  0x42535348U /* "HSSB" */
#define BLOB_VERSION 1

enum key_kind { KIND_AES = 1, KIND_EC_PRIV = 2 };

#define BIND_SESSION (1U << 0)
#define BIND_CARDPIN (1U << 1)

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

#define EC_PRIV_LEN  32
#define EC_POINT_LEN 65
#define MAX_SECRET   (EC_PRIV_LEN + EC_POINT_LEN)

enum state_kind { STATE_DIGEST = 1 };

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

struct sess {
	struct sess *next;
	uint64_t id;
	uint64_t queues; /* bit per local queue it is logged in on */
	uint32_t login_flags;
	bool has_cardpin;
	uint8_t pin_blob[HSMG_PIN_BLOB_LEN];
	uint8_t cardpin_blob[HSMG_PIN_BLOB_LEN];
};

struct hsmg_card {
	uint8_t mkvp[HSMG_MKVP_LEN];
	uint8_t k_wrap[KEYLEN];
	uint8_t k_state[KEYLEN];
	uint8_t k_pin[KEYLEN];
	unsigned int nqueues;
	unsigned int quota; /* accessed atomically */

	pthread_mutex_t lock; /* sessions */
	struct sess *buckets[SESS_BUCKETS];
	unsigned int nsess;
	unsigned int qsess[HSMG_CARD_MAX_QUEUES];
};

/* A copy of a session's login, taken under the lock. */
struct login_view {
	bool logged_in;
	uint32_t login_flags;
	bool has_cardpin;
	uint8_t pin_blob[HSMG_PIN_BLOB_LEN];
	uint8_t cardpin_blob[HSMG_PIN_BLOB_LEN];
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

/* Everything one crypto request needs. */
struct req_ctx {
	struct hsmg_card *card;
	unsigned int queue;
	const struct hsmg_be_req *req;
	const struct hsmg_msg_view *v;
	struct hsmg_msg_builder *b;
};

/* ------------------------------------------------------------ primitives */

static int hkdf(const uint8_t *ikm, size_t ikm_len, const char *label, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM p[4];
	int ret = -1;

	if (!kdf)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx)
		goto out;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)label, strlen(label));
	p[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, len, p) == 1)
		ret = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ret;
}

static const EVP_CIPHER *gcm_cipher(size_t keylen)
{
	switch (keylen) {
	case 16:
		return EVP_aes_128_gcm();
	case 24:
		return EVP_aes_192_gcm();
	case 32:
		return EVP_aes_256_gcm();
	default:
		return NULL;
	}
}

/* AES-GCM in one go.  @enc: out = ct, tag written to @tag.  Decrypt: checks
 * @tag.  Returns 0, or -1 (bad tag or failure). */
static int gcm(bool enc, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
	       const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
	       uint8_t *tag, size_t taglen)
{
	const EVP_CIPHER *c = gcm_cipher(keylen);
	EVP_CIPHER_CTX *ctx;
	int n, ret = -1;

	if (!c || len > INT32_MAX || aadlen > INT32_MAX)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)ivlen, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) != 1)
		goto out;
	if (aadlen && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto out;
	if (len && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, (int)taglen, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, (int)taglen, tag) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (ret && !enc && len)
		OPENSSL_cleanse(out, len);
	return ret;
}

static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* --------------------------------------------------------------- card */

struct hsmg_card *hsmg_card_new(const uint8_t mk[HSMG_CARD_MK_LEN], unsigned int nqueues,
				unsigned int quota)
{
	struct hsmg_card *card;
	uint8_t x[KEYLEN];
	unsigned int mdlen = 0;

	if (nqueues < 1 || nqueues > HSMG_CARD_MAX_QUEUES)
		return NULL;
	card = calloc(1, sizeof(*card));
	if (!card)
		return NULL;
	card->nqueues = nqueues;
	card->quota = quota;
	pthread_mutex_init(&card->lock, NULL);
	if (hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 mkvp", x, sizeof(x)) ||
	    EVP_Digest(x, sizeof(x), card->mkvp, &mdlen, EVP_sha256(), NULL) != 1 ||
	    hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 key-wrap", card->k_wrap, KEYLEN) ||
	    hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 state-wrap", card->k_state, KEYLEN) ||
	    hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 pin-blob", card->k_pin, KEYLEN)) {
		OPENSSL_cleanse(x, sizeof(x));
		hsmg_card_free(card);
		return NULL;
	}
	OPENSSL_cleanse(x, sizeof(x));
	return card;
}

static void sess_free(struct sess *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void hsmg_card_free(struct hsmg_card *card)
{
	unsigned int i;
	struct sess *s, *n;

	if (!card)
		return;
	for (i = 0; i < SESS_BUCKETS; i++) {
		for (s = card->buckets[i]; s; s = n) {
			n = s->next;
			sess_free(s);
		}
	}
	pthread_mutex_destroy(&card->lock);
	OPENSSL_cleanse(card, sizeof(*card));
	free(card);
}

void hsmg_card_mkvp(const struct hsmg_card *card, uint8_t mkvp[HSMG_MKVP_LEN])
{
	memcpy(mkvp, card->mkvp, HSMG_MKVP_LEN);
}

void hsmg_card_set_quota(struct hsmg_card *card, unsigned int quota)
{
	__atomic_store_n(&card->quota, quota, __ATOMIC_RELAXED);
}

unsigned int hsmg_card_quota(const struct hsmg_card *card)
{
	return __atomic_load_n(&card->quota, __ATOMIC_RELAXED);
}

/* ----------------------------------------------------------- sessions */

static unsigned int bucket_of(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (unsigned int)(id % SESS_BUCKETS);
}

/* Called with the lock held. */
static struct sess **sess_slot(struct hsmg_card *card, uint64_t id)
{
	struct sess **pp = &card->buckets[bucket_of(id)];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static void login_lookup(struct hsmg_card *card, unsigned int queue, uint64_t id,
			 struct login_view *lv)
{
	struct sess *s;

	memset(lv, 0, sizeof(*lv));
	if (!id)
		return;
	pthread_mutex_lock(&card->lock);
	s = *sess_slot(card, id);
	if (s && (s->queues & (1ULL << queue))) {
		lv->logged_in = true;
		lv->login_flags = s->login_flags;
		lv->has_cardpin = s->has_cardpin;
		memcpy(lv->pin_blob, s->pin_blob, sizeof(lv->pin_blob));
		memcpy(lv->cardpin_blob, s->cardpin_blob, sizeof(lv->cardpin_blob));
	}
	pthread_mutex_unlock(&card->lock);
}

unsigned int hsmg_card_sessions(struct hsmg_card *card, int queue)
{
	unsigned int n;

	pthread_mutex_lock(&card->lock);
	if (queue < 0)
		n = card->nsess;
	else if ((unsigned int)queue < card->nqueues)
		n = card->qsess[queue];
	else
		n = 0;
	pthread_mutex_unlock(&card->lock);
	return n;
}

size_t hsmg_card_session_ids(struct hsmg_card *card, uint64_t *ids, size_t max)
{
	size_t n = 0;
	unsigned int i;
	struct sess *s;

	pthread_mutex_lock(&card->lock);
	for (i = 0; i < SESS_BUCKETS; i++) {
		for (s = card->buckets[i]; s; s = s->next) {
			if (n < max)
				ids[n] = s->id;
			n++;
		}
	}
	pthread_mutex_unlock(&card->lock);
	return n;
}

/* Called with the lock held: log @s out of @queue, free it when unused. */
static void sess_logout_locked(struct hsmg_card *card, struct sess **pp, unsigned int queue)
{
	struct sess *s = *pp;

	if (!(s->queues & (1ULL << queue)))
		return;
	s->queues &= ~(1ULL << queue);
	card->qsess[queue]--;
	if (!s->queues) {
		*pp = s->next;
		card->nsess--;
		sess_free(s);
	}
}

void hsmg_card_drop_queue(struct hsmg_card *card, unsigned int queue)
{
	unsigned int i;
	struct sess **pp;

	if (queue >= card->nqueues)
		return;
	pthread_mutex_lock(&card->lock);
	for (i = 0; i < SESS_BUCKETS; i++) {
		pp = &card->buckets[i];
		while (*pp) {
			struct sess *s = *pp;

			sess_logout_locked(card, pp, queue);
			if (*pp == s)
				pp = &s->next;
		}
	}
	pthread_mutex_unlock(&card->lock);
}

static void put_u32(uint8_t *p, size_t *off, uint32_t v)
{
	memcpy(p + *off, &v, 4);
	*off += 4;
}

static int make_pin_blob(const struct hsmg_card *card, uint64_t session, uint32_t flags,
			 const uint8_t *pin, uint32_t pin_len, const uint8_t *cardpin,
			 uint32_t cardpin_len, uint8_t out[HSMG_PIN_BLOB_LEN])
{
	uint8_t buf[8 + 8 + 4 + 4 + HSMG_MAX_PIN_LEN + 4 + HSMG_MAX_PIN_LEN];
	unsigned int mdlen = 0;
	size_t off = 0;
	int ret;

	memcpy(buf, "pin-blob", 8);
	off = 8;
	memcpy(buf + off, &session, 8);
	off += 8;
	put_u32(buf, &off, flags);
	put_u32(buf, &off, pin_len);
	memcpy(buf + off, pin, pin_len);
	off += pin_len;
	put_u32(buf, &off, cardpin_len);
	if (cardpin_len)
		memcpy(buf + off, cardpin, cardpin_len);
	off += cardpin_len;
	ret = HMAC(EVP_sha256(), card->k_pin, KEYLEN, buf, off, out, &mdlen) ? 0 : -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

static int make_cardpin_blob(const struct hsmg_card *card, const uint8_t *cardpin,
			     uint32_t cardpin_len, uint8_t out[HSMG_PIN_BLOB_LEN])
{
	uint8_t buf[8 + 4 + HSMG_MAX_PIN_LEN];
	unsigned int mdlen = 0;
	size_t off = 8;
	int ret;

	memcpy(buf, "card-pin", 8);
	put_u32(buf, &off, cardpin_len);
	memcpy(buf + off, cardpin, cardpin_len);
	off += cardpin_len;
	ret = HMAC(EVP_sha256(), card->k_pin, KEYLEN, buf, off, out, &mdlen) ? 0 : -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

static void do_login(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		     const uint8_t *payload, uint8_t *ans, size_t ans_cap,
		     struct hsmg_card_result *res)
{
	struct hsmg_be_login lg;
	struct sess *s, **pp;
	uint8_t pin_blob[HSMG_PIN_BLOB_LEN], cp_blob[HSMG_PIN_BLOB_LEN];
	const uint8_t *pin, *cardpin;
	unsigned int quota;
	bool user_vhsm;

	res->status = HSMG_BE_BADREQ;
	if (!req->session || req->len < sizeof(lg) || ans_cap < HSMG_PIN_BLOB_LEN)
		return;
	memcpy(&lg, payload, sizeof(lg));
	if (lg.reserved || (lg.flags & ~HSMG_LOGIN_ALL_FLAGS) || lg.pin_len < 1 ||
	    lg.pin_len > HSMG_MAX_PIN_LEN || lg.cardpin_len > 16 ||
	    (lg.cardpin_len && lg.cardpin_len < 8) ||
	    (uint64_t)sizeof(lg) + lg.pin_len + lg.cardpin_len != req->len)
		return;
	user_vhsm = (req->session_flags & HSMG_SESSION_VHSM) && !(lg.flags & HSMG_LOGIN_SO);
	if (user_vhsm && !lg.cardpin_len)
		return;
	pin = payload + sizeof(lg);
	cardpin = pin + lg.pin_len;
	if (make_pin_blob(card, req->session, lg.flags, pin, lg.pin_len, cardpin, lg.cardpin_len,
			  pin_blob) ||
	    (lg.cardpin_len && make_cardpin_blob(card, cardpin, lg.cardpin_len, cp_blob))) {
		res->status = HSMG_BE_FAILED;
		goto out;
	}

	pthread_mutex_lock(&card->lock);
	pp = sess_slot(card, req->session);
	s = *pp;
	if (!s || !(s->queues & (1ULL << queue))) {
		quota = hsmg_card_quota(card);
		if (quota && card->qsess[queue] >= quota) {
			pthread_mutex_unlock(&card->lock);
			res->status = HSMG_BE_QUOTA;
			goto out;
		}
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&card->lock);
			res->status = HSMG_BE_RETRY;
			goto out;
		}
		s->id = req->session;
		*pp = s;
		card->nsess++;
	}
	if (!(s->queues & (1ULL << queue))) {
		s->queues |= 1ULL << queue;
		card->qsess[queue]++;
	}
	s->login_flags = lg.flags;
	s->has_cardpin = lg.cardpin_len != 0;
	memcpy(s->pin_blob, pin_blob, sizeof(pin_blob));
	if (s->has_cardpin)
		memcpy(s->cardpin_blob, cp_blob, sizeof(cp_blob));
	else
		memset(s->cardpin_blob, 0, sizeof(s->cardpin_blob));
	pthread_mutex_unlock(&card->lock);

	memcpy(ans, pin_blob, HSMG_PIN_BLOB_LEN);
	res->len = HSMG_PIN_BLOB_LEN;
	res->status = HSMG_BE_OK;
out:
	OPENSSL_cleanse(&lg, sizeof(lg));
	OPENSSL_cleanse(pin_blob, sizeof(pin_blob));
	OPENSSL_cleanse(cp_blob, sizeof(cp_blob));
}

static void do_logout(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		      struct hsmg_card_result *res)
{
	struct sess **pp;

	if (!req->session || req->len) {
		res->status = HSMG_BE_BADREQ;
		return;
	}
	pthread_mutex_lock(&card->lock);
	pp = sess_slot(card, req->session);
	if (*pp)
		sess_logout_locked(card, pp, queue);
	pthread_mutex_unlock(&card->lock);
	res->status = HSMG_BE_OK;
}

/* ------------------------------------------------------------ key blobs */

static CK_RV key_seal(const struct hsmg_card *card, const struct key *k, uint8_t *out, size_t cap,
		      size_t *out_len)
{
	struct kblob_hdr h;
	size_t need = sizeof(h) + k->secret_len + TAGLEN;

	if (cap < need)
		return CKR_DEVICE_MEMORY;
	memset(&h, 0, sizeof(h));
	h.magic = KBLOB_MAGIC;
	h.version = BLOB_VERSION;
	h.kind = k->kind;
	h.attrs = k->attrs;
	h.bind = k->bind;
	h.secret_len = k->secret_len;
	memcpy(h.session_bind, k->session_bind, sizeof(h.session_bind));
	memcpy(h.cardpin_bind, k->cardpin_bind, sizeof(h.cardpin_bind));
	if (RAND_bytes(h.iv, IVLEN) != 1)
		return CKR_DEVICE_ERROR;
	memcpy(out, &h, sizeof(h));
	if (gcm(true, card->k_wrap, KEYLEN, h.iv, IVLEN, out, sizeof(h), k->secret, k->secret_len,
		out + sizeof(h), out + sizeof(h) + k->secret_len, TAGLEN)) {
		OPENSSL_cleanse(out, need);
		return CKR_DEVICE_ERROR;
	}
	*out_len = need;
	return CKR_OK;
}

static CK_RV key_open(const struct hsmg_card *card, const uint8_t *blob, size_t len, struct key *k)
{
	struct kblob_hdr h;

	memset(k, 0, sizeof(*k));
	if (len < sizeof(h) + TAGLEN)
		return CKR_KEY_HANDLE_INVALID;
	memcpy(&h, blob, sizeof(h));
	if (h.magic != KBLOB_MAGIC || h.version != BLOB_VERSION || h.secret_len > MAX_SECRET ||
	    len != sizeof(h) + h.secret_len + TAGLEN)
		return CKR_KEY_HANDLE_INVALID;
	if (gcm(false, card->k_wrap, KEYLEN, h.iv, IVLEN, blob, sizeof(h), blob + sizeof(h),
		h.secret_len, k->secret, (uint8_t *)blob + sizeof(h) + h.secret_len, TAGLEN))
		return CKR_KEY_HANDLE_INVALID;
	k->kind = h.kind;
	k->attrs = h.attrs;
	k->bind = h.bind;
	k->secret_len = h.secret_len;
	memcpy(k->session_bind, h.session_bind, sizeof(k->session_bind));
	memcpy(k->cardpin_bind, h.cardpin_bind, sizeof(k->cardpin_bind));
	/* Authentic, but still only a combination this card can create. */
	if ((k->kind == KIND_AES && k->secret_len != k->attrs.value_len) ||
	    (k->kind == KIND_EC_PRIV && k->secret_len != EC_PRIV_LEN + EC_POINT_LEN) ||
	    (k->kind != KIND_AES && k->kind != KIND_EC_PRIV)) {
		OPENSSL_cleanse(k, sizeof(*k));
		return CKR_KEY_HANDLE_INVALID;
	}
	return CKR_OK;
}

/* May the request's session use key @k? */
static CK_RV key_check_binding(struct req_ctx *c, const struct key *k)
{
	struct login_view lv;
	CK_RV rv = CKR_OK;

	if (!(k->bind & (BIND_SESSION | BIND_CARDPIN)))
		return CKR_OK;
	login_lookup(c->card, c->queue, c->req->session, &lv);
	if (!lv.logged_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((k->bind & BIND_SESSION) &&
		 !ct_equal(lv.pin_blob, k->session_bind, HSMG_PIN_BLOB_LEN))
		rv = CKR_KEY_HANDLE_INVALID;
	else if ((k->bind & BIND_CARDPIN) &&
		 (!lv.has_cardpin ||
		  !ct_equal(lv.cardpin_blob, k->cardpin_bind, HSMG_PIN_BLOB_LEN)))
		rv = CKR_KEY_HANDLE_INVALID;
	OPENSSL_cleanse(&lv, sizeof(lv));
	return rv;
}

/* Bind a new key to the request's session as strict/VHSM demand. */
static CK_RV key_bind_new(struct req_ctx *c, struct key *k)
{
	uint32_t sf = c->req->session_flags;
	struct login_view lv;

	if (!(sf & (HSMG_SESSION_STRICT | HSMG_SESSION_VHSM)))
		return CKR_OK;
	login_lookup(c->card, c->queue, c->req->session, &lv);
	/* Public and SO sessions: the modes do not apply (EP11). */
	if (lv.logged_in && !(lv.login_flags & HSMG_LOGIN_SO)) {
		if ((sf & HSMG_SESSION_STRICT) && !(k->attrs.flags & HSMG_KEY_TOKEN)) {
			k->bind |= BIND_SESSION;
			memcpy(k->session_bind, lv.pin_blob, HSMG_PIN_BLOB_LEN);
		}
		if (sf & HSMG_SESSION_VHSM) {
			if (!lv.has_cardpin) {
				OPENSSL_cleanse(&lv, sizeof(lv));
				return CKR_USER_NOT_LOGGED_IN;
			}
			k->bind |= BIND_CARDPIN;
			memcpy(k->cardpin_bind, lv.cardpin_blob, HSMG_PIN_BLOB_LEN);
		}
	}
	OPENSSL_cleanse(&lv, sizeof(lv));
	return CKR_OK;
}

/* Open the blob of @tag, check binding, kind and usage. */
static CK_RV key_get(struct req_ctx *c, uint32_t tag, uint16_t kind, uint32_t use, struct key *k)
{
	const void *blob;
	uint32_t len;
	CK_RV rv;

	memset(k, 0, sizeof(*k));
	if (!hsmg_msg_get(c->v, tag, &blob, &len))
		return CKR_ARGUMENTS_BAD;
	rv = key_open(c->card, blob, len, k);
	if (rv == CKR_OK)
		rv = key_check_binding(c, k);
	if (rv == CKR_OK && k->kind != kind)
		rv = CKR_KEY_TYPE_INCONSISTENT;
	if (rv == CKR_OK && !(k->attrs.usage & use))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (rv != CKR_OK)
		OPENSSL_cleanse(k, sizeof(*k));
	return rv;
}

static CK_RV put_key(struct req_ctx *c, const struct key *k)
{
	size_t len = 0;
	uint8_t *dst = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_KEY,
					  sizeof(struct kblob_hdr) + k->secret_len + TAGLEN);
	CK_RV rv;

	if (!dst)
		return CKR_DEVICE_MEMORY;
	rv = key_seal(c->card, k, dst, sizeof(struct kblob_hdr) + k->secret_len + TAGLEN, &len);
	if (rv != CKR_OK)
		return rv;
	return hsmg_msg_put_end(c->b, len) ? CKR_DEVICE_MEMORY : CKR_OK;
}

/* Attributes of a key to generate. */
static CK_RV get_attrs(struct req_ctx *c, struct hsmg_msg_key_attrs *a)
{
	if (hsmg_msg_get_fixed(c->v, HSMG_TAG_ATTRS, a, sizeof(*a)))
		return CKR_ARGUMENTS_BAD;
	if (a->reserved)
		return CKR_ARGUMENTS_BAD;
	if (a->flags & ~HSMG_KEY_ALL_FLAGS)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (a->usage & ~HSMG_KEY_USE_ALL)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

/* ------------------------------------------------------------ EC keys */

static EVP_PKEY *ec_load(const uint8_t *priv, const uint8_t *pub, size_t pub_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *pctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;

	if (!bld)
		return NULL;
	if (priv) {
		d = BN_secure_new();
		if (!d || !BN_bin2bn(priv, EC_PRIV_LEN, d) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
			goto out;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) !=
		1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params); /* holds a copy of d: freed as clear memory below */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pkey;
}

static CK_RV do_generate_keypair(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	struct key k;
	size_t publen = 0;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	if (c->v->hdr.mechanism != CKM_EC_KEY_PAIR_GEN)
		return CKR_MECHANISM_INVALID;
	rv = get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if (a.key_type != CKK_EC || a.value_len)
		return CKR_TEMPLATE_INCONSISTENT;
	if (a.curve != HSMG_CURVE_P256)
		return CKR_CURVE_NOT_SUPPORTED;
	if (!a.usage)
		a.usage = HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY | HSMG_KEY_USE_DERIVE;
	if (a.usage & ~(HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY | HSMG_KEY_USE_DERIVE))
		return CKR_TEMPLATE_INCONSISTENT;
	k.kind = KIND_EC_PRIV;
	k.attrs = a;
	k.secret_len = EC_PRIV_LEN + EC_POINT_LEN;
	rv = key_bind_new(c, &k);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_DEVICE_ERROR;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!pkey || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
	    BN_bn2binpad(d, k.secret, EC_PRIV_LEN) != EC_PRIV_LEN ||
	    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, k.secret + EC_PRIV_LEN,
					    EC_POINT_LEN, &publen) != 1 ||
	    publen != EC_POINT_LEN || k.secret[EC_PRIV_LEN] != 0x04)
		goto out;
	rv = put_key(c, &k);
	if (rv == CKR_OK &&
	    hsmg_msg_put(c->b, HSMG_TAG_OUT_PUBKEY, k.secret + EC_PRIV_LEN, EC_POINT_LEN))
		rv = CKR_DEVICE_MEMORY;
out:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* ECDSA signature DER <-> r||s. */
static int sig_der_to_raw(const uint8_t *der, size_t der_len, uint8_t raw[64])
{
	const uint8_t *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int ret = -1;

	if (!sig)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32)
		ret = 0;
	ECDSA_SIG_free(sig);
	return ret;
}

static int sig_raw_to_der(const uint8_t raw[64], uint8_t *der, size_t cap, size_t *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	uint8_t *p = der;
	int n, ret = -1;

	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1)
		goto fail;
	r = s = NULL; /* owned by sig */
	n = i2d_ECDSA_SIG(sig, NULL);
	if (n > 0 && (size_t)n <= cap && i2d_ECDSA_SIG(sig, &p) == n) {
		*der_len = (size_t)n;
		ret = 0;
	}
fail:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ret;
}

/* The value ECDSA signs: the input itself (CKM_ECDSA) or its SHA-256. */
static CK_RV ecdsa_input(uint64_t mech, const void *data, uint32_t len, uint8_t *hash,
			 size_t *hash_len)
{
	unsigned int md = 0;

	if (mech == CKM_ECDSA) {
		if (len < 1 || len > 64)
			return CKR_DATA_LEN_RANGE;
		memcpy(hash, data, len);
		*hash_len = len;
		return CKR_OK;
	}
	if (mech == CKM_ECDSA_SHA256) {
		if (EVP_Digest(data, len, hash, &md, EVP_sha256(), NULL) != 1)
			return CKR_DEVICE_ERROR;
		*hash_len = md;
		return CKR_OK;
	}
	return CKR_MECHANISM_INVALID;
}

static CK_RV do_sign(struct req_ctx *c)
{
	uint8_t hash[64], der[80], *out;
	size_t hash_len = 0, der_len = sizeof(der);
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	const void *data;
	uint32_t len;
	struct key k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	if (c->v->hdr.mechanism != CKM_ECDSA && c->v->hdr.mechanism != CKM_ECDSA_SHA256)
		return CKR_MECHANISM_INVALID;
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	rv = key_get(c, HSMG_TAG_KEY, KIND_EC_PRIV, HSMG_KEY_USE_SIGN, &k);
	if (rv != CKR_OK)
		return rv;
	rv = ecdsa_input(c->v->hdr.mechanism, data, len, hash, &hash_len);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_DEVICE_ERROR;
	pkey = ec_load(k.secret, k.secret + EC_PRIV_LEN, EC_POINT_LEN);
	if (!pkey)
		goto out;
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!pctx || EVP_PKEY_sign_init(pctx) != 1 ||
	    EVP_PKEY_sign(pctx, der, &der_len, hash, hash_len) != 1)
		goto out;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, 64);
	if (!out) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	if (sig_der_to_raw(der, der_len, out) || hsmg_msg_put_end(c->b, 64))
		goto out;
	rv = CKR_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(hash, sizeof(hash));
	return rv;
}

static CK_RV do_verify(struct req_ctx *c)
{
	uint8_t hash[64], der[80];
	size_t hash_len = 0, der_len = 0;
	struct hsmg_msg_key_attrs a;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	const void *data, *sig, *pub;
	uint32_t len, sig_len, pub_len;
	struct key k;
	CK_RV rv;
	int r;

	memset(&k, 0, sizeof(k));
	if (c->v->hdr.mechanism != CKM_ECDSA && c->v->hdr.mechanism != CKM_ECDSA_SHA256)
		return CKR_MECHANISM_INVALID;
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len) ||
	    !hsmg_msg_get(c->v, HSMG_TAG_SIGNATURE, &sig, &sig_len))
		return CKR_ARGUMENTS_BAD;
	if (hsmg_msg_get(c->v, HSMG_TAG_KEY, NULL, NULL) ==
	    hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL))
		return CKR_ARGUMENTS_BAD; /* exactly one of them */
	if (hsmg_msg_get(c->v, HSMG_TAG_KEY, NULL, NULL)) {
		rv = key_get(c, HSMG_TAG_KEY, KIND_EC_PRIV, HSMG_KEY_USE_VERIFY, &k);
		if (rv != CKR_OK)
			return rv;
		pub = k.secret + EC_PRIV_LEN;
		pub_len = EC_POINT_LEN;
	} else {
		hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, &pub, &pub_len);
		if (hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL)) {
			rv = get_attrs(c, &a);
			if (rv != CKR_OK)
				return rv;
			if (a.curve != HSMG_CURVE_P256)
				return CKR_CURVE_NOT_SUPPORTED;
		}
		if (pub_len != EC_POINT_LEN || ((const uint8_t *)pub)[0] != 0x04)
			return CKR_KEY_HANDLE_INVALID;
	}
	rv = ecdsa_input(c->v->hdr.mechanism, data, len, hash, &hash_len);
	if (rv != CKR_OK)
		goto out;
	if (sig_len != 64) {
		rv = CKR_SIGNATURE_LEN_RANGE;
		goto out;
	}
	rv = CKR_KEY_HANDLE_INVALID;
	pkey = ec_load(NULL, pub, pub_len);
	if (!pkey)
		goto out; /* not a point on the curve */
	rv = CKR_DEVICE_ERROR;
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!pctx || EVP_PKEY_verify_init(pctx) != 1 ||
	    sig_raw_to_der(sig, der, sizeof(der), &der_len))
		goto out;
	r = EVP_PKEY_verify(pctx, der, der_len, hash, hash_len);
	rv = r == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
out:
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* ------------------------------------------------------------- AES */

static CK_RV do_generate_key(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	struct key k;
	CK_RV rv;

	if (c->v->hdr.mechanism != CKM_AES_KEY_GEN)
		return CKR_MECHANISM_INVALID;
	rv = get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if (a.key_type != CKK_AES || a.curve != HSMG_CURVE_NONE)
		return CKR_TEMPLATE_INCONSISTENT;
	if (a.value_len != 16 && a.value_len != 24 && a.value_len != 32)
		return CKR_KEY_SIZE_RANGE;
	if (!a.usage)
		a.usage = HSMG_KEY_USE_ALL;
	memset(&k, 0, sizeof(k));
	k.kind = KIND_AES;
	k.attrs = a;
	k.secret_len = a.value_len;
	rv = key_bind_new(c, &k);
	if (rv == CKR_OK && RAND_priv_bytes(k.secret, (int)k.secret_len) != 1)
		rv = CKR_DEVICE_ERROR;
	if (rv == CKR_OK)
		rv = put_key(c, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

static CK_RV do_gcm(struct req_ctx *c, bool enc)
{
	struct hsmg_msg_gcm_param gp;
	const uint8_t *param, *data;
	const void *pv, *dv;
	uint32_t plen, len, taglen, n;
	uint8_t *out;
	struct key k;
	CK_RV rv;

	if (c->v->hdr.mechanism != CKM_AES_GCM)
		return CKR_MECHANISM_INVALID;
	if (!hsmg_msg_get(c->v, HSMG_TAG_PARAM, &pv, &plen) || plen < sizeof(gp))
		return CKR_MECHANISM_PARAM_INVALID;
	param = pv;
	memcpy(&gp, param, sizeof(gp));
	if (gp.reserved || gp.iv_len < 1 || gp.iv_len > HSMG_MSG_GCM_MAX_IV || gp.tag_bits < 32 ||
	    gp.tag_bits > 128 || gp.tag_bits % 8 ||
	    (uint64_t)sizeof(gp) + gp.iv_len + gp.aad_len != plen)
		return CKR_MECHANISM_PARAM_INVALID;
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &dv, &len))
		return CKR_ARGUMENTS_BAD;
	data = dv;
	taglen = gp.tag_bits / 8;
	if (!enc && len < taglen)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	rv = key_get(c, HSMG_TAG_KEY, KIND_AES, enc ? HSMG_KEY_USE_ENCRYPT : HSMG_KEY_USE_DECRYPT,
		     &k);
	if (rv != CKR_OK)
		return rv;
	n = enc ? len + taglen : len - taglen;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, n);
	if (!out) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	if (enc) {
		rv = gcm(true, k.secret, k.secret_len, param + sizeof(gp), gp.iv_len,
			 param + sizeof(gp) + gp.iv_len, gp.aad_len, data, len, out, out + len,
			 taglen)
			 ? CKR_DEVICE_ERROR
			 : CKR_OK;
	} else {
		rv = gcm(false, k.secret, k.secret_len, param + sizeof(gp), gp.iv_len,
			 param + sizeof(gp) + gp.iv_len, gp.aad_len, data, n, out,
			 (uint8_t *)data + n, taglen)
			 ? CKR_ENCRYPTED_DATA_INVALID
			 : CKR_OK;
	}
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, n))
		rv = CKR_DEVICE_MEMORY;
out:
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* ------------------------------------------------------ digest, state */

static CK_RV state_seal(struct req_ctx *c, const uint8_t *st, size_t st_len)
{
	size_t total = sizeof(struct sblob_hdr) + st_len + TAGLEN;
	struct sblob_hdr h;
	uint8_t *out;

	memset(&h, 0, sizeof(h));
	h.magic = SBLOB_MAGIC;
	h.version = BLOB_VERSION;
	h.kind = STATE_DIGEST;
	h.mechanism = c->v->hdr.mechanism;
	h.session = c->req->session;
	h.state_len = (uint32_t)st_len;
	if (RAND_bytes(h.iv, IVLEN) != 1)
		return CKR_DEVICE_ERROR;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_STATE, total);
	if (!out)
		return CKR_DEVICE_MEMORY;
	memcpy(out, &h, sizeof(h));
	if (gcm(true, c->card->k_state, KEYLEN, h.iv, IVLEN, out, sizeof(h), st, st_len,
		out + sizeof(h), out + sizeof(h) + st_len, TAGLEN))
		return CKR_DEVICE_ERROR;
	return hsmg_msg_put_end(c->b, total) ? CKR_DEVICE_MEMORY : CKR_OK;
}

static CK_RV state_open(struct req_ctx *c, uint8_t st[HS_MAX_STATE], size_t *st_len)
{
	struct sblob_hdr h;
	const uint8_t *blob;
	const void *bv;
	uint32_t len;

	if (!hsmg_msg_get(c->v, HSMG_TAG_STATE, &bv, &len))
		return CKR_ARGUMENTS_BAD;
	blob = bv;
	if (len < sizeof(h) + TAGLEN)
		return CKR_SAVED_STATE_INVALID;
	memcpy(&h, blob, sizeof(h));
	if (h.magic != SBLOB_MAGIC || h.version != BLOB_VERSION || h.kind != STATE_DIGEST ||
	    h.state_len > HS_MAX_STATE || len != sizeof(h) + h.state_len + TAGLEN ||
	    h.mechanism != c->v->hdr.mechanism || h.session != c->req->session)
		return CKR_SAVED_STATE_INVALID;
	if (gcm(false, c->card->k_state, KEYLEN, h.iv, IVLEN, blob, sizeof(h), blob + sizeof(h),
		h.state_len, st, (uint8_t *)blob + sizeof(h) + h.state_len, TAGLEN))
		return CKR_SAVED_STATE_INVALID;
	*st_len = h.state_len;
	return CKR_OK;
}

static CK_RV do_digest(struct req_ctx *c)
{
	const EVP_MD *md;
	const void *data;
	uint32_t len;
	unsigned int n = 0;
	uint8_t *out;

	switch (c->v->hdr.mechanism) {
	case CKM_SHA_1:
		md = EVP_sha1();
		break;
	case CKM_SHA224:
		md = EVP_sha224();
		break;
	case CKM_SHA256:
		md = EVP_sha256();
		break;
	case CKM_SHA384:
		md = EVP_sha384();
		break;
	case CKM_SHA512:
		md = EVP_sha512();
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, EVP_MD_get_size(md));
	if (!out)
		return CKR_DEVICE_MEMORY;
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return CKR_DEVICE_ERROR;
	return hsmg_msg_put_end(c->b, n) ? CKR_DEVICE_MEMORY : CKR_OK;
}

static CK_RV do_digest_part(struct req_ctx *c, uint32_t op)
{
	uint8_t st[HS_MAX_STATE], md[HS_MAX_MD];
	size_t st_len = 0, md_len = 0;
	const void *data = NULL;
	uint32_t len = 0;
	bool has_data;
	CK_RV rv;

	if (!hs_md_len(c->v->hdr.mechanism))
		return CKR_MECHANISM_INVALID;
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if (op == HSMG_MSG_OP_DIGEST_INIT) {
		rv = hs_init(c->v->hdr.mechanism, st, &st_len) ? CKR_DEVICE_ERROR : CKR_OK;
		if (rv == CKR_OK)
			rv = state_seal(c, st, st_len);
		goto out;
	}
	if (op == HSMG_MSG_OP_DIGEST_UPDATE && !has_data)
		return CKR_ARGUMENTS_BAD;
	rv = state_open(c, st, &st_len);
	if (rv != CKR_OK)
		goto out;
	if (has_data && hs_update(c->v->hdr.mechanism, st, st_len, data, len)) {
		rv = CKR_SAVED_STATE_INVALID;
		goto out;
	}
	if (op == HSMG_MSG_OP_DIGEST_UPDATE) {
		rv = state_seal(c, st, st_len);
		goto out;
	}
	if (hs_final(c->v->hdr.mechanism, st, st_len, md, &md_len)) {
		rv = CKR_SAVED_STATE_INVALID;
		goto out;
	}
	rv = hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, md, md_len) ? CKR_DEVICE_MEMORY : CKR_OK;
out:
	OPENSSL_cleanse(st, sizeof(st));
	return rv;
}

/* -------------------------------------------------------------- misc */

static CK_RV do_random(struct req_ctx *c)
{
	uint32_t n;
	uint8_t *out;

	if (hsmg_msg_get_fixed(c->v, HSMG_TAG_PARAM, &n, sizeof(n)))
		return CKR_ARGUMENTS_BAD;
	if (n < 1 || n > HSMG_MSG_MAX_RANDOM)
		return CKR_DATA_LEN_RANGE;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, n);
	if (!out)
		return CKR_DEVICE_MEMORY;
	if (RAND_bytes(out, (int)n) != 1)
		return CKR_DEVICE_ERROR;
	return hsmg_msg_put_end(c->b, n) ? CKR_DEVICE_MEMORY : CKR_OK;
}

#define T(x) (1U << HSMG_TAG_##x)

/* Request tags each op accepts; anything else is CKR_ARGUMENTS_BAD. */
static uint32_t allowed_tags(uint32_t op)
{
	switch (op) {
	case HSMG_MSG_OP_RANDOM:
		return T(PARAM);
	case HSMG_MSG_OP_GENERATE_KEY:
	case HSMG_MSG_OP_GENERATE_KEYPAIR:
		return T(ATTRS) | T(PARAM);
	case HSMG_MSG_OP_ENCRYPT:
	case HSMG_MSG_OP_DECRYPT:
		return T(KEY) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_SIGN:
		return T(KEY) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_VERIFY:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(PARAM) | T(DATA) | T(SIGNATURE);
	case HSMG_MSG_OP_DIGEST:
	case HSMG_MSG_OP_DIGEST_INIT:
		return T(DATA) | T(PARAM);
	case HSMG_MSG_OP_DIGEST_UPDATE:
	case HSMG_MSG_OP_DIGEST_FINAL:
		return T(STATE) | T(DATA);
	default:
		return ~0U;
	}
}

static CK_RV dispatch(struct req_ctx *c)
{
	uint32_t op = c->v->hdr.op, present = 0, t;

	for (t = 1; t <= HSMG_TAG_MAX; t++)
		if (c->v->tlv[t].present)
			present |= 1U << t;
	if (present & ~allowed_tags(op))
		return CKR_ARGUMENTS_BAD;
	switch (op) {
	case HSMG_MSG_OP_RANDOM:
		return do_random(c);
	case HSMG_MSG_OP_GENERATE_KEY:
		return do_generate_key(c);
	case HSMG_MSG_OP_GENERATE_KEYPAIR:
		return do_generate_keypair(c);
	case HSMG_MSG_OP_ENCRYPT:
		return do_gcm(c, true);
	case HSMG_MSG_OP_DECRYPT:
		return do_gcm(c, false);
	case HSMG_MSG_OP_SIGN:
		return do_sign(c);
	case HSMG_MSG_OP_VERIFY:
		return do_verify(c);
	case HSMG_MSG_OP_DIGEST:
		return do_digest(c);
	case HSMG_MSG_OP_DIGEST_INIT:
	case HSMG_MSG_OP_DIGEST_UPDATE:
	case HSMG_MSG_OP_DIGEST_FINAL:
		return do_digest_part(c, op);
	default:
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
}

static void do_crypto(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		      const void *payload, uint8_t *ans, size_t ans_cap,
		      struct hsmg_card_result *res)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	struct req_ctx c = {card, queue, req, &v, &b};
	ssize_t n;
	CK_RV rv;
	int err;

	err = hsmg_msg_parse_type(&v, payload, req->len, HSMG_MSG_REQUEST);
	if (err && hsmg_msg_err_is_header(err)) {
		res->status = HSMG_BE_BADREQ;
		return;
	}
	if (hsmg_msg_init(&b, ans, ans_cap, HSMG_MSG_RESPONSE, v.hdr.op, v.hdr.mechanism)) {
		res->status = HSMG_BE_FAILED; /* answer buffer below a header */
		return;
	}
	rv = err ? CKR_ARGUMENTS_BAD : dispatch(&c);
	/* An output did not fit the answer (or the message size limit). */
	if (b.err == -HSMG_MSG_ENOSPC || b.err == -HSMG_MSG_E2BIG)
		rv = CKR_DATA_LEN_RANGE;
	else if (rv == CKR_OK && b.err)
		rv = CKR_DEVICE_ERROR;
	if (rv != CKR_OK) {
		/* Drop partial outputs (possibly plaintext) before answering. */
		OPENSSL_cleanse(ans, b.len < ans_cap ? b.len : ans_cap);
		hsmg_msg_init(&b, ans, ans_cap, HSMG_MSG_RESPONSE, v.hdr.op, v.hdr.mechanism);
		hsmg_msg_set_rv(&b, rv);
	}
	n = hsmg_msg_finish(&b);
	if (n < 0) {
		res->status = HSMG_BE_FAILED;
		return;
	}
	res->status = HSMG_BE_OK;
	res->len = (uint32_t)n;
	res->rv = rv;
}

void hsmg_card_process(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		       const void *payload, void *ans, size_t ans_cap, struct hsmg_card_result *res)
{
	memset(res, 0, sizeof(*res));
	if (queue >= card->nqueues || req->len > HSMG_MAX_MSG_SIZE || (req->len && !payload)) {
		res->status = HSMG_BE_BADREQ;
		return;
	}
	switch (req->type) {
	case HSMG_BE_REQ_CRYPTO:
		do_crypto(card, queue, req, payload, ans, ans_cap, res);
		break;
	case HSMG_BE_REQ_LOGIN:
		do_login(card, queue, req, payload, ans, ans_cap, res);
		break;
	case HSMG_BE_REQ_LOGOUT:
		do_logout(card, queue, req, res);
		break;
	case HSMG_BE_REQ_PING:
		res->status = HSMG_BE_OK;
		break;
	default:
		res->status = HSMG_BE_BADREQ;
		break;
	}
}
