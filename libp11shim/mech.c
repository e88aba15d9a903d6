// SPDX-License-Identifier: GPL-2.0
/*
 * mech - the mechanism table, parameters, curves (see mech.h).
 */
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "hsmgroup_msg.h"

#include "mech.h"

CK_RV shim_mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
	size_t i;

	size_t n = hsmg_mech_count();

	if (list) {
		if (*count < n) {
			*count = n;
			return CKR_BUFFER_TOO_SMALL;
		}
		for (i = 0; i < n; i++)
			list[i] = hsmg_mech_at(i)->type;
	}
	*count = n;
	return CKR_OK;
}

CK_RV shim_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	const struct hsmg_mech *m = hsmg_mech_find(type);

	if (!m)
		return CKR_MECHANISM_INVALID;
	info->ulMinKeySize = m->min;
	info->ulMaxKeySize = m->max;
	info->flags = m->flags;
	return CKR_OK;
}

/* ----------------------------------------------------------- params */

static bool hash_ok(CK_MECHANISM_TYPE h)
{
	return h == CKM_SHA_1 || h == CKM_SHA224 || h == CKM_SHA256 || h == CKM_SHA384 ||
	       h == CKM_SHA512;
}

static bool mgf_ok(CK_ULONG mgf)
{
	return mgf == CKG_MGF1_SHA1 || mgf == CKG_MGF1_SHA224 || mgf == CKG_MGF1_SHA256 ||
	       mgf == CKG_MGF1_SHA384 || mgf == CKG_MGF1_SHA512;
}

static CK_RV dup2(const void *a, size_t alen, const void *b, size_t blen, uint8_t **out,
		  size_t *len)
{
	*out = malloc(alen + blen ? alen + blen : 1);
	if (!*out)
		return CKR_HOST_MEMORY;
	memcpy(*out, a, alen);
	if (blen)
		memcpy(*out + alen, b, blen);
	*len = alen + blen;
	return CKR_OK;
}

CK_RV shim_mech_param(const struct hsmg_mech *m, const CK_MECHANISM *pm, uint8_t **out, size_t *len,
		      CK_ULONG *mac_len, CK_ULONG *tag_len)
{
	const void *p = pm->pParameter;
	CK_ULONG pl = pm->ulParameterLen;

	*out = NULL;
	*len = 0;
	if (!p && pl)
		return CKR_MECHANISM_PARAM_INVALID;
	switch (m->param) {
	case HSMG_MECH_P_NONE:
		return pl ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
	case HSMG_MECH_P_IV16:
		if (pl != 16)
			return CKR_MECHANISM_PARAM_INVALID;
		return dup2(p, 16, NULL, 0, out, len);
	case HSMG_MECH_P_KW:
	case HSMG_MECH_P_KWP:
		if (!pl)
			return CKR_OK;
		if (pl != (m->param == HSMG_MECH_P_KW ? 8U : 4U))
			return CKR_MECHANISM_PARAM_INVALID;
		return dup2(p, pl, NULL, 0, out, len);
	case HSMG_MECH_P_MACLEN: {
		CK_ULONG v;
		uint32_t u;

		if (pl != sizeof(CK_ULONG))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&v, p, sizeof(v));
		if (v < 1 || v > m->out_len)
			return CKR_MECHANISM_PARAM_INVALID;
		u = (uint32_t)v;
		*mac_len = v;
		return dup2(&u, sizeof(u), NULL, 0, out, len);
	}
	case HSMG_MECH_P_CTR: {
		const CK_AES_CTR_PARAMS *c = p;
		struct hsmg_msg_ctr_param cp;

		if (pl != sizeof(*c) || c->counter_bits < 1 || c->counter_bits > 128)
			return CKR_MECHANISM_PARAM_INVALID;
		memset(&cp, 0, sizeof(cp));
		cp.ctr_nbits = (uint32_t)c->counter_bits;
		memcpy(cp.cb, c->cb, sizeof(cp.cb));
		return dup2(&cp, sizeof(cp), NULL, 0, out, len);
	}
	case HSMG_MECH_P_GCM: {
		const CK_GCM_PARAMS *g = p;
		struct hsmg_msg_gcm_param gp;
		CK_RV rv;

		if (pl != sizeof(*g) || !g->iv_ptr || g->iv_len < 1 ||
		    g->iv_len > HSMG_MSG_GCM_MAX_IV || (g->aad_len && !g->aad_ptr) ||
		    g->aad_len > 65536 || g->tag_bits < 32 || g->tag_bits > 128 || g->tag_bits % 8)
			return CKR_MECHANISM_PARAM_INVALID;
		memset(&gp, 0, sizeof(gp));
		gp.iv_bytes = (uint32_t)g->iv_len;
		gp.aad_bytes = (uint32_t)g->aad_len;
		gp.tag_nbits = (uint32_t)g->tag_bits;
		*tag_len = g->tag_bits / 8;
		*len = sizeof(gp) + g->iv_len + g->aad_len;
		*out = malloc(*len);
		rv = *out ? CKR_OK : CKR_HOST_MEMORY;
		if (rv == CKR_OK) {
			memcpy(*out, &gp, sizeof(gp));
			memcpy(*out + sizeof(gp), g->iv_ptr, g->iv_len);
			if (g->aad_len)
				memcpy(*out + sizeof(gp) + g->iv_len, g->aad_ptr, g->aad_len);
		}
		return rv;
	}
	case HSMG_MECH_P_PSS: {
		const CK_RSA_PKCS_PSS_PARAMS *ps = p;
		struct hsmg_msg_pss_param pp;

		if (pl != sizeof(*ps) || !hash_ok(ps->hash_alg) || !mgf_ok(ps->mgf) ||
		    (m->hash && ps->hash_alg != m->hash) || ps->s_len > 512)
			return CKR_MECHANISM_PARAM_INVALID;
		pp.hash = ps->hash_alg;
		pp.mgf = ps->mgf;
		pp.salt_len = ps->s_len;
		return dup2(&pp, sizeof(pp), NULL, 0, out, len);
	}
	case HSMG_MECH_P_OAEP: {
		const CK_RSA_PKCS_OAEP_PARAMS *o = p;
		struct hsmg_msg_oaep_param op;

		if (pl != sizeof(*o) || !hash_ok(o->hash_alg) || !mgf_ok(o->mgf) ||
		    (o->source != CKZ_DATA_SPECIFIED && !(o->source == 0 && !o->source_data_len)) ||
		    (o->source_data_len && !o->source_data) ||
		    o->source_data_len > HSMG_MSG_MAX_LABEL)
			return CKR_MECHANISM_PARAM_INVALID;
		memset(&op, 0, sizeof(op));
		op.hash = o->hash_alg;
		op.mgf = o->mgf;
		op.source = o->source_data_len ? CKZ_DATA_SPECIFIED : o->source;
		op.label_len = (uint32_t)o->source_data_len;
		return dup2(&op, sizeof(op), o->source_data, o->source_data_len, out, len);
	}
	case HSMG_MECH_P_ECDH: {
		const CK_ECDH1_DERIVE_PARAMS *e = p;
		struct hsmg_msg_ecdh_param ep;
		CK_RV rv;

		if (pl != sizeof(*e) || (e->shared_data_len && !e->shared_data) ||
		    !e->public_data || !e->public_data_len || e->public_data_len > 512 ||
		    e->shared_data_len > HSMG_MSG_MAX_LABEL)
			return CKR_MECHANISM_PARAM_INVALID;
		if (e->kdf != CKD_NULL && e->kdf != CKD_SHA1_KDF && e->kdf != CKD_SHA224_KDF &&
		    e->kdf != CKD_SHA256_KDF && e->kdf != CKD_SHA384_KDF &&
		    e->kdf != CKD_SHA512_KDF)
			return CKR_MECHANISM_PARAM_INVALID;
		if (e->kdf == CKD_NULL && e->shared_data_len)
			return CKR_MECHANISM_PARAM_INVALID;
		memset(&ep, 0, sizeof(ep));
		ep.kdf = e->kdf;
		ep.shared_len = (uint32_t)e->shared_data_len;
		ep.public_len = (uint32_t)e->public_data_len;
		*len = sizeof(ep) + ep.shared_len + ep.public_len;
		*out = malloc(*len);
		rv = *out ? CKR_OK : CKR_HOST_MEMORY;
		if (rv == CKR_OK) {
			memcpy(*out, &ep, sizeof(ep));
			if (ep.shared_len)
				memcpy(*out + sizeof(ep), e->shared_data, ep.shared_len);
			memcpy(*out + sizeof(ep) + ep.shared_len, e->public_data, ep.public_len);
		}
		return rv;
	}
	}
	return CKR_MECHANISM_PARAM_INVALID;
}

/* ----------------------------------------------------------- curves */

static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

static const struct curve {
	uint32_t id;
	const uint8_t *oid;
	size_t oid_len, order, bits;
} curves[] = {
    {HSMG_CURVE_P256, oid_p256, sizeof(oid_p256), 32, 256},
    {HSMG_CURVE_P384, oid_p384, sizeof(oid_p384), 48, 384},
    {HSMG_CURVE_P521, oid_p521, sizeof(oid_p521), 66, 521},
};

static const struct curve *curve_of(uint32_t id)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].id == id)
			return &curves[i];
	return NULL;
}

uint32_t shim_curve_of_params(const void *der, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (der && len == curves[i].oid_len && !memcmp(der, curves[i].oid, len))
			return curves[i].id;
	return 0;
}

const uint8_t *shim_curve_params(uint32_t curve, size_t *len)
{
	const struct curve *c = curve_of(curve);

	*len = c ? c->oid_len : 0;
	return c ? c->oid : NULL;
}

size_t shim_curve_order_len(uint32_t curve)
{
	const struct curve *c = curve_of(curve);

	return c ? c->order : 0;
}

size_t shim_curve_point_len(uint32_t curve)
{
	const struct curve *c = curve_of(curve);

	return c ? 1 + 2 * c->order : 0;
}

uint32_t shim_curve_of_point_len(size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (len == 1 + 2 * curves[i].order)
			return curves[i].id;
	return 0;
}

CK_ULONG shim_curve_bits(uint32_t curve)
{
	const struct curve *c = curve_of(curve);

	return c ? c->bits : 0;
}

size_t shim_der_octet_hdr(size_t len, uint8_t hdr[4])
{
	hdr[0] = 0x04;
	if (len < 0x80) {
		hdr[1] = (uint8_t)len;
		return 2;
	}
	if (len < 0x100) {
		hdr[1] = 0x81;
		hdr[2] = (uint8_t)len;
		return 3;
	}
	hdr[1] = 0x82;
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	return 4;
}

const uint8_t *shim_der_octet_content(const uint8_t *der, size_t len, size_t *clen)
{
	size_t n, h;

	if (len < 2 || der[0] != 0x04)
		return NULL;
	if (der[1] < 0x80) {
		n = der[1];
		h = 2;
	} else if (der[1] == 0x81 && len >= 3 && der[2] >= 0x80) {
		n = der[2];
		h = 3;
	} else if (der[1] == 0x82 && len >= 4 && der[2]) {
		n = ((size_t)der[2] << 8) | der[3];
		h = 4;
	} else {
		return NULL;
	}
	if (h + n != len)
		return NULL;
	*clen = n;
	return der + h;
}
