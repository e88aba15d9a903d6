// SPDX-License-Identifier: GPL-2.0
/*
 * ossl - the OpenSSL 3 crypto backend of the card (see backend.h): its
 * instance, the secrets derived from the master key, sealing, pin-blob
 * MACs, random bytes and the table of its operations (ossl_*.c).
 */
#include "card_int.h"

static void *ossl_create(const void *arg)
{
	struct ossl_be *be = calloc(1, sizeof(*be));

	if (be)
		pthread_mutex_init(&be->pkc_lock, NULL);
	return be;
}

static void ossl_destroy(void *bs)
{
	struct ossl_be *be = bs;

	if (!be)
		return;
	ossl_set_key_cache(be, 0);
	pthread_mutex_destroy(&be->pkc_lock);
	OPENSSL_cleanse(be, sizeof(*be));
	free(be);
}

/*
 * HKDF-SHA256 of the master key (no salt) with the labels of card.h:
 * MKVP = SHA-256 of "mkvp", and the key-wrap, state-wrap and pin-blob keys.
 * The PKCS#11 backend derives its own from its token's check value.
 */
int ossl_set_master_key(void *bs, const uint8_t *mk, size_t mk_len, uint8_t mkvp[HSMG_MKVP_LEN])
{
	struct ossl_be *be = bs;
	uint8_t x[KEYLEN], kw[KEYLEN], ks[KEYLEN], kp[KEYLEN];
	unsigned int mdlen = 0;
	int ret = -1;

	memset(mkvp, 0, HSMG_MKVP_LEN);
	memset(kw, 0, sizeof(kw));
	memset(ks, 0, sizeof(ks));
	memset(kp, 0, sizeof(kp));
	memset(x, 0, sizeof(x));
	if (mk && (card_hkdf(mk, mk_len, "hsmsimd v1 mkvp", x, sizeof(x)) ||
		   EVP_Digest(x, sizeof(x), mkvp, &mdlen, EVP_sha256(), NULL) != 1 ||
		   card_hkdf(mk, mk_len, "hsmsimd v1 key-wrap", kw, KEYLEN) ||
		   card_hkdf(mk, mk_len, "hsmsimd v1 state-wrap", ks, KEYLEN) ||
		   card_hkdf(mk, mk_len, "hsmsimd v1 pin-blob", kp, KEYLEN))) {
		memset(mkvp, 0, HSMG_MKVP_LEN);
		goto out;
	}
	memcpy(be->k_wrap, kw, KEYLEN);
	memcpy(be->k_state, ks, KEYLEN);
	memcpy(be->k_pin, kp, KEYLEN);
	/* Blobs sealed under the old key must not open from the cache. */
	pthread_mutex_lock(&be->pkc_lock);
	card_pkc_flush_locked(be);
	pthread_mutex_unlock(&be->pkc_lock);
	ret = 0;
out:
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(kw, sizeof(kw));
	OPENSSL_cleanse(ks, sizeof(ks));
	OPENSSL_cleanse(kp, sizeof(kp));
	return ret;
}

int ossl_random(void *bs, void *out, size_t len)
{
	return len > INT32_MAX || RAND_bytes(out, (int)len) != 1 ? -1 : 0;
}

static const uint8_t *seal_key(struct ossl_be *be, enum hsmg_card_seal use)
{
	return use == HSMG_SEAL_KEY ? be->k_wrap : be->k_state;
}

int ossl_seal(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len, const void *aad,
	      size_t aad_len, const void *in, size_t len, void *out, uint8_t *tag, size_t tag_len)
{
	return card_gcm(true, seal_key(bs, use), KEYLEN, iv, iv_len, aad, aad_len, in, len, out,
			tag, tag_len);
}

int ossl_unseal(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len,
		const void *aad, size_t aad_len, const void *in, size_t len, void *out,
		const uint8_t *tag, size_t tag_len)
{
	/* EVP takes the expected tag through a non-const pointer; it only reads it. */
	return card_gcm(false, seal_key(bs, use), KEYLEN, iv, iv_len, aad, aad_len, in, len, out,
			(uint8_t *)tag, tag_len);
}

int ossl_pin_mac(void *bs, const void *data, size_t len, uint8_t out[HSMG_PIN_BLOB_LEN])
{
	struct ossl_be *be = bs;
	unsigned int mdlen = 0;

	return HMAC(EVP_sha256(), be->k_pin, KEYLEN, data, len, out, &mdlen) ? 0 : -1;
}

/* The stored forms of pk.h; secret keys are their value. */
static bool ossl_secret_ok(const struct key *k)
{
	switch (k->kind) {
	case KIND_AES:
	case KIND_SECRET:
		return k->secret_len == k->attrs.value_len;
	case KIND_EC_PRIV:
		return k->secret_len ==
		       pk_ec_order_len(k->attrs.curve) + pk_ec_point_len(k->attrs.curve);
	default:
		return true; /* RSA: the DER parses or the key does not load */
	}
}

/* OpenSSL 3 does every mechanism of the table. */
static size_t ossl_mechanisms(void *bs, uint64_t *types, size_t max)
{
	size_t i, n = hsmg_mech_count();

	(void)bs;
	for (i = 0; i < n && i < max; i++)
		types[i] = hsmg_mech_at(i)->type;
	return n;
}

const struct hsmg_card_backend hsmg_card_backend_openssl = {
    .name = "openssl",
    .create = ossl_create,
    .destroy = ossl_destroy,
    .set_master_key = ossl_set_master_key,
    .random = ossl_random,
    .seal = ossl_seal,
    .unseal = ossl_unseal,
    .pin_mac = ossl_pin_mac,
    .mechanisms = ossl_mechanisms,
    .set_key_cache = ossl_set_key_cache,
    .key_cache_stats = ossl_key_cache_stats,
    .secret_ok = ossl_secret_ok,
    .put_pubkey = card_put_pubkey,
    .pkey_of = card_key_pkey,
    .generate_key = card_op_generate_key,
    .generate_keypair = card_op_generate_keypair,
    .cipher = card_op_cipher,
    .sign_verify = card_op_sigop,
    .digest = card_op_digest,
    .digest_part = card_op_digest_part,
    .random_op = card_op_random,
    .wrap = card_op_wrap,
    .unwrap = card_op_unwrap,
    .derive = card_op_derive,
    .import = card_op_import,
    .export_pubkey = card_op_export_pubkey,
    .export_key = card_op_export_key,
};
