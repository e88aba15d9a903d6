// SPDX-License-Identifier: GPL-2.0
/*
 * test_card_wrap - WRAP/UNWRAP with CKM_AES_KEY_WRAP (RFC 3394 vectors)
 * and CKM_AES_KEY_WRAP_PAD (RFC 5649 vectors), unwrapped keys usable and
 * equal to the originals, private keys through PKCS#8, the EXTRACTABLE
 * flag, usage, tampering; IMPORT_KEY, EXPORT_PUBKEY and EXPORT_KEY.
 */
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

static CK_RV wrap(uint64_t mech, const struct blob *kek, const struct blob *k, const void *iv,
		  size_t ivlen, uint8_t **out, size_t *olen)
{
	struct tlv t[] = {{HSMG_TAG_KEY, kek->p, kek->len},
			  {HSMG_TAG_KEY2, k->p, k->len},
			  {ivlen ? HSMG_TAG_PARAM : 0, iv, ivlen}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(cards[0], HSMG_MSG_OP_WRAP, mech, t, NT(t), &v);

	if (rv == CKR_OK)
		*out = take(&v, HSMG_TAG_OUT_DATA, olen);
	return rv;
}

static CK_RV unwrap(uint64_t mech, const struct blob *kek, const void *w, size_t wlen,
		    struct hsmg_msg_key_attrs a, struct blob *out)
{
	struct tlv t[] = {{HSMG_TAG_KEY, kek->p, kek->len},
			  {HSMG_TAG_DATA, w, wlen},
			  {HSMG_TAG_ATTRS, &a, sizeof(a)}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(cards[1], HSMG_MSG_OP_UNWRAP, mech, t, NT(t), &v);

	if (rv == CKR_OK)
		*out = blob_of(&v);
	return rv;
}

static void kat(uint64_t mech, const char *kek_hex, const char *key_hex, const char *wrapped_hex)
{
	uint8_t kekv[32], keyv[64], ecb_a[64], *w, *c1, *c2;
	size_t kl, vl, wl, n1, n2;
	struct blob kek, k, u;

	hex2bin(kek_hex, kekv, &kl);
	hex2bin(key_hex, keyv, &vl);
	kek = import_ok(cards[0], attrs(CKK_AES, 0, 0, HSMG_KEY_USE_WRAP | HSMG_KEY_USE_UNWRAP, 0),
			kekv, kl);
	k = import_ok(cards[0],
		      attrs(vl == 16 || vl == 24 || vl == 32 ? CKK_AES : CKK_GENERIC_SECRET, 0, 0,
			    0, HSMG_KEY_EXTRACTABLE),
		      keyv, vl);
	ck_assert_uint_eq(wrap(mech, &kek, &k, NULL, 0, &w, &wl), CKR_OK);
	check_hex(w, wl, wrapped_hex);
	ck_assert_uint_eq(
	    unwrap(
		mech, &kek, w, wl,
		attrs(vl == 16 || vl == 24 || vl == 32 ? CKK_AES : CKK_GENERIC_SECRET, 0, 0, 0, 0),
		&u),
	    CKR_OK);
	/* the unwrapped key is the same key */
	fill(ecb_a, 64, 3);
	if (vl == 16 || vl == 32) {
		ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &k, NULL, 0,
					 ecb_a, 64, NULL, 0, &c1, &n1),
				  CKR_OK);
		ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &u, NULL, 0,
					 ecb_a, 64, NULL, 0, &c2, &n2),
				  CKR_OK);
		ck_assert_mem_eq(c1, c2, 64);
		free(c1);
		free(c2);
	} else {
		ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_HMAC, &k, NULL, 0,
					 ecb_a, 64, NULL, 0, &c1, &n1),
				  CKR_OK);
		ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_VERIFY, CKM_SHA256_HMAC, &u, NULL, 0,
					 ecb_a, 64, c1, n1, NULL, NULL),
				  CKR_OK);
		free(c1);
	}
	/* tampered */
	w[wl / 2] ^= 1;
	ck_assert_uint_eq(unwrap(mech, &kek, w, wl, attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), &u),
			  CKR_WRAPPED_KEY_INVALID);
	free(w);
	blob_free(&u);
	blob_free(&k);
	blob_free(&kek);
}

START_TEST(rfc3394)
{
	kat(CKM_AES_KEY_WRAP, "000102030405060708090A0B0C0D0E0F",
	    "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
	kat(CKM_AES_KEY_WRAP, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	    "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
	    "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
}
END_TEST

START_TEST(rfc5649)
{
	kat(CKM_AES_KEY_WRAP_PAD, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
	    "c37b7e6492584340bed12207808941155068f738",
	    "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
	kat(CKM_AES_KEY_WRAP_PAD, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
	    "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f");
}
END_TEST

START_TEST(private_keys)
{
	struct blob kek, ec, u, noext;
	uint8_t *w, hash[32], *sig, *pub;
	size_t wl, n, pl;
	struct hsmg_msg_view v;

	ck_assert_uint_eq(
	    gen_key(cards[0], CKM_AES_KEY_GEN, attrs(CKK_AES, 32, 0, 0, 0), NULL, 0, &kek), CKR_OK);
	ck_assert_uint_eq(gen_key(cards[0], CKM_EC_KEY_PAIR_GEN,
				  attrs(CKK_EC, 0, HSMG_CURVE_P384, 0, HSMG_KEY_EXTRACTABLE), NULL,
				  0, &ec),
			  CKR_OK);
	ck_assert_uint_eq(wrap(CKM_AES_KEY_WRAP_PAD, &kek, &ec, NULL, 0, &w, &wl), CKR_OK);
	ck_assert_uint_eq(unwrap(CKM_AES_KEY_WRAP_PAD, &kek, w, wl, attrs(CKK_EC, 0, 0, 0, 0), &u),
			  CKR_OK);
	ck_assert_uint_eq(u.pub_len, ec.pub_len);
	ck_assert_mem_eq(u.pub, ec.pub, ec.pub_len);
	ck_assert_uint_eq(unwrap(CKM_AES_KEY_WRAP_PAD, &kek, w, wl, attrs(CKK_RSA, 0, 0, 0, 0), &u),
			  CKR_TEMPLATE_INCONSISTENT);
	ck_assert_uint_eq(unwrap(CKM_AES_KEY_WRAP_PAD, &kek, w, wl,
				 attrs(CKK_EC, 0, HSMG_CURVE_P256, 0, 0), &noext),
			  CKR_TEMPLATE_INCONSISTENT);
	/* unwrapped key signs, original's public key verifies */
	fill(hash, 32, 1);
	ck_assert_uint_eq(
	    single(cards[1], HSMG_MSG_OP_SIGN, CKM_ECDSA, &u, NULL, 0, hash, 32, NULL, 0, &sig, &n),
	    CKR_OK);
	ck_assert_uint_eq(n, 96);
	{
		struct tlv t[] = {{HSMG_TAG_PUBKEY, ec.pub, ec.pub_len},
				  {HSMG_TAG_DATA, hash, 32},
				  {HSMG_TAG_SIGNATURE, sig, n}};

		ck_assert_uint_eq(crypto(cards[0], HSMG_MSG_OP_VERIFY, CKM_ECDSA, t, 3, NULL),
				  CKR_OK);
	}
	/* export: public part and attributes */
	{
		struct tlv t[] = {{HSMG_TAG_KEY, u.p, u.len}};
		struct hsmg_msg_key_attrs a;

		ck_assert_uint_eq(crypto(cards[0], HSMG_MSG_OP_EXPORT_PUBKEY, 0, t, 1, &v), CKR_OK);
		pub = take(&v, HSMG_TAG_OUT_PUBKEY, &pl);
		ck_assert_uint_eq(pl, ec.pub_len);
		ck_assert_mem_eq(pub, ec.pub, pl);
		ck_assert_int_eq(hsmg_msg_get_fixed(&v, HSMG_TAG_OUT_DATA, &a, sizeof(a)), 0);
		ck_assert_uint_eq(a.key_type, CKK_EC);
		ck_assert_uint_eq(a.curve, HSMG_CURVE_P384);
		free(pub);
	}
	free(sig);
	free(w);
	blob_free(&u);
	blob_free(&ec);
	blob_free(&kek);
}
END_TEST

START_TEST(refusals)
{
	struct blob kek, nowrap, k, noext;
	uint8_t *w, iv8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	size_t wl;

	ck_assert_uint_eq(
	    gen_key(cards[0], CKM_AES_KEY_GEN, attrs(CKK_AES, 16, 0, 0, 0), NULL, 0, &kek), CKR_OK);
	ck_assert_uint_eq(gen_key(cards[0], CKM_AES_KEY_GEN,
				  attrs(CKK_AES, 16, 0, HSMG_KEY_USE_ENCRYPT, 0), NULL, 0, &nowrap),
			  CKR_OK);
	ck_assert_uint_eq(gen_key(cards[0], CKM_AES_KEY_GEN,
				  attrs(CKK_AES, 24, 0, 0, HSMG_KEY_EXTRACTABLE), NULL, 0, &k),
			  CKR_OK);
	ck_assert_uint_eq(
	    gen_key(cards[0], CKM_AES_KEY_GEN, attrs(CKK_AES, 24, 0, 0, 0), NULL, 0, &noext),
	    CKR_OK);
	ck_assert_uint_eq(wrap(CKM_AES_KEY_WRAP, &kek, &noext, NULL, 0, &w, &wl),
			  CKR_KEY_UNEXTRACTABLE);
	ck_assert_uint_eq(wrap(CKM_AES_KEY_WRAP, &nowrap, &k, NULL, 0, &w, &wl),
			  CKR_KEY_FUNCTION_NOT_PERMITTED);
	ck_assert_uint_eq(wrap(CKM_AES_CBC, &kek, &k, NULL, 0, &w, &wl), CKR_MECHANISM_INVALID);
	ck_assert_uint_eq(wrap(CKM_AES_KEY_WRAP, &kek, &k, iv8, 4, &w, &wl),
			  CKR_MECHANISM_PARAM_INVALID);
	/* a custom IV must be given again to unwrap */
	ck_assert_uint_eq(wrap(CKM_AES_KEY_WRAP, &kek, &k, iv8, 8, &w, &wl), CKR_OK);
	ck_assert_uint_eq(wl, 32);
	{
		struct blob u;

		ck_assert_uint_eq(
		    unwrap(CKM_AES_KEY_WRAP, &kek, w, wl, attrs(CKK_AES, 0, 0, 0, 0), &u),
		    CKR_WRAPPED_KEY_INVALID);
		ck_assert_uint_eq(
		    unwrap(CKM_AES_KEY_WRAP, &kek, w, 20, attrs(CKK_AES, 0, 0, 0, 0), &u),
		    CKR_WRAPPED_KEY_LEN_RANGE);
		ck_assert_uint_eq(
		    unwrap(CKM_AES_KEY_WRAP, &kek, w, wl, attrs(CKK_AES, 0, 0, 0, 0), &u),
		    CKR_WRAPPED_KEY_INVALID);
	}
	free(w);
	blob_free(&kek);
	blob_free(&nowrap);
	blob_free(&k);
	blob_free(&noext);
}
END_TEST

START_TEST(import_checks)
{
	uint8_t v[600] = {1};
	struct blob b;

	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_AES, 0, 0, 0, 0), 0, v, 17, &b),
			  CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_AES, 32, 0, 0, 0), 0, v, 16, &b),
			  CKR_TEMPLATE_INCONSISTENT);
	ck_assert_uint_eq(
	    import_key(cards[0], attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), 0, v, 513, &b),
	    CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(
	    import_key(cards[0], attrs(CKK_AES, 0, 0, 0, 0), HSMG_IMPORT_FMT_DER, v, 16, &b),
	    CKR_TEMPLATE_INCONSISTENT);
	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_EC, 0, HSMG_CURVE_P256, 0, 0),
				     HSMG_IMPORT_FMT_DER, v, 40, &b),
			  CKR_ATTRIBUTE_VALUE_INVALID);
	memset(v, 0xff, 32); /* above the order */
	ck_assert_uint_eq(
	    import_key(cards[0], attrs(CKK_EC, 0, HSMG_CURVE_P256, 0, 0), 0, v, 32, &b),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_EC, 0, 9, 0, 0), 0, v, 32, &b),
			  CKR_CURVE_NOT_SUPPORTED);
	ck_assert_uint_eq(import_key(cards[0],
				     attrs(CKK_EC, 0, HSMG_CURVE_P256, HSMG_KEY_USE_ENCRYPT, 0), 0,
				     "\x01", 1, &b),
			  CKR_TEMPLATE_INCONSISTENT);
	ck_assert_uint_eq(
	    import_key(cards[0], attrs(CKK_EC, 0, HSMG_CURVE_P256, 0, 0), 0, "\x01", 1, &b),
	    CKR_OK);
	/* 1 * G: the generator */
	ck_assert_uint_eq(b.pub_len, 65);
	check_hex(b.pub, 33, "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
	blob_free(&b);
}
END_TEST

static CK_RV export_key(struct hsmg_card *c, const struct blob *k, uint8_t **out, size_t *olen)
{
	struct tlv t[] = {{HSMG_TAG_KEY, k->p, k->len}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(c, HSMG_MSG_OP_EXPORT_KEY, 0, t, NT(t), &v);

	if (rv == CKR_OK)
		*out = take(&v, HSMG_TAG_OUT_DATA, olen);
	return rv;
}

/* EXPORT_KEY: clear value only of secret keys both NOT_SENSITIVE and
 * EXTRACTABLE, from any card of the master key. */
START_TEST(export_key_value)
{
	const uint32_t both = HSMG_KEY_EXTRACTABLE | HSMG_KEY_NOT_SENSITIVE;
	uint8_t val[32], *out = NULL;
	struct blob k, sens, noext, g, ec, bad;
	size_t n = 0;

	fill(val, sizeof(val), 7);
	k = import_ok(cards[0], attrs(CKK_AES, 0, 0, 0, both), val, 32);
	ck_assert_uint_eq(export_key(cards[1], &k, &out, &n), CKR_OK);
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(out, val, 32);
	free(out);
	ck_assert_uint_eq(gen_key(cards[0], CKM_GENERIC_SECRET_KEY_GEN,
				  attrs(CKK_GENERIC_SECRET, 48, 0, 0, both), NULL, 0, &g),
			  CKR_OK);
	ck_assert_uint_eq(export_key(cards[0], &g, &out, &n), CKR_OK);
	ck_assert_uint_eq(n, 48);
	free(out);
	/* One flag is not enough; blobs without the flags never export. */
	sens = import_ok(cards[0], attrs(CKK_AES, 0, 0, 0, HSMG_KEY_EXTRACTABLE), val, 16);
	noext = import_ok(cards[0], attrs(CKK_AES, 0, 0, 0, HSMG_KEY_NOT_SENSITIVE), val, 16);
	ck_assert_uint_eq(export_key(cards[0], &sens, &out, &n), CKR_ATTRIBUTE_SENSITIVE);
	ck_assert_uint_eq(export_key(cards[0], &noext, &out, &n), CKR_KEY_UNEXTRACTABLE);
	/* Private keys: not by this op. */
	ck_assert_uint_eq(gen_key(cards[0], CKM_EC_KEY_PAIR_GEN,
				  attrs(CKK_EC, 0, HSMG_CURVE_P256, 0, both), NULL, 0, &ec),
			  CKR_OK);
	ck_assert_uint_eq(export_key(cards[0], &ec, &out, &n), CKR_KEY_TYPE_INCONSISTENT);
	/* Tampered blob; a tag the op does not take; unknown flag bits. */
	bad.p = malloc(k.len);
	ck_assert_ptr_nonnull(bad.p);
	memcpy(bad.p, k.p, k.len);
	bad.len = k.len;
	bad.p[k.len - 1] ^= 1;
	ck_assert_uint_eq(export_key(cards[0], &bad, &out, &n), CKR_KEY_HANDLE_INVALID);
	free(bad.p);
	{
		struct tlv t[] = {{HSMG_TAG_KEY, k.p, k.len}, {HSMG_TAG_DATA, val, 4}};

		ck_assert_uint_eq(crypto(cards[0], HSMG_MSG_OP_EXPORT_KEY, 0, t, NT(t), NULL),
				  CKR_ARGUMENTS_BAD);
	}
	ck_assert_uint_eq(
	    import_key(cards[0], attrs(CKK_AES, 0, 0, 0, HSMG_KEY_ALL_FLAGS + 1), 0, val, 16, &bad),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	ck_assert_str_eq(hsmg_msg_op_name(HSMG_MSG_OP_EXPORT_KEY), "EXPORT_KEY");
	blob_free(&k);
	blob_free(&g);
	blob_free(&sens);
	blob_free(&noext);
	blob_free(&ec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsmsimd card wrap");
	TCase *tc = tcase_create("wrap");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rfc3394);
	tcase_add_test(tc, rfc5649);
	tcase_add_test(tc, private_keys);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, import_checks);
	tcase_add_test(tc, export_key_value);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
