// SPDX-License-Identifier: GPL-2.0
/*
 * test_crypto - mechanisms of hsmgroup-pkcs11 through the emulated card:
 * random, AES key generation + AES-GCM, EC P-256 key pairs + ECDSA, SHA-2
 * digests (multi-part through state blobs), mechanism list and info.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "mock_transport.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static CK_OBJECT_HANDLE aes_key(CK_SESSION_HANDLE h, CK_BBOOL *token, CK_BBOOL *enc)
{
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ULONG len = 16;
	CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
			    {CKA_TOKEN, token, sizeof(*token)},
			    {CKA_ENCRYPT, enc, sizeof(*enc)},
			    {CKA_LABEL, "aes", 3}};
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;

	CK_OK(p11->C_GenerateKey(h, &m, t, 4, &k));
	return k;
}

static void ec_pair(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pt[] = {{CKA_EC_PARAMS, (void *)p256, sizeof(p256)}, {CKA_LABEL, "ec", 2}};
	CK_ATTRIBUTE kt[] = {{CKA_SIGN, &yes, sizeof(yes)}, {CKA_LABEL, "ec", 2}};

	CK_OK(p11->C_GenerateKeyPair(h, &m, pt, 2, kt, 2, pub, priv));
}

START_TEST(random_bytes)
{
	CK_SESSION_HANDLE h = t_open(false);
	static uint8_t big[70000];
	uint8_t a[64], b[64];

	CK_OK(p11->C_GenerateRandom(h, a, sizeof(a)));
	CK_OK(p11->C_GenerateRandom(h, b, sizeof(b)));
	ck_assert(memcmp(a, b, sizeof(a)));
	CK_OK(p11->C_GenerateRandom(h, big, sizeof(big))); /* two card requests */
	CK_OK(p11->C_GenerateRandom(h, NULL, 0));
	CK_RV_IS(p11->C_GenerateRandom(h, NULL, 4), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_GenerateRandom(4711, a, 4), CKR_SESSION_HANDLE_INVALID);
	CK_RV_IS(p11->C_SeedRandom(h, a, 4), CKR_RANDOM_SEED_NOT_SUPPORTED);
}
END_TEST

START_TEST(aes_gcm)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = aes_key(h, &no, &yes);
	uint8_t iv[12] = "unique-iv-12", aad[5] = "head";
	CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, aad, sizeof(aad), 128};
	CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
	const char *msg = "attack at dawn, bring the blobs";
	uint8_t ct[128], pt[128];
	CK_ULONG ctlen, ptlen, n;

	CK_OK(p11->C_EncryptInit(h, &m, k));
	CK_RV_IS(p11->C_EncryptInit(h, &m, k), CKR_OPERATION_ACTIVE);
	/* Length query, then a short buffer: the operation stays. */
	CK_OK(p11->C_Encrypt(h, (CK_BYTE_PTR)msg, strlen(msg), NULL, &ctlen));
	ck_assert_uint_eq(ctlen, strlen(msg) + 16);
	n = 4;
	CK_RV_IS(p11->C_Encrypt(h, (CK_BYTE_PTR)msg, strlen(msg), ct, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, ctlen);
	ctlen = sizeof(ct);
	CK_OK(p11->C_Encrypt(h, (CK_BYTE_PTR)msg, strlen(msg), ct, &ctlen));
	ck_assert_uint_eq(ctlen, strlen(msg) + 16);
	CK_RV_IS(p11->C_Encrypt(h, (CK_BYTE_PTR)msg, 1, ct, &n), CKR_OPERATION_NOT_INITIALIZED);

	CK_OK(p11->C_DecryptInit(h, &m, k));
	ptlen = sizeof(pt);
	CK_OK(p11->C_Decrypt(h, ct, ctlen, pt, &ptlen));
	ck_assert_uint_eq(ptlen, strlen(msg));
	ck_assert(!memcmp(pt, msg, ptlen));

	/* Multi-part: parts in, everything out at Final. */
	CK_OK(p11->C_DecryptInit(h, &m, k));
	n = sizeof(pt);
	CK_OK(p11->C_DecryptUpdate(h, ct, 10, pt, &n));
	ck_assert_uint_eq(n, 0);
	n = sizeof(pt);
	CK_OK(p11->C_DecryptUpdate(h, ct + 10, ctlen - 10, pt, &n));
	CK_OK(p11->C_DecryptFinal(h, NULL, &n));
	ck_assert_uint_eq(n, strlen(msg));
	CK_OK(p11->C_DecryptFinal(h, pt, &n));
	ck_assert(!memcmp(pt, msg, n));

	/* GCM encryption streams: ciphertext per part, the tag at Final. */
	CK_OK(p11->C_EncryptInit(h, &m, k));
	{
		uint8_t ct2[128];
		CK_ULONG off = 0;

		n = sizeof(ct2);
		CK_OK(p11->C_EncryptUpdate(h, (CK_BYTE_PTR)msg, 5, ct2, &n));
		off += n;
		n = sizeof(ct2) - off;
		CK_OK(
		    p11->C_EncryptUpdate(h, (CK_BYTE_PTR)msg + 5, strlen(msg) - 5, ct2 + off, &n));
		off += n;
		n = sizeof(ct2) - off;
		CK_OK(p11->C_EncryptFinal(h, ct2 + off, &n));
		off += n;
		ck_assert_uint_eq(off, ctlen);
		ck_assert(!memcmp(ct2, ct, ctlen)); /* same IV, same key: same ciphertext */
	}

	/* Tampered ciphertext. */
	ct[3] ^= 1;
	CK_OK(p11->C_DecryptInit(h, &m, k));
	ptlen = sizeof(pt);
	CK_RV_IS(p11->C_Decrypt(h, ct, ctlen, pt, &ptlen), CKR_ENCRYPTED_DATA_INVALID);
	CK_OK(p11->C_DecryptInit(h, &m, k));
	CK_RV_IS(p11->C_Decrypt(h, ct, 8, pt, &ptlen), CKR_ENCRYPTED_DATA_LEN_RANGE);
}
END_TEST

START_TEST(aes_errors)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = aes_key(h, &no, &no), pub, priv;
	uint8_t iv[12] = {0};
	CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128}, bad = gp;
	CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
	CK_MECHANISM mb = {CKM_AES_GCM, &bad, sizeof(bad)};
	CK_MECHANISM unknown = {CKM_DES3_CBC, NULL, 0};
	CK_MECHANISM cbc_noiv = {CKM_AES_CBC, NULL, 0};
	uint8_t buf[64];
	CK_ULONG n = sizeof(buf);

	CK_RV_IS(p11->C_EncryptInit(h, &m, k), CKR_KEY_FUNCTION_NOT_PERMITTED);
	CK_RV_IS(p11->C_EncryptInit(h, &unknown, k), CKR_MECHANISM_INVALID);
	CK_RV_IS(p11->C_DecryptInit(h, &cbc_noiv, k), CKR_MECHANISM_PARAM_INVALID);
	CK_RV_IS(p11->C_EncryptInit(h, NULL, k), CKR_ARGUMENTS_BAD);
	bad.tag_bits = 100;
	CK_RV_IS(p11->C_DecryptInit(h, &mb, k), CKR_MECHANISM_PARAM_INVALID);
	mb.ulParameterLen = 3;
	CK_RV_IS(p11->C_DecryptInit(h, &mb, k), CKR_MECHANISM_PARAM_INVALID);
	CK_RV_IS(p11->C_DecryptInit(h, &m, 424242), CKR_KEY_HANDLE_INVALID);
	ec_pair(h, &pub, &priv);
	CK_RV_IS(p11->C_DecryptInit(h, &m, priv), CKR_KEY_TYPE_INCONSISTENT);
	CK_RV_IS(p11->C_Decrypt(h, buf, 16, buf, &n), CKR_OPERATION_NOT_INITIALIZED);
	CK_RV_IS(p11->C_EncryptFinal(h, buf, &n), CKR_OPERATION_NOT_INITIALIZED);
}
END_TEST

START_TEST(keygen_checks)
{
	CK_SESSION_HANDLE ro, rw;
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ULONG len = 16, odd = 17;
	CK_ATTRIBUTE tok[] = {{CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_TOKEN, &yes, sizeof(yes)}};
	CK_ATTRIBUTE pub[] = {{CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_PRIVATE, &no, sizeof(no)}};
	CK_ATTRIBUTE nolen[] = {{CKA_TOKEN, &no, sizeof(no)}};
	CK_ATTRIBUTE badlen[] = {{CKA_VALUE_LEN, &odd, sizeof(odd)}};
	CK_ATTRIBUTE value[] = {{CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_VALUE, "k", 1}};
	CK_OBJECT_HANDLE k;
	unsigned int before;

	t_init_user();
	rw = t_open(true);
	ro = t_open(false);
	before = mock_submits;
	CK_RV_IS(p11->C_GenerateKey(rw, &m, tok, 1, &k), CKR_USER_NOT_LOGGED_IN);
	CK_OK(p11->C_Login(rw, CKU_USER, PIN(USER_PIN)));
	CK_RV_IS(p11->C_GenerateKey(ro, &m, tok, 2, &k), CKR_SESSION_READ_ONLY);
	CK_RV_IS(p11->C_GenerateKey(rw, &m, nolen, 1, &k), CKR_TEMPLATE_INCOMPLETE);
	CK_RV_IS(p11->C_GenerateKey(rw, &m, badlen, 1, &k), CKR_KEY_SIZE_RANGE);
	CK_RV_IS(p11->C_GenerateKey(rw, &m, value, 2, &k), CKR_TEMPLATE_INCONSISTENT);
	/* None of these reached the card. */
	ck_assert_uint_eq(mock_submits, before);
	CK_OK(p11->C_GenerateKey(ro, &m, pub, 2, &k));
	CK_OK(p11->C_GenerateKey(rw, &m, tok, 2, &k));
	ck_assert_uint_eq(k & 1, 0); /* a token object */
}
END_TEST

START_TEST(token_key_survives)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = aes_key(h, &yes, &yes), found = 0;
	uint8_t iv[12] = {1}, ct[64], pt[64];
	CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
	CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
	CK_ATTRIBUTE t[] = {{CKA_LABEL, "aes", 3}};
	CK_ULONG n = sizeof(ct), pn = sizeof(pt), cnt = 0;

	CK_OK(p11->C_EncryptInit(h, &m, k));
	CK_OK(p11->C_Encrypt(h, (CK_BYTE_PTR) "persist", 7, ct, &n));
	CK_OK(p11->C_Finalize(NULL));
	CK_OK(p11->C_Initialize(NULL));
	h = t_open(false);
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	CK_OK(p11->C_FindObjectsInit(h, t, 1));
	CK_OK(p11->C_FindObjects(h, &found, 1, &cnt));
	CK_OK(p11->C_FindObjectsFinal(h));
	ck_assert_uint_eq(cnt, 1);
	CK_OK(p11->C_DecryptInit(h, &m, found));
	CK_OK(p11->C_Decrypt(h, ct, n, pt, &pn));
	ck_assert(pn == 7 && !memcmp(pt, "persist", 7));
}
END_TEST

START_TEST(ecdsa)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE pub, priv;
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};
	CK_MECHANISM sha = {CKM_SHA256, NULL, 0};
	const char *msg = "sign me, in parts or whole";
	uint8_t sig[64], sig2[64], point[80], hash[32];
	CK_ULONG n = sizeof(sig), n2 = sizeof(sig2), hn = sizeof(hash);
	CK_ATTRIBUTE q[] = {{CKA_EC_POINT, point, sizeof(point)}};

	ec_pair(h, &pub, &priv);
	CK_OK(p11->C_GetAttributeValue(h, pub, q, 1));
	ck_assert_uint_eq(q[0].ulValueLen, 67);
	ck_assert(point[0] == 0x04 && point[1] == 0x41 && point[2] == 0x04);

	CK_OK(p11->C_SignInit(h, &m, priv));
	CK_OK(p11->C_Sign(h, (CK_BYTE_PTR)msg, strlen(msg), NULL, &n));
	ck_assert_uint_eq(n, 64);
	CK_OK(p11->C_Sign(h, (CK_BYTE_PTR)msg, strlen(msg), sig, &n));
	CK_OK(p11->C_VerifyInit(h, &m, pub));
	CK_OK(p11->C_Verify(h, (CK_BYTE_PTR)msg, strlen(msg), sig, n));

	/* Multi-part signature, single-part verification, and back. */
	CK_OK(p11->C_SignInit(h, &m, priv));
	CK_OK(p11->C_SignUpdate(h, (CK_BYTE_PTR)msg, 7));
	CK_OK(p11->C_SignUpdate(h, (CK_BYTE_PTR)msg + 7, strlen(msg) - 7));
	CK_OK(p11->C_SignFinal(h, sig2, &n2));
	CK_OK(p11->C_VerifyInit(h, &m, pub));
	CK_OK(p11->C_Verify(h, (CK_BYTE_PTR)msg, strlen(msg), sig2, n2));
	CK_OK(p11->C_VerifyInit(h, &m, pub));
	CK_OK(p11->C_VerifyUpdate(h, (CK_BYTE_PTR)msg, 3));
	CK_OK(p11->C_VerifyUpdate(h, (CK_BYTE_PTR)msg + 3, strlen(msg) - 3));
	CK_OK(p11->C_VerifyFinal(h, sig, n));

	/* CKM_ECDSA over the SHA-256 the token computes. */
	CK_OK(p11->C_DigestInit(h, &sha));
	CK_OK(p11->C_Digest(h, (CK_BYTE_PTR)msg, strlen(msg), hash, &hn));
	CK_OK(p11->C_VerifyInit(h, &raw, pub));
	CK_OK(p11->C_Verify(h, hash, hn, sig, n));
	CK_OK(p11->C_SignInit(h, &raw, priv));
	CK_RV_IS(p11->C_SignUpdate(h, hash, hn), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_SignFinal(h, sig, &n), CKR_OPERATION_NOT_INITIALIZED);

	sig[10] ^= 0x40;
	CK_OK(p11->C_VerifyInit(h, &m, pub));
	CK_RV_IS(p11->C_Verify(h, (CK_BYTE_PTR)msg, strlen(msg), sig, n), CKR_SIGNATURE_INVALID);
	CK_OK(p11->C_VerifyInit(h, &m, pub));
	CK_RV_IS(p11->C_Verify(h, (CK_BYTE_PTR)msg, strlen(msg), sig, 10), CKR_SIGNATURE_LEN_RANGE);
	/* Key roles. */
	CK_RV_IS(p11->C_SignInit(h, &m, pub), CKR_KEY_TYPE_INCONSISTENT);
	CK_RV_IS(p11->C_VerifyInit(h, &m, priv), CKR_KEY_TYPE_INCONSISTENT);
	/* Private key invisible after logout. */
	CK_OK(p11->C_Logout(h));
	CK_RV_IS(p11->C_SignInit(h, &m, priv), CKR_KEY_HANDLE_INVALID);
	CK_OK(p11->C_VerifyInit(h, &m, pub));
}
END_TEST

START_TEST(ec_templates)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	static const uint8_t k256[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a}; /* secp256k1 */
	CK_ATTRIBUTE none[] = {{CKA_LABEL, "x", 1}};
	CK_ATTRIBUTE other[] = {{CKA_EC_PARAMS, (void *)k256, sizeof(k256)}};
	CK_OBJECT_HANDLE pub, priv;

	CK_RV_IS(p11->C_GenerateKeyPair(h, &m, none, 1, NULL, 0, &pub, &priv),
		 CKR_TEMPLATE_INCOMPLETE);
	CK_RV_IS(p11->C_GenerateKeyPair(h, &m, other, 1, NULL, 0, &pub, &priv),
		 CKR_CURVE_NOT_SUPPORTED);
	CK_RV_IS(p11->C_GenerateKeyPair(h, &m, none, 1, NULL, 0, NULL, &priv), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(digest)
{
	static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
					0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
					0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
					0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	CK_SESSION_HANDLE h = t_open(false);
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	CK_MECHANISM bad = {CKM_MD5, NULL, 0};
	uint8_t md[64];
	CK_ULONG n;

	CK_OK(p11->C_DigestInit(h, &m));
	CK_OK(p11->C_Digest(h, (CK_BYTE_PTR) "abc", 3, NULL, &n));
	ck_assert_uint_eq(n, 32);
	n = 31;
	CK_RV_IS(p11->C_Digest(h, (CK_BYTE_PTR) "abc", 3, md, &n), CKR_BUFFER_TOO_SMALL);
	n = sizeof(md);
	CK_OK(p11->C_Digest(h, (CK_BYTE_PTR) "abc", 3, md, &n));
	ck_assert(n == 32 && !memcmp(md, abc, 32));

	CK_OK(p11->C_DigestInit(h, &m));
	CK_OK(p11->C_DigestUpdate(h, (CK_BYTE_PTR) "a", 1));
	CK_OK(p11->C_DigestUpdate(h, (CK_BYTE_PTR) "", 0));
	CK_OK(p11->C_DigestUpdate(h, (CK_BYTE_PTR) "bc", 2));
	CK_RV_IS(p11->C_Digest(h, (CK_BYTE_PTR) "abc", 3, md, &n), CKR_OPERATION_ACTIVE);
	n = sizeof(md);
	CK_OK(p11->C_DigestFinal(h, md, &n));
	ck_assert(n == 32 && !memcmp(md, abc, 32));

	CK_RV_IS(p11->C_DigestInit(h, &bad), CKR_MECHANISM_INVALID);
	CK_RV_IS(p11->C_DigestUpdate(h, md, 1), CKR_OPERATION_NOT_INITIALIZED);
	CK_RV_IS(p11->C_DigestFinal(h, md, &n), CKR_OPERATION_NOT_INITIALIZED);
	CK_OK(p11->C_DigestInit(h, &m));
	CK_RV_IS(p11->C_DigestInit(h, &m), CKR_OPERATION_ACTIVE);
	CK_RV_IS(p11->C_DigestUpdate(h, NULL, 4), CKR_ARGUMENTS_BAD);
	/* The error ended the operation. */
	CK_RV_IS(p11->C_DigestFinal(h, md, &n), CKR_OPERATION_NOT_INITIALIZED);
	/* Empty message through Final alone. */
	CK_OK(p11->C_DigestInit(h, &m));
	n = sizeof(md);
	CK_OK(p11->C_DigestFinal(h, md, &n));
	ck_assert(md[0] == 0xe3 && md[1] == 0xb0);
}
END_TEST

START_TEST(mechanisms)
{
	CK_MECHANISM_TYPE list[64];
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 0, i;
	bool gcm = false;

	CK_OK(p11->C_GetMechanismList(t_slot(), NULL, &n));
	ck_assert_uint_ge(n, 6);
	i = 1;
	CK_RV_IS(p11->C_GetMechanismList(t_slot(), list, &i), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(i, n);
	CK_OK(p11->C_GetMechanismList(t_slot(), list, &n));
	for (i = 0; i < n; i++) {
		CK_OK(p11->C_GetMechanismInfo(t_slot(), list[i], &mi));
		ck_assert(mi.flags & CKF_HW);
		gcm |= list[i] == CKM_AES_GCM;
	}
	ck_assert(gcm);
	CK_OK(p11->C_GetMechanismInfo(t_slot(), CKM_ECDSA_SHA256, &mi));
	ck_assert(mi.flags & CKF_SIGN && mi.flags & CKF_VERIFY);
	ck_assert_uint_eq(mi.ulMinKeySize, 256);
	CK_RV_IS(p11->C_GetMechanismInfo(t_slot(), CKM_MD5, &mi), CKR_MECHANISM_INVALID);
	CK_RV_IS(p11->C_GetMechanismInfo(t_slot(), CKM_SHA256, NULL), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_GetMechanismList(99, list, &n), CKR_SLOT_ID_INVALID);
}
END_TEST

START_TEST(strict_mode)
{
	CK_SESSION_HANDLE h, h2;
	CK_OBJECT_HANDLE k;
	uint8_t iv[12] = {2}, ct[64];
	CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
	CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
	CK_ULONG n = sizeof(ct);

	/* Strict: every PKCS#11 session has its own kernel session (logged in
	 * with the kept PIN when opened after C_Login); session keys are bound
	 * to the pin-blob of the session that made them (EP11 strict mode). */
	CK_OK(p11->C_Finalize(NULL));
	setenv("HSMGROUP_SESSION_MODE", "strict", 1);
	CK_OK(p11->C_Initialize(NULL));
	h = t_user_session(true);
	k = aes_key(h, &no, &yes);
	h2 = t_open(false);
	ck_assert_uint_eq(mock_open_sessions, 2);
	CK_OK(p11->C_EncryptInit(h, &m, k));
	CK_OK(p11->C_Encrypt(h, (CK_BYTE_PTR) "strict", 6, ct, &n));
	CK_OK(p11->C_EncryptInit(h2, &m, k));
	n = sizeof(ct);
	CK_RV_IS(p11->C_Encrypt(h2, (CK_BYTE_PTR) "strict", 6, ct, &n), CKR_KEY_HANDLE_INVALID);
	/* Logout and login again: the kept PIN is gone, both sessions log in. */
	CK_OK(p11->C_Logout(h2));
	CK_OK(p11->C_Login(h2, CKU_USER, PIN(USER_PIN)));
	CK_OK(p11->C_CloseSession(h2));
	ck_assert_uint_eq(mock_open_sessions, 1);
}
END_TEST

START_TEST(strict_per_token_config)
{
	CK_TOKEN_INFO ti;
	char path[] = "/tmp/hsmg-conf.XXXXXX", serial[17];
	CK_SESSION_HANDLE a, b;
	FILE *f;
	int fd;

	CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
	memcpy(serial, ti.serialNumber, 16);
	serial[16] = 0;
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f,
		"log_level = err\n[token 0000000000000000]\nsession_mode = none\n"
		"[token %s]\nsession_mode = strict\n",
		serial);
	fclose(f);
	CK_OK(p11->C_Finalize(NULL));
	setenv("HSMGROUP_CONFIG", path, 1);
	CK_OK(p11->C_Initialize(NULL));
	a = t_open(false);
	b = t_open(false);
	ck_assert_uint_eq(mock_open_sessions, 2); /* strict: one kernel session each */
	CK_OK(p11->C_CloseSession(a));
	CK_OK(p11->C_CloseSession(b));
	/* Another serial in the file: the token stays shared. */
	f = fopen(path, "w");
	fprintf(f, "[token 0000000000000000]\nsession_mode = strict\n");
	fclose(f);
	CK_OK(p11->C_Finalize(NULL));
	CK_OK(p11->C_Initialize(NULL));
	a = t_open(false);
	b = t_open(false);
	ck_assert_uint_eq(mock_open_sessions, 1);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-crypto");
	TCase *tc = tcase_create("crypto");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, aes_gcm);
	tcase_add_test(tc, aes_errors);
	tcase_add_test(tc, keygen_checks);
	tcase_add_test(tc, token_key_survives);
	tcase_add_test(tc, ecdsa);
	tcase_add_test(tc, ec_templates);
	tcase_add_test(tc, digest);
	tcase_add_test(tc, mechanisms);
	tcase_add_test(tc, strict_mode);
	tcase_add_test(tc, strict_per_token_config);
	suite_add_tcase(s, tc);
	return t_run(s);
}
