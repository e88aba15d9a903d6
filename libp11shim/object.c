// SPDX-License-Identifier: GPL-2.0
/*
 * object - attribute lists and the attribute rules (see object.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mech.h"
#include "object.h"

/* Classes as bits. */
#define C_DATA (1U << 0)
#define C_CERT (1U << 1)
#define C_PUB  (1U << 2)
#define C_PRIV (1U << 3)
#define C_SEC  (1U << 4)
#define C_KEY  (C_PUB | C_PRIV | C_SEC)
#define C_ALL  (C_DATA | C_CERT | C_KEY)

enum kind { K_BOOL, K_ULONG, K_BYTES, K_DATE, K_MECHS };

/* Rules. */
#define F_FIXED	     (1U << 0) /* given at creation only; Set/Copy: read-only */
#define F_TOKEN_MADE (1U << 1) /* set by the token only */
#define F_COPY_ONLY  (1U << 2) /* changed by C_CopyObject only */
#define F_ONLY_TRUE  (1U << 3) /* may change from false to true only */
#define F_ONLY_FALSE (1U << 4) /* may change from true to false only */
#define F_KEY_SECRET (1U << 5) /* the key value: never given, never shown */

struct rule {
	CK_ATTRIBUTE_TYPE type;
	enum kind kind;
	uint32_t classes;
	uint32_t flags;
};

static const struct rule rules[] = {
    {CKA_CLASS, K_ULONG, C_ALL, F_FIXED},
    {CKA_TOKEN, K_BOOL, C_ALL, F_COPY_ONLY},
    {CKA_PRIVATE, K_BOOL, C_ALL, F_COPY_ONLY},
    {CKA_MODIFIABLE, K_BOOL, C_ALL, F_COPY_ONLY},
    {CKA_COPYABLE, K_BOOL, C_ALL, F_ONLY_FALSE},
    {CKA_DESTROYABLE, K_BOOL, C_ALL, 0},
    {CKA_LABEL, K_BYTES, C_ALL, 0},
    {CKA_APPLICATION, K_BYTES, C_DATA, 0},
    {CKA_OBJECT_ID, K_BYTES, C_DATA, 0},
    {CKA_VALUE, K_BYTES, C_DATA | C_CERT | C_PRIV | C_SEC, F_KEY_SECRET},
    {CKA_CERTIFICATE_TYPE, K_ULONG, C_CERT, F_FIXED},
    {CKA_CERTIFICATE_CATEGORY, K_ULONG, C_CERT, 0},
    {CKA_CHECK_VALUE, K_BYTES, C_CERT, 0},
    {CKA_TRUSTED, K_BOOL, C_CERT | C_PUB | C_SEC, 0},
    {CKA_ISSUER, K_BYTES, C_CERT, 0},
    {CKA_SERIAL_NUMBER, K_BYTES, C_CERT, 0},
    {CKA_URL, K_BYTES, C_CERT, 0},
    {CKA_HASH_OF_SUBJECT_PUBLIC_KEY, K_BYTES, C_CERT, 0},
    {CKA_HASH_OF_ISSUER_PUBLIC_KEY, K_BYTES, C_CERT, 0},
    {CKA_JAVA_MIDP_SECURITY_DOMAIN, K_ULONG, C_CERT, 0},
    {CKA_SUBJECT, K_BYTES, C_CERT | C_PUB | C_PRIV, 0},
    {CKA_ID, K_BYTES, C_CERT | C_KEY, 0},
    {CKA_START_DATE, K_DATE, C_CERT | C_KEY, 0},
    {CKA_END_DATE, K_DATE, C_CERT | C_KEY, 0},
    {CKA_KEY_TYPE, K_ULONG, C_KEY, F_FIXED},
    {CKA_DERIVE, K_BOOL, C_KEY, 0},
    {CKA_LOCAL, K_BOOL, C_KEY, F_TOKEN_MADE},
    {CKA_KEY_GEN_MECHANISM, K_ULONG, C_KEY, F_TOKEN_MADE},
    {CKA_ALLOWED_MECHANISMS, K_MECHS, C_KEY, 0},
    {CKA_ENCRYPT, K_BOOL, C_PUB | C_SEC, 0},
    {CKA_VERIFY, K_BOOL, C_PUB | C_SEC, 0},
    {CKA_VERIFY_RECOVER, K_BOOL, C_PUB, 0},
    {CKA_WRAP, K_BOOL, C_PUB | C_SEC, 0},
    {CKA_DECRYPT, K_BOOL, C_PRIV | C_SEC, 0},
    {CKA_SIGN, K_BOOL, C_PRIV | C_SEC, 0},
    {CKA_SIGN_RECOVER, K_BOOL, C_PRIV, 0},
    {CKA_UNWRAP, K_BOOL, C_PRIV | C_SEC, 0},
    {CKA_SENSITIVE, K_BOOL, C_PRIV | C_SEC, F_ONLY_TRUE},
    {CKA_EXTRACTABLE, K_BOOL, C_PRIV | C_SEC, F_ONLY_FALSE},
    {CKA_ALWAYS_SENSITIVE, K_BOOL, C_PRIV | C_SEC, F_TOKEN_MADE},
    {CKA_NEVER_EXTRACTABLE, K_BOOL, C_PRIV | C_SEC, F_TOKEN_MADE},
    {CKA_WRAP_WITH_TRUSTED, K_BOOL, C_PRIV | C_SEC, F_ONLY_TRUE},
    {CKA_ALWAYS_AUTHENTICATE, K_BOOL, C_PRIV, 0},
    {CKA_VALUE_LEN, K_ULONG, C_SEC, F_FIXED},
    {CKA_EC_PARAMS, K_BYTES, C_PUB | C_PRIV, F_FIXED},
    {CKA_EC_POINT, K_BYTES, C_PUB, F_FIXED},
    {CKA_MODULUS, K_BYTES, C_PUB | C_PRIV, F_FIXED},
    {CKA_MODULUS_BITS, K_ULONG, C_PUB, F_FIXED},
    {CKA_PUBLIC_EXPONENT, K_BYTES, C_PUB | C_PRIV, F_FIXED},
    {CKA_PRIVATE_EXPONENT, K_BYTES, C_PRIV, F_KEY_SECRET},
    {CKA_PRIME_1, K_BYTES, C_PRIV, F_KEY_SECRET},
    {CKA_PRIME_2, K_BYTES, C_PRIV, F_KEY_SECRET},
    {CKA_EXPONENT_1, K_BYTES, C_PRIV, F_KEY_SECRET},
    {CKA_EXPONENT_2, K_BYTES, C_PRIV, F_KEY_SECRET},
    {CKA_COEFFICIENT, K_BYTES, C_PRIV, F_KEY_SECRET},
};

/* Defaults filled after a template is applied. */
struct dflt {
	CK_ATTRIBUTE_TYPE type;
	uint32_t classes;
	enum kind kind; /* K_BOOL, K_ULONG or K_BYTES (empty) */
	CK_ULONG v;
};

static const struct dflt defaults[] = {
    {CKA_TOKEN, C_ALL, K_BOOL, CK_FALSE},
    {CKA_PRIVATE, C_DATA | C_CERT | C_PUB, K_BOOL, CK_FALSE},
    {CKA_PRIVATE, C_PRIV | C_SEC, K_BOOL, CK_TRUE},
    {CKA_MODIFIABLE, C_ALL, K_BOOL, CK_TRUE},
    {CKA_COPYABLE, C_ALL, K_BOOL, CK_TRUE},
    {CKA_DESTROYABLE, C_ALL, K_BOOL, CK_TRUE},
    {CKA_LABEL, C_ALL, K_BYTES, 0},
    {CKA_APPLICATION, C_DATA, K_BYTES, 0},
    {CKA_OBJECT_ID, C_DATA, K_BYTES, 0},
    {CKA_VALUE, C_DATA, K_BYTES, 0},
    {CKA_TRUSTED, C_CERT | C_PUB | C_SEC, K_BOOL, CK_FALSE},
    {CKA_CERTIFICATE_CATEGORY, C_CERT, K_ULONG, 0},
    {CKA_ISSUER, C_CERT, K_BYTES, 0},
    {CKA_SERIAL_NUMBER, C_CERT, K_BYTES, 0},
    {CKA_ID, C_CERT | C_KEY, K_BYTES, 0},
    {CKA_START_DATE, C_CERT | C_KEY, K_BYTES, 0},
    {CKA_END_DATE, C_CERT | C_KEY, K_BYTES, 0},
    {CKA_SUBJECT, C_PUB | C_PRIV, K_BYTES, 0},
    {CKA_DERIVE, C_KEY, K_BOOL, CK_FALSE},
    {CKA_LOCAL, C_KEY, K_BOOL, CK_FALSE},
    {CKA_KEY_GEN_MECHANISM, C_KEY, K_ULONG, CK_UNAVAILABLE_INFORMATION},
    {CKA_ENCRYPT, C_PUB, K_BOOL, CK_FALSE},
    {CKA_VERIFY, C_PUB, K_BOOL, CK_TRUE},
    {CKA_VERIFY_RECOVER, C_PUB, K_BOOL, CK_FALSE},
    {CKA_WRAP, C_PUB, K_BOOL, CK_FALSE},
    {CKA_DECRYPT, C_PRIV, K_BOOL, CK_FALSE},
    {CKA_SIGN, C_PRIV, K_BOOL, CK_TRUE},
    {CKA_SIGN_RECOVER, C_PRIV, K_BOOL, CK_FALSE},
    {CKA_UNWRAP, C_PRIV, K_BOOL, CK_FALSE},
    {CKA_ALWAYS_AUTHENTICATE, C_PRIV, K_BOOL, CK_FALSE},
    {CKA_ENCRYPT, C_SEC, K_BOOL, CK_TRUE},
    {CKA_DECRYPT, C_SEC, K_BOOL, CK_TRUE},
    {CKA_SIGN, C_SEC, K_BOOL, CK_FALSE},
    {CKA_VERIFY, C_SEC, K_BOOL, CK_FALSE},
    {CKA_WRAP, C_SEC, K_BOOL, CK_FALSE},
    {CKA_UNWRAP, C_SEC, K_BOOL, CK_FALSE},
    {CKA_SENSITIVE, C_PRIV | C_SEC, K_BOOL, CK_TRUE},
    {CKA_EXTRACTABLE, C_PRIV | C_SEC, K_BOOL, CK_FALSE},
    {CKA_ALWAYS_SENSITIVE, C_PRIV | C_SEC, K_BOOL, CK_FALSE},
    {CKA_NEVER_EXTRACTABLE, C_PRIV | C_SEC, K_BOOL, CK_FALSE},
    {CKA_WRAP_WITH_TRUSTED, C_PRIV | C_SEC, K_BOOL, CK_FALSE},
};

static const struct rule *rule_of(CK_ATTRIBUTE_TYPE type)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

static uint32_t class_bit(CK_OBJECT_CLASS cls)
{
	switch (cls) {
	case CKO_DATA:
		return C_DATA;
	case CKO_CERTIFICATE:
		return C_CERT;
	case CKO_PUBLIC_KEY:
		return C_PUB;
	case CKO_PRIVATE_KEY:
		return C_PRIV;
	case CKO_SECRET_KEY:
		return C_SEC;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ objects */

struct shim_object *shim_obj_new(void)
{
	return calloc(1, sizeof(struct shim_object));
}

void shim_obj_free(struct shim_object *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->n; i++) {
		if (o->attrs[i].val)
			explicit_bzero(o->attrs[i].val, o->attrs[i].len);
		free(o->attrs[i].val);
	}
	free(o->attrs);
	free(o);
}

struct shim_attr *shim_obj_attr(const struct shim_object *o, CK_ATTRIBUTE_TYPE type)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->attrs[i].type == type)
			return &o->attrs[i];
	return NULL;
}

CK_RV shim_obj_set(struct shim_object *o, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len)
{
	struct shim_attr *a = shim_obj_attr(o, type);
	uint8_t *copy = NULL;

	if (len) {
		copy = malloc(len);
		if (!copy)
			return CKR_HOST_MEMORY;
		memcpy(copy, val, len);
	}
	if (!a) {
		if (o->n == o->cap) {
			size_t cap = o->cap ? o->cap * 2 : 16;
			struct shim_attr *na = realloc(o->attrs, cap * sizeof(*na));

			if (!na) {
				free(copy);
				return CKR_HOST_MEMORY;
			}
			o->attrs = na;
			o->cap = cap;
		}
		a = &o->attrs[o->n++];
		a->type = type;
	} else if (a->val) {
		explicit_bzero(a->val, a->len);
		free(a->val);
	}
	a->val = copy;
	a->len = len;
	return CKR_OK;
}

CK_RV shim_obj_set_bool(struct shim_object *o, CK_ATTRIBUTE_TYPE type, bool v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

	return shim_obj_set(o, type, &b, sizeof(b));
}

CK_RV shim_obj_set_ulong(struct shim_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	return shim_obj_set(o, type, &v, sizeof(v));
}

bool shim_obj_bool(const struct shim_object *o, CK_ATTRIBUTE_TYPE type, bool def)
{
	const struct shim_attr *a = shim_obj_attr(o, type);

	if (!a || a->len != sizeof(CK_BBOOL))
		return def;
	return *a->val != CK_FALSE;
}

CK_ULONG shim_obj_ulong(const struct shim_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG def)
{
	const struct shim_attr *a = shim_obj_attr(o, type);
	CK_ULONG v;

	if (!a || a->len != sizeof(CK_ULONG))
		return def;
	memcpy(&v, a->val, sizeof(v));
	return v;
}

CK_OBJECT_CLASS shim_obj_class(const struct shim_object *o)
{
	return shim_obj_ulong(o, CKA_CLASS, CK_UNAVAILABLE_INFORMATION);
}

bool shim_obj_is_token(const struct shim_object *o)
{
	return shim_obj_bool(o, CKA_TOKEN, false);
}

bool shim_obj_is_private(const struct shim_object *o)
{
	return shim_obj_bool(o, CKA_PRIVATE, true);
}

struct shim_object *shim_obj_dup(const struct shim_object *o)
{
	struct shim_object *c = shim_obj_new();
	size_t i;

	if (!c)
		return NULL;
	for (i = 0; i < o->n; i++) {
		if (shim_obj_set(c, o->attrs[i].type, o->attrs[i].val, o->attrs[i].len)) {
			shim_obj_free(c);
			return NULL;
		}
	}
	return c;
}

/* ---------------------------------------------------------- serialize */

#define SER_MAGIC 0x314f5348U /* "HSO1" */

CK_RV shim_obj_serialize(const struct shim_object *o, uint8_t **buf, size_t *len)
{
	size_t total = 8, off, i;
	uint32_t u32;
	uint64_t u64;
	uint8_t *p;

	for (i = 0; i < o->n; i++)
		total += 12 + o->attrs[i].len;
	p = malloc(total);
	if (!p)
		return CKR_HOST_MEMORY;
	u32 = SER_MAGIC;
	memcpy(p, &u32, 4);
	u32 = (uint32_t)o->n;
	memcpy(p + 4, &u32, 4);
	off = 8;
	for (i = 0; i < o->n; i++) {
		u64 = o->attrs[i].type;
		memcpy(p + off, &u64, 8);
		u32 = (uint32_t)o->attrs[i].len;
		memcpy(p + off + 8, &u32, 4);
		if (o->attrs[i].len)
			memcpy(p + off + 12, o->attrs[i].val, o->attrs[i].len);
		off += 12 + o->attrs[i].len;
	}
	*buf = p;
	*len = total;
	return CKR_OK;
}

void shim_obj_blob_free(uint8_t *buf, size_t len)
{
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
}

CK_RV shim_obj_deserialize(const uint8_t *buf, size_t len, struct shim_object **out)
{
	struct shim_object *o;
	uint32_t magic, n, alen, i;
	uint64_t type;
	size_t off = 8;

	if (len < 8)
		return CKR_DEVICE_ERROR;
	memcpy(&magic, buf, 4);
	memcpy(&n, buf + 4, 4);
	if (magic != SER_MAGIC)
		return CKR_DEVICE_ERROR;
	o = shim_obj_new();
	if (!o)
		return CKR_HOST_MEMORY;
	for (i = 0; i < n; i++) {
		if (len - off < 12)
			goto bad;
		memcpy(&type, buf + off, 8);
		memcpy(&alen, buf + off + 8, 4);
		off += 12;
		if (len - off < alen)
			goto bad;
		if (shim_obj_set(o, type, buf + off, alen)) {
			shim_obj_free(o);
			return CKR_HOST_MEMORY;
		}
		off += alen;
	}
	if (off != len)
		goto bad;
	*out = o;
	return CKR_OK;
bad:
	shim_obj_free(o);
	return CKR_DEVICE_ERROR;
}

/* ----------------------------------------------------------- templates */

const CK_ATTRIBUTE *shim_tmpl_find(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (t[i].type == type)
			return &t[i];
	return NULL;
}

bool shim_tmpl_bool(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, bool *v)
{
	const CK_ATTRIBUTE *a = shim_tmpl_find(t, n, type);

	if (!a || a->ulValueLen != sizeof(CK_BBOOL) || !a->pValue)
		return false;
	*v = *(CK_BBOOL *)a->pValue != CK_FALSE;
	return true;
}

bool shim_tmpl_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
	const CK_ATTRIBUTE *a = shim_tmpl_find(t, n, type);

	if (!a || a->ulValueLen != sizeof(CK_ULONG) || !a->pValue)
		return false;
	memcpy(v, a->pValue, sizeof(*v));
	return true;
}

static CK_RV check_value(const struct rule *r, const CK_ATTRIBUTE *a)
{
	switch (r->kind) {
	case K_BOOL:
		if (a->ulValueLen != sizeof(CK_BBOOL))
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (*(CK_BBOOL *)a->pValue != CK_TRUE && *(CK_BBOOL *)a->pValue != CK_FALSE)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		return CKR_OK;
	case K_ULONG:
		return a->ulValueLen == sizeof(CK_ULONG) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	case K_DATE:
		return a->ulValueLen == 0 || a->ulValueLen == sizeof(CK_DATE)
			   ? CKR_OK
			   : CKR_ATTRIBUTE_VALUE_INVALID;
	case K_MECHS:
		return a->ulValueLen % sizeof(CK_MECHANISM_TYPE) ? CKR_ATTRIBUTE_VALUE_INVALID
								 : CKR_OK;
	case K_BYTES:
		return CKR_OK;
	}
	return CKR_ATTRIBUTE_VALUE_INVALID;
}

CK_RV shim_tmpl_check(const CK_ATTRIBUTE *t, CK_ULONG n)
{
	const struct rule *r;
	CK_ULONG i, j;
	CK_RV rv;

	if (!t && n)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++)
		if (!t[i].pValue && t[i].ulValueLen)
			return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++) {
		r = rule_of(t[i].type);
		if (!r)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		rv = check_value(r, &t[i]);
		if (rv != CKR_OK)
			return rv;
		for (j = 0; j < i; j++) {
			if (t[j].type == t[i].type &&
			    (t[j].ulValueLen != t[i].ulValueLen ||
			     (t[i].ulValueLen &&
			      memcmp(t[j].pValue, t[i].pValue, t[i].ulValueLen))))
				return CKR_TEMPLATE_INCONSISTENT;
		}
	}
	return CKR_OK;
}

bool shim_obj_is_key_value(CK_ATTRIBUTE_TYPE type)
{
	const struct rule *r = rule_of(type);

	return r && (r->flags & F_KEY_SECRET);
}

static bool valid_ec_point(const CK_ATTRIBUTE *a, uint32_t curve)
{
	const uint8_t *p;
	size_t n;

	/* DER OCTET STRING holding an uncompressed point of the curve. */
	p = shim_der_octet_content(a->pValue, a->ulValueLen, &n);
	return p && n == shim_curve_point_len(curve) && p[0] == 0x04;
}

static bool has(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	return shim_tmpl_find(t, n, type) != NULL;
}

static CK_RV check_ec(CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *t, CK_ULONG n,
		      enum shim_tmpl_use use)
{
	const CK_ATTRIBUTE *a;
	uint32_t curve = 0;

	if (has(t, n, CKA_MODULUS) || has(t, n, CKA_MODULUS_BITS) || has(t, n, CKA_PUBLIC_EXPONENT))
		return CKR_TEMPLATE_INCONSISTENT;
	a = shim_tmpl_find(t, n, CKA_EC_PARAMS);
	if (use == SHIM_TMPL_CREATE && !a)
		return CKR_TEMPLATE_INCOMPLETE;
	if (a) {
		curve = shim_curve_of_params(a->pValue, a->ulValueLen);
		if (!curve)
			return use == SHIM_TMPL_CREATE ? CKR_ATTRIBUTE_VALUE_INVALID
						       : CKR_CURVE_NOT_SUPPORTED;
	}
	a = shim_tmpl_find(t, n, CKA_EC_POINT);
	if (use != SHIM_TMPL_CREATE && a)
		return CKR_TEMPLATE_INCONSISTENT;
	if (use == SHIM_TMPL_CREATE && cls == CKO_PUBLIC_KEY) {
		if (!a)
			return CKR_TEMPLATE_INCOMPLETE;
		if (!valid_ec_point(a, curve))
			return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	return CKR_OK;
}

static CK_RV check_rsa(CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *t, CK_ULONG n,
		       enum shim_tmpl_use use)
{
	CK_ULONG bits;

	if (has(t, n, CKA_EC_PARAMS) || has(t, n, CKA_EC_POINT))
		return CKR_TEMPLATE_INCONSISTENT;
	if (use != SHIM_TMPL_CREATE) {
		if (has(t, n, CKA_MODULUS))
			return CKR_TEMPLATE_INCONSISTENT;
		if (use == SHIM_TMPL_GENERATE && cls == CKO_PUBLIC_KEY) {
			if (!shim_tmpl_ulong(t, n, CKA_MODULUS_BITS, &bits))
				return CKR_TEMPLATE_INCOMPLETE;
			if (bits < 2048 || bits > 4096 || bits % 8)
				return CKR_KEY_SIZE_RANGE;
		}
		return CKR_OK;
	}
	if (has(t, n, CKA_MODULUS_BITS))
		return CKR_TEMPLATE_INCONSISTENT;
	if (!has(t, n, CKA_MODULUS) || !has(t, n, CKA_PUBLIC_EXPONENT))
		return CKR_TEMPLATE_INCOMPLETE;
	return CKR_OK;
}

static CK_RV check_class_rules(CK_OBJECT_CLASS cls, CK_KEY_TYPE key_type, const CK_ATTRIBUTE *t,
			       CK_ULONG n, enum shim_tmpl_use use)
{
	CK_ULONG v;

	switch (cls) {
	case CKO_CERTIFICATE:
		if (!shim_tmpl_ulong(t, n, CKA_CERTIFICATE_TYPE, &v))
			return CKR_TEMPLATE_INCOMPLETE;
		if (v != CKC_X_509)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (!shim_tmpl_find(t, n, CKA_SUBJECT) || !shim_tmpl_find(t, n, CKA_VALUE))
			return CKR_TEMPLATE_INCOMPLETE;
		return CKR_OK;
	case CKO_PUBLIC_KEY:
	case CKO_PRIVATE_KEY:
		if (key_type == CKK_EC)
			return check_ec(cls, t, n, use);
		if (key_type == CKK_RSA)
			return check_rsa(cls, t, n, use);
		return CKR_TEMPLATE_INCONSISTENT;
	case CKO_SECRET_KEY:
		if (key_type != CKK_AES && key_type != CKK_GENERIC_SECRET)
			return CKR_TEMPLATE_INCONSISTENT;
		if (use == SHIM_TMPL_GENERATE && !shim_tmpl_ulong(t, n, CKA_VALUE_LEN, &v))
			return CKR_TEMPLATE_INCOMPLETE;
		if (shim_tmpl_ulong(t, n, CKA_VALUE_LEN, &v) &&
		    (key_type == CKK_AES ? v != 16 && v != 24 && v != 32 : v < 1 || v > 512))
			return CKR_KEY_SIZE_RANGE;
		return CKR_OK;
	default:
		return CKR_OK;
	}
}

CK_RV shim_obj_from_template(CK_OBJECT_CLASS cls, CK_KEY_TYPE key_type, const CK_ATTRIBUTE *t,
			     CK_ULONG n, enum shim_tmpl_use use, struct shim_object **out)
{
	uint32_t cb = class_bit(cls);
	struct shim_object *o;
	const struct rule *r;
	CK_ULONG i, v;
	size_t d;
	CK_RV rv;

	rv = shim_tmpl_check(t, n);
	if (rv != CKR_OK)
		return rv;
	if (!cb)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	for (i = 0; i < n; i++) {
		r = rule_of(t[i].type);
		if (!(r->classes & cb))
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (r->flags & F_TOKEN_MADE)
			return CKR_ATTRIBUTE_READ_ONLY;
		if ((r->flags & F_KEY_SECRET) && (cb & C_KEY))
			return use == SHIM_TMPL_CREATE ? CKR_ATTRIBUTE_READ_ONLY
						       : CKR_TEMPLATE_INCONSISTENT;
	}
	if (shim_tmpl_ulong(t, n, CKA_CLASS, &v) && v != cls)
		return CKR_TEMPLATE_INCONSISTENT;
	if (cb & C_KEY) {
		if (!shim_tmpl_ulong(t, n, CKA_KEY_TYPE, &v)) {
			if (use == SHIM_TMPL_CREATE || use == SHIM_TMPL_UNWRAP)
				return CKR_TEMPLATE_INCOMPLETE;
		} else if (v != key_type) {
			return CKR_TEMPLATE_INCONSISTENT;
		}
	}
	rv = check_class_rules(cls, key_type, t, n, use);
	if (rv != CKR_OK)
		return rv;

	o = shim_obj_new();
	if (!o)
		return CKR_HOST_MEMORY;
	rv = shim_obj_set_ulong(o, CKA_CLASS, cls);
	if (rv == CKR_OK && (cb & C_KEY))
		rv = shim_obj_set_ulong(o, CKA_KEY_TYPE, key_type);
	for (i = 0; i < n && rv == CKR_OK; i++)
		rv = shim_obj_set(o, t[i].type, t[i].pValue, t[i].ulValueLen);
	for (d = 0; d < sizeof(defaults) / sizeof(defaults[0]) && rv == CKR_OK; d++) {
		const struct dflt *df = &defaults[d];

		if (!(df->classes & cb) || shim_obj_attr(o, df->type))
			continue;
		if (df->kind == K_BOOL)
			rv = shim_obj_set_bool(o, df->type, df->v);
		else if (df->kind == K_ULONG)
			rv = shim_obj_set_ulong(o, df->type, df->v);
		else
			rv = shim_obj_set(o, df->type, NULL, 0);
	}
	if (rv != CKR_OK) {
		shim_obj_free(o);
		return rv;
	}
	*out = o;
	return CKR_OK;
}

CK_RV shim_obj_mark_generated(struct shim_object *o, CK_MECHANISM_TYPE mech)
{
	CK_OBJECT_CLASS cls = shim_obj_class(o);
	CK_RV rv;

	rv = shim_obj_set_bool(o, CKA_LOCAL, true);
	if (rv == CKR_OK)
		rv = shim_obj_set_ulong(o, CKA_KEY_GEN_MECHANISM, mech);
	if (rv == CKR_OK && (cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY)) {
		rv = shim_obj_set_bool(o, CKA_ALWAYS_SENSITIVE,
				       shim_obj_bool(o, CKA_SENSITIVE, true));
		if (rv == CKR_OK)
			rv = shim_obj_set_bool(o, CKA_NEVER_EXTRACTABLE,
					       !shim_obj_bool(o, CKA_EXTRACTABLE, false));
	}
	return rv;
}

CK_RV shim_obj_modify(struct shim_object *o, const CK_ATTRIBUTE *t, CK_ULONG n,
		      enum shim_tmpl_use use)
{
	uint32_t cb = class_bit(shim_obj_class(o));
	const struct shim_attr *cur;
	const struct rule *r;
	bool nv, cv;
	CK_ULONG i;
	CK_RV rv;

	rv = shim_tmpl_check(t, n);
	if (rv != CKR_OK)
		return rv;
	for (i = 0; i < n; i++) {
		r = rule_of(t[i].type);
		cur = shim_obj_attr(o, t[i].type);
		if (!(r->classes & cb))
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (r->flags & (F_TOKEN_MADE | F_FIXED)) {
			/* Copying may repeat a fixed value, never change it. */
			if (use == SHIM_TMPL_COPY && cur && cur->len == t[i].ulValueLen &&
			    (!cur->len || !memcmp(cur->val, t[i].pValue, cur->len)))
				continue;
			return CKR_ATTRIBUTE_READ_ONLY;
		}
		if ((r->flags & F_KEY_SECRET) && (cb & C_KEY))
			return CKR_ATTRIBUTE_READ_ONLY;
		if ((r->flags & F_COPY_ONLY) && use != SHIM_TMPL_COPY)
			return CKR_ATTRIBUTE_READ_ONLY;
		if (r->kind == K_BOOL && (r->flags & (F_ONLY_TRUE | F_ONLY_FALSE))) {
			nv = *(CK_BBOOL *)t[i].pValue != CK_FALSE;
			cv = shim_obj_bool(o, t[i].type, false);
			if ((r->flags & F_ONLY_TRUE) && cv && !nv)
				return CKR_ATTRIBUTE_READ_ONLY;
			if ((r->flags & F_ONLY_FALSE) && !cv && nv)
				return CKR_ATTRIBUTE_READ_ONLY;
		}
	}
	for (i = 0; i < n; i++) {
		rv = shim_obj_set(o, t[i].type, t[i].pValue, t[i].ulValueLen);
		if (rv != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

/* Never revealed, never matched: key values and internal attributes. */
static bool hidden_attr(const struct shim_object *o, CK_ATTRIBUTE_TYPE type, CK_RV *why)
{
	const struct rule *r = rule_of(type);

	if (!r || !(r->classes & class_bit(shim_obj_class(o)))) {
		*why = CKR_ATTRIBUTE_TYPE_INVALID;
		return true;
	}
	if ((r->flags & F_KEY_SECRET) && (class_bit(shim_obj_class(o)) & C_KEY)) {
		*why = CKR_ATTRIBUTE_SENSITIVE;
		return true;
	}
	return false;
}

bool shim_obj_value_readable(const struct shim_object *o)
{
	/* The card's secrets are 1..512 bytes (generic secret); a stored length
	 * beyond that is a damaged record, never a size to hand to a caller. */
	CK_ULONG len = shim_obj_ulong(o, CKA_VALUE_LEN, 0);

	return shim_obj_class(o) == CKO_SECRET_KEY && !shim_obj_bool(o, CKA_SENSITIVE, true) &&
	       shim_obj_bool(o, CKA_EXTRACTABLE, false) && shim_obj_attr(o, SHIM_CKA_BLOB) &&
	       len >= 1 && len <= 512;
}

bool shim_obj_wants_value(const struct shim_object *o, const CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_ULONG i;

	if (!shim_obj_value_readable(o))
		return false;
	for (i = 0; i < n; i++)
		if (t[i].type == CKA_VALUE && t[i].pValue &&
		    t[i].ulValueLen >= shim_obj_ulong(o, CKA_VALUE_LEN, 0))
			return true;
	return false;
}

/* One value into template entry @t (length query, short buffer, copy). */
static CK_RV put_attr(CK_ATTRIBUTE *t, const uint8_t *val, CK_ULONG len)
{
	if (!t->pValue) {
		t->ulValueLen = len;
		return CKR_OK;
	}
	if (t->ulValueLen < len) {
		t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (len)
		memcpy(t->pValue, val, len);
	t->ulValueLen = len;
	return CKR_OK;
}

CK_RV shim_obj_get_attrs(const struct shim_object *o, CK_ATTRIBUTE *t, CK_ULONG n,
			 const uint8_t *value, size_t value_len)
{
	bool readable = shim_obj_value_readable(o);
	const struct shim_attr *a;
	CK_RV rv = CKR_OK, r, why;
	CK_ULONG i, vlen;

	for (i = 0; i < n; i++) {
		if (t[i].type == CKA_VALUE && readable) {
			vlen = shim_obj_ulong(o, CKA_VALUE_LEN, 0);
			r = CKR_OK;
			if (value) {
				r = put_attr(&t[i], value, value_len);
			} else if (!t[i].pValue) {
				t[i].ulValueLen = vlen;
			} else {
				/* short buffer, or the card refused the value */
				r = t[i].ulValueLen < vlen ? CKR_BUFFER_TOO_SMALL
							   : CKR_ATTRIBUTE_SENSITIVE;
				t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			}
			rv = rv == CKR_OK ? r : rv;
			continue;
		}
		if (hidden_attr(o, t[i].type, &why)) {
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = rv == CKR_OK ? why : rv;
			continue;
		}
		a = shim_obj_attr(o, t[i].type);
		if (!a) {
			/* Valid for the class but not set: the standard's "invalid". */
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = rv == CKR_OK ? CKR_ATTRIBUTE_TYPE_INVALID : rv;
			continue;
		}
		r = put_attr(&t[i], a->val, a->len);
		rv = rv == CKR_OK ? r : rv;
	}
	return rv;
}

bool shim_obj_match(const struct shim_object *o, const CK_ATTRIBUTE *t, CK_ULONG n)
{
	const struct shim_attr *a;
	CK_RV why;
	CK_ULONG i;

	for (i = 0; i < n; i++) {
		if (hidden_attr(o, t[i].type, &why))
			return false;
		a = shim_obj_attr(o, t[i].type);
		if (!a || a->len != t[i].ulValueLen)
			return false;
		if (a->len && memcmp(a->val, t[i].pValue, a->len))
			return false;
	}
	return true;
}

CK_ULONG shim_obj_size(const struct shim_object *o)
{
	CK_ULONG size = 8;
	size_t i;

	for (i = 0; i < o->n; i++)
		size += 12 + o->attrs[i].len;
	return size;
}
