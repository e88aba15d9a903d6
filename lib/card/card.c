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

#include "aesmode.h"
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

#define MAX_SECRET  PK_RSA_MAX_DER
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

struct sess {
	struct sess *next;
	uint64_t id;
	uint64_t queues[HSMG_CARD_MAX_QUEUES / 64]; /* bit per local queue logged in on */
	unsigned int nlogged;			    /* bits set in @queues */
	uint32_t login_flags;
	bool has_cardpin;
	uint8_t pin_blob[HSMG_PIN_BLOB_LEN];
	uint8_t cardpin_blob[HSMG_PIN_BLOB_LEN];
};

static bool sess_on(const struct sess *s, unsigned int queue)
{
	return s->queues[queue / 64] & (1ULL << (queue % 64));
}

static void sess_mark(struct sess *s, unsigned int queue, bool on)
{
	if (sess_on(s, queue) == on)
		return;
	s->queues[queue / 64] ^= 1ULL << (queue % 64);
	if (on)
		s->nlogged++;
	else
		s->nlogged--;
}

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

	/* Parsed private keys (see pkc_get()), under @pkc_lock. */
	pthread_mutex_t pkc_lock;
	struct pkc_ent *pkc;
	unsigned int pkc_cap;
	uint64_t pkc_clock;
	uint64_t pkc_hits, pkc_misses;
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
	pthread_mutex_init(&card->pkc_lock, NULL);
	if (hsmg_card_set_key_cache(card, HSMG_CARD_KEY_CACHE_DEFAULT)) {
		hsmg_card_free(card);
		return NULL;
	}
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
	hsmg_card_set_key_cache(card, 0);
	pthread_mutex_destroy(&card->pkc_lock);
	pthread_mutex_destroy(&card->lock);
	OPENSSL_cleanse(card, sizeof(*card));
	free(card);
}

/* ------------------------------------------------- parsed-key cache */

static void pkc_ent_clear(struct pkc_ent *e)
{
	EVP_PKEY_free(e->pkey); /* OpenSSL clears the private numbers */
	free(e->blob);
	OPENSSL_cleanse(e, sizeof(*e));
}

/* Drop every entry; with @card->pkc_lock held. */
static void pkc_flush_locked(struct hsmg_card *card)
{
	unsigned int i;

	for (i = 0; i < card->pkc_cap; i++)
		if (card->pkc[i].blob)
			pkc_ent_clear(&card->pkc[i]);
}

int hsmg_card_set_key_cache(struct hsmg_card *card, unsigned int entries)
{
	struct pkc_ent *n = NULL;

	if (entries > HSMG_CARD_KEY_CACHE_MAX)
		return -1;
	if (entries) {
		n = calloc(entries, sizeof(*n));
		if (!n)
			return -1;
	}
	pthread_mutex_lock(&card->pkc_lock);
	pkc_flush_locked(card);
	free(card->pkc);
	card->pkc = n;
	card->pkc_cap = entries;
	card->pkc_hits = 0;
	card->pkc_misses = 0;
	pthread_mutex_unlock(&card->pkc_lock);
	return 0;
}

void hsmg_card_key_cache_stats(struct hsmg_card *card, struct hsmg_card_cache_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&card->pkc_lock);
	st->capacity = card->pkc_cap;
	for (i = 0; i < card->pkc_cap; i++)
		st->entries += card->pkc[i].blob != NULL;
	st->hits = card->pkc_hits;
	st->misses = card->pkc_misses;
	pthread_mutex_unlock(&card->pkc_lock);
}

/* A reference to the parsed key of sealed @blob and its header, or NULL. */
static EVP_PKEY *pkc_lookup(struct hsmg_card *card, const void *blob, uint32_t len, struct key *hdr)
{
	EVP_PKEY *pkey = NULL;
	unsigned int i;

	pthread_mutex_lock(&card->pkc_lock);
	for (i = 0; i < card->pkc_cap; i++) {
		struct pkc_ent *e = &card->pkc[i];

		if (!e->blob || e->blob_len != len || memcmp(e->blob, blob, len))
			continue;
		if (EVP_PKEY_up_ref(e->pkey) != 1)
			break;
		pkey = e->pkey;
		*hdr = e->hdr;
		e->used = ++card->pkc_clock;
		break;
	}
	if (pkey)
		card->pkc_hits++;
	else if (card->pkc_cap)
		card->pkc_misses++;
	pthread_mutex_unlock(&card->pkc_lock);
	return pkey;
}

/* Remember @pkey (parsed from authentic @blob, header @k) in place of the
 * least recently used entry. */
static void pkc_insert(struct hsmg_card *card, const void *blob, uint32_t len, const struct key *k,
		       EVP_PKEY *pkey)
{
	struct pkc_ent *victim = NULL;
	uint8_t *copy;
	unsigned int i;

	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, blob, len);
	pthread_mutex_lock(&card->pkc_lock);
	for (i = 0; i < card->pkc_cap; i++) {
		struct pkc_ent *e = &card->pkc[i];

		if (e->blob && e->blob_len == len && !memcmp(e->blob, blob, len)) {
			victim = NULL; /* another thread was first */
			break;
		}
		if (!victim || !e->blob || (victim->blob && e->used < victim->used))
			victim = e;
	}
	if (victim && EVP_PKEY_up_ref(pkey) == 1) {
		if (victim->blob)
			pkc_ent_clear(victim);
		victim->blob = copy;
		victim->blob_len = len;
		victim->used = ++card->pkc_clock;
		victim->hdr = *k;
		OPENSSL_cleanse(victim->hdr.secret, sizeof(victim->hdr.secret));
		victim->pkey = pkey;
		copy = NULL;
	}
	pthread_mutex_unlock(&card->pkc_lock);
	free(copy);
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
	if (s && sess_on(s, queue)) {
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

/*
 * Called with the lock held: log *@pp out of @queue, free it when unused.
 * Returns true when it was freed (*@pp is its successor now).
 */
static bool sess_logout_locked(struct hsmg_card *card, struct sess **pp, unsigned int queue)
{
	struct sess *s = *pp;

	if (!sess_on(s, queue))
		return false;
	sess_mark(s, queue, false);
	card->qsess[queue]--;
	if (s->nlogged)
		return false;
	*pp = s->next;
	card->nsess--;
	sess_free(s);
	return true;
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

			if (!sess_logout_locked(card, pp, queue))
				pp = &s->next;
		}
	}
	pthread_mutex_unlock(&card->lock);
}

int hsmg_card_set_mk(struct hsmg_card *card, const uint8_t *mk)
{
	uint8_t x[KEYLEN], mkvp[HSMG_MKVP_LEN], kw[KEYLEN], ks[KEYLEN], kp[KEYLEN];
	unsigned int mdlen = 0, i;
	struct sess *s, *n;
	int ret = -1;

	memset(mkvp, 0, sizeof(mkvp));
	memset(kw, 0, sizeof(kw));
	memset(ks, 0, sizeof(ks));
	memset(kp, 0, sizeof(kp));
	if (mk && (hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 mkvp", x, sizeof(x)) ||
		   EVP_Digest(x, sizeof(x), mkvp, &mdlen, EVP_sha256(), NULL) != 1 ||
		   hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 key-wrap", kw, KEYLEN) ||
		   hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 state-wrap", ks, KEYLEN) ||
		   hkdf(mk, HSMG_CARD_MK_LEN, "hsmsimd v1 pin-blob", kp, KEYLEN)))
		goto out;
	pthread_mutex_lock(&card->lock);
	/* Logins were made under the old key: they end with it. */
	for (i = 0; i < SESS_BUCKETS; i++) {
		for (s = card->buckets[i]; s; s = n) {
			n = s->next;
			sess_free(s);
		}
		card->buckets[i] = NULL;
	}
	card->nsess = 0;
	memset(card->qsess, 0, sizeof(card->qsess));
	memcpy(card->mkvp, mkvp, HSMG_MKVP_LEN);
	memcpy(card->k_wrap, kw, KEYLEN);
	memcpy(card->k_state, ks, KEYLEN);
	memcpy(card->k_pin, kp, KEYLEN);
	pthread_mutex_unlock(&card->lock);
	/* Blobs sealed under the old key must not open from the cache. */
	pthread_mutex_lock(&card->pkc_lock);
	pkc_flush_locked(card);
	pthread_mutex_unlock(&card->pkc_lock);
	ret = 0;
out:
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(kw, sizeof(kw));
	OPENSSL_cleanse(ks, sizeof(ks));
	OPENSSL_cleanse(kp, sizeof(kp));
	return ret;
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
	if (!s || !sess_on(s, queue)) {
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
	if (!sess_on(s, queue)) {
		sess_mark(s, queue, true);
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

/* Is a decoded key a combination this card can create? */
static bool key_sane(const struct key *k)
{
	const struct hsmg_msg_key_attrs *a = &k->attrs;

	switch (k->kind) {
	case KIND_AES:
		return a->key_type == CKK_AES && k->secret_len == a->value_len &&
		       (a->value_len == 16 || a->value_len == 24 || a->value_len == 32);
	case KIND_SECRET:
		return a->key_type == CKK_GENERIC_SECRET && k->secret_len == a->value_len &&
		       a->value_len >= 1 && a->value_len <= MAX_GENERIC;
	case KIND_EC_PRIV:
		return a->key_type == CKK_EC && pk_ec_order_len(a->curve) &&
		       k->secret_len == pk_ec_order_len(a->curve) + pk_ec_point_len(a->curve);
	case KIND_RSA_PRIV:
		return a->key_type == CKK_RSA && k->secret_len > 0;
	default:
		return false;
	}
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
	if (!key_sane(k)) {
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

#define KM(kind) (1U << (kind))

/* May the request use opened key @k: binding, kind (bit mask KM()) and
 * usage (0: none needed)? */
static CK_RV key_allowed(struct req_ctx *c, const struct key *k, uint32_t kinds, uint32_t use)
{
	CK_RV rv = key_check_binding(c, k);

	if (rv == CKR_OK && !(kinds & KM(k->kind)))
		rv = CKR_KEY_TYPE_INCONSISTENT;
	if (rv == CKR_OK && use && !(k->attrs.usage & use))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	return rv;
}

/* Open the blob of @tag, check binding, kind (bit mask KM()) and usage
 * (0: none needed). */
static CK_RV key_get(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use, struct key *k)
{
	const void *blob;
	uint32_t len;
	CK_RV rv;

	memset(k, 0, sizeof(*k));
	if (!hsmg_msg_get(c->v, tag, &blob, &len))
		return CKR_ARGUMENTS_BAD;
	rv = key_open(c->card, blob, len, k);
	if (rv == CKR_OK)
		rv = key_allowed(c, k, kinds, use);
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
	if (a->rsvd)
		return CKR_ARGUMENTS_BAD;
	if (a->flags & ~HSMG_KEY_ALL_FLAGS)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (a->usage & ~HSMG_KEY_USE_ALL)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

/* PARAM bytes (empty when absent). */
static void get_param(struct req_ctx *c, const uint8_t **p, uint32_t *len)
{
	const void *v = NULL;

	*len = 0;
	hsmg_msg_get(c->v, HSMG_TAG_PARAM, &v, len);
	*p = v;
}

#define USE_ASYM_EC (HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY | HSMG_KEY_USE_DERIVE)
#define USE_RSA                                                                                    \
	(HSMG_KEY_USE_ENCRYPT | HSMG_KEY_USE_DECRYPT | HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY |   \
	 HSMG_KEY_USE_WRAP | HSMG_KEY_USE_UNWRAP)
#define USE_SECRET (HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY | HSMG_KEY_USE_DERIVE)

/* Default (usage 0) and allowed usage of a new key of @kind. */
static CK_RV usage_fix(struct hsmg_msg_key_attrs *a, uint16_t kind)
{
	uint32_t all = kind == KIND_AES	       ? HSMG_KEY_USE_ALL
		       : kind == KIND_EC_PRIV  ? USE_ASYM_EC
		       : kind == KIND_RSA_PRIV ? USE_RSA
					       : HSMG_KEY_USE_ALL;

	if (!a->usage)
		a->usage = kind == KIND_SECRET ? USE_SECRET : all;
	return a->usage & ~all ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
}

/* Fill @k (kind, attrs, secret) from a private key. */
static CK_RV key_from_pkey(EVP_PKEY *pkey, const struct hsmg_msg_key_attrs *a, struct key *k)
{
	size_t len = 0;
	uint32_t curve;
	int bits;
	CK_RV rv;

	k->attrs = *a;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pkey);
		if (a->key_type != CKK_RSA || a->curve)
			return CKR_TEMPLATE_INCONSISTENT;
		if (a->value_len && a->value_len != (uint32_t)bits)
			return CKR_TEMPLATE_INCONSISTENT;
		if (bits < 1024 || bits > 4096)
			return CKR_KEY_SIZE_RANGE;
		k->kind = KIND_RSA_PRIV;
		k->attrs.value_len = (uint32_t)bits;
		rv = pk_rsa_priv_der(pkey, k->secret, MAX_SECRET, &len);
		if (rv != CKR_OK)
			return rv;
		k->secret_len = (uint32_t)len;
		break;
	case EVP_PKEY_EC:
		curve = pk_ec_curve_of(pkey);
		if (a->key_type != CKK_EC || a->value_len)
			return CKR_TEMPLATE_INCONSISTENT;
		if (!curve)
			return CKR_CURVE_NOT_SUPPORTED;
		if (a->curve && a->curve != curve)
			return CKR_TEMPLATE_INCONSISTENT;
		k->kind = KIND_EC_PRIV;
		k->attrs.curve = curve;
		rv = pk_ec_secret(pkey, curve, k->secret);
		if (rv != CKR_OK)
			return rv;
		k->secret_len = (uint32_t)(pk_ec_order_len(curve) + pk_ec_point_len(curve));
		break;
	default:
		return CKR_TEMPLATE_INCONSISTENT;
	}
	return usage_fix(&k->attrs, k->kind);
}

/* EVP_PKEY of a private key blob. */
static EVP_PKEY *key_pkey(const struct key *k)
{
	size_t order = pk_ec_order_len(k->attrs.curve);

	if (k->kind == KIND_RSA_PRIV)
		return pk_rsa_load_priv(k->secret, k->secret_len);
	if (k->kind == KIND_EC_PRIV)
		return pk_ec_load(k->attrs.curve, k->secret, k->secret + order,
				  pk_ec_point_len(k->attrs.curve));
	return NULL;
}

/*
 * key_get() for a private key (@kinds among KIND_EC_PRIV, KIND_RSA_PRIV)
 * used through its EVP_PKEY: *@pkey gets a reference, @k the header (its
 * secret is not filled when the parsed key came from the cache).
 */
static CK_RV key_get_pkey(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use,
			  struct key *k, EVP_PKEY **pkey)
{
	const void *blob;
	uint32_t len;
	CK_RV rv;

	*pkey = NULL;
	memset(k, 0, sizeof(*k));
	if (!hsmg_msg_get(c->v, tag, &blob, &len))
		return CKR_ARGUMENTS_BAD;
	*pkey = pkc_lookup(c->card, blob, len, k);
	if (*pkey) {
		rv = key_allowed(c, k, kinds, use);
	} else {
		rv = key_get(c, tag, kinds, use, k);
		if (rv != CKR_OK)
			return rv;
		*pkey = key_pkey(k);
		if (!*pkey)
			rv = CKR_DEVICE_ERROR;
		else
			pkc_insert(c->card, blob, len, k, *pkey);
		OPENSSL_cleanse(k->secret, sizeof(k->secret));
	}
	if (rv != CKR_OK) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
		OPENSSL_cleanse(k, sizeof(*k));
	}
	return rv;
}

/* Put @tag (OUT_PUBKEY) with the public part of a private key. */
static CK_RV put_pubkey(struct req_ctx *c, const struct key *k)
{
	size_t order = pk_ec_order_len(k->attrs.curve), len = 0;
	EVP_PKEY *pkey;
	uint8_t *out;
	CK_RV rv;

	if (k->kind == KIND_EC_PRIV)
		return hsmg_msg_put(c->b, HSMG_TAG_OUT_PUBKEY, k->secret + order,
				    pk_ec_point_len(k->attrs.curve))
			   ? CKR_DEVICE_MEMORY
			   : CKR_OK;
	if (k->kind != KIND_RSA_PRIV)
		return CKR_KEY_TYPE_INCONSISTENT;
	pkey = key_pkey(k);
	if (!pkey)
		return CKR_DEVICE_ERROR;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_PUBKEY, RSA_PUB_MAX);
	rv = out ? pk_rsa_pub_encode(pkey, out, RSA_PUB_MAX, &len) : CKR_DEVICE_MEMORY;
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, len))
		rv = CKR_DEVICE_MEMORY;
	EVP_PKEY_free(pkey);
	return rv;
}

/* Bind, seal and answer a new key (plus its public part if private). */
static CK_RV finish_new_key(struct req_ctx *c, struct key *k)
{
	CK_RV rv = key_bind_new(c, k);

	if (rv == CKR_OK)
		rv = put_key(c, k);
	if (rv == CKR_OK && (k->kind == KIND_EC_PRIV || k->kind == KIND_RSA_PRIV))
		rv = put_pubkey(c, k);
	return rv;
}

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

static CK_RV pub_get(struct req_ctx *c, uint32_t use, struct pubref *p)
{
	struct hsmg_msg_key_attrs a;
	const void *v;
	uint32_t len;
	struct key k;
	CK_RV rv;

	memset(p, 0, sizeof(*p));
	if (hsmg_msg_get(c->v, HSMG_TAG_KEY, NULL, NULL) ==
	    hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL))
		return CKR_ARGUMENTS_BAD; /* exactly one of them */
	if (hsmg_msg_get(c->v, HSMG_TAG_KEY, &v, &len)) {
		rv = key_get_pkey(c, HSMG_TAG_KEY, KM(KIND_EC_PRIV) | KM(KIND_RSA_PRIV), use, &k,
				  &p->pkey);
		if (rv != CKR_OK)
			return rv;
		p->rsa = k.kind == KIND_RSA_PRIV;
		p->curve = k.attrs.curve;
		OPENSSL_cleanse(&k, sizeof(k));
	} else {
		memset(&a, 0, sizeof(a));
		a.key_type = CKK_EC;
		if (hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL)) {
			rv = get_attrs(c, &a);
			if (rv != CKR_OK)
				return rv;
		}
		hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, &v, &len);
		if (a.key_type == CKK_RSA) {
			p->rsa = true;
			p->pkey = pk_rsa_load_pub(v, len);
		} else if (a.key_type == CKK_EC) {
			p->curve = a.curve ? a.curve : pk_ec_curve_by_point_len(len);
			if (!pk_ec_order_len(p->curve))
				return a.curve ? CKR_CURVE_NOT_SUPPORTED : CKR_KEY_HANDLE_INVALID;
			if (len != pk_ec_point_len(p->curve) || ((const uint8_t *)v)[0] != 0x04)
				return CKR_KEY_HANDLE_INVALID;
			p->pkey = pk_ec_load(p->curve, NULL, v, len);
		} else {
			return CKR_KEY_TYPE_INCONSISTENT;
		}
		if (!p->pkey)
			return CKR_KEY_HANDLE_INVALID;
	}
	p->id = v;
	p->id_len = len;
	return CKR_OK;
}

/* ---------------------------------------------------------------- states */

static CK_RV state_seal(struct req_ctx *c, uint16_t kind, const void *st, size_t st_len)
{
	size_t total = sizeof(struct sblob_hdr) + st_len + TAGLEN;
	struct sblob_hdr h;
	uint8_t *out;

	memset(&h, 0, sizeof(h));
	h.magic = SBLOB_MAGIC;
	h.version = BLOB_VERSION;
	h.kind = kind;
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

/* Open the request's state of @kind into @st (@cap bytes); *@st_len gets
 * its length.  @exact: required length (0: any up to @cap). */
static CK_RV state_open(struct req_ctx *c, uint16_t kind, void *st, size_t cap, size_t exact,
			size_t *st_len)
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
	if (h.magic != SBLOB_MAGIC || h.version != BLOB_VERSION || h.kind != kind ||
	    h.state_len > cap || (exact && h.state_len != exact) ||
	    len != sizeof(h) + h.state_len + TAGLEN || h.mechanism != c->v->hdr.mechanism ||
	    h.session != c->req->session)
		return CKR_SAVED_STATE_INVALID;
	if (gcm(false, c->card->k_state, KEYLEN, h.iv, IVLEN, blob, sizeof(h), blob + sizeof(h),
		h.state_len, st, (uint8_t *)blob + sizeof(h) + h.state_len, TAGLEN))
		return CKR_SAVED_STATE_INVALID;
	*st_len = h.state_len;
	return CKR_OK;
}

static void key_id_hash(const void *id, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	EVP_Digest(id, len, out, &n, EVP_sha256(), NULL);
}

/* Which part of a multi-part operation an op is. */
enum part { PART_SINGLE, PART_INIT, PART_UPDATE, PART_FINAL };

static enum part part_of(uint32_t op)
{
	switch (op) {
	case HSMG_MSG_OP_ENCRYPT_INIT:
	case HSMG_MSG_OP_DECRYPT_INIT:
	case HSMG_MSG_OP_SIGN_INIT:
	case HSMG_MSG_OP_VERIFY_INIT:
	case HSMG_MSG_OP_DIGEST_INIT:
		return PART_INIT;
	case HSMG_MSG_OP_ENCRYPT_UPDATE:
	case HSMG_MSG_OP_DECRYPT_UPDATE:
	case HSMG_MSG_OP_SIGN_UPDATE:
	case HSMG_MSG_OP_VERIFY_UPDATE:
	case HSMG_MSG_OP_DIGEST_UPDATE:
		return PART_UPDATE;
	case HSMG_MSG_OP_ENCRYPT_FINAL:
	case HSMG_MSG_OP_DECRYPT_FINAL:
	case HSMG_MSG_OP_SIGN_FINAL:
	case HSMG_MSG_OP_VERIFY_FINAL:
	case HSMG_MSG_OP_DIGEST_FINAL:
		return PART_FINAL;
	default:
		return PART_SINGLE;
	}
}

/* ---------------------------------------------------------- generation */

static CK_RV do_generate_key(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	const uint8_t *param;
	uint32_t plen;
	struct key k;
	CK_RV rv;

	get_param(c, &param, &plen);
	memset(&k, 0, sizeof(k));
	rv = get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	switch (c->v->hdr.mechanism) {
	case CKM_AES_KEY_GEN:
		if (a.key_type != CKK_AES || a.curve != HSMG_CURVE_NONE)
			return CKR_TEMPLATE_INCONSISTENT;
		if (a.value_len != 16 && a.value_len != 24 && a.value_len != 32)
			return CKR_KEY_SIZE_RANGE;
		k.kind = KIND_AES;
		break;
	case CKM_GENERIC_SECRET_KEY_GEN:
		if (a.key_type != CKK_GENERIC_SECRET || a.curve != HSMG_CURVE_NONE)
			return CKR_TEMPLATE_INCONSISTENT;
		if (a.value_len < 1 || a.value_len > MAX_GENERIC)
			return CKR_KEY_SIZE_RANGE;
		k.kind = KIND_SECRET;
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	if (plen)
		return CKR_MECHANISM_PARAM_INVALID;
	rv = usage_fix(&a, k.kind);
	if (rv != CKR_OK)
		return rv;
	k.attrs = a;
	k.secret_len = a.value_len;
	if (RAND_priv_bytes(k.secret, (int)k.secret_len) != 1)
		rv = CKR_DEVICE_ERROR;
	if (rv == CKR_OK)
		rv = finish_new_key(c, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

static const char *curve_name(uint32_t curve)
{
	switch (curve) {
	case HSMG_CURVE_P256:
		return "P-256";
	case HSMG_CURVE_P384:
		return "P-384";
	case HSMG_CURVE_P521:
		return "P-521";
	default:
		return NULL;
	}
}

static CK_RV do_generate_keypair(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	EVP_PKEY *pkey = NULL;
	const uint8_t *param;
	uint32_t plen;
	struct key k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	get_param(c, &param, &plen);
	rv = get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	switch (c->v->hdr.mechanism) {
	case CKM_EC_KEY_PAIR_GEN:
		if (a.key_type != CKK_EC || a.value_len)
			return CKR_TEMPLATE_INCONSISTENT;
		if (!curve_name(a.curve))
			return CKR_CURVE_NOT_SUPPORTED;
		if (plen)
			return CKR_MECHANISM_PARAM_INVALID;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve_name(a.curve));
		rv = pkey ? CKR_OK : CKR_DEVICE_ERROR;
		break;
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		if (a.key_type != CKK_RSA || a.curve)
			return CKR_TEMPLATE_INCONSISTENT;
		if (a.value_len < 2048 || a.value_len > 4096 || a.value_len % 8)
			return CKR_KEY_SIZE_RANGE;
		if (plen > 8)
			return CKR_MECHANISM_PARAM_INVALID;
		rv = pk_rsa_generate(a.value_len, plen ? param : NULL, plen, &pkey);
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	if (rv == CKR_OK)
		rv = key_from_pkey(pkey, &a, &k);
	if (rv == CKR_OK)
		rv = finish_new_key(c, &k);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* ------------------------------------------------------------- ciphers */

static bool is_aes_cipher(uint64_t mech)
{
	return mech == CKM_AES_ECB || mech == CKM_AES_CBC || mech == CKM_AES_CBC_PAD ||
	       mech == CKM_AES_CTR || mech == CKM_AES_GCM;
}

/* Single-part RSA encryption / decryption. */
static CK_RV do_rsa_crypt(struct req_ctx *c, bool enc)
{
	struct hsmg_msg_oaep_param op;
	const EVP_MD *md = NULL, *mgf = NULL;
	const uint8_t *param, *label = NULL;
	struct pubref pr;
	const void *data;
	uint32_t plen, len;
	size_t n = 0, k;
	uint8_t *out;
	struct key key;
	CK_RV rv;

	memset(&pr, 0, sizeof(pr));
	get_param(c, &param, &plen);
	if (c->v->hdr.mechanism == CKM_RSA_PKCS_OAEP) {
		if (plen < sizeof(op))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&op, param, sizeof(op));
		md = pk_md(op.hash);
		mgf = pk_mgf_md(op.mgf);
		if (!md || !mgf || op.rsvd || op.label_len > HSMG_MSG_MAX_LABEL ||
		    (op.source != CKZ_DATA_SPECIFIED && !(op.source == 0 && !op.label_len)) ||
		    (uint64_t)sizeof(op) + op.label_len != plen)
			return CKR_MECHANISM_PARAM_INVALID;
		label = param + sizeof(op);
	} else if (plen) {
		return CKR_MECHANISM_PARAM_INVALID;
	}
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	if (enc) {
		rv = pub_get(c, HSMG_KEY_USE_ENCRYPT, &pr);
		if (rv == CKR_OK && !pr.rsa)
			rv = CKR_KEY_TYPE_INCONSISTENT;
	} else {
		if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
		    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
			return CKR_ARGUMENTS_BAD;
		rv = key_get_pkey(c, HSMG_TAG_KEY, KM(KIND_RSA_PRIV), HSMG_KEY_USE_DECRYPT, &key,
				  &pr.pkey);
		OPENSSL_cleanse(&key, sizeof(key));
	}
	if (rv != CKR_OK)
		goto out;
	k = (size_t)pk_rsa_bytes(pr.pkey);
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, k);
	if (!out) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	rv = pk_rsa_crypt(pr.pkey, enc, md, mgf, label, md ? op.label_len : 0, data, len, out, k,
			  &n);
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, n))
		rv = CKR_DEVICE_MEMORY;
out:
	EVP_PKEY_free(pr.pkey);
	return rv;
}

struct cipher_state {
	uint8_t keyhash[32];
	struct aes_state a;
};

static CK_RV do_cipher(struct req_ctx *c, bool enc, enum part part)
{
	uint64_t mech = c->v->hdr.mechanism;
	uint16_t kind = enc ? STATE_ENCRYPT : STATE_DECRYPT;
	struct cipher_state st;
	uint8_t kh[32], *out = NULL;
	const uint8_t *param;
	const void *data = NULL, *blob;
	uint32_t plen, len = 0, blen;
	size_t n = 0, m = 0, st_len = 0;
	bool has_data;
	struct key k;
	CK_RV rv;

	if (mech == CKM_RSA_PKCS || mech == CKM_RSA_PKCS_OAEP)
		return part == PART_SINGLE ? do_rsa_crypt(c, enc) : CKR_MECHANISM_INVALID;
	if (!is_aes_cipher(mech))
		return CKR_MECHANISM_INVALID;
	if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
	    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
		return CKR_ARGUMENTS_BAD;
	get_param(c, &param, &plen);
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if ((part == PART_SINGLE || part == PART_UPDATE) && !has_data)
		return CKR_ARGUMENTS_BAD;
	rv = key_get(c, HSMG_TAG_KEY, KM(KIND_AES),
		     enc ? HSMG_KEY_USE_ENCRYPT : HSMG_KEY_USE_DECRYPT, &k);
	if (rv != CKR_OK)
		return rv;
	hsmg_msg_get(c->v, HSMG_TAG_KEY, &blob, &blen);
	key_id_hash(blob, blen, kh);
	memset(&st, 0, sizeof(st));
	if (part == PART_SINGLE || part == PART_INIT) {
		rv = aes_init(&st.a, mech, enc, k.secret, k.secret_len, param, plen);
		memcpy(st.keyhash, kh, sizeof(kh));
	} else {
		rv = state_open(c, kind, &st, sizeof(st), sizeof(st), &st_len);
		if (rv == CKR_OK &&
		    (!ct_equal(st.keyhash, kh, sizeof(kh)) || !aes_check(&st.a, mech, enc)))
			rv = CKR_SAVED_STATE_INVALID;
	}
	if (rv != CKR_OK || part == PART_INIT)
		goto done;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, aes_update_max(len) + 2 * AES_BLOCK);
	if (!out) {
		rv = CKR_DATA_LEN_RANGE;
		goto done;
	}
	if (has_data)
		rv = aes_update(&st.a, k.secret, k.secret_len, data, len, out, &n);
	if (rv == CKR_OK && part != PART_UPDATE)
		rv = aes_final(&st.a, k.secret, k.secret_len, out + n, &m);
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, n + m))
		rv = CKR_DEVICE_MEMORY;
done:
	if (rv == CKR_OK && (part == PART_INIT || part == PART_UPDATE))
		rv = state_seal(c, kind, &st, sizeof(st));
	OPENSSL_cleanse(&st, sizeof(st));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* ------------------------------------------------- signatures and MACs */

/* The signature and MAC mechanisms of the one table (lib/msg/hsmg_mech.c). */
static const struct hsmg_mech *sigmech_of(uint64_t mech)
{
	const struct hsmg_mech *m = hsmg_mech_find(mech);

	return m && m->sig != HSMG_MECH_SIG_NONE ? m : NULL;
}

/* Running state of a SIGN/VERIFY (fixed size, card-private). */
struct sig_state {
	uint8_t keyhash[32];
	uint64_t mech;
	uint64_t pss_hash;
	uint64_t pss_mgf;
	uint64_t pss_salt;
	uint32_t mac_len;
	uint32_t hs_len;
	uint8_t hs[HS_MAX_STATE];
	struct cmac_state cm;
};

static size_t hmac_block(uint64_t hash)
{
	return hash == CKM_SHA384 || hash == CKM_SHA512 ? 128 : 64;
}

/* K0 XOR @pad byte (RFC 2104), @k0 has hmac_block() bytes. */
static CK_RV hmac_pad(uint64_t hash, const struct key *k, uint8_t pad, uint8_t *k0)
{
	size_t bl = hmac_block(hash), i;
	unsigned int n = 0;

	memset(k0, 0, bl);
	if (k->secret_len > bl) {
		if (EVP_Digest(k->secret, k->secret_len, k0, &n, pk_md(hash), NULL) != 1)
			return CKR_DEVICE_ERROR;
	} else {
		memcpy(k0, k->secret, k->secret_len);
	}
	for (i = 0; i < bl; i++)
		k0[i] ^= pad;
	return CKR_OK;
}

/* Parse PARAM and set up @st for @sm. */
static CK_RV sig_start(struct req_ctx *c, const struct hsmg_mech *sm, const struct key *k,
		       struct sig_state *st)
{
	struct hsmg_msg_pss_param pp;
	const uint8_t *param;
	uint8_t k0[128];
	uint32_t plen, ml;
	size_t max = sm->sig == HSMG_MECH_SIG_HMAC ? hs_md_len(sm->hash) : AES_BLOCK;
	CK_RV rv = CKR_OK;

	get_param(c, &param, &plen);
	st->mech = sm->type;
	if (sm->sig == HSMG_MECH_SIG_PSS) {
		if (plen != sizeof(pp))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&pp, param, sizeof(pp));
		if (!pk_md(pp.hash) || !pk_mgf_md(pp.mgf) || (sm->hash && pp.hash != sm->hash) ||
		    pp.salt_len > PK_RSA_MAX_BYTES)
			return CKR_MECHANISM_PARAM_INVALID;
		st->pss_hash = pp.hash;
		st->pss_mgf = pp.mgf;
		st->pss_salt = pp.salt_len;
	} else if (sm->param == HSMG_MECH_P_MACLEN) {
		if (plen != sizeof(ml))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&ml, param, sizeof(ml));
		if (ml < 1 || ml > max)
			return CKR_MECHANISM_PARAM_INVALID;
		st->mac_len = ml;
	} else if (plen) {
		return CKR_MECHANISM_PARAM_INVALID;
	} else {
		st->mac_len = (uint32_t)max;
	}
	if (sm->sig == HSMG_MECH_SIG_CMAC) {
		cmac_init(&st->cm);
	} else if (sm->hash) {
		size_t hl = 0;

		if (hs_init(sm->hash, st->hs, &hl))
			return CKR_DEVICE_ERROR;
		st->hs_len = (uint32_t)hl;
		if (sm->sig == HSMG_MECH_SIG_HMAC) {
			rv = hmac_pad(sm->hash, k, 0x36, k0);
			if (rv == CKR_OK &&
			    hs_update(sm->hash, st->hs, st->hs_len, k0, hmac_block(sm->hash)))
				rv = CKR_DEVICE_ERROR;
			OPENSSL_cleanse(k0, sizeof(k0));
		}
	}
	return rv;
}

static CK_RV sig_absorb(const struct hsmg_mech *sm, const struct key *k, struct sig_state *st,
			const void *data, size_t len)
{
	if (sm->sig == HSMG_MECH_SIG_CMAC)
		return cmac_update(&st->cm, k->secret, k->secret_len, data, len);
	if (hs_update(sm->hash, st->hs, st->hs_len, data, len))
		return CKR_SAVED_STATE_INVALID;
	return CKR_OK;
}

/* The MAC of a finished HMAC/CMAC state (full length, @out 64 bytes). */
static CK_RV mac_final(const struct hsmg_mech *sm, const struct key *k, struct sig_state *st,
		       uint8_t *out)
{
	uint8_t inner[HS_MAX_MD], k0[128 + HS_MAX_MD];
	size_t il = 0, bl = hmac_block(sm->hash);
	unsigned int n = 0;
	CK_RV rv;

	if (sm->sig == HSMG_MECH_SIG_CMAC)
		return cmac_final(&st->cm, k->secret, k->secret_len, out);
	if (hs_final(sm->hash, st->hs, st->hs_len, inner, &il))
		return CKR_SAVED_STATE_INVALID;
	rv = hmac_pad(sm->hash, k, 0x5c, k0);
	if (rv == CKR_OK) {
		memcpy(k0 + bl, inner, il);
		if (EVP_Digest(k0, bl + il, out, &n, pk_md(sm->hash), NULL) != 1)
			rv = CKR_DEVICE_ERROR;
	}
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(k0, sizeof(k0));
	return rv;
}

static CK_RV do_sigop(struct req_ctx *c, bool sign, enum part part)
{
	const struct hsmg_mech *sm = sigmech_of(c->v->hdr.mechanism);
	uint16_t skind = sign ? STATE_SIGN : STATE_VERIFY;
	uint32_t use = sign ? HSMG_KEY_USE_SIGN : HSMG_KEY_USE_VERIFY;
	const void *data = NULL, *sig = NULL, *id = NULL;
	uint32_t len = 0, sig_len = 0, id_len = 0;
	uint8_t kh[32], mac[HS_MAX_MD], md[HS_MAX_MD], *out;
	const uint8_t *tbs;
	size_t tbs_len, md_len = 0, st_len = 0, olen = 0;
	struct sig_state *st = NULL;
	struct pubref pr;
	struct pk_sig ps;
	bool has_data, mac_alg;
	struct key k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	memset(&pr, 0, sizeof(pr));
	if (!sm)
		return CKR_MECHANISM_INVALID;
	mac_alg = sm->sig == HSMG_MECH_SIG_HMAC || sm->sig == HSMG_MECH_SIG_CMAC;
	if (part != PART_SINGLE && !mac_alg && !sm->hash)
		return CKR_MECHANISM_INVALID; /* raw RSA/PSS/ECDSA: single-part only */
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if ((part == PART_SINGLE || part == PART_UPDATE) && !has_data)
		return CKR_ARGUMENTS_BAD;
	if (!sign && (part == PART_SINGLE || part == PART_FINAL) &&
	    !hsmg_msg_get(c->v, HSMG_TAG_SIGNATURE, &sig, &sig_len))
		return CKR_ARGUMENTS_BAD;

	/* The key. */
	if (mac_alg || sign) {
		uint32_t kinds = sm->sig == HSMG_MECH_SIG_HMAC	  ? KM(KIND_SECRET)
				 : sm->sig == HSMG_MECH_SIG_CMAC  ? KM(KIND_AES)
				 : sm->sig == HSMG_MECH_SIG_ECDSA ? KM(KIND_EC_PRIV)
								  : KM(KIND_RSA_PRIV);

		if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
		    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
			return CKR_ARGUMENTS_BAD;
		if (mac_alg)
			rv = key_get(c, HSMG_TAG_KEY, kinds, use, &k);
		else
			rv = key_get_pkey(c, HSMG_TAG_KEY, kinds, use, &k, &pr.pkey);
		if (rv != CKR_OK)
			return rv;
		hsmg_msg_get(c->v, HSMG_TAG_KEY, &id, &id_len);
		pr.curve = k.attrs.curve;
	} else {
		rv = pub_get(c, use, &pr);
		if (rv != CKR_OK)
			goto out;
		if (pr.rsa != (sm->sig == HSMG_MECH_SIG_RSA || sm->sig == HSMG_MECH_SIG_PSS)) {
			rv = CKR_KEY_TYPE_INCONSISTENT;
			goto out;
		}
		id = pr.id;
		id_len = pr.id_len;
	}
	key_id_hash(id, id_len, kh);

	/* The state. */
	rv = CKR_DEVICE_MEMORY;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto out;
	if (part == PART_SINGLE || part == PART_INIT) {
		rv = sig_start(c, sm, &k, st);
		memcpy(st->keyhash, kh, sizeof(kh));
	} else {
		if (hsmg_msg_get(c->v, HSMG_TAG_PARAM, NULL, NULL)) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
		rv = state_open(c, skind, st, sizeof(*st), sizeof(*st), &st_len);
		if (rv == CKR_OK && (!ct_equal(st->keyhash, kh, sizeof(kh)) ||
				     st->mech != sm->type || st->hs_len > HS_MAX_STATE))
			rv = CKR_SAVED_STATE_INVALID;
	}
	if (rv != CKR_OK)
		goto out;
	if (has_data && part != PART_INIT && (mac_alg || sm->hash)) {
		rv = sig_absorb(sm, &k, st, data, len);
		if (rv != CKR_OK)
			goto out;
	}
	if (part == PART_INIT || part == PART_UPDATE) {
		rv = state_seal(c, skind, st, sizeof(*st));
		goto out;
	}

	/* Final: MAC, or sign/verify the hash (or the raw input). */
	if (mac_alg) {
		rv = mac_final(sm, &k, st, mac);
		if (rv != CKR_OK)
			goto out;
		if (sign) {
			rv = hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, mac, st->mac_len)
				 ? CKR_DEVICE_MEMORY
				 : CKR_OK;
		} else if (sig_len != st->mac_len) {
			rv = CKR_SIGNATURE_LEN_RANGE;
		} else {
			rv = ct_equal(mac, sig, sig_len) ? CKR_OK : CKR_SIGNATURE_INVALID;
		}
		goto out;
	}
	if (sm->hash) {
		if (hs_final(sm->hash, st->hs, st->hs_len, md, &md_len)) {
			rv = CKR_SAVED_STATE_INVALID;
			goto out;
		}
		tbs = md;
		tbs_len = md_len;
	} else {
		tbs = data;
		tbs_len = len;
	}
	memset(&ps, 0, sizeof(ps));
	ps.curve = pr.curve;
	if (sm->sig == HSMG_MECH_SIG_PSS) {
		ps.pss = 1;
		ps.md = pk_md(st->pss_hash);
		ps.mgf = pk_mgf_md(st->pss_mgf);
		ps.salt = st->pss_salt;
	} else if (sm->sig == HSMG_MECH_SIG_RSA || sm->sig == HSMG_MECH_SIG_ECDSA) {
		ps.md = sm->hash ? pk_md(sm->hash) : NULL;
	}
	if (sign) {
		out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, PK_RSA_MAX_BYTES);
		rv = out ? pk_sign(pr.pkey, &ps, tbs, tbs_len, out, PK_RSA_MAX_BYTES, &olen)
			 : CKR_DEVICE_MEMORY;
		if (rv == CKR_OK && hsmg_msg_put_end(c->b, olen))
			rv = CKR_DEVICE_MEMORY;
	} else {
		rv = pk_verify(pr.pkey, &ps, tbs, tbs_len, sig, sig_len);
	}
out:
	if (st) {
		OPENSSL_cleanse(st, sizeof(*st));
		free(st);
	}
	EVP_PKEY_free(pr.pkey);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* ------------------------------------------------- wrap, import, derive */

/* Make key @k from a clear value: secret key bytes, or a private key as
 * DER (@der) or raw (EC scalar, RSA components).  Errors for bad values
 * are @bad. */
static CK_RV key_from_value(struct hsmg_msg_key_attrs *a, bool der, const uint8_t *val, size_t len,
			    CK_RV bad, struct key *k)
{
	EVP_PKEY *pkey = NULL;
	size_t order;
	CK_RV rv;

	memset(k, 0, sizeof(*k));
	switch (a->key_type) {
	case CKK_AES:
	case CKK_GENERIC_SECRET:
		if (der || a->curve)
			return CKR_TEMPLATE_INCONSISTENT;
		k->kind = a->key_type == CKK_AES ? KIND_AES : KIND_SECRET;
		if (a->value_len && a->value_len != len)
			return CKR_TEMPLATE_INCONSISTENT;
		if (k->kind == KIND_AES ? len != 16 && len != 24 && len != 32
					: len < 1 || len > MAX_GENERIC)
			return CKR_KEY_SIZE_RANGE;
		a->value_len = (uint32_t)len;
		k->attrs = *a;
		k->secret_len = (uint32_t)len;
		memcpy(k->secret, val, len);
		return usage_fix(&k->attrs, k->kind);
	case CKK_EC:
		if (der)
			break;
		order = pk_ec_order_len(a->curve);
		if (!order)
			return CKR_CURVE_NOT_SUPPORTED;
		if (a->value_len)
			return CKR_TEMPLATE_INCONSISTENT;
		if (len > order)
			return bad;
		k->kind = KIND_EC_PRIV;
		k->attrs = *a;
		k->secret_len = (uint32_t)(order + pk_ec_point_len(a->curve));
		rv = pk_ec_from_scalar(a->curve, val, len, k->secret);
		if (rv == CKR_ATTRIBUTE_VALUE_INVALID)
			rv = bad;
		return rv == CKR_OK ? usage_fix(&k->attrs, k->kind) : rv;
	case CKK_RSA:
		if (der)
			break;
		rv = pk_rsa_from_comps(val, len, &pkey);
		if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_ARGUMENTS_BAD)
			rv = bad;
		if (rv == CKR_OK)
			rv = key_from_pkey(pkey, a, k);
		EVP_PKEY_free(pkey);
		return rv;
	default:
		return CKR_TEMPLATE_INCONSISTENT;
	}
	rv = pk_from_der(val, len, &pkey);
	if (rv != CKR_OK)
		return bad;
	if ((a->key_type == CKK_RSA) != (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA))
		rv = CKR_TEMPLATE_INCONSISTENT;
	else
		rv = key_from_pkey(pkey, a, k);
	EVP_PKEY_free(pkey);
	return rv;
}

static CK_RV do_import(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	const void *val;
	uint32_t len, fmt = HSMG_IMPORT_FMT_RAW, plen;
	const uint8_t *param;
	struct key k;
	CK_RV rv;

	get_param(c, &param, &plen);
	if (plen) {
		if (plen != sizeof(fmt))
			return CKR_ARGUMENTS_BAD;
		memcpy(&fmt, param, sizeof(fmt));
		if (fmt != HSMG_IMPORT_FMT_RAW && fmt != HSMG_IMPORT_FMT_DER)
			return CKR_ARGUMENTS_BAD;
	}
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &val, &len))
		return CKR_ARGUMENTS_BAD;
	rv = get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if (fmt == HSMG_IMPORT_FMT_DER && a.key_type != CKK_RSA && a.key_type != CKK_EC)
		return CKR_TEMPLATE_INCONSISTENT;
	rv = key_from_value(&a, fmt == HSMG_IMPORT_FMT_DER, val, len, CKR_ATTRIBUTE_VALUE_INVALID,
			    &k);
	if (rv == CKR_OK)
		rv = finish_new_key(c, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

static CK_RV do_export_pubkey(struct req_ctx *c)
{
	struct key k;
	CK_RV rv;

	rv = key_get(c, HSMG_TAG_KEY, ~0U, 0, &k);
	if (rv != CKR_OK)
		return rv;
	if (k.kind == KIND_EC_PRIV || k.kind == KIND_RSA_PRIV)
		rv = put_pubkey(c, &k);
	if (rv == CKR_OK && hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, &k.attrs, sizeof(k.attrs)))
		rv = CKR_DEVICE_MEMORY;
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* The clear value of a secret key made not sensitive and extractable. */
static CK_RV do_export_key(struct req_ctx *c)
{
	struct key k;
	CK_RV rv;

	rv = key_get(c, HSMG_TAG_KEY, KM(KIND_AES) | KM(KIND_SECRET), 0, &k);
	if (rv != CKR_OK)
		return rv;
	if (!(k.attrs.flags & HSMG_KEY_EXTRACTABLE))
		rv = CKR_KEY_UNEXTRACTABLE;
	else if (!(k.attrs.flags & HSMG_KEY_NOT_SENSITIVE))
		rv = CKR_ATTRIBUTE_SENSITIVE;
	else if (hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, k.secret, k.secret_len))
		rv = CKR_DEVICE_MEMORY;
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* Optional IV of the key wrap mechanisms. */
static CK_RV kw_iv(struct req_ctx *c, const uint8_t **iv, size_t *ivlen)
{
	const uint8_t *param;
	uint32_t plen;

	get_param(c, &param, &plen);
	*iv = plen ? param : NULL;
	*ivlen = plen;
	if (plen && plen != (c->v->hdr.mechanism == CKM_AES_KEY_WRAP_PAD ? 4U : 8U))
		return CKR_MECHANISM_PARAM_INVALID;
	return CKR_OK;
}

static CK_RV do_wrap(struct req_ctx *c)
{
	uint64_t mech = c->v->hdr.mechanism;
	uint8_t *val = NULL, *out;
	const uint8_t *iv;
	size_t ivlen, vlen = 0, olen = 0;
	EVP_PKEY *pkey = NULL;
	struct key w, k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	if (mech != CKM_AES_KEY_WRAP && mech != CKM_AES_KEY_WRAP_PAD)
		return CKR_MECHANISM_INVALID;
	rv = kw_iv(c, &iv, &ivlen);
	if (rv != CKR_OK)
		return rv;
	rv = key_get(c, HSMG_TAG_KEY, KM(KIND_AES), HSMG_KEY_USE_WRAP, &w);
	if (rv != CKR_OK)
		return rv;
	rv = key_get(c, HSMG_TAG_KEY2, ~0U, 0, &k);
	if (rv != CKR_OK)
		goto out;
	if (!(k.attrs.flags & HSMG_KEY_EXTRACTABLE)) {
		rv = CKR_KEY_UNEXTRACTABLE;
		goto out;
	}
	rv = CKR_DEVICE_MEMORY;
	val = OPENSSL_secure_malloc(MAX_SECRET + 256);
	if (!val)
		goto out;
	if (k.kind == KIND_AES || k.kind == KIND_SECRET) {
		memcpy(val, k.secret, k.secret_len);
		vlen = k.secret_len;
		rv = CKR_OK;
	} else {
		pkey = key_pkey(&k);
		rv = pkey ? pk_pkcs8(pkey, val, MAX_SECRET + 256, &vlen) : CKR_DEVICE_ERROR;
	}
	if (rv != CKR_OK)
		goto out;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, vlen + 16);
	rv = out ? aes_kw(mech, true, w.secret, w.secret_len, iv, ivlen, val, vlen, out, &olen)
		 : CKR_DEVICE_MEMORY;
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, olen))
		rv = CKR_DEVICE_MEMORY;
out:
	if (val)
		OPENSSL_secure_clear_free(val, MAX_SECRET + 256);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(&w, sizeof(w));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

static CK_RV do_unwrap(struct req_ctx *c)
{
	uint64_t mech = c->v->hdr.mechanism;
	struct hsmg_msg_key_attrs a;
	const uint8_t *iv;
	const void *data;
	uint8_t *val = NULL;
	size_t ivlen, vlen = 0;
	uint32_t len;
	struct key w, k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	if (mech != CKM_AES_KEY_WRAP && mech != CKM_AES_KEY_WRAP_PAD)
		return CKR_MECHANISM_INVALID;
	rv = kw_iv(c, &iv, &ivlen);
	if (rv != CKR_OK)
		return rv;
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	rv = get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if (len > MAX_SECRET + 256)
		return CKR_WRAPPED_KEY_LEN_RANGE;
	rv = key_get(c, HSMG_TAG_KEY, KM(KIND_AES), HSMG_KEY_USE_UNWRAP, &w);
	if (rv != CKR_OK)
		return rv;
	rv = CKR_DEVICE_MEMORY;
	val = OPENSSL_secure_malloc(MAX_SECRET + 256);
	if (!val)
		goto out;
	rv = aes_kw(mech, false, w.secret, w.secret_len, iv, ivlen, data, len, val, &vlen);
	if (rv != CKR_OK)
		goto out;
	rv = key_from_value(&a, a.key_type == CKK_RSA || a.key_type == CKK_EC, val, vlen,
			    CKR_WRAPPED_KEY_INVALID, &k);
	if (rv == CKR_OK)
		rv = finish_new_key(c, &k);
out:
	if (val)
		OPENSSL_secure_clear_free(val, MAX_SECRET + 256);
	OPENSSL_cleanse(&w, sizeof(w));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

static const EVP_MD *kdf_md(uint64_t kdf)
{
	switch (kdf) {
	case CKD_SHA1_KDF:
		return EVP_sha1();
	case CKD_SHA224_KDF:
		return EVP_sha224();
	case CKD_SHA256_KDF:
		return EVP_sha256();
	case CKD_SHA384_KDF:
		return EVP_sha384();
	case CKD_SHA512_KDF:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static int x963kdf(const EVP_MD *md, const uint8_t *z, size_t zlen, const uint8_t *info,
		   size_t ilen, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM p[4];
	int ret = -1;

	if (!kdf)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx)
		goto out;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md),
						0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, ilen);
	p[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, len, p) == 1)
		ret = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ret;
}

static CK_RV do_derive(struct req_ctx *c)
{
	struct hsmg_msg_ecdh_param ep;
	struct hsmg_msg_key_attrs a;
	const uint8_t *param, *shared, *pub;
	uint8_t z[PK_EC_MAX_ORDER];
	size_t zlen = 0, plen_pt, want;
	uint32_t plen, publen;
	const EVP_MD *md = NULL;
	EVP_PKEY *pkey = NULL;
	struct key k, nk;
	CK_RV rv;

	memset(&nk, 0, sizeof(nk));
	if (c->v->hdr.mechanism != CKM_ECDH1_DERIVE)
		return CKR_MECHANISM_INVALID;
	get_param(c, &param, &plen);
	if (plen < sizeof(ep))
		return CKR_MECHANISM_PARAM_INVALID;
	memcpy(&ep, param, sizeof(ep));
	if (ep.kdf != CKD_NULL) {
		md = kdf_md(ep.kdf);
		if (!md)
			return CKR_MECHANISM_PARAM_INVALID;
	}
	if ((ep.kdf == CKD_NULL && ep.shared_len) || ep.shared_len > HSMG_MSG_MAX_LABEL ||
	    (uint64_t)sizeof(ep) + ep.shared_len + ep.public_len != plen)
		return CKR_MECHANISM_PARAM_INVALID;
	shared = param + sizeof(ep);
	pub = shared + ep.shared_len;
	publen = ep.public_len;
	rv = get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if ((a.key_type != CKK_AES && a.key_type != CKK_GENERIC_SECRET) || a.curve)
		return CKR_TEMPLATE_INCONSISTENT;
	rv = key_get_pkey(c, HSMG_TAG_KEY, KM(KIND_EC_PRIV), HSMG_KEY_USE_DERIVE, &k, &pkey);
	if (rv != CKR_OK)
		return rv;
	/* Raw point, or a DER OCTET STRING around it. */
	plen_pt = pk_ec_point_len(k.attrs.curve);
	if (publen == plen_pt + 2 && pub[0] == 0x04 && pub[1] == plen_pt) {
		pub += 2;
		publen -= 2;
	} else if (publen == plen_pt + 3 && pub[0] == 0x04 && pub[1] == 0x81 && pub[2] == plen_pt) {
		pub += 3;
		publen -= 3;
	}
	if (publen != plen_pt || pub[0] != 0x04) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	rv = pk_ecdh(pkey, k.attrs.curve, pub, publen, z, sizeof(z), &zlen);
	if (rv != CKR_OK)
		goto out;
	want = a.value_len ? a.value_len : md ? (size_t)EVP_MD_get_size(md) : zlen;
	nk.kind = a.key_type == CKK_AES ? KIND_AES : KIND_SECRET;
	if (nk.kind == KIND_AES ? want != 16 && want != 24 && want != 32
				: want < 1 || want > MAX_GENERIC) {
		rv = CKR_KEY_SIZE_RANGE;
		goto out;
	}
	if (!md && want > zlen) {
		rv = CKR_KEY_SIZE_RANGE;
		goto out;
	}
	a.value_len = (uint32_t)want;
	rv = usage_fix(&a, nk.kind);
	if (rv != CKR_OK)
		goto out;
	nk.attrs = a;
	nk.secret_len = (uint32_t)want;
	if (md) {
		if (x963kdf(md, z, zlen, shared, ep.shared_len, nk.secret, want)) {
			rv = CKR_DEVICE_ERROR;
			goto out;
		}
	} else {
		memcpy(nk.secret, z, want);
	}
	rv = finish_new_key(c, &nk);
out:
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(&nk, sizeof(nk));
	return rv;
}

/* -------------------------------------------------------------- digest */

static CK_RV do_digest(struct req_ctx *c)
{
	const EVP_MD *md = pk_md(c->v->hdr.mechanism);
	const void *data;
	uint32_t len;
	unsigned int n = 0;
	uint8_t *out;

	if (!md)
		return CKR_MECHANISM_INVALID;
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
			rv = state_seal(c, STATE_DIGEST, st, st_len);
		goto out;
	}
	if (op == HSMG_MSG_OP_DIGEST_UPDATE && !has_data)
		return CKR_ARGUMENTS_BAD;
	rv = state_open(c, STATE_DIGEST, st, sizeof(st), 0, &st_len);
	if (rv != CKR_OK)
		goto out;
	if (has_data && hs_update(c->v->hdr.mechanism, st, st_len, data, len)) {
		rv = CKR_SAVED_STATE_INVALID;
		goto out;
	}
	if (op == HSMG_MSG_OP_DIGEST_UPDATE) {
		rv = state_seal(c, STATE_DIGEST, st, st_len);
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
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_DECRYPT:
		return T(KEY) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_ENCRYPT_INIT:
	case HSMG_MSG_OP_DECRYPT_INIT:
	case HSMG_MSG_OP_SIGN_INIT:
		return T(KEY) | T(PARAM);
	case HSMG_MSG_OP_ENCRYPT_UPDATE:
	case HSMG_MSG_OP_DECRYPT_UPDATE:
	case HSMG_MSG_OP_ENCRYPT_FINAL:
	case HSMG_MSG_OP_DECRYPT_FINAL:
	case HSMG_MSG_OP_SIGN_UPDATE:
	case HSMG_MSG_OP_SIGN_FINAL:
		return T(KEY) | T(STATE) | T(DATA);
	case HSMG_MSG_OP_SIGN:
		return T(KEY) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_VERIFY:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(PARAM) | T(DATA) | T(SIGNATURE);
	case HSMG_MSG_OP_VERIFY_INIT:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(PARAM);
	case HSMG_MSG_OP_VERIFY_UPDATE:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(STATE) | T(DATA);
	case HSMG_MSG_OP_VERIFY_FINAL:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(STATE) | T(DATA) | T(SIGNATURE);
	case HSMG_MSG_OP_DIGEST:
	case HSMG_MSG_OP_DIGEST_INIT:
		return T(DATA) | T(PARAM);
	case HSMG_MSG_OP_DIGEST_UPDATE:
	case HSMG_MSG_OP_DIGEST_FINAL:
		return T(STATE) | T(DATA);
	case HSMG_MSG_OP_WRAP:
		return T(KEY) | T(KEY2) | T(PARAM);
	case HSMG_MSG_OP_UNWRAP:
		return T(KEY) | T(PARAM) | T(DATA) | T(ATTRS);
	case HSMG_MSG_OP_DERIVE:
		return T(KEY) | T(PARAM) | T(ATTRS);
	case HSMG_MSG_OP_IMPORT_KEY:
		return T(ATTRS) | T(DATA) | T(PARAM);
	case HSMG_MSG_OP_EXPORT_PUBKEY:
	case HSMG_MSG_OP_EXPORT_KEY:
		return T(KEY);
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
	case HSMG_MSG_OP_ENCRYPT_INIT:
	case HSMG_MSG_OP_ENCRYPT_UPDATE:
	case HSMG_MSG_OP_ENCRYPT_FINAL:
		return do_cipher(c, true, part_of(op));
	case HSMG_MSG_OP_DECRYPT:
	case HSMG_MSG_OP_DECRYPT_INIT:
	case HSMG_MSG_OP_DECRYPT_UPDATE:
	case HSMG_MSG_OP_DECRYPT_FINAL:
		return do_cipher(c, false, part_of(op));
	case HSMG_MSG_OP_SIGN:
	case HSMG_MSG_OP_SIGN_INIT:
	case HSMG_MSG_OP_SIGN_UPDATE:
	case HSMG_MSG_OP_SIGN_FINAL:
		return do_sigop(c, true, part_of(op));
	case HSMG_MSG_OP_VERIFY:
	case HSMG_MSG_OP_VERIFY_INIT:
	case HSMG_MSG_OP_VERIFY_UPDATE:
	case HSMG_MSG_OP_VERIFY_FINAL:
		return do_sigop(c, false, part_of(op));
	case HSMG_MSG_OP_DIGEST:
		return do_digest(c);
	case HSMG_MSG_OP_DIGEST_INIT:
	case HSMG_MSG_OP_DIGEST_UPDATE:
	case HSMG_MSG_OP_DIGEST_FINAL:
		return do_digest_part(c, op);
	case HSMG_MSG_OP_WRAP:
		return do_wrap(c);
	case HSMG_MSG_OP_UNWRAP:
		return do_unwrap(c);
	case HSMG_MSG_OP_DERIVE:
		return do_derive(c);
	case HSMG_MSG_OP_IMPORT_KEY:
		return do_import(c);
	case HSMG_MSG_OP_EXPORT_PUBKEY:
		return do_export_pubkey(c);
	case HSMG_MSG_OP_EXPORT_KEY:
		return do_export_key(c);
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
