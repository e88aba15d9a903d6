// SPDX-License-Identifier: GPL-2.0
/*
 * ossl_wrap - wrap, unwrap, import, export and derive in the OpenSSL backend.
 */
#include "card_int.h"

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
		return card_usage_fix(&k->attrs, k->kind);
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
		return rv == CKR_OK ? card_usage_fix(&k->attrs, k->kind) : rv;
	case CKK_RSA:
		if (der)
			break;
		rv = pk_rsa_from_comps(val, len, &pkey);
		if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_ARGUMENTS_BAD)
			rv = bad;
		if (rv == CKR_OK)
			rv = card_key_from_pkey(pkey, a, k);
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
		rv = card_key_from_pkey(pkey, a, k);
	EVP_PKEY_free(pkey);
	return rv;
}

CK_RV card_op_import(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	const void *val;
	uint32_t len, fmt = HSMG_IMPORT_FMT_RAW, plen;
	const uint8_t *param;
	struct key k;
	CK_RV rv;

	card_get_param(c, &param, &plen);
	if (plen) {
		if (plen != sizeof(fmt))
			return CKR_ARGUMENTS_BAD;
		memcpy(&fmt, param, sizeof(fmt));
		if (fmt != HSMG_IMPORT_FMT_RAW && fmt != HSMG_IMPORT_FMT_DER)
			return CKR_ARGUMENTS_BAD;
	}
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &val, &len))
		return CKR_ARGUMENTS_BAD;
	rv = card_get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if (fmt == HSMG_IMPORT_FMT_DER && a.key_type != CKK_RSA && a.key_type != CKK_EC)
		return CKR_TEMPLATE_INCONSISTENT;
	rv = key_from_value(&a, fmt == HSMG_IMPORT_FMT_DER, val, len, CKR_ATTRIBUTE_VALUE_INVALID,
			    &k);
	if (rv == CKR_OK)
		rv = card_finish_new_key(c, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

CK_RV card_op_export_pubkey(struct req_ctx *c)
{
	struct key k;
	CK_RV rv;

	rv = card_key_get(c, HSMG_TAG_KEY, ~0U, CARD_USE_PUBLIC_PART, &k);
	if (rv != CKR_OK)
		return rv;
	if (k.kind == KIND_EC_PRIV || k.kind == KIND_RSA_PRIV)
		rv = c->card->be->put_pubkey(c, &k);
	if (rv == CKR_OK && hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, &k.attrs, sizeof(k.attrs)))
		rv = CKR_DEVICE_MEMORY;
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* The clear value of a secret key made not sensitive and extractable. */
CK_RV card_op_export_key(struct req_ctx *c)
{
	struct key k;
	CK_RV rv;

	rv = card_key_get(c, HSMG_TAG_KEY, KM(KIND_AES) | KM(KIND_SECRET), 0, &k);
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

	card_get_param(c, &param, &plen);
	*iv = plen ? param : NULL;
	*ivlen = plen;
	if (plen && plen != (c->v->hdr.mechanism == CKM_AES_KEY_WRAP_PAD ? 4U : 8U))
		return CKR_MECHANISM_PARAM_INVALID;
	return CKR_OK;
}

CK_RV card_op_wrap(struct req_ctx *c)
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
	rv = card_key_get(c, HSMG_TAG_KEY, KM(KIND_AES), HSMG_KEY_USE_WRAP, &w);
	if (rv != CKR_OK)
		return rv;
	rv = card_key_get(c, HSMG_TAG_KEY2, ~0U, 0, &k);
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
		pkey = card_key_pkey(&k);
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

CK_RV card_op_unwrap(struct req_ctx *c)
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
	rv = card_get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if (len > MAX_SECRET + 256)
		return CKR_WRAPPED_KEY_LEN_RANGE;
	rv = card_key_get(c, HSMG_TAG_KEY, KM(KIND_AES), HSMG_KEY_USE_UNWRAP, &w);
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
		rv = card_finish_new_key(c, &k);
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

CK_RV card_op_derive(struct req_ctx *c)
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
	card_get_param(c, &param, &plen);
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
	rv = card_get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	if ((a.key_type != CKK_AES && a.key_type != CKK_GENERIC_SECRET) || a.curve)
		return CKR_TEMPLATE_INCONSISTENT;
	rv = card_key_get_pkey(c, HSMG_TAG_KEY, KM(KIND_EC_PRIV), HSMG_KEY_USE_DERIVE, &k, &pkey);
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
	rv = card_usage_fix(&a, nk.kind);
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
	rv = card_finish_new_key(c, &nk);
out:
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(&nk, sizeof(nk));
	return rv;
}
