// SPDX-License-Identifier: GPL-2.0
/*
 * auth - a token's PINs through the cards (see auth.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "cardpin.h"
#include "hsmgroup_msg.h"
#include "log.h"
#include "module.h"
#include "object.h"
#include "request.h"
#include "slot.h"
#include "store.h"
#include "transport.h"

_Static_assert(SHIM_PIN_CARD_LEN == HSMG_MSG_AUTH_RECORD_LEN, "card record length");

#define REBIND_META "rebind"

static uint32_t auth_user(CK_USER_TYPE user)
{
	return user == CKU_SO ? HSMG_AUTH_SO : HSMG_AUTH_USER;
}

void shim_auth_token_id(const struct shim_pin_record *r, uint8_t token[16])
{
	struct hsmg_auth_record_hdr h;

	memcpy(&h, r->card, sizeof(h));
	memcpy(token, h.token, 16);
}

CK_RV shim_auth_make(struct shim_slot *slot, uint32_t kid, CK_USER_TYPE user,
		     const uint8_t token[16], const CK_UTF8CHAR *pin, CK_ULONG len,
		     struct shim_pin_record *out)
{
	struct hsmg_msg_auth_param p = {.user = auth_user(user)};
	struct shim_tlv in[] = {{HSMG_TAG_PARAM, &p, sizeof(p)}, {HSMG_TAG_DATA, pin, len}};
	struct shim_resp r;
	const void *rec;
	uint32_t n;
	CK_RV rv;

	memset(out, 0, sizeof(*out));
	memcpy(p.token, token, sizeof(p.token));
	rv = shim_card_call_kid(slot, kid, HSMG_MSG_OP_AUTH_RECORD, HSMG_OP_KEYGEN, in, 2,
				HSMG_MSG_AUTH_RECORD_LEN, &r);
	if (rv != CKR_OK)
		return rv;
	if (!shim_resp_get(&r, HSMG_TAG_OUT_DATA, &rec, &n) || n != SHIM_PIN_CARD_LEN) {
		shim_err("slot %lu: the card's PIN record is malformed", (unsigned long)slot->id);
		rv = CKR_DEVICE_ERROR;
	} else {
		out->version = SHIM_PIN_V2_CARD;
		memcpy(out->card, rec, SHIM_PIN_CARD_LEN);
	}
	shim_resp_free(&r);
	return rv;
}

CK_RV shim_auth_login_rv(int err)
{
	switch (err) {
	case -EACCES:
		return CKR_PIN_INCORRECT;
	case -EKEYEXPIRED:
		return CKR_PIN_LOCKED;
	default:
		return shim_errno_to_ckr(err);
	}
}

void shim_auth_note(struct shim_store *st, CK_USER_TYPE user, CK_RV rv, uint32_t failures)
{
	if (rv == CKR_OK && failures)
		shim_store_pin_reset(st, user);
	else if (rv == CKR_PIN_INCORRECT)
		shim_store_pin_failed(st, user, &failures);
	else if (rv == CKR_PIN_LOCKED)
		while (shim_store_pin_failed(st, user, &failures) == CKR_OK &&
		       failures < shim_g.cfg.pin_max_failures)
			;
}

CK_RV shim_auth_login(struct shim_slot *slot, struct shim_store *st, CK_USER_TYPE user,
		      const struct shim_pin_record *r, uint32_t failures, const CK_UTF8CHAR *pin,
		      CK_ULONG len, uint32_t *kid)
{
	struct hsmg_client_creds cr = {pin, (uint32_t)len, NULL, 0, r->card, SHIM_PIN_CARD_LEN};
	int err;
	CK_RV rv;

	*kid = 0;
	if (r->version != SHIM_PIN_V2_CARD)
		return CKR_GENERAL_ERROR;
	err = shim_g.tp_ops->session_open(shim_g.tp, (uint32_t)slot->id, HSMG_SESSION_RW, kid);
	if (err)
		return shim_errno_to_ckr(err);
	/* The group may delay this login (failed ones before): unlocked. */
	shim_g.inflight++;
	shim_unlock();
	err = shim_g.tp_ops->login(shim_g.tp, *kid, user == CKU_SO ? HSMG_LOGIN_SO : 0, &cr);
	shim_relock();
	shim_g.inflight--;
	rv = err ? shim_auth_login_rv(err) : CKR_OK;
	shim_auth_note(st, user, rv, failures);
	if (rv != CKR_OK) {
		shim_g.tp_ops->session_close(shim_g.tp, *kid);
		*kid = 0;
	}
	return rv;
}

void shim_auth_end(uint32_t kid)
{
	if (kid && shim_g.tp)
		shim_g.tp_ops->session_close(shim_g.tp, kid);
}

struct rebind_ctx {
	struct shim_slot *slot;
	struct shim_store *st;
	uint32_t kid;
	unsigned int done, failed;
};

/* Bind one stored object's key blob to the user (REBIND) and store it. */
static CK_RV rebind_one(void *arg, int64_t id, const uint8_t *blob, size_t len)
{
	struct rebind_ctx *c = arg;
	struct shim_object *o = NULL;
	struct shim_attr *b;
	struct shim_resp r;
	const void *nb;
	uint8_t *ser = NULL;
	size_t slen = 0;
	uint32_t n;
	CK_RV rv;

	rv = shim_obj_deserialize(blob, len, &o);
	if (rv != CKR_OK) {
		c->failed++;
		return CKR_OK;
	}
	b = shim_obj_attr(o, SHIM_CKA_BLOB);
	if (!b || !b->len || !shim_obj_is_private(o) ||
	    (shim_obj_class(o) != CKO_PRIVATE_KEY && shim_obj_class(o) != CKO_SECRET_KEY)) {
		shim_obj_free(o);
		return CKR_OK;
	}
	{
		struct shim_tlv in[] = {{HSMG_TAG_KEY, b->val, b->len}};

		rv = shim_card_call_kid(c->slot, c->kid, HSMG_MSG_OP_REBIND, HSMG_OP_KEYGEN, in, 1,
					b->len + 64, &r);
	}
	if (rv == CKR_OK) {
		if (shim_resp_get(&r, HSMG_TAG_OUT_KEY, &nb, &n) &&
		    (n != b->len || memcmp(nb, b->val, n))) {
			rv = shim_obj_set(o, SHIM_CKA_BLOB, nb, n);
			if (rv == CKR_OK)
				rv = shim_obj_serialize(o, &ser, &slen);
			if (rv == CKR_OK)
				rv = shim_store_obj_update(c->st, id, true, ser, slen);
			shim_obj_blob_free(ser, slen);
		}
		shim_resp_free(&r);
	}
	if (rv == CKR_OK) {
		c->done++;
	} else {
		/* One key that will not bind (a VHSM or public key, another
		 * token's blob) must not stop the others. */
		shim_warn("slot %lu: object %lld not bound to the user PIN: 0x%lx",
			  (unsigned long)c->slot->id, (long long)id, (unsigned long)rv);
		c->failed++;
	}
	shim_obj_free(o);
	return rv == CKR_DEVICE_ERROR ? rv : CKR_OK;
}

CK_RV shim_auth_rebind_pending(struct shim_slot *slot, struct shim_store *st, uint32_t kid)
{
	struct rebind_ctx c = {slot, st, kid, 0, 0};
	uint8_t v[8];
	size_t n;
	CK_RV rv;

	if (shim_store_get_meta(st, REBIND_META, v, sizeof(v), &n) != CKR_OK)
		return CKR_OK;
	rv = shim_store_obj_foreach(st, true, rebind_one, &c);
	if (rv == CKR_OK)
		rv = shim_store_put_meta(st, REBIND_META, NULL, 0);
	shim_info("slot %lu: %u keys bound to the user PIN (%u left as they were)",
		  (unsigned long)slot->id, c.done, c.failed);
	return rv;
}

CK_RV shim_auth_migrate_user(struct shim_slot *slot, struct shim_store *st, const CK_UTF8CHAR *pin,
			     CK_ULONG len, struct shim_pin_record *r)
{
	static const uint8_t none[16];
	struct shim_pin_record rec;
	uint32_t kid = 0;
	CK_RV rv;

	/* Outside any session of the token: a new secret, and its own id. */
	rv = shim_auth_make(slot, 0, CKU_USER, none, pin, len, &rec);
	/* First the mark, then the record: a cut leaves either the old
	 * record (done again at the next login) or the mark (finished then). */
	if (rv == CKR_OK)
		rv = shim_store_put_meta(st, REBIND_META, (const uint8_t *)"1", 1);
	if (rv == CKR_OK)
		rv = shim_store_put_pin(st, CKU_USER, &rec);
	if (rv == CKR_OK)
		rv = shim_auth_login(slot, st, CKU_USER, &rec, 0, pin, len, &kid);
	if (rv == CKR_OK)
		rv = shim_auth_rebind_pending(slot, st, kid);
	shim_auth_end(kid);
	if (rv == CKR_OK) {
		*r = rec;
		shim_info("slot %lu: the user PIN is now checked by the cards",
			  (unsigned long)slot->id);
	}
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rv;
}

_Static_assert(SHIM_CARDPIN_SEALED_LEN == HSMG_MSG_CARDPIN_SEALED_LEN, "sealed card-PIN length");

/* One HSMG_MSG_OP_CARDPIN in @kid: @in to *@out (at most @cap bytes). */
static CK_RV cardpin_call(struct shim_slot *slot, uint32_t kid, uint32_t dir, const void *in,
			  size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	struct shim_tlv tin[] = {{HSMG_TAG_PARAM, &dir, sizeof(dir)}, {HSMG_TAG_DATA, in, len}};
	struct shim_resp r;
	const void *val;
	uint32_t n;
	CK_RV rv;

	rv = shim_card_call_kid(slot, kid, HSMG_MSG_OP_CARDPIN, HSMG_OP_KEYGEN, tin, 2, 64, &r);
	if (rv != CKR_OK)
		return rv;
	if (!shim_resp_get(&r, HSMG_TAG_OUT_DATA, &val, &n) || n > cap) {
		rv = CKR_DEVICE_ERROR;
	} else {
		memcpy(out, val, n);
		*out_len = n;
	}
	shim_resp_free(&r);
	return rv;
}

CK_RV shim_auth_cardpin_seal(struct shim_slot *slot, uint32_t kid, const uint8_t *cardpin,
			     size_t len, struct shim_cardpin_record *r)
{
	uint8_t sealed[HSMG_MSG_CARDPIN_SEALED_LEN];
	size_t n = 0;
	CK_RV rv;

	memset(r, 0, sizeof(*r));
	rv = cardpin_call(slot, kid, HSMG_CARDPIN_SEAL, cardpin, len, sealed, sizeof(sealed), &n);
	if (rv == CKR_OK && n != sizeof(sealed))
		rv = CKR_DEVICE_ERROR;
	if (rv == CKR_OK)
		shim_cardpin_from_sealed(r, sealed);
	return rv;
}

CK_RV shim_auth_cardpin_open(struct shim_slot *slot, uint32_t kid,
			     const struct shim_cardpin_record *r, const CK_UTF8CHAR *pin,
			     CK_ULONG pin_len, uint8_t *out, size_t *out_len)
{
	uint8_t sealed[HSMG_MSG_CARDPIN_SEALED_LEN];
	CK_RV rv;

	*out_len = 0;
	if (r->version == SHIM_CARDPIN_V1_PBKDF2)
		return shim_cardpin_unseal(r, pin, pin_len, out, out_len);
	if (r->version != SHIM_CARDPIN_V2_CARD)
		return shim_cardpin_unseal(r, pin, pin_len, out, out_len); /* logs the version */
	shim_cardpin_to_sealed(r, sealed);
	rv = cardpin_call(slot, kid, HSMG_CARDPIN_OPEN, sealed, sizeof(sealed), out,
			  SHIM_CARDPIN_MAX, out_len);
	if (rv == CKR_ENCRYPTED_DATA_INVALID) {
		shim_err("VHSM mode: the card-PIN record is not this token's (damaged store?), "
			 "user login refused (set it again with: hsmgroupctl token cardpin)");
		rv = CKR_USER_PIN_NOT_INITIALIZED;
	}
	return rv;
}
