// SPDX-License-Identifier: GPL-2.0
/*
 * blob - key blobs (seal, open, binding, usage) and state blobs of the card
 * core, and the request services the crypto backend uses (card_int.h).
 */
#include "card_int.h"

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
	if (card->be->random(card->bs, h.iv, IVLEN))
		return CKR_DEVICE_ERROR;
	memcpy(out, &h, sizeof(h));
	if (card->be->seal(card->bs, HSMG_SEAL_KEY, h.iv, IVLEN, out, sizeof(h), k->secret,
			   k->secret_len, out + sizeof(h), out + sizeof(h) + k->secret_len,
			   TAGLEN)) {
		OPENSSL_cleanse(out, need);
		return CKR_DEVICE_ERROR;
	}
	*out_len = need;
	return CKR_OK;
}

/* Is a decoded key a combination this card can create?  The attributes
 * here, the form of the secret by the backend. */
static bool key_sane(const struct hsmg_card *card, const struct key *k)
{
	const struct hsmg_msg_key_attrs *a = &k->attrs;
	bool ok;

	switch (k->kind) {
	case KIND_AES:
		ok = a->key_type == CKK_AES &&
		     (a->value_len == 16 || a->value_len == 24 || a->value_len == 32);
		break;
	case KIND_SECRET:
		ok = a->key_type == CKK_GENERIC_SECRET && a->value_len >= 1 &&
		     a->value_len <= MAX_GENERIC;
		break;
	case KIND_EC_PRIV:
		ok = a->key_type == CKK_EC && pk_ec_order_len(a->curve);
		break;
	case KIND_RSA_PRIV:
		ok = a->key_type == CKK_RSA;
		break;
	default:
		ok = false;
	}
	return ok && k->secret_len > 0 && card->be->secret_ok(k);
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
	if (card->be->unseal(card->bs, HSMG_SEAL_KEY, h.iv, IVLEN, blob, sizeof(h),
			     blob + sizeof(h), h.secret_len, k->secret,
			     blob + sizeof(h) + h.secret_len, TAGLEN))
		return CKR_KEY_HANDLE_INVALID;
	k->kind = h.kind;
	k->attrs = h.attrs;
	k->bind = h.bind;
	k->secret_len = h.secret_len;
	memcpy(k->session_bind, h.session_bind, sizeof(k->session_bind));
	memcpy(k->cardpin_bind, h.cardpin_bind, sizeof(k->cardpin_bind));
	/* Authentic, but still only a combination this card can create. */
	if (!key_sane(card, k)) {
		OPENSSL_cleanse(k, sizeof(*k));
		return CKR_KEY_HANDLE_INVALID;
	}
	return CKR_OK;
}

/* May the request's session use key @k (@public_part: only its public
 * part, which a token's user binding does not guard)? */
static CK_RV key_check_binding(struct req_ctx *c, const struct key *k, bool public_part)
{
	uint32_t bind = k->bind;
	struct login_view lv;
	CK_RV rv = CKR_OK;

	if (public_part)
		bind &= ~BIND_USER;
	if (!(bind & (BIND_SESSION | BIND_CARDPIN | BIND_USER)))
		return CKR_OK;
	card_login_lookup(c->card, c->queue, c->req->session, &lv);
	if (!lv.logged_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((bind & BIND_USER) && (!lv.auth.valid || lv.auth.user != HSMG_AUTH_USER ||
					(lv.login_flags & HSMG_LOGIN_SO)))
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((bind & BIND_USER) &&
		 !card_ct_equal(lv.auth.user_bind, k->session_bind, HSMG_PIN_BLOB_LEN))
		rv = CKR_KEY_HANDLE_INVALID;
	else if ((bind & BIND_SESSION) &&
		 !card_ct_equal(lv.pin_blob, k->session_bind, HSMG_PIN_BLOB_LEN))
		rv = CKR_KEY_HANDLE_INVALID;
	else if ((bind & BIND_CARDPIN) &&
		 (!lv.has_cardpin ||
		  !card_ct_equal(lv.cardpin_blob, k->cardpin_bind, HSMG_PIN_BLOB_LEN)))
		rv = CKR_KEY_HANDLE_INVALID;
	OPENSSL_cleanse(&lv, sizeof(lv));
	return rv;
}

/*
 * Bind a new key: to the session's pin-blob (strict mode, session keys),
 * else to the token's user when the session logged in as the user with an
 * authentication record and the key is not public; and to the card-PIN
 * (VHSM).  Public and SO sessions bind nothing (EP11).
 */
static CK_RV key_bind_new(struct req_ctx *c, struct key *k)
{
	uint32_t sf = c->req->session_flags;
	struct login_view lv;

	card_login_lookup(c->card, c->queue, c->req->session, &lv);
	if (lv.logged_in && !(lv.login_flags & HSMG_LOGIN_SO)) {
		if ((sf & HSMG_SESSION_STRICT) && !(k->attrs.flags & HSMG_KEY_TOKEN)) {
			k->bind |= BIND_SESSION;
			memcpy(k->session_bind, lv.pin_blob, HSMG_PIN_BLOB_LEN);
		} else if (lv.auth.valid && lv.auth.user == HSMG_AUTH_USER &&
			   !(k->attrs.flags & HSMG_KEY_PUBLIC)) {
			k->bind |= BIND_USER;
			memcpy(k->session_bind, lv.auth.user_bind, HSMG_PIN_BLOB_LEN);
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

/* May the request use opened key @k: binding, kind (bit mask KM()) and
 * usage (0: none needed; with CARD_USE_PUBLIC_PART for its public part)? */
CK_RV card_key_allowed(struct req_ctx *c, const struct key *k, uint32_t kinds, uint32_t use)
{
	CK_RV rv = key_check_binding(c, k, use & CARD_USE_PUBLIC_PART);

	use &= ~CARD_USE_PUBLIC_PART;
	if (rv == CKR_OK && !(kinds & KM(k->kind)))
		rv = CKR_KEY_TYPE_INCONSISTENT;
	if (rv == CKR_OK && use && !(k->attrs.usage & use))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	return rv;
}

/* Open the blob of @tag, check binding, kind (bit mask KM()) and usage
 * (0: none needed). */
CK_RV card_key_get(struct req_ctx *c, uint32_t tag, uint32_t kinds, uint32_t use, struct key *k)
{
	const void *blob;
	uint32_t len;
	CK_RV rv;

	memset(k, 0, sizeof(*k));
	if (!hsmg_msg_get(c->v, tag, &blob, &len))
		return CKR_ARGUMENTS_BAD;
	rv = key_open(c->card, blob, len, k);
	if (rv == CKR_OK)
		rv = card_key_allowed(c, k, kinds, use);
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

/*
 * HSMG_MSG_OP_REBIND: a blob made before the card bound keys to a token's
 * user (no binding, not public) sealed again, bound to the user of the
 * request's session; a blob already bound to that user comes back as is.
 */
CK_RV card_op_rebind(struct req_ctx *c)
{
	struct login_view lv;
	struct key k;
	const void *blob;
	uint32_t len;
	CK_RV rv;

	if (!hsmg_msg_get(c->v, HSMG_TAG_KEY, &blob, &len))
		return CKR_ARGUMENTS_BAD;
	rv = key_open(c->card, blob, len, &k);
	if (rv != CKR_OK)
		return rv;
	card_login_lookup(c->card, c->queue, c->req->session, &lv);
	if (!lv.logged_in || !lv.auth.valid || lv.auth.user != HSMG_AUTH_USER ||
	    (lv.login_flags & HSMG_LOGIN_SO))
		rv = CKR_USER_NOT_LOGGED_IN;
	else if (k.bind == BIND_USER &&
		 card_ct_equal(k.session_bind, lv.auth.user_bind, HSMG_PIN_BLOB_LEN))
		rv = hsmg_msg_put(c->b, HSMG_TAG_OUT_KEY, blob, len) ? CKR_DEVICE_MEMORY : CKR_OK;
	else if (k.bind || (k.attrs.flags & HSMG_KEY_PUBLIC))
		rv = CKR_KEY_HANDLE_INVALID;
	else {
		k.bind = BIND_USER;
		memcpy(k.session_bind, lv.auth.user_bind, HSMG_PIN_BLOB_LEN);
		rv = put_key(c, &k);
	}
	OPENSSL_cleanse(&lv, sizeof(lv));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}

/* Attributes of a key to generate. */
CK_RV card_get_attrs(struct req_ctx *c, struct hsmg_msg_key_attrs *a)
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
void card_get_param(struct req_ctx *c, const uint8_t **p, uint32_t *len)
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
CK_RV card_usage_fix(struct hsmg_msg_key_attrs *a, uint16_t kind)
{
	uint32_t all = kind == KIND_AES	       ? HSMG_KEY_USE_ALL
		       : kind == KIND_EC_PRIV  ? USE_ASYM_EC
		       : kind == KIND_RSA_PRIV ? USE_RSA
					       : HSMG_KEY_USE_ALL;

	if (!a->usage)
		a->usage = kind == KIND_SECRET ? USE_SECRET : all;
	return a->usage & ~all ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
}

/* Bind, seal and answer a new key (plus its public part if private). */
CK_RV card_finish_new_key(struct req_ctx *c, struct key *k)
{
	CK_RV rv = key_bind_new(c, k);

	if (rv == CKR_OK)
		rv = put_key(c, k);
	if (rv == CKR_OK && (k->kind == KIND_EC_PRIV || k->kind == KIND_RSA_PRIV))
		rv = c->card->be->put_pubkey(c, k);
	return rv;
}

/* ---------------------------------------------------------------- states */

CK_RV card_state_seal(struct req_ctx *c, uint16_t kind, const void *st, size_t st_len)
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
	if (c->card->be->random(c->card->bs, h.iv, IVLEN))
		return CKR_DEVICE_ERROR;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_STATE, total);
	if (!out)
		return CKR_DEVICE_MEMORY;
	memcpy(out, &h, sizeof(h));
	if (c->card->be->seal(c->card->bs, HSMG_SEAL_STATE, h.iv, IVLEN, out, sizeof(h), st, st_len,
			      out + sizeof(h), out + sizeof(h) + st_len, TAGLEN))
		return CKR_DEVICE_ERROR;
	return hsmg_msg_put_end(c->b, total) ? CKR_DEVICE_MEMORY : CKR_OK;
}

/* Open the request's state of @kind into @st (@cap bytes); *@st_len gets
 * its length.  @exact: required length (0: any up to @cap). */
CK_RV card_state_open(struct req_ctx *c, uint16_t kind, void *st, size_t cap, size_t exact,
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
	if (c->card->be->unseal(c->card->bs, HSMG_SEAL_STATE, h.iv, IVLEN, blob, sizeof(h),
				blob + sizeof(h), h.state_len, st, blob + sizeof(h) + h.state_len,
				TAGLEN))
		return CKR_SAVED_STATE_INVALID;
	*st_len = h.state_len;
	return CKR_OK;
}

void card_key_id_hash(const void *id, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	EVP_Digest(id, len, out, &n, EVP_sha256(), NULL);
}

enum part card_part_of(uint32_t op)
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
