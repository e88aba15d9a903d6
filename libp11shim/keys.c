// SPDX-License-Identifier: GPL-2.0
/*
 * keys - generation, import, wrap, unwrap, derive (see keys.h).
 */
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "hsmgroup_msg.h"

#include "keys.h"
#include "log.h"
#include "mech.h"
#include "module.h"
#include "object.h"
#include "objmgr.h"
#include "request.h"
#include "session.h"
#include "slot.h"

#define USE_EC	   (HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY | HSMG_KEY_USE_DERIVE)
#define USE_SECRET (HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY | HSMG_KEY_USE_DERIVE)
#define USE_RSA                                                                                    \
	(HSMG_KEY_USE_ENCRYPT | HSMG_KEY_USE_DECRYPT | HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY |   \
	 HSMG_KEY_USE_WRAP | HSMG_KEY_USE_UNWRAP)
#define BLOB_MAX (HSMG_MSG_MAX_KEY_BLOB + 1024)

/* ------------------------------------------------------------ helpers */

/* Usage bits sealed into the blob of @o (never 0: 0 means "any" to the card). */
static uint32_t key_usage(const struct shim_object *o)
{
	static const struct {
		CK_ATTRIBUTE_TYPE a;
		uint32_t use;
	} map[] = {
	    {CKA_ENCRYPT, HSMG_KEY_USE_ENCRYPT}, {CKA_DECRYPT, HSMG_KEY_USE_DECRYPT},
	    {CKA_SIGN, HSMG_KEY_USE_SIGN},	 {CKA_VERIFY, HSMG_KEY_USE_VERIFY},
	    {CKA_WRAP, HSMG_KEY_USE_WRAP},	 {CKA_UNWRAP, HSMG_KEY_USE_UNWRAP},
	    {CKA_DERIVE, HSMG_KEY_USE_DERIVE},
	};
	CK_KEY_TYPE kt = shim_obj_ulong(o, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
	uint32_t u = 0, allowed;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (shim_obj_bool(o, map[i].a, false))
			u |= map[i].use;
	allowed = kt == CKK_EC		     ? USE_EC
		  : kt == CKK_RSA	     ? USE_RSA
		  : kt == CKK_GENERIC_SECRET ? USE_SECRET
					     : HSMG_KEY_USE_ALL;
	/* Private key blobs also serve the card's public operations. */
	return (u & allowed) | HSMG_KEY_USE_VERIFY;
}

/* Flags sealed into the blob; NOT_SENSITIVE lets the card give a secret
 * key's value back (C_GetAttributeValue(CKA_VALUE) of a non-sensitive,
 * extractable key); PUBLIC (CKA_PRIVATE false) keeps the card from binding
 * the key to the token's user. */
static uint32_t key_flags(const struct shim_object *o)
{
	return (shim_obj_is_token(o) ? HSMG_KEY_TOKEN : 0) |
	       (shim_obj_is_private(o) ? 0 : HSMG_KEY_PUBLIC) |
	       (shim_obj_bool(o, CKA_EXTRACTABLE, false) ? HSMG_KEY_EXTRACTABLE : 0) |
	       (shim_obj_class(o) == CKO_SECRET_KEY && !shim_obj_bool(o, CKA_SENSITIVE, true)
		    ? HSMG_KEY_NOT_SENSITIVE
		    : 0);
}

static void key_attrs(const struct shim_object *o, CK_KEY_TYPE kt, struct hsmg_msg_key_attrs *a)
{
	memset(a, 0, sizeof(*a));
	a->key_type = kt;
	a->usage = key_usage(o);
	a->flags = key_flags(o);
}

/* The session checks of shim_obj_add(), before asking the card. */
static CK_RV may_add(struct shim_session *s, const struct shim_object *o)
{
	if (shim_obj_is_token(o) && !shim_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (shim_obj_is_private(o) && !shim_session_user(s))
		return CKR_USER_NOT_LOGGED_IN;
	return CKR_OK;
}

static CK_RV set_blob(struct shim_object *o, const struct shim_resp *r)
{
	const void *val;
	uint32_t len;

	if (!shim_resp_get(r, HSMG_TAG_OUT_KEY, &val, &len) || !len)
		return CKR_DEVICE_ERROR;
	return shim_obj_set(o, SHIM_CKA_BLOB, val, len);
}

static const uint8_t *strip0(const uint8_t *p, size_t *len)
{
	while (*len > 1 && !*p) {
		p++;
		(*len)--;
	}
	return p;
}

/*
 * Public attributes from the card's public key (@val/@len in message form):
 * RSA CKA_MODULUS, CKA_PUBLIC_EXPONENT (+ CKA_MODULUS_BITS on public keys);
 * EC CKA_EC_PARAMS (+ CKA_EC_POINT on public keys).
 */
static CK_RV set_pub_attrs(struct shim_object *o, CK_KEY_TYPE kt, const uint8_t *val, size_t len)
{
	bool pub = shim_obj_class(o) == CKO_PUBLIC_KEY;
	struct hsmg_msg_rsa_pub rp;
	const uint8_t *oid;
	uint8_t *der, hdr[4];
	size_t oid_len, h;
	uint32_t curve;
	CK_RV rv;

	if (kt == CKK_RSA) {
		if (len < sizeof(rp))
			return CKR_DEVICE_ERROR;
		memcpy(&rp, val, sizeof(rp));
		if ((uint64_t)sizeof(rp) + rp.modulus_len + rp.exponent_len != len ||
		    !rp.modulus_len || !rp.exponent_len)
			return CKR_DEVICE_ERROR;
		rv = shim_obj_set(o, CKA_MODULUS, val + sizeof(rp), rp.modulus_len);
		if (rv == CKR_OK)
			rv = shim_obj_set(o, CKA_PUBLIC_EXPONENT, val + sizeof(rp) + rp.modulus_len,
					  rp.exponent_len);
		if (rv == CKR_OK && pub) {
			size_t ml = rp.modulus_len;

			strip0(val + sizeof(rp), &ml);
			rv = shim_obj_set_ulong(o, CKA_MODULUS_BITS, ml * 8);
		}
		return rv;
	}
	curve = shim_curve_of_point_len(len);
	oid = shim_curve_params(curve, &oid_len);
	if (!oid || val[0] != 0x04)
		return CKR_DEVICE_ERROR;
	rv = shim_obj_set(o, CKA_EC_PARAMS, oid, oid_len);
	if (rv != CKR_OK || !pub)
		return rv;
	h = shim_der_octet_hdr(len, hdr);
	der = malloc(h + len);
	if (!der)
		return CKR_HOST_MEMORY;
	memcpy(der, hdr, h);
	memcpy(der + h, val, len);
	rv = shim_obj_set(o, CKA_EC_POINT, der, h + len);
	free(der);
	return rv;
}

CK_RV shim_key_material(const struct shim_object *k, uint8_t **buf, size_t *len, bool *pubkey)
{
	const struct shim_attr *a, *e;
	struct hsmg_msg_rsa_pub rp;
	const uint8_t *p;
	size_t n, en;

	*pubkey = shim_obj_class(k) == CKO_PUBLIC_KEY;
	if (!*pubkey) {
		a = shim_obj_attr(k, SHIM_CKA_BLOB);
		if (!a || !a->len)
			return CKR_KEY_HANDLE_INVALID;
		*buf = malloc(a->len);
		if (!*buf)
			return CKR_HOST_MEMORY;
		memcpy(*buf, a->val, a->len);
		*len = a->len;
		return CKR_OK;
	}
	if (shim_obj_ulong(k, CKA_KEY_TYPE, 0) == CKK_EC) {
		a = shim_obj_attr(k, CKA_EC_POINT);
		p = a ? shim_der_octet_content(a->val, a->len, &n) : NULL;
		if (!p || !shim_curve_of_point_len(n) || p[0] != 0x04)
			return CKR_KEY_HANDLE_INVALID;
	} else {
		a = shim_obj_attr(k, CKA_MODULUS);
		e = shim_obj_attr(k, CKA_PUBLIC_EXPONENT);
		if (!a || !e || !a->len || !e->len)
			return CKR_KEY_HANDLE_INVALID;
		n = a->len;
		en = e->len;
		p = strip0(a->val, &n);
		strip0(e->val, &en);
		if (n > 512 || en > 8)
			return CKR_KEY_HANDLE_INVALID;
		rp.modulus_len = (uint32_t)n;
		rp.exponent_len = (uint32_t)en;
		*buf = malloc(sizeof(rp) + n + en);
		if (!*buf)
			return CKR_HOST_MEMORY;
		memcpy(*buf, &rp, sizeof(rp));
		memcpy(*buf + sizeof(rp), p, n);
		memcpy(*buf + sizeof(rp) + n, e->val + e->len - en, en);
		*len = sizeof(rp) + n + en;
		return CKR_OK;
	}
	*buf = malloc(n);
	if (!*buf)
		return CKR_HOST_MEMORY;
	memcpy(*buf, p, n);
	*len = n;
	return CKR_OK;
}

CK_ULONG shim_key_modulus_len(const struct shim_object *k)
{
	const struct shim_attr *a = shim_obj_attr(k, CKA_MODULUS);
	size_t n;

	if (!a || !a->len || shim_obj_ulong(k, CKA_KEY_TYPE, 0) != CKK_RSA)
		return 0;
	n = a->len;
	strip0(a->val, &n);
	return n;
}

uint32_t shim_key_curve(const struct shim_object *k)
{
	const struct shim_attr *a = shim_obj_attr(k, CKA_EC_PARAMS);

	if (shim_obj_ulong(k, CKA_KEY_TYPE, 0) != CKK_EC)
		return 0;
	return a ? shim_curve_of_params(a->val, a->len) : 0;
}

/* The attributes the card sealed into @blob (and its public key). */
static CK_RV blob_info(struct shim_session *s, const struct shim_attr *blob,
		       struct hsmg_msg_key_attrs *ka, struct shim_resp *r)
{
	struct shim_tlv in[] = {{HSMG_TAG_KEY, blob->val, blob->len}};
	const void *val;
	uint32_t len;
	CK_RV rv;

	rv = shim_card_call(s, HSMG_MSG_OP_EXPORT_PUBKEY, 0, HSMG_OP_NULL, in, 1, 2048, r);
	if (rv != CKR_OK)
		return rv;
	if (!shim_resp_get(r, HSMG_TAG_OUT_DATA, &val, &len) || len != sizeof(*ka)) {
		shim_resp_free(r);
		return CKR_DEVICE_ERROR;
	}
	memcpy(ka, val, sizeof(*ka));
	return CKR_OK;
}

/* After the card made the blob of @o (unwrap, derive): its size/public
 * attributes from what the card sealed. */
static CK_RV complete_from_card(struct shim_session *s, struct shim_object *o)
{
	struct hsmg_msg_key_attrs ka;
	struct shim_resp r;
	const void *val;
	uint32_t len;
	CK_KEY_TYPE kt = shim_obj_ulong(o, CKA_KEY_TYPE, 0);
	CK_RV rv;

	rv = blob_info(s, shim_obj_attr(o, SHIM_CKA_BLOB), &ka, &r);
	if (rv != CKR_OK)
		return rv;
	if (shim_obj_class(o) == CKO_SECRET_KEY)
		rv = shim_obj_set_ulong(o, CKA_VALUE_LEN, ka.value_len);
	else if (!shim_resp_get(&r, HSMG_TAG_OUT_PUBKEY, &val, &len))
		rv = CKR_DEVICE_ERROR;
	else
		rv = set_pub_attrs(o, kt, val, len);
	shim_resp_free(&r);
	return rv;
}

/* ------------------------------------------------------- generation */

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	struct hsmg_msg_key_attrs ka;
	struct shim_object *o = NULL;
	struct shim_session *s;
	struct shim_resp r;
	CK_KEY_TYPE kt;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pTemplate && ulCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (pMechanism->mechanism == CKM_AES_KEY_GEN) {
		kt = CKK_AES;
	} else if (pMechanism->mechanism == CKM_GENERIC_SECRET_KEY_GEN) {
		kt = CKK_GENERIC_SECRET;
	} else {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (pMechanism->pParameter || pMechanism->ulParameterLen) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	rv = shim_obj_from_template(CKO_SECRET_KEY, kt, pTemplate, ulCount, SHIM_TMPL_GENERATE, &o);
	if (rv == CKR_OK)
		rv = may_add(s, o);
	if (rv != CKR_OK)
		goto out;
	key_attrs(o, kt, &ka);
	ka.value_len = (uint32_t)shim_obj_ulong(o, CKA_VALUE_LEN, 0);
	struct shim_tlv in[] = {{HSMG_TAG_ATTRS, &ka, sizeof(ka)}};

	rv = shim_card_call(s, HSMG_MSG_OP_GENERATE_KEY, pMechanism->mechanism, HSMG_OP_KEYGEN, in,
			    1, BLOB_MAX, &r);
	if (rv != CKR_OK)
		goto out;
	rv = set_blob(o, &r);
	shim_resp_free(&r);
	if (rv == CKR_OK)
		rv = shim_obj_mark_generated(o, pMechanism->mechanism);
	if (rv == CKR_OK) {
		rv = shim_obj_add(s, o, phKey);
		o = NULL;
	}
out:
	shim_obj_free(o);
	shim_session_leave(s);
	return rv;
}

/* CKA_PUBLIC_EXPONENT of a template as the card's PARAM (big-endian). */
static CK_RV rsa_exponent(const CK_ATTRIBUTE *t, CK_ULONG n, const uint8_t **e, size_t *len)
{
	const CK_ATTRIBUTE *a = shim_tmpl_find(t, n, CKA_PUBLIC_EXPONENT);

	*e = NULL;
	*len = 0;
	if (!a)
		return CKR_OK;
	*len = a->ulValueLen;
	*e = a->pValue ? strip0(a->pValue, len) : NULL;
	if (!*e || !*len || *len > 8 || !((*e)[*len - 1] & 1))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
			CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
			CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	struct shim_object *pub = NULL, *priv = NULL;
	struct hsmg_msg_key_attrs ka;
	const struct shim_attr *ecp;
	struct shim_session *s;
	struct shim_tlv in[2];
	struct shim_resp r;
	const uint8_t *exp = NULL;
	const void *val;
	size_t exp_len = 0;
	uint32_t len;
	CK_KEY_TYPE kt;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phPublicKey || !phPrivateKey ||
	    (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
	    (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (pMechanism->mechanism == CKM_EC_KEY_PAIR_GEN) {
		kt = CKK_EC;
	} else if (pMechanism->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN) {
		kt = CKK_RSA;
	} else {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (pMechanism->pParameter || pMechanism->ulParameterLen) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	rv = shim_obj_from_template(CKO_PUBLIC_KEY, kt, pPublicKeyTemplate,
				    ulPublicKeyAttributeCount, SHIM_TMPL_GENERATE, &pub);
	if (rv == CKR_OK)
		rv = shim_obj_from_template(CKO_PRIVATE_KEY, kt, pPrivateKeyTemplate,
					    ulPrivateKeyAttributeCount, SHIM_TMPL_GENERATE, &priv);
	if (rv != CKR_OK)
		goto out;
	key_attrs(priv, kt, &ka);
	if (kt == CKK_EC) {
		ecp = shim_obj_attr(pub, CKA_EC_PARAMS);
		if (!ecp) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto out;
		}
		ka.curve = shim_curve_of_params(ecp->val, ecp->len);
		if (shim_obj_attr(priv, CKA_EC_PARAMS) && shim_key_curve(priv) != ka.curve) {
			rv = CKR_TEMPLATE_INCONSISTENT;
			goto out;
		}
	} else {
		ka.value_len = (uint32_t)shim_obj_ulong(pub, CKA_MODULUS_BITS, 0);
		rv = rsa_exponent(pPublicKeyTemplate, ulPublicKeyAttributeCount, &exp, &exp_len);
		if (rv != CKR_OK)
			goto out;
	}
	rv = may_add(s, pub);
	if (rv == CKR_OK)
		rv = may_add(s, priv);
	if (rv != CKR_OK)
		goto out;
	in[0] = (struct shim_tlv){HSMG_TAG_ATTRS, &ka, sizeof(ka)};
	in[1] = (struct shim_tlv){HSMG_TAG_PARAM, exp, exp_len};
	rv = shim_card_call(s, HSMG_MSG_OP_GENERATE_KEYPAIR, pMechanism->mechanism, HSMG_OP_KEYGEN,
			    in, exp ? 2 : 1, BLOB_MAX + 1024, &r);
	if (rv != CKR_OK)
		goto out;
	rv = set_blob(priv, &r);
	if (rv == CKR_OK && !shim_resp_get(&r, HSMG_TAG_OUT_PUBKEY, &val, &len))
		rv = CKR_DEVICE_ERROR;
	if (rv == CKR_OK)
		rv = set_pub_attrs(pub, kt, val, len);
	if (rv == CKR_OK)
		rv = set_pub_attrs(priv, kt, val, len);
	shim_resp_free(&r);
	if (rv == CKR_OK)
		rv = shim_obj_mark_generated(pub, pMechanism->mechanism);
	if (rv == CKR_OK)
		rv = shim_obj_mark_generated(priv, pMechanism->mechanism);
	if (rv != CKR_OK)
		goto out;
	rv = shim_obj_add(s, pub, phPublicKey);
	pub = NULL;
	if (rv != CKR_OK)
		goto out;
	rv = shim_obj_add(s, priv, phPrivateKey);
	priv = NULL;
	if (rv != CKR_OK)
		shim_obj_remove(s, *phPublicKey);
out:
	shim_obj_free(pub);
	shim_obj_free(priv);
	shim_session_leave(s);
	return rv;
}

CK_RV shim_key_export_value(struct shim_session *s, struct shim_object *k, uint8_t **val,
			    size_t *len)
{
	const struct shim_attr *a = shim_obj_attr(k, SHIM_CKA_BLOB);
	struct shim_resp r;
	uint8_t *blob;
	size_t blen;
	CK_RV rv;

	if (!a || !a->len) {
		shim_obj_put(k);
		return CKR_ATTRIBUTE_SENSITIVE;
	}
	blob = malloc(a->len);
	if (!blob) {
		shim_obj_put(k);
		return CKR_HOST_MEMORY;
	}
	memcpy(blob, a->val, a->len);
	blen = a->len;
	shim_obj_put(k);
	struct shim_tlv in[] = {{HSMG_TAG_KEY, blob, blen}};

	rv = shim_card_call(s, HSMG_MSG_OP_EXPORT_KEY, 0, HSMG_OP_KEYGEN, in, 1, 1024, &r);
	explicit_bzero(blob, blen);
	free(blob);
	if (rv != CKR_OK)
		return rv;
	rv = shim_resp_dup(&r, HSMG_TAG_OUT_DATA, val, len);
	shim_resp_free(&r);
	return rv;
}

/* ------------------------------------------------------------ import */

static const CK_ATTRIBUTE_TYPE rsa_parts[8] = {
    CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
    CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,	    CKA_COEFFICIENT,
};

/* The clear value for IMPORT_KEY (secret: CKA_VALUE; EC: the scalar; RSA:
 * struct hsmg_msg_rsa_priv and the eight values). */
static CK_RV import_value(CK_KEY_TYPE kt, const CK_ATTRIBUTE *t, CK_ULONG n, uint8_t **out,
			  size_t *len)
{
	struct hsmg_msg_rsa_priv rp;
	const CK_ATTRIBUTE *a;
	size_t total = sizeof(rp), off;
	int i;

	if (kt != CKK_RSA) {
		a = shim_tmpl_find(t, n, CKA_VALUE);
		if (!a || !a->ulValueLen)
			return CKR_TEMPLATE_INCOMPLETE;
		*out = malloc(a->ulValueLen);
		if (!*out)
			return CKR_HOST_MEMORY;
		memcpy(*out, a->pValue, a->ulValueLen);
		*len = a->ulValueLen;
		return CKR_OK;
	}
	if (shim_tmpl_find(t, n, CKA_VALUE))
		return CKR_TEMPLATE_INCONSISTENT;
	for (i = 0; i < 8; i++) {
		a = shim_tmpl_find(t, n, rsa_parts[i]);
		if (!a || !a->ulValueLen)
			return CKR_TEMPLATE_INCOMPLETE;
		if (a->ulValueLen > 1024)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		rp.len[i] = (uint32_t)a->ulValueLen;
		total += a->ulValueLen;
	}
	*out = malloc(total);
	if (!*out)
		return CKR_HOST_MEMORY;
	memcpy(*out, &rp, sizeof(rp));
	off = sizeof(rp);
	for (i = 0; i < 8; i++) {
		a = shim_tmpl_find(t, n, rsa_parts[i]);
		memcpy(*out + off, a->pValue, a->ulValueLen);
		off += a->ulValueLen;
	}
	*len = total;
	return CKR_OK;
}

CK_RV shim_key_import(struct shim_session *s, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *t,
		      CK_ULONG n, CK_OBJECT_HANDLE *h)
{
	struct hsmg_msg_key_attrs ka;
	struct shim_object *o = NULL;
	CK_ATTRIBUTE *rest = NULL;
	uint8_t *val = NULL;
	size_t val_len = 0;
	struct shim_resp r;
	CK_ULONG i, nr = 0, kt;
	CK_RV rv;

	if (!shim_tmpl_ulong(t, n, CKA_KEY_TYPE, &kt))
		return CKR_TEMPLATE_INCOMPLETE;
	if (cls == CKO_SECRET_KEY ? kt != CKK_AES && kt != CKK_GENERIC_SECRET
				  : kt != CKK_RSA && kt != CKK_EC)
		return CKR_TEMPLATE_INCONSISTENT;
	/* The values go to the card only; the object gets the rest. */
	rest = calloc(n, sizeof(*rest));
	if (!rest)
		return CKR_HOST_MEMORY;
	rv = CKR_OK;
	for (i = 0; i < n; i++)
		if (!shim_obj_is_key_value(t[i].type))
			rest[nr++] = t[i];
		else if ((cls == CKO_SECRET_KEY || kt == CKK_EC) && t[i].type != CKA_VALUE)
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
	if (rv == CKR_OK)
		rv = shim_obj_from_template(cls, kt, rest, nr, SHIM_TMPL_CREATE, &o);
	if (rv == CKR_OK)
		rv = may_add(s, o);
	if (rv == CKR_OK)
		rv = import_value(kt, t, n, &val, &val_len);
	if (rv != CKR_OK)
		goto out;
	key_attrs(o, kt, &ka);
	if (cls == CKO_SECRET_KEY) {
		ka.value_len = (uint32_t)val_len;
		if (shim_obj_ulong(o, CKA_VALUE_LEN, val_len) != val_len) {
			rv = CKR_TEMPLATE_INCONSISTENT;
			goto out;
		}
	}
	ka.curve = shim_key_curve(o);
	struct shim_tlv in[] = {{HSMG_TAG_ATTRS, &ka, sizeof(ka)}, {HSMG_TAG_DATA, val, val_len}};

	rv = shim_card_call(s, HSMG_MSG_OP_IMPORT_KEY, 0, HSMG_OP_KEYGEN, in, 2, BLOB_MAX + 1024,
			    &r);
	if (rv != CKR_OK)
		goto out;
	rv = set_blob(o, &r);
	shim_resp_free(&r);
	if (rv == CKR_OK && cls == CKO_SECRET_KEY)
		rv = shim_obj_set_ulong(o, CKA_VALUE_LEN, val_len);
	if (rv == CKR_OK) {
		rv = shim_obj_add(s, o, h);
		o = NULL;
	}
out:
	if (val)
		explicit_bzero(val, val_len);
	free(val);
	free(rest);
	shim_obj_free(o);
	return rv;
}

/* ------------------------------------------------- wrap, unwrap, derive */

/* Blob of key @h checked for class/type @cls/@kt (0: any) and attribute
 * @use; the errors are the caller's (@bad_handle, @bad_type). */
static CK_RV key_blob(struct shim_session *s, CK_OBJECT_HANDLE h, CK_OBJECT_CLASS cls,
		      CK_KEY_TYPE kt, CK_ATTRIBUTE_TYPE use, CK_RV bad_handle, CK_RV bad_type,
		      struct shim_object **out)
{
	struct shim_object *k;
	CK_RV rv;

	rv = shim_obj_get(s, h, &k);
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return bad_handle;
	if (rv != CKR_OK)
		return rv;
	if ((cls && shim_obj_class(k) != cls) || (kt && shim_obj_ulong(k, CKA_KEY_TYPE, 0) != kt) ||
	    !shim_obj_attr(k, SHIM_CKA_BLOB))
		rv = bad_type;
	else if (use && !shim_obj_bool(k, use, false))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (rv != CKR_OK) {
		shim_obj_put(k);
		return rv;
	}
	*out = k;
	return CKR_OK;
}

/* Duplicate the blob of @k (the object may go away while the card works). */
static CK_RV blob_dup(const struct shim_object *k, uint8_t **b, size_t *len)
{
	const struct shim_attr *a = shim_obj_attr(k, SHIM_CKA_BLOB);

	*b = malloc(a->len);
	if (!*b)
		return CKR_HOST_MEMORY;
	memcpy(*b, a->val, a->len);
	*len = a->len;
	return CKR_OK;
}

static CK_RV kw_mech(const CK_MECHANISM *pm, CK_FLAGS need, uint8_t **param, size_t *plen)
{
	const struct hsmg_mech *m;
	CK_ULONG dummy = 0;

	if (!pm)
		return CKR_ARGUMENTS_BAD;
	m = hsmg_mech_find(pm->mechanism);
	if (!m || !(m->flags & need))
		return CKR_MECHANISM_INVALID;
	return shim_mech_param(m, pm, param, plen, &dummy, &dummy);
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
		CK_ULONG_PTR pulWrappedKeyLen)
{
	struct shim_object *w = NULL, *k = NULL;
	uint8_t *param = NULL, *wb = NULL, *kb = NULL;
	size_t plen = 0, wlen = 0, klen = 0;
	struct shim_session *s;
	struct shim_resp r;
	const void *val;
	uint32_t len;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pulWrappedKeyLen) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	rv = kw_mech(pMechanism, CKF_WRAP, &param, &plen);
	if (rv == CKR_OK)
		rv = key_blob(s, hWrappingKey, CKO_SECRET_KEY, CKK_AES, CKA_WRAP,
			      CKR_WRAPPING_KEY_HANDLE_INVALID, CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
			      &w);
	if (rv == CKR_OK)
		rv = key_blob(s, hKey, 0, 0, 0, CKR_KEY_HANDLE_INVALID, CKR_KEY_NOT_WRAPPABLE, &k);
	if (rv != CKR_OK)
		goto out;
	if (!shim_obj_bool(k, CKA_EXTRACTABLE, false))
		rv = CKR_KEY_UNEXTRACTABLE;
	else if (shim_obj_bool(k, CKA_WRAP_WITH_TRUSTED, false) &&
		 !shim_obj_bool(w, CKA_TRUSTED, false))
		rv = CKR_KEY_NOT_WRAPPABLE;
	if (rv == CKR_OK)
		rv = blob_dup(w, &wb, &wlen);
	if (rv == CKR_OK)
		rv = blob_dup(k, &kb, &klen);
	shim_obj_put(w);
	shim_obj_put(k);
	w = k = NULL;
	if (rv != CKR_OK)
		goto out;
	struct shim_tlv in[] = {
	    {HSMG_TAG_KEY, wb, wlen}, {HSMG_TAG_KEY2, kb, klen}, {HSMG_TAG_PARAM, param, plen}};

	/* Wrapping is deterministic: a length query asks the card too. */
	rv = shim_card_call(s, HSMG_MSG_OP_WRAP, pMechanism->mechanism, HSMG_OP_KEYGEN, in,
			    param ? 3 : 2, 8192, &r);
	if (rv != CKR_OK)
		goto out;
	if (!shim_resp_get(&r, HSMG_TAG_OUT_DATA, &val, &len)) {
		rv = CKR_DEVICE_ERROR;
	} else if (!pWrappedKey) {
		*pulWrappedKeyLen = len;
	} else if (*pulWrappedKeyLen < len) {
		*pulWrappedKeyLen = len;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		memcpy(pWrappedKey, val, len);
		*pulWrappedKeyLen = len;
	}
	shim_resp_free(&r);
out:
	shim_obj_put(w);
	shim_obj_put(k);
	free(param);
	free(wb);
	free(kb);
	shim_session_leave(s);
	return rv;
}

/* Template of a key the card makes from something else (unwrap, derive):
 * class (default @cls) and key type from @t. */
static CK_RV made_key_object(const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_CLASS cls,
			     struct shim_object **o, struct hsmg_msg_key_attrs *ka)
{
	CK_ULONG c = cls, kt, vl;
	CK_RV rv;

	rv = shim_tmpl_check(t, n);
	if (rv != CKR_OK)
		return rv;
	if (!shim_tmpl_ulong(t, n, CKA_CLASS, &c) && cls == CK_UNAVAILABLE_INFORMATION)
		return CKR_TEMPLATE_INCOMPLETE;
	if (!shim_tmpl_ulong(t, n, CKA_KEY_TYPE, &kt))
		return CKR_TEMPLATE_INCOMPLETE;
	if (c != CKO_SECRET_KEY && c != CKO_PRIVATE_KEY)
		return CKR_TEMPLATE_INCONSISTENT;
	rv = shim_obj_from_template(c, kt, t, n, SHIM_TMPL_UNWRAP, o);
	if (rv != CKR_OK)
		return rv;
	key_attrs(*o, kt, ka);
	if (shim_tmpl_ulong(t, n, CKA_VALUE_LEN, &vl))
		ka->value_len = (uint32_t)vl;
	ka->curve = shim_key_curve(*o);
	return CKR_OK;
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
		  CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
		  CK_OBJECT_HANDLE_PTR phKey)
{
	struct shim_object *w = NULL, *o = NULL;
	uint8_t *param = NULL, *wb = NULL;
	size_t plen = 0, wlen = 0;
	struct hsmg_msg_key_attrs ka;
	struct shim_session *s;
	struct shim_resp r;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pWrappedKey || !ulWrappedKeyLen || !phKey || (!pTemplate && ulAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	rv = kw_mech(pMechanism, CKF_UNWRAP, &param, &plen);
	if (rv == CKR_OK)
		rv = key_blob(s, hUnwrappingKey, CKO_SECRET_KEY, CKK_AES, CKA_UNWRAP,
			      CKR_UNWRAPPING_KEY_HANDLE_INVALID,
			      CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, &w);
	if (rv == CKR_OK)
		rv = blob_dup(w, &wb, &wlen);
	shim_obj_put(w);
	w = NULL;
	if (rv == CKR_OK)
		rv = made_key_object(pTemplate, ulAttributeCount, CK_UNAVAILABLE_INFORMATION, &o,
				     &ka);
	if (rv == CKR_OK)
		rv = may_add(s, o);
	if (rv != CKR_OK)
		goto out;
	struct shim_tlv in[] = {{HSMG_TAG_KEY, wb, wlen},
				{HSMG_TAG_ATTRS, &ka, sizeof(ka)},
				{HSMG_TAG_DATA, pWrappedKey, ulWrappedKeyLen},
				{HSMG_TAG_PARAM, param, plen}};

	rv = shim_card_call(s, HSMG_MSG_OP_UNWRAP, pMechanism->mechanism, HSMG_OP_KEYGEN, in,
			    param ? 4 : 3, BLOB_MAX + 1024, &r);
	if (rv != CKR_OK)
		goto out;
	rv = set_blob(o, &r);
	shim_resp_free(&r);
	if (rv == CKR_OK)
		rv = complete_from_card(s, o);
	if (rv == CKR_OK) {
		rv = shim_obj_add(s, o, phKey);
		o = NULL;
	}
out:
	shim_obj_put(w);
	shim_obj_free(o);
	free(param);
	free(wb);
	shim_session_leave(s);
	return rv;
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
		  CK_OBJECT_HANDLE_PTR phKey)
{
	struct shim_object *b = NULL, *o = NULL;
	uint8_t *param = NULL, *bb = NULL;
	size_t plen = 0, blen = 0;
	struct hsmg_msg_key_attrs ka;
	struct shim_session *s;
	struct shim_resp r;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!phKey || (!pTemplate && ulAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	rv = kw_mech(pMechanism, CKF_DERIVE, &param, &plen);
	if (rv == CKR_OK)
		rv = key_blob(s, hBaseKey, CKO_PRIVATE_KEY, CKK_EC, CKA_DERIVE,
			      CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT, &b);
	if (rv == CKR_OK)
		rv = blob_dup(b, &bb, &blen);
	shim_obj_put(b);
	b = NULL;
	if (rv == CKR_OK)
		rv = made_key_object(pTemplate, ulAttributeCount, CKO_SECRET_KEY, &o, &ka);
	if (rv == CKR_OK && shim_obj_class(o) != CKO_SECRET_KEY)
		rv = CKR_TEMPLATE_INCONSISTENT;
	if (rv == CKR_OK)
		rv = may_add(s, o);
	if (rv != CKR_OK)
		goto out;
	struct shim_tlv in[] = {{HSMG_TAG_KEY, bb, blen},
				{HSMG_TAG_PARAM, param, plen},
				{HSMG_TAG_ATTRS, &ka, sizeof(ka)}};

	rv = shim_card_call(s, HSMG_MSG_OP_DERIVE, pMechanism->mechanism, HSMG_OP_SIGN, in, 3,
			    BLOB_MAX, &r);
	if (rv != CKR_OK)
		goto out;
	rv = set_blob(o, &r);
	shim_resp_free(&r);
	if (rv == CKR_OK)
		rv = complete_from_card(s, o);
	if (rv == CKR_OK) {
		rv = shim_obj_add(s, o, phKey);
		o = NULL;
	}
out:
	shim_obj_put(b);
	shim_obj_free(o);
	free(param);
	if (bb)
		explicit_bzero(bb, blen);
	free(bb);
	shim_session_leave(s);
	return rv;
}
