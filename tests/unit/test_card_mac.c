// SPDX-License-Identifier: GPL-2.0
/*
 * test_card_mac - HMAC (RFC 4231 and OpenSSL) and AES-CMAC (RFC 4493) on
 * the card: single and multi-part across two cards, the _GENERAL lengths,
 * verification errors, generic secret generation, key type and usage.
 */
#include <openssl/hmac.h>

#include "card_util.h"

static struct hsmg_card *cards[2];

static void setup(void)
{
	cards[0] = new_card(mk_a);
	cards[1] = new_card(mk_a);
}

static void teardown(void)
{
	hsmg_card_free(cards[0]);
	hsmg_card_free(cards[1]);
}

static const char *const tc2 = "what do ya want for nothing?";

START_TEST(hmac_rfc4231)
{
	static const struct {
		uint64_t mech;
		const char *hex;
	} kat[] = {
	    {CKM_SHA256_HMAC, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	    {CKM_SHA384_HMAC,
	     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e224"
	     "0ca5e69e2c78b3239ecfab21649"},
	    {CKM_SHA512_HMAC, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea25055497"
			      "58bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	};
	struct blob k = import_ok(cards[0], attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), "Jefe", 4);
	uint8_t *mac, *mac2;
	size_t n, n2, i;
	const size_t splits[] = {3, 5, 0};

	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, kat[i].mech, &k, NULL, 0, tc2,
					 strlen(tc2), NULL, 0, &mac, &n),
				  CKR_OK);
		check_hex(mac, n, kat[i].hex);
		ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_SIGN, kat[i].mech, &k, NULL, 0,
					(const uint8_t *)tc2, strlen(tc2), splits, NULL, 0, &mac2,
					&n2),
				  CKR_OK);
		ck_assert_uint_eq(n2, n);
		ck_assert_mem_eq(mac2, mac, n);
		ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_VERIFY, kat[i].mech, &k, NULL, 0,
					(const uint8_t *)tc2, strlen(tc2), splits, mac, n, NULL,
					NULL),
				  CKR_OK);
		mac[3] ^= 1;
		ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_VERIFY, kat[i].mech, &k, NULL, 0,
					 tc2, strlen(tc2), mac, n, NULL, NULL),
				  CKR_SIGNATURE_INVALID);
		ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_VERIFY, kat[i].mech, &k, NULL, 0,
					 tc2, strlen(tc2), mac, n - 1, NULL, NULL),
				  CKR_SIGNATURE_LEN_RANGE);
		free(mac);
		free(mac2);
	}
	blob_free(&k);
}
END_TEST

/* Long keys (hashed first), SHA-1/224, odd splits, against OpenSSL. */
START_TEST(hmac_vs_openssl)
{
	static const uint64_t mechs[] = {CKM_SHA_1_HMAC, CKM_SHA224_HMAC, CKM_SHA256_HMAC,
					 CKM_SHA384_HMAC, CKM_SHA512_HMAC};
	static const char *const mds[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
	static const size_t klens[] = {1, 64, 65, 200};
	uint8_t key[200], data[3000], ref[64], *mac;
	unsigned int rlen;
	size_t i, j, n;
	struct blob k;

	fill(key, sizeof(key), 11);
	fill(data, sizeof(data), 12);
	for (j = 0; j < 4; j++) {
		k = import_ok(cards[0], attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), key, klens[j]);
		for (i = 0; i < 5; i++) {
			ck_assert_ptr_nonnull(HMAC(EVP_get_digestbyname(mds[i]), key, (int)klens[j],
						   data, sizeof(data), ref, &rlen));
			ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_SIGN, mechs[i], &k, NULL, 0,
						data, sizeof(data), odd_splits, NULL, 0, &mac, &n),
					  CKR_OK);
			ck_assert_uint_eq(n, rlen);
			ck_assert_mem_eq(mac, ref, n);
			free(mac);
		}
		blob_free(&k);
	}
}
END_TEST

START_TEST(hmac_general)
{
	struct blob k = import_ok(cards[0], attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), "Jefe", 4);
	uint32_t l = 10, bad = 33;
	uint8_t *mac;
	size_t n;

	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_HMAC_GENERAL, &k, &l, 4,
				 tc2, strlen(tc2), NULL, 0, &mac, &n),
			  CKR_OK);
	check_hex(mac, n, "5bdcc146bf60754e6a04");
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_VERIFY, CKM_SHA256_HMAC_GENERAL, &k, &l, 4,
				 tc2, strlen(tc2), mac, n, NULL, NULL),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_HMAC_GENERAL, &k, &bad, 4,
				 tc2, strlen(tc2), NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_HMAC, &k, &l, 4, tc2,
				 strlen(tc2), NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	free(mac);
	blob_free(&k);
}
END_TEST

START_TEST(cmac_rfc4493)
{
	static const char *const macs[] = {
	    "bb1d6929e95937287fa37d129b756746", "070a16b46b4d4144f79bdd9dd04a287c",
	    "dfa66747de9ae63030ca32611497c827", "51f0bebf7e3b9d92fc49741779363cfe"};
	static const size_t lens[] = {0, 16, 40, 64};
	const size_t splits[] = {1, 15, 16, 0};
	uint8_t key[16], msg[64], *mac;
	size_t n, i;
	struct blob k;

	hex2bin("2b7e151628aed2a6abf7158809cf4f3c", key, &n);
	hex2bin("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
		"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
		msg, &n);
	k = import_ok(cards[0], attrs(CKK_AES, 16, 0, 0, 0), key, 16);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_AES_CMAC, &k, NULL, 0, msg,
					 lens[i], NULL, 0, &mac, &n),
				  CKR_OK);
		check_hex(mac, n, macs[i]);
		free(mac);
		ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_SIGN, CKM_AES_CMAC, &k, NULL, 0, msg,
					lens[i], splits, NULL, 0, &mac, &n),
				  CKR_OK);
		check_hex(mac, n, macs[i]);
		ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_VERIFY, CKM_AES_CMAC, &k, NULL, 0, msg,
					lens[i], splits, mac, n, NULL, NULL),
				  CKR_OK);
		free(mac);
	}
	{
		uint32_t l = 8;

		ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_AES_CMAC_GENERAL, &k, &l,
					 4, msg, 64, NULL, 0, &mac, &n),
				  CKR_OK);
		check_hex(mac, n, "51f0bebf7e3b9d92");
		free(mac);
	}
	blob_free(&k);
}
END_TEST

START_TEST(keys_and_usage)
{
	struct blob g, a, verify_only;
	uint8_t *mac;
	size_t n;

	ck_assert_uint_eq(gen_key(cards[0], CKM_GENERIC_SECRET_KEY_GEN,
				  attrs(CKK_GENERIC_SECRET, 1, 0, 0, 0), NULL, 0, &g),
			  CKR_OK);
	blob_free(&g);
	ck_assert_uint_eq(gen_key(cards[0], CKM_GENERIC_SECRET_KEY_GEN,
				  attrs(CKK_GENERIC_SECRET, 512, 0, 0, 0), NULL, 0, &g),
			  CKR_OK);
	ck_assert_uint_eq(gen_key(cards[0], CKM_GENERIC_SECRET_KEY_GEN,
				  attrs(CKK_GENERIC_SECRET, 513, 0, 0, 0), NULL, 0, &a),
			  CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(gen_key(cards[0], CKM_GENERIC_SECRET_KEY_GEN,
				  attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), NULL, 0, &a),
			  CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(
	    gen_key(cards[0], CKM_GENERIC_SECRET_KEY_GEN, attrs(CKK_AES, 16, 0, 0, 0), NULL, 0, &a),
	    CKR_TEMPLATE_INCONSISTENT);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA512_HMAC, &g, NULL, 0, "x", 1,
				 NULL, 0, &mac, &n),
			  CKR_OK);
	ck_assert_uint_eq(n, 64);
	free(mac);
	/* AES key for HMAC, generic secret for CMAC */
	ck_assert_uint_eq(
	    gen_key(cards[0], CKM_AES_KEY_GEN, attrs(CKK_AES, 32, 0, 0, 0), NULL, 0, &a), CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_HMAC, &a, NULL, 0, "x", 1,
				 NULL, 0, NULL, NULL),
			  CKR_KEY_TYPE_INCONSISTENT);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_AES_CMAC, &g, NULL, 0, "x", 1,
				 NULL, 0, NULL, NULL),
			  CKR_KEY_TYPE_INCONSISTENT);
	verify_only =
	    import_ok(cards[0], attrs(CKK_GENERIC_SECRET, 0, 0, HSMG_KEY_USE_VERIFY, 0), "k", 1);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_HMAC, &verify_only, NULL, 0,
				 "x", 1, NULL, 0, NULL, NULL),
			  CKR_KEY_FUNCTION_NOT_PERMITTED);
	{
		struct tlv t[] = {{HSMG_TAG_KEY, verify_only.p, verify_only.len}};

		ck_assert_uint_eq(
		    crypto(cards[0], HSMG_MSG_OP_SIGN_INIT, CKM_SHA256_HMAC, t, 1, NULL),
		    CKR_KEY_FUNCTION_NOT_PERMITTED);
	}
	blob_free(&verify_only);
	blob_free(&g);
	blob_free(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsmsimd card MAC");
	TCase *tc = tcase_create("mac");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hmac_rfc4231);
	tcase_add_test(tc, hmac_vs_openssl);
	tcase_add_test(tc, hmac_general);
	tcase_add_test(tc, cmac_rfc4493);
	tcase_add_test(tc, keys_and_usage);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
