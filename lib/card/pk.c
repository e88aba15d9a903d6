// SPDX-License-Identifier: GPL-2.0
/*
 * pk - RSA, ECDSA and ECDH for the emulated card (see pk.h).  Private
 * values pass through BN_secure/BN_clear_free and OPENSSL_cleanse.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsmg_msg.h"
#include "pk.h"

static const struct {
	uint32_t curve;
	const char *name;
	int nid;
	size_t order;
} curves[] = {
    {HSMG_CURVE_P256, "prime256v1", NID_X9_62_prime256v1, 32},
    {HSMG_CURVE_P384, "secp384r1", NID_secp384r1, 48},
    {HSMG_CURVE_P521, "secp521r1", NID_secp521r1, 66},
};

#define NCURVES (sizeof(curves) / sizeof(curves[0]))

static int curve_idx(uint32_t curve)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (curves[i].curve == curve)
			return (int)i;
	return -1;
}

size_t pk_ec_order_len(uint32_t curve)
{
	int i = curve_idx(curve);

	return i < 0 ? 0 : curves[i].order;
}

size_t pk_ec_point_len(uint32_t curve)
{
	int i = curve_idx(curve);

	return i < 0 ? 0 : 1 + 2 * curves[i].order;
}

uint32_t pk_ec_curve_by_point_len(size_t len)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (1 + 2 * curves[i].order == len)
			return curves[i].curve;
	return 0;
}

const EVP_MD *pk_md(uint64_t hash_mech)
{
	switch (hash_mech) {
	case CKM_SHA_1:
		return EVP_sha1();
	case CKM_SHA224:
		return EVP_sha224();
	case CKM_SHA256:
		return EVP_sha256();
	case CKM_SHA384:
		return EVP_sha384();
	case CKM_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

const EVP_MD *pk_mgf_md(uint64_t mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1:
		return EVP_sha1();
	case CKG_MGF1_SHA224:
		return EVP_sha224();
	case CKG_MGF1_SHA256:
		return EVP_sha256();
	case CKG_MGF1_SHA384:
		return EVP_sha384();
	case CKG_MGF1_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------ loading */

static EVP_PKEY *fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, selection, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params); /* secure BNs were copied to secure heap */
	return pkey;
}

EVP_PKEY *pk_ec_load(uint32_t curve, const uint8_t *priv, const uint8_t *pub, size_t pub_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	int i = curve_idx(curve);

	if (!bld || i < 0 || pub_len != pk_ec_point_len(curve))
		goto out;
	if (priv) {
		d = BN_secure_new();
		if (!d || !BN_bin2bn(priv, (int)curves[i].order, d) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
			goto out;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[i].name, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len))
		goto out;
	pkey = fromdata("EC", bld, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pkey;
}

EVP_PKEY *pk_rsa_load_priv(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;

	return d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
}

EVP_PKEY *pk_rsa_load_pub(const uint8_t *pub, size_t len)
{
	struct hsmg_msg_rsa_pub h;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *pkey = NULL;

	if (len < sizeof(h))
		return NULL;
	memcpy(&h, pub, sizeof(h));
	if (h.modulus_len < 1 || h.modulus_len > PK_RSA_MAX_BYTES || h.exponent_len < 1 ||
	    h.exponent_len > 8 || (uint64_t)sizeof(h) + h.modulus_len + h.exponent_len != len)
		return NULL;
	n = BN_bin2bn(pub + sizeof(h), (int)h.modulus_len, NULL);
	e = BN_bin2bn(pub + sizeof(h) + h.modulus_len, (int)h.exponent_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld || BN_num_bits(n) < 512 || !BN_is_odd(e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	pkey = fromdata("RSA", bld, EVP_PKEY_PUBLIC_KEY);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

int pk_rsa_bytes(const EVP_PKEY *pkey)
{
	return EVP_PKEY_get_size(pkey);
}

/* ---------------------------------------------------- generation, forms */

CK_RV pk_rsa_generate(unsigned int bits, const uint8_t *e, size_t elen, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *be = NULL;
	CK_RV rv = CKR_DEVICE_ERROR;

	*out = NULL;
	if (!ctx)
		return CKR_DEVICE_MEMORY;
	if (e) {
		be = BN_bin2bn(e, (int)elen, NULL);
		if (!be || !BN_is_odd(be) || BN_cmp(be, BN_value_one()) <= 0 ||
		    BN_num_bits(be) < 2) {
			rv = CKR_MECHANISM_PARAM_INVALID;
			goto out;
		}
	}
	if (EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
	    (be && EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, be) != 1) ||
	    EVP_PKEY_keygen(ctx, out) != 1)
		goto out;
	rv = CKR_OK;
out:
	BN_free(be);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

CK_RV pk_rsa_from_comps(const uint8_t *p, size_t len, EVP_PKEY **out)
{
	static const char *const names[8] = {
	    OSSL_PKEY_PARAM_RSA_N,	   OSSL_PKEY_PARAM_RSA_E,
	    OSSL_PKEY_PARAM_RSA_D,	   OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	struct hsmg_msg_rsa_priv h;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn[8] = {0};
	EVP_PKEY_CTX *cctx = NULL;
	uint64_t total = sizeof(h);
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
	size_t off = sizeof(h);
	int i;

	*out = NULL;
	if (len < sizeof(h))
		return CKR_ARGUMENTS_BAD;
	memcpy(&h, p, sizeof(h));
	for (i = 0; i < 8; i++) {
		if (!h.len[i])
			return CKR_TEMPLATE_INCOMPLETE;
		if (h.len[i] > PK_RSA_MAX_BYTES)
			return CKR_KEY_SIZE_RANGE;
		total += h.len[i];
	}
	if (total != len)
		return CKR_ARGUMENTS_BAD;
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return CKR_DEVICE_MEMORY;
	for (i = 0; i < 8; i++) {
		bn[i] = BN_secure_new();
		if (!bn[i] || !BN_bin2bn(p + off, (int)h.len[i], bn[i]) ||
		    !OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
			goto out;
		off += h.len[i];
	}
	if (BN_num_bits(bn[0]) < 1024 || BN_num_bits(bn[0]) > 4096) {
		rv = CKR_KEY_SIZE_RANGE;
		goto out;
	}
	*out = fromdata("RSA", bld, EVP_PKEY_KEYPAIR);
	if (!*out)
		goto out;
	cctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
	if (!cctx || EVP_PKEY_check(cctx) != 1) {
		EVP_PKEY_free(*out);
		*out = NULL;
		goto out;
	}
	rv = CKR_OK;
out:
	EVP_PKEY_CTX_free(cctx);
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return rv;
}

CK_RV pk_from_der(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const uint8_t *p = der;

	*out = d2i_AutoPrivateKey(NULL, &p, (long)len);
	if (!*out || p != der + len) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	return CKR_OK;
}

CK_RV pk_rsa_priv_der(EVP_PKEY *pkey, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t *p = out;
	int n = i2d_PrivateKey(pkey, NULL);

	if (n <= 0)
		return CKR_DEVICE_ERROR;
	if ((size_t)n > cap)
		return CKR_KEY_SIZE_RANGE;
	if (i2d_PrivateKey(pkey, &p) != n)
		return CKR_DEVICE_ERROR;
	*len = (size_t)n;
	return CKR_OK;
}

CK_RV pk_rsa_pub_encode(const EVP_PKEY *pkey, uint8_t *out, size_t cap, size_t *len)
{
	struct hsmg_msg_rsa_pub h;
	BIGNUM *n = NULL, *e = NULL;
	CK_RV rv = CKR_DEVICE_ERROR;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		goto out;
	h.modulus_len = (uint32_t)BN_num_bytes(n);
	h.exponent_len = (uint32_t)BN_num_bytes(e);
	if (sizeof(h) + h.modulus_len + h.exponent_len > cap)
		goto out;
	memcpy(out, &h, sizeof(h));
	BN_bn2bin(n, out + sizeof(h));
	BN_bn2bin(e, out + sizeof(h) + h.modulus_len);
	*len = sizeof(h) + h.modulus_len + h.exponent_len;
	rv = CKR_OK;
out:
	BN_free(n);
	BN_free(e);
	return rv;
}

uint32_t pk_ec_curve_of(const EVP_PKEY *pkey)
{
	char name[64];
	size_t i, n = 0;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
					   &n) != 1)
		return 0;
	for (i = 0; i < NCURVES; i++)
		if (!strcmp(name, curves[i].name))
			return curves[i].curve;
	return 0;
}

CK_RV pk_ec_from_scalar(uint32_t curve, const uint8_t *scalar, size_t len, uint8_t *out)
{
	int i = curve_idx(curve);
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	BIGNUM *d = NULL;
	BN_CTX *bctx = NULL;
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
	size_t order, plen;

	if (i < 0)
		return CKR_CURVE_NOT_SUPPORTED;
	order = curves[i].order;
	plen = 1 + 2 * order;
	if (len < 1 || len > order)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	g = EC_GROUP_new_by_curve_name(curves[i].nid);
	bctx = BN_CTX_secure_new();
	d = BN_secure_new();
	if (!g || !bctx || !d || !BN_bin2bn(scalar, (int)len, d))
		goto out;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0)
		goto out;
	pt = EC_POINT_new(g);
	rv = CKR_DEVICE_ERROR;
	if (!pt || EC_POINT_mul(g, pt, d, NULL, NULL, bctx) != 1 ||
	    EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, out + order, plen, bctx) !=
		plen ||
	    BN_bn2binpad(d, out, (int)order) != (int)order)
		goto out;
	rv = CKR_OK;
out:
	EC_POINT_free(pt);
	BN_clear_free(d);
	BN_CTX_free(bctx);
	EC_GROUP_free(g);
	return rv;
}

CK_RV pk_ec_secret(const EVP_PKEY *pkey, uint32_t curve, uint8_t *out)
{
	uint8_t sc[PK_EC_MAX_ORDER];
	size_t order = pk_ec_order_len(curve);
	BIGNUM *d = NULL;
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

	if (!order)
		return CKR_CURVE_NOT_SUPPORTED;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
	    BN_bn2binpad(d, sc, (int)order) == (int)order)
		rv = pk_ec_from_scalar(curve, sc, order, out);
	BN_clear_free(d);
	OPENSSL_cleanse(sc, sizeof(sc));
	return rv;
}

CK_RV pk_pkcs8(EVP_PKEY *pkey, uint8_t *out, size_t cap, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
	uint8_t *p = out;
	CK_RV rv = CKR_DEVICE_ERROR;
	int n;

	if (!p8)
		return CKR_DEVICE_ERROR;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
	if (n > 0 && (size_t)n > cap)
		rv = CKR_DATA_LEN_RANGE;
	else if (n > 0 && i2d_PKCS8_PRIV_KEY_INFO(p8, &p) == n) {
		*len = (size_t)n;
		rv = CKR_OK;
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rv;
}

/* ---------------------------------------------------------- signatures */

static int ecdsa_der_to_raw(const uint8_t *der, size_t der_len, uint8_t *raw, size_t order)
{
	const uint8_t *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int ret = -1;

	if (!sig)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, (int)order) == (int)order &&
	    BN_bn2binpad(s, raw + order, (int)order) == (int)order)
		ret = 0;
	ECDSA_SIG_free(sig);
	return ret;
}

static int ecdsa_raw_to_der(const uint8_t *raw, size_t order, uint8_t *der, size_t cap,
			    size_t *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)order, NULL), *s = BN_bin2bn(raw + order, (int)order, NULL);
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

static EVP_PKEY_CTX *sig_ctx(EVP_PKEY *pkey, const struct pk_sig *s, bool sign, CK_RV *rv)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	bool rsa = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;

	*rv = CKR_DEVICE_ERROR;
	if (!ctx)
		return NULL;
	if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1)
		goto fail;
	if (rsa && EVP_PKEY_CTX_set_rsa_padding(ctx, s->pss ? RSA_PKCS1_PSS_PADDING
							    : RSA_PKCS1_PADDING) != 1)
		goto fail;
	if (s->md && EVP_PKEY_CTX_set_signature_md(ctx, s->md) != 1)
		goto fail;
	if (rsa && s->pss &&
	    (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, s->mgf) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)s->salt) != 1))
		goto fail;
	*rv = CKR_OK;
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* Input checks common to sign and verify. */
static CK_RV sig_input_ok(EVP_PKEY *pkey, const struct pk_sig *s, size_t len)
{
	size_t k = (size_t)EVP_PKEY_get_size(pkey);

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		return len >= 1 && len <= 64 ? CKR_OK : CKR_DATA_LEN_RANGE;
	if (s->md && len != (size_t)EVP_MD_get_size(s->md))
		return CKR_DATA_LEN_RANGE;
	if (!s->pss && !s->md && len > k - 11)
		return CKR_DATA_LEN_RANGE;
	if (s->pss && s->salt + (size_t)EVP_MD_get_size(s->md) + 2 > k)
		return CKR_MECHANISM_PARAM_INVALID;
	return CKR_OK;
}

CK_RV pk_sign(EVP_PKEY *pkey, const struct pk_sig *s, const uint8_t *in, size_t len, uint8_t *out,
	      size_t cap, size_t *olen)
{
	bool ec = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC;
	size_t order = pk_ec_order_len(s->curve), n;
	uint8_t der[160];
	EVP_PKEY_CTX *ctx;
	CK_RV rv = sig_input_ok(pkey, s, len);

	if (rv != CKR_OK)
		return rv;
	ctx = sig_ctx(pkey, s, true, &rv);
	if (!ctx)
		return rv;
	rv = CKR_DEVICE_ERROR;
	if (ec) {
		n = sizeof(der);
		if (order && 2 * order <= cap && EVP_PKEY_sign(ctx, der, &n, in, len) == 1 &&
		    !ecdsa_der_to_raw(der, n, out, order)) {
			*olen = 2 * order;
			rv = CKR_OK;
		}
	} else {
		n = cap;
		if ((size_t)EVP_PKEY_get_size(pkey) <= cap &&
		    EVP_PKEY_sign(ctx, out, &n, in, len) == 1) {
			*olen = n;
			rv = CKR_OK;
		}
	}
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

CK_RV pk_verify(EVP_PKEY *pkey, const struct pk_sig *s, const uint8_t *in, size_t len,
		const uint8_t *sig, size_t sig_len)
{
	bool ec = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC;
	size_t order = pk_ec_order_len(s->curve), n = 0;
	uint8_t der[160];
	EVP_PKEY_CTX *ctx;
	CK_RV rv = sig_input_ok(pkey, s, len);
	int r;

	if (rv != CKR_OK)
		return rv;
	if (ec ? sig_len != 2 * order : sig_len != (size_t)EVP_PKEY_get_size(pkey))
		return CKR_SIGNATURE_LEN_RANGE;
	if (ec && ecdsa_raw_to_der(sig, order, der, sizeof(der), &n))
		return CKR_SIGNATURE_INVALID;
	ctx = sig_ctx(pkey, s, false, &rv);
	if (!ctx)
		return rv;
	r = ec ? EVP_PKEY_verify(ctx, der, n, in, len)
	       : EVP_PKEY_verify(ctx, sig, sig_len, in, len);
	EVP_PKEY_CTX_free(ctx);
	return r == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

/* ------------------------------------------------------ RSA encryption */

CK_RV pk_rsa_crypt(EVP_PKEY *pkey, int enc, const EVP_MD *oaep_md, const EVP_MD *mgf,
		   const uint8_t *label, size_t label_len, const uint8_t *in, size_t len,
		   uint8_t *out, size_t cap, size_t *olen)
{
	size_t k = (size_t)EVP_PKEY_get_size(pkey), n = cap;
	EVP_PKEY_CTX *ctx;
	uint8_t *lab = NULL;
	CK_RV rv = CKR_DEVICE_ERROR;
	int r;

	if (enc && len > k - (oaep_md ? 2 * (size_t)EVP_MD_get_size(oaep_md) + 2 : 11))
		return CKR_DATA_LEN_RANGE;
	if (!enc && len != k)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (cap < k)
		return CKR_DATA_LEN_RANGE;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!ctx)
		return CKR_DEVICE_MEMORY;
	if ((enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx,
					 oaep_md ? RSA_PKCS1_OAEP_PADDING : RSA_PKCS1_PADDING) != 1)
		goto out;
	if (oaep_md) {
		if (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, oaep_md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf) != 1)
			goto out;
		if (label_len) {
			lab = OPENSSL_memdup(label, label_len);
			if (!lab || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, (int)label_len) != 1)
				goto out;
			lab = NULL; /* owned by ctx */
		}
	}
	r = enc ? EVP_PKEY_encrypt(ctx, out, &n, in, len) : EVP_PKEY_decrypt(ctx, out, &n, in, len);
	if (r == 1) {
		*olen = n;
		rv = CKR_OK;
	} else if (!enc) {
		rv = CKR_ENCRYPTED_DATA_INVALID;
		OPENSSL_cleanse(out, cap < k ? cap : k);
	}
out:
	OPENSSL_free(lab);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

/* ---------------------------------------------------------------- ECDH */

CK_RV pk_ecdh(EVP_PKEY *priv, uint32_t curve, const uint8_t *peer, size_t peer_len, uint8_t *out,
	      size_t cap, size_t *olen)
{
	EVP_PKEY *pub = pk_ec_load(curve, NULL, peer, peer_len);
	EVP_PKEY_CTX *ctx = NULL;
	CK_RV rv = CKR_MECHANISM_PARAM_INVALID;
	size_t n = cap;

	if (!pub)
		return rv;
	rv = CKR_DEVICE_ERROR;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, pub) == 1 &&
	    EVP_PKEY_derive(ctx, out, &n) == 1) {
		*olen = n;
		rv = CKR_OK;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
	return rv;
}
