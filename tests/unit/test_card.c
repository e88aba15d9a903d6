// SPDX-License-Identifier: GPL-2.0
/*
 * test_card - hsmsimd's request processing (lib/card/card.c) without
 * the kernel: key generation, AES-GCM, ECDSA (checked against OpenSSL),
 * digests and their state blobs, blob tampering, master key groups,
 * strict/VHSM binding, pin-blobs, session quota, malformed requests.
 */
#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "backend.h"
#include "card.h"
#include "hsmg_mech.h"
#include "hsmg_msg.h"

static const uint8_t mk_a[HSMG_CARD_MK_LEN] = "0123456789abcdef0123456789abcdef";
static const uint8_t mk_b[HSMG_CARD_MK_LEN] = "fedcba9876543210fedcba9876543210";

static uint8_t ans[HSMG_MAX_MSG_SIZE];
static uint8_t reqbuf[HSMG_MAX_MSG_SIZE];

struct tlv {
	uint32_t tag;
	const void *val;
	size_t len;
};

/* The request context: which session and flags the kernel would set. */
struct sess {
	uint64_t id;
	uint32_t flags;
};

static const struct sess nosess = {0, 0};

static struct hsmg_card *new_card(const uint8_t *mk, unsigned int nq, unsigned int quota)
{
	struct hsmg_card *c = hsmg_card_new(mk, nq, quota);

	ck_assert_ptr_nonnull(c);
	return c;
}

/* Send a raw payload; returns the transport status. */
static uint32_t raw(struct hsmg_card *c, unsigned int q, uint32_t type, struct sess s,
		    const void *payload, uint32_t len, uint32_t *ans_len)
{
	struct hsmg_be_req r = {
	    .tag = 1, .type = type, .session = s.id, .session_flags = s.flags, .len = len};
	struct hsmg_card_result res;

	hsmg_card_process(c, q, &r, payload, ans, sizeof(ans), &res);
	if (ans_len)
		*ans_len = res.len;
	return res.status;
}

/* Build and send a crypto request on queue 0; returns the response's rv and
 * leaves the parsed response in @v (pointing into ans). */
static CK_RV crypto(struct hsmg_card *c, struct sess s, uint32_t op, uint64_t mech,
		    const struct tlv *t, size_t nt, struct hsmg_msg_view *v)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view local;
	uint32_t alen = 0;
	ssize_t n;
	size_t i;

	if (!v)
		v = &local;
	hsmg_msg_init(&b, reqbuf, sizeof(reqbuf), HSMG_MSG_REQUEST, op, mech);
	for (i = 0; i < nt; i++)
		hsmg_msg_put(&b, t[i].tag, t[i].val, t[i].len);
	n = hsmg_msg_finish(&b);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_CRYPTO, s, reqbuf, (uint32_t)n, &alen), HSMG_BE_OK);
	ck_assert_int_eq(hsmg_msg_parse_type(v, ans, alen, HSMG_MSG_RESPONSE), 0);
	ck_assert_uint_eq(v->hdr.op, op);
	ck_assert_uint_eq(v->hdr.mechanism, mech);
	if (v->hdr.rv != CKR_OK)
		ck_assert_uint_eq(v->hdr.ntlv, 0);
	return v->hdr.rv;
}

/* Copy TLV @tag of @v into @out (cap @cap); returns its length. */
static size_t take(const struct hsmg_msg_view *v, uint32_t tag, void *out, size_t cap)
{
	const void *val;
	uint32_t len;

	ck_assert(hsmg_msg_get(v, tag, &val, &len));
	ck_assert_uint_le(len, cap);
	memcpy(out, val, len);
	return len;
}

static uint32_t login_q(struct hsmg_card *c, unsigned int q, struct sess s, uint32_t flags,
			const char *pin, const char *cardpin, uint8_t blob[HSMG_PIN_BLOB_LEN])
{
	uint8_t p[sizeof(struct hsmg_be_login) + 2 * HSMG_MAX_PIN_LEN];
	struct hsmg_be_login lg = {.flags = flags};
	uint32_t st, alen = 0;

	lg.pin_len = (uint32_t)strlen(pin);
	lg.cardpin_len = cardpin ? (uint32_t)strlen(cardpin) : 0;
	memcpy(p, &lg, sizeof(lg));
	memcpy(p + sizeof(lg), pin, lg.pin_len);
	if (cardpin)
		memcpy(p + sizeof(lg) + lg.pin_len, cardpin, lg.cardpin_len);
	st = raw(c, q, HSMG_BE_REQ_LOGIN, s, p, (uint32_t)sizeof(lg) + lg.pin_len + lg.cardpin_len,
		 &alen);
	if (st == HSMG_BE_OK) {
		ck_assert_uint_eq(alen, HSMG_PIN_BLOB_LEN);
		if (blob)
			memcpy(blob, ans, HSMG_PIN_BLOB_LEN);
	}
	return st;
}

static uint32_t login(struct hsmg_card *c, struct sess s, const char *pin, const char *cardpin,
		      uint8_t blob[HSMG_PIN_BLOB_LEN])
{
	return login_q(c, 0, s, 0, pin, cardpin, blob);
}

static uint32_t logout_q(struct hsmg_card *c, unsigned int q, struct sess s)
{
	return raw(c, q, HSMG_BE_REQ_LOGOUT, s, NULL, 0, NULL);
}

static struct hsmg_msg_key_attrs aes_attrs(uint32_t len, uint32_t usage, uint32_t flags)
{
	struct hsmg_msg_key_attrs a = {
	    .key_type = CKK_AES, .value_len = len, .usage = usage, .flags = flags};
	return a;
}

/* Generate an AES key; returns rv, blob in @blob/@blen. */
static CK_RV gen_aes(struct hsmg_card *c, struct sess s, uint32_t len, uint32_t usage,
		     uint32_t flags, uint8_t *blob, size_t *blen)
{
	struct hsmg_msg_key_attrs a = aes_attrs(len, usage, flags);
	struct tlv t[] = {{HSMG_TAG_ATTRS, &a, sizeof(a)}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(c, s, HSMG_MSG_OP_GENERATE_KEY, CKM_AES_KEY_GEN, t, 1, &v);

	if (rv == CKR_OK)
		*blen = take(&v, HSMG_TAG_OUT_KEY, blob, 512);
	return rv;
}

static size_t gcm_param(uint8_t *p, const void *iv, uint32_t ivlen, const void *aad,
			uint32_t aadlen, uint32_t tag_bits)
{
	struct hsmg_msg_gcm_param g = {ivlen, aadlen, tag_bits, 0};

	memcpy(p, &g, sizeof(g));
	memcpy(p + sizeof(g), iv, ivlen);
	memcpy(p + sizeof(g) + ivlen, aad, aadlen);
	return sizeof(g) + ivlen + aadlen;
}

/* GCM encrypt or decrypt; output in @out/@olen. */
static CK_RV gcm(struct hsmg_card *c, struct sess s, bool enc, const uint8_t *blob, size_t blen,
		 const uint8_t *param, size_t plen, const void *in, size_t len, uint8_t *out,
		 size_t *olen)
{
	struct tlv t[] = {
	    {HSMG_TAG_KEY, blob, blen}, {HSMG_TAG_PARAM, param, plen}, {HSMG_TAG_DATA, in, len}};
	struct hsmg_msg_view v;
	CK_RV rv =
	    crypto(c, s, enc ? HSMG_MSG_OP_ENCRYPT : HSMG_MSG_OP_DECRYPT, CKM_AES_GCM, t, 3, &v);

	if (rv == CKR_OK)
		*olen = take(&v, HSMG_TAG_OUT_DATA, out, 4096);
	return rv;
}

/* Encrypt a fixed text with @blob; just the rv. */
static CK_RV use_aes(struct hsmg_card *c, struct sess s, const uint8_t *blob, size_t blen)
{
	uint8_t param[64], out[256];
	size_t plen = gcm_param(param, "123456789012", 12, "", 0, 128), olen;

	return gcm(c, s, true, blob, blen, param, plen, "text", 4, out, &olen);
}

/* ------------------------------------------------------------ tests */

START_TEST(mkvp)
{
	struct hsmg_card *a = new_card(mk_a, 1, 0), *a2 = new_card(mk_a, 2, 0),
			 *b = new_card(mk_b, 1, 0);
	uint8_t va[32], va2[32], vb[32];

	hsmg_card_mkvp(a, va);
	hsmg_card_mkvp(a2, va2);
	hsmg_card_mkvp(b, vb);
	ck_assert_mem_eq(va, va2, 32);
	ck_assert(memcmp(va, vb, 32) != 0);
	ck_assert(memcmp(va, mk_a, 32) != 0);
	ck_assert_ptr_null(hsmg_card_new(mk_a, 0, 0));
	ck_assert_ptr_null(hsmg_card_new(mk_a, HSMG_CARD_MAX_QUEUES + 1, 0));
	hsmg_card_free(a);
	hsmg_card_free(a2);
	hsmg_card_free(b);
}
END_TEST

START_TEST(random_bytes)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	struct hsmg_msg_view v;
	uint8_t r1[64], r2[64];
	uint32_t n = 64, zero = 0, big = HSMG_MSG_MAX_RANDOM + 1;
	struct tlv t[] = {{HSMG_TAG_PARAM, &n, 4}};

	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_RANDOM, 0, t, 1, &v), CKR_OK);
	ck_assert_uint_eq(take(&v, HSMG_TAG_OUT_DATA, r1, sizeof(r1)), 64);
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_RANDOM, 0, t, 1, &v), CKR_OK);
	ck_assert_uint_eq(take(&v, HSMG_TAG_OUT_DATA, r2, sizeof(r2)), 64);
	ck_assert(memcmp(r1, r2, 64) != 0);
	t[0].val = &zero;
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_RANDOM, 0, t, 1, NULL), CKR_DATA_LEN_RANGE);
	t[0].val = &big;
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_RANDOM, 0, t, 1, NULL), CKR_DATA_LEN_RANGE);
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_RANDOM, 0, NULL, 0, NULL),
			  CKR_ARGUMENTS_BAD);
	t[0].len = 2;
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_RANDOM, 0, t, 1, NULL), CKR_ARGUMENTS_BAD);
	hsmg_card_free(c);
}
END_TEST

START_TEST(aes_keygen_gcm_roundtrip)
{
	static const uint32_t lens[] = {16, 24, 32};
	static const uint32_t tags[] = {128, 96, 32};
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	uint8_t blob[512], param[256], ct[4096], pt[4096], msg[1000];
	size_t blen, plen, clen, ptlen;
	unsigned int i;

	RAND_bytes(msg, sizeof(msg));
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(gen_aes(c, nosess, lens[i], 0, 0, blob, &blen), CKR_OK);
		plen = gcm_param(param, "iv-iv-iv-iv!", 12, "header", 6, tags[i]);
		ck_assert_uint_eq(
		    gcm(c, nosess, true, blob, blen, param, plen, msg, sizeof(msg), ct, &clen),
		    CKR_OK);
		ck_assert_uint_eq(clen, sizeof(msg) + tags[i] / 8);
		ck_assert_uint_eq(
		    gcm(c, nosess, false, blob, blen, param, plen, ct, clen, pt, &ptlen), CKR_OK);
		ck_assert_uint_eq(ptlen, sizeof(msg));
		ck_assert_mem_eq(pt, msg, sizeof(msg));
		/* tampered ciphertext, tag, AAD */
		ct[5] ^= 1;
		ck_assert_uint_eq(
		    gcm(c, nosess, false, blob, blen, param, plen, ct, clen, pt, &ptlen),
		    CKR_ENCRYPTED_DATA_INVALID);
		ct[5] ^= 1;
		ct[clen - 1] ^= 1;
		ck_assert_uint_eq(
		    gcm(c, nosess, false, blob, blen, param, plen, ct, clen, pt, &ptlen),
		    CKR_ENCRYPTED_DATA_INVALID);
		ct[clen - 1] ^= 1;
		plen = gcm_param(param, "iv-iv-iv-iv!", 12, "Header", 6, tags[i]);
		ck_assert_uint_eq(
		    gcm(c, nosess, false, blob, blen, param, plen, ct, clen, pt, &ptlen),
		    CKR_ENCRYPTED_DATA_INVALID);
	}
	/* empty plaintext, no AAD */
	plen = gcm_param(param, "x", 1, "", 0, 128);
	ck_assert_uint_eq(gcm(c, nosess, true, blob, blen, param, plen, "", 0, ct, &clen), CKR_OK);
	ck_assert_uint_eq(clen, 16);
	ck_assert_uint_eq(gcm(c, nosess, false, blob, blen, param, plen, ct, clen, pt, &ptlen),
			  CKR_OK);
	ck_assert_uint_eq(ptlen, 0);
	/* ciphertext shorter than the tag */
	ck_assert_uint_eq(gcm(c, nosess, false, blob, blen, param, plen, ct, 15, pt, &ptlen),
			  CKR_ENCRYPTED_DATA_LEN_RANGE);
	/* bad parameters */
	plen = gcm_param(param, "x", 1, "", 0, 129);
	ck_assert_uint_eq(gcm(c, nosess, true, blob, blen, param, plen, "a", 1, ct, &clen),
			  CKR_MECHANISM_PARAM_INVALID);
	plen = gcm_param(param, "x", 0, "", 0, 128);
	ck_assert_uint_eq(gcm(c, nosess, true, blob, blen, param, plen, "a", 1, ct, &clen),
			  CKR_MECHANISM_PARAM_INVALID);
	plen = gcm_param(param, "abcd", 4, "", 0, 128);
	ck_assert_uint_eq(gcm(c, nosess, true, blob, blen, param, plen - 1, "a", 1, ct, &clen),
			  CKR_MECHANISM_PARAM_INVALID);
	/* bad key sizes and templates */
	ck_assert_uint_eq(gen_aes(c, nosess, 20, 0, 0, blob, &blen), CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(gen_aes(c, nosess, 0, 0, 0, blob, &blen), CKR_KEY_SIZE_RANGE);
	ck_assert_uint_eq(gen_aes(c, nosess, 16, 0, 0x80, blob, &blen),
			  CKR_ATTRIBUTE_VALUE_INVALID);
	hsmg_card_free(c);
}
END_TEST

START_TEST(key_usage_enforced)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	uint8_t blob[512], param[64], out[256];
	size_t blen, plen = gcm_param(param, "123456789012", 12, "", 0, 128), olen;

	ck_assert_uint_eq(gen_aes(c, nosess, 16, HSMG_KEY_USE_ENCRYPT, 0, blob, &blen), CKR_OK);
	ck_assert_uint_eq(gcm(c, nosess, true, blob, blen, param, plen, "abc", 3, out, &olen),
			  CKR_OK);
	ck_assert_uint_eq(gcm(c, nosess, false, blob, blen, param, plen, out, olen, out, &olen),
			  CKR_KEY_FUNCTION_NOT_PERMITTED);
	hsmg_card_free(c);
}
END_TEST

START_TEST(key_blob_tamper_and_foreign_mk)
{
	struct hsmg_card *a = new_card(mk_a, 1, 0), *a2 = new_card(mk_a, 1, 0),
			 *b = new_card(mk_b, 1, 0);
	uint8_t blob[512];
	size_t blen, i;

	ck_assert_uint_eq(gen_aes(a, nosess, 32, 0, 0, blob, &blen), CKR_OK);
	ck_assert_uint_eq(use_aes(a, nosess, blob, blen), CKR_OK);
	/* same master key: another member of the group uses it */
	ck_assert_uint_eq(use_aes(a2, nosess, blob, blen), CKR_OK);
	/* another master key: refused */
	ck_assert_uint_eq(use_aes(b, nosess, blob, blen), CKR_KEY_HANDLE_INVALID);
	/* any flipped bit anywhere (header/AAD, ciphertext, tag) */
	for (i = 0; i < blen; i++) {
		blob[i] ^= 0x10;
		ck_assert_uint_eq(use_aes(a, nosess, blob, blen), CKR_KEY_HANDLE_INVALID);
		blob[i] ^= 0x10;
	}
	/* truncated and extended */
	ck_assert_uint_eq(use_aes(a, nosess, blob, blen - 1), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(a, nosess, blob, 10), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(a, nosess, blob, 0), CKR_KEY_HANDLE_INVALID);
	blob[blen] = 0;
	ck_assert_uint_eq(use_aes(a, nosess, blob, blen + 1), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(a, nosess, blob, blen), CKR_OK);
	hsmg_card_free(a);
	hsmg_card_free(a2);
	hsmg_card_free(b);
}
END_TEST

/* EC key pair; returns private blob and public point. */
static void gen_ec(struct hsmg_card *c, struct sess s, uint32_t flags, uint8_t *blob, size_t *blen,
		   uint8_t pub[65])
{
	struct hsmg_msg_key_attrs a = {
	    .key_type = CKK_EC, .curve = HSMG_CURVE_P256, .flags = flags};
	struct tlv t[] = {{HSMG_TAG_ATTRS, &a, sizeof(a)}};
	struct hsmg_msg_view v;

	ck_assert_uint_eq(crypto(c, s, HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_EC_KEY_PAIR_GEN, t, 1, &v),
			  CKR_OK);
	*blen = take(&v, HSMG_TAG_OUT_KEY, blob, 512);
	ck_assert_uint_eq(take(&v, HSMG_TAG_OUT_PUBKEY, pub, 65), 65);
	ck_assert_uint_eq(pub[0], 0x04);
}

static CK_RV sign(struct hsmg_card *c, struct sess s, uint64_t mech, const uint8_t *blob,
		  size_t blen, const void *data, size_t len, uint8_t sig[64])
{
	struct tlv t[] = {{HSMG_TAG_KEY, blob, blen}, {HSMG_TAG_DATA, data, len}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(c, s, HSMG_MSG_OP_SIGN, mech, t, 2, &v);

	if (rv == CKR_OK)
		ck_assert_uint_eq(take(&v, HSMG_TAG_OUT_DATA, sig, 64), 64);
	return rv;
}

static CK_RV verify(struct hsmg_card *c, uint64_t mech, uint32_t keytag, const void *key,
		    size_t klen, const void *data, size_t len, const void *sig, size_t slen)
{
	struct tlv t[] = {
	    {keytag, key, klen}, {HSMG_TAG_DATA, data, len}, {HSMG_TAG_SIGNATURE, sig, slen}};

	return crypto(c, nosess, HSMG_MSG_OP_VERIFY, mech, t, 3, NULL);
}

/* Verify r||s over @hash with OpenSSL alone, from the public point. */
static int openssl_verify(const uint8_t pub[65], const uint8_t *hash, size_t hlen,
			  const uint8_t sig[64])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL), *vctx = NULL;
	OSSL_PARAM *params;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	uint8_t der[80], *p = der;
	int dlen, ok = -1;

	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
	dlen = i2d_ECDSA_SIG(es, &p);
	vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (dlen <= 0 || EVP_PKEY_verify_init(vctx) != 1)
		goto out;
	ok = EVP_PKEY_verify(vctx, der, (size_t)dlen, hash, hlen);
out:
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	ECDSA_SIG_free(es);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

START_TEST(ecdsa_sign_verify)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0), *c2 = new_card(mk_a, 1, 0);
	uint8_t blob[512], pub[65], sig[64], hash[32], badpub[65];
	static const char msg[] = "the quick brown fox";
	unsigned int hl;
	size_t blen;

	gen_ec(c, nosess, 0, blob, &blen, pub);
	EVP_Digest(msg, strlen(msg), hash, &hl, EVP_sha256(), NULL);

	/* CKM_ECDSA_SHA256 on data, verified by the card (both key forms), by
	 * another member and by OpenSSL directly */
	ck_assert_uint_eq(sign(c, nosess, CKM_ECDSA_SHA256, blob, blen, msg, strlen(msg), sig),
			  CKR_OK);
	ck_assert_uint_eq(
	    verify(c, CKM_ECDSA_SHA256, HSMG_TAG_PUBKEY, pub, 65, msg, strlen(msg), sig, 64),
	    CKR_OK);
	ck_assert_uint_eq(
	    verify(c2, CKM_ECDSA_SHA256, HSMG_TAG_KEY, blob, blen, msg, strlen(msg), sig, 64),
	    CKR_OK);
	ck_assert_int_eq(openssl_verify(pub, hash, 32, sig), 1);
	/* CKM_ECDSA on the hash: same verification */
	ck_assert_uint_eq(sign(c, nosess, CKM_ECDSA, blob, blen, hash, 32, sig), CKR_OK);
	ck_assert_int_eq(openssl_verify(pub, hash, 32, sig), 1);
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub, 65, hash, 32, sig, 64),
			  CKR_OK);
	ck_assert_uint_eq(
	    verify(c, CKM_ECDSA_SHA256, HSMG_TAG_PUBKEY, pub, 65, msg, strlen(msg), sig, 64),
	    CKR_OK);
	/* wrong data, wrong signature, wrong length */
	ck_assert_uint_eq(
	    verify(c, CKM_ECDSA_SHA256, HSMG_TAG_PUBKEY, pub, 65, "other", 5, sig, 64),
	    CKR_SIGNATURE_INVALID);
	sig[10] ^= 1;
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub, 65, hash, 32, sig, 64),
			  CKR_SIGNATURE_INVALID);
	ck_assert_int_eq(openssl_verify(pub, hash, 32, sig), 0);
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub, 65, hash, 32, sig, 63),
			  CKR_SIGNATURE_LEN_RANGE);
	memset(sig, 0, 64);
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub, 65, hash, 32, sig, 64),
			  CKR_SIGNATURE_INVALID);
	/* a point not on the curve, and a short one */
	memcpy(badpub, pub, 65);
	badpub[64] ^= 1;
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, badpub, 65, hash, 32, sig, 64),
			  CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub, 33, hash, 32, sig, 64),
			  CKR_KEY_HANDLE_INVALID);
	/* EC key in AES-GCM, AES key in ECDSA, unsupported mechanism/curve */
	ck_assert_uint_eq(use_aes(c, nosess, blob, blen), CKR_KEY_TYPE_INCONSISTENT);
	ck_assert_uint_eq(sign(c, nosess, CKM_SHA256_RSA_PKCS, blob, blen, "a", 1, sig),
			  CKR_KEY_TYPE_INCONSISTENT);
	ck_assert_uint_eq(sign(c, nosess, CKM_MD5_RSA_PKCS, blob, blen, "a", 1, sig),
			  CKR_MECHANISM_INVALID);
	{
		struct hsmg_msg_key_attrs a = {.key_type = CKK_EC, .curve = 7};
		struct tlv t[] = {{HSMG_TAG_ATTRS, &a, sizeof(a)}};
		uint8_t aes[512];
		size_t alen;

		ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_GENERATE_KEYPAIR,
					 CKM_EC_KEY_PAIR_GEN, t, 1, NULL),
				  CKR_CURVE_NOT_SUPPORTED);
		ck_assert_uint_eq(gen_aes(c, nosess, 16, 0, 0, aes, &alen), CKR_OK);
		ck_assert_uint_eq(sign(c, nosess, CKM_ECDSA, aes, alen, hash, 32, sig),
				  CKR_KEY_TYPE_INCONSISTENT);
	}
	hsmg_card_free(c);
	hsmg_card_free(c2);
}
END_TEST

START_TEST(pin_blob_groups)
{
	struct hsmg_card *a = new_card(mk_a, 1, 0), *a2 = new_card(mk_a, 1, 0),
			 *b = new_card(mk_b, 1, 0);
	struct sess s1 = {101, HSMG_SESSION_STRICT}, s2 = {102, HSMG_SESSION_STRICT};
	uint8_t pa[32], pa2[32], pb[32], px[32];

	ck_assert_uint_eq(login(a, s1, "1234", NULL, pa), HSMG_BE_OK);
	ck_assert_uint_eq(login(a2, s1, "1234", NULL, pa2), HSMG_BE_OK);
	ck_assert_uint_eq(login(b, s1, "1234", NULL, pb), HSMG_BE_OK);
	ck_assert_mem_eq(pa, pa2, 32);
	ck_assert(memcmp(pa, pb, 32) != 0);
	/* depends on the session and the PIN */
	ck_assert_uint_eq(login(a, s2, "1234", NULL, px), HSMG_BE_OK);
	ck_assert(memcmp(pa, px, 32) != 0);
	ck_assert_uint_eq(login(a2, s1, "12345", NULL, px), HSMG_BE_OK);
	ck_assert(memcmp(pa, px, 32) != 0);
	/* re-login with the same PIN: same blob, still one session */
	ck_assert_uint_eq(login(a, s1, "1234", NULL, px), HSMG_BE_OK);
	ck_assert_mem_eq(pa, px, 32);
	ck_assert_uint_eq(hsmg_card_sessions(a, -1), 2);
	/* VHSM: card-PIN changes the blob, equal across the group */
	s1.flags = HSMG_SESSION_VHSM;
	ck_assert_uint_eq(login(a, s1, "1234", "cardpin-1", pa), HSMG_BE_OK);
	ck_assert_uint_eq(login(a2, s1, "1234", "cardpin-1", pa2), HSMG_BE_OK);
	ck_assert_mem_eq(pa, pa2, 32);
	ck_assert_uint_eq(login(a2, s1, "1234", "cardpin-2", pa2), HSMG_BE_OK);
	ck_assert(memcmp(pa, pa2, 32) != 0);
	hsmg_card_free(a);
	hsmg_card_free(a2);
	hsmg_card_free(b);
}
END_TEST

/*
 * The parsed-key cache: a key opens once and then comes from the cache,
 * its signatures still verify; a changed blob is no hit and is refused; a
 * master key change empties it, so a blob of the old key is refused; the
 * least recently used entry goes first; size 0 turns it off.
 */
static void cache_stats(struct hsmg_card *c, unsigned int entries, uint64_t hits, uint64_t misses)
{
	struct hsmg_card_cache_stats st;

	hsmg_card_key_cache_stats(c, &st);
	ck_assert_uint_eq(st.entries, entries);
	ck_assert_uint_eq(st.hits, hits);
	ck_assert_uint_eq(st.misses, misses);
}

START_TEST(key_cache)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	struct sess s = {21, 0};
	uint8_t ec[3][512], pub[3][65], sig[64], bad[512];
	struct hsmg_card_cache_stats st;
	size_t len[3];
	int i;

	hsmg_card_key_cache_stats(c, &st);
	ck_assert_uint_eq(st.capacity, HSMG_CARD_KEY_CACHE_DEFAULT);
	for (i = 0; i < 3; i++)
		gen_ec(c, s, 0, ec[i], &len[i], pub[i]);
	cache_stats(c, 0, 0, 0); /* generating does not fill it */
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[0], len[0], "12345678", 8, sig), CKR_OK);
		ck_assert_uint_eq(
		    verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub[0], 65, "12345678", 8, sig, 64),
		    CKR_OK);
	}
	cache_stats(c, 1, 2, 1);
	/* one bit of the ciphertext changed: not the cached blob, and refused */
	memcpy(bad, ec[0], len[0]);
	bad[len[0] - 20] ^= 1;
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, bad, len[0], "12345678", 8, sig),
			  CKR_KEY_HANDLE_INVALID);
	cache_stats(c, 1, 2, 2);
	/* a new master key: the blob sealed under the old one no longer opens */
	ck_assert_int_eq(hsmg_card_set_mk(c, mk_b), 0);
	cache_stats(c, 0, 2, 2);
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[0], len[0], "12345678", 8, sig),
			  CKR_KEY_HANDLE_INVALID);
	ck_assert_int_eq(hsmg_card_set_mk(c, mk_a), 0);
	/* two entries: a, b, c, a miss four times and leave c and a */
	ck_assert_int_eq(hsmg_card_set_key_cache(c, 2), 0);
	cache_stats(c, 0, 0, 0);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[i % 3], len[i % 3], "12345678", 8, sig),
				  CKR_OK);
	cache_stats(c, 2, 0, 4);
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[2], len[2], "12345678", 8, sig), CKR_OK);
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[0], len[0], "12345678", 8, sig), CKR_OK);
	cache_stats(c, 2, 2, 4);
	/* b comes back in place of c, the least recently used */
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[1], len[1], "12345678", 8, sig), CKR_OK);
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[0], len[0], "12345678", 8, sig), CKR_OK);
	cache_stats(c, 2, 3, 5);
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub[0], 65, "12345678", 8, sig, 64),
			  CKR_OK);
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[2], len[2], "12345678", 8, sig), CKR_OK);
	cache_stats(c, 2, 3, 6);
	ck_assert_uint_eq(verify(c, CKM_ECDSA, HSMG_TAG_PUBKEY, pub[2], 65, "12345678", 8, sig, 64),
			  CKR_OK);
	/* off */
	ck_assert_int_eq(hsmg_card_set_key_cache(c, HSMG_CARD_KEY_CACHE_MAX + 1), -1);
	ck_assert_int_eq(hsmg_card_set_key_cache(c, 0), 0);
	ck_assert_uint_eq(sign(c, s, CKM_ECDSA, ec[1], len[1], "12345678", 8, sig), CKR_OK);
	hsmg_card_key_cache_stats(c, &st);
	ck_assert_uint_eq(st.capacity, 0);
	cache_stats(c, 0, 0, 0);
	hsmg_card_free(c);
}
END_TEST

START_TEST(strict_binding)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0), *c2 = new_card(mk_a, 1, 0);
	struct sess s1 = {11, HSMG_SESSION_STRICT}, s2 = {12, HSMG_SESSION_STRICT};
	struct sess plain = {13, 0}, pub = {14, HSMG_SESSION_STRICT};
	uint8_t kses[512], ktok[512], kpub[512], ec[512], ecpub[65], sig[64];
	size_t lses, ltok, lpub, lec;

	ck_assert_uint_eq(login(c, s1, "1111", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, s2, "1111", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, plain, "1111", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(gen_aes(c, s1, 16, 0, 0, kses, &lses), CKR_OK);
	ck_assert_uint_eq(gen_aes(c, s1, 16, 0, HSMG_KEY_TOKEN, ktok, &ltok), CKR_OK);
	gen_ec(c, s1, 0, ec, &lec, ecpub);
	/* session key: only its session */
	ck_assert_uint_eq(use_aes(c, s1, kses, lses), CKR_OK);
	ck_assert_uint_eq(sign(c, s1, CKM_ECDSA, ec, lec, "12345678", 8, sig), CKR_OK);
	ck_assert_uint_eq(use_aes(c, s2, kses, lses), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(sign(c, s2, CKM_ECDSA, ec, lec, "12345678", 8, sig),
			  CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(c, plain, kses, lses), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(c, nosess, kses, lses), CKR_USER_NOT_LOGGED_IN);
	ck_assert_uint_eq(use_aes(c, pub, kses, lses), CKR_USER_NOT_LOGGED_IN);
	/* token key: not bound */
	ck_assert_uint_eq(use_aes(c, s2, ktok, ltok), CKR_OK);
	ck_assert_uint_eq(use_aes(c, nosess, ktok, ltok), CKR_OK);
	/* another member works once the session is logged in there too */
	ck_assert_uint_eq(use_aes(c2, s1, kses, lses), CKR_USER_NOT_LOGGED_IN);
	ck_assert_uint_eq(login(c2, s1, "1111", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(use_aes(c2, s1, kses, lses), CKR_OK);
	/* ... with the same PIN only */
	ck_assert_uint_eq(login(c2, s1, "2222", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(use_aes(c2, s1, kses, lses), CKR_KEY_HANDLE_INVALID);
	/* after logout the key is dead */
	ck_assert_uint_eq(logout_q(c, 0, s1), HSMG_BE_OK);
	ck_assert_uint_eq(use_aes(c, s1, kses, lses), CKR_USER_NOT_LOGGED_IN);
	ck_assert_uint_eq(login(c, s1, "1111", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(use_aes(c, s1, kses, lses), CKR_OK);
	/* public strict session: nothing bound (EP11) */
	ck_assert_uint_eq(gen_aes(c, pub, 16, 0, 0, kpub, &lpub), CKR_OK);
	ck_assert_uint_eq(use_aes(c, s2, kpub, lpub), CKR_OK);
	/* SO session: nothing bound */
	{
		struct sess so = {15, HSMG_SESSION_STRICT};
		uint8_t kso[512];
		size_t lso;

		ck_assert_uint_eq(login_q(c, 0, so, HSMG_LOGIN_SO, "so-pin", NULL, NULL),
				  HSMG_BE_OK);
		ck_assert_uint_eq(gen_aes(c, so, 16, 0, 0, kso, &lso), CKR_OK);
		ck_assert_uint_eq(use_aes(c, s2, kso, lso), CKR_OK);
	}
	hsmg_card_free(c);
	hsmg_card_free(c2);
}
END_TEST

START_TEST(vhsm_binding)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	struct sess v1 = {21, HSMG_SESSION_VHSM}, v2 = {22, HSMG_SESSION_VHSM};
	struct sess other = {23, HSMG_SESSION_VHSM}, plain = {24, 0};
	struct sess both1 = {25, HSMG_SESSION_VHSM | HSMG_SESSION_STRICT};
	struct sess both2 = {26, HSMG_SESSION_VHSM | HSMG_SESSION_STRICT};
	uint8_t ktok[512], kses[512], kb_ses[512], kb_tok[512];
	size_t ltok, lses, lb_ses, lb_tok;

	/* VHSM user login needs a card-PIN */
	ck_assert_uint_eq(login(c, v1, "1111", NULL, NULL), HSMG_BE_BADREQ);
	ck_assert_uint_eq(login(c, v1, "1111", "cardpin-A", NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, v2, "2222", "cardpin-A", NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, other, "1111", "cardpin-B", NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, plain, "1111", NULL, NULL), HSMG_BE_OK);
	/* VHSM alone: token and session keys bound to the card-PIN, not the
	 * session: any session of the same token (card-PIN) may use them */
	ck_assert_uint_eq(gen_aes(c, v1, 16, 0, HSMG_KEY_TOKEN, ktok, &ltok), CKR_OK);
	ck_assert_uint_eq(gen_aes(c, v1, 16, 0, 0, kses, &lses), CKR_OK);
	ck_assert_uint_eq(use_aes(c, v1, ktok, ltok), CKR_OK);
	ck_assert_uint_eq(use_aes(c, v2, ktok, ltok), CKR_OK);
	ck_assert_uint_eq(use_aes(c, v2, kses, lses), CKR_OK);
	ck_assert_uint_eq(use_aes(c, other, ktok, ltok), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(c, other, kses, lses), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(c, plain, ktok, ltok), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(c, nosess, ktok, ltok), CKR_USER_NOT_LOGGED_IN);
	/* strict + VHSM: session keys bound to session and card-PIN, token keys
	 * to the card-PIN only (reference 003 table) */
	ck_assert_uint_eq(login(c, both1, "1111", "cardpin-A", NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, both2, "1111", "cardpin-A", NULL), HSMG_BE_OK);
	ck_assert_uint_eq(gen_aes(c, both1, 16, 0, 0, kb_ses, &lb_ses), CKR_OK);
	ck_assert_uint_eq(gen_aes(c, both1, 16, 0, HSMG_KEY_TOKEN, kb_tok, &lb_tok), CKR_OK);
	ck_assert_uint_eq(use_aes(c, both1, kb_ses, lb_ses), CKR_OK);
	ck_assert_uint_eq(use_aes(c, both2, kb_ses, lb_ses), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(c, v1, kb_ses, lb_ses), CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(use_aes(c, both2, kb_tok, lb_tok), CKR_OK);
	ck_assert_uint_eq(use_aes(c, v2, kb_tok, lb_tok), CKR_OK);
	ck_assert_uint_eq(use_aes(c, other, kb_tok, lb_tok), CKR_KEY_HANDLE_INVALID);
	hsmg_card_free(c);
}
END_TEST

/* Multi-part digest helper: returns rv, new state in @st/@stlen. */
static CK_RV dpart(struct hsmg_card *c, struct sess s, uint32_t op, uint64_t mech, uint8_t *st,
		   size_t *stlen, const void *data, size_t len, bool has_data, uint8_t *md,
		   size_t *mdlen)
{
	struct tlv t[2] = {{0}};
	size_t nt = 0;
	struct hsmg_msg_view v;
	CK_RV rv;

	if (op != HSMG_MSG_OP_DIGEST_INIT)
		t[nt++] = (struct tlv){HSMG_TAG_STATE, st, *stlen};
	if (has_data)
		t[nt++] = (struct tlv){HSMG_TAG_DATA, data, len};
	rv = crypto(c, s, op, mech, t, nt, &v);
	if (rv != CKR_OK)
		return rv;
	if (op == HSMG_MSG_OP_DIGEST_FINAL)
		*mdlen = take(&v, HSMG_TAG_OUT_DATA, md, 64);
	else
		*stlen = take(&v, HSMG_TAG_OUT_STATE, st, 1024);
	return rv;
}

START_TEST(digest_multipart)
{
	static const struct {
		uint64_t mech;
		const char *name;
	} algs[] = {{CKM_SHA_1, "SHA1"},
		    {CKM_SHA224, "SHA224"},
		    {CKM_SHA256, "SHA256"},
		    {CKM_SHA384, "SHA384"},
		    {CKM_SHA512, "SHA512"}};
	static const size_t splits[] = {1, 63, 64, 65, 127, 0, 128, 129, 1000, 3, 4096};
	struct hsmg_card *c = new_card(mk_a, 1, 0), *c2 = new_card(mk_a, 1, 0);
	struct sess s = {31, 0};
	uint8_t data[8000], st[1024], md[64], one[64], ref[64];
	size_t stlen = 0, mdlen = 0, onelen, off, i, k;
	unsigned int reflen;
	struct hsmg_msg_view v;

	RAND_bytes(data, sizeof(data));
	for (k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		struct tlv t[] = {{HSMG_TAG_DATA, data, sizeof(data)}};

		ck_assert_uint_eq(crypto(c, s, HSMG_MSG_OP_DIGEST, algs[k].mech, t, 1, &v), CKR_OK);
		onelen = take(&v, HSMG_TAG_OUT_DATA, one, sizeof(one));
		EVP_Digest(data, sizeof(data), ref, &reflen, EVP_get_digestbyname(algs[k].name),
			   NULL);
		ck_assert_uint_eq(onelen, reflen);
		ck_assert_mem_eq(one, ref, reflen);

		ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_INIT, algs[k].mech, st, &stlen,
					NULL, 0, false, NULL, NULL),
				  CKR_OK);
		/* odd splits, alternating between two members of the group */
		for (off = 0, i = 0; off < sizeof(data) - 100; i++) {
			size_t n = splits[i % (sizeof(splits) / sizeof(splits[0]))];

			if (n > sizeof(data) - 100 - off)
				n = sizeof(data) - 100 - off;
			ck_assert_uint_eq(dpart(i % 2 ? c2 : c, s, HSMG_MSG_OP_DIGEST_UPDATE,
						algs[k].mech, st, &stlen, data + off, n, true, NULL,
						NULL),
					  CKR_OK);
			off += n;
		}
		/* the last 100 bytes go with FINAL */
		ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_FINAL, algs[k].mech, st, &stlen,
					data + off, 100, true, md, &mdlen),
				  CKR_OK);
		ck_assert_uint_eq(mdlen, reflen);
		ck_assert_mem_eq(md, ref, reflen);
	}
	/* empty message: INIT then FINAL */
	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_INIT, CKM_SHA256, st, &stlen, NULL, 0,
				false, NULL, NULL),
			  CKR_OK);
	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, st, &stlen, NULL, 0,
				false, md, &mdlen),
			  CKR_OK);
	EVP_Digest("", 0, ref, &reflen, EVP_sha256(), NULL);
	ck_assert_mem_eq(md, ref, 32);
	ck_assert_uint_eq(
	    dpart(c, s, HSMG_MSG_OP_DIGEST_INIT, CKM_MD5, st, &stlen, NULL, 0, false, NULL, NULL),
	    CKR_MECHANISM_INVALID);
	hsmg_card_free(c);
	hsmg_card_free(c2);
}
END_TEST

START_TEST(digest_state_refused)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0), *b = new_card(mk_b, 1, 0);
	struct sess s = {41, 0}, s2 = {42, 0};
	uint8_t st[1024], md[64];
	size_t stlen = 0, mdlen, i, good;

	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_INIT, CKM_SHA256, st, &stlen, NULL, 0,
				false, NULL, NULL),
			  CKR_OK);
	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_UPDATE, CKM_SHA256, st, &stlen, "abc", 3,
				true, NULL, NULL),
			  CKR_OK);
	good = stlen;
	/* every flipped byte is refused */
	for (i = 0; i < good; i++) {
		size_t l = good;

		st[i] ^= 0x01;
		ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, st, &l, NULL, 0,
					false, md, &mdlen),
				  CKR_SAVED_STATE_INVALID);
		st[i] ^= 0x01;
	}
	stlen = good - 1;
	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, st, &stlen, NULL, 0,
				false, md, &mdlen),
			  CKR_SAVED_STATE_INVALID);
	stlen = good;
	/* other master key, other session, other mechanism */
	ck_assert_uint_eq(dpart(b, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, st, &stlen, NULL, 0,
				false, md, &mdlen),
			  CKR_SAVED_STATE_INVALID);
	ck_assert_uint_eq(dpart(c, s2, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, st, &stlen, NULL, 0,
				false, md, &mdlen),
			  CKR_SAVED_STATE_INVALID);
	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA224, st, &stlen, NULL, 0,
				false, md, &mdlen),
			  CKR_SAVED_STATE_INVALID);
	/* a key blob is not a state */
	{
		uint8_t blob[512];
		size_t blen;

		ck_assert_uint_eq(gen_aes(c, nosess, 16, 0, 0, blob, &blen), CKR_OK);
		ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, blob, &blen,
					NULL, 0, false, md, &mdlen),
				  CKR_SAVED_STATE_INVALID);
	}
	/* UPDATE without data, FINAL without state */
	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_UPDATE, CKM_SHA256, st, &stlen, NULL, 0,
				false, NULL, NULL),
			  CKR_ARGUMENTS_BAD);
	ck_assert_uint_eq(crypto(c, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, NULL, 0, NULL),
			  CKR_ARGUMENTS_BAD);
	/* the untouched state still works */
	ck_assert_uint_eq(dpart(c, s, HSMG_MSG_OP_DIGEST_FINAL, CKM_SHA256, st, &stlen, NULL, 0,
				false, md, &mdlen),
			  CKR_OK);
	hsmg_card_free(c);
	hsmg_card_free(b);
}
END_TEST

/* ---- authentication records ---- */

#define H32 "0123456789abcdef0123456789abcdef" /* a 32-byte hash to sign */

/* A new record for @pin of @token/@user, made in session @s. */
/* The token id in the head of record @rec. */
#define REC_TOKEN(rec) ((rec) + 8)

/* A new record for @pin of @user, made in session @s, asking for token
 * @token (NULL: none; the card keeps a token only for its own sessions). */
static CK_RV auth_record(struct hsmg_card *c, struct sess s, uint32_t user, const uint8_t *token,
			 const char *pin, uint8_t rec[HSMG_MSG_AUTH_RECORD_LEN])
{
	struct hsmg_msg_auth_param p = {.user = user};
	struct tlv t[] = {{HSMG_TAG_PARAM, &p, sizeof(p)}, {HSMG_TAG_DATA, pin, strlen(pin)}};
	struct hsmg_msg_view v;
	CK_RV rv;

	if (token)
		memcpy(p.token, token, sizeof(p.token));
	rv = crypto(c, s, HSMG_MSG_OP_AUTH_RECORD, 0, t, 2, &v);
	if (rv == CKR_OK)
		ck_assert_uint_eq(take(&v, HSMG_TAG_OUT_DATA, rec, HSMG_MSG_AUTH_RECORD_LEN),
				  HSMG_MSG_AUTH_RECORD_LEN);
	return rv;
}

/* Log @s in (SO with @flags) with @pin and record @rec: the BE status. */
static uint32_t login_rec(struct hsmg_card *c, struct sess s, uint32_t flags, const char *pin,
			  const uint8_t *rec, uint32_t rec_len)
{
	uint8_t p[sizeof(struct hsmg_be_login) + HSMG_MAX_PIN_LEN + HSMG_AUTH_RECORD_MAX];
	struct hsmg_be_login lg = {.flags = flags};

	lg.pin_len = (uint32_t)strlen(pin);
	lg.record_len = rec_len;
	memcpy(p, &lg, sizeof(lg));
	memcpy(p + sizeof(lg), pin, lg.pin_len);
	memcpy(p + sizeof(lg) + lg.pin_len, rec, rec_len);
	return raw(c, 0, HSMG_BE_REQ_LOGIN, s, p, (uint32_t)(sizeof(lg) + lg.pin_len + rec_len),
		   NULL);
}

/*
 * An attacker's token: an SO record (asking for token @ask, or none), the
 * SO logs in in @att and sets a user PIN of their choice, the user logs
 * in; then a signature with the victim's @blob.  The CK_RV of the sign.
 */
static CK_RV attacker_sign(struct hsmg_card *c, struct sess att, const uint8_t *ask,
			   const uint8_t *blob, size_t blen)
{
	uint8_t r_so[HSMG_MSG_AUTH_RECORD_LEN], r_user[HSMG_MSG_AUTH_RECORD_LEN], sig[64];
	CK_RV rv;

	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_SO, ask, "mine", r_so), CKR_OK);
	if (ask)
		ck_assert(memcmp(REC_TOKEN(r_so), ask, 16) != 0);
	ck_assert_uint_eq(login_rec(c, att, HSMG_LOGIN_SO, "mine", r_so, sizeof(r_so)), HSMG_BE_OK);
	ck_assert_uint_eq(auth_record(c, att, HSMG_AUTH_USER, REC_TOKEN(r_so), "222222", r_user),
			  CKR_OK);
	ck_assert_uint_eq(logout_q(c, 0, att), HSMG_BE_OK);
	ck_assert_uint_eq(login_rec(c, att, 0, "222222", r_user, sizeof(r_user)), HSMG_BE_OK);
	rv = sign(c, att, CKM_ECDSA, blob, blen, H32, 32, sig);
	ck_assert_uint_eq(logout_q(c, 0, att), HSMG_BE_OK);
	return rv;
}

/*
 * The attack on the card: keys made in a user's session work only
 * in sessions logged in with that token's user PIN.  Another token's
 * records, a record made anew for the victim's token id, an edited record,
 * a public or SO session: none of them uses the key.  Its public part
 * stays readable without login.
 */
START_TEST(auth_records_bind_keys)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0), *b = new_card(mk_b, 1, 0);
	struct sess so = {101, 0}, user = {102, 0}, pub = {103, 0}, att = {104, 0};
	uint8_t r_so[HSMG_MSG_AUTH_RECORD_LEN], r_user[HSMG_MSG_AUTH_RECORD_LEN],
	    r_att[HSMG_MSG_AUTH_RECORD_LEN], bad[HSMG_MSG_AUTH_RECORD_LEN], blob[512],
	    open_blob[512], pubpt[65], sig[64];
	size_t blen, oblen;
	uint8_t tok[16];
	struct hsmg_auth_record_hdr h;
	struct tlv t[1];

	/* C_InitToken, C_Login(SO), C_InitPIN, C_Login(USER) */
	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_SO, NULL, "so-pin", r_so), CKR_OK);
	memcpy(&h, r_so, sizeof(h));
	ck_assert_uint_eq(h.magic, HSMG_AUTH_RECORD_MAGIC);
	ck_assert_uint_eq(h.user, HSMG_AUTH_SO);
	memcpy(tok, h.token, sizeof(tok));

	ck_assert_uint_eq(login_rec(c, so, HSMG_LOGIN_SO, "so-pin", r_so, sizeof(r_so)),
			  HSMG_BE_OK);
	ck_assert_uint_eq(auth_record(c, so, HSMG_AUTH_USER, tok, "111111", r_user), CKR_OK);
	ck_assert_uint_eq(login_rec(c, user, 0, "111111", r_user, sizeof(r_user)), HSMG_BE_OK);
	/* the SO record is no user record, nor the reverse */
	ck_assert_uint_eq(login_rec(c, pub, 0, "so-pin", r_so, sizeof(r_so)), HSMG_BE_BADREQ);

	gen_ec(c, user, HSMG_KEY_TOKEN, blob, &blen, pubpt);
	gen_ec(c, user, HSMG_KEY_TOKEN | HSMG_KEY_PUBLIC, open_blob, &oblen, pubpt);
	ck_assert_uint_eq(sign(c, user, CKM_ECDSA, blob, blen, H32, 32, sig), CKR_OK);
	ck_assert_uint_eq(sign(c, pub, CKM_ECDSA, blob, blen, H32, 32, sig),
			  CKR_USER_NOT_LOGGED_IN);
	ck_assert_uint_eq(sign(c, so, CKM_ECDSA, blob, blen, H32, 32, sig), CKR_USER_NOT_LOGGED_IN);
	/* a key the application made public works without login */
	ck_assert_uint_eq(sign(c, pub, CKM_ECDSA, open_blob, oblen, H32, 32, sig), CKR_OK);
	/* the public part of the bound key needs no login */
	t[0] = (struct tlv){HSMG_TAG_KEY, blob, blen};
	ck_assert_uint_eq(crypto(c, pub, HSMG_MSG_OP_EXPORT_PUBKEY, 0, t, 1, NULL), CKR_OK);

	/* the attacker's own token, with a PIN they chose */
	ck_assert_uint_eq(attacker_sign(c, att, NULL, blob, blen), CKR_KEY_HANDLE_INVALID);
	/* its SO record asked for the victim's token id: a new secret, and the
	 * new id the card derives from it */
	ck_assert_uint_eq(attacker_sign(c, att, tok, blob, blen), CKR_KEY_HANDLE_INVALID);
	/* a user record made without login: a new secret, no use either */
	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_USER, tok, "222222", r_att), CKR_OK);
	ck_assert_uint_eq(login_rec(c, att, 0, "222222", r_att, sizeof(r_att)), HSMG_BE_OK);
	ck_assert_uint_eq(sign(c, att, CKM_ECDSA, blob, blen, H32, 32, sig),
			  CKR_KEY_HANDLE_INVALID);
	ck_assert_uint_eq(logout_q(c, 0, att), HSMG_BE_OK);
	/* a plain login (no record) proves nothing */
	ck_assert_uint_eq(login(c, att, "111111", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(sign(c, att, CKM_ECDSA, blob, blen, H32, 32, sig),
			  CKR_USER_NOT_LOGGED_IN);
	ck_assert_uint_eq(logout_q(c, 0, att), HSMG_BE_OK);

	/* edited records, another group's record: refused, no PIN tried */
	memcpy(bad, r_user, sizeof(bad));
	bad[sizeof(h) + 20] ^= 1;
	ck_assert_uint_eq(login_rec(c, att, 0, "111111", bad, sizeof(bad)), HSMG_BE_BADREQ);
	memcpy(bad, r_user, sizeof(bad));
	bad[8] ^= 1; /* the token id in the head */
	ck_assert_uint_eq(login_rec(c, att, 0, "111111", bad, sizeof(bad)), HSMG_BE_BADREQ);
	ck_assert_uint_eq(login_rec(c, att, 0, "111111", r_user, sizeof(r_user) - 1),
			  HSMG_BE_BADREQ);
	ck_assert_uint_eq(login_rec(b, att, 0, "111111", r_user, sizeof(r_user)), HSMG_BE_BADREQ);
	ck_assert_uint_eq(hsmg_card_pin_failures(c, r_user + 8, HSMG_AUTH_USER), 0);
	/* a second card of the group: same record, same key */
	{
		struct hsmg_card *c2 = new_card(mk_a, 1, 0);

		ck_assert_uint_eq(login_rec(c2, user, 0, "111111", r_user, sizeof(r_user)),
				  HSMG_BE_OK);
		ck_assert_uint_eq(sign(c2, user, CKM_ECDSA, blob, blen, H32, 32, sig), CKR_OK);
		hsmg_card_free(c2);
	}
	hsmg_card_free(c);
	hsmg_card_free(b);
}
END_TEST

/* Migration: a blob from before records is bound to the user's secret;
 * only a user's session may do it, public and bound keys stay as they are. */
START_TEST(auth_rebind)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	struct sess user = {301, 0}, other = {302, 0}, pub = {303, 0};
	uint8_t r_user[HSMG_MSG_AUTH_RECORD_LEN], r_other[HSMG_MSG_AUTH_RECORD_LEN], old[512],
	    openk[512], bound[512], again[512], pubpt[65], sig[64];
	size_t olen, oplen, blen, alen;
	struct hsmg_msg_view v;

	gen_ec(c, nosess, HSMG_KEY_TOKEN, old, &olen, pubpt); /* as before records */
	gen_ec(c, nosess, HSMG_KEY_TOKEN | HSMG_KEY_PUBLIC, openk, &oplen, pubpt);
	ck_assert_uint_eq(sign(c, pub, CKM_ECDSA, old, olen, H32, 32, sig), CKR_OK);
	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_USER, NULL, "111111", r_user), CKR_OK);
	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_USER, NULL, "222222", r_other), CKR_OK);
	{
		struct tlv t[] = {{HSMG_TAG_KEY, old, olen}};

		ck_assert_uint_eq(crypto(c, pub, HSMG_MSG_OP_REBIND, 0, t, 1, NULL),
				  CKR_USER_NOT_LOGGED_IN);
		ck_assert_uint_eq(login_rec(c, user, 0, "111111", r_user, sizeof(r_user)),
				  HSMG_BE_OK);
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_REBIND, 0, t, 1, &v), CKR_OK);
		blen = take(&v, HSMG_TAG_OUT_KEY, bound, sizeof(bound));
		ck_assert_uint_gt(blen, 0);
	}
	ck_assert_uint_eq(sign(c, user, CKM_ECDSA, bound, blen, H32, 32, sig), CKR_OK);
	ck_assert_uint_eq(sign(c, pub, CKM_ECDSA, bound, blen, H32, 32, sig),
			  CKR_USER_NOT_LOGGED_IN);
	{
		struct tlv t[] = {{HSMG_TAG_KEY, bound, blen}},
			   t2[] = {{HSMG_TAG_KEY, openk, oplen}};

		/* idempotent for its user, refused for another, public keys stay */
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_REBIND, 0, t, 1, &v), CKR_OK);
		alen = take(&v, HSMG_TAG_OUT_KEY, again, sizeof(again));
		ck_assert_uint_eq(alen, blen);
		ck_assert_mem_eq(again, bound, blen);
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_REBIND, 0, t2, 1, NULL),
				  CKR_KEY_HANDLE_INVALID);
		ck_assert_uint_eq(login_rec(c, other, 0, "222222", r_other, sizeof(r_other)),
				  HSMG_BE_OK);
		ck_assert_uint_eq(crypto(c, other, HSMG_MSG_OP_REBIND, 0, t, 1, NULL),
				  CKR_KEY_HANDLE_INVALID);
	}
	ck_assert_uint_eq(sign(c, other, CKM_ECDSA, bound, blen, H32, 32, sig),
			  CKR_KEY_HANDLE_INVALID);
	hsmg_card_free(c);
}
END_TEST

/* VHSM card-PIN: sealed and opened by the card, for the token's user only;
 * the SO's new user PIN keeps it. */
START_TEST(auth_cardpin)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	struct sess so = {401, 0}, user = {402, 0}, other = {403, 0}, pub = {404, 0};
	uint8_t r_so[HSMG_MSG_AUTH_RECORD_LEN], r_user[HSMG_MSG_AUTH_RECORD_LEN],
	    r_other[HSMG_MSG_AUTH_RECORD_LEN], sealed[64], out[32];
	uint32_t seal = HSMG_CARDPIN_SEAL, open = HSMG_CARDPIN_OPEN;
	struct hsmg_msg_view v;
	size_t n;

	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_SO, NULL, "so-pin", r_so), CKR_OK);
	ck_assert_uint_eq(login_rec(c, so, HSMG_LOGIN_SO, "so-pin", r_so, sizeof(r_so)),
			  HSMG_BE_OK);
	ck_assert_uint_eq(auth_record(c, so, HSMG_AUTH_USER, REC_TOKEN(r_so), "111111", r_user),
			  CKR_OK);
	ck_assert_uint_eq(login_rec(c, user, 0, "111111", r_user, sizeof(r_user)), HSMG_BE_OK);
	{
		struct tlv t[] = {{HSMG_TAG_PARAM, &seal, 4}, {HSMG_TAG_DATA, "cardpin-0001", 12}};

		ck_assert_uint_eq(crypto(c, pub, HSMG_MSG_OP_CARDPIN, 0, t, 2, NULL),
				  CKR_USER_NOT_LOGGED_IN);
		ck_assert_uint_eq(crypto(c, so, HSMG_MSG_OP_CARDPIN, 0, t, 2, NULL),
				  CKR_USER_NOT_LOGGED_IN);
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_CARDPIN, 0, t, 2, &v), CKR_OK);
		ck_assert_uint_eq(take(&v, HSMG_TAG_OUT_DATA, sealed, sizeof(sealed)),
				  HSMG_MSG_CARDPIN_SEALED_LEN);
		t[1].len = 7;
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_CARDPIN, 0, t, 2, NULL),
				  CKR_DATA_LEN_RANGE);
	}
	{
		struct tlv t[] = {{HSMG_TAG_PARAM, &open, 4},
				  {HSMG_TAG_DATA, sealed, HSMG_MSG_CARDPIN_SEALED_LEN}};

		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_CARDPIN, 0, t, 2, &v), CKR_OK);
		n = take(&v, HSMG_TAG_OUT_DATA, out, sizeof(out));
		ck_assert_uint_eq(n, 12);
		ck_assert_mem_eq(out, "cardpin-0001", 12);
		/* another token's user: not theirs */
		ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_USER, NULL, "222222", r_other),
				  CKR_OK);
		ck_assert_uint_eq(login_rec(c, other, 0, "222222", r_other, sizeof(r_other)),
				  HSMG_BE_OK);
		ck_assert_uint_eq(crypto(c, other, HSMG_MSG_OP_CARDPIN, 0, t, 2, NULL),
				  CKR_ENCRYPTED_DATA_INVALID);
		sealed[20] ^= 1;
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_CARDPIN, 0, t, 2, NULL),
				  CKR_ENCRYPTED_DATA_INVALID);
		sealed[20] ^= 1;
		/* the SO's new user PIN keeps the token's secret: still opens */
		ck_assert_uint_eq(
		    auth_record(c, so, HSMG_AUTH_USER, REC_TOKEN(r_so), "333333", r_user), CKR_OK);
		ck_assert_uint_eq(logout_q(c, 0, user), HSMG_BE_OK);
		ck_assert_uint_eq(login_rec(c, user, 0, "333333", r_user, sizeof(r_user)),
				  HSMG_BE_OK);
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_CARDPIN, 0, t, 2, NULL), CKR_OK);
		t[1].len = 44;
		ck_assert_uint_eq(crypto(c, user, HSMG_MSG_OP_CARDPIN, 0, t, 2, NULL),
				  CKR_DATA_LEN_RANGE);
	}
	hsmg_card_free(c);
}
END_TEST

/*
 * Wrong PINs are counted by the card, per token and user; at the maximum
 * even the right PIN is refused until the SO sets a new user PIN; the
 * count is kept in the card's file across restarts.
 */
START_TEST(auth_lockout)
{
	char path[] = "/tmp/hsmg-pinc-XXXXXX";
	struct hsmg_card *c = new_card(mk_a, 1, 0), *c2;
	struct sess so = {201, 0}, user = {202, 0};
	uint8_t r_so[HSMG_MSG_AUTH_RECORD_LEN], r_user[HSMG_MSG_AUTH_RECORD_LEN], tok[16];
	struct stat st;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	ck_assert_int_eq(hsmg_card_set_pin_policy(c, 0, NULL), -1);
	ck_assert_int_eq(hsmg_card_set_pin_policy(c, 3, path), 0);
	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_SO, NULL, "so-pin", r_so), CKR_OK);
	memcpy(tok, REC_TOKEN(r_so), sizeof(tok));
	ck_assert_uint_eq(login_rec(c, so, HSMG_LOGIN_SO, "so-pin", r_so, sizeof(r_so)),
			  HSMG_BE_OK);
	ck_assert_uint_eq(auth_record(c, so, HSMG_AUTH_USER, tok, "111111", r_user), CKR_OK);

	ck_assert_uint_eq(login_rec(c, user, 0, "111112", r_user, sizeof(r_user)),
			  HSMG_BE_PIN_INCORRECT);
	ck_assert_uint_eq(login_rec(c, user, 0, "", r_user, sizeof(r_user)), HSMG_BE_BADREQ);
	ck_assert_uint_eq(login_rec(c, user, 0, "11111", r_user, sizeof(r_user)),
			  HSMG_BE_PIN_INCORRECT);
	ck_assert_uint_eq(hsmg_card_pin_failures(c, tok, HSMG_AUTH_USER), 2);
	ck_assert_uint_eq(hsmg_card_pin_failures(c, tok, HSMG_AUTH_SO), 0);
	/* kept across a restart of the card, in a file only its owner reads */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	c2 = new_card(mk_a, 1, 0);
	ck_assert_int_eq(hsmg_card_set_pin_policy(c2, 3, path), 0);
	ck_assert_uint_eq(hsmg_card_pin_failures(c2, tok, HSMG_AUTH_USER), 2);
	ck_assert_uint_eq(login_rec(c2, user, 0, "000000", r_user, sizeof(r_user)),
			  HSMG_BE_PIN_INCORRECT);
	ck_assert_uint_eq(login_rec(c2, user, 0, "111111", r_user, sizeof(r_user)),
			  HSMG_BE_PIN_LOCKED);
	hsmg_card_free(c2);
	ck_assert_int_eq(hsmg_card_set_pin_policy(c, 3, path), 0); /* reread */
	ck_assert_uint_eq(login_rec(c, user, 0, "111111", r_user, sizeof(r_user)),
			  HSMG_BE_PIN_LOCKED);
	/* the SO sets a new user PIN: unlocked, the old keys stay usable */
	ck_assert_uint_eq(auth_record(c, so, HSMG_AUTH_USER, tok, "333333", r_user), CKR_OK);
	ck_assert_uint_eq(hsmg_card_pin_failures(c, tok, HSMG_AUTH_USER), 0);
	ck_assert_uint_eq(login_rec(c, user, 0, "333333", r_user, sizeof(r_user)), HSMG_BE_OK);
	/* a new SO record for the token id does not reset the SO's count */
	ck_assert_uint_eq(logout_q(c, 0, so), HSMG_BE_OK);
	ck_assert_uint_eq(login_rec(c, so, HSMG_LOGIN_SO, "wrong", r_so, sizeof(r_so)),
			  HSMG_BE_PIN_INCORRECT);
	ck_assert_uint_eq(auth_record(c, nosess, HSMG_AUTH_SO, tok, "x", r_user), CKR_OK);
	ck_assert_uint_eq(hsmg_card_pin_failures(c, tok, HSMG_AUTH_SO), 1);
	/* a file that is not a count: refused, nothing changed */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "garbage!", 8), 8);
	close(fd);
	ck_assert_int_eq(hsmg_card_set_pin_policy(c, 3, path), -1);
	ck_assert_uint_eq(hsmg_card_pin_failures(c, tok, HSMG_AUTH_SO), 1);
	unlink(path);
	hsmg_card_free(c);
}
END_TEST

/* A backend that leaves out SHA-256 and AES-GCM: OpenSSL's, with a
 * shorter mechanism list (as a vendor token without them would be). */
static size_t fewer_mechanisms(void *bs, uint64_t *types, size_t max)
{
	size_t i, k = 0, n = hsmg_card_backend_openssl.mechanisms(bs, types, max);

	for (i = 0; i < n && i < max; i++)
		if (types[i] != CKM_SHA256 && types[i] != CKM_AES_GCM)
			types[k++] = types[i];
	return k;
}

START_TEST(backend_mechanisms)
{
	struct hsmg_card_backend fewer = hsmg_card_backend_openssl;
	struct hsmg_card *full = new_card(mk_a, 1, 0), *c;
	uint64_t types[128];
	uint8_t blob[512], param[256], ct[64], msg[16] = "sixteen bytes!!";
	size_t n, blen, plen, clen, i;
	struct tlv t[] = {{HSMG_TAG_DATA, msg, sizeof(msg)}};

	/* OpenSSL does the whole table */
	n = hsmg_card_mechanisms(full, types, 128);
	ck_assert_uint_eq(n, hsmg_mech_count());
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(types[i], hsmg_mech_at(i)->type);
	ck_assert_uint_eq(hsmg_card_mechanisms(full, types, 3), n);

	fewer.mechanisms = fewer_mechanisms;
	c = hsmg_card_new_backend(&fewer, NULL, mk_a, 1, 0);
	ck_assert_ptr_nonnull(c);
	n = hsmg_card_mechanisms(c, types, 128);
	ck_assert_uint_eq(n, hsmg_mech_count() - 2);
	for (i = 0; i < n; i++)
		ck_assert(types[i] != CKM_SHA256 && types[i] != CKM_AES_GCM);
	/* the core refuses what the backend left out, and only that */
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_DIGEST, CKM_SHA256, t, 1, NULL),
			  CKR_MECHANISM_INVALID);
	ck_assert_uint_eq(crypto(full, nosess, HSMG_MSG_OP_DIGEST, CKM_SHA256, t, 1, NULL), CKR_OK);
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_DIGEST, CKM_SHA384, t, 1, NULL), CKR_OK);
	ck_assert_uint_eq(gen_aes(c, nosess, 32, 0, 0, blob, &blen), CKR_OK);
	plen = gcm_param(param, "iv-iv-iv-iv!", 12, "", 0, 128);
	ck_assert_uint_eq(
	    gcm(c, nosess, true, blob, blen, param, plen, msg, sizeof(msg), ct, &clen),
	    CKR_MECHANISM_INVALID);
	/* the same blob on the full card of the group */
	ck_assert_uint_eq(
	    gcm(full, nosess, true, blob, blen, param, plen, msg, sizeof(msg), ct, &clen), CKR_OK);
	hsmg_card_free(c);
	hsmg_card_free(full);
}
END_TEST

START_TEST(session_quota)
{
	struct hsmg_card *c = new_card(mk_a, 2, 2);
	struct sess s1 = {1, 0}, s2 = {2, 0}, s3 = {3, 0};
	uint64_t ids[8];

	ck_assert_uint_eq(hsmg_card_quota(c), 2);
	ck_assert_uint_eq(login(c, s1, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, s2, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, s3, "p", NULL, NULL), HSMG_BE_QUOTA);
	/* re-login of a live session does not count again */
	ck_assert_uint_eq(login(c, s1, "p", NULL, NULL), HSMG_BE_OK);
	/* the quota is per queue */
	ck_assert_uint_eq(login_q(c, 1, s3, 0, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login_q(c, 1, s1, 0, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 3);
	ck_assert_uint_eq(hsmg_card_sessions(c, 0), 2);
	ck_assert_uint_eq(hsmg_card_sessions(c, 1), 2);
	ck_assert_uint_eq(hsmg_card_sessions(c, 5), 0);
	ck_assert_uint_eq(hsmg_card_session_ids(c, ids, 8), 3);
	/* logout frees a slot; logout of unknown sessions succeeds */
	ck_assert_uint_eq(logout_q(c, 0, s2), HSMG_BE_OK);
	ck_assert_uint_eq(logout_q(c, 0, s2), HSMG_BE_OK);
	ck_assert_uint_eq(logout_q(c, 0, (struct sess){999, 0}), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, s3, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 2); /* s1, s3 */
	/* quota changes at run time; 0 = unlimited */
	hsmg_card_set_quota(c, 0);
	ck_assert_uint_eq(login(c, s2, "p", NULL, NULL), HSMG_BE_OK);
	hsmg_card_set_quota(c, 1);
	ck_assert_uint_eq(login(c, (struct sess){4, 0}, "p", NULL, NULL), HSMG_BE_QUOTA);
	/* a detached queue drops its logins */
	hsmg_card_drop_queue(c, 0);
	ck_assert_uint_eq(hsmg_card_sessions(c, 0), 0);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 2); /* s1, s3 on queue 1 */
	hsmg_card_drop_queue(c, 1);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 0);
	hsmg_card_free(c);
}
END_TEST

/* A session spans queues past the first 64 of a card (1,024-queue groups). */
START_TEST(sessions_on_many_queues)
{
	const unsigned int n = HSMG_CARD_MAX_QUEUES;
	struct hsmg_card *c = new_card(mk_a, n, 0);
	struct sess s1 = {1, 0}, s2 = {2, 0};

	ck_assert_uint_ge(n, 256);
	for (unsigned int q = 0; q < n; q++)
		ck_assert_uint_eq(login_q(c, q, s1, 0, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login_q(c, 63, s2, 0, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login_q(c, n - 1, s2, 0, "p", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 2);
	ck_assert_uint_eq(hsmg_card_sessions(c, 64), 1);
	ck_assert_uint_eq(hsmg_card_sessions(c, (int)n - 1), 2);
	/* s2 ends only when its last queue logs it out */
	ck_assert_uint_eq(logout_q(c, n - 1, s2), HSMG_BE_OK);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 2);
	ck_assert_uint_eq(hsmg_card_sessions(c, (int)n - 1), 1);
	ck_assert_uint_eq(logout_q(c, 63, s2), HSMG_BE_OK);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 1);
	/* dropping every queue but the last leaves s1 on that one */
	for (unsigned int q = 0; q < n - 1; q++)
		hsmg_card_drop_queue(c, q);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 1);
	ck_assert_uint_eq(hsmg_card_sessions(c, (int)n - 1), 1);
	hsmg_card_drop_queue(c, n - 1);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 0);
	hsmg_card_free(c);
}
END_TEST

START_TEST(malformed_requests)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	uint8_t m[256], lg[64];
	uint32_t n = 16, alen;
	ssize_t len;
	struct hsmg_be_login l = {.pin_len = 4};

	/* garbage, truncated or wrong-typed header: BADREQ */
	memset(m, 0x41, sizeof(m));
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_CRYPTO, nosess, m, 64, NULL), HSMG_BE_BADREQ);
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_CRYPTO, nosess, m, 0, NULL), HSMG_BE_BADREQ);
	hsmg_msg_init(&b, m, sizeof(m), HSMG_MSG_RESPONSE, HSMG_MSG_OP_RANDOM, 0);
	len = hsmg_msg_finish(&b);
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_CRYPTO, nosess, m, (uint32_t)len, NULL),
			  HSMG_BE_BADREQ);
	hsmg_msg_init(&b, m, sizeof(m), HSMG_MSG_REQUEST, HSMG_MSG_OP_RANDOM, 0);
	hsmg_msg_put_u32(&b, HSMG_TAG_PARAM, n);
	len = hsmg_msg_finish(&b);
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_CRYPTO, nosess, m, (uint32_t)len - 8, NULL),
			  HSMG_BE_BADREQ);
	/* body broken (nonzero padding): response with CKR_ARGUMENTS_BAD */
	m[len - 1] = 1;
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_CRYPTO, nosess, m, (uint32_t)len, &alen),
			  HSMG_BE_OK);
	ck_assert_int_eq(hsmg_msg_parse(&v, ans, alen), 0);
	ck_assert_uint_eq(v.hdr.rv, CKR_ARGUMENTS_BAD);
	ck_assert_uint_eq(v.hdr.op, HSMG_MSG_OP_RANDOM);
	/* a tag the op does not take */
	{
		struct tlv t[] = {{HSMG_TAG_PARAM, &n, 4}, {HSMG_TAG_KEY, "k", 1}};

		ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_RANDOM, 0, t, 2, NULL),
				  CKR_ARGUMENTS_BAD);
	}
	/* missing inputs, unknown op, unknown mechanism */
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_WRAP, CKM_AES_KEY_WRAP, NULL, 0, NULL),
			  CKR_ARGUMENTS_BAD);
	ck_assert_uint_eq(crypto(c, nosess, 999, 0, NULL, 0, NULL), CKR_FUNCTION_NOT_SUPPORTED);
	ck_assert_uint_eq(crypto(c, nosess, HSMG_MSG_OP_DIGEST, CKM_MD5, NULL, 0, NULL),
			  CKR_MECHANISM_INVALID);
	/* answer buffer too small for the output */
	{
		struct hsmg_be_req r = {.type = HSMG_BE_REQ_CRYPTO};
		struct hsmg_card_result res;
		uint32_t big = 1000;

		hsmg_msg_init(&b, m, sizeof(m), HSMG_MSG_REQUEST, HSMG_MSG_OP_RANDOM, 0);
		hsmg_msg_put_u32(&b, HSMG_TAG_PARAM, big);
		len = hsmg_msg_finish(&b);
		r.len = (uint32_t)len;
		hsmg_card_process(c, 0, &r, m, ans, 200, &res);
		ck_assert_uint_eq(res.status, HSMG_BE_OK);
		ck_assert_int_eq(hsmg_msg_parse(&v, ans, res.len), 0);
		ck_assert_uint_eq(v.hdr.rv, CKR_DATA_LEN_RANGE);
		/* bad queue index */
		hsmg_card_process(c, 1, &r, m, ans, sizeof(ans), &res);
		ck_assert_uint_eq(res.status, HSMG_BE_BADREQ);
	}
	/* backend types: unknown, ping, malformed logins and logouts */
	ck_assert_uint_eq(raw(c, 0, 77, nosess, NULL, 0, NULL), HSMG_BE_BADREQ);
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_PING, nosess, NULL, 0, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(login(c, nosess, "1234", NULL, NULL), HSMG_BE_BADREQ); /* session 0 */
	ck_assert_uint_eq(login(c, (struct sess){5, 0}, "", NULL, NULL), HSMG_BE_BADREQ);
	ck_assert_uint_eq(login(c, (struct sess){5, 0}, "1234", "short", NULL), HSMG_BE_BADREQ);
	ck_assert_uint_eq(login(c, (struct sess){5, 0}, "1234", "seventeen-chars!!", NULL),
			  HSMG_BE_BADREQ);
	memcpy(lg, &l, sizeof(l));
	memcpy(lg + sizeof(l), "12345", 5);
	ck_assert_uint_eq(
	    raw(c, 0, HSMG_BE_REQ_LOGIN, (struct sess){5, 0}, lg, sizeof(l) + 5, NULL),
	    HSMG_BE_BADREQ); /* length disagrees */
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_LOGIN, (struct sess){5, 0}, lg, 8, NULL),
			  HSMG_BE_BADREQ); /* shorter than struct */
	l.record_len = 1;		   /* a record the length does not include */
	memcpy(lg, &l, sizeof(l));
	ck_assert_uint_eq(
	    raw(c, 0, HSMG_BE_REQ_LOGIN, (struct sess){5, 0}, lg, sizeof(l) + 4, NULL),
	    HSMG_BE_BADREQ);
	l.record_len = 0;
	l.flags = 0x100;
	memcpy(lg, &l, sizeof(l));
	ck_assert_uint_eq(
	    raw(c, 0, HSMG_BE_REQ_LOGIN, (struct sess){5, 0}, lg, sizeof(l) + 4, NULL),
	    HSMG_BE_BADREQ);
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_LOGOUT, nosess, NULL, 0, NULL), HSMG_BE_BADREQ);
	ck_assert_uint_eq(raw(c, 0, HSMG_BE_REQ_LOGOUT, (struct sess){5, 0}, "x", 1, NULL),
			  HSMG_BE_BADREQ);
	ck_assert_uint_eq(hsmg_card_sessions(c, -1), 0);
	hsmg_card_free(c);
}
END_TEST

/* Random mutations of valid requests never crash the card and always get
 * a well-formed answer or a transport error. */
START_TEST(mutated_requests)
{
	struct hsmg_card *c = new_card(mk_a, 1, 0);
	struct sess s = {51, HSMG_SESSION_STRICT};
	uint8_t blob[512], param[64], m[2048], pub[65];
	size_t blen, plen = gcm_param(param, "123456789012", 12, "aad", 3, 128), eclen;
	uint8_t ec[512];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	unsigned int i, j, seed = 12345;
	ssize_t len;
	uint32_t st, alen;

	ck_assert_uint_eq(login(c, s, "1234", NULL, NULL), HSMG_BE_OK);
	ck_assert_uint_eq(gen_aes(c, s, 16, 0, 0, blob, &blen), CKR_OK);
	gen_ec(c, s, 0, ec, &eclen, pub);
	for (i = 0; i < 3000; i++) {
		uint32_t op = (uint32_t[]){HSMG_MSG_OP_ENCRYPT, HSMG_MSG_OP_DECRYPT,
					   HSMG_MSG_OP_SIGN, HSMG_MSG_OP_VERIFY}[i % 4];
		uint64_t mech = op <= HSMG_MSG_OP_DECRYPT ? CKM_AES_GCM : CKM_ECDSA_SHA256;

		hsmg_msg_init(&b, m, sizeof(m), HSMG_MSG_REQUEST, op, mech);
		hsmg_msg_put(&b, HSMG_TAG_KEY, op <= HSMG_MSG_OP_DECRYPT ? blob : ec,
			     op <= HSMG_MSG_OP_DECRYPT ? blen : eclen);
		if (op <= HSMG_MSG_OP_DECRYPT)
			hsmg_msg_put(&b, HSMG_TAG_PARAM, param, plen);
		if (op == HSMG_MSG_OP_VERIFY)
			hsmg_msg_put(&b, HSMG_TAG_SIGNATURE, m, 64);
		hsmg_msg_put(&b, HSMG_TAG_DATA, "some data to work on", 20);
		len = hsmg_msg_finish(&b);
		ck_assert_int_gt(len, 0);
		for (j = 0; j < 1 + i % 4; j++)
			m[rand_r(&seed) % len] ^= (uint8_t)(1 + rand_r(&seed) % 255);
		st = raw(c, 0, HSMG_BE_REQ_CRYPTO, s, m, (uint32_t)len - (i % 7 == 0 ? 8 : 0),
			 &alen);
		ck_assert(st == HSMG_BE_OK || st == HSMG_BE_BADREQ);
		if (st == HSMG_BE_OK)
			ck_assert_int_eq(hsmg_msg_parse_type(&v, ans, alen, HSMG_MSG_RESPONSE), 0);
	}
	hsmg_card_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsmsimd card");
	TCase *tc = tcase_create("card");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, mkvp);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, aes_keygen_gcm_roundtrip);
	tcase_add_test(tc, key_usage_enforced);
	tcase_add_test(tc, key_blob_tamper_and_foreign_mk);
	tcase_add_test(tc, ecdsa_sign_verify);
	tcase_add_test(tc, pin_blob_groups);
	tcase_add_test(tc, key_cache);
	tcase_add_test(tc, strict_binding);
	tcase_add_test(tc, vhsm_binding);
	tcase_add_test(tc, digest_multipart);
	tcase_add_test(tc, digest_state_refused);
	tcase_add_test(tc, backend_mechanisms);
	tcase_add_test(tc, auth_records_bind_keys);
	tcase_add_test(tc, auth_lockout);
	tcase_add_test(tc, auth_rebind);
	tcase_add_test(tc, auth_cardpin);
	tcase_add_test(tc, session_quota);
	tcase_add_test(tc, sessions_on_many_queues);
	tcase_add_test(tc, malformed_requests);
	tcase_add_test(tc, mutated_requests);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
