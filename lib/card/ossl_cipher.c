// SPDX-License-Identifier: GPL-2.0
/*
 * ossl_cipher - encrypt and decrypt (AES modes, RSA) in the OpenSSL backend.
 */
#include "card_int.h"

/* ------------------------------------------------------------- ciphers */

static bool is_aes_cipher(uint64_t mech)
{
	return mech == CKM_AES_ECB || mech == CKM_AES_CBC || mech == CKM_AES_CBC_PAD ||
	       mech == CKM_AES_CTR || mech == CKM_AES_GCM;
}

/* Single-part RSA encryption / decryption. */
static CK_RV do_rsa_crypt(struct req_ctx *c, bool enc)
{
	struct hsmg_msg_oaep_param op;
	const EVP_MD *md = NULL, *mgf = NULL;
	const uint8_t *param, *label = NULL;
	struct pubref pr;
	const void *data;
	uint32_t plen, len;
	size_t n = 0, k;
	uint8_t *out;
	struct key key;
	CK_RV rv;

	memset(&pr, 0, sizeof(pr));
	card_get_param(c, &param, &plen);
	if (c->v->hdr.mechanism == CKM_RSA_PKCS_OAEP) {
		if (plen < sizeof(op))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&op, param, sizeof(op));
		md = pk_md(op.hash);
		mgf = pk_mgf_md(op.mgf);
		if (!md || !mgf || op.rsvd || op.label_len > HSMG_MSG_MAX_LABEL ||
		    (op.source != CKZ_DATA_SPECIFIED && !(op.source == 0 && !op.label_len)) ||
		    (uint64_t)sizeof(op) + op.label_len != plen)
			return CKR_MECHANISM_PARAM_INVALID;
		label = param + sizeof(op);
	} else if (plen) {
		return CKR_MECHANISM_PARAM_INVALID;
	}
	if (!hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	if (enc) {
		rv = card_pub_get(c, HSMG_KEY_USE_ENCRYPT, &pr);
		if (rv == CKR_OK && !pr.rsa)
			rv = CKR_KEY_TYPE_INCONSISTENT;
	} else {
		if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
		    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
			return CKR_ARGUMENTS_BAD;
		rv = card_key_get_pkey(c, HSMG_TAG_KEY, KM(KIND_RSA_PRIV), HSMG_KEY_USE_DECRYPT,
				       &key, &pr.pkey);
		OPENSSL_cleanse(&key, sizeof(key));
	}
	if (rv != CKR_OK)
		goto out;
	k = (size_t)pk_rsa_bytes(pr.pkey);
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, k);
	if (!out) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	rv = pk_rsa_crypt(pr.pkey, enc, md, mgf, label, md ? op.label_len : 0, data, len, out, k,
			  &n);
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, n))
		rv = CKR_DEVICE_MEMORY;
out:
	EVP_PKEY_free(pr.pkey);
	return rv;
}

struct cipher_state {
	uint8_t keyhash[32];
	struct aes_state a;
};

CK_RV card_op_cipher(struct req_ctx *c, bool enc, enum part part)
{
	uint64_t mech = c->v->hdr.mechanism;
	uint16_t kind = enc ? STATE_ENCRYPT : STATE_DECRYPT;
	struct cipher_state st;
	uint8_t kh[32], *out = NULL;
	const uint8_t *param;
	const void *data = NULL, *blob;
	uint32_t plen, len = 0, blen;
	size_t n = 0, m = 0, st_len = 0;
	bool has_data;
	struct key k;
	CK_RV rv;

	if (mech == CKM_RSA_PKCS || mech == CKM_RSA_PKCS_OAEP)
		return part == PART_SINGLE ? do_rsa_crypt(c, enc) : CKR_MECHANISM_INVALID;
	if (!is_aes_cipher(mech))
		return CKR_MECHANISM_INVALID;
	if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
	    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
		return CKR_ARGUMENTS_BAD;
	card_get_param(c, &param, &plen);
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if ((part == PART_SINGLE || part == PART_UPDATE) && !has_data)
		return CKR_ARGUMENTS_BAD;
	rv = card_key_get(c, HSMG_TAG_KEY, KM(KIND_AES),
			  enc ? HSMG_KEY_USE_ENCRYPT : HSMG_KEY_USE_DECRYPT, &k);
	if (rv != CKR_OK)
		return rv;
	hsmg_msg_get(c->v, HSMG_TAG_KEY, &blob, &blen);
	card_key_id_hash(blob, blen, kh);
	memset(&st, 0, sizeof(st));
	if (part == PART_SINGLE || part == PART_INIT) {
		rv = aes_init(&st.a, mech, enc, k.secret, k.secret_len, param, plen);
		memcpy(st.keyhash, kh, sizeof(kh));
	} else {
		rv = card_state_open(c, kind, &st, sizeof(st), sizeof(st), &st_len);
		if (rv == CKR_OK &&
		    (!card_ct_equal(st.keyhash, kh, sizeof(kh)) || !aes_check(&st.a, mech, enc)))
			rv = CKR_SAVED_STATE_INVALID;
	}
	if (rv != CKR_OK || part == PART_INIT)
		goto done;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, aes_update_max(len) + 2 * AES_BLOCK);
	if (!out) {
		rv = CKR_DATA_LEN_RANGE;
		goto done;
	}
	if (has_data)
		rv = aes_update(&st.a, k.secret, k.secret_len, data, len, out, &n);
	if (rv == CKR_OK && part != PART_UPDATE)
		rv = aes_final(&st.a, k.secret, k.secret_len, out + n, &m);
	if (rv == CKR_OK && hsmg_msg_put_end(c->b, n + m))
		rv = CKR_DEVICE_MEMORY;
done:
	if (rv == CKR_OK && (part == PART_INIT || part == PART_UPDATE))
		rv = card_state_seal(c, kind, &st, sizeof(st));
	OPENSSL_cleanse(&st, sizeof(st));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}
