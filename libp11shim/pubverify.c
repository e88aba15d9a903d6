// SPDX-License-Identifier: GPL-2.0
/*
 * pubverify - verification with public key objects in the module (see
 * pubverify.h).  The checks mirror the card's VERIFY with a PUBKEY
 * (lib/card/ossl_sig.c): the key's form, the mechanism's parameter, then
 * the signature by pk_verify().
 */
#include <string.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "hsmg_mech.h"
#include "hsmgroup_msg.h"

#include "module.h"
#include "pk.h"
#include "pubverify.h"
#include "session.h"

/* The public-key signature mechanisms of the one table (lib/msg/hsmg_mech.c). */
static const struct hsmg_mech *pv_mech(CK_MECHANISM_TYPE mech)
{
	const struct hsmg_mech *m = hsmg_mech_find(mech);

	return m && (m->sig == HSMG_MECH_SIG_RSA || m->sig == HSMG_MECH_SIG_PSS ||
		     m->sig == HSMG_MECH_SIG_ECDSA)
		   ? m
		   : NULL;
}

bool shim_pubverify_applies(const struct shim_op *op)
{
	return shim_g.cfg.local_verify && op->pubkey && pv_mech(op->mech) &&
	       (op->key_type == CKK_RSA || op->key_type == CKK_EC);
}

/* The public key, as the card loads a PUBKEY. */
static CK_RV pv_key(const struct shim_op *op, EVP_PKEY **pkey, uint32_t *curve)
{
	*curve = 0;
	if (op->key_type == CKK_RSA) {
		*pkey = pk_rsa_load_pub(op->key, op->key_len);
	} else {
		*curve = pk_ec_curve_by_point_len(op->key_len);
		if (!pk_ec_order_len(*curve) || op->key_len != pk_ec_point_len(*curve) ||
		    op->key[0] != 0x04)
			return CKR_KEY_HANDLE_INVALID;
		*pkey = pk_ec_load(*curve, NULL, op->key, op->key_len);
	}
	return *pkey ? CKR_OK : CKR_KEY_HANDLE_INVALID;
}

/* The signature's settings from the mechanism and its parameter. */
static CK_RV pv_sig(const struct shim_op *op, const struct hsmg_mech *pm, struct pk_sig *ps)
{
	struct hsmg_msg_pss_param pp;

	memset(ps, 0, sizeof(*ps));
	if (pm->sig != HSMG_MECH_SIG_PSS) {
		if (op->param_len)
			return CKR_MECHANISM_PARAM_INVALID;
		ps->md = pm->hash ? pk_md(pm->hash) : NULL;
		return CKR_OK;
	}
	if (op->param_len != sizeof(pp))
		return CKR_MECHANISM_PARAM_INVALID;
	memcpy(&pp, op->param, sizeof(pp));
	if (!pk_md(pp.hash) || !pk_mgf_md(pp.mgf) || (pm->hash && pp.hash != pm->hash) ||
	    pp.salt_len > PK_RSA_MAX_BYTES)
		return CKR_MECHANISM_PARAM_INVALID;
	ps->pss = 1;
	ps->md = pk_md(pp.hash);
	ps->mgf = pk_mgf_md(pp.mgf);
	ps->salt = pp.salt_len;
	return CKR_OK;
}

CK_RV shim_pubverify(const struct shim_op *op, const uint8_t *data, size_t len, const uint8_t *sig,
		     size_t sig_len)
{
	const struct hsmg_mech *pm = pv_mech(op->mech);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_PKEY *pkey = NULL;
	struct pk_sig ps;
	uint32_t curve;
	CK_RV rv;

	if (!pm)
		return CKR_MECHANISM_INVALID;
	/* In the card's order: the key, its type, the parameter. */
	rv = pv_key(op, &pkey, &curve);
	if (rv == CKR_OK && (op->key_type == CKK_RSA) != (pm->sig != HSMG_MECH_SIG_ECDSA))
		rv = CKR_KEY_TYPE_INCONSISTENT;
	if (rv == CKR_OK)
		rv = pv_sig(op, pm, &ps);
	if (rv != CKR_OK)
		goto out;
	ps.curve = curve;
	if (!data)
		data = (const uint8_t *)""; /* an empty message */
	if (pm->hash) {
		if (EVP_Digest(data, len, md, &md_len, pk_md(pm->hash), NULL) != 1) {
			rv = CKR_GENERAL_ERROR;
			goto out;
		}
		data = md;
		len = md_len;
	}
	rv = pk_verify(pkey, &ps, data, len, sig, sig_len);
out:
	EVP_PKEY_free(pkey);
	return rv;
}
