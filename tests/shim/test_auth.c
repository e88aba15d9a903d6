// SPDX-License-Identifier: GPL-2.0
/*
 * test_auth - the user PIN protects the keys (the cards check it): a
 * store edited by someone without the PIN gives no usable key, the failed
 * login count in the store changes nothing, and a token from before card
 * records is migrated at its first login (records replaced, keys bound).
 */
#include <check.h>
#include <string.h>

#include "helpers.h"
#include "hsmg_msg.h"
#include "mock_transport.h"
#include "module.h"
#include "object.h"
#include "pin.h"
#include "request.h"
#include "slot.h"
#include "store.h"
#include "transport.h"

static struct shim_store *store(void)
{
	struct shim_store *st = NULL;

	CK_OK(shim_slot_store(shim_slot_find(t_slot()), &st));
	return st;
}

/* One request straight to the group, in no kernel session (what a local
 * user who opened /dev/hsmgroup can send). */
static CK_RV raw(uint32_t op, uint64_t mech, const struct shim_tlv *in, size_t nin, uint8_t *out,
		 size_t *out_len)
{
	static uint8_t req[8192], resp[8192];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	uint32_t rlen = sizeof(resp);
	const void *val;
	uint32_t n;
	ssize_t len;
	size_t i;

	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, op, mech);
	for (i = 0; i < nin; i++)
		hsmg_msg_put(&b, in[i].tag, in[i].val, in[i].len);
	len = hsmg_msg_finish(&b);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(mock_transport_ops.submit(NULL, (uint32_t)t_slot(), 0, HSMG_OP_SIGN, 0, 0,
						   req, (uint32_t)len, resp, &rlen),
			 0);
	ck_assert_int_eq(hsmg_msg_parse_type(&v, resp, rlen, HSMG_MSG_RESPONSE), 0);
	if (v.hdr.rv == CKR_OK && out) {
		ck_assert(hsmg_msg_get(
		    &v, op == HSMG_MSG_OP_AUTH_RECORD ? HSMG_TAG_OUT_DATA : HSMG_TAG_OUT_KEY, &val,
		    &n));
		memcpy(out, val, n);
		*out_len = n;
	}
	return (CK_RV)v.hdr.rv;
}

/* Sign @blob (an EC private key) in no session. */
static CK_RV raw_sign(const uint8_t *blob, size_t len)
{
	static const char hash[32] = "0123456789abcdef0123456789abcde";
	struct shim_tlv in[] = {{HSMG_TAG_KEY, blob, len}, {HSMG_TAG_DATA, hash, 32}};

	return raw(HSMG_MSG_OP_SIGN, CKM_ECDSA, in, 2, NULL, NULL);
}

/* The private key labelled @label, found in @h. */
static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE h, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)},
			    {CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE o[2] = {CK_INVALID_HANDLE, CK_INVALID_HANDLE};
	CK_ULONG n = 0;

	CK_OK(p11->C_FindObjectsInit(h, t, 2));
	CK_OK(p11->C_FindObjects(h, o, 2, &n));
	CK_OK(p11->C_FindObjectsFinal(h));
	ck_assert_uint_eq(n, 1);
	return o[0];
}

/* The stored blob of the token object labelled @label. */
struct blob_find {
	const char *label;
	uint8_t blob[4096];
	size_t len;
};

static CK_RV blob_of(void *ctx, int64_t id, const uint8_t *ser, size_t len)
{
	struct blob_find *f = ctx;
	struct shim_object *o = NULL;
	struct shim_attr *l, *b;

	(void)id;
	CK_OK(shim_obj_deserialize(ser, len, &o));
	l = shim_obj_attr(o, CKA_LABEL);
	b = shim_obj_attr(o, SHIM_CKA_BLOB);
	if (l && l->len == strlen(f->label) && !memcmp(l->val, f->label, l->len) && b) {
		memcpy(f->blob, b->val, b->len);
		f->len = b->len;
	}
	shim_obj_free(o);
	return CKR_OK;
}

static size_t stored_blob(const char *label, uint8_t *out)
{
	struct blob_find f = {.label = label};

	CK_OK(shim_store_obj_foreach(store(), true, blob_of, &f));
	ck_assert_uint_gt(f.len, 0);
	memcpy(out, f.blob, f.len);
	return f.len;
}

static void ec_key(CK_SESSION_HANDLE h, const char *label)
{
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
			      {CKA_TOKEN, &yes, sizeof(yes)},
			      {CKA_LABEL, (void *)label, strlen(label)}};
	CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof(yes)},
			       {CKA_SIGN, &yes, sizeof(yes)},
			       {CKA_LABEL, (void *)label, strlen(label)}};
	CK_OBJECT_HANDLE a, b;

	CK_OK(p11->C_GenerateKeyPair(h, &m, pub, 3, priv, 3, &a, &b));
}

static CK_RV sign(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE data[32] = {1}, sig[64];
	CK_ULONG n = sizeof(sig);
	CK_RV rv = p11->C_SignInit(h, &m, k);

	return rv == CKR_OK ? p11->C_Sign(h, data, sizeof(data), sig, &n) : rv;
}

/*
 * The attack, at the module: someone who can write the store but
 * does not know the user PIN replaces the user's PIN record with one for a
 * PIN of their choice (a card record made for the token's id, or an old
 * PBKDF2 record) and resets the count; the login works, the key does not.
 * A raw client with the stolen blob and no login gets the card's refusal.
 */
START_TEST(edited_store_gives_no_key)
{
	struct shim_pin_record r;
	struct shim_config c = {.pin_iterations = 1000};
	uint8_t blob[4096], token[16];
	CK_SESSION_HANDLE h;
	size_t len;

	h = t_user_session(true);
	ec_key(h, "victim");
	CK_OK(p11->C_Logout(h));
	len = stored_blob("victim", blob);
	CK_RV_IS(raw_sign(blob, len), CKR_USER_NOT_LOGGED_IN);

	/* a card record for the token's id and the attacker's PIN */
	CK_OK(shim_store_get_pin(store(), CKU_USER, &r, NULL));
	ck_assert_uint_eq(r.version, SHIM_PIN_V2_CARD);
	memcpy(token, r.card + 8, sizeof(token));
	{
		struct hsmg_msg_auth_param p = {.user = HSMG_AUTH_USER};
		struct shim_tlv in[] = {{HSMG_TAG_PARAM, &p, sizeof(p)},
					{HSMG_TAG_DATA, "222222", 6}};

		memcpy(p.token, token, sizeof(token));
		CK_OK(raw(HSMG_MSG_OP_AUTH_RECORD, 0, in, 2, r.card, &len));
	}
	CK_OK(shim_store_put_pin(store(), CKU_USER, &r));
	CK_OK(p11->C_Login(h, CKU_USER, PIN("222222")));
	CK_RV_IS(sign(h, find(h, "victim")), CKR_KEY_HANDLE_INVALID);
	CK_OK(p11->C_Logout(h));

	/* an old-style PBKDF2 record: migrated, and still no key */
	CK_OK(shim_pin_make(&c, (const CK_UTF8CHAR *)"333333", 6, &r));
	CK_OK(shim_store_put_pin(store(), CKU_USER, &r));
	CK_OK(p11->C_Login(h, CKU_USER, PIN("333333")));
	CK_RV_IS(sign(h, find(h, "victim")), CKR_KEY_HANDLE_INVALID);
	len = stored_blob("victim", blob);
	CK_RV_IS(raw_sign(blob, len), CKR_USER_NOT_LOGGED_IN); /* not unbound either */
}
END_TEST

/* The cards lock the PIN; resetting the store's count changes nothing. */
START_TEST(store_count_is_not_the_lockout)
{
	CK_SESSION_HANDLE h;
	int i;

	t_init_user();
	h = t_open(true);
	for (i = 0; i < MOCK_PIN_MAX_FAILURES; i++)
		CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-pin")), CKR_PIN_INCORRECT);
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_PIN_LOCKED);
	CK_OK(shim_store_pin_reset(store(), CKU_USER));
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_PIN_LOCKED);
	/* and the token flags follow the cards again */
	{
		CK_TOKEN_INFO ti;

		CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
		ck_assert(ti.flags & CKF_USER_PIN_LOCKED);
	}
}
END_TEST

/* Failures counted by another host in a shared store lock the PIN here
 * too, before any card of this host counted one; the SO's C_InitPIN
 * clears it. */
START_TEST(store_count_locks_across_hosts)
{
	CK_SESSION_HANDLE h;
	uint32_t failures = 0;
	int i;

	t_init_user();
	h = t_open(true);
	for (i = 0; i < MOCK_PIN_MAX_FAILURES; i++)
		CK_OK(shim_store_pin_failed(store(), CKU_USER, &failures));
	ck_assert_uint_eq(failures, MOCK_PIN_MAX_FAILURES);
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_PIN_LOCKED);
	CK_OK(p11->C_Login(h, CKU_SO, PIN(SO_PIN)));
	CK_OK(p11->C_InitPIN(h, PIN(USER_PIN)));
	CK_OK(p11->C_Logout(h));
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
}
END_TEST

/* A key pair of a token from before card records: its private key blob
 * bound to nothing, stored as the module stores token objects. */
static void legacy_key(const char *label)
{
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	struct hsmg_msg_key_attrs a = {
	    .key_type = CKK_EC, .curve = HSMG_CURVE_P256, .flags = HSMG_KEY_TOKEN};
	struct shim_tlv in[] = {{HSMG_TAG_ATTRS, &a, sizeof(a)}};
	CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)},
			    {CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
			    {CKA_SIGN, &(CK_BBOOL){CK_TRUE}, sizeof(CK_BBOOL)},
			    {CKA_TOKEN, &(CK_BBOOL){CK_TRUE}, sizeof(CK_BBOOL)}};
	struct shim_object *o = NULL;
	uint8_t blob[4096], *ser = NULL;
	size_t len = 0, slen = 0;
	int64_t id;

	CK_OK(raw(HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_EC_KEY_PAIR_GEN, in, 1, blob, &len));
	CK_OK(shim_obj_from_template(CKO_PRIVATE_KEY, CKK_EC, t, 4, SHIM_TMPL_GENERATE, &o));
	CK_OK(shim_obj_mark_generated(o, CKM_EC_KEY_PAIR_GEN));
	CK_OK(shim_obj_set(o, SHIM_CKA_BLOB, blob, len));
	CK_OK(shim_obj_serialize(o, &ser, &slen));
	CK_OK(shim_store_obj_insert(store(), true, ser, slen, &id));
	shim_obj_blob_free(ser, slen);
	shim_obj_free(o);
}

/*
 * A token from before card records: PBKDF2 records and a key bound to
 * nothing.  The first user login replaces the user's record with a card
 * record and binds the keys; the SO's first login replaces the SO's.  A
 * migration cut short is finished at the next login.
 */
START_TEST(legacy_token_migrates)
{
	struct shim_config c = {.pin_iterations = 1000};
	struct shim_pin_record so, user;
	uint8_t blob[4096], bound[4096];
	size_t len, blen;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE k;

	/* the old token: its records, and its keys made without binding */
	t_init_token();
	CK_OK(shim_pin_make(&c, (const CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), &so));
	CK_OK(shim_store_put_pin(store(), CKU_SO, &so));
	CK_OK(shim_pin_make(&c, (const CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN), &user));
	CK_OK(shim_store_put_pin(store(), CKU_USER, &user));
	legacy_key("old-1");
	legacy_key("old-2");
	len = stored_blob("old-1", blob);
	CK_OK(raw_sign(blob, len)); /* what the old tokens allowed */

	h = t_open(true);
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-pin")), CKR_PIN_INCORRECT);
	CK_OK(shim_store_get_pin(store(), CKU_USER, &user, NULL));
	ck_assert_uint_eq(user.version, SHIM_PIN_V1_PBKDF2);
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	CK_OK(shim_store_get_pin(store(), CKU_USER, &user, NULL));
	ck_assert_uint_eq(user.version, SHIM_PIN_V2_CARD);
	blen = stored_blob("old-1", bound);
	ck_assert(blen != len || memcmp(bound, blob, len));
	CK_RV_IS(raw_sign(bound, blen), CKR_USER_NOT_LOGGED_IN);
	k = find(h, "old-1");
	CK_OK(sign(h, k));
	CK_OK(p11->C_Logout(h));

	/* the migration bound every key */
	len = stored_blob("old-2", blob);
	CK_RV_IS(raw_sign(blob, len), CKR_USER_NOT_LOGGED_IN);
	/* a migration cut short: a key left as before, the mark still set */
	legacy_key("old-3");
	CK_OK(shim_store_put_meta(store(), "rebind", (const uint8_t *)"1", 1));
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	blen = stored_blob("old-3", bound);
	CK_RV_IS(raw_sign(bound, blen), CKR_USER_NOT_LOGGED_IN);
	CK_OK(sign(h, find(h, "old-3")));
	{
		uint8_t v[8];
		size_t n;

		CK_RV_IS(shim_store_get_meta(store(), "rebind", v, sizeof(v), &n),
			 CKR_DATA_INVALID);
	}
	CK_OK(p11->C_Logout(h));

	/* the SO: a card record too (a secret of its own: migrated apart, SO
	 * and user do not share one; docs/security.md) */
	CK_OK(p11->C_Login(h, CKU_SO, PIN(SO_PIN)));
	CK_OK(shim_store_get_pin(store(), CKU_SO, &so, NULL));
	ck_assert_uint_eq(so.version, SHIM_PIN_V2_CARD);
	CK_OK(p11->C_Logout(h));
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	CK_OK(sign(h, find(h, "old-1")));
	CK_OK(p11->C_Logout(h));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, edited_store_gives_no_key);
	tcase_add_test(tc, store_count_is_not_the_lockout);
	tcase_add_test(tc, store_count_locks_across_hosts);
	tcase_add_test(tc, legacy_token_migrates);
	suite_add_tcase(s, tc);
	return t_run(s);
}
