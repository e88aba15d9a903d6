// SPDX-License-Identifier: GPL-2.0
/*
 * test_card_ec - ECDSA on P-256, P-384, P-521 (signatures verified by
 * OpenSSL from the exported point, multi-part hash-and-sign across two
 * cards), ECDH1 derive with CKD_NULL and the X9.63 KDF checked against
 * OpenSSL, peer points raw and DER-wrapped, points off the curve, errors.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>

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

static const char *const groups[] = {NULL, "prime256v1", "secp384r1", "secp521r1"};
static const size_t orders[] = {0, 32, 48, 66};

static EVP_PKEY *ossl_pub(uint32_t curve, const uint8_t *pt, size_t len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM *params;
	EVP_PKEY *pk = NULL;

	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, groups[curve], 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len);
	params = OSSL_PARAM_BLD_to_param(bld);
	ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* OpenSSL check of an r || s signature over @data with @md. */
static int ossl_verify(EVP_PKEY *pk, size_t order, const char *md, const uint8_t *data, size_t len,
		       const uint8_t *rs)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	uint8_t der[200], *p = der;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int n, r;

	ECDSA_SIG_set0(sig, BN_bin2bn(rs, (int)order, NULL),
		       BN_bin2bn(rs + order, (int)order, NULL));
	n = i2d_ECDSA_SIG(sig, &p);
	ck_assert_int_eq(EVP_DigestVerifyInit_ex(m, NULL, md, NULL, NULL, pk, NULL), 1);
	r = EVP_DigestVerify(m, der, (size_t)n, data, len);
	EVP_MD_CTX_free(m);
	ECDSA_SIG_free(sig);
	return r;
}

START_TEST(ecdsa_curves)
{
	static const uint64_t mechs[] = {CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256,
					 CKM_ECDSA_SHA384, CKM_ECDSA_SHA512};
	static const char *const mds[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
	uint8_t data[700], *s, hash[64];
	uint32_t curve;
	size_t i, n;
	struct blob k;
	EVP_PKEY *pk;

	fill(data, sizeof(data), 3);
	for (curve = HSMG_CURVE_P256; curve <= HSMG_CURVE_P521; curve++) {
		ck_assert_uint_eq(gen_key(cards[0], CKM_EC_KEY_PAIR_GEN,
					  attrs(CKK_EC, 0, curve, 0, 0), NULL, 0, &k),
				  CKR_OK);
		ck_assert_uint_eq(k.pub_len, 1 + 2 * orders[curve]);
		pk = ossl_pub(curve, k.pub, k.pub_len);
		for (i = 0; i < 5; i++) {
			ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_SIGN, mechs[i], &k, NULL, 0,
						data, sizeof(data), odd_splits, NULL, 0, &s, &n),
					  CKR_OK);
			ck_assert_uint_eq(n, 2 * orders[curve]);
			ck_assert_int_eq(
			    ossl_verify(pk, orders[curve], mds[i], data, sizeof(data), s), 1);
			ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_VERIFY, mechs[i], &k, NULL, 0,
						data, sizeof(data), odd_splits, s, n, NULL, NULL),
					  CKR_OK);
			/* public key only, curve from the point length */
			{
				struct tlv t[] = {{HSMG_TAG_PUBKEY, k.pub, k.pub_len},
						  {HSMG_TAG_DATA, data, sizeof(data)},
						  {HSMG_TAG_SIGNATURE, s, n}};

				ck_assert_uint_eq(
				    crypto(cards[1], HSMG_MSG_OP_VERIFY, mechs[i], t, 3, NULL),
				    CKR_OK);
				s[n - 1] ^= 1;
				ck_assert_uint_eq(
				    crypto(cards[1], HSMG_MSG_OP_VERIFY, mechs[i], t, 3, NULL),
				    CKR_SIGNATURE_INVALID);
				t[2].len = n - 1;
				ck_assert_uint_eq(
				    crypto(cards[1], HSMG_MSG_OP_VERIFY, mechs[i], t, 3, NULL),
				    CKR_SIGNATURE_LEN_RANGE);
			}
			free(s);
		}
		/* raw ECDSA over a hash */
		EVP_Digest(data, sizeof(data), hash, NULL, EVP_sha512(), NULL);
		ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_ECDSA, &k, NULL, 0, hash,
					 64, NULL, 0, &s, &n),
				  CKR_OK);
		ck_assert_int_eq(ossl_verify(pk, orders[curve], "SHA512", data, sizeof(data), s),
				 1);
		free(s);
		EVP_PKEY_free(pk);
		blob_free(&k);
	}
}
END_TEST

static size_t ecdh_param(uint8_t *p, uint64_t kdf, const void *shared, uint32_t slen,
			 const void *pub, uint32_t plen)
{
	struct hsmg_msg_ecdh_param e = {kdf, slen, plen};

	memcpy(p, &e, sizeof(e));
	if (slen)
		memcpy(p + sizeof(e), shared, slen);
	memcpy(p + sizeof(e) + slen, pub, plen);
	return sizeof(e) + slen + plen;
}

static CK_RV derive(struct hsmg_card *c, const struct blob *k, const void *param, size_t plen,
		    struct hsmg_msg_key_attrs a, struct blob *out)
{
	struct tlv t[] = {{HSMG_TAG_KEY, k->p, k->len},
			  {HSMG_TAG_PARAM, param, plen},
			  {HSMG_TAG_ATTRS, &a, sizeof(a)}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(c, HSMG_MSG_OP_DERIVE, CKM_ECDH1_DERIVE, t, NT(t), &v);

	if (rv == CKR_OK)
		*out = blob_of(&v);
	return rv;
}

/* HMAC-SHA256 of "probe" under a derived generic secret. */
static void probe(struct hsmg_card *c, const struct blob *k, uint8_t mac[32])
{
	uint8_t *m;
	size_t n;

	ck_assert_uint_eq(
	    single(c, HSMG_MSG_OP_SIGN, CKM_SHA256_HMAC, k, NULL, 0, "probe", 5, NULL, 0, &m, &n),
	    CKR_OK);
	memcpy(mac, m, 32);
	free(m);
}

START_TEST(ecdh)
{
	uint8_t scalar[48], param[400], z[48], ref[32], mac[32], der[100], okm[32];
	EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	uint8_t peer_pt[97];
	size_t plen, zl = sizeof(z), pl = 0;
	struct blob mine, d1, d2, aes;
	EVP_PKEY *mine_pub;
	EVP_PKEY_CTX *ctx;
	unsigned int rl;

	fill(scalar, sizeof(scalar), 77);
	scalar[0] = 0x11;
	mine = import_ok(cards[0], attrs(CKK_EC, 0, HSMG_CURVE_P384, 0, 0), scalar, 48);
	ck_assert_int_eq(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, peer_pt,
							 sizeof(peer_pt), &pl),
			 1);
	ck_assert_uint_eq(pl, 97);
	/* OpenSSL's side: z = x(peer_priv * mine_pub) */
	mine_pub = ossl_pub(HSMG_CURVE_P384, mine.pub, mine.pub_len);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	ck_assert_int_eq(EVP_PKEY_derive_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_derive_set_peer(ctx, mine_pub), 1);
	ck_assert_int_eq(EVP_PKEY_derive(ctx, z, &zl), 1);
	ck_assert_uint_eq(zl, 48);
	EVP_PKEY_CTX_free(ctx);

	/* CKD_NULL, whole secret: HMAC under it equals HMAC under z */
	plen = ecdh_param(param, CKD_NULL, NULL, 0, peer_pt, 97);
	ck_assert_uint_eq(
	    derive(cards[1], &mine, param, plen, attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), &d1),
	    CKR_OK);
	HMAC(EVP_sha256(), z, 48, (const uint8_t *)"probe", 5, ref, &rl);
	probe(cards[0], &d1, mac);
	ck_assert_mem_eq(mac, ref, 32);
	/* peer point inside a DER OCTET STRING (CKA_EC_POINT), leading 16 bytes */
	der[0] = 0x04;
	der[1] = 97;
	memcpy(der + 2, peer_pt, 97);
	plen = ecdh_param(param, CKD_NULL, NULL, 0, der, 99);
	ck_assert_uint_eq(
	    derive(cards[0], &mine, param, plen, attrs(CKK_GENERIC_SECRET, 16, 0, 0, 0), &d2),
	    CKR_OK);
	HMAC(EVP_sha256(), z, 16, (const uint8_t *)"probe", 5, ref, &rl);
	probe(cards[0], &d2, mac);
	ck_assert_mem_eq(mac, ref, 32);
	blob_free(&d2);
	/* X9.63 KDF with SHA-256 and shared data */
	{
		EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
		EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
		OSSL_PARAM p[4] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, 48),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, "shared", 6),
		    OSSL_PARAM_construct_end()};

		ck_assert_int_eq(EVP_KDF_derive(kc, okm, 32, p), 1);
		EVP_KDF_CTX_free(kc);
		EVP_KDF_free(kdf);
	}
	plen = ecdh_param(param, CKD_SHA256_KDF, "shared", 6, peer_pt, 97);
	ck_assert_uint_eq(
	    derive(cards[0], &mine, param, plen, attrs(CKK_GENERIC_SECRET, 0, 0, 0, 0), &d2),
	    CKR_OK);
	HMAC(EVP_sha256(), okm, 32, (const uint8_t *)"probe", 5, ref, &rl);
	probe(cards[1], &d2, mac);
	ck_assert_mem_eq(mac, ref, 32);
	blob_free(&d2);
	/* an AES key: usable */
	ck_assert_uint_eq(derive(cards[0], &mine, param, plen, attrs(CKK_AES, 32, 0, 0, 0), &aes),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_AES_ECB, &aes, NULL, 0, okm, 32,
				 NULL, 0, NULL, NULL),
			  CKR_OK);
	/* errors */
	ck_assert_uint_eq(derive(cards[0], &mine, param, plen, attrs(CKK_AES, 0, 0, 0, 0), &d2),
			  CKR_OK); /* AES with value_len 0 takes the KDF's 32 bytes */
	blob_free(&d2);
	plen = ecdh_param(param, CKD_NULL, "x", 1, peer_pt, 97);
	ck_assert_uint_eq(derive(cards[0], &mine, param, plen, attrs(CKK_AES, 16, 0, 0, 0), &d2),
			  CKR_MECHANISM_PARAM_INVALID);
	peer_pt[50] ^= 1; /* off the curve */
	plen = ecdh_param(param, CKD_NULL, NULL, 0, peer_pt, 97);
	ck_assert_uint_eq(derive(cards[0], &mine, param, plen, attrs(CKK_AES, 16, 0, 0, 0), &d2),
			  CKR_MECHANISM_PARAM_INVALID);
	plen = ecdh_param(param, CKD_NULL, NULL, 0, peer_pt, 65); /* other curve */
	ck_assert_uint_eq(derive(cards[0], &mine, param, plen, attrs(CKK_AES, 16, 0, 0, 0), &d2),
			  CKR_MECHANISM_PARAM_INVALID);
	plen = ecdh_param(param, CKD_NULL, NULL, 0, mine.pub, 97);
	ck_assert_uint_eq(derive(cards[0], &mine, param, plen, attrs(CKK_AES, 64, 0, 0, 0), &d2),
			  CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(derive(cards[0], &mine, param, plen, attrs(CKK_EC, 0, 0, 0, 0), &d2),
			  CKR_TEMPLATE_INCONSISTENT);
	blob_free(&aes);
	blob_free(&d1);
	blob_free(&mine);
	EVP_PKEY_free(mine_pub);
	EVP_PKEY_free(peer);
}
END_TEST

START_TEST(errors)
{
	struct blob k, noderive;
	uint8_t param[200];
	size_t plen;

	ck_assert_uint_eq(
	    gen_key(cards[0], CKM_EC_KEY_PAIR_GEN, attrs(CKK_EC, 0, 4, 0, 0), NULL, 0, &k),
	    CKR_CURVE_NOT_SUPPORTED);
	ck_assert_uint_eq(gen_key(cards[0], CKM_EC_KEY_PAIR_GEN,
				  attrs(CKK_EC, 0, HSMG_CURVE_P256, HSMG_KEY_USE_SIGN, 0), NULL, 0,
				  &noderive),
			  CKR_OK);
	plen = ecdh_param(param, CKD_NULL, NULL, 0, noderive.pub, 65);
	ck_assert_uint_eq(derive(cards[0], &noderive, param, plen, attrs(CKK_AES, 16, 0, 0, 0), &k),
			  CKR_KEY_FUNCTION_NOT_PERMITTED);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_VERIFY, CKM_ECDSA_SHA256, &noderive, NULL, 0,
				 "x", 1, param, 64, NULL, NULL),
			  CKR_KEY_FUNCTION_NOT_PERMITTED);
	{
		struct tlv t[] = {{HSMG_TAG_KEY, noderive.p, noderive.len}};

		ck_assert_uint_eq(crypto(cards[0], HSMG_MSG_OP_SIGN_INIT, CKM_ECDSA, t, 1, NULL),
				  CKR_MECHANISM_INVALID);
	}
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_ECDSA, &noderive, NULL, 0, param,
				 65, NULL, 0, NULL, NULL),
			  CKR_DATA_LEN_RANGE);
	blob_free(&noderive);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsmsimd card EC");
	TCase *tc = tcase_create("ec");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ecdsa_curves);
	tcase_add_test(tc, ecdh);
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
