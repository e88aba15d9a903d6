// SPDX-License-Identifier: GPL-2.0
/*
 * test_mech - every mechanism of hsmgroup-pkcs11 through the emulated card:
 * single-part and multi-part (split at odd sizes) round trips of the AES
 * modes, MACs, RSA and ECDSA signatures, digests; wrap/unwrap/derive; key
 * import; CKR_BUFFER_TOO_SMALL with the size written back for every output
 * function; operation state errors; a multi-part operation continued on a
 * second card with the same master key (failover).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "helpers.h"
#include "mock_transport.h"
#include "module.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
/* Odd part sizes for multi-part runs. */
static const size_t splits[] = {1, 7, 13, 31, 3, 17};

static uint8_t msg[1000];

static void fill_msg(void)
{
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 31 + 7);
}

static CK_OBJECT_HANDLE secret_key(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE gen, CK_ULONG len,
				   CK_BBOOL extractable)
{
	CK_MECHANISM m = {gen, NULL, 0};
	CK_ATTRIBUTE t[] = {
	    {CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_ENCRYPT, &yes, sizeof(yes)},
	    {CKA_DECRYPT, &yes, sizeof(yes)},	{CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_VERIFY, &yes, sizeof(yes)},	{CKA_WRAP, &yes, sizeof(yes)},
	    {CKA_UNWRAP, &yes, sizeof(yes)},	{CKA_EXTRACTABLE, &extractable, 1},
	};
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;

	/* Generic secrets take no encrypt/decrypt/wrap/unwrap use. */
	CK_OK(p11->C_GenerateKey(h, &m, t, gen == CKM_AES_KEY_GEN ? 8 : 3, &k));
	if (gen != CKM_AES_KEY_GEN) {
		CK_ATTRIBUTE more[] = {{CKA_SIGN, &yes, 1}, {CKA_VERIFY, &yes, 1}};

		CK_OK(p11->C_SetAttributeValue(h, k, more, 2));
	}
	return k;
}

static CK_OBJECT_HANDLE hmac_key(CK_SESSION_HANDLE h, CK_ULONG len)
{
	CK_MECHANISM m = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
			    {CKA_SIGN, &yes, sizeof(yes)},
			    {CKA_VERIFY, &yes, sizeof(yes)},
			    {CKA_EXTRACTABLE, &yes, sizeof(yes)}};
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;

	CK_OK(p11->C_GenerateKey(h, &m, t, 4, &k));
	return k;
}

static void ec_pair(CK_SESSION_HANDLE h, const uint8_t *oid, size_t oid_len, CK_BBOOL extractable,
		    CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pt[] = {{CKA_EC_PARAMS, (void *)oid, oid_len},
			     {CKA_VERIFY, &yes, 1},
			     {CKA_ID, "\x01\x02", 2},
			     {CKA_LABEL, "ec", 2}};
	CK_ATTRIBUTE kt[] = {{CKA_SIGN, &yes, 1},
			     {CKA_DERIVE, &yes, 1},
			     {CKA_EXTRACTABLE, &extractable, 1},
			     {CKA_ID, "\x01\x02", 2},
			     {CKA_LABEL, "ec", 2}};

	CK_OK(p11->C_GenerateKeyPair(h, &m, pt, 4, kt, 5, pub, priv));
}

/* Run @m over msg[0..len) single-part and multi-part (odd splits) and
 * check both give the same output; returns the output. */
static CK_ULONG encrypt_both(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k, bool enc,
			     const uint8_t *in, CK_ULONG len, uint8_t *out)
{
	CK_RV(*init)
	(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) =
	    enc ? p11->C_EncryptInit : p11->C_DecryptInit;
	CK_RV(*once)
	(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR) =
	    enc ? p11->C_Encrypt : p11->C_Decrypt;
	CK_RV(*upd)
	(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR) =
	    enc ? p11->C_EncryptUpdate : p11->C_DecryptUpdate;
	CK_RV(*fin)
	(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR) =
	    enc ? p11->C_EncryptFinal : p11->C_DecryptFinal;
	uint8_t multi[1200];
	CK_ULONG n = 1200, off = 0, pos = 0, part, q;
	size_t i = 0;

	CK_OK(init(h, m, k));
	CK_OK(once(h, (CK_BYTE_PTR)in, len, out, &n));
	CK_OK(init(h, m, k));
	while (pos < len) {
		part = splits[i++ % 6];
		if (part > len - pos)
			part = len - pos;
		/* The size query is an upper bound, never below what comes. */
		CK_OK(upd(h, (CK_BYTE_PTR)in + pos, part, NULL, &q));
		ck_assert_uint_le(off + q, sizeof(multi));
		CK_OK(upd(h, (CK_BYTE_PTR)in + pos, part, multi + off, &q));
		off += q;
		pos += part;
	}
	q = sizeof(multi) - off;
	CK_OK(fin(h, multi + off, &q));
	off += q;
	ck_assert_uint_eq(off, n);
	ck_assert(!memcmp(multi, out, n));
	return n;
}

START_TEST(aes_modes)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	uint8_t iv[16] = "0123456789abcdef", gcm_iv[12] = "gcm-iv-12byt", aad[7] = "header";
	CK_AES_CTR_PARAMS ctr = {128, {0}};
	CK_GCM_PARAMS gp = {gcm_iv, sizeof(gcm_iv), 96, aad, sizeof(aad), 128};
	CK_GCM_PARAMS gp96 = {gcm_iv, sizeof(gcm_iv), 96, NULL, 0, 96};
	CK_MECHANISM mechs[] = {
	    {CKM_AES_ECB, NULL, 0},	    {CKM_AES_CBC, iv, 16},
	    {CKM_AES_CBC_PAD, iv, 16},	    {CKM_AES_CTR, &ctr, sizeof(ctr)},
	    {CKM_AES_GCM, &gp, sizeof(gp)}, {CKM_AES_GCM, &gp96, sizeof(gp96)},
	};
	CK_ULONG sizes[] = {16, 24, 32}, lens[] = {0, 16, 160, 101, 999};
	uint8_t ct[1200], pt[1200];
	CK_ULONG n, m, l;
	size_t i, j;

	fill_msg();
	memset(ctr.cb, 0xf0, sizeof(ctr.cb));
	for (j = 0; j < 3; j++) {
		CK_OBJECT_HANDLE k = secret_key(h, CKM_AES_KEY_GEN, sizes[j], CK_FALSE);

		for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
			for (l = 0; l < 5; l++) {
				bool block = mechs[i].mechanism == CKM_AES_ECB ||
					     mechs[i].mechanism == CKM_AES_CBC;

				if (block && lens[l] % 16)
					continue;
				n = encrypt_both(h, &mechs[i], k, true, msg, lens[l], ct);
				m = encrypt_both(h, &mechs[i], k, false, ct, n, pt);
				ck_assert_uint_eq(m, lens[l]);
				ck_assert(!memcmp(pt, msg, m));
			}
		}
	}
}
END_TEST

START_TEST(aes_errors_and_lengths)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = secret_key(h, CKM_AES_KEY_GEN, 16, CK_FALSE);
	uint8_t iv[16] = {0}, ct[64], pt[64];
	uint8_t gcm_iv[12] = {1};
	CK_GCM_PARAMS gp = {gcm_iv, sizeof(gcm_iv), 96, NULL, 0, 128};
	CK_MECHANISM cbc = {CKM_AES_CBC, iv, 16}, pad = {CKM_AES_CBC_PAD, iv, 16};
	CK_MECHANISM gcm = {CKM_AES_GCM, &gp, sizeof(gp)};
	CK_ULONG n;

	fill_msg();
	/* Not a block multiple. */
	CK_OK(p11->C_EncryptInit(h, &cbc, k));
	n = sizeof(ct);
	CK_RV_IS(p11->C_Encrypt(h, msg, 15, ct, &n), CKR_DATA_LEN_RANGE);
	CK_OK(p11->C_DecryptInit(h, &cbc, k));
	n = sizeof(pt);
	CK_RV_IS(p11->C_Decrypt(h, msg, 17, pt, &n), CKR_ENCRYPTED_DATA_LEN_RANGE);
	/* Buffer too small: size written back, the operation goes on. */
	CK_OK(p11->C_EncryptInit(h, &pad, k));
	n = 16;
	CK_RV_IS(p11->C_Encrypt(h, msg, 20, ct, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 32);
	CK_OK(p11->C_Encrypt(h, msg, 20, ct, &n));
	ck_assert_uint_eq(n, 32);
	CK_OK(p11->C_DecryptInit(h, &pad, k));
	n = 8;
	CK_RV_IS(p11->C_Decrypt(h, ct, 32, pt, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 31); /* an upper bound: at least one byte of padding goes */
	CK_OK(p11->C_Decrypt(h, ct, 32, pt, &n));
	ck_assert(n == 20 && !memcmp(pt, msg, 20));
	/* EncryptUpdate / EncryptFinal / DecryptFinal. */
	CK_OK(p11->C_EncryptInit(h, &pad, k));
	n = 15;
	CK_RV_IS(p11->C_EncryptUpdate(h, msg, 20, ct, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 16);
	CK_OK(p11->C_EncryptUpdate(h, msg, 20, ct, &n));
	ck_assert_uint_eq(n, 16);
	n = 15;
	CK_RV_IS(p11->C_EncryptFinal(h, ct + 16, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 16);
	CK_OK(p11->C_EncryptFinal(h, ct + 16, &n));
	CK_OK(p11->C_DecryptInit(h, &gcm, k));
	n = sizeof(pt);
	CK_OK(p11->C_DecryptUpdate(h, msg, 40, pt, &n));
	ck_assert_uint_eq(n, 0); /* held back until the tag is checked */
	n = 3;
	CK_RV_IS(p11->C_DecryptFinal(h, pt, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 24);
	CK_RV_IS(p11->C_DecryptFinal(h, pt, &n), CKR_ENCRYPTED_DATA_INVALID);
	CK_RV_IS(p11->C_DecryptFinal(h, pt, &n), CKR_OPERATION_NOT_INITIALIZED);
	/* Single-part after Update, Init twice, Update without Init. */
	CK_OK(p11->C_EncryptInit(h, &cbc, k));
	CK_RV_IS(p11->C_EncryptInit(h, &cbc, k), CKR_OPERATION_ACTIVE);
	n = sizeof(ct);
	CK_OK(p11->C_EncryptUpdate(h, msg, 16, ct, &n));
	n = sizeof(ct);
	CK_RV_IS(p11->C_Encrypt(h, msg, 16, ct, &n), CKR_OPERATION_ACTIVE);
	n = sizeof(ct);
	CK_OK(p11->C_EncryptFinal(h, ct, &n));
	CK_RV_IS(p11->C_EncryptUpdate(h, msg, 16, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
	CK_RV_IS(p11->C_DecryptFinal(h, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
}
END_TEST

/*
 * Multi-part ciphers as pkcs11-tool 0.23 runs them: 1024-byte parts, each
 * C_*Update given an output buffer as big as its input, no length query.
 * CBC_PAD decryption holds the last block back, so an update never returns
 * more than its input; the size it asks for must be what it returns (it
 * once asked for 16 bytes more than the buffer after the first part:
 * CKR_BUFFER_TOO_SMALL in the middle of the message).
 */
START_TEST(update_room_as_input)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = secret_key(h, CKM_AES_KEY_GEN, 32, CK_FALSE);
	uint8_t iv[16] = "0123456789abcdef";
	CK_MECHANISM mechs[] = {
	    {CKM_AES_CBC_PAD, iv, 16}, {CKM_AES_CBC, iv, 16}, {CKM_AES_ECB, NULL, 0}};
	enum { LEN = 10000, CT = 10016 };
	uint8_t *in = malloc(LEN), *ct = malloc(CT + 1024), *pt = malloc(CT + 1024);
	CK_ULONG lens[] = {LEN, 4096, 16, 1024, 1040};
	CK_ULONG n, q, off, pos, part, ctlen, len;
	size_t i, l;

	ck_assert(in && ct && pt);
	for (i = 0; i < LEN; i++)
		in[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < 3; i++) {
		for (l = 0; l < 5; l++) {
			len = lens[l];
			if (mechs[i].mechanism != CKM_AES_CBC_PAD && len % 16)
				continue;
			/* Encrypt in parts of 1024 with out room 1024. */
			CK_OK(p11->C_EncryptInit(h, &mechs[i], k));
			for (off = pos = 0; pos < len; pos += part) {
				part = len - pos > 1024 ? 1024 : len - pos;
				n = part;
				CK_OK(p11->C_EncryptUpdate(h, in + pos, part, ct + off, &n));
				ck_assert_uint_le(n, part);
				off += n;
			}
			n = 1024;
			CK_OK(p11->C_EncryptFinal(h, ct + off, &n));
			ctlen = off + n;
			ck_assert_uint_eq(ctlen, mechs[i].mechanism == CKM_AES_CBC_PAD
						     ? (len / 16 + 1) * 16
						     : len);
			/* Decrypt the same way; the queries are exact before the end. */
			CK_OK(p11->C_DecryptInit(h, &mechs[i], k));
			for (off = pos = 0; pos < ctlen; pos += part) {
				part = ctlen - pos > 1024 ? 1024 : ctlen - pos;
				CK_OK(p11->C_DecryptUpdate(h, ct + pos, part, NULL, &q));
				ck_assert_uint_le(q, part);
				n = part;
				CK_OK(p11->C_DecryptUpdate(h, ct + pos, part, pt + off, &n));
				ck_assert_uint_eq(n, q);
				off += n;
			}
			CK_OK(p11->C_DecryptFinal(h, NULL, &q));
			if (mechs[i].mechanism == CKM_AES_CBC_PAD)
				ck_assert_uint_eq(q, 15); /* one block minus >= 1 padding byte */
			n = 1024;
			CK_OK(p11->C_DecryptFinal(h, pt + off, &n));
			ck_assert_uint_le(n, q);
			ck_assert_uint_eq(off + n, len);
			ck_assert(!memcmp(pt, in, len));
		}
	}
	/* CBC_PAD decryption in 16-byte parts: 0 bytes first, then 16 each. */
	CK_OK(p11->C_EncryptInit(h, &mechs[0], k));
	n = CT;
	CK_OK(p11->C_Encrypt(h, in, 40, ct, &n));
	ck_assert_uint_eq(n, 48);
	CK_OK(p11->C_DecryptInit(h, &mechs[0], k));
	for (off = pos = 0; pos < 48; pos += 16) {
		n = 16;
		CK_OK(p11->C_DecryptUpdate(h, ct + pos, 16, pt + off, &n));
		ck_assert_uint_eq(n, pos ? 16 : 0);
		off += n;
	}
	/* A too small buffer for the last part: the exact size comes back. */
	n = 7;
	CK_RV_IS(p11->C_DecryptFinal(h, pt + off, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 15);
	CK_OK(p11->C_DecryptFinal(h, pt + off, &n));
	ck_assert_uint_eq(off + n, 40);
	ck_assert(!memcmp(pt, in, 40));
	free(in);
	free(ct);
	free(pt);
}
END_TEST

START_TEST(big_single_part)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = secret_key(h, CKM_AES_KEY_GEN, 32, CK_FALSE);
	CK_AES_CTR_PARAMS ctr = {64, {0}};
	CK_MECHANISM m = {CKM_AES_CTR, &ctr, sizeof(ctr)}, sha = {CKM_SHA256, NULL, 0};
	size_t big = 3 * 256 * 1024 + 123; /* more than one request carries */
	uint8_t *in = calloc(1, big), *ct = malloc(big), *pt = malloc(big), md[32], md2[32];
	CK_ULONG n = big, i;
	unsigned int before;

	for (i = 0; i < big; i++)
		in[i] = (uint8_t)i;
	CK_OK(p11->C_EncryptInit(h, &m, k));
	before = mock_submits;
	CK_OK(p11->C_Encrypt(h, in, big, ct, &n));
	ck_assert_uint_ge(mock_submits - before, 5); /* init, 4 parts, final */
	ck_assert_uint_eq(n, big);
	CK_OK(p11->C_DecryptInit(h, &m, k));
	CK_OK(p11->C_Decrypt(h, ct, big, pt, &n));
	ck_assert(n == big && !memcmp(in, pt, big));
	n = 32;
	CK_OK(p11->C_DigestInit(h, &sha));
	CK_OK(p11->C_Digest(h, in, big, md, &n));
	n = 32;
	ck_assert(EVP_Digest(in, big, md2, NULL, EVP_sha256(), NULL));
	ck_assert(!memcmp(md, md2, 32));
	free(in);
	free(ct);
	free(pt);
}
END_TEST

/* Sign single-part and multi-part; both verify single and multi-part;
 * a changed signature fails.  Returns the signature length. */
static CK_ULONG sign_both(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE sk,
			  CK_OBJECT_HANDLE vk, const uint8_t *data, CK_ULONG len, bool multi,
			  bool deterministic)
{
	uint8_t sig[600], sig2[600];
	CK_ULONG n = sizeof(sig), n2 = sizeof(sig2), pos = 0, part;
	size_t i = 0;

	CK_OK(p11->C_SignInit(h, m, sk));
	CK_OK(p11->C_Sign(h, (CK_BYTE_PTR)data, len, NULL, &n));
	CK_OK(p11->C_Sign(h, (CK_BYTE_PTR)data, len, sig, &n));
	CK_OK(p11->C_VerifyInit(h, m, vk));
	CK_OK(p11->C_Verify(h, (CK_BYTE_PTR)data, len, sig, n));
	if (multi) {
		CK_OK(p11->C_SignInit(h, m, sk));
		while (pos < len) {
			part = splits[i++ % 6];
			part = part > len - pos ? len - pos : part;
			CK_OK(p11->C_SignUpdate(h, (CK_BYTE_PTR)data + pos, part));
			pos += part;
		}
		CK_OK(p11->C_SignFinal(h, sig2, &n2));
		ck_assert_uint_eq(n2, n);
		if (deterministic)
			ck_assert(!memcmp(sig, sig2, n));
		CK_OK(p11->C_VerifyInit(h, m, vk));
		CK_OK(p11->C_VerifyUpdate(h, (CK_BYTE_PTR)data, 10 < len ? 10 : len));
		if (len > 10)
			CK_OK(p11->C_VerifyUpdate(h, (CK_BYTE_PTR)data + 10, len - 10));
		CK_OK(p11->C_VerifyFinal(h, sig2, n2));
		sig2[n2 / 2] ^= 0x20;
		CK_OK(p11->C_VerifyInit(h, m, vk));
		CK_OK(p11->C_VerifyUpdate(h, (CK_BYTE_PTR)data, len));
		CK_RV_IS(p11->C_VerifyFinal(h, sig2, n2), CKR_SIGNATURE_INVALID);
	} else {
		CK_OK(p11->C_SignInit(h, m, sk));
		CK_RV_IS(p11->C_SignUpdate(h, (CK_BYTE_PTR)data, len), CKR_FUNCTION_NOT_SUPPORTED);
	}
	sig[0] ^= 1;
	CK_OK(p11->C_VerifyInit(h, m, vk));
	CK_RV_IS(p11->C_Verify(h, (CK_BYTE_PTR)data, len, sig, n), CKR_SIGNATURE_INVALID);
	return n;
}

START_TEST(macs)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE ak = secret_key(h, CKM_AES_KEY_GEN, 32, CK_FALSE), hk = hmac_key(h, 40);
	CK_ULONG eight = 8;
	struct {
		CK_MECHANISM_TYPE t;
		CK_ULONG len;
		bool general;
	} ms[] = {
	    {CKM_SHA_1_HMAC, 20, false},	{CKM_SHA224_HMAC, 28, false},
	    {CKM_SHA256_HMAC, 32, false},	{CKM_SHA384_HMAC, 48, false},
	    {CKM_SHA512_HMAC, 64, false},	{CKM_SHA_1_HMAC_GENERAL, 8, true},
	    {CKM_SHA224_HMAC_GENERAL, 8, true}, {CKM_SHA256_HMAC_GENERAL, 8, true},
	    {CKM_SHA384_HMAC_GENERAL, 8, true}, {CKM_SHA512_HMAC_GENERAL, 8, true},
	    {CKM_AES_CMAC, 16, false},		{CKM_AES_CMAC_GENERAL, 8, true},
	};
	uint8_t mac[64];
	CK_ULONG n;
	size_t i;

	fill_msg();
	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		CK_MECHANISM m = {ms[i].t, ms[i].general ? &eight : NULL,
				  ms[i].general ? sizeof(eight) : 0};
		CK_OBJECT_HANDLE k =
		    ms[i].t == CKM_AES_CMAC || ms[i].t == CKM_AES_CMAC_GENERAL ? ak : hk;

		ck_assert_uint_eq(sign_both(h, &m, k, k, msg, 333, true, true), ms[i].len);
		/* Wrong length. */
		CK_OK(p11->C_SignInit(h, &m, k));
		n = ms[i].len - 1;
		CK_RV_IS(p11->C_Sign(h, msg, 5, mac, &n), CKR_BUFFER_TOO_SMALL);
		ck_assert_uint_eq(n, ms[i].len);
		CK_OK(p11->C_Sign(h, msg, 5, mac, &n));
		CK_OK(p11->C_VerifyInit(h, &m, k));
		CK_RV_IS(p11->C_Verify(h, msg, 5, mac, n - 1), CKR_SIGNATURE_LEN_RANGE);
	}
	/* SignFinal short buffer keeps the operation. */
	{
		CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};

		CK_OK(p11->C_SignInit(h, &m, hk));
		CK_OK(p11->C_SignUpdate(h, msg, 10));
		n = 31;
		CK_RV_IS(p11->C_SignFinal(h, mac, &n), CKR_BUFFER_TOO_SMALL);
		ck_assert_uint_eq(n, 32);
		CK_OK(p11->C_SignFinal(h, mac, &n));
		CK_RV_IS(p11->C_SignFinal(h, mac, &n), CKR_OPERATION_NOT_INITIALIZED);
	}
}
END_TEST

static void check_point(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv,
			const uint8_t *oid, size_t oid_len, const uint8_t *hdr, size_t hlen,
			size_t point_len)
{
	uint8_t point[200], params[20], params2[20];
	CK_ATTRIBUTE a[] = {{CKA_EC_POINT, point, sizeof(point)},
			    {CKA_EC_PARAMS, params, sizeof(params)}};
	CK_ATTRIBUTE b[] = {{CKA_EC_PARAMS, params2, sizeof(params2)}};
	CK_ATTRIBUTE v[] = {{CKA_VALUE, NULL, 0}};

	CK_OK(p11->C_GetAttributeValue(h, pub, a, 2));
	ck_assert_uint_eq(a[0].ulValueLen, hlen + point_len);
	ck_assert(!memcmp(point, hdr, hlen));
	ck_assert_uint_eq(point[hlen], 0x04);
	ck_assert(a[1].ulValueLen == oid_len && !memcmp(params, oid, oid_len));
	CK_OK(p11->C_GetAttributeValue(h, priv, b, 1));
	ck_assert(b[0].ulValueLen == oid_len && !memcmp(params2, oid, oid_len));
	CK_RV_IS(p11->C_GetAttributeValue(h, priv, v, 1), CKR_ATTRIBUTE_SENSITIVE);
}

START_TEST(ecdsa_curves)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	struct {
		const uint8_t *oid;
		size_t oid_len, order;
		uint8_t hdr[3];
		size_t hlen;
	} cs[] = {
	    {p256, sizeof(p256), 32, {0x04, 0x41}, 2},
	    {p384, sizeof(p384), 48, {0x04, 0x61}, 2},
	    {p521, sizeof(p521), 66, {0x04, 0x81, 0x85}, 3},
	};
	CK_MECHANISM_TYPE hashed[] = {CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256,
				      CKM_ECDSA_SHA384, CKM_ECDSA_SHA512};
	CK_OBJECT_HANDLE pub, priv;
	size_t c, i;

	fill_msg();
	for (c = 0; c < 3; c++) {
		CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};

		ec_pair(h, cs[c].oid, cs[c].oid_len, CK_FALSE, &pub, &priv);
		check_point(h, pub, priv, cs[c].oid, cs[c].oid_len, cs[c].hdr, cs[c].hlen,
			    1 + 2 * cs[c].order);
		ck_assert_uint_eq(sign_both(h, &raw, priv, pub, msg, 32, false, false),
				  2 * cs[c].order);
		for (i = 0; i < 5; i++) {
			CK_MECHANISM m = {hashed[i], NULL, 0};

			ck_assert_uint_eq(sign_both(h, &m, priv, pub, msg, 211, true, false),
					  2 * cs[c].order);
		}
	}
	/* A public key as C_CreateObject takes it verifies too. */
	{
		uint8_t point[200];
		CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
		CK_KEY_TYPE kt = CKK_EC;
		CK_ATTRIBUTE a[] = {{CKA_EC_POINT, point, sizeof(point)}};
		CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
		CK_OBJECT_HANDLE pub2;

		CK_OK(p11->C_GetAttributeValue(h, pub, a, 1));
		CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
				    {CKA_KEY_TYPE, &kt, sizeof(kt)},
				    {CKA_EC_PARAMS, (void *)p521, sizeof(p521)},
				    {CKA_EC_POINT, point, a[0].ulValueLen},
				    {CKA_VERIFY, &yes, 1}};

		CK_OK(p11->C_CreateObject(h, t, 5, &pub2));
		sign_both(h, &m, priv, pub2, msg, 50, true, false);
	}
}
END_TEST

/* OpenSSL public key from CKA_MODULUS / CKA_PUBLIC_EXPONENT. */
static EVP_PKEY *rsa_from_attrs(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE pub)
{
	uint8_t mod[600], e[16];
	CK_ATTRIBUTE a[] = {{CKA_MODULUS, mod, sizeof(mod)}, {CKA_PUBLIC_EXPONENT, e, sizeof(e)}};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n, *x;
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;

	CK_OK(p11->C_GetAttributeValue(h, pub, a, 2));
	n = BN_bin2bn(mod, (int)a[0].ulValueLen, NULL);
	x = BN_bin2bn(e, (int)a[1].ulValueLen, NULL);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, x);
	params = OSSL_PARAM_BLD_to_param(bld);
	ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(x);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/*
 * Single-part C_Verify with a public key is done in the module
 * (local_verify = 1, the default): no request reaches the card, and every
 * answer (good, tampered, short, wrong parameter) is the one the card gives
 * with local_verify = 0.
 */
static CK_RV verify_rv(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE pub,
		       const uint8_t *data, CK_ULONG len, const uint8_t *sig, CK_ULONG slen)
{
	CK_RV rv = p11->C_VerifyInit(h, m, pub);

	return rv != CKR_OK ? rv : p11->C_Verify(h, (CK_BYTE_PTR)data, len, (CK_BYTE_PTR)sig, slen);
}

START_TEST(verify_in_module)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_ULONG bits = 2048;
	uint8_t e3[] = {0x01, 0x00, 0x01};
	CK_ATTRIBUTE pt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
			     {CKA_PUBLIC_EXPONENT, e3, 3},
			     {CKA_VERIFY, &yes, 1}};
	CK_ATTRIBUTE kt[] = {{CKA_SIGN, &yes, 1}};
	CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
	CK_RSA_PKCS_PSS_PARAMS pss_bad = {CKM_SHA384, CKG_MGF1_SHA256, 32};
	struct {
		CK_MECHANISM m;
		bool rsa;
		CK_ULONG len; /* bytes of msg signed */
	} cases[] = {
	    {{CKM_ECDSA, NULL, 0}, false, 32},
	    {{CKM_ECDSA_SHA256, NULL, 0}, false, sizeof(msg)},
	    {{CKM_ECDSA_SHA512, NULL, 0}, false, 0},
	    {{CKM_RSA_PKCS, NULL, 0}, true, 51},
	    {{CKM_SHA256_RSA_PKCS, NULL, 0}, true, sizeof(msg)},
	    {{CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)}, true, 100},
	    {{CKM_RSA_PKCS_PSS, &pss, sizeof(pss)}, true, 32},
	};
	CK_OBJECT_HANDLE epub, epriv, rpub, rpriv;
	static uint8_t other[sizeof(msg)];
	uint8_t sig[300], bad[300];
	unsigned int before;
	CK_ULONG n;
	size_t i;
	int v, local;
	CK_RV rv[2];

	fill_msg();
	memcpy(other, msg, sizeof(msg));
	other[0] ^= 1;
	ec_pair(h, p256, sizeof(p256), CK_FALSE, &epub, &epriv);
	CK_OK(p11->C_GenerateKeyPair(h, &gen, pt, 3, kt, 1, &rpub, &rpriv));
	ck_assert_uint_eq(shim_g.cfg.local_verify, 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CK_OBJECT_HANDLE pub = cases[i].rsa ? rpub : epub;

		n = sizeof(sig);
		CK_OK(p11->C_SignInit(h, &cases[i].m, cases[i].rsa ? rpriv : epriv));
		CK_OK(p11->C_Sign(h, msg, cases[i].len, sig, &n));
		/* 0 good, 1 one bit off, 2 a byte short, 3 another message
		 * (its first bit flipped), 4 the other key type's key */
		for (v = 0; v < 5; v++) {
			CK_ULONG slen = v == 2 ? n - 1 : n;

			memcpy(bad, sig, n);
			if (v == 1)
				bad[n / 2] ^= 0x10;
			for (local = 1; local >= 0; local--) {
				shim_g.cfg.local_verify = (unsigned int)local;
				before = mock_submits;
				rv[local] = verify_rv(
				    h, &cases[i].m, v == 4 ? (cases[i].rsa ? epub : rpub) : pub,
				    v == 3 ? other : msg, cases[i].len, bad, slen);
				if (local)
					ck_assert_uint_eq(mock_submits, before);
			}
			ck_assert_msg(rv[0] == rv[1],
				      "case %zu variant %d: card 0x%lx, module 0x%lx", i, v, rv[0],
				      rv[1]);
			if (v == 0)
				CK_RV_IS(rv[1], CKR_OK);
			else if (v == 3 && cases[i].len == 0)
				CK_RV_IS(rv[1], CKR_OK); /* 0 bytes of other: the same message */
			else
				ck_assert_uint_ne(rv[1], CKR_OK);
		}
	}
	/* a PSS parameter whose hash is not the mechanism's: refused the same way */
	{
		CK_MECHANISM m = {CKM_SHA256_RSA_PKCS_PSS, &pss_bad, sizeof(pss_bad)};

		for (local = 1; local >= 0; local--) {
			shim_g.cfg.local_verify = (unsigned int)local;
			rv[local] = verify_rv(h, &m, rpub, msg, 10, sig, 256);
		}
		ck_assert_uint_eq(rv[0], rv[1]);
		ck_assert_uint_ne(rv[1], CKR_OK);
	}
	shim_g.cfg.local_verify = 1;
	/* multi-part verification still goes to the card */
	before = mock_submits;
	n = sizeof(sig);
	CK_OK(p11->C_SignInit(h, &cases[1].m, epriv));
	CK_OK(p11->C_Sign(h, msg, 100, sig, &n));
	CK_OK(p11->C_VerifyInit(h, &cases[1].m, epub));
	CK_OK(p11->C_VerifyUpdate(h, msg, 100));
	CK_OK(p11->C_VerifyFinal(h, sig, n));
	ck_assert_uint_gt(mock_submits, before + 1);
}
END_TEST

START_TEST(rsa)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_ULONG bits = 2048, n;
	uint8_t e3[] = {0x01, 0x00, 0x01};
	CK_ATTRIBUTE pt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
			     {CKA_PUBLIC_EXPONENT, e3, 3},
			     {CKA_ENCRYPT, &yes, 1},
			     {CKA_VERIFY, &yes, 1},
			     {CKA_ID, "rsa", 3}};
	CK_ATTRIBUTE kt[] = {{CKA_SIGN, &yes, 1}, {CKA_DECRYPT, &yes, 1}, {CKA_ID, "rsa", 3}};
	CK_OBJECT_HANDLE pub, priv;
	uint8_t mod[300], ct[300], pt2[300], sig[300], id[8];
	CK_ULONG mbits = 0;
	CK_ATTRIBUTE pa[] = {{CKA_MODULUS, mod, sizeof(mod)},
			     {CKA_MODULUS_BITS, &mbits, sizeof(mbits)},
			     {CKA_ID, id, sizeof(id)}};
	CK_ATTRIBUTE ka[] = {{CKA_MODULUS, mod, sizeof(mod)},
			     {CKA_PUBLIC_EXPONENT, id, sizeof(id)}};
	CK_ATTRIBUTE sens[] = {{CKA_PRIVATE_EXPONENT, NULL, 0}};
	CK_MECHANISM_TYPE hashed[] = {CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS,
				      CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS};
	CK_MECHANISM_TYPE pss[] = {CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_RSA_PKCS_PSS,
				   CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS,
				   CKM_SHA512_RSA_PKCS_PSS};
	CK_MECHANISM_TYPE hashes[] = {CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512};
	CK_ULONG mgfs[] = {CKG_MGF1_SHA1, CKG_MGF1_SHA224, CKG_MGF1_SHA256, CKG_MGF1_SHA384,
			   CKG_MGF1_SHA512};
	size_t i;

	fill_msg();
	CK_OK(p11->C_GenerateKeyPair(h, &gen, pt, 5, kt, 3, &pub, &priv));
	CK_OK(p11->C_GetAttributeValue(h, pub, pa, 3));
	ck_assert_uint_eq(pa[0].ulValueLen, 256);
	ck_assert_uint_eq(mbits, 2048);
	ck_assert(pa[2].ulValueLen == 3 && !memcmp(id, "rsa", 3));
	CK_OK(p11->C_GetAttributeValue(h, priv, ka, 2));
	ck_assert_uint_eq(ka[0].ulValueLen, 256);
	ck_assert(ka[1].ulValueLen == 3 && !memcmp(id, e3, 3));
	CK_RV_IS(p11->C_GetAttributeValue(h, priv, sens, 1), CKR_ATTRIBUTE_SENSITIVE);

	/* CKM_RSA_PKCS: sign/verify, encrypt/decrypt. */
	{
		CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};

		sign_both(h, &m, priv, pub, msg, 35, false, true);
		CK_OK(p11->C_EncryptInit(h, &m, pub));
		n = 10;
		CK_RV_IS(p11->C_Encrypt(h, msg, 40, ct, &n), CKR_BUFFER_TOO_SMALL);
		ck_assert_uint_eq(n, 256);
		CK_OK(p11->C_Encrypt(h, msg, 40, ct, &n));
		CK_OK(p11->C_DecryptInit(h, &m, priv));
		n = sizeof(pt2);
		CK_OK(p11->C_Decrypt(h, ct, 256, pt2, &n));
		ck_assert(n == 40 && !memcmp(pt2, msg, 40));
		CK_OK(p11->C_EncryptInit(h, &m, pub));
		CK_RV_IS(p11->C_EncryptUpdate(h, msg, 4, ct, &n), CKR_FUNCTION_NOT_SUPPORTED);
	}
	for (i = 0; i < 5; i++) {
		CK_MECHANISM m = {hashed[i], NULL, 0};

		ck_assert_uint_eq(sign_both(h, &m, priv, pub, msg, 500, true, true), 256);
	}
	/* The attributes are right: OpenSSL verifies a SHA256_RSA_PKCS signature. */
	{
		CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
		EVP_PKEY *pk = rsa_from_attrs(h, pub);
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		n = sizeof(sig);
		CK_OK(p11->C_SignInit(h, &m, priv));
		CK_OK(p11->C_Sign(h, msg, 77, sig, &n));
		ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
		ck_assert_int_eq(EVP_DigestVerify(md, sig, n, msg, 77), 1);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(pk);
	}
	for (i = 0; i < 5; i++) {
		CK_RSA_PKCS_PSS_PARAMS pp = {hashes[i], mgfs[i], 20};
		CK_MECHANISM m = {pss[i], &pp, sizeof(pp)},
			     raw = {CKM_RSA_PKCS_PSS, &pp, sizeof(pp)};
		uint8_t md[64];
		unsigned int mdl = 0;
		const EVP_MD *emd = i == 0   ? EVP_sha1()
				    : i == 1 ? EVP_sha224()
				    : i == 2 ? EVP_sha256()
				    : i == 3 ? EVP_sha384()
					     : EVP_sha512();

		ck_assert_uint_eq(sign_both(h, &m, priv, pub, msg, 300, true, false), 256);
		EVP_Digest(msg, 300, md, &mdl, emd, NULL);
		sign_both(h, &raw, priv, pub, md, mdl, false, false);
	}
	/* OAEP with a label. */
	{
		CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED,
					      "label", 5};
		CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &op, sizeof(op)};

		CK_OK(p11->C_EncryptInit(h, &m, pub));
		n = sizeof(ct);
		CK_OK(p11->C_Encrypt(h, msg, 64, ct, &n));
		CK_OK(p11->C_DecryptInit(h, &m, priv));
		n = sizeof(pt2);
		CK_OK(p11->C_Decrypt(h, ct, 256, pt2, &n));
		ck_assert(n == 64 && !memcmp(pt2, msg, 64));
		op.source_data = "other";
		CK_OK(p11->C_DecryptInit(h, &m, priv));
		n = sizeof(pt2);
		ck_assert_uint_ne(p11->C_Decrypt(h, ct, 256, pt2, &n), CKR_OK);
	}
	/* Public operations need the public key; usage is enforced. */
	{
		CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};

		CK_RV_IS(p11->C_SignInit(h, &m, pub), CKR_KEY_TYPE_INCONSISTENT);
		CK_RV_IS(p11->C_VerifyInit(h, &m, priv), CKR_KEY_TYPE_INCONSISTENT);
	}
}
END_TEST

/*
 * Update and Final calls of a single-part mechanism: CKR_FUNCTION_NOT_SUPPORTED,
 * and the operation is over.  pkcs11-tool --test signs this way: SignInit
 * (RSA_PKCS), SignUpdate (not supported: a warning; CKR_MECHANISM_INVALID
 * counted as an error), SignInit again, Sign with a 1-byte buffer, Sign
 * with NULL, Sign.
 */
START_TEST(single_part_update)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_ULONG bits = 2048, n;
	CK_ATTRIBUTE pt[] = {
	    {CKA_MODULUS_BITS, &bits, sizeof(bits)}, {CKA_ENCRYPT, &yes, 1}, {CKA_VERIFY, &yes, 1}};
	CK_ATTRIBUTE kt[] = {{CKA_SIGN, &yes, 1}, {CKA_DECRYPT, &yes, 1}};
	CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA256, CKG_MGF1_SHA256, 0, NULL, 0};
	CK_MECHANISM pkcs = {CKM_RSA_PKCS, NULL, 0}, oaep = {CKM_RSA_PKCS_OAEP, &op, sizeof(op)};
	CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
	CK_OBJECT_HANDLE pub, priv, epub, epriv;
	/* SHA-1 DigestInfo of pkcs11-tool's test data */
	static const uint8_t di[35] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03,
				       0x02, 0x1a, 0x05, 0x00, 0x04, 0x14, 0x29, 0xb0, 0xe7,
				       0x87, 0x82, 0x71, 0x64, 0x5f, 0xff, 0xb7, 0xee, 0xc7,
				       0xdb, 0x4a, 0x74, 0x73, 0xa1, 0xc0, 0x0b, 0xc1};
	uint8_t sig[300], ct[300];

	fill_msg();
	CK_OK(p11->C_GenerateKeyPair(h, &gen, pt, 3, kt, 2, &pub, &priv));
	/* pkcs11-tool --test, "Signatures", 1st and 2nd test. */
	CK_OK(p11->C_SignInit(h, &pkcs, priv));
	CK_RV_IS(p11->C_SignUpdate(h, (CK_BYTE_PTR)di, 5), CKR_FUNCTION_NOT_SUPPORTED);
	CK_OK(p11->C_SignInit(h, &pkcs, priv)); /* the failed update ended it */
	n = 1;
	CK_RV_IS(p11->C_Sign(h, (CK_BYTE_PTR)di, 35, sig, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 256);
	CK_OK(p11->C_Sign(h, (CK_BYTE_PTR)di, 35, NULL, &n));
	ck_assert_uint_eq(n, 256);
	CK_OK(p11->C_Sign(h, (CK_BYTE_PTR)di, 35, sig, &n));
	CK_OK(p11->C_VerifyInit(h, &pkcs, pub));
	CK_OK(p11->C_Verify(h, (CK_BYTE_PTR)di, 35, sig, n));
	/* Verify, encrypt, decrypt: Update and Final the same. */
	CK_OK(p11->C_VerifyInit(h, &pkcs, pub));
	CK_RV_IS(p11->C_VerifyUpdate(h, (CK_BYTE_PTR)di, 35), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_VerifyFinal(h, sig, n), CKR_OPERATION_NOT_INITIALIZED);
	CK_OK(p11->C_VerifyInit(h, &pkcs, pub));
	CK_RV_IS(p11->C_VerifyFinal(h, sig, n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_OK(p11->C_VerifyInit(h, &pkcs, pub));
	CK_OK(p11->C_Verify(h, (CK_BYTE_PTR)di, 35, sig, n));
	CK_OK(p11->C_EncryptInit(h, &oaep, pub));
	n = sizeof(ct);
	CK_RV_IS(p11->C_EncryptFinal(h, ct, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_OK(p11->C_EncryptInit(h, &oaep, pub));
	n = sizeof(ct);
	CK_OK(p11->C_Encrypt(h, msg, 40, ct, &n));
	CK_OK(p11->C_DecryptInit(h, &oaep, priv));
	n = sizeof(sig);
	CK_RV_IS(p11->C_DecryptUpdate(h, ct, 256, sig, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_OK(p11->C_DecryptInit(h, &oaep, priv));
	n = sizeof(sig);
	CK_OK(p11->C_Decrypt(h, ct, 256, sig, &n));
	ck_assert(n == 40 && !memcmp(sig, msg, 40));
	/* Raw ECDSA. */
	ec_pair(h, p256, sizeof(p256), CK_FALSE, &epub, &epriv);
	CK_OK(p11->C_SignInit(h, &ecdsa, epriv));
	n = sizeof(sig);
	CK_RV_IS(p11->C_SignFinal(h, sig, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_OK(p11->C_SignInit(h, &ecdsa, epriv));
	n = sizeof(sig);
	CK_OK(p11->C_Sign(h, msg, 32, sig, &n));
	ck_assert_uint_eq(n, 64);
}
END_TEST

START_TEST(digests)
{
	CK_SESSION_HANDLE h = t_open(false);
	struct {
		CK_MECHANISM_TYPE t;
		const EVP_MD *(*md)(void);
	} ds[] = {{CKM_SHA_1, EVP_sha1},
		  {CKM_SHA224, EVP_sha224},
		  {CKM_SHA256, EVP_sha256},
		  {CKM_SHA384, EVP_sha384},
		  {CKM_SHA512, EVP_sha512}};
	uint8_t out[64], ref[64];
	unsigned int rl;
	CK_ULONG n, pos, part;
	size_t i, j;

	fill_msg();
	for (i = 0; i < 5; i++) {
		CK_MECHANISM m = {ds[i].t, NULL, 0};

		EVP_Digest(msg, 555, ref, &rl, ds[i].md(), NULL);
		CK_OK(p11->C_DigestInit(h, &m));
		n = rl - 1;
		CK_RV_IS(p11->C_Digest(h, msg, 555, out, &n), CKR_BUFFER_TOO_SMALL);
		ck_assert_uint_eq(n, rl);
		CK_OK(p11->C_Digest(h, msg, 555, out, &n));
		ck_assert(n == rl && !memcmp(out, ref, rl));
		CK_OK(p11->C_DigestInit(h, &m));
		for (pos = 0, j = 0; pos < 555; pos += part) {
			part = splits[j++ % 6];
			part = part > 555 - pos ? 555 - pos : part;
			CK_OK(p11->C_DigestUpdate(h, msg + pos, part));
		}
		n = rl - 1;
		CK_RV_IS(p11->C_DigestFinal(h, out, &n), CKR_BUFFER_TOO_SMALL);
		ck_assert_uint_eq(n, rl);
		CK_OK(p11->C_DigestFinal(h, out, &n));
		ck_assert(n == rl && !memcmp(out, ref, rl));
	}
}
END_TEST

START_TEST(wrap_unwrap)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE wk = secret_key(h, CKM_AES_KEY_GEN, 32, CK_FALSE);
	CK_OBJECT_HANDLE k = secret_key(h, CKM_AES_KEY_GEN, 24, CK_TRUE);
	CK_OBJECT_HANDLE fixed = secret_key(h, CKM_AES_KEY_GEN, 16, CK_FALSE);
	CK_OBJECT_HANDLE hk = hmac_key(h, 20), pub, priv, k2, priv2, hk2;
	CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0}, kwp = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0}, hm = {CKM_SHA256_HMAC, NULL, 0};
	CK_MECHANISM es = {CKM_ECDSA_SHA384, NULL, 0};
	CK_OBJECT_CLASS sec = CKO_SECRET_KEY, prv = CKO_PRIVATE_KEY;
	CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET, ec = CKK_EC;
	CK_ATTRIBUTE at[] = {{CKA_CLASS, &sec, sizeof(sec)},
			     {CKA_KEY_TYPE, &aes, sizeof(aes)},
			     {CKA_DECRYPT, &yes, 1},
			     {CKA_ENCRYPT, &yes, 1}};
	CK_ATTRIBUTE gt[] = {{CKA_CLASS, &sec, sizeof(sec)},
			     {CKA_KEY_TYPE, &gen, sizeof(gen)},
			     {CKA_SIGN, &yes, 1},
			     {CKA_VERIFY, &yes, 1}};
	CK_ATTRIBUTE et[] = {
	    {CKA_CLASS, &prv, sizeof(prv)}, {CKA_KEY_TYPE, &ec, sizeof(ec)}, {CKA_SIGN, &yes, 1}};
	uint8_t wrapped[600], ct[32], ct2[32], mac[32], mac2[32], sig[200];
	CK_ULONG n, wl, vl = 0;
	CK_ATTRIBUTE lenq[] = {{CKA_VALUE_LEN, &vl, sizeof(vl)}};

	fill_msg();
	/* AES key under KEY_WRAP: length query, short buffer, then the real call. */
	CK_OK(p11->C_WrapKey(h, &kw, wk, k, NULL, &wl));
	ck_assert_uint_eq(wl, 32);
	n = 31;
	CK_RV_IS(p11->C_WrapKey(h, &kw, wk, k, wrapped, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 32);
	CK_OK(p11->C_WrapKey(h, &kw, wk, k, wrapped, &n));
	CK_OK(p11->C_UnwrapKey(h, &kw, wk, wrapped, n, at, 4, &k2));
	CK_OK(p11->C_GetAttributeValue(h, k2, lenq, 1));
	ck_assert_uint_eq(vl, 24);
	CK_OK(p11->C_EncryptInit(h, &ecb, k));
	n = sizeof(ct);
	CK_OK(p11->C_Encrypt(h, msg, 32, ct, &n));
	CK_OK(p11->C_EncryptInit(h, &ecb, k2));
	n = sizeof(ct2);
	CK_OK(p11->C_Encrypt(h, msg, 32, ct2, &n));
	ck_assert(!memcmp(ct, ct2, 32));
	/* A tampered wrapped key. */
	wrapped[5] ^= 1;
	CK_RV_IS(p11->C_UnwrapKey(h, &kw, wk, wrapped, 32, at, 4, &k2), CKR_WRAPPED_KEY_INVALID);
	/* Not extractable; wrapping key without CKA_WRAP; wrong wrapping key type. */
	n = sizeof(wrapped);
	CK_RV_IS(p11->C_WrapKey(h, &kw, wk, fixed, wrapped, &n), CKR_KEY_UNEXTRACTABLE);
	CK_RV_IS(p11->C_WrapKey(h, &kw, hk, k, wrapped, &n), CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
	CK_RV_IS(p11->C_WrapKey(h, &kw, 4242, k, wrapped, &n), CKR_WRAPPING_KEY_HANDLE_INVALID);
	{
		CK_ATTRIBUTE off[] = {{CKA_WRAP, &no, 1}};
		CK_OBJECT_HANDLE nw = secret_key(h, CKM_AES_KEY_GEN, 16, CK_FALSE);

		CK_OK(p11->C_SetAttributeValue(h, nw, off, 1));
		CK_RV_IS(p11->C_WrapKey(h, &kw, nw, k, wrapped, &n),
			 CKR_KEY_FUNCTION_NOT_PERMITTED);
	}
	/* HMAC key (20 bytes) under KEY_WRAP_PAD. */
	n = sizeof(wrapped);
	CK_OK(p11->C_WrapKey(h, &kwp, wk, hk, wrapped, &n));
	CK_OK(p11->C_UnwrapKey(h, &kwp, wk, wrapped, n, gt, 4, &hk2));
	CK_OK(p11->C_SignInit(h, &hm, hk));
	n = 32;
	CK_OK(p11->C_Sign(h, msg, 40, mac, &n));
	CK_OK(p11->C_SignInit(h, &hm, hk2));
	n = 32;
	CK_OK(p11->C_Sign(h, msg, 40, mac2, &n));
	ck_assert(!memcmp(mac, mac2, 32));
	/* EC private key (PKCS#8) under KEY_WRAP_PAD. */
	ec_pair(h, p384, sizeof(p384), CK_TRUE, &pub, &priv);
	n = sizeof(wrapped);
	CK_OK(p11->C_WrapKey(h, &kwp, wk, priv, wrapped, &n));
	CK_OK(p11->C_UnwrapKey(h, &kwp, wk, wrapped, n, et, 3, &priv2));
	{
		uint8_t params[16];
		CK_ATTRIBUTE pa[] = {{CKA_EC_PARAMS, params, sizeof(params)}};

		CK_OK(p11->C_GetAttributeValue(h, priv2, pa, 1));
		ck_assert(pa[0].ulValueLen == sizeof(p384) && !memcmp(params, p384, sizeof(p384)));
	}
	CK_OK(p11->C_SignInit(h, &es, priv2));
	n = sizeof(sig);
	CK_OK(p11->C_Sign(h, msg, 99, sig, &n));
	CK_OK(p11->C_VerifyInit(h, &es, pub));
	CK_OK(p11->C_Verify(h, msg, 99, sig, n));
}
END_TEST

START_TEST(ecdh_derive)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE apub, apriv, bpub, bpriv, ka, kb;
	uint8_t apt[200], bpt[200], ct[32], ct2[32];
	CK_ATTRIBUTE ga[] = {{CKA_EC_POINT, apt, sizeof(apt)}};
	CK_ATTRIBUTE gb[] = {{CKA_EC_POINT, bpt, sizeof(bpt)}};
	CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_ULONG len = 16, n, vl = 0;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &sec, sizeof(sec)},
			    {CKA_KEY_TYPE, &aes, sizeof(aes)},
			    {CKA_VALUE_LEN, &len, sizeof(len)},
			    {CKA_ENCRYPT, &yes, 1}};
	CK_ATTRIBUTE t0[] = {{CKA_KEY_TYPE, &aes, sizeof(aes)}, {CKA_ENCRYPT, &yes, 1}};
	CK_ATTRIBUTE lenq[] = {{CKA_VALUE_LEN, &vl, sizeof(vl)}};
	CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
	CK_ECDH1_DERIVE_PARAMS pa = {CKD_NULL, 0, NULL, 0, NULL}, pb = pa;
	CK_MECHANISM da = {CKM_ECDH1_DERIVE, &pa, sizeof(pa)},
		     db = {CKM_ECDH1_DERIVE, &pb, sizeof(pb)};
	int kdf;

	fill_msg();
	ec_pair(h, p256, sizeof(p256), CK_FALSE, &apub, &apriv);
	ec_pair(h, p256, sizeof(p256), CK_FALSE, &bpub, &bpriv);
	CK_OK(p11->C_GetAttributeValue(h, apub, ga, 1));
	CK_OK(p11->C_GetAttributeValue(h, bpub, gb, 1));
	for (kdf = 0; kdf < 2; kdf++) {
		pa.kdf = pb.kdf = kdf ? CKD_SHA256_KDF : CKD_NULL;
		pa.shared_data = pb.shared_data = kdf ? (CK_BYTE_PTR) "info" : NULL;
		pa.shared_data_len = pb.shared_data_len = kdf ? 4 : 0;
		/* The peer's CKA_EC_POINT as is (DER) and the raw point. */
		pa.public_data = bpt;
		pa.public_data_len = gb[0].ulValueLen;
		pb.public_data = apt + 2;
		pb.public_data_len = ga[0].ulValueLen - 2;
		CK_OK(p11->C_DeriveKey(h, &da, apriv, t, 4, &ka));
		CK_OK(p11->C_DeriveKey(h, &db, bpriv, t, 4, &kb));
		CK_OK(p11->C_EncryptInit(h, &ecb, ka));
		n = 32;
		CK_OK(p11->C_Encrypt(h, msg, 32, ct, &n));
		CK_OK(p11->C_EncryptInit(h, &ecb, kb));
		n = 32;
		CK_OK(p11->C_Encrypt(h, msg, 32, ct2, &n));
		ck_assert(!memcmp(ct, ct2, 32));
	}
	/* No CKA_VALUE_LEN: the whole secret (32 bytes); class defaults. */
	pa.kdf = CKD_NULL;
	pa.shared_data = NULL;
	pa.shared_data_len = 0;
	CK_OK(p11->C_DeriveKey(h, &da, apriv, t0, 2, &ka));
	CK_OK(p11->C_GetAttributeValue(h, ka, lenq, 1));
	ck_assert_uint_eq(vl, 32);
	/* Base key without CKA_DERIVE; a bad peer point. */
	{
		CK_ATTRIBUTE off[] = {{CKA_DERIVE, &no, 1}};

		CK_OK(p11->C_SetAttributeValue(h, bpriv, off, 1));
		CK_RV_IS(p11->C_DeriveKey(h, &db, bpriv, t, 4, &kb),
			 CKR_KEY_FUNCTION_NOT_PERMITTED);
		pa.public_data_len = 10;
		CK_RV_IS(p11->C_DeriveKey(h, &da, apriv, t, 4, &ka), CKR_MECHANISM_PARAM_INVALID);
	}
}
END_TEST

/* C_GetAttributeValue(CKA_VALUE) of @k into @out (room @cap): the rv. */
static CK_RV get_value(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, uint8_t *out, CK_ULONG *len)
{
	CK_ATTRIBUTE v[] = {{CKA_VALUE, out, *len}};
	CK_RV rv = p11->C_GetAttributeValue(h, k, v, 1);

	*len = v[0].ulValueLen;
	return rv;
}

/*
 * The value of a secret key that is not sensitive and extractable is
 * readable (PKCS#11), from the card's EXPORT_KEY: pkcs11-tool --derive
 * makes such a key and writes its CKA_VALUE (it wrote nothing: the value
 * was CKR_ATTRIBUTE_SENSITIVE).  Every other key value stays sensitive.
 */
START_TEST(readable_secret_values)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE pub, priv, k, k2, k3;
	CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
	CK_KEY_TYPE gen = CKK_GENERIC_SECRET, aes = CKK_AES;
	CK_ULONG vl = 32, n, bits = 0;
	uint8_t point[100], peer_pt[100], zt[64], zo[64], val[64], ct[64], ct2[64];
	CK_ECDH1_DERIVE_PARAMS dp = {CKD_NULL, 0, NULL, 0, NULL};
	CK_MECHANISM dm = {CKM_ECDH1_DERIVE, &dp, sizeof(dp)};
	CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0}, kw = {CKM_AES_KEY_WRAP, NULL, 0};
	/* pkcs11-tool 0.23 derive_ec_key()'s template */
	CK_ATTRIBUTE tool[] = {{CKA_TOKEN, &no, 1},
			       {CKA_CLASS, &sec, sizeof(sec)},
			       {CKA_KEY_TYPE, &gen, sizeof(gen)},
			       {CKA_SENSITIVE, &no, 1},
			       {CKA_EXTRACTABLE, &yes, 1},
			       {CKA_ENCRYPT, &yes, 1},
			       {CKA_DECRYPT, &yes, 1},
			       {CKA_WRAP, &yes, 1},
			       {CKA_UNWRAP, &yes, 1},
			       {CKA_VALUE_LEN, &vl, sizeof(vl)}};
	CK_ATTRIBUTE pa[] = {{CKA_EC_POINT, point, sizeof(point)}};
	CK_ATTRIBUTE sens_on[] = {{CKA_SENSITIVE, &yes, 1}};
	CK_ATTRIBUTE ext_off[] = {{CKA_EXTRACTABLE, &no, 1}};
	EVP_PKEY *peer, *ours = NULL;
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	size_t plen = 0, zlen = sizeof(zo);
	unsigned int before;

	fill_msg();
	ec_pair(h, p256, sizeof(p256), CK_FALSE, &pub, &priv);
	CK_OK(p11->C_GetAttributeValue(h, pub, pa, 1));
	ck_assert_uint_eq(pa[0].ulValueLen, 67); /* 04 41 04 X Y */
	peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(peer);
	ck_assert_int_eq(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, peer_pt,
							 sizeof(peer_pt), &plen),
			 1);
	ck_assert_uint_eq(plen, 65);
	/* openssl's side: peer private key with the token's public key */
	bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point + 2, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &ours, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	ctx = EVP_PKEY_CTX_new(peer, NULL);
	ck_assert_int_eq(EVP_PKEY_derive_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_derive_set_peer(ctx, ours), 1);
	ck_assert_int_eq(EVP_PKEY_derive(ctx, zo, &zlen), 1);
	ck_assert_uint_eq(zlen, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(ours);
	EVP_PKEY_free(peer);

	/* The token's side, as pkcs11-tool --derive: query, short, read. */
	dp.public_data = peer_pt;
	dp.public_data_len = 65;
	CK_OK(p11->C_DeriveKey(h, &dm, priv, tool, 10, &k));
	{
		CK_ATTRIBUTE q[] = {{CKA_VALUE, NULL, 0}, {CKA_VALUE_LEN, &bits, sizeof(bits)}};

		before = mock_submits;
		CK_OK(p11->C_GetAttributeValue(h, k, q, 2));
		ck_assert(q[0].ulValueLen == 32 && bits == 32);
		ck_assert_uint_eq(mock_submits, before); /* a length query asks no card */
	}
	n = 31;
	CK_RV_IS(get_value(h, k, zt, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, CK_UNAVAILABLE_INFORMATION);
	n = sizeof(zt);
	CK_OK(get_value(h, k, zt, &n));
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(zt, zo, 32);
	/* A token key, and no CKA_VALUE_LEN (the whole secret). */
	tool[0].pValue = &yes;
	CK_OK(p11->C_DeriveKey(h, &dm, priv, tool, 9, &k2));
	n = sizeof(zt);
	memset(zt, 0, sizeof(zt));
	CK_OK(get_value(h, k2, zt, &n));
	ck_assert(n == 32 && !memcmp(zt, zo, 32));
	/* Made sensitive, or unextractable: the value is gone. */
	CK_OK(p11->C_SetAttributeValue(h, k2, sens_on, 1));
	n = sizeof(zt);
	CK_RV_IS(get_value(h, k2, zt, &n), CKR_ATTRIBUTE_SENSITIVE);
	ck_assert_uint_eq(n, CK_UNAVAILABLE_INFORMATION);
	CK_OK(p11->C_SetAttributeValue(h, k, ext_off, 1));
	n = sizeof(zt);
	CK_RV_IS(get_value(h, k, zt, &n), CKR_ATTRIBUTE_SENSITIVE);
	/* Sensitive by default; not sensitive but not extractable. */
	tool[0].pValue = &no;
	tool[3].pValue = &yes;
	CK_OK(p11->C_DeriveKey(h, &dm, priv, tool, 10, &k3));
	n = sizeof(zt);
	CK_RV_IS(get_value(h, k3, zt, &n), CKR_ATTRIBUTE_SENSITIVE);
	CK_OK(p11->C_DeriveKey(h, &dm, priv, tool + 1, 2, &k3));
	n = sizeof(zt);
	CK_RV_IS(get_value(h, k3, zt, &n), CKR_ATTRIBUTE_SENSITIVE);
	tool[3].pValue = &no;
	tool[4].pValue = &no;
	CK_OK(p11->C_DeriveKey(h, &dm, priv, tool, 10, &k3));
	before = mock_submits;
	n = sizeof(zt);
	CK_RV_IS(get_value(h, k3, zt, &n), CKR_ATTRIBUTE_SENSITIVE);
	ck_assert_uint_eq(mock_submits, before);

	/* A generated AES key: its value encrypts as the token does. */
	{
		CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
		CK_ULONG len = 16;
		CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
				    {CKA_SENSITIVE, &no, 1},
				    {CKA_EXTRACTABLE, &yes, 1},
				    {CKA_ENCRYPT, &yes, 1}};
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		int ol = 0;

		CK_OK(p11->C_GenerateKey(h, &m, t, 4, &k));
		n = sizeof(val);
		CK_OK(get_value(h, k, val, &n));
		ck_assert_uint_eq(n, 16);
		CK_OK(p11->C_EncryptInit(h, &ecb, k));
		n = sizeof(ct);
		CK_OK(p11->C_Encrypt(h, msg, 32, ct, &n));
		ck_assert_int_eq(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, val, NULL), 1);
		EVP_CIPHER_CTX_set_padding(c, 0);
		ck_assert_int_eq(EVP_EncryptUpdate(c, ct2, &ol, msg, 32), 1);
		ck_assert_int_eq(ol, 32);
		EVP_CIPHER_CTX_free(c);
		ck_assert_mem_eq(ct, ct2, 32);
		/* The value never matches a search. */
		{
			CK_ATTRIBUTE f[] = {{CKA_VALUE, val, 16}};
			CK_OBJECT_HANDLE found;

			CK_OK(p11->C_FindObjectsInit(h, f, 1));
			CK_OK(p11->C_FindObjects(h, &found, 1, &n));
			ck_assert_uint_eq(n, 0);
			CK_OK(p11->C_FindObjectsFinal(h));
		}
	}
	/* Imported, and unwrapped: the value given is the value read. */
	{
		static const uint8_t raw[20] = "twenty bytes secret!";
		CK_ATTRIBUTE t[] = {{CKA_CLASS, &sec, sizeof(sec)},
				    {CKA_KEY_TYPE, &gen, sizeof(gen)},
				    {CKA_VALUE, (void *)raw, sizeof(raw)},
				    {CKA_SENSITIVE, &no, 1},
				    {CKA_EXTRACTABLE, &yes, 1}};
		CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
		CK_ULONG len = 32;
		CK_ATTRIBUTE wt[] = {
		    {CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_WRAP, &yes, 1}, {CKA_UNWRAP, &yes, 1}};
		CK_ATTRIBUTE ut[] = {{CKA_CLASS, &sec, sizeof(sec)},
				     {CKA_KEY_TYPE, &aes, sizeof(aes)},
				     {CKA_SENSITIVE, &no, 1},
				     {CKA_EXTRACTABLE, &yes, 1}};
		CK_OBJECT_HANDLE wk, u;
		uint8_t wrapped[64];
		CK_ULONG wl = sizeof(wrapped);

		CK_OK(p11->C_CreateObject(h, t, 5, &k2));
		n = sizeof(zt);
		CK_OK(get_value(h, k2, zt, &n));
		ck_assert(n == 20 && !memcmp(zt, raw, 20));
		CK_OK(p11->C_GenerateKey(h, &m, wt, 3, &wk));
		CK_OK(p11->C_WrapKey(h, &kw, wk, k, wrapped, &wl));
		CK_OK(p11->C_UnwrapKey(h, &kw, wk, wrapped, wl, ut, 4, &u));
		n = sizeof(zt);
		CK_OK(get_value(h, u, zt, &n));
		ck_assert(n == 16 && !memcmp(zt, val, 16));
		/* The wrapping key itself (sensitive by default) stays secret. */
		n = sizeof(zt);
		CK_RV_IS(get_value(h, wk, zt, &n), CKR_ATTRIBUTE_SENSITIVE);
	}
}
END_TEST

START_TEST(import_keys)
{
	/* FIPS-197 C.1 and RFC 4231 test case 2. */
	static const uint8_t aes_k[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	static const uint8_t aes_pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t aes_ct[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
					   0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
	static const uint8_t hmac_ref[8] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e};
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_CLASS sec = CKO_SECRET_KEY, prv = CKO_PRIVATE_KEY;
	CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET, ec = CKK_EC;
	CK_ATTRIBUTE at[] = {{CKA_CLASS, &sec, sizeof(sec)}, {CKA_KEY_TYPE, &aes, sizeof(aes)},
			     {CKA_TOKEN, &yes, 1},	     {CKA_ENCRYPT, &yes, 1},
			     {CKA_VALUE, (void *)aes_k, 16}, {CKA_LABEL, "imported", 8}};
	CK_ATTRIBUTE gt[] = {{CKA_CLASS, &sec, sizeof(sec)},
			     {CKA_KEY_TYPE, &gen, sizeof(gen)},
			     {CKA_SIGN, &yes, 1},
			     {CKA_VALUE, "Jefe", 4}};
	CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0}, hm = {CKM_SHA256_HMAC, NULL, 0};
	CK_OBJECT_HANDLE k, hk, priv, pub, pub2;
	CK_ATTRIBUTE v[] = {{CKA_VALUE, NULL, 0}};
	CK_ULONG vl = 0, n;
	CK_ATTRIBUTE lenq[] = {{CKA_VALUE_LEN, &vl, sizeof(vl)}};
	uint8_t out[64];
	char cmd[512];

	CK_OK(p11->C_CreateObject(h, at, 6, &k));
	CK_RV_IS(p11->C_GetAttributeValue(h, k, v, 1), CKR_ATTRIBUTE_SENSITIVE);
	CK_OK(p11->C_GetAttributeValue(h, k, lenq, 1));
	ck_assert_uint_eq(vl, 16);
	CK_OK(p11->C_EncryptInit(h, &ecb, k));
	n = sizeof(out);
	CK_OK(p11->C_Encrypt(h, (CK_BYTE_PTR)aes_pt, 16, out, &n));
	ck_assert(n == 16 && !memcmp(out, aes_ct, 16));
	/* The clear value never reached the token store. */
	snprintf(cmd, sizeof(cmd),
		 "grep -rqaF $(printf '\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09') "
		 "%s && exit 1; exit 0",
		 getenv("HSMGROUP_TOKEN_DIR"));
	ck_assert_int_eq(system(cmd), 0);

	CK_OK(p11->C_CreateObject(h, gt, 4, &hk));
	CK_OK(p11->C_SignInit(h, &hm, hk));
	n = sizeof(out);
	CK_OK(p11->C_Sign(h, (CK_BYTE_PTR) "what do ya want for nothing?", 28, out, &n));
	ck_assert(n == 32 && !memcmp(out, hmac_ref, 8));

	/* EC: private scalar and the public key made from it by OpenSSL. */
	{
		EVP_PKEY *pk = EVP_EC_gen("P-256");
		BIGNUM *d = NULL;
		uint8_t scalar[32], point[65], der[67];
		size_t pl = 0;
		CK_ATTRIBUTE et[] = {{CKA_CLASS, &prv, sizeof(prv)},
				     {CKA_KEY_TYPE, &ec, sizeof(ec)},
				     {CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
				     {CKA_SIGN, &yes, 1},
				     {CKA_VALUE, scalar, 32}};
		CK_OBJECT_CLASS pc = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE pt[] = {{CKA_CLASS, &pc, sizeof(pc)},
				     {CKA_KEY_TYPE, &ec, sizeof(ec)},
				     {CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
				     {CKA_EC_POINT, der, sizeof(der)}};
		CK_MECHANISM es = {CKM_ECDSA_SHA256, NULL, 0};

		ck_assert_ptr_nonnull(pk);
		ck_assert(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d));
		ck_assert_int_eq(BN_bn2binpad(d, scalar, 32), 32);
		ck_assert(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, point,
							  sizeof(point), &pl));
		ck_assert_uint_eq(pl, 65);
		der[0] = 0x04;
		der[1] = 65;
		memcpy(der + 2, point, 65);
		CK_OK(p11->C_CreateObject(h, et, 5, &priv));
		CK_OK(p11->C_CreateObject(h, pt, 4, &pub));
		sign_both(h, &es, priv, pub, msg, 64, true, false);
		/* A point of the wrong length for the curve. */
		pt[3].ulValueLen = 40;
		CK_RV_IS(p11->C_CreateObject(h, pt, 4, &pub2), CKR_ATTRIBUTE_VALUE_INVALID);
		BN_clear_free(d);
		EVP_PKEY_free(pk);
	}
	/* Incomplete and inconsistent templates. */
	at[4].ulValueLen = 15;
	CK_RV_IS(p11->C_CreateObject(h, at, 6, &k), CKR_KEY_SIZE_RANGE);
	CK_RV_IS(p11->C_CreateObject(h, at, 4, &k), CKR_TEMPLATE_INCOMPLETE);
}
END_TEST

/*
 * CKA_ALWAYS_AUTHENTICATE is an attribute of every private key (false: no
 * CKU_CONTEXT_SPECIFIC login), however it was made, token or session; other
 * classes do not have it (CKR_ATTRIBUTE_TYPE_INVALID, as SoftHSM).
 */
START_TEST(always_authenticate)
{
	CK_SESSION_HANDLE h = t_user_session(true), h2;
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0}, kwp = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	CK_ATTRIBUTE pt[] = {{CKA_EC_PARAMS, (void *)p384, sizeof(p384)}, {CKA_TOKEN, &yes, 1}};
	CK_ATTRIBUTE kt[] = {{CKA_SIGN, &yes, 1}, {CKA_TOKEN, &yes, 1}, {CKA_ID, "aa", 2}};
	CK_OBJECT_CLASS prv = CKO_PRIVATE_KEY;
	CK_KEY_TYPE ec = CKK_EC;
	CK_ATTRIBUTE ut[] = {
	    {CKA_CLASS, &prv, sizeof(prv)}, {CKA_KEY_TYPE, &ec, sizeof(ec)}, {CKA_SIGN, &yes, 1}};
	CK_OBJECT_HANDLE tpub, tpriv, spub, spriv, ipriv, upriv, wk, found = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE privs[4];
	CK_BBOOL aa = CK_TRUE;
	CK_ATTRIBUTE q[] = {{CKA_ALWAYS_AUTHENTICATE, &aa, sizeof(aa)}};
	CK_ATTRIBUTE byid[] = {{CKA_ID, "aa", 2}, {CKA_CLASS, &prv, sizeof(prv)}};
	uint8_t wrapped[300];
	CK_ULONG n = sizeof(wrapped);
	size_t i;

	CK_OK(p11->C_GenerateKeyPair(h, &gen, pt, 2, kt, 3, &tpub, &tpriv));
	ec_pair(h, p256, sizeof(p256), CK_TRUE, &spub, &spriv);
	/* imported (an EC scalar) and unwrapped */
	{
		uint8_t scalar[32];
		CK_ATTRIBUTE it[] = {{CKA_CLASS, &prv, sizeof(prv)},
				     {CKA_KEY_TYPE, &ec, sizeof(ec)},
				     {CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
				     {CKA_VALUE, scalar, sizeof(scalar)}};

		memset(scalar, 0x11, sizeof(scalar));
		CK_OK(p11->C_CreateObject(h, it, 4, &ipriv));
	}
	wk = secret_key(h, CKM_AES_KEY_GEN, 32, CK_FALSE);
	CK_OK(p11->C_WrapKey(h, &kwp, wk, spriv, wrapped, &n));
	CK_OK(p11->C_UnwrapKey(h, &kwp, wk, wrapped, n, ut, 3, &upriv));
	privs[0] = tpriv;
	privs[1] = spriv;
	privs[2] = ipriv;
	privs[3] = upriv;
	for (i = 0; i < 4; i++) {
		aa = CK_TRUE;
		CK_OK(p11->C_GetAttributeValue(h, privs[i], q, 1));
		ck_assert_uint_eq(q[0].ulValueLen, 1);
		ck_assert_uint_eq(aa, CK_FALSE);
	}
	/* The token key as another session finds it in the store. */
	h2 = t_open(false);
	CK_OK(p11->C_FindObjectsInit(h2, byid, 2));
	CK_OK(p11->C_FindObjects(h2, &found, 1, &n));
	CK_OK(p11->C_FindObjectsFinal(h2));
	ck_assert_uint_eq(n, 1);
	aa = CK_TRUE;
	CK_OK(p11->C_GetAttributeValue(h2, found, q, 1));
	ck_assert_uint_eq(aa, CK_FALSE);
	/* Public and secret keys have no such attribute. */
	CK_RV_IS(p11->C_GetAttributeValue(h, tpub, q, 1), CKR_ATTRIBUTE_TYPE_INVALID);
	ck_assert_uint_eq(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	q[0].ulValueLen = 1;
	CK_RV_IS(p11->C_GetAttributeValue(h, wk, q, 1), CKR_ATTRIBUTE_TYPE_INVALID);
}
END_TEST

START_TEST(key_use_errors)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = secret_key(h, CKM_AES_KEY_GEN, 16, CK_FALSE), hk = hmac_key(h, 32);
	CK_OBJECT_HANDLE pub, priv;
	CK_ATTRIBUTE off[] = {{CKA_ENCRYPT, &no, 1}, {CKA_SIGN, &no, 1}};
	CK_ATTRIBUTE noverify[] = {{CKA_VERIFY, &no, 1}};
	CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0}, cmac = {CKM_AES_CMAC, NULL, 0};
	CK_MECHANISM es = {CKM_ECDSA, NULL, 0}, hm = {CKM_SHA256_HMAC, NULL, 0};
	CK_ULONG bad = 99;
	CK_MECHANISM hmg = {CKM_SHA256_HMAC_GENERAL, &bad, sizeof(bad)};

	CK_OK(p11->C_SetAttributeValue(h, k, off, 2));
	CK_RV_IS(p11->C_EncryptInit(h, &ecb, k), CKR_KEY_FUNCTION_NOT_PERMITTED);
	CK_RV_IS(p11->C_SignInit(h, &cmac, k), CKR_KEY_FUNCTION_NOT_PERMITTED);
	CK_OK(p11->C_DecryptInit(h, &ecb, k));
	CK_RV_IS(p11->C_SignInit(h, &hm, k), CKR_KEY_TYPE_INCONSISTENT);
	CK_RV_IS(p11->C_EncryptInit(h, &ecb, hk), CKR_KEY_TYPE_INCONSISTENT);
	CK_RV_IS(p11->C_SignInit(h, &hmg, hk), CKR_MECHANISM_PARAM_INVALID);
	ec_pair(h, p256, sizeof(p256), CK_FALSE, &pub, &priv);
	CK_OK(p11->C_SetAttributeValue(h, pub, noverify, 1));
	CK_RV_IS(p11->C_VerifyInit(h, &es, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
	CK_RV_IS(p11->C_EncryptInit(h, &es, pub), CKR_MECHANISM_INVALID);
	CK_RV_IS(p11->C_SignUpdate(h, (CK_BYTE_PTR) "x", 1), CKR_OPERATION_NOT_INITIALIZED);
	CK_RV_IS(p11->C_VerifyFinal(h, (CK_BYTE_PTR) "x", 1), CKR_OPERATION_NOT_INITIALIZED);
	CK_OK(p11->C_SignInit(h, &es, priv));
	CK_RV_IS(p11->C_SignInit(h, &es, priv), CKR_OPERATION_ACTIVE);
}
END_TEST

START_TEST(mechanism_info)
{
	static const CK_MECHANISM_TYPE want[] = {CKM_RSA_PKCS_KEY_PAIR_GEN,
						 CKM_RSA_PKCS,
						 CKM_SHA1_RSA_PKCS,
						 CKM_SHA256_RSA_PKCS,
						 CKM_SHA384_RSA_PKCS,
						 CKM_SHA512_RSA_PKCS,
						 CKM_RSA_PKCS_PSS,
						 CKM_SHA1_RSA_PKCS_PSS,
						 CKM_SHA256_RSA_PKCS_PSS,
						 CKM_SHA384_RSA_PKCS_PSS,
						 CKM_SHA512_RSA_PKCS_PSS,
						 CKM_RSA_PKCS_OAEP,
						 CKM_EC_KEY_PAIR_GEN,
						 CKM_ECDSA,
						 CKM_ECDSA_SHA1,
						 CKM_ECDSA_SHA256,
						 CKM_ECDSA_SHA384,
						 CKM_ECDSA_SHA512,
						 CKM_ECDH1_DERIVE,
						 CKM_AES_KEY_GEN,
						 CKM_AES_ECB,
						 CKM_AES_CBC,
						 CKM_AES_CBC_PAD,
						 CKM_AES_CTR,
						 CKM_AES_GCM,
						 CKM_AES_KEY_WRAP,
						 CKM_AES_KEY_WRAP_PAD,
						 CKM_AES_CMAC,
						 CKM_GENERIC_SECRET_KEY_GEN,
						 CKM_SHA256_HMAC,
						 CKM_SHA384_HMAC,
						 CKM_SHA512_HMAC,
						 CKM_SHA_1,
						 CKM_SHA224,
						 CKM_SHA256,
						 CKM_SHA384,
						 CKM_SHA512};
	CK_MECHANISM_TYPE list[128];
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 128, i, j;

	CK_OK(p11->C_GetMechanismList(t_slot(), list, &n));
	for (j = 0; j < sizeof(want) / sizeof(want[0]); j++) {
		for (i = 0; i < n; i++)
			if (list[i] == want[j])
				break;
		ck_assert_msg(i < n, "mechanism 0x%lx missing", (unsigned long)want[j]);
	}
	for (i = 0; i < n; i++) {
		CK_OK(p11->C_GetMechanismInfo(t_slot(), list[i], &mi));
		ck_assert(mi.flags & CKF_HW);
		ck_assert(mi.flags & ~CKF_HW);
		ck_assert_uint_le(mi.ulMinKeySize, mi.ulMaxKeySize);
	}
	CK_OK(p11->C_GetMechanismInfo(t_slot(), CKM_RSA_PKCS_KEY_PAIR_GEN, &mi));
	ck_assert(mi.ulMinKeySize == 2048 && mi.ulMaxKeySize == 4096);
	ck_assert(mi.flags & CKF_GENERATE_KEY_PAIR);
	CK_OK(p11->C_GetMechanismInfo(t_slot(), CKM_EC_KEY_PAIR_GEN, &mi));
	ck_assert(mi.ulMinKeySize == 256 && mi.ulMaxKeySize == 521);
	CK_OK(p11->C_GetMechanismInfo(t_slot(), CKM_AES_KEY_WRAP_PAD, &mi));
	ck_assert(mi.flags & CKF_WRAP && mi.flags & CKF_UNWRAP && !(mi.flags & CKF_ENCRYPT));
	CK_OK(p11->C_GetMechanismInfo(t_slot(), CKM_ECDH1_DERIVE, &mi));
	ck_assert(mi.flags & CKF_DERIVE);
	CK_OK(p11->C_GetMechanismInfo(t_slot(), CKM_AES_KEY_GEN, &mi));
	ck_assert(mi.ulMinKeySize == 16 && mi.ulMaxKeySize == 32);
}
END_TEST

START_TEST(failover_multipart)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE k = secret_key(h, CKM_AES_KEY_GEN, 32, CK_FALSE), hk = hmac_key(h, 32);
	CK_OBJECT_HANDLE pub, priv;
	uint8_t iv[16] = {9}, ref[128], ct[128], mac[32], mac2[32], md[32], md2[32], sig[64];
	CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, 16}, hm = {CKM_SHA256_HMAC, NULL, 0};
	CK_MECHANISM sha = {CKM_SHA256, NULL, 0}, es = {CKM_ECDSA_SHA256, NULL, 0};
	CK_ULONG n, off;

	fill_msg();
	ec_pair(h, p256, sizeof(p256), CK_FALSE, &pub, &priv);
	/* References on card 1. */
	CK_OK(p11->C_EncryptInit(h, &cbc, k));
	n = sizeof(ref);
	CK_OK(p11->C_Encrypt(h, msg, 100, ref, &n));
	CK_OK(p11->C_SignInit(h, &hm, hk));
	n = 32;
	CK_OK(p11->C_Sign(h, msg, 100, mac, &n));
	CK_OK(p11->C_DigestInit(h, &sha));
	n = 32;
	CK_OK(p11->C_Digest(h, msg, 100, md, &n));

	/* First parts on card 1 ... */
	CK_OK(p11->C_EncryptInit(h, &cbc, k));
	n = sizeof(ct);
	CK_OK(p11->C_EncryptUpdate(h, msg, 37, ct, &n));
	off = n;
	CK_OK(p11->C_SignInit(h, &hm, hk));
	CK_OK(p11->C_SignUpdate(h, msg, 37));
	CK_OK(p11->C_DigestInit(h, &sha));
	CK_OK(p11->C_DigestUpdate(h, msg, 37));
	mock_failover();
	/* ... the rest on card 2, which never saw these operations start. */
	n = sizeof(ct) - off;
	CK_OK(p11->C_EncryptUpdate(h, msg + 37, 63, ct + off, &n));
	off += n;
	n = sizeof(ct) - off;
	CK_OK(p11->C_EncryptFinal(h, ct + off, &n));
	off += n;
	ck_assert(off == 112 && !memcmp(ct, ref, off));
	CK_OK(p11->C_SignUpdate(h, msg + 37, 63));
	n = 32;
	CK_OK(p11->C_SignFinal(h, mac2, &n));
	ck_assert(!memcmp(mac, mac2, 32));
	CK_OK(p11->C_DigestUpdate(h, msg + 37, 63));
	n = 32;
	CK_OK(p11->C_DigestFinal(h, md2, &n));
	ck_assert(!memcmp(md, md2, 32));
	/* Keys made on card 1 work on card 2. */
	CK_OK(p11->C_SignInit(h, &es, priv));
	CK_OK(p11->C_SignUpdate(h, msg, 10));
	n = sizeof(sig);
	CK_OK(p11->C_SignFinal(h, sig, &n));
	CK_OK(p11->C_VerifyInit(h, &es, pub));
	CK_OK(p11->C_Verify(h, msg, 10, sig, n));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-mech");
	TCase *tc = tcase_create("mech");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, aes_modes);
	tcase_add_test(tc, aes_errors_and_lengths);
	tcase_add_test(tc, update_room_as_input);
	tcase_add_test(tc, big_single_part);
	tcase_add_test(tc, macs);
	tcase_add_test(tc, ecdsa_curves);
	tcase_add_test(tc, rsa);
	tcase_add_test(tc, single_part_update);
	tcase_add_test(tc, digests);
	tcase_add_test(tc, wrap_unwrap);
	tcase_add_test(tc, ecdh_derive);
	tcase_add_test(tc, readable_secret_values);
	tcase_add_test(tc, import_keys);
	tcase_add_test(tc, always_authenticate);
	tcase_add_test(tc, key_use_errors);
	tcase_add_test(tc, mechanism_info);
	tcase_add_test(tc, failover_multipart);
	tcase_add_test(tc, verify_in_module);
	suite_add_tcase(s, tc);
	return t_run(s);
}
