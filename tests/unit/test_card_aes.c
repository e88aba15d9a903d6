// SPDX-License-Identifier: GPL-2.0
/*
 * test_card_aes - the card's AES ciphers (ECB, CBC, CBC_PAD, CTR, GCM):
 * a FIPS-197 known answer, every mode checked against OpenSSL's one-shot
 * EVP, multi-part at odd splits continued on a second card equal to
 * single-part, states that do not grow with the data, tampered/foreign
 * states refused, length, padding, parameter and usage errors.
 */
#include <openssl/evp.h>

#include "card_util.h"

static struct hsmg_card *cards[2];
static struct hsmg_card *other;

static void setup(void)
{
	cards[0] = new_card(mk_a);
	cards[1] = new_card(mk_a);
	other = new_card(mk_b);
}

static void teardown(void)
{
	hsmg_card_free(cards[0]);
	hsmg_card_free(cards[1]);
	hsmg_card_free(other);
}

static const uint8_t key32[32] = "0123456789ABCDEF0123456789abcdef";

static struct blob aes_key(size_t len, uint32_t usage)
{
	return import_ok(cards[0], attrs(CKK_AES, 0, 0, usage, 0), key32, len);
}

/* OpenSSL reference: whole message, padding as the mechanism. */
static size_t ref(const char *name, bool enc, bool pad, const uint8_t *key, const uint8_t *iv,
		  const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc), 1);
	EVP_CIPHER_CTX_set_padding(ctx, pad);
	ck_assert_int_eq(EVP_CipherUpdate(ctx, out, &n, in, (int)len), 1);
	ck_assert_int_eq(EVP_CipherFinal_ex(ctx, out + n, &m), 1);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return (size_t)(n + m);
}

static size_t ref_gcm(size_t keylen, const uint8_t *iv, size_t ivlen, const uint8_t *aad,
		      size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, size_t taglen)
{
	const EVP_CIPHER *c = keylen == 16   ? EVP_aes_128_gcm()
			      : keylen == 24 ? EVP_aes_192_gcm()
					     : EVP_aes_256_gcm();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, c, NULL, NULL, NULL), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)ivlen, NULL), 1);
	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, NULL, NULL, key32, iv), 1);
	if (aadlen)
		ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, out, &n, in, (int)len), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, out + n, &m), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, (int)taglen, out + len), 1);
	EVP_CIPHER_CTX_free(ctx);
	return len + taglen;
}

START_TEST(fips197_ecb)
{
	uint8_t key[16], pt[16], *out;
	size_t n, olen;
	struct blob k;

	hex2bin("000102030405060708090a0b0c0d0e0f", key, &n);
	hex2bin("00112233445566778899aabbccddeeff", pt, &n);
	k = import_ok(cards[0], attrs(CKK_AES, 16, 0, 0, 0), key, 16);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &k, NULL, 0, pt, 16,
				 NULL, 0, &out, &olen),
			  CKR_OK);
	check_hex(out, olen, "69c4e0d86a7b0430d8cdb78070b4c55a");
	free(out);
	blob_free(&k);
}
END_TEST

/* One mode, one key size: single == OpenSSL, multi (2 cards) == single,
 * decrypt multi == plaintext. */
static void roundtrip(uint64_t mech, size_t keylen, const void *param, size_t plen,
		      const uint8_t *expect, size_t elen, const uint8_t *pt, size_t len)
{
	struct blob k = aes_key(keylen, 0);
	uint8_t *ct, *ct2, *back;
	size_t clen, clen2, blen;

	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, mech, &k, param, plen, pt, len,
				 NULL, 0, &ct, &clen),
			  CKR_OK);
	ck_assert_uint_eq(clen, elen);
	ck_assert_mem_eq(ct, expect, elen);
	ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_ENCRYPT, mech, &k, param, plen, pt, len,
				odd_splits, NULL, 0, &ct2, &clen2),
			  CKR_OK);
	ck_assert_uint_eq(clen2, clen);
	ck_assert_mem_eq(ct2, ct, clen);
	ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_DECRYPT, mech, &k, param, plen, ct, clen,
				odd_splits, NULL, 0, &back, &blen),
			  CKR_OK);
	ck_assert_uint_eq(blen, len);
	ck_assert_mem_eq(back, pt, len);
	free(back);
	ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_DECRYPT, mech, &k, param, plen, ct, clen,
				 NULL, 0, &back, &blen),
			  CKR_OK);
	ck_assert_uint_eq(blen, len);
	ck_assert_mem_eq(back, pt, len);
	free(back);
	free(ct);
	free(ct2);
	blob_free(&k);
}

START_TEST(modes_vs_openssl)
{
	static const char *const ecb[] = {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"};
	static const char *const cbc[] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
	static const char *const ctr[] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"};
	uint8_t pt[1001], exp[1100], iv[16];
	struct hsmg_msg_ctr_param cp = {.ctr_nbits = 64};
	size_t kl, i, n;

	fill(pt, sizeof(pt), 7);
	fill(iv, sizeof(iv), 9);
	memcpy(cp.cb, iv, 16);
	cp.cb[15] = 0xf0; /* carries across bytes within the counter */
	for (i = 0; i < 3; i++) {
		kl = 16 + 8 * i;
		n = ref(ecb[i], true, false, key32, NULL, pt, 992, exp);
		roundtrip(CKM_AES_ECB, kl, NULL, 0, exp, n, pt, 992);
		n = ref(cbc[i], true, false, key32, iv, pt, 992, exp);
		roundtrip(CKM_AES_CBC, kl, iv, 16, exp, n, pt, 992);
		n = ref(cbc[i], true, true, key32, iv, pt, sizeof(pt), exp);
		roundtrip(CKM_AES_CBC_PAD, kl, iv, 16, exp, n, pt, sizeof(pt));
		n = ref(cbc[i], true, true, key32, iv, pt, 992, exp); /* a whole pad block */
		roundtrip(CKM_AES_CBC_PAD, kl, iv, 16, exp, n, pt, 992);
		n = ref(ctr[i], true, false, key32, cp.cb, pt, sizeof(pt), exp);
		roundtrip(CKM_AES_CTR, kl, &cp, sizeof(cp), exp, n, pt, sizeof(pt));
	}
}
END_TEST

static size_t gcm_param(uint8_t *p, const uint8_t *iv, uint32_t ivlen, const uint8_t *aad,
			uint32_t aadlen, uint32_t tag_bits)
{
	struct hsmg_msg_gcm_param g = {ivlen, aadlen, tag_bits, 0};

	memcpy(p, &g, sizeof(g));
	memcpy(p + sizeof(g), iv, ivlen);
	if (aadlen)
		memcpy(p + sizeof(g) + ivlen, aad, aadlen);
	return sizeof(g) + ivlen + aadlen;
}

START_TEST(gcm_vs_openssl)
{
	static const uint32_t ivlens[] = {12, 1, 16, 60};
	uint8_t pt[777], exp[800], iv[60], aad[45], param[256];
	size_t kl, i, j, n, plen;

	fill(pt, sizeof(pt), 1);
	fill(iv, sizeof(iv), 2);
	fill(aad, sizeof(aad), 3);
	for (i = 0; i < 3; i++) {
		kl = 16 + 8 * i;
		for (j = 0; j < 4; j++) {
			plen = gcm_param(param, iv, ivlens[j], aad, j * 15, j == 1 ? 96 : 128);
			n = ref_gcm(kl, iv, ivlens[j], aad, j * 15, pt, sizeof(pt), exp,
				    j == 1 ? 12 : 16);
			roundtrip(CKM_AES_GCM, kl, param, plen, exp, n, pt, sizeof(pt));
		}
	}
	/* empty plaintext: just the tag */
	plen = gcm_param(param, iv, 12, aad, 20, 128);
	n = ref_gcm(32, iv, 12, aad, 20, pt, 0, exp, 16);
	roundtrip(CKM_AES_GCM, 32, param, plen, exp, n, pt, 0);
}
END_TEST

START_TEST(gcm_bad_tag)
{
	struct blob k = aes_key(32, 0);
	uint8_t param[64], pt[100], *ct, *out;
	size_t plen = gcm_param(param, key32, 12, NULL, 0, 128), clen, olen;

	fill(pt, sizeof(pt), 4);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_GCM, &k, param, plen, pt,
				 sizeof(pt), NULL, 0, &ct, &clen),
			  CKR_OK);
	ct[clen - 1] ^= 1;
	ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_DECRYPT, CKM_AES_GCM, &k, param, plen, ct, clen,
				odd_splits, NULL, 0, &out, &olen),
			  CKR_ENCRYPTED_DATA_INVALID);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_AES_GCM, &k, param, plen, ct,
				 clen, NULL, 0, NULL, NULL),
			  CKR_ENCRYPTED_DATA_INVALID);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_AES_GCM, &k, param, plen, ct,
				 15, NULL, 0, NULL, NULL),
			  CKR_ENCRYPTED_DATA_LEN_RANGE);
	free(ct);
	blob_free(&k);
}
END_TEST

/* 3 MB through GCM in 256 KiB parts: the state stays the same size
 * (multi() checks) and the result equals OpenSSL's. */
START_TEST(gcm_long_stream)
{
	size_t len = 3 << 20, n, olen, splits[13];
	uint8_t *pt = malloc(len), *exp = malloc(len + 16), *out, param[64];
	struct blob k = aes_key(16, 0);
	size_t plen = gcm_param(param, key32, 12, key32, 5, 128), i;

	ck_assert_ptr_nonnull(pt);
	ck_assert_ptr_nonnull(exp);
	fill(pt, len, 5);
	for (i = 0; i < 11; i++)
		splits[i] = 256 * 1024 + 3;
	splits[11] = 0;
	n = ref_gcm(16, key32, 12, key32, 5, pt, len, exp, 16);
	ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_ENCRYPT, CKM_AES_GCM, &k, param, plen, pt, len,
				splits, NULL, 0, &out, &olen),
			  CKR_OK);
	ck_assert_uint_eq(olen, n);
	ck_assert_mem_eq(out, exp, n);
	free(out);
	free(pt);
	free(exp);
	blob_free(&k);
}
END_TEST

START_TEST(states_refused)
{
	struct blob k = aes_key(16, 0), k2 = aes_key(24, 0);
	uint8_t iv[16] = {0}, *st, data[32] = {0};
	struct hsmg_msg_view v;
	size_t st_len;
	struct tlv init[] = {{HSMG_TAG_KEY, k.p, k.len}, {HSMG_TAG_PARAM, iv, 16}};

	ck_assert_uint_eq(crypto(cards[0], HSMG_MSG_OP_ENCRYPT_INIT, CKM_AES_CBC, init, 2, &v),
			  CKR_OK);
	st = take(&v, HSMG_TAG_OUT_STATE, &st_len);
	{
		struct tlv t[] = {{HSMG_TAG_KEY, k.p, k.len},
				  {HSMG_TAG_STATE, st, st_len},
				  {HSMG_TAG_DATA, data, 32}};
		struct tlv tk2[] = {{HSMG_TAG_KEY, k2.p, k2.len},
				    {HSMG_TAG_STATE, st, st_len},
				    {HSMG_TAG_DATA, data, 32}};

		/* good on both cards of the group; elsewhere the key already fails */
		ck_assert_uint_eq(
		    crypto(cards[1], HSMG_MSG_OP_ENCRYPT_UPDATE, CKM_AES_CBC, t, 3, NULL), CKR_OK);
		ck_assert_uint_eq(
		    crypto(other, HSMG_MSG_OP_ENCRYPT_UPDATE, CKM_AES_CBC, t, 3, NULL),
		    CKR_KEY_HANDLE_INVALID);
		/* another key, mechanism, or direction */
		ck_assert_uint_eq(
		    crypto(cards[0], HSMG_MSG_OP_ENCRYPT_UPDATE, CKM_AES_CBC, tk2, 3, NULL),
		    CKR_SAVED_STATE_INVALID);
		ck_assert_uint_eq(
		    crypto(cards[0], HSMG_MSG_OP_ENCRYPT_UPDATE, CKM_AES_ECB, t, 3, NULL),
		    CKR_SAVED_STATE_INVALID);
		ck_assert_uint_eq(
		    crypto(cards[0], HSMG_MSG_OP_DECRYPT_UPDATE, CKM_AES_CBC, t, 3, NULL),
		    CKR_SAVED_STATE_INVALID);
		/* tampered anywhere */
		for (size_t i = 0; i < st_len; i += 7) {
			st[i] ^= 0x20;
			ck_assert_uint_eq(
			    crypto(cards[0], HSMG_MSG_OP_ENCRYPT_UPDATE, CKM_AES_CBC, t, 3, NULL),
			    CKR_SAVED_STATE_INVALID);
			st[i] ^= 0x20;
		}
		/* PARAM is taken by INIT only */
		struct tlv tp[] = {{HSMG_TAG_KEY, k.p, k.len},
				   {HSMG_TAG_STATE, st, st_len},
				   {HSMG_TAG_DATA, data, 32},
				   {HSMG_TAG_PARAM, iv, 16}};
		ck_assert_uint_eq(
		    crypto(cards[0], HSMG_MSG_OP_ENCRYPT_UPDATE, CKM_AES_CBC, tp, 4, NULL),
		    CKR_ARGUMENTS_BAD);
	}
	free(st);
	blob_free(&k);
	blob_free(&k2);
}
END_TEST

START_TEST(errors)
{
	struct blob k = aes_key(16, 0), enc_only = aes_key(16, HSMG_KEY_USE_ENCRYPT), ec;
	struct hsmg_msg_ctr_param cp = {.ctr_nbits = 1};
	uint8_t iv[16] = {0}, data[64] = {0}, blk[16] = {0}, *ct;
	size_t clen;

	/* lengths */
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &k, NULL, 0, data, 15,
				 NULL, 0, NULL, NULL),
			  CKR_DATA_LEN_RANGE);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_AES_CBC, &k, iv, 16, data, 17,
				 NULL, 0, NULL, NULL),
			  CKR_ENCRYPTED_DATA_LEN_RANGE);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_AES_CBC_PAD, &k, iv, 16, data,
				 20, NULL, 0, NULL, NULL),
			  CKR_ENCRYPTED_DATA_LEN_RANGE);
	/* CBC_PAD: a last block whose pad byte is 0 */
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &k, NULL, 0, blk, 16,
				 NULL, 0, &ct, &clen),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_AES_CBC_PAD, &k, iv, 16, ct, 16,
				 NULL, 0, NULL, NULL),
			  CKR_ENCRYPTED_DATA_INVALID);
	free(ct);
	/* CTR with a 1-bit counter: two blocks, not three */
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_CTR, &k, &cp, sizeof(cp),
				 data, 32, NULL, 0, NULL, NULL),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_CTR, &k, &cp, sizeof(cp),
				 data, 33, NULL, 0, NULL, NULL),
			  CKR_DATA_LEN_RANGE);
	/* params */
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_CBC, &k, iv, 8, data, 16,
				 NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &k, iv, 16, data, 16,
				 NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	cp.ctr_nbits = 129;
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_CTR, &k, &cp, sizeof(cp),
				 data, 16, NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_DES3_ECB, &k, NULL, 0, data, 16,
				 NULL, 0, NULL, NULL),
			  CKR_MECHANISM_INVALID);
	/* usage and key type */
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_AES_ECB, &enc_only, NULL, 0,
				 data, 16, NULL, 0, NULL, NULL),
			  CKR_KEY_FUNCTION_NOT_PERMITTED);
	ck_assert_uint_eq(gen_key(cards[0], CKM_EC_KEY_PAIR_GEN,
				  attrs(CKK_EC, 0, HSMG_CURVE_P256, 0, 0), NULL, 0, &ec),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &ec, NULL, 0, data, 16,
				 NULL, 0, NULL, NULL),
			  CKR_KEY_TYPE_INCONSISTENT);
	blob_free(&ec);
	blob_free(&k);
	blob_free(&enc_only);
}
END_TEST

START_TEST(keygen_sizes)
{
	struct blob b;
	uint32_t l;

	for (l = 16; l <= 32; l += 8) {
		ck_assert_uint_eq(
		    gen_key(cards[0], CKM_AES_KEY_GEN, attrs(CKK_AES, l, 0, 0, 0), NULL, 0, &b),
		    CKR_OK);
		ck_assert_uint_eq(b.len, 128 + l + 16);
		blob_free(&b);
	}
	ck_assert_uint_eq(
	    gen_key(cards[0], CKM_AES_KEY_GEN, attrs(CKK_AES, 20, 0, 0, 0), NULL, 0, &b),
	    CKR_KEY_SIZE_RANGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsmsimd card AES");
	TCase *tc = tcase_create("aes");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fips197_ecb);
	tcase_add_test(tc, modes_vs_openssl);
	tcase_add_test(tc, gcm_vs_openssl);
	tcase_add_test(tc, gcm_bad_tag);
	tcase_add_test(tc, gcm_long_stream);
	tcase_add_test(tc, states_refused);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, keygen_sizes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
