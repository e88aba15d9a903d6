// SPDX-License-Identifier: GPL-2.0
/* hsmg-load's card operations as hsmgroup messages (see loadops.h). */
#include "loadops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "hsmg_msg.h"

#define REQ_MAX	 (4096 + LOAD_MAX_BLOB)
#define RESP_MAX (4096 + LOAD_MAX_BLOB)

/* Send the built request, parse and check the response into @v. */
static long call(void *ctx, struct hsmg_msg_builder *b, uint32_t op, uint64_t mech,
		 uint32_t op_class, uint8_t *resp, struct hsmg_msg_view *v)
{
	ssize_t len = hsmg_msg_finish(b);
	size_t resp_len = 0;
	int ret;

	if (len < 0)
		return LOAD_E_DECODE - (-len); /* our own request does not build */
	ret = load_submit(ctx, op_class, b->buf, len, resp, RESP_MAX, &resp_len);
	if (ret)
		return ret;
	ret = hsmg_msg_parse_type(v, resp, resp_len, HSMG_MSG_RESPONSE);
	if (ret)
		return LOAD_E_DECODE - (-ret);
	if (v->hdr.op != op || v->hdr.mechanism != mech)
		return LOAD_E_MISMATCH;
	if (v->hdr.rv != CKR_OK)
		return v->hdr.rv > 0x7fffffff ? LOAD_E_MISMATCH : (long)v->hdr.rv;
	return 0;
}

/* Copy TLV @tag of @v to @dst (capacity @cap); missing or too big: mismatch. */
static long take(const struct hsmg_msg_view *v, uint32_t tag, uint8_t *dst, size_t cap, size_t *len)
{
	const void *val;
	uint32_t n;

	if (!hsmg_msg_get(v, tag, &val, &n) || n > cap || n == 0)
		return LOAD_E_MISMATCH;
	memcpy(dst, val, n);
	*len = n;
	return 0;
}

long load_gen_ec(void *ctx, struct load_keys *k, uint8_t *pub, size_t *pub_len)
{
	struct hsmg_msg_key_attrs a = {
	    .key_type = CKK_EC,
	    .curve = HSMG_CURVE_P256,
	    .usage = HSMG_KEY_USE_SIGN,
	};
	uint8_t req[REQ_MAX], resp[RESP_MAX];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	long ret;

	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, HSMG_MSG_OP_GENERATE_KEYPAIR,
		      CKM_EC_KEY_PAIR_GEN);
	hsmg_msg_put(&b, HSMG_TAG_ATTRS, &a, sizeof(a));
	ret = call(ctx, &b, HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_EC_KEY_PAIR_GEN, HSMG_OP_KEYGEN, resp,
		   &v);
	if (!ret)
		ret = take(&v, HSMG_TAG_OUT_KEY, k->ec_priv, sizeof(k->ec_priv), &k->ec_priv_len);
	if (!ret)
		ret = take(&v, HSMG_TAG_OUT_PUBKEY, pub, *pub_len, pub_len);
	OPENSSL_cleanse(resp, sizeof(resp));
	return ret;
}

long load_gen_aes(void *ctx, struct load_keys *k)
{
	struct hsmg_msg_key_attrs a = {
	    .key_type = CKK_AES,
	    .value_len = 32,
	    .usage = HSMG_KEY_USE_ENCRYPT | HSMG_KEY_USE_DECRYPT,
	};
	uint8_t req[REQ_MAX], resp[RESP_MAX];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	long ret;

	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, HSMG_MSG_OP_GENERATE_KEY,
		      CKM_AES_KEY_GEN);
	hsmg_msg_put(&b, HSMG_TAG_ATTRS, &a, sizeof(a));
	ret = call(ctx, &b, HSMG_MSG_OP_GENERATE_KEY, CKM_AES_KEY_GEN, HSMG_OP_KEYGEN, resp, &v);
	if (!ret)
		ret = take(&v, HSMG_TAG_OUT_KEY, k->aes, sizeof(k->aes), &k->aes_len);
	OPENSSL_cleanse(resp, sizeof(resp));
	return ret;
}

long load_sign(void *ctx, const struct load_keys *k, const uint8_t dig[32], uint8_t *sig,
	       size_t *sig_len)
{
	uint8_t req[REQ_MAX], resp[RESP_MAX];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	long ret;

	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, HSMG_MSG_OP_SIGN, CKM_ECDSA);
	hsmg_msg_put(&b, HSMG_TAG_KEY, k->ec_priv, k->ec_priv_len);
	hsmg_msg_put(&b, HSMG_TAG_DATA, dig, 32);
	ret = call(ctx, &b, HSMG_MSG_OP_SIGN, CKM_ECDSA, HSMG_OP_SIGN, resp, &v);
	if (!ret)
		ret = take(&v, HSMG_TAG_OUT_DATA, sig, *sig_len, sig_len);
	return ret;
}

/* GCM parameter TLV: head, IV, AAD. */
static void put_gcm_param(struct hsmg_msg_builder *b, const uint8_t *iv, const uint8_t *aad)
{
	struct hsmg_msg_gcm_param p = {
	    .iv_bytes = LOAD_GCM_IV,
	    .aad_bytes = LOAD_GCM_AAD,
	    .tag_nbits = LOAD_GCM_TAG * 8,
	};
	uint8_t *dst =
	    hsmg_msg_put_begin(b, HSMG_TAG_PARAM, sizeof(p) + LOAD_GCM_IV + LOAD_GCM_AAD);

	if (!dst)
		return;
	memcpy(dst, &p, sizeof(p));
	memcpy(dst + sizeof(p), iv, LOAD_GCM_IV);
	memcpy(dst + sizeof(p) + LOAD_GCM_IV, aad, LOAD_GCM_AAD);
	hsmg_msg_put_end(b, sizeof(p) + LOAD_GCM_IV + LOAD_GCM_AAD);
}

/* @ct receives IV || AAD || ciphertext || tag. */
long load_gcm_encrypt(void *ctx, const struct load_keys *k, const uint8_t *pt, size_t pt_len,
		      uint8_t *ct, size_t *ct_len)
{
	uint8_t req[REQ_MAX], resp[RESP_MAX];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	size_t n;
	long ret;

	if (*ct_len < LOAD_GCM_OVERHEAD + pt_len)
		return -ENOSPC;
	RAND_bytes(ct, LOAD_GCM_IV + LOAD_GCM_AAD);
	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, HSMG_MSG_OP_ENCRYPT, CKM_AES_GCM);
	hsmg_msg_put(&b, HSMG_TAG_KEY, k->aes, k->aes_len);
	put_gcm_param(&b, ct, ct + LOAD_GCM_IV);
	hsmg_msg_put(&b, HSMG_TAG_DATA, pt, pt_len);
	ret = call(ctx, &b, HSMG_MSG_OP_ENCRYPT, CKM_AES_GCM, HSMG_OP_SYMMETRIC, resp, &v);
	OPENSSL_cleanse(req, sizeof(req));
	if (ret)
		return ret;
	ret = take(&v, HSMG_TAG_OUT_DATA, ct + LOAD_GCM_IV + LOAD_GCM_AAD,
		   *ct_len - LOAD_GCM_IV - LOAD_GCM_AAD, &n);
	if (ret)
		return ret;
	if (n != pt_len + LOAD_GCM_TAG)
		return LOAD_E_MISMATCH;
	*ct_len = LOAD_GCM_IV + LOAD_GCM_AAD + n;
	return 0;
}

long load_gcm_decrypt(void *ctx, const struct load_keys *k, const uint8_t *ct, size_t ct_len,
		      uint8_t *pt, size_t *pt_len)
{
	uint8_t req[REQ_MAX], resp[RESP_MAX];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	long ret;

	if (ct_len < LOAD_GCM_OVERHEAD)
		return -EINVAL;
	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, HSMG_MSG_OP_DECRYPT, CKM_AES_GCM);
	hsmg_msg_put(&b, HSMG_TAG_KEY, k->aes, k->aes_len);
	put_gcm_param(&b, ct, ct + LOAD_GCM_IV);
	hsmg_msg_put(&b, HSMG_TAG_DATA, ct + LOAD_GCM_IV + LOAD_GCM_AAD,
		     ct_len - LOAD_GCM_IV - LOAD_GCM_AAD);
	ret = call(ctx, &b, HSMG_MSG_OP_DECRYPT, CKM_AES_GCM, HSMG_OP_SYMMETRIC, resp, &v);
	if (!ret)
		ret = take(&v, HSMG_TAG_OUT_DATA, pt, *pt_len, pt_len);
	OPENSSL_cleanse(resp, sizeof(resp));
	return ret;
}

void load_keys_free(struct load_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

const char *load_strerror(long err)
{
	static __thread char buf[96];

	if (err <= LOAD_E_MISMATCH)
		return "the card's answer does not match the request (op, mechanism or outputs)";
	if (err <= LOAD_E_DECODE)
		snprintf(buf, sizeof(buf), "bad message: %s",
			 hsmg_msg_strerror((int)(LOAD_E_DECODE - err)));
	else if (err < 0)
		snprintf(buf, sizeof(buf), "SUBMIT: %s (%s)", strerrorname_np(-err) ?: "?",
			 strerror(-err));
	else
		snprintf(buf, sizeof(buf), "card rv CKR 0x%lx", err);
	return buf;
}
