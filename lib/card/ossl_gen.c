// SPDX-License-Identifier: GPL-2.0
/*
 * ossl_gen - key and key-pair generation in the OpenSSL backend.
 */
#include "card_int.h"

/* ---------------------------------------------------------- generation */

CK_RV card_op_generate_key(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	const uint8_t *param;
	uint32_t plen;
	struct key k;
	CK_RV rv;

	card_get_param(c, &param, &plen);
	memset(&k, 0, sizeof(k));
	rv = card_get_attrs(c, &a);
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
	rv = card_usage_fix(&a, k.kind);
	if (rv != CKR_OK)
		return rv;
	k.attrs = a;
	k.secret_len = a.value_len;
	if (RAND_priv_bytes(k.secret, (int)k.secret_len) != 1)
		rv = CKR_DEVICE_ERROR;
	if (rv == CKR_OK)
		rv = card_finish_new_key(c, &k);
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

CK_RV card_op_generate_keypair(struct req_ctx *c)
{
	struct hsmg_msg_key_attrs a;
	EVP_PKEY *pkey = NULL;
	const uint8_t *param;
	uint32_t plen;
	struct key k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	card_get_param(c, &param, &plen);
	rv = card_get_attrs(c, &a);
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
		rv = card_key_from_pkey(pkey, &a, &k);
	if (rv == CKR_OK)
		rv = card_finish_new_key(c, &k);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}
