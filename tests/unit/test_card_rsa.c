// SPDX-License-Identifier: GPL-2.0
/*
 * test_card_rsa - RSA on the card with one RSA-2048 key pair generated
 * per suite: public key export, PKCS#1 v1.5 / PSS signatures verified by
 * OpenSSL from the exported key, hash-and-sign multi-part across two
 * cards, OAEP and v1.5 encryption by OpenSSL decrypted on the card,
 * import of an OpenSSL key (DER and components), errors.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "card_util.h"

static struct hsmg_card *cards[2];
static struct blob rsa;
static EVP_PKEY *pub; /* from rsa.pub, for OpenSSL */

static EVP_PKEY *pub_from_msg(const uint8_t *p, size_t len)
{
	struct hsmg_msg_rsa_pub h;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	BIGNUM *n, *e;

	memcpy(&h, p, sizeof(h));
	ck_assert_uint_eq(sizeof(h) + h.modulus_len + h.exponent_len, len);
	n = BN_bin2bn(p + sizeof(h), (int)h.modulus_len, NULL);
	e = BN_bin2bn(p + sizeof(h) + h.modulus_len, (int)h.exponent_len, NULL);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	params = OSSL_PARAM_BLD_to_param(bld);
	ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return pk;
}

static void suite_setup(void)
{
	struct hsmg_msg_key_attrs a = attrs(CKK_RSA, 2048, 0, 0, 0);

	cards[0] = new_card(mk_a);
	cards[1] = new_card(mk_a);
	ck_assert_uint_eq(gen_key(cards[0], CKM_RSA_PKCS_KEY_PAIR_GEN, a, NULL, 0, &rsa), CKR_OK);
	pub = pub_from_msg(rsa.pub, rsa.pub_len);
}

static void suite_teardown(void)
{
	EVP_PKEY_free(pub);
	blob_free(&rsa);
	hsmg_card_free(cards[0]);
	hsmg_card_free(cards[1]);
}

/* OpenSSL verification of @sig over @data. */
static int ossl_verify(const char *md, bool pss, int salt, const uint8_t *data, size_t len,
		       const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int r;

	ck_assert_int_eq(EVP_DigestVerifyInit_ex(m, &pctx, md, NULL, NULL, pub, NULL), 1);
	if (pss) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt);
		EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL);
	}
	r = EVP_DigestVerify(m, sig, sig_len, data, len);
	EVP_MD_CTX_free(m);
	return r;
}

START_TEST(pubkey_export)
{
	struct tlv t[] = {{HSMG_TAG_KEY, rsa.p, rsa.len}};
	struct hsmg_msg_view v;
	uint8_t *p;
	size_t n;

	ck_assert_uint_eq(EVP_PKEY_get_bits(pub), 2048);
	ck_assert_uint_eq(crypto(cards[1], HSMG_MSG_OP_EXPORT_PUBKEY, 0, t, 1, &v), CKR_OK);
	p = take(&v, HSMG_TAG_OUT_PUBKEY, &n);
	ck_assert_uint_eq(n, rsa.pub_len);
	ck_assert_mem_eq(p, rsa.pub, n);
	check_hex(rsa.pub + n - 3, 3, "010001");
	free(p);
}
END_TEST

START_TEST(pkcs1_sign)
{
	static const uint64_t mechs[] = {CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS,
					 CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS};
	static const char *const mds[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
	uint8_t data[1500], *s1, *s2, di[51], *s3;
	size_t i, n1, n2, n3, dl;
	unsigned int hl;

	fill(data, sizeof(data), 21);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, mechs[i], &rsa, NULL, 0, data,
					 sizeof(data), NULL, 0, &s1, &n1),
				  CKR_OK);
		ck_assert_uint_eq(n1, 256);
		ck_assert_int_eq(ossl_verify(mds[i], false, 0, data, sizeof(data), s1, n1), 1);
		/* deterministic: multi-part across cards gives the same bytes */
		ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_SIGN, mechs[i], &rsa, NULL, 0, data,
					sizeof(data), odd_splits, NULL, 0, &s2, &n2),
				  CKR_OK);
		ck_assert_mem_eq(s2, s1, n1);
		ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_VERIFY, mechs[i], &rsa, NULL, 0, data,
					sizeof(data), odd_splits, s1, n1, NULL, NULL),
				  CKR_OK);
		s1[10] ^= 1;
		ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_VERIFY, mechs[i], &rsa, NULL, 0,
					 data, sizeof(data), s1, n1, NULL, NULL),
				  CKR_SIGNATURE_INVALID);
		ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_VERIFY, mechs[i], &rsa, NULL, 0,
					 data, sizeof(data), s1, 255, NULL, NULL),
				  CKR_SIGNATURE_LEN_RANGE);
		free(s1);
		free(s2);
	}
	/* CKM_RSA_PKCS over the SHA-256 DigestInfo == CKM_SHA256_RSA_PKCS */
	hex2bin("3031300d060960864801650304020105000420", di, &dl);
	EVP_Digest(data, sizeof(data), di + dl, &hl, EVP_sha256(), NULL);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_RSA_PKCS, &rsa, NULL, 0, di, 51,
				 NULL, 0, &s3, &n3),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS, &rsa, NULL, 0,
				 data, sizeof(data), NULL, 0, &s1, &n1),
			  CKR_OK);
	ck_assert_mem_eq(s1, s3, 256);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_VERIFY, CKM_RSA_PKCS, &rsa, NULL, 0, di, 51,
				 s3, n3, NULL, NULL),
			  CKR_OK);
	/* raw mechanisms are single-part; too long for the modulus */
	{
		struct tlv t[] = {{HSMG_TAG_KEY, rsa.p, rsa.len}};

		ck_assert_uint_eq(crypto(cards[0], HSMG_MSG_OP_SIGN_INIT, CKM_RSA_PKCS, t, 1, NULL),
				  CKR_MECHANISM_INVALID);
	}
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_RSA_PKCS, &rsa, NULL, 0, data, 246,
				 NULL, 0, NULL, NULL),
			  CKR_DATA_LEN_RANGE);
	free(s1);
	free(s3);
}
END_TEST

START_TEST(pss)
{
	struct hsmg_msg_pss_param p = {CKM_SHA256, CKG_MGF1_SHA256, 32};
	uint8_t data[333], *s, hash[32], *s2;
	size_t n, n2;
	unsigned int hl;

	fill(data, sizeof(data), 5);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS_PSS, &rsa, &p,
				 sizeof(p), data, sizeof(data), NULL, 0, &s, &n),
			  CKR_OK);
	ck_assert_int_eq(ossl_verify("SHA256", true, 32, data, sizeof(data), s, n), 1);
	ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_VERIFY, CKM_SHA256_RSA_PKCS_PSS, &rsa, &p,
				sizeof(p), data, sizeof(data), odd_splits, s, n, NULL, NULL),
			  CKR_OK);
	free(s);
	ck_assert_uint_eq(multi(cards, HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS_PSS, &rsa, &p,
				sizeof(p), data, sizeof(data), odd_splits, NULL, 0, &s, &n),
			  CKR_OK);
	ck_assert_int_eq(ossl_verify("SHA256", true, 32, data, sizeof(data), s, n), 1);
	/* raw PSS over the hash, verified with the public key only */
	EVP_Digest(data, sizeof(data), hash, &hl, EVP_sha256(), NULL);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_RSA_PKCS_PSS, &rsa, &p, sizeof(p),
				 hash, 32, NULL, 0, &s2, &n2),
			  CKR_OK);
	ck_assert_int_eq(ossl_verify("SHA256", true, 32, data, sizeof(data), s2, n2), 1);
	{
		struct hsmg_msg_key_attrs a = attrs(CKK_RSA, 0, 0, 0, 0);
		struct tlv t[] = {{HSMG_TAG_PUBKEY, rsa.pub, rsa.pub_len},
				  {HSMG_TAG_ATTRS, &a, sizeof(a)},
				  {HSMG_TAG_PARAM, &p, sizeof(p)},
				  {HSMG_TAG_DATA, hash, 32},
				  {HSMG_TAG_SIGNATURE, s2, n2}};

		ck_assert_uint_eq(
		    crypto(cards[1], HSMG_MSG_OP_VERIFY, CKM_RSA_PKCS_PSS, t, NT(t), NULL), CKR_OK);
		p.salt_len = 20; /* the salt length is checked */
		ck_assert_uint_eq(
		    crypto(cards[1], HSMG_MSG_OP_VERIFY, CKM_RSA_PKCS_PSS, t, NT(t), NULL),
		    CKR_SIGNATURE_INVALID);
	}
	/* hash of the parameter must be the mechanism's */
	p.hash = CKM_SHA384;
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS_PSS, &rsa, &p,
				 sizeof(p), data, 10, NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	p.hash = CKM_SHA256;
	p.mgf = 77;
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS_PSS, &rsa, &p,
				 sizeof(p), data, 10, NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	p.mgf = CKG_MGF1_SHA256;
	p.salt_len = 250;
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS_PSS, &rsa, &p,
				 sizeof(p), data, 10, NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	free(s);
	free(s2);
}
END_TEST

static size_t ossl_encrypt(bool oaep, const char *label, const uint8_t *in, size_t len,
			   uint8_t *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	size_t n = 256;

	ck_assert_int_eq(EVP_PKEY_encrypt_init(ctx), 1);
	if (oaep) {
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
		EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
		EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1());
		if (label)
			EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_strdup(label),
							 (int)strlen(label));
	} else {
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
	}
	ck_assert_int_eq(EVP_PKEY_encrypt(ctx, out, &n, in, len), 1);
	EVP_PKEY_CTX_free(ctx);
	return n;
}

START_TEST(encryption)
{
	uint8_t param[64], ct[256], msg[256], *pt;
	struct hsmg_msg_oaep_param op = {CKM_SHA256, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, 5, 0};
	size_t n, plen;

	fill(msg, sizeof(msg), 8);
	memcpy(param, &op, sizeof(op));
	memcpy(param + sizeof(op), "label", 5);
	plen = sizeof(op) + 5;
	n = ossl_encrypt(true, "label", msg, 190, ct);
	ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_DECRYPT, CKM_RSA_PKCS_OAEP, &rsa, param,
				 plen, ct, n, NULL, 0, &pt, &n),
			  CKR_OK);
	ck_assert_uint_eq(n, 190);
	ck_assert_mem_eq(pt, msg, n);
	free(pt);
	/* wrong label */
	memcpy(param + sizeof(op), "lAbel", 5);
	ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_DECRYPT, CKM_RSA_PKCS_OAEP, &rsa, param,
				 plen, ct, 256, NULL, 0, NULL, NULL),
			  CKR_ENCRYPTED_DATA_INVALID);
	/* v1.5 */
	n = ossl_encrypt(false, NULL, msg, 100, ct);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_RSA_PKCS, &rsa, NULL, 0, ct, n,
				 NULL, 0, &pt, &n),
			  CKR_OK);
	ck_assert_uint_eq(n, 100);
	ck_assert_mem_eq(pt, msg, 100);
	free(pt);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_RSA_PKCS, &rsa, NULL, 0, ct,
				 255, NULL, 0, NULL, NULL),
			  CKR_ENCRYPTED_DATA_LEN_RANGE);
	/* card encryption with the public key, card decryption */
	{
		struct hsmg_msg_key_attrs a = attrs(CKK_RSA, 0, 0, 0, 0);
		struct tlv t[] = {{HSMG_TAG_PUBKEY, rsa.pub, rsa.pub_len},
				  {HSMG_TAG_ATTRS, &a, sizeof(a)},
				  {HSMG_TAG_DATA, msg, 245}};
		struct hsmg_msg_view v;
		uint8_t *c;
		size_t cl;

		ck_assert_uint_eq(crypto(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_RSA_PKCS, t, NT(t), &v),
				  CKR_OK);
		c = take(&v, HSMG_TAG_OUT_DATA, &cl);
		ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_DECRYPT, CKM_RSA_PKCS, &rsa, NULL, 0,
					 c, cl, NULL, 0, &pt, &n),
				  CKR_OK);
		ck_assert_uint_eq(n, 245);
		ck_assert_mem_eq(pt, msg, 245);
		free(pt);
		free(c);
		t[2].len = 246;
		ck_assert_uint_eq(
		    crypto(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_RSA_PKCS, t, NT(t), NULL),
		    CKR_DATA_LEN_RANGE);
	}
	/* OAEP: longest message for SHA-256 is 256 - 66 */
	op.label_len = 0;
	op.source = 0;
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_RSA_PKCS_OAEP, &rsa, &op,
				 sizeof(op), msg, 190, NULL, 0, &pt, &n),
			  CKR_OK);
	free(pt);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_RSA_PKCS_OAEP, &rsa, &op,
				 sizeof(op), msg, 191, NULL, 0, NULL, NULL),
			  CKR_DATA_LEN_RANGE);
	op.hash = CKM_MD5;
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT, CKM_RSA_PKCS_OAEP, &rsa, &op,
				 sizeof(op), msg, 10, NULL, 0, NULL, NULL),
			  CKR_MECHANISM_PARAM_INVALID);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_ENCRYPT_INIT, CKM_RSA_PKCS, &rsa, NULL, 0,
				 msg, 10, NULL, 0, NULL, NULL),
			  CKR_ARGUMENTS_BAD); /* INIT takes no DATA */
}
END_TEST

/* An OpenSSL RSA key imported as DER and as components signs like itself. */
START_TEST(import)
{
	static const char *const names[8] = {
	    OSSL_PKEY_PARAM_RSA_N,	   OSSL_PKEY_PARAM_RSA_E,
	    OSSL_PKEY_PARAM_RSA_D,	   OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	uint8_t der[2000], *p = der, comps[2000], *s1, *s2;
	struct hsmg_msg_rsa_priv h;
	size_t off = sizeof(h), n1, n2;
	struct blob b1, b2;
	int dl, i;

	ck_assert_ptr_nonnull(k);
	dl = i2d_PrivateKey(k, &p);
	ck_assert_int_gt(dl, 0);
	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_RSA, 0, 0, 0, 0), HSMG_IMPORT_FMT_DER, der,
				     (size_t)dl, &b1),
			  CKR_OK);
	for (i = 0; i < 8; i++) {
		BIGNUM *bn = NULL;

		ck_assert_int_eq(EVP_PKEY_get_bn_param(k, names[i], &bn), 1);
		h.len[i] = (uint32_t)BN_bn2bin(bn, comps + off);
		off += h.len[i];
		BN_clear_free(bn);
	}
	memcpy(comps, &h, sizeof(h));
	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_RSA, 2048, 0, 0, 0), 0, comps, off, &b2),
			  CKR_OK);
	ck_assert_uint_eq(b1.pub_len, b2.pub_len);
	ck_assert_mem_eq(b1.pub, b2.pub, b1.pub_len);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS, &b1, NULL, 0, "m",
				 1, NULL, 0, &s1, &n1),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[1], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS, &b2, NULL, 0, "m",
				 1, NULL, 0, &s2, &n2),
			  CKR_OK);
	ck_assert_mem_eq(s1, s2, n1);
	blob_free(&b1);
	/* a broken component */
	comps[sizeof(h) + 300] ^= 1; /* inside d */
	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_RSA, 0, 0, 0, 0), 0, comps, off, &b1),
			  CKR_ATTRIBUTE_VALUE_INVALID);
	h.len[7] = 0;
	memcpy(comps, &h, sizeof(h));
	ck_assert_uint_eq(import_key(cards[0], attrs(CKK_RSA, 0, 0, 0, 0), 0, comps, off, &b1),
			  CKR_TEMPLATE_INCOMPLETE);
	free(s1);
	free(s2);
	blob_free(&b2);
	EVP_PKEY_free(k);
	OPENSSL_cleanse(der, sizeof(der));
	OPENSSL_cleanse(comps, sizeof(comps));
}
END_TEST

START_TEST(keygen_checks)
{
	uint8_t even[3] = {1, 0, 0};
	struct blob b, sign_only;

	ck_assert_uint_eq(gen_key(cards[0], CKM_RSA_PKCS_KEY_PAIR_GEN,
				  attrs(CKK_RSA, 1024, 0, 0, 0), NULL, 0, &b),
			  CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(gen_key(cards[0], CKM_RSA_PKCS_KEY_PAIR_GEN,
				  attrs(CKK_RSA, 4104, 0, 0, 0), NULL, 0, &b),
			  CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(gen_key(cards[0], CKM_RSA_PKCS_KEY_PAIR_GEN,
				  attrs(CKK_RSA, 2048, 0, 0, 0), even, 3, &b),
			  CKR_MECHANISM_PARAM_INVALID);
	ck_assert_uint_eq(gen_key(cards[0], CKM_RSA_PKCS_KEY_PAIR_GEN,
				  attrs(CKK_RSA, 2048, 0, HSMG_KEY_USE_DERIVE, 0), NULL, 0, &b),
			  CKR_TEMPLATE_INCONSISTENT);
	/* an EC key in RSA mechanisms */
	ck_assert_uint_eq(gen_key(cards[0], CKM_EC_KEY_PAIR_GEN,
				  attrs(CKK_EC, 0, HSMG_CURVE_P256, HSMG_KEY_USE_SIGN, 0), NULL, 0,
				  &sign_only),
			  CKR_OK);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS, &sign_only, NULL,
				 0, "x", 1, NULL, 0, NULL, NULL),
			  CKR_KEY_TYPE_INCONSISTENT);
	ck_assert_uint_eq(single(cards[0], HSMG_MSG_OP_DECRYPT, CKM_RSA_PKCS, &sign_only, NULL, 0,
				 "x", 1, NULL, 0, NULL, NULL),
			  CKR_KEY_TYPE_INCONSISTENT);
	blob_free(&sign_only);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsmsimd card RSA");
	TCase *tc = tcase_create("rsa");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pubkey_export);
	tcase_add_test(tc, pkcs1_sign);
	tcase_add_test(tc, pss);
	tcase_add_test(tc, encryption);
	tcase_add_test(tc, import);
	tcase_add_test(tc, keygen_checks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
