// SPDX-License-Identifier: GPL-2.0
/*
 * p11_ops - the operations of the PKCS#11 backend (p11card.h): keys made
 * and used in the token, wrapped under the group key in between; hashes
 * and public-key operations on the host.
 */
#include "p11_int.h"

/* Data a multi-part operation the token cannot save (GCM, HMAC, CMAC)
 * carries in its state blob until the final part. */
#define P11_BUF_MAX 65536

/* ----------------------------------------------------------- mechanisms */

/* The token mechanism (and its flags) a mechanism of the table needs here;
 * 0: done on the host; -1: not done by this backend. */
static int64_t needs(const struct hsmg_mech *m, CK_FLAGS *flags)
{
	*flags = 0;
	if (m->flags & CKF_DIGEST)
		return 0;
	switch (m->sig) {
	case HSMG_MECH_SIG_ECDSA:
		*flags = CKF_SIGN;
		return CKM_ECDSA;
	case HSMG_MECH_SIG_RSA:
		*flags = CKF_SIGN;
		return CKM_RSA_PKCS;
	case HSMG_MECH_SIG_PSS:
		*flags = CKF_SIGN;
		return CKM_RSA_PKCS_PSS;
	case HSMG_MECH_SIG_HMAC:
	case HSMG_MECH_SIG_CMAC:
		*flags = CKF_SIGN | CKF_VERIFY;
		return (int64_t)m->type;
	default:
		break;
	}
	switch (m->type) {
	case CKM_AES_KEY_GEN:
	case CKM_GENERIC_SECRET_KEY_GEN:
		*flags = CKF_GENERATE;
		return (int64_t)m->type;
	case CKM_EC_KEY_PAIR_GEN:
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		*flags = CKF_GENERATE_KEY_PAIR;
		return (int64_t)m->type;
	case CKM_AES_ECB:
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD:
	case CKM_AES_CTR:
	case CKM_AES_GCM:
		*flags = CKF_ENCRYPT | CKF_DECRYPT;
		return (int64_t)m->type;
	case CKM_RSA_PKCS_OAEP:
		*flags = CKF_DECRYPT;
		return (int64_t)m->type;
	default:
		return -1; /* wrap, unwrap, derive: not yet over PKCS#11 */
	}
}

size_t p11_mechanisms(void *bs, uint64_t *types, size_t max)
{
	struct p11_be *be = bs;
	size_t i, k = 0, n = hsmg_mech_count();
	CK_FLAGS fl;
	int64_t t;

	for (i = 0; i < n; i++) {
		const struct hsmg_mech *m = hsmg_mech_at(i);

		t = needs(m, &fl);
		if (t < 0 || (t > 0 && !p11_has_mech(be, (CK_MECHANISM_TYPE)t, fl)))
			continue;
		/* RSA PKCS#1 v1.5 as a cipher too: the token decrypts. */
		if (m->type == CKM_RSA_PKCS && !p11_has_mech(be, CKM_RSA_PKCS, CKF_DECRYPT))
			continue;
		if (k < max)
			types[k] = m->type;
		k++;
	}
	return k;
}

/* ----------------------------------------------------------------- keys */

static const struct p11_secret *secret_hdr(const struct key *k)
{
	return (const struct p11_secret *)k->secret;
}

bool p11_secret_ok(const struct key *k)
{
	const struct p11_secret *s = secret_hdr(k);
	bool priv = k->kind == KIND_EC_PRIV || k->kind == KIND_RSA_PRIV;

	if (k->secret_len < sizeof(*s) || s->magic != P11_SECRET_MAGIC ||
	    (s->wrap_mech != CKM_AES_KEY_WRAP_PAD && s->wrap_mech != CKM_AES_CBC_PAD) ||
	    !s->wrapped_len || (uint64_t)sizeof(*s) + s->wrapped_len + s->pub_len != k->secret_len)
		return false;
	if (k->kind == KIND_EC_PRIV)
		return s->pub_len == pk_ec_point_len(k->attrs.curve);
	return priv ? s->pub_len > sizeof(struct hsmg_msg_rsa_pub) : !s->pub_len;
}

static const uint8_t *secret_pub(const struct key *k)
{
	const struct p11_secret *s = secret_hdr(k);

	return k->secret + sizeof(*s) + s->wrapped_len;
}

CK_RV p11_put_pubkey(struct req_ctx *c, const struct key *k)
{
	if (k->kind != KIND_EC_PRIV && k->kind != KIND_RSA_PRIV)
		return CKR_KEY_TYPE_INCONSISTENT;
	return hsmg_msg_put(c->b, HSMG_TAG_OUT_PUBKEY, secret_pub(k), secret_hdr(k)->pub_len)
		   ? CKR_DEVICE_MEMORY
		   : CKR_OK;
}

/* The public part, for what the host computes (verify, encrypt). */
EVP_PKEY *p11_pkey_of(const struct key *k)
{
	const struct p11_secret *s = secret_hdr(k);

	if (k->kind == KIND_EC_PRIV)
		return pk_ec_load(k->attrs.curve, NULL, secret_pub(k), s->pub_len);
	if (k->kind == KIND_RSA_PRIV)
		return pk_rsa_load_pub(secret_pub(k), s->pub_len);
	return NULL;
}

/* CKA_EC_PARAMS of a curve: the DER of its OID. */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

static const uint8_t *curve_oid(uint32_t curve, size_t *len)
{
	switch (curve) {
	case HSMG_CURVE_P256:
		*len = sizeof(oid_p256);
		return oid_p256;
	case HSMG_CURVE_P384:
		*len = sizeof(oid_p384);
		return oid_p384;
	case HSMG_CURVE_P521:
		*len = sizeof(oid_p521);
		return oid_p521;
	default:
		*len = 0;
		return NULL;
	}
}

static CK_OBJECT_CLASS class_of(uint16_t kind)
{
	return kind == KIND_EC_PRIV || kind == KIND_RSA_PRIV ? CKO_PRIVATE_KEY : CKO_SECRET_KEY;
}

static CK_KEY_TYPE type_of(uint16_t kind)
{
	switch (kind) {
	case KIND_AES:
		return CKK_AES;
	case KIND_EC_PRIV:
		return CKK_EC;
	case KIND_RSA_PRIV:
		return CKK_RSA;
	default:
		return CKK_GENERIC_SECRET;
	}
}

/* Wrap the new key @h under the group key into @k's secret (with @pub
 * after it) and destroy it. */
static CK_RV wrap_new(struct p11_be *be, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct key *k,
		      const uint8_t *pub, size_t pub_len)
{
	struct p11_secret *sh = (struct p11_secret *)k->secret;
	CK_MECHANISM m = {be->wrap_mech, NULL, 0};
	CK_ULONG n = MAX_SECRET - sizeof(*sh) - pub_len;
	CK_RV rv = CKR_OK;

	if (pub_len > MAX_SECRET - sizeof(*sh) - 64)
		rv = CKR_DEVICE_MEMORY;
	memset(sh, 0, sizeof(*sh));
	if (rv == CKR_OK && be->wrap_mech == CKM_AES_CBC_PAD) {
		if (RAND_bytes(sh->iv, sizeof(sh->iv)) != 1)
			rv = CKR_DEVICE_ERROR;
		m.pParameter = sh->iv;
		m.ulParameterLen = sizeof(sh->iv);
	}
	if (rv == CKR_OK)
		rv = p11_check(be,
			       be->fl->C_WrapKey(s, &m, be->gkey, h, k->secret + sizeof(*sh), &n));
	be->fl->C_DestroyObject(s, h);
	if (rv != CKR_OK)
		return rv;
	sh->magic = P11_SECRET_MAGIC;
	sh->wrap_mech = (uint32_t)be->wrap_mech;
	sh->wrapped_len = (uint32_t)n;
	sh->pub_len = (uint32_t)pub_len;
	if (pub_len)
		memcpy(k->secret + sizeof(*sh) + n, pub, pub_len);
	k->secret_len = (uint32_t)(sizeof(*sh) + n + pub_len);
	return CKR_OK;
}

/* A key in use: its handle in the token and where it came from. */
struct p11_use {
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	struct p11_hent *ent; /* NULL: @h is ours to destroy (the cache was full) */
	bool have_s;
};

static void use_end(struct p11_be *be, struct p11_use *u, CK_RV rv)
{
	bool bad = rv == CKR_DEVICE_ERROR || rv == CKR_KEY_HANDLE_INVALID;

	if (u->h != CK_INVALID_HANDLE) {
		if (u->ent)
			p11_hc_put(be, u->ent, bad);
		else if (u->have_s)
			be->fl->C_DestroyObject(u->s, u->h);
	}
	if (u->have_s)
		p11_sess_put(be, u->s);
	memset(u, 0, sizeof(*u));
}

/*
 * The key blob of @tag checked for the request (card_key_get(): binding,
 * kind, usage) and present in the token: from the handle cache, or
 * unwrapped into a session object now.  @u gets a token session too.
 */
static CK_RV use_key_as(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use,
			struct key *k, struct p11_use *u, bool readable)
{
	struct p11_be *be = p11_be_of(c);
	const struct p11_secret *sh;
	const void *blob;
	uint32_t blen;
	uint8_t id[32];
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE kt;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE, enc, dec, sign, verify, sens, ext;
	CK_OBJECT_HANDLE h, evict;
	CK_MECHANISM m;
	CK_RV rv;

	memset(u, 0, sizeof(*u));
	u->h = CK_INVALID_HANDLE;
	rv = card_key_get(c, tag, kinds, use, k);
	if (rv != CKR_OK)
		return rv;
	rv = p11_sess_get(be, &u->s);
	if (rv != CKR_OK)
		return rv;
	u->have_s = true;
	hsmg_msg_get(c->v, tag, &blob, &blen);
	SHA256(blob, blen, id);
	/* A readable copy (export) is made for the request alone. */
	u->h = readable ? CK_INVALID_HANDLE : p11_hc_get(be, id, &u->ent);
	if (u->h != CK_INVALID_HANDLE)
		return CKR_OK;

	sh = secret_hdr(k);
	cls = class_of(k->kind);
	kt = type_of(k->kind);
	enc = (k->attrs.usage & HSMG_KEY_USE_ENCRYPT) && k->kind == KIND_AES;
	dec = (k->attrs.usage & HSMG_KEY_USE_DECRYPT) &&
	      (k->kind == KIND_AES || k->kind == KIND_RSA_PRIV);
	sign = (k->attrs.usage & HSMG_KEY_USE_SIGN) && k->kind != KIND_AES;
	verify = (k->attrs.usage & HSMG_KEY_USE_VERIFY) && k->kind == KIND_SECRET;
	if (k->kind == KIND_AES) /* CMAC */
		sign = verify = (k->attrs.usage & (HSMG_KEY_USE_SIGN | HSMG_KEY_USE_VERIFY)) != 0;
	/* Keys are unwrapped sensitive and not extractable; a readable copy of
	 * a secret key made not sensitive and extractable (PKCS #11 reveals
	 * CKA_VALUE only of a key that is neither) for an export. */
	sens = readable ? CK_FALSE : CK_TRUE;
	ext = readable ? CK_TRUE : CK_FALSE;
	{
		CK_ATTRIBUTE tmpl[] = {
		    {CKA_CLASS, &cls, sizeof(cls)},	  {CKA_KEY_TYPE, &kt, sizeof(kt)},
		    {CKA_TOKEN, &f, sizeof(f)},		  {CKA_PRIVATE, &t, sizeof(t)},
		    {CKA_SENSITIVE, &sens, sizeof(sens)}, {CKA_EXTRACTABLE, &ext, sizeof(ext)},
		    {CKA_ENCRYPT, &enc, sizeof(enc)},	  {CKA_DECRYPT, &dec, sizeof(dec)},
		    {CKA_SIGN, &sign, sizeof(sign)},	  {CKA_VERIFY, &verify, sizeof(verify)},
		};
		/* A private key has no CKA_ENCRYPT / CKA_VERIFY. */
		CK_ULONG nt = k->kind == KIND_EC_PRIV || k->kind == KIND_RSA_PRIV ? 6 : 10;

		m.mechanism = sh->wrap_mech;
		m.pParameter = sh->wrap_mech == CKM_AES_CBC_PAD ? (void *)sh->iv : NULL;
		m.ulParameterLen = m.pParameter ? sizeof(sh->iv) : 0;
		if (nt == 6) {
			tmpl[6] = (CK_ATTRIBUTE){CKA_SIGN, &sign, sizeof(sign)};
			tmpl[7] = (CK_ATTRIBUTE){CKA_DECRYPT, &dec, sizeof(dec)};
			nt = 8;
		}
		rv = be->fl->C_UnwrapKey(u->s, &m, be->gkey, k->secret + sizeof(*sh),
					 sh->wrapped_len, tmpl, nt, &h);
	}
	if (rv != CKR_OK && readable && !p11_rv_is_failure(rv))
		return CKR_ATTRIBUTE_SENSITIVE; /* the token keeps unwrapped keys unreadable */
	if (rv != CKR_OK) {
		/* The blob is authentic (its seal held): the token failed. */
		p11_check(be, p11_rv_is_failure(rv) ? rv : CKR_DEVICE_ERROR);
		return CKR_DEVICE_ERROR;
	}
	u->h = h;
	if (readable)
		return CKR_OK; /* destroyed by use_end() */
	p11_hc_add(be, id, h, &u->ent, &evict);
	if (evict != CK_INVALID_HANDLE)
		be->fl->C_DestroyObject(u->s, evict);
	return CKR_OK;
}

static CK_RV use_key(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use, struct key *k,
		     struct p11_use *u)
{
	return use_key_as(c, tag, kinds, use, k, u, false);
}

/* ----------------------------------------------------------- generation */

CK_RV p11_op_generate_key(struct req_ctx *c)
{
	struct p11_be *be = p11_be_of(c);
	struct hsmg_msg_key_attrs a;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt;
	CK_ULONG vlen;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE, wwt, sens;
	CK_MECHANISM m = {c->v->hdr.mechanism, NULL, 0};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	const uint8_t *param;
	uint32_t plen;
	struct key k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	card_get_param(c, &param, &plen);
	rv = card_get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	switch (m.mechanism) {
	case CKM_AES_KEY_GEN:
		if (a.key_type != CKK_AES || a.curve != HSMG_CURVE_NONE)
			return CKR_TEMPLATE_INCONSISTENT;
		if (a.value_len != 16 && a.value_len != 24 && a.value_len != 32)
			return CKR_KEY_SIZE_RANGE;
		k.kind = KIND_AES;
		kt = CKK_AES;
		break;
	case CKM_GENERIC_SECRET_KEY_GEN:
		if (a.key_type != CKK_GENERIC_SECRET || a.curve != HSMG_CURVE_NONE)
			return CKR_TEMPLATE_INCONSISTENT;
		if (a.value_len < 1 || a.value_len > MAX_GENERIC)
			return CKR_KEY_SIZE_RANGE;
		k.kind = KIND_SECRET;
		kt = CKK_GENERIC_SECRET;
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
	vlen = a.value_len;
	wwt = be->trusted ? CK_TRUE : CK_FALSE;
	/* A key the application may read (CKA_SENSITIVE false) is made so in
	 * the token: it is read there (export), never taken out of a blob. */
	sens = a.flags & HSMG_KEY_NOT_SENSITIVE ? CK_FALSE : CK_TRUE;
	{
		CK_ATTRIBUTE tmpl[] = {
		    {CKA_CLASS, &cls, sizeof(cls)},
		    {CKA_KEY_TYPE, &kt, sizeof(kt)},
		    {CKA_VALUE_LEN, &vlen, sizeof(vlen)},
		    {CKA_TOKEN, &f, sizeof(f)},
		    {CKA_PRIVATE, &t, sizeof(t)},
		    {CKA_SENSITIVE, &sens, sizeof(sens)},
		    {CKA_EXTRACTABLE, &t, sizeof(t)},
		    {CKA_WRAP_WITH_TRUSTED, &wwt, sizeof(wwt)},
		};

		rv = p11_sess_get(be, &s);
		if (rv != CKR_OK)
			return rv;
		rv = p11_check(be, be->fl->C_GenerateKey(s, &m, tmpl, wwt ? 8 : 7, &h));
	}
	if (rv == CKR_OK)
		rv = wrap_new(be, s, h, &k, NULL, 0);
	p11_sess_put(be, s);
	if (rv == CKR_OK)
		rv = card_finish_new_key(c, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* CKA_EC_POINT is a DER OCTET STRING around the point (some tokens give
 * the bare point). */
static CK_RV ec_point(const uint8_t *v, size_t len, uint32_t curve, uint8_t *out)
{
	size_t pl = pk_ec_point_len(curve), hl;

	if (len == pl && v[0] == 0x04) {
		memcpy(out, v, pl);
		return CKR_OK;
	}
	hl = pl < 128 ? 2 : 3;
	if (len != pl + hl || v[0] != 0x04 || (hl == 2 && v[1] != pl) ||
	    (hl == 3 && (v[1] != 0x81 || v[2] != pl)) || v[hl] != 0x04)
		return CKR_DEVICE_ERROR;
	memcpy(out, v + hl, pl);
	return CKR_OK;
}

/* The public key of a new pair in the format of HSMG_TAG_OUT_PUBKEY. */
static CK_RV read_pub(struct p11_be *be, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub,
		      const struct hsmg_msg_key_attrs *a, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t v[PK_EC_MAX_POINT + 8];
	struct hsmg_msg_rsa_pub rp;
	CK_RV rv;

	if (a->key_type == CKK_EC) {
		CK_ATTRIBUTE at = {CKA_EC_POINT, v, sizeof(v)};

		rv = p11_check(be, be->fl->C_GetAttributeValue(s, pub, &at, 1));
		if (rv == CKR_OK)
			rv = ec_point(v, at.ulValueLen, a->curve, out);
		*out_len = pk_ec_point_len(a->curve);
		return rv;
	}
	{
		CK_ATTRIBUTE at[] = {
		    {CKA_MODULUS, out + sizeof(rp), PK_RSA_MAX_BYTES},
		    {CKA_PUBLIC_EXPONENT, NULL, 0},
		};

		if (cap < sizeof(rp) + PK_RSA_MAX_BYTES + 8)
			return CKR_DEVICE_MEMORY;
		rv = p11_check(be, be->fl->C_GetAttributeValue(s, pub, at, 1));
		if (rv != CKR_OK)
			return rv;
		at[1].pValue = out + sizeof(rp) + at[0].ulValueLen;
		at[1].ulValueLen = 8;
		rv = p11_check(be, be->fl->C_GetAttributeValue(s, pub, &at[1], 1));
		if (rv != CKR_OK)
			return rv;
		rp.modulus_len = (uint32_t)at[0].ulValueLen;
		rp.exponent_len = (uint32_t)at[1].ulValueLen;
		memcpy(out, &rp, sizeof(rp));
		*out_len = sizeof(rp) + rp.modulus_len + rp.exponent_len;
		return CKR_OK;
	}
}

CK_RV p11_op_generate_keypair(struct req_ctx *c)
{
	static const uint8_t f4[] = {0x01, 0x00, 0x01};
	struct p11_be *be = p11_be_of(c);
	struct hsmg_msg_key_attrs a;
	CK_MECHANISM m = {c->v->hdr.mechanism, NULL, 0};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE, wwt = be->trusted ? CK_TRUE : CK_FALSE;
	CK_ULONG bits;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	const uint8_t *param, *oid = NULL;
	uint8_t pubv[sizeof(struct hsmg_msg_rsa_pub) + PK_RSA_MAX_BYTES + 8];
	size_t oid_len = 0, pub_len = 0;
	uint32_t plen;
	struct key k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	card_get_param(c, &param, &plen);
	rv = card_get_attrs(c, &a);
	if (rv != CKR_OK)
		return rv;
	switch (m.mechanism) {
	case CKM_EC_KEY_PAIR_GEN:
		if (a.key_type != CKK_EC || a.value_len)
			return CKR_TEMPLATE_INCONSISTENT;
		oid = curve_oid(a.curve, &oid_len);
		if (!oid)
			return CKR_CURVE_NOT_SUPPORTED;
		if (plen)
			return CKR_MECHANISM_PARAM_INVALID;
		k.kind = KIND_EC_PRIV;
		break;
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		if (a.key_type != CKK_RSA || a.curve)
			return CKR_TEMPLATE_INCONSISTENT;
		if (a.value_len < 2048 || a.value_len > 4096 || a.value_len % 8)
			return CKR_KEY_SIZE_RANGE;
		if (plen > 8)
			return CKR_MECHANISM_PARAM_INVALID;
		k.kind = KIND_RSA_PRIV;
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	rv = card_usage_fix(&a, k.kind);
	if (rv != CKR_OK)
		return rv;
	k.attrs = a;
	bits = a.value_len;
	{
		CK_ATTRIBUTE pt_ec[] = {
		    {CKA_TOKEN, &f, sizeof(f)},
		    {CKA_VERIFY, &t, sizeof(t)},
		    {CKA_EC_PARAMS, (void *)oid, oid_len},
		};
		CK_ATTRIBUTE pt_rsa[] = {
		    {CKA_TOKEN, &f, sizeof(f)},
		    {CKA_VERIFY, &t, sizeof(t)},
		    {CKA_MODULUS_BITS, &bits, sizeof(bits)},
		    {CKA_PUBLIC_EXPONENT, plen ? (void *)param : (void *)f4,
		     plen ? plen : sizeof(f4)},
		};
		CK_ATTRIBUTE st[] = {
		    {CKA_TOKEN, &f, sizeof(f)},	    {CKA_PRIVATE, &t, sizeof(t)},
		    {CKA_SENSITIVE, &t, sizeof(t)}, {CKA_EXTRACTABLE, &t, sizeof(t)},
		    {CKA_SIGN, &t, sizeof(t)},	    {CKA_WRAP_WITH_TRUSTED, &wwt, sizeof(wwt)},
		};
		bool ec = k.kind == KIND_EC_PRIV;

		rv = p11_sess_get(be, &s);
		if (rv != CKR_OK)
			return rv;
		rv = be->fl->C_GenerateKeyPair(s, &m, ec ? pt_ec : pt_rsa, ec ? 3 : 4, st,
					       wwt ? 6 : 5, &pub, &priv);
		if (rv == CKR_CURVE_NOT_SUPPORTED || rv == CKR_DOMAIN_PARAMS_INVALID)
			rv = CKR_CURVE_NOT_SUPPORTED;
		else if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT)
			rv = ec ? CKR_CURVE_NOT_SUPPORTED : CKR_KEY_SIZE_RANGE;
		else
			rv = p11_check(be, rv);
	}
	if (rv == CKR_OK)
		rv = read_pub(be, s, pub, &a, pubv, sizeof(pubv), &pub_len);
	if (pub != CK_INVALID_HANDLE)
		be->fl->C_DestroyObject(s, pub);
	if (rv == CKR_OK)
		rv = wrap_new(be, s, priv, &k, pubv, pub_len);
	else if (priv != CK_INVALID_HANDLE)
		be->fl->C_DestroyObject(s, priv);
	p11_sess_put(be, s);
	if (rv == CKR_OK)
		rv = card_finish_new_key(c, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* ------------------------------------------------------------- random */

CK_RV p11_op_random(struct req_ctx *c)
{
	struct p11_be *be = p11_be_of(c);
	CK_SESSION_HANDLE s;
	uint32_t n;
	uint8_t *out;
	CK_RV rv;

	if (hsmg_msg_get_fixed(c->v, HSMG_TAG_PARAM, &n, sizeof(n)))
		return CKR_ARGUMENTS_BAD;
	if (n < 1 || n > HSMG_MSG_MAX_RANDOM)
		return CKR_DATA_LEN_RANGE;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, n);
	if (!out)
		return CKR_DEVICE_MEMORY;
	rv = p11_sess_get(be, &s);
	if (rv != CKR_OK)
		return rv;
	rv = p11_check(be, be->fl->C_GenerateRandom(s, out, n));
	p11_sess_put(be, s);
	if (rv != CKR_OK)
		return rv;
	return hsmg_msg_put_end(c->b, n) ? CKR_DEVICE_MEMORY : CKR_OK;
}

/* The clear value of a secret key made not sensitive and extractable, read
 * in the token from the key unwrapped there. */
CK_RV p11_op_export_key(struct req_ctx *c)
{
	struct p11_be *be = p11_be_of(c);
	struct p11_use u;
	struct key k;
	uint8_t *out;
	CK_RV rv;

	memset(&u, 0, sizeof(u));
	rv = card_key_get(c, HSMG_TAG_KEY, KM(KIND_AES) | KM(KIND_SECRET), 0, &k);
	if (rv == CKR_OK && !(k.attrs.flags & HSMG_KEY_EXTRACTABLE))
		rv = CKR_KEY_UNEXTRACTABLE;
	else if (rv == CKR_OK && !(k.attrs.flags & HSMG_KEY_NOT_SENSITIVE))
		rv = CKR_ATTRIBUTE_SENSITIVE;
	if (rv == CKR_OK)
		rv = use_key_as(c, HSMG_TAG_KEY, KM(KIND_AES) | KM(KIND_SECRET), 0, &k, &u, true);
	if (rv == CKR_OK) {
		CK_ATTRIBUTE a = {CKA_VALUE, NULL, k.attrs.value_len};

		out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, k.attrs.value_len);
		a.pValue = out;
		rv = out ? p11_check(be, be->fl->C_GetAttributeValue(u.s, u.h, &a, 1))
			 : CKR_DEVICE_MEMORY;
		if (rv == CKR_OK && a.ulValueLen != k.attrs.value_len)
			rv = p11_check(be, CKR_DEVICE_ERROR);
		if (rv == CKR_OK && hsmg_msg_put_end(c->b, k.attrs.value_len))
			rv = CKR_DEVICE_MEMORY;
	}
	if (u.have_s)
		use_end(be, &u, rv);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

CK_RV p11_op_unsupported(struct req_ctx *c)
{
	(void)c;
	return CKR_MECHANISM_INVALID;
}

/* ---------------------------------------------------------- signatures */

/* The DigestInfo prefix of PKCS #1 v1.5 signatures (RFC 8017, 9.2). */
static const uint8_t *digest_info(uint64_t hash, size_t *len)
{
	static const uint8_t sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
				       0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
	static const uint8_t sha2[][19] = {
	    {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	     0x04, 0x05, 0x00, 0x04, 0x1c},
	    {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	     0x01, 0x05, 0x00, 0x04, 0x20},
	    {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	     0x02, 0x05, 0x00, 0x04, 0x30},
	    {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	     0x03, 0x05, 0x00, 0x04, 0x40},
	};

	*len = 19;
	switch (hash) {
	case CKM_SHA_1:
		*len = sizeof(sha1);
		return sha1;
	case CKM_SHA224:
		return sha2[0];
	case CKM_SHA256:
		return sha2[1];
	case CKM_SHA384:
		return sha2[2];
	case CKM_SHA512:
		return sha2[3];
	default:
		*len = 0;
		return NULL;
	}
}

static CK_RSA_PKCS_MGF_TYPE mgf_of_hash(uint64_t mgf)
{
	return (CK_RSA_PKCS_MGF_TYPE)mgf; /* CKG_MGF1_*: the same values */
}

/*
 * State of a multi-part signature (kind STATE_SIGN): an asymmetric one
 * hashes here, a MAC carries its data (the token cannot give its state).
 */
struct p11_sig_state {
	uint8_t keyhash[32];
	uint64_t mech;
	struct hsmg_msg_pss_param pss;
	uint32_t mac_len;
	uint32_t hs_len;
	uint8_t hs[HS_MAX_STATE];
	uint32_t buf_len;
	uint8_t buf[]; /* MACs: the data so far */
};

static CK_RV sig_param(struct req_ctx *c, const struct hsmg_mech *sm, struct p11_sig_state *st)
{
	const uint8_t *param;
	uint32_t plen, ml;

	card_get_param(c, &param, &plen);
	if (sm->sig == HSMG_MECH_SIG_PSS) {
		if (plen != sizeof(st->pss))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&st->pss, param, sizeof(st->pss));
		if (!pk_md(st->pss.hash) || !pk_mgf_md(st->pss.mgf) ||
		    (sm->hash && st->pss.hash != sm->hash) || st->pss.salt_len > PK_RSA_MAX_BYTES)
			return CKR_MECHANISM_PARAM_INVALID;
	} else if (sm->param == HSMG_MECH_P_MACLEN) {
		if (plen != sizeof(ml))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&ml, param, sizeof(ml));
		if (ml < 1 || ml > sm->out_len)
			return CKR_MECHANISM_PARAM_INVALID;
		st->mac_len = ml;
	} else if (plen) {
		return CKR_MECHANISM_PARAM_INVALID;
	} else {
		st->mac_len = sm->out_len;
	}
	return CKR_OK;
}

/* Sign @in with the token (raw mechanisms; MACs with their own). */
static CK_RV token_sign(struct p11_be *be, struct p11_use *u, const struct hsmg_mech *sm,
			const struct p11_sig_state *st, const uint8_t *in, size_t len, uint8_t *out,
			size_t cap, size_t *olen)
{
	CK_RSA_PKCS_PSS_PARAMS pp;
	CK_ULONG ml;
	CK_MECHANISM m = {0, NULL, 0};
	CK_ULONG n = cap;
	CK_RV rv;

	switch (sm->sig) {
	case HSMG_MECH_SIG_ECDSA:
		m.mechanism = CKM_ECDSA;
		break;
	case HSMG_MECH_SIG_RSA:
		m.mechanism = CKM_RSA_PKCS;
		break;
	case HSMG_MECH_SIG_PSS:
		pp.hashAlg = st->pss.hash;
		pp.mgf = mgf_of_hash(st->pss.mgf);
		pp.sLen = st->pss.salt_len;
		m.mechanism = CKM_RSA_PKCS_PSS;
		m.pParameter = &pp;
		m.ulParameterLen = sizeof(pp);
		break;
	default: /* HMAC, CMAC */
		m.mechanism = sm->type;
		if (sm->param == HSMG_MECH_P_MACLEN) {
			ml = st->mac_len;
			m.pParameter = &ml;
			m.ulParameterLen = sizeof(ml);
		}
		break;
	}
	rv = p11_check(be, be->fl->C_SignInit(u->s, &m, u->h));
	if (rv == CKR_OK)
		rv = p11_check(be, be->fl->C_Sign(u->s, (CK_BYTE_PTR)in, len, out, &n));
	*olen = n;
	return rv;
}

static CK_RV token_mac_verify(struct p11_be *be, struct p11_use *u, const struct hsmg_mech *sm,
			      const struct p11_sig_state *st, const uint8_t *in, size_t len,
			      const uint8_t *sig, size_t sig_len)
{
	CK_ULONG ml = st->mac_len;
	CK_MECHANISM m = {sm->type, NULL, 0};
	CK_RV rv;

	if (sig_len != st->mac_len)
		return CKR_SIGNATURE_LEN_RANGE;
	if (sm->param == HSMG_MECH_P_MACLEN) {
		m.pParameter = &ml;
		m.ulParameterLen = sizeof(ml);
	}
	rv = p11_check(be, be->fl->C_VerifyInit(u->s, &m, u->h));
	if (rv == CKR_OK)
		rv = p11_check(
		    be, be->fl->C_Verify(u->s, (CK_BYTE_PTR)in, len, (CK_BYTE_PTR)sig, sig_len));
	return rv;
}

CK_RV p11_op_sign_verify(struct req_ctx *c, bool sign, enum part part)
{
	struct p11_be *be = p11_be_of(c);
	const struct hsmg_mech *sm = hsmg_mech_find(c->v->hdr.mechanism);
	bool mac, has_data;
	uint16_t skind = sign ? STATE_SIGN : STATE_VERIFY;
	const void *data = NULL, *sig = NULL, *blob;
	uint32_t len = 0, sig_len = 0, blen, kinds;
	uint8_t kh[32], md[HS_MAX_MD + 32], *out;
	size_t st_len = 0, md_len = 0, olen = 0, pre_len, st_cap;
	const uint8_t *pre, *tbs;
	size_t tbs_len;
	struct p11_sig_state *st = NULL;
	struct p11_use u;
	struct key k;
	CK_RV rv;

	if (!sm || sm->sig == HSMG_MECH_SIG_NONE)
		return CKR_MECHANISM_INVALID;
	mac = sm->sig == HSMG_MECH_SIG_HMAC || sm->sig == HSMG_MECH_SIG_CMAC;
	/* Verifying with a public key is the host's. */
	if (!sign && !mac)
		return card_op_sigop(c, false, part);
	if (part != PART_SINGLE && !mac && !sm->hash)
		return CKR_MECHANISM_INVALID;
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if ((part == PART_SINGLE || part == PART_UPDATE) && !has_data)
		return CKR_ARGUMENTS_BAD;
	if (!sign && (part == PART_SINGLE || part == PART_FINAL) &&
	    !hsmg_msg_get(c->v, HSMG_TAG_SIGNATURE, &sig, &sig_len))
		return CKR_ARGUMENTS_BAD;
	if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
	    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
		return CKR_ARGUMENTS_BAD;
	kinds = sm->sig == HSMG_MECH_SIG_HMAC	 ? KM(KIND_SECRET)
		: sm->sig == HSMG_MECH_SIG_CMAC	 ? KM(KIND_AES)
		: sm->sig == HSMG_MECH_SIG_ECDSA ? KM(KIND_EC_PRIV)
						 : KM(KIND_RSA_PRIV);
	/* Parts before the last need the key checked, not the token. */
	if (part == PART_INIT || part == PART_UPDATE) {
		rv = card_key_get(c, HSMG_TAG_KEY, kinds,
				  sign ? HSMG_KEY_USE_SIGN : HSMG_KEY_USE_VERIFY, &k);
		memset(&u, 0, sizeof(u));
	} else {
		rv = use_key(c, HSMG_TAG_KEY, kinds, sign ? HSMG_KEY_USE_SIGN : HSMG_KEY_USE_VERIFY,
			     &k, &u);
	}
	if (rv != CKR_OK)
		goto out;
	hsmg_msg_get(c->v, HSMG_TAG_KEY, &blob, &blen);
	card_key_id_hash(blob, blen, kh);

	st_cap = sizeof(*st) + (mac ? P11_BUF_MAX : 0);
	st = calloc(1, st_cap);
	if (!st) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	if (part == PART_SINGLE || part == PART_INIT) {
		rv = sig_param(c, sm, st);
		memcpy(st->keyhash, kh, sizeof(kh));
		st->mech = sm->type;
		if (rv == CKR_OK && !mac && sm->hash) {
			size_t hl = 0;

			if (hs_init(sm->hash, st->hs, &hl))
				rv = CKR_DEVICE_ERROR;
			st->hs_len = (uint32_t)hl;
		}
	} else {
		if (hsmg_msg_get(c->v, HSMG_TAG_PARAM, NULL, NULL)) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
		rv = card_state_open(c, skind, st, st_cap, 0, &st_len);
		if (rv == CKR_OK && (st_len < sizeof(*st) || st_len != sizeof(*st) + st->buf_len ||
				     !card_ct_equal(st->keyhash, kh, sizeof(kh)) ||
				     st->mech != sm->type || st->hs_len > HS_MAX_STATE))
			rv = CKR_SAVED_STATE_INVALID;
	}
	if (rv != CKR_OK)
		goto out;
	/* Take this part's data. */
	if (has_data && part != PART_INIT && part != PART_SINGLE) {
		if (mac) {
			if ((uint64_t)st->buf_len + len > P11_BUF_MAX) {
				rv = CKR_DATA_LEN_RANGE;
				goto out;
			}
			memcpy(st->buf + st->buf_len, data, len);
			st->buf_len += len;
		} else if (hs_update(sm->hash, st->hs, st->hs_len, data, len)) {
			rv = CKR_SAVED_STATE_INVALID;
			goto out;
		}
	}
	if (part == PART_INIT || part == PART_UPDATE) {
		rv = card_state_seal(c, skind, st, sizeof(*st) + st->buf_len);
		goto out;
	}

	/* The last part: what the token signs. */
	if (mac) {
		tbs = part == PART_SINGLE ? data : st->buf;
		tbs_len = part == PART_SINGLE ? len : st->buf_len;
	} else if (sm->hash) {
		if (part == PART_SINGLE && hs_update(sm->hash, st->hs, st->hs_len, data, len)) {
			rv = CKR_DEVICE_ERROR;
			goto out;
		}
		pre = sm->sig == HSMG_MECH_SIG_RSA ? digest_info(sm->hash, &pre_len) : NULL;
		if (!pre)
			pre_len = 0;
		else
			memcpy(md, pre, pre_len);
		if (hs_final(sm->hash, st->hs, st->hs_len, md + pre_len, &md_len)) {
			rv = CKR_SAVED_STATE_INVALID;
			goto out;
		}
		tbs = md;
		tbs_len = pre_len + md_len;
	} else {
		tbs = data;
		tbs_len = len;
	}
	if (!sign) {
		rv = token_mac_verify(be, &u, sm, st, tbs, tbs_len, sig, sig_len);
		goto out;
	}
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, PK_RSA_MAX_BYTES);
	rv = out ? token_sign(be, &u, sm, st, tbs, tbs_len, out, PK_RSA_MAX_BYTES, &olen)
		 : CKR_DEVICE_MEMORY;
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, olen))
		rv = CKR_DEVICE_MEMORY;
out:
	if (u.have_s)
		use_end(be, &u, rv);
	if (st) {
		OPENSSL_cleanse(st, st_cap);
		free(st);
	}
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* -------------------------------------------------------------- ciphers */

/*
 * State of a multi-part AES operation.  ECB, CBC and CBC_PAD go through
 * the token a block at a time with the chaining value here (any member
 * continues it); CTR likewise with the next counter block; GCM keeps its
 * parameter and the data until the final part.
 */
struct p11_cipher_state {
	uint8_t keyhash[32];
	uint64_t mech;
	uint32_t enc;
	uint32_t ctr_bits;
	uint8_t iv[16];	    /* CBC: the chaining value; CTR: the next counter block */
	uint32_t param_len; /* GCM: bytes of parameter at the head of @buf */
	uint32_t buf_len;   /* bytes in @buf (parameter included) */
	uint8_t buf[];	    /* a partial block (CBC_PAD decrypt: up to a whole one) */
};

static bool is_aes(uint64_t mech)
{
	return mech == CKM_AES_ECB || mech == CKM_AES_CBC || mech == CKM_AES_CBC_PAD ||
	       mech == CKM_AES_CTR || mech == CKM_AES_GCM;
}

/* Add @n blocks to the counter of @cb (@bits low-order bits); -1 when it
 * would come back to where it started. */
static int ctr_add(uint8_t cb[16], uint32_t bits, uint64_t n)
{
	uint8_t mask;
	uint64_t carry = n;
	int i;

	if (bits < 64 && n >> bits)
		return -1;
	for (i = 15; i >= 0 && carry; i--) {
		unsigned int pos = (unsigned int)(15 - i) * 8;

		if (pos >= bits)
			return -1;
		mask = bits - pos >= 8 ? 0xff : (uint8_t)((1U << (bits - pos)) - 1);
		carry += cb[i] & mask;
		cb[i] = (uint8_t)((cb[i] & ~mask) | (carry & mask));
		carry >>= bits - pos >= 8 ? 8 : bits - pos;
	}
	return carry ? -1 : 0;
}

/* One token call over @in with @st's chaining (ECB, CBC, CTR blocks, or
 * the whole of a single-part or final). */
static CK_RV token_crypt(struct p11_be *be, struct p11_use *u, bool enc, CK_MECHANISM *m,
			 const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
	CK_ULONG n = cap;
	CK_RV rv;

	rv = enc ? be->fl->C_EncryptInit(u->s, m, u->h) : be->fl->C_DecryptInit(u->s, m, u->h);
	if (rv == CKR_OK)
		rv = enc ? be->fl->C_Encrypt(u->s, (CK_BYTE_PTR)in, len, out, &n)
			 : be->fl->C_Decrypt(u->s, (CK_BYTE_PTR)in, len, out, &n);
	*olen = n;
	return p11_check(be, rv);
}

/* The mechanism of a token call for @st (GCM: from its kept parameter). */
static CK_RV crypt_mech(struct p11_cipher_state *st, uint64_t mech, CK_MECHANISM *m,
			CK_AES_CTR_PARAMS *ctr, CK_GCM_PARAMS *gcm)
{
	struct hsmg_msg_gcm_param gp;

	m->mechanism = mech;
	m->pParameter = NULL;
	m->ulParameterLen = 0;
	switch (mech) {
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD:
		m->pParameter = st->iv;
		m->ulParameterLen = 16;
		break;
	case CKM_AES_CTR:
		ctr->ulCounterBits = st->ctr_bits;
		memcpy(ctr->cb, st->iv, 16);
		m->pParameter = ctr;
		m->ulParameterLen = sizeof(*ctr);
		break;
	case CKM_AES_GCM:
		memcpy(&gp, st->buf, sizeof(gp));
		gcm->pIv = st->buf + sizeof(gp);
		gcm->ulIvLen = gp.iv_bytes;
		gcm->ulIvBits = gp.iv_bytes * 8;
		gcm->pAAD = st->buf + sizeof(gp) + gp.iv_bytes;
		gcm->ulAADLen = gp.aad_bytes;
		gcm->ulTagBits = gp.tag_nbits;
		m->pParameter = gcm;
		m->ulParameterLen = sizeof(*gcm);
		break;
	default:
		break;
	}
	return CKR_OK;
}

/* Check PARAM and set up @st. */
static CK_RV cipher_start(struct req_ctx *c, uint64_t mech, bool enc, struct p11_cipher_state *st)
{
	struct hsmg_msg_ctr_param cp;
	struct hsmg_msg_gcm_param gp;
	const uint8_t *param;
	uint32_t plen;

	card_get_param(c, &param, &plen);
	st->mech = mech;
	st->enc = enc;
	switch (mech) {
	case CKM_AES_ECB:
		return plen ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD:
		if (plen != 16)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(st->iv, param, 16);
		return CKR_OK;
	case CKM_AES_CTR:
		if (plen != sizeof(cp))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&cp, param, sizeof(cp));
		if (cp.ctr_nbits < 1 || cp.ctr_nbits > 128 || cp.rsvd)
			return CKR_MECHANISM_PARAM_INVALID;
		st->ctr_bits = cp.ctr_nbits;
		memcpy(st->iv, cp.cb, 16);
		return CKR_OK;
	case CKM_AES_GCM:
		if (plen < sizeof(gp))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&gp, param, sizeof(gp));
		if (gp.iv_bytes < 1 || gp.iv_bytes > HSMG_MSG_GCM_MAX_IV || gp.rsvd ||
		    gp.tag_nbits < 32 || gp.tag_nbits > 128 || gp.tag_nbits % 8 ||
		    (uint64_t)sizeof(gp) + gp.iv_bytes + gp.aad_bytes != plen || plen > P11_BUF_MAX)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(st->buf, param, plen);
		st->param_len = st->buf_len = plen;
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

/* A token answer about the data rather than the token. */
static CK_RV data_rv(struct p11_be *be, CK_RV rv, bool enc)
{
	switch (rv) {
	case CKR_DATA_LEN_RANGE:
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
	case CKR_ENCRYPTED_DATA_INVALID:
	case CKR_DATA_INVALID:
		return rv;
	case CKR_FUNCTION_FAILED: /* tokens' words for a bad tag, padding or */
	case CKR_GENERAL_ERROR:	  /* ciphertext (SoftHSM: OAEP) */
		return enc ? p11_check(be, rv) : CKR_ENCRYPTED_DATA_INVALID;
	default:
		return p11_check(be, rv);
	}
}

/* RSA decryption in the token (encryption is the host's). */
static CK_RV rsa_decrypt(struct req_ctx *c)
{
	struct p11_be *be = p11_be_of(c);
	struct hsmg_msg_oaep_param op;
	CK_RSA_PKCS_OAEP_PARAMS oaep;
	CK_MECHANISM m = {c->v->hdr.mechanism, NULL, 0};
	const uint8_t *param;
	const void *data;
	uint32_t plen, len;
	size_t n = 0;
	struct p11_use u;
	struct key k;
	uint8_t *out;
	CK_RV rv;

	card_get_param(c, &param, &plen);
	if (m.mechanism == CKM_RSA_PKCS_OAEP) {
		if (plen < sizeof(op))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&op, param, sizeof(op));
		if (!pk_md(op.hash) || !pk_mgf_md(op.mgf) || op.rsvd ||
		    op.label_len > HSMG_MSG_MAX_LABEL ||
		    (op.source != CKZ_DATA_SPECIFIED && !(op.source == 0 && !op.label_len)) ||
		    (uint64_t)sizeof(op) + op.label_len != plen)
			return CKR_MECHANISM_PARAM_INVALID;
		oaep.hashAlg = op.hash;
		oaep.mgf = mgf_of_hash(op.mgf);
		oaep.source = CKZ_DATA_SPECIFIED;
		oaep.pSourceData = op.label_len ? (void *)(param + sizeof(op)) : NULL;
		oaep.ulSourceDataLen = op.label_len;
		m.pParameter = &oaep;
		m.ulParameterLen = sizeof(oaep);
	} else if (plen) {
		return CKR_MECHANISM_PARAM_INVALID;
	}
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
	    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
		return CKR_ARGUMENTS_BAD;
	rv = use_key(c, HSMG_TAG_KEY, KM(KIND_RSA_PRIV), HSMG_KEY_USE_DECRYPT, &k, &u);
	if (rv != CKR_OK)
		goto out;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, PK_RSA_MAX_BYTES);
	if (!out) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	rv = be->fl->C_DecryptInit(u.s, &m, u.h);
	/* A parameter the token does not take (SoftHSM: OAEP with SHA-1 only). */
	if (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if (rv == CKR_OK) {
		CK_ULONG on = PK_RSA_MAX_BYTES;

		rv = be->fl->C_Decrypt(u.s, (CK_BYTE_PTR)data, len, out, &on);
		n = on;
	}
	/* A bad ciphertext is the request's, not the token's. */
	rv = data_rv(be, rv, false);
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, n))
		rv = CKR_DEVICE_MEMORY;
out:
	if (u.have_s)
		use_end(be, &u, rv);
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/*
 * ECB, CBC, CBC_PAD and CTR: the whole blocks of buffered + new data go
 * through the token now (CBC_PAD decryption keeps the last block back for
 * the final); the rest stays in the state.
 */
static CK_RV chain_update(struct p11_be *be, struct p11_use *u, struct p11_cipher_state *st,
			  const uint8_t *data, size_t len, uint8_t *out, size_t *olen)
{
	uint64_t mech = st->mech == CKM_AES_CBC_PAD ? CKM_AES_CBC : st->mech;
	size_t total = st->buf_len + len, take, n = 0;
	CK_AES_CTR_PARAMS ctr;
	CK_GCM_PARAMS gcm;
	CK_MECHANISM m;
	uint8_t *in;
	CK_RV rv;

	*olen = 0;
	take = total - total % 16;
	if (st->mech == CKM_AES_CBC_PAD && !st->enc && take == total && take)
		take -= 16; /* the block that may hold the padding */
	if (!take) {
		memcpy(st->buf + st->buf_len, data, len);
		st->buf_len += (uint32_t)len;
		return CKR_OK;
	}
	in = malloc(total);
	if (!in)
		return CKR_DEVICE_MEMORY;
	memcpy(in, st->buf, st->buf_len);
	memcpy(in + st->buf_len, data, len);
	crypt_mech(st, mech, &m, &ctr, &gcm);
	rv = data_rv(be, token_crypt(be, u, st->enc, &m, in, take, out, take, &n), st->enc);
	if (rv == CKR_OK && n != take)
		rv = p11_check(be, CKR_DEVICE_ERROR);
	if (rv == CKR_OK) {
		if (mech == CKM_AES_CBC)
			memcpy(st->iv, (st->enc ? out : in) + take - 16, 16);
		else if (mech == CKM_AES_CTR && ctr_add(st->iv, st->ctr_bits, take / 16))
			rv = CKR_DATA_LEN_RANGE;
	}
	if (rv == CKR_OK) {
		st->buf_len = (uint32_t)(total - take);
		memcpy(st->buf, in + take, st->buf_len);
		*olen = take;
	}
	OPENSSL_cleanse(in, total);
	free(in);
	return rv;
}

CK_RV p11_op_cipher(struct req_ctx *c, bool enc, enum part part)
{
	struct p11_be *be = p11_be_of(c);
	uint64_t mech = c->v->hdr.mechanism;
	uint16_t kind = enc ? STATE_ENCRYPT : STATE_DECRYPT;
	struct p11_cipher_state *st = NULL;
	size_t st_cap = sizeof(*st) + P11_BUF_MAX + 16, st_len = 0, n = 0, m = 0, outcap;
	const void *data = NULL, *blob;
	uint32_t len = 0, blen, use = enc ? HSMG_KEY_USE_ENCRYPT : HSMG_KEY_USE_DECRYPT;
	uint8_t kh[32], *out = NULL;
	CK_AES_CTR_PARAMS ctr;
	CK_GCM_PARAMS gcm;
	CK_MECHANISM cm;
	bool has_data;
	struct p11_use u;
	struct key k;
	CK_RV rv;

	memset(&u, 0, sizeof(u));
	memset(&k, 0, sizeof(k));
	if (mech == CKM_RSA_PKCS || mech == CKM_RSA_PKCS_OAEP) {
		if (part != PART_SINGLE)
			return CKR_MECHANISM_INVALID;
		return enc ? card_op_cipher(c, true, part) : rsa_decrypt(c);
	}
	if (!is_aes(mech))
		return CKR_MECHANISM_INVALID;
	if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
	    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
		return CKR_ARGUMENTS_BAD;
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if ((part == PART_SINGLE || part == PART_UPDATE) && !has_data)
		return CKR_ARGUMENTS_BAD;
	if (part == PART_INIT)
		rv = card_key_get(c, HSMG_TAG_KEY, KM(KIND_AES), use, &k);
	else
		rv = use_key(c, HSMG_TAG_KEY, KM(KIND_AES), use, &k, &u);
	if (rv != CKR_OK)
		goto done;
	hsmg_msg_get(c->v, HSMG_TAG_KEY, &blob, &blen);
	card_key_id_hash(blob, blen, kh);
	st = calloc(1, st_cap);
	if (!st) {
		rv = CKR_DEVICE_MEMORY;
		goto done;
	}
	if (part == PART_SINGLE || part == PART_INIT) {
		rv = cipher_start(c, mech, enc, st);
		memcpy(st->keyhash, kh, sizeof(kh));
	} else {
		if (hsmg_msg_get(c->v, HSMG_TAG_PARAM, NULL, NULL)) {
			rv = CKR_ARGUMENTS_BAD;
			goto done;
		}
		rv = card_state_open(c, kind, st, st_cap, 0, &st_len);
		if (rv == CKR_OK &&
		    (st_len != sizeof(*st) + st->buf_len || st->buf_len > P11_BUF_MAX + 16 ||
		     !card_ct_equal(st->keyhash, kh, sizeof(kh)) || st->mech != mech ||
		     st->enc != enc || st->param_len > st->buf_len))
			rv = CKR_SAVED_STATE_INVALID;
	}
	if (rv != CKR_OK || part == PART_INIT)
		goto done;

	/* Single part: one token call. */
	if (part == PART_SINGLE) {
		outcap = (size_t)len + 32;
		out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, outcap);
		if (!out) {
			rv = CKR_DATA_LEN_RANGE;
			goto done;
		}
		crypt_mech(st, mech, &cm, &ctr, &gcm);
		rv = data_rv(be, token_crypt(be, &u, enc, &cm, data, len, out, outcap, &n), enc);
		if (rv == CKR_OK && hsmg_msg_put_end(c->b, n))
			rv = CKR_DEVICE_MEMORY;
		goto done;
	}

	if (mech == CKM_AES_GCM) {
		/* The data waits in the state for the final part. */
		if (has_data) {
			if ((uint64_t)st->buf_len + len > P11_BUF_MAX) {
				rv = CKR_DATA_LEN_RANGE;
				goto done;
			}
			memcpy(st->buf + st->buf_len, data, len);
			st->buf_len += len;
		}
		if (part == PART_UPDATE) {
			rv = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, 0) &&
				     !hsmg_msg_put_end(c->b, 0)
				 ? CKR_OK
				 : CKR_DEVICE_MEMORY;
			goto done;
		}
		outcap = st->buf_len - st->param_len + 32;
		out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, outcap);
		if (!out) {
			rv = CKR_DATA_LEN_RANGE;
			goto done;
		}
		crypt_mech(st, mech, &cm, &ctr, &gcm);
		rv = data_rv(be,
			     token_crypt(be, &u, enc, &cm, st->buf + st->param_len,
					 st->buf_len - st->param_len, out, outcap, &n),
			     enc);
		if (rv == CKR_OK && hsmg_msg_put_end(c->b, n))
			rv = CKR_DEVICE_MEMORY;
		goto done;
	}

	outcap = (size_t)st->buf_len + len + 32;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, outcap);
	if (!out) {
		rv = CKR_DATA_LEN_RANGE;
		goto done;
	}
	if (has_data)
		rv = chain_update(be, &u, st, data, len, out, &n);
	if (rv == CKR_OK && part == PART_FINAL) {
		if (!enc && mech == CKM_AES_CBC_PAD && st->buf_len != 16) {
			rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
		} else if (mech == CKM_AES_CBC_PAD || (mech == CKM_AES_CTR && st->buf_len)) {
			/* The padded (or unpadded) last block, or CTR's last bytes. */
			crypt_mech(st, mech, &cm, &ctr, &gcm);
			rv = data_rv(be,
				     token_crypt(be, &u, enc, &cm, st->buf, st->buf_len, out + n,
						 outcap - n, &m),
				     enc);
		} else if (st->buf_len) {
			rv = enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
		}
	}
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, n + m))
		rv = CKR_DEVICE_MEMORY;
done:
	if (rv == CKR_OK && (part == PART_INIT || part == PART_UPDATE))
		rv = card_state_seal(c, kind, st, sizeof(*st) + st->buf_len);
	if (u.have_s)
		use_end(be, &u, rv);
	if (st) {
		OPENSSL_cleanse(st, st_cap);
		free(st);
	}
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}
