// SPDX-License-Identifier: GPL-2.0
/*
 * ossl_digest - digests and random bytes in the OpenSSL backend.
 */
#include "card_int.h"

/* -------------------------------------------------------------- digest */

CK_RV card_op_digest(struct req_ctx *c)
{
	const EVP_MD *md = pk_md(c->v->hdr.mechanism);
	const void *data;
	uint32_t len;
	unsigned int n = 0;
	uint8_t *out;

	if (!md)
		return CKR_MECHANISM_INVALID;
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, EVP_MD_get_size(md));
	if (!out)
		return CKR_DEVICE_MEMORY;
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return CKR_DEVICE_ERROR;
	return hsmg_msg_put_end(c->b, n) ? CKR_DEVICE_MEMORY : CKR_OK;
}

CK_RV card_op_digest_part(struct req_ctx *c, uint32_t op)
{
	uint8_t st[HS_MAX_STATE], md[HS_MAX_MD];
	size_t st_len = 0, md_len = 0;
	const void *data = NULL;
	uint32_t len = 0;
	bool has_data;
	CK_RV rv;

	if (!hs_md_len(c->v->hdr.mechanism))
		return CKR_MECHANISM_INVALID;
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if (op == HSMG_MSG_OP_DIGEST_INIT) {
		rv = hs_init(c->v->hdr.mechanism, st, &st_len) ? CKR_DEVICE_ERROR : CKR_OK;
		if (rv == CKR_OK)
			rv = card_state_seal(c, STATE_DIGEST, st, st_len);
		goto out;
	}
	if (op == HSMG_MSG_OP_DIGEST_UPDATE && !has_data)
		return CKR_ARGUMENTS_BAD;
	rv = card_state_open(c, STATE_DIGEST, st, sizeof(st), 0, &st_len);
	if (rv != CKR_OK)
		goto out;
	if (has_data && hs_update(c->v->hdr.mechanism, st, st_len, data, len)) {
		rv = CKR_SAVED_STATE_INVALID;
		goto out;
	}
	if (op == HSMG_MSG_OP_DIGEST_UPDATE) {
		rv = card_state_seal(c, STATE_DIGEST, st, st_len);
		goto out;
	}
	if (hs_final(c->v->hdr.mechanism, st, st_len, md, &md_len)) {
		rv = CKR_SAVED_STATE_INVALID;
		goto out;
	}
	rv = hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, md, md_len) ? CKR_DEVICE_MEMORY : CKR_OK;
out:
	OPENSSL_cleanse(st, sizeof(st));
	return rv;
}

CK_RV card_op_random(struct req_ctx *c)
{
	uint32_t n;
	uint8_t *out;

	if (hsmg_msg_get_fixed(c->v, HSMG_TAG_PARAM, &n, sizeof(n)))
		return CKR_ARGUMENTS_BAD;
	if (n < 1 || n > HSMG_MSG_MAX_RANDOM)
		return CKR_DATA_LEN_RANGE;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, n);
	if (!out)
		return CKR_DEVICE_MEMORY;
	if (RAND_bytes(out, (int)n) != 1)
		return CKR_DEVICE_ERROR;
	return hsmg_msg_put_end(c->b, n) ? CKR_DEVICE_MEMORY : CKR_OK;
}
