// SPDX-License-Identifier: GPL-2.0
/*
 * test_object - object calls and the attribute rules of hsmgroup-pkcs11:
 * create/copy/destroy, get (length-query convention), set, find, token vs
 * session objects, private objects invisible before login.
 */
#include <string.h>

#include "helpers.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS data_cls = CKO_DATA;

static CK_OBJECT_HANDLE make_data(CK_SESSION_HANDLE h, const char *label, CK_BBOOL *token,
				  CK_BBOOL *priv)
{
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &data_cls, sizeof(data_cls)},
	    {CKA_LABEL, (void *)label, strlen(label)},
	    {CKA_VALUE, "payload", 7},
	    {CKA_TOKEN, token, sizeof(*token)},
	    {CKA_PRIVATE, priv, sizeof(*priv)},
	};
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;

	CK_OK(p11->C_CreateObject(h, t, 5, &o));
	ck_assert_uint_ne(o, CK_INVALID_HANDLE);
	return o;
}

/* Number of objects matching @label. */
static CK_ULONG count_label(CK_SESSION_HANDLE h, const char *label)
{
	CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)}};
	CK_OBJECT_HANDLE found[16];
	CK_ULONG n = 0;

	CK_OK(p11->C_FindObjectsInit(h, t, 1));
	CK_OK(p11->C_FindObjects(h, found, 16, &n));
	CK_OK(p11->C_FindObjectsFinal(h));
	return n;
}

START_TEST(create_get)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE o = make_data(h, "d1", &no, &no);
	char buf[32], small[3];
	CK_ULONG size;
	CK_ATTRIBUTE q[] = {
	    {CKA_VALUE, NULL, 0},
	    {CKA_LABEL, NULL, 0},
	};
	CK_ATTRIBUTE bad[] = {
	    {CKA_VALUE, small, sizeof(small)},
	    {CKA_LABEL, buf, sizeof(buf)},
	    {CKA_EC_POINT, buf, sizeof(buf)},
	};
	CK_BBOOL b;
	CK_ATTRIBUTE defaults[] = {
	    {CKA_MODIFIABLE, &b, sizeof(b)},
	};

	/* Length query. */
	CK_OK(p11->C_GetAttributeValue(h, o, q, 2));
	ck_assert_uint_eq(q[0].ulValueLen, 7);
	ck_assert_uint_eq(q[1].ulValueLen, 2);
	q[0].pValue = buf;
	q[0].ulValueLen = sizeof(buf);
	q[1].pValue = buf + 16;
	q[1].ulValueLen = 16;
	CK_OK(p11->C_GetAttributeValue(h, o, q, 2));
	ck_assert_uint_eq(q[0].ulValueLen, 7);
	ck_assert(!memcmp(buf, "payload", 7));
	/* Short buffer, invalid type: both reported, the rest still filled. */
	CK_RV_IS(p11->C_GetAttributeValue(h, o, bad, 3), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(bad[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	ck_assert_uint_eq(bad[1].ulValueLen, 2);
	ck_assert_uint_eq(bad[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CK_RV_IS(p11->C_GetAttributeValue(h, o, bad + 2, 1), CKR_ATTRIBUTE_TYPE_INVALID);
	CK_OK(p11->C_GetAttributeValue(h, o, defaults, 1));
	ck_assert_uint_eq(b, CK_TRUE);
	CK_RV_IS(p11->C_GetAttributeValue(h, o, NULL, 1), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_GetAttributeValue(h, 999998, q, 1), CKR_OBJECT_HANDLE_INVALID);
	CK_OK(p11->C_GetObjectSize(h, o, &size));
	ck_assert_uint_gt(size, 7);
	CK_RV_IS(p11->C_GetObjectSize(h, o, NULL), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(template_errors)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_CLASS cert = CKO_CERTIFICATE, sec = CKO_SECRET_KEY, bogus = 0x1234;
	CK_CERTIFICATE_TYPE x509 = CKC_X_509;
	CK_ULONG four = 4;
	CK_OBJECT_HANDLE o;
	CK_ATTRIBUTE no_class[] = {{CKA_LABEL, "x", 1}};
	CK_ATTRIBUTE bad_bool[] = {{CKA_CLASS, &data_cls, sizeof(data_cls)},
				   {CKA_TOKEN, &four, sizeof(four)}};
	CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE ec = CKK_EC;
	CK_ATTRIBUTE read_only[] = {{CKA_CLASS, &pub, sizeof(pub)},
				    {CKA_KEY_TYPE, &ec, sizeof(ec)},
				    {CKA_LOCAL, &yes, sizeof(yes)}};
	CK_ATTRIBUTE wrong_class_attr[] = {{CKA_CLASS, &data_cls, sizeof(data_cls)},
					   {CKA_SIGN, &yes, sizeof(yes)}};
	CK_ATTRIBUTE unknown[] = {{CKA_CLASS, &data_cls, sizeof(data_cls)},
				  {CKA_VENDOR_DEFINED | 77, "x", 1}};
	CK_ATTRIBUTE conflict[] = {
	    {CKA_CLASS, &data_cls, sizeof(data_cls)}, {CKA_LABEL, "a", 1}, {CKA_LABEL, "b", 1}};
	CK_ATTRIBUTE cert_incomplete[] = {{CKA_CLASS, &cert, sizeof(cert)},
					  {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)},
					  {CKA_SUBJECT, "s", 1}};
	CK_ATTRIBUTE cert_ok[] = {{CKA_CLASS, &cert, sizeof(cert)},
				  {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)},
				  {CKA_SUBJECT, "s", 1},
				  {CKA_VALUE, "der", 3}};
	CK_ATTRIBUTE secret[] = {{CKA_CLASS, &sec, sizeof(sec)}, {CKA_VALUE, "0123", 4}};
	CK_ATTRIBUTE bogus_class[] = {{CKA_CLASS, &bogus, sizeof(bogus)}};
	CK_ATTRIBUTE null_value[] = {{CKA_CLASS, &data_cls, sizeof(data_cls)},
				     {CKA_LABEL, NULL, 3}};

	CK_RV_IS(p11->C_CreateObject(h, no_class, 1, &o), CKR_TEMPLATE_INCOMPLETE);
	CK_RV_IS(p11->C_CreateObject(h, bad_bool, 2, &o), CKR_ATTRIBUTE_VALUE_INVALID);
	CK_RV_IS(p11->C_CreateObject(h, read_only, 3, &o), CKR_ATTRIBUTE_READ_ONLY);
	CK_RV_IS(p11->C_CreateObject(h, wrong_class_attr, 2, &o), CKR_ATTRIBUTE_TYPE_INVALID);
	CK_RV_IS(p11->C_CreateObject(h, unknown, 2, &o), CKR_ATTRIBUTE_TYPE_INVALID);
	CK_RV_IS(p11->C_CreateObject(h, conflict, 3, &o), CKR_TEMPLATE_INCONSISTENT);
	CK_RV_IS(p11->C_CreateObject(h, cert_incomplete, 3, &o), CKR_TEMPLATE_INCOMPLETE);
	/* A secret key needs its value (imported through the card). */
	CK_RV_IS(p11->C_CreateObject(h, secret, 2, &o), CKR_TEMPLATE_INCOMPLETE);
	CK_RV_IS(p11->C_CreateObject(h, bogus_class, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
	CK_RV_IS(p11->C_CreateObject(h, null_value, 2, &o), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_CreateObject(h, NULL, 0, &o), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_CreateObject(h, cert_ok, 4, NULL), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_CreateObject(h, cert_ok, 4, &o));
}
END_TEST

START_TEST(session_checks)
{
	CK_SESSION_HANDLE ro, rw;

	t_init_user();
	ro = t_open(false);
	rw = t_open(true);
	{
		CK_ATTRIBUTE t[] = {{CKA_CLASS, &data_cls, sizeof(data_cls)},
				    {CKA_TOKEN, &yes, sizeof(yes)}};
		CK_ATTRIBUTE p[] = {{CKA_CLASS, &data_cls, sizeof(data_cls)},
				    {CKA_PRIVATE, &yes, sizeof(yes)}};
		CK_OBJECT_HANDLE o;

		CK_RV_IS(p11->C_CreateObject(ro, t, 2, &o), CKR_SESSION_READ_ONLY);
		CK_RV_IS(p11->C_CreateObject(rw, p, 2, &o), CKR_USER_NOT_LOGGED_IN);
		/* Public token object from a public R/W session. */
		CK_OK(p11->C_CreateObject(rw, t, 2, &o));
		CK_RV_IS(p11->C_DestroyObject(ro, o), CKR_SESSION_READ_ONLY);
		CK_OK(p11->C_DestroyObject(rw, o));
		CK_RV_IS(p11->C_DestroyObject(rw, o), CKR_OBJECT_HANDLE_INVALID);
	}
}
END_TEST

START_TEST(private_hidden)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE tok = make_data(h, "secret", &yes, &yes);
	CK_OBJECT_HANDLE ses = make_data(h, "secret", &no, &yes);
	CK_OBJECT_HANDLE pub = make_data(h, "public", &yes, &no);
	CK_ATTRIBUTE q[] = {{CKA_VALUE, NULL, 0}};

	ck_assert_uint_eq(count_label(h, "secret"), 2);
	CK_OK(p11->C_Logout(h));
	ck_assert_uint_eq(count_label(h, "secret"), 0);
	ck_assert_uint_eq(count_label(h, "public"), 1);
	CK_RV_IS(p11->C_GetAttributeValue(h, tok, q, 1), CKR_OBJECT_HANDLE_INVALID);
	CK_RV_IS(p11->C_GetAttributeValue(h, ses, q, 1), CKR_OBJECT_HANDLE_INVALID);
	CK_RV_IS(p11->C_DestroyObject(h, tok), CKR_OBJECT_HANDLE_INVALID);
	CK_OK(p11->C_GetAttributeValue(h, pub, q, 1));
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	ck_assert_uint_eq(count_label(h, "secret"), 2);
	CK_OK(p11->C_GetAttributeValue(h, tok, q, 1));
}
END_TEST

START_TEST(lifetimes)
{
	CK_SESSION_HANDLE h = t_user_session(true), h2 = t_open(false);
	CK_OBJECT_HANDLE tok;

	tok = make_data(h, "tok", &yes, &no);
	make_data(h, "ses", &no, &no);
	/* Session objects are seen by every session of the application. */
	ck_assert_uint_eq(count_label(h2, "ses"), 1);
	CK_OK(p11->C_CloseSession(h));
	ck_assert_uint_eq(count_label(h2, "ses"), 0);
	ck_assert_uint_eq(count_label(h2, "tok"), 1);
	CK_OK(p11->C_Finalize(NULL));
	CK_OK(p11->C_Initialize(NULL));
	h = t_open(true);
	ck_assert_uint_eq(count_label(h, "tok"), 1);
	ck_assert_uint_eq(count_label(h, "ses"), 0);
	CK_OK(p11->C_DestroyObject(h, tok));
	ck_assert_uint_eq(count_label(h, "tok"), 0);
}
END_TEST

START_TEST(set_rules)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE o = make_data(h, "s1", &yes, &no), o2;
	CK_OBJECT_CLASS other = CKO_CERTIFICATE;
	CK_ATTRIBUTE relabel[] = {{CKA_LABEL, "s2", 2}};
	CK_ATTRIBUTE cls[] = {{CKA_CLASS, &other, sizeof(other)}};
	CK_ATTRIBUTE token[] = {{CKA_TOKEN, &no, sizeof(no)}};
	CK_ATTRIBUTE freeze[] = {{CKA_MODIFIABLE, &no, sizeof(no)}};
	CK_ATTRIBUTE nocopy[] = {{CKA_COPYABLE, &no, sizeof(no)}};
	CK_ATTRIBUTE copyable[] = {{CKA_COPYABLE, &yes, sizeof(yes)}};
	CK_ATTRIBUTE nodestroy[] = {{CKA_DESTROYABLE, &no, sizeof(no)}};

	CK_OK(p11->C_SetAttributeValue(h, o, relabel, 1));
	ck_assert_uint_eq(count_label(h, "s2"), 1);
	CK_RV_IS(p11->C_SetAttributeValue(h, o, cls, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_RV_IS(p11->C_SetAttributeValue(h, o, token, 1), CKR_ATTRIBUTE_READ_ONLY);
	/* C_CopyObject may change CKA_TOKEN: a session copy. */
	CK_OK(p11->C_CopyObject(h, o, token, 1, &o2));
	ck_assert_uint_eq(o2 & 1, 1);
	ck_assert_uint_eq(count_label(h, "s2"), 2);
	CK_OK(p11->C_SetAttributeValue(h, o2, nocopy, 1));
	CK_RV_IS(p11->C_SetAttributeValue(h, o2, copyable, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_RV_IS(p11->C_CopyObject(h, o2, NULL, 0, &o), CKR_ACTION_PROHIBITED);
	CK_OK(p11->C_SetAttributeValue(h, o2, nodestroy, 1));
	CK_RV_IS(p11->C_DestroyObject(h, o2), CKR_ACTION_PROHIBITED);
	/* Copy with MODIFIABLE false, then nothing can be set. */
	CK_OK(p11->C_CopyObject(h, o, freeze, 1, &o2));
	CK_RV_IS(p11->C_SetAttributeValue(h, o2, relabel, 1), CKR_ATTRIBUTE_READ_ONLY);
}
END_TEST

START_TEST(key_attributes)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ULONG len = 32;
	CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
			    {CKA_LABEL, "aes", 3},
			    {CKA_TOKEN, &yes, sizeof(yes)}};
	CK_OBJECT_HANDLE k;
	CK_BBOOL as = CK_FALSE, ne = CK_FALSE, local = CK_FALSE, priv = CK_FALSE;
	CK_MECHANISM_TYPE gen = 0;
	uint8_t val[64];
	CK_ATTRIBUTE q[] = {
	    {CKA_ALWAYS_SENSITIVE, &as, sizeof(as)},	{CKA_NEVER_EXTRACTABLE, &ne, sizeof(ne)},
	    {CKA_LOCAL, &local, sizeof(local)},		{CKA_PRIVATE, &priv, sizeof(priv)},
	    {CKA_KEY_GEN_MECHANISM, &gen, sizeof(gen)},
	};
	CK_ATTRIBUTE value[] = {{CKA_VALUE, val, sizeof(val)}};
	CK_ATTRIBUTE unsensitive[] = {{CKA_SENSITIVE, &no, sizeof(no)}};
	CK_ATTRIBUTE sensitive[] = {{CKA_SENSITIVE, &yes, sizeof(yes)}};
	CK_ATTRIBUTE extractable[] = {{CKA_EXTRACTABLE, &yes, sizeof(yes)}};
	CK_ATTRIBUTE find_value[] = {{CKA_VALUE, val, 32}};
	CK_ULONG n = 0;

	CK_OK(p11->C_GenerateKey(h, &m, t, 3, &k));
	CK_OK(p11->C_GetAttributeValue(h, k, q, 5));
	ck_assert(as && ne && local && priv);
	ck_assert_uint_eq(gen, CKM_AES_KEY_GEN);
	CK_RV_IS(p11->C_GetAttributeValue(h, k, value, 1), CKR_ATTRIBUTE_SENSITIVE);
	ck_assert_uint_eq(value[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CK_RV_IS(p11->C_SetAttributeValue(h, k, unsensitive, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_OK(p11->C_SetAttributeValue(h, k, sensitive, 1));
	CK_RV_IS(p11->C_SetAttributeValue(h, k, extractable, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_RV_IS(p11->C_SetAttributeValue(h, k, value, 1), CKR_ATTRIBUTE_READ_ONLY);
	/* The value (or the blob) never matches a search. */
	CK_OK(p11->C_FindObjectsInit(h, find_value, 1));
	CK_OK(p11->C_FindObjects(h, &k, 1, &n));
	ck_assert_uint_eq(n, 0);
	CK_OK(p11->C_FindObjectsFinal(h));
}
END_TEST

START_TEST(find_states)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE found[4];
	CK_ULONG n, total = 0;
	CK_ATTRIBUTE cls[] = {{CKA_CLASS, &data_cls, sizeof(data_cls)}};
	int i;

	for (i = 0; i < 5; i++)
		make_data(h, "many", i & 1 ? &yes : &no, &no);
	CK_RV_IS(p11->C_FindObjects(h, found, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
	CK_RV_IS(p11->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
	CK_RV_IS(p11->C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_FindObjectsInit(h, cls, 1));
	CK_RV_IS(p11->C_FindObjectsInit(h, cls, 1), CKR_OPERATION_ACTIVE);
	CK_RV_IS(p11->C_FindObjects(h, NULL, 4, &n), CKR_ARGUMENTS_BAD);
	do {
		CK_OK(p11->C_FindObjects(h, found, 4, &n));
		total += n;
	} while (n);
	ck_assert_uint_eq(total, 5);
	CK_OK(p11->C_FindObjectsFinal(h));
	/* An empty template finds everything visible. */
	CK_OK(p11->C_FindObjectsInit(h, NULL, 0));
	CK_OK(p11->C_FindObjects(h, found, 4, &n));
	ck_assert_uint_eq(n, 4);
	CK_OK(p11->C_FindObjectsFinal(h));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-object");
	TCase *tc = tcase_create("object");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, create_get);
	tcase_add_test(tc, template_errors);
	tcase_add_test(tc, session_checks);
	tcase_add_test(tc, private_hidden);
	tcase_add_test(tc, lifetimes);
	tcase_add_test(tc, set_rules);
	tcase_add_test(tc, key_attributes);
	tcase_add_test(tc, find_states);
	suite_add_tcase(s, tc);
	return t_run(s);
}
