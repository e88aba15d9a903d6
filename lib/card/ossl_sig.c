// SPDX-License-Identifier: GPL-2.0
/*
 * ossl_sig - signatures and MACs (RSA, PSS, ECDSA, HMAC, CMAC) in the
 * OpenSSL backend.
 */
#include "card_int.h"

/* ------------------------------------------------- signatures and MACs */

/* The signature and MAC mechanisms of the one table (lib/msg/hsmg_mech.c). */
static const struct hsmg_mech *sigmech_of(uint64_t mech)
{
	const struct hsmg_mech *m = hsmg_mech_find(mech);

	return m && m->sig != HSMG_MECH_SIG_NONE ? m : NULL;
}

/* Running state of a SIGN/VERIFY (fixed size, card-private). */
struct sig_state {
	uint8_t keyhash[32];
	uint64_t mech;
	uint64_t pss_hash;
	uint64_t pss_mgf;
	uint64_t pss_salt;
	uint32_t mac_len;
	uint32_t hs_len;
	uint8_t hs[HS_MAX_STATE];
	struct cmac_state cm;
};

static size_t hmac_block(uint64_t hash)
{
	return hash == CKM_SHA384 || hash == CKM_SHA512 ? 128 : 64;
}

/* K0 XOR @pad byte (RFC 2104), @k0 has hmac_block() bytes. */
static CK_RV hmac_pad(uint64_t hash, const struct key *k, uint8_t pad, uint8_t *k0)
{
	size_t bl = hmac_block(hash), i;
	unsigned int n = 0;

	memset(k0, 0, bl);
	if (k->secret_len > bl) {
		if (EVP_Digest(k->secret, k->secret_len, k0, &n, pk_md(hash), NULL) != 1)
			return CKR_DEVICE_ERROR;
	} else {
		memcpy(k0, k->secret, k->secret_len);
	}
	for (i = 0; i < bl; i++)
		k0[i] ^= pad;
	return CKR_OK;
}

/* Parse PARAM and set up @st for @sm. */
static CK_RV sig_start(struct req_ctx *c, const struct hsmg_mech *sm, const struct key *k,
		       struct sig_state *st)
{
	struct hsmg_msg_pss_param pp;
	const uint8_t *param;
	uint8_t k0[128];
	uint32_t plen, ml;
	size_t max = sm->sig == HSMG_MECH_SIG_HMAC ? hs_md_len(sm->hash) : AES_BLOCK;
	CK_RV rv = CKR_OK;

	card_get_param(c, &param, &plen);
	st->mech = sm->type;
	if (sm->sig == HSMG_MECH_SIG_PSS) {
		if (plen != sizeof(pp))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&pp, param, sizeof(pp));
		if (!pk_md(pp.hash) || !pk_mgf_md(pp.mgf) || (sm->hash && pp.hash != sm->hash) ||
		    pp.salt_len > PK_RSA_MAX_BYTES)
			return CKR_MECHANISM_PARAM_INVALID;
		st->pss_hash = pp.hash;
		st->pss_mgf = pp.mgf;
		st->pss_salt = pp.salt_len;
	} else if (sm->param == HSMG_MECH_P_MACLEN) {
		if (plen != sizeof(ml))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&ml, param, sizeof(ml));
		if (ml < 1 || ml > max)
			return CKR_MECHANISM_PARAM_INVALID;
		st->mac_len = ml;
	} else if (plen) {
		return CKR_MECHANISM_PARAM_INVALID;
	} else {
		st->mac_len = (uint32_t)max;
	}
	if (sm->sig == HSMG_MECH_SIG_CMAC) {
		cmac_init(&st->cm);
	} else if (sm->hash) {
		size_t hl = 0;

		if (hs_init(sm->hash, st->hs, &hl))
			return CKR_DEVICE_ERROR;
		st->hs_len = (uint32_t)hl;
		if (sm->sig == HSMG_MECH_SIG_HMAC) {
			rv = hmac_pad(sm->hash, k, 0x36, k0);
			if (rv == CKR_OK &&
			    hs_update(sm->hash, st->hs, st->hs_len, k0, hmac_block(sm->hash)))
				rv = CKR_DEVICE_ERROR;
			OPENSSL_cleanse(k0, sizeof(k0));
		}
	}
	return rv;
}

static CK_RV sig_absorb(const struct hsmg_mech *sm, const struct key *k, struct sig_state *st,
			const void *data, size_t len)
{
	if (sm->sig == HSMG_MECH_SIG_CMAC)
		return cmac_update(&st->cm, k->secret, k->secret_len, data, len);
	if (hs_update(sm->hash, st->hs, st->hs_len, data, len))
		return CKR_SAVED_STATE_INVALID;
	return CKR_OK;
}

/* The MAC of a finished HMAC/CMAC state (full length, @out 64 bytes). */
static CK_RV mac_final(const struct hsmg_mech *sm, const struct key *k, struct sig_state *st,
		       uint8_t *out)
{
	uint8_t inner[HS_MAX_MD], k0[128 + HS_MAX_MD];
	size_t il = 0, bl = hmac_block(sm->hash);
	unsigned int n = 0;
	CK_RV rv;

	if (sm->sig == HSMG_MECH_SIG_CMAC)
		return cmac_final(&st->cm, k->secret, k->secret_len, out);
	if (hs_final(sm->hash, st->hs, st->hs_len, inner, &il))
		return CKR_SAVED_STATE_INVALID;
	rv = hmac_pad(sm->hash, k, 0x5c, k0);
	if (rv == CKR_OK) {
		memcpy(k0 + bl, inner, il);
		if (EVP_Digest(k0, bl + il, out, &n, pk_md(sm->hash), NULL) != 1)
			rv = CKR_DEVICE_ERROR;
	}
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(k0, sizeof(k0));
	return rv;
}

CK_RV card_op_sigop(struct req_ctx *c, bool sign, enum part part)
{
	const struct hsmg_mech *sm = sigmech_of(c->v->hdr.mechanism);
	uint16_t skind = sign ? STATE_SIGN : STATE_VERIFY;
	uint32_t use = sign ? HSMG_KEY_USE_SIGN : HSMG_KEY_USE_VERIFY;
	const void *data = NULL, *sig = NULL, *id = NULL;
	uint32_t len = 0, sig_len = 0, id_len = 0;
	uint8_t kh[32], mac[HS_MAX_MD], md[HS_MAX_MD], *out;
	const uint8_t *tbs;
	size_t tbs_len, md_len = 0, st_len = 0, olen = 0;
	struct sig_state *st = NULL;
	struct pubref pr;
	struct pk_sig ps;
	bool has_data, mac_alg;
	struct key k;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	memset(&pr, 0, sizeof(pr));
	if (!sm)
		return CKR_MECHANISM_INVALID;
	mac_alg = sm->sig == HSMG_MECH_SIG_HMAC || sm->sig == HSMG_MECH_SIG_CMAC;
	if (part != PART_SINGLE && !mac_alg && !sm->hash)
		return CKR_MECHANISM_INVALID; /* raw RSA/PSS/ECDSA: single-part only */
	has_data = hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len);
	if ((part == PART_SINGLE || part == PART_UPDATE) && !has_data)
		return CKR_ARGUMENTS_BAD;
	if (!sign && (part == PART_SINGLE || part == PART_FINAL) &&
	    !hsmg_msg_get(c->v, HSMG_TAG_SIGNATURE, &sig, &sig_len))
		return CKR_ARGUMENTS_BAD;

	/* The key. */
	if (mac_alg || sign) {
		uint32_t kinds = sm->sig == HSMG_MECH_SIG_HMAC	  ? KM(KIND_SECRET)
				 : sm->sig == HSMG_MECH_SIG_CMAC  ? KM(KIND_AES)
				 : sm->sig == HSMG_MECH_SIG_ECDSA ? KM(KIND_EC_PRIV)
								  : KM(KIND_RSA_PRIV);

		if (hsmg_msg_get(c->v, HSMG_TAG_PUBKEY, NULL, NULL) ||
		    hsmg_msg_get(c->v, HSMG_TAG_ATTRS, NULL, NULL))
			return CKR_ARGUMENTS_BAD;
		if (mac_alg)
			rv = card_key_get(c, HSMG_TAG_KEY, kinds, use, &k);
		else
			rv = card_key_get_pkey(c, HSMG_TAG_KEY, kinds, use, &k, &pr.pkey);
		if (rv != CKR_OK)
			return rv;
		hsmg_msg_get(c->v, HSMG_TAG_KEY, &id, &id_len);
		pr.curve = k.attrs.curve;
	} else {
		rv = card_pub_get(c, use, &pr);
		if (rv != CKR_OK)
			goto out;
		if (pr.rsa != (sm->sig == HSMG_MECH_SIG_RSA || sm->sig == HSMG_MECH_SIG_PSS)) {
			rv = CKR_KEY_TYPE_INCONSISTENT;
			goto out;
		}
		id = pr.id;
		id_len = pr.id_len;
	}
	card_key_id_hash(id, id_len, kh);

	/* The state. */
	rv = CKR_DEVICE_MEMORY;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto out;
	if (part == PART_SINGLE || part == PART_INIT) {
		rv = sig_start(c, sm, &k, st);
		memcpy(st->keyhash, kh, sizeof(kh));
	} else {
		if (hsmg_msg_get(c->v, HSMG_TAG_PARAM, NULL, NULL)) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
		rv = card_state_open(c, skind, st, sizeof(*st), sizeof(*st), &st_len);
		if (rv == CKR_OK && (!card_ct_equal(st->keyhash, kh, sizeof(kh)) ||
				     st->mech != sm->type || st->hs_len > HS_MAX_STATE))
			rv = CKR_SAVED_STATE_INVALID;
	}
	if (rv != CKR_OK)
		goto out;
	if (has_data && part != PART_INIT && (mac_alg || sm->hash)) {
		rv = sig_absorb(sm, &k, st, data, len);
		if (rv != CKR_OK)
			goto out;
	}
	if (part == PART_INIT || part == PART_UPDATE) {
		rv = card_state_seal(c, skind, st, sizeof(*st));
		goto out;
	}

	/* Final: MAC, or sign/verify the hash (or the raw input). */
	if (mac_alg) {
		rv = mac_final(sm, &k, st, mac);
		if (rv != CKR_OK)
			goto out;
		if (sign) {
			rv = hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, mac, st->mac_len)
				 ? CKR_DEVICE_MEMORY
				 : CKR_OK;
		} else if (sig_len != st->mac_len) {
			rv = CKR_SIGNATURE_LEN_RANGE;
		} else {
			rv = card_ct_equal(mac, sig, sig_len) ? CKR_OK : CKR_SIGNATURE_INVALID;
		}
		goto out;
	}
	if (sm->hash) {
		if (hs_final(sm->hash, st->hs, st->hs_len, md, &md_len)) {
			rv = CKR_SAVED_STATE_INVALID;
			goto out;
		}
		tbs = md;
		tbs_len = md_len;
	} else {
		tbs = data;
		tbs_len = len;
	}
	memset(&ps, 0, sizeof(ps));
	ps.curve = pr.curve;
	if (sm->sig == HSMG_MECH_SIG_PSS) {
		ps.pss = 1;
		ps.md = pk_md(st->pss_hash);
		ps.mgf = pk_mgf_md(st->pss_mgf);
		ps.salt = st->pss_salt;
	} else if (sm->sig == HSMG_MECH_SIG_RSA || sm->sig == HSMG_MECH_SIG_ECDSA) {
		ps.md = sm->hash ? pk_md(sm->hash) : NULL;
	}
	if (sign) {
		out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, PK_RSA_MAX_BYTES);
		rv = out ? pk_sign(pr.pkey, &ps, tbs, tbs_len, out, PK_RSA_MAX_BYTES, &olen)
			 : CKR_DEVICE_MEMORY;
		if (rv == CKR_OK && hsmg_msg_put_end(c->b, olen))
			rv = CKR_DEVICE_MEMORY;
	} else {
		rv = pk_verify(pr.pkey, &ps, tbs, tbs_len, sig, sig_len);
	}
out:
	if (st) {
		OPENSSL_cleanse(st, sizeof(*st));
		free(st);
	}
	EVP_PKEY_free(pr.pkey);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(&k, sizeof(k));
	return rv;
}
