// SPDX-License-Identifier: GPL-2.0
/*
 * ossl_keys - the OpenSSL backend's primitives (HKDF, AES-GCM), its
 * parsed-key cache and its EVP_PKEY view of key blobs (card_int.h).
 */
#include "card_int.h"

/* ------------------------------------------------------------ primitives */

int card_hkdf(const uint8_t *ikm, size_t ikm_len, const char *label, uint8_t *out, size_t len)
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
int card_gcm(bool enc, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
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

bool card_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* ------------------------------------------------- parsed-key cache */

static void pkc_ent_clear(struct pkc_ent *e)
{
	EVP_PKEY_free(e->pkey); /* OpenSSL clears the private numbers */
	free(e->blob);
	OPENSSL_cleanse(e, sizeof(*e));
}

/* Drop every entry; with @be->pkc_lock held. */
void card_pkc_flush_locked(struct ossl_be *be)
{
	unsigned int i;

	for (i = 0; i < be->pkc_cap; i++)
		if (be->pkc[i].blob)
			pkc_ent_clear(&be->pkc[i]);
}

int ossl_set_key_cache(void *bs, unsigned int entries)
{
	struct ossl_be *be = bs;
	struct pkc_ent *n = NULL;

	if (entries > HSMG_CARD_KEY_CACHE_MAX)
		return -1;
	if (entries) {
		n = calloc(entries, sizeof(*n));
		if (!n)
			return -1;
	}
	pthread_mutex_lock(&be->pkc_lock);
	card_pkc_flush_locked(be);
	free(be->pkc);
	be->pkc = n;
	be->pkc_cap = entries;
	be->pkc_hits = 0;
	be->pkc_misses = 0;
	pthread_mutex_unlock(&be->pkc_lock);
	return 0;
}

void ossl_key_cache_stats(void *bs, struct hsmg_card_cache_stats *st)
{
	struct ossl_be *be = bs;
	unsigned int i;

	pthread_mutex_lock(&be->pkc_lock);
	st->capacity = be->pkc_cap;
	for (i = 0; i < be->pkc_cap; i++)
		st->entries += be->pkc[i].blob != NULL;
	st->hits = be->pkc_hits;
	st->misses = be->pkc_misses;
	pthread_mutex_unlock(&be->pkc_lock);
}

/* A reference to the parsed key of sealed @blob and its header, or NULL. */
static EVP_PKEY *pkc_lookup(struct ossl_be *be, const void *blob, uint32_t len, struct key *hdr)
{
	EVP_PKEY *pkey = NULL;
	unsigned int i;

	pthread_mutex_lock(&be->pkc_lock);
	for (i = 0; i < be->pkc_cap; i++) {
		struct pkc_ent *e = &be->pkc[i];

		if (!e->blob || e->blob_len != len || memcmp(e->blob, blob, len))
			continue;
		if (EVP_PKEY_up_ref(e->pkey) != 1)
			break;
		pkey = e->pkey;
		*hdr = e->hdr;
		e->used = ++be->pkc_clock;
		break;
	}
	if (pkey)
		be->pkc_hits++;
	else if (be->pkc_cap)
		be->pkc_misses++;
	pthread_mutex_unlock(&be->pkc_lock);
	return pkey;
}

/* Remember @pkey (parsed from authentic @blob, header @k) in place of the
 * least recently used entry. */
static void pkc_insert(struct ossl_be *be, const void *blob, uint32_t len, const struct key *k,
		       EVP_PKEY *pkey)
{
	struct pkc_ent *victim = NULL;
	uint8_t *copy;
	unsigned int i;

	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, blob, len);
	pthread_mutex_lock(&be->pkc_lock);
	for (i = 0; i < be->pkc_cap; i++) {
		struct pkc_ent *e = &be->pkc[i];

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
		victim->used = ++be->pkc_clock;
		victim->hdr = *k;
		OPENSSL_cleanse(victim->hdr.secret, sizeof(victim->hdr.secret));
		victim->pkey = pkey;
		copy = NULL;
	}
	pthread_mutex_unlock(&be->pkc_lock);
	free(copy);
}

/* Fill @k (kind, attrs, secret) from a private key. */
CK_RV card_key_from_pkey(EVP_PKEY *pkey, const struct hsmg_msg_key_attrs *a, struct key *k)
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
	return card_usage_fix(&k->attrs, k->kind);
}

/* EVP_PKEY of a private key blob. */
EVP_PKEY *card_key_pkey(const struct key *k)
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
 * card_key_get() for a private key (@kinds among KIND_EC_PRIV, KIND_RSA_PRIV)
 * used through its EVP_PKEY: *@pkey gets a reference, @k the header (its
 * secret is not filled when the parsed key came from the cache).
 */
CK_RV card_key_get_pkey(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use,
			struct key *k, EVP_PKEY **pkey)
{
	const void *blob;
	uint32_t len;
	CK_RV rv;

	*pkey = NULL;
	memset(k, 0, sizeof(*k));
	if (!hsmg_msg_get(c->v, tag, &blob, &len))
		return CKR_ARGUMENTS_BAD;
	*pkey = pkc_lookup(ossl_be_of(c), blob, len, k);
	if (*pkey) {
		rv = card_key_allowed(c, k, kinds, use);
	} else {
		rv = card_key_get(c, tag, kinds, use, k);
		if (rv != CKR_OK)
			return rv;
		*pkey = c->card->be->pkey_of(k);
		if (!*pkey)
			rv = CKR_DEVICE_ERROR;
		else
			pkc_insert(ossl_be_of(c), blob, len, k, *pkey);
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
CK_RV card_put_pubkey(struct req_ctx *c, const struct key *k)
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
	pkey = card_key_pkey(k);
	if (!pkey)
		return CKR_DEVICE_ERROR;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_PUBKEY, RSA_PUB_MAX);
	rv = out ? pk_rsa_pub_encode(pkey, out, RSA_PUB_MAX, &len) : CKR_DEVICE_MEMORY;
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, len))
		rv = CKR_DEVICE_MEMORY;
	EVP_PKEY_free(pkey);
	return rv;
}

CK_RV card_pub_get(struct req_ctx *c, uint32_t use, struct pubref *p)
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
		rv = card_key_get_pkey(c, HSMG_TAG_KEY, KM(KIND_EC_PRIV) | KM(KIND_RSA_PRIV),
				       use | CARD_USE_PUBLIC_PART, &k, &p->pkey);
		if (rv != CKR_OK)
			return rv;
		p->rsa = k.kind == KIND_RSA_PRIV;
		p->curve = k.attrs.curve;
		OPENSSL_cleanse(&k, sizeof(k));
	} else {
		memset(&a, 0, sizeof(a));
		a.key_type = CKK_EC;
		if (hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL)) {
			rv = card_get_attrs(c, &a);
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
