// SPDX-License-Identifier: GPL-2.0
/*
 * crypto - mechanisms and the cryptographic calls (see crypto.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hsmg_msg.h"
#include "log.h"
#include "module.h"
#include "object.h"
#include "objmgr.h"
#include "session.h"
#include "slot.h"

#define EC_FLAGS      (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define EC_POINT_LEN  65 /* 0x04 || X || Y */
#define ECDSA_SIG_LEN 64
#define RESP_SLACK    1024 /* header, TLV heads, state blob */
/* Most input one request carries, leaving room for key, param, state. */
#define SHIM_MAX_INPUT (HSMG_MAX_MSG_SIZE - 8192)

struct mech {
	CK_MECHANISM_TYPE type;
	CK_ULONG min, max;
	CK_FLAGS flags;
	CK_ULONG md_len; /* digests */
};

static const struct mech mechs[] = {
    {CKM_AES_KEY_GEN, 16, 32, CKF_HW | CKF_GENERATE, 0},
    {CKM_AES_GCM, 16, 32, CKF_HW | CKF_ENCRYPT | CKF_DECRYPT, 0},
    {CKM_EC_KEY_PAIR_GEN, 256, 256, CKF_HW | CKF_GENERATE_KEY_PAIR | EC_FLAGS, 0},
    {CKM_ECDSA, 256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, 0},
    {CKM_ECDSA_SHA256, 256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, 0},
    {CKM_SHA_1, 0, 0, CKF_HW | CKF_DIGEST, 20},
    {CKM_SHA224, 0, 0, CKF_HW | CKF_DIGEST, 28},
    {CKM_SHA256, 0, 0, CKF_HW | CKF_DIGEST, 32},
    {CKM_SHA384, 0, 0, CKF_HW | CKF_DIGEST, 48},
    {CKM_SHA512, 0, 0, CKF_HW | CKF_DIGEST, 64},
};

#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

static const struct mech *mech_find(CK_MECHANISM_TYPE type)
{
	size_t i;

	for (i = 0; i < NMECHS; i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}

CK_RV shim_mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
	size_t i;

	if (list) {
		if (*count < NMECHS) {
			*count = NMECHS;
			return CKR_BUFFER_TOO_SMALL;
		}
		for (i = 0; i < NMECHS; i++)
			list[i] = mechs[i].type;
	}
	*count = NMECHS;
	return CKR_OK;
}

CK_RV shim_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	const struct mech *m = mech_find(type);

	if (!m)
		return CKR_MECHANISM_INVALID;
	info->ulMinKeySize = m->min;
	info->ulMaxKeySize = m->max;
	info->flags = m->flags;
	return CKR_OK;
}

/* -------------------------------------------------------- card calls */

struct tlv_in {
	uint32_t tag;
	const void *val;
	size_t len;
};

struct card_resp {
	uint8_t *buf;
	size_t cap;
	struct hsmg_msg_view v;
};

static void resp_free(struct card_resp *r)
{
	if (r->buf)
		explicit_bzero(r->buf, r->cap);
	free(r->buf);
	r->buf = NULL;
}

/*
 * One request to the card on the token's kernel session; @out_max bounds
 * the answer's payload.  On CKR_OK @r holds the parsed answer (free it
 * with resp_free()); otherwise the CKR_* of the card or the transport.
 */
static CK_RV card_call(struct shim_session *s, uint32_t op, CK_MECHANISM_TYPE mech,
		       uint32_t op_class, const struct tlv_in *in, size_t nin, size_t out_max,
		       struct card_resp *r)
{
	struct hsmg_msg_builder b;
	uint64_t req_cap = HSMG_MSG_HDR_SIZE;
	uint32_t resp_len;
	uint8_t *req;
	ssize_t n;
	size_t i;
	int err, tries;
	CK_RV rv;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < nin; i++)
		req_cap += hsmg_msg_tlv_size(in[i].len);
	if (req_cap > HSMG_MAX_MSG_SIZE)
		return CKR_DATA_LEN_RANGE;
	req = malloc(req_cap);
	if (!req)
		return CKR_HOST_MEMORY;
	hsmg_msg_init(&b, req, req_cap, HSMG_MSG_REQUEST, op, mech);
	for (i = 0; i < nin; i++)
		hsmg_msg_put(&b, in[i].tag, in[i].val, in[i].len);
	n = hsmg_msg_finish(&b);
	if (n < 0) {
		shim_err("building %s: %s", hsmg_msg_op_name(op), hsmg_msg_strerror((int)n));
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	r->cap = out_max + RESP_SLACK;
	if (r->cap > HSMG_MAX_MSG_SIZE)
		r->cap = HSMG_MAX_MSG_SIZE;
	for (tries = 0; tries < 2; tries++) {
		r->buf = malloc(r->cap);
		if (!r->buf) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		resp_len = (uint32_t)r->cap;
		err = shim_g.tp_ops->submit(shim_g.tp, (uint32_t)s->slot->id, s->slot->ksession,
					    op_class, 0, shim_g.cfg.timeout_ms, req, (uint32_t)n,
					    r->buf, &resp_len);
		if (err != -ENOSPC || resp_len <= r->cap)
			break;
		/* The answer was bigger than expected: ask again with room. */
		free(r->buf);
		r->buf = NULL;
		r->cap = resp_len;
	}
	if (err) {
		shim_err("slot %lu: %s failed: %d", (unsigned long)s->slot->id,
			 hsmg_msg_op_name(op), err);
		rv = shim_errno_to_ckr(err);
		goto out;
	}
	err = hsmg_msg_parse_type(&r->v, r->buf, resp_len, HSMG_MSG_RESPONSE);
	if (err || r->v.hdr.op != op) {
		shim_err("slot %lu: bad %s answer: %s", (unsigned long)s->slot->id,
			 hsmg_msg_op_name(op), err ? hsmg_msg_strerror(err) : "wrong op");
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	rv = (CK_RV)r->v.hdr.rv;
	if (rv != CKR_OK)
		shim_dbg("slot %lu: %s: card says 0x%lx", (unsigned long)s->slot->id,
			 hsmg_msg_op_name(op), (unsigned long)rv);
out:
	explicit_bzero(req, req_cap);
	free(req);
	if (rv != CKR_OK)
		resp_free(r);
	return rv;
}

/* Copy response TLV @tag into a new buffer. */
static CK_RV resp_dup(const struct card_resp *r, uint32_t tag, uint8_t **out, size_t *len)
{
	const void *val;
	uint32_t n;

	if (!hsmg_msg_get(&r->v, tag, &val, &n))
		return CKR_DEVICE_ERROR;
	*out = malloc(n ? n : 1);
	if (!*out)
		return CKR_HOST_MEMORY;
	memcpy(*out, val, n);
	*len = n;
	return CKR_OK;
}

/* Length-query convention: CKR_OK with *@ready false for a query. */
static CK_RV out_check(CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_ULONG need, bool *ready)
{
	*ready = false;
	if (!out) {
		*out_len = need;
		return CKR_OK;
	}
	if (*out_len < need) {
		*out_len = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	*ready = true;
	return CKR_OK;
}

/* Did the call end the operation (anything but a query or a short buffer)? */
static bool op_ends(CK_RV rv, bool ready)
{
	return rv != CKR_BUFFER_TOO_SMALL && (rv != CKR_OK || ready);
}

/* ------------------------------------------------------------- keys */

static const CK_ATTRIBUTE_TYPE use_attr[SHIM_OP_NR] = {
    [SHIM_OP_ENCRYPT] = CKA_ENCRYPT,
    [SHIM_OP_DECRYPT] = CKA_DECRYPT,
    [SHIM_OP_SIGN] = CKA_SIGN,
    [SHIM_OP_VERIFY] = CKA_VERIFY,
};

static const CK_FLAGS op_flag[SHIM_OP_NR] = {
    [SHIM_OP_ENCRYPT] = CKF_ENCRYPT, [SHIM_OP_DECRYPT] = CKF_DECRYPT, [SHIM_OP_DIGEST] = CKF_DIGEST,
    [SHIM_OP_SIGN] = CKF_SIGN,	     [SHIM_OP_VERIFY] = CKF_VERIFY,
};

static bool mech_allowed(const struct shim_object *k, CK_MECHANISM_TYPE mech)
{
	const struct shim_attr *a = shim_obj_attr(k, CKA_ALLOWED_MECHANISMS);
	CK_MECHANISM_TYPE m;
	size_t i;

	if (!a || !a->len)
		return true;
	for (i = 0; i + sizeof(m) <= a->len; i += sizeof(m)) {
		memcpy(&m, a->val + i, sizeof(m));
		if (m == mech)
			return true;
	}
	return false;
}

/* Take the key material of @h for @kind with @mech into @op. */
static CK_RV op_key(struct shim_session *s, struct shim_op *op, enum shim_op_kind kind,
		    CK_MECHANISM_TYPE mech, CK_OBJECT_HANDLE h)
{
	struct shim_object *k;
	const struct shim_attr *a;
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE kt;
	CK_RV rv;

	rv = shim_obj_get(s, h, &k);
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return CKR_KEY_HANDLE_INVALID;
	if (rv != CKR_OK)
		return rv;
	cls = shim_obj_class(k);
	kt = shim_obj_ulong(k, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
	if (mech == CKM_AES_GCM) {
		if (cls != CKO_SECRET_KEY || kt != CKK_AES)
			rv = CKR_KEY_TYPE_INCONSISTENT;
	} else if (kind == SHIM_OP_SIGN) {
		if (cls != CKO_PRIVATE_KEY || kt != CKK_EC)
			rv = CKR_KEY_TYPE_INCONSISTENT;
	} else if (cls != CKO_PUBLIC_KEY || kt != CKK_EC) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
	}
	if (rv == CKR_OK && !shim_obj_bool(k, use_attr[kind], false))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (rv == CKR_OK && !mech_allowed(k, mech))
		rv = CKR_MECHANISM_INVALID;
	if (rv != CKR_OK)
		goto out;
	if (cls == CKO_PUBLIC_KEY) {
		a = shim_obj_attr(k, CKA_EC_POINT);
		if (!a || a->len != EC_POINT_LEN + 2 || a->val[0] != 0x04 || a->val[1] != 0x41) {
			rv = CKR_KEY_HANDLE_INVALID;
			goto out;
		}
		op->pubkey = true;
		op->key_len = EC_POINT_LEN;
		op->key = malloc(EC_POINT_LEN);
		if (op->key)
			memcpy(op->key, a->val + 2, EC_POINT_LEN);
	} else {
		a = shim_obj_attr(k, SHIM_CKA_BLOB);
		if (!a || !a->len) {
			rv = CKR_KEY_HANDLE_INVALID;
			goto out;
		}
		op->key_len = a->len;
		op->key = malloc(a->len);
		if (op->key)
			memcpy(op->key, a->val, a->len);
	}
	if (!op->key)
		rv = CKR_HOST_MEMORY;
out:
	shim_obj_put(k);
	return rv;
}

static CK_RV gcm_param(struct shim_op *op, const CK_MECHANISM *m)
{
	const CK_GCM_PARAMS *p = m->pParameter;
	struct hsmg_msg_gcm_param gp;

	if (!p || m->ulParameterLen != sizeof(*p))
		return CKR_MECHANISM_PARAM_INVALID;
	if (!p->iv_ptr || p->iv_len < 1 || p->iv_len > HSMG_MSG_GCM_MAX_IV ||
	    (p->aad_len && !p->aad_ptr) || p->aad_len > SHIM_MAX_INPUT || p->tag_bits < 32 ||
	    p->tag_bits > 128 || p->tag_bits % 8)
		return CKR_MECHANISM_PARAM_INVALID;
	memset(&gp, 0, sizeof(gp));
	gp.iv_len = (uint32_t)p->iv_len;
	gp.aad_len = (uint32_t)p->aad_len;
	gp.tag_bits = (uint32_t)p->tag_bits;
	op->param_len = sizeof(gp) + p->iv_len + p->aad_len;
	op->param = malloc(op->param_len);
	if (!op->param)
		return CKR_HOST_MEMORY;
	memcpy(op->param, &gp, sizeof(gp));
	memcpy(op->param + sizeof(gp), p->iv_ptr, p->iv_len);
	if (p->aad_len)
		memcpy(op->param + sizeof(gp) + p->iv_len, p->aad_ptr, p->aad_len);
	return CKR_OK;
}

static CK_ULONG gcm_tag_len(const struct shim_op *op)
{
	struct hsmg_msg_gcm_param gp;

	memcpy(&gp, op->param, sizeof(gp));
	return gp.tag_bits / 8;
}

/* C_*Init of every kind. */
static CK_RV op_init(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_MECHANISM_PTR m,
		     CK_OBJECT_HANDLE key)
{
	const struct mech *md;
	struct shim_session *s;
	struct shim_op *op;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(h, &s);
	if (rv != CKR_OK)
		goto out;
	op = &s->op[kind];
	if (op->active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (!m) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	md = mech_find(m->mechanism);
	if (!md || !(md->flags & op_flag[kind])) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (m->mechanism == CKM_AES_GCM)
		rv = gcm_param(op, m);
	else if (m->pParameter || m->ulParameterLen)
		rv = CKR_MECHANISM_PARAM_INVALID;
	if (rv == CKR_OK && kind != SHIM_OP_DIGEST)
		rv = op_key(s, op, kind, m->mechanism, key);
	if (rv != CKR_OK) {
		shim_op_end(op);
		goto out;
	}
	op->mech = m->mechanism;
	op->active = true;
out:
	shim_leave();
	return rv;
}

/* Find the active operation @kind of session @h (entered). */
static CK_RV op_get(CK_SESSION_HANDLE h, enum shim_op_kind kind, struct shim_session **s,
		    struct shim_op **op)
{
	CK_RV rv = shim_session_get(h, s);

	if (rv != CKR_OK)
		return rv;
	*op = &(*s)->op[kind];
	if (!(*op)->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	return CKR_OK;
}

/* Append input to the operation's collected input. */
static CK_RV op_collect(struct shim_op *op, const void *data, CK_ULONG len)
{
	uint8_t *n;

	if (!len)
		return CKR_OK;
	if (len > SHIM_MAX_INPUT || op->acc_len + len > SHIM_MAX_INPUT)
		return CKR_DATA_LEN_RANGE;
	n = malloc(op->acc_len + len);
	if (!n)
		return CKR_HOST_MEMORY;
	if (op->acc_len)
		memcpy(n, op->acc, op->acc_len);
	memcpy(n + op->acc_len, data, len);
	if (op->acc)
		explicit_bzero(op->acc, op->acc_len);
	free(op->acc);
	op->acc = n;
	op->acc_len += len;
	return CKR_OK;
}

/* ----------------------------------------------------------- random */

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	struct shim_session *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv == CKR_OK)
		rv = !pSeed && ulSeedLen ? CKR_ARGUMENTS_BAD : CKR_RANDOM_SEED_NOT_SUPPORTED;
	shim_leave();
	return rv;
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData, CK_ULONG ulRandomLen)
{
	struct shim_session *s;
	struct card_resp r;
	const void *val;
	uint32_t n, got;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv == CKR_OK && !pRandomData && ulRandomLen)
		rv = CKR_ARGUMENTS_BAD;
	while (rv == CKR_OK && ulRandomLen) {
		n = ulRandomLen > HSMG_MSG_MAX_RANDOM ? HSMG_MSG_MAX_RANDOM : (uint32_t)ulRandomLen;
		struct tlv_in in[] = {{HSMG_TAG_PARAM, &n, sizeof(n)}};

		rv = card_call(s, HSMG_MSG_OP_RANDOM, 0, HSMG_OP_RANDOM, in, 1, n, &r);
		if (rv != CKR_OK)
			break;
		if (!hsmg_msg_get(&r.v, HSMG_TAG_OUT_DATA, &val, &got) || got != n) {
			rv = CKR_DEVICE_ERROR;
		} else {
			memcpy(pRandomData, val, n);
			pRandomData += n;
			ulRandomLen -= n;
		}
		resp_free(&r);
	}
	shim_leave();
	return rv;
}

/* ------------------------------------------------------- generation */

static uint32_t key_usage(const struct shim_object *o)
{
	static const struct {
		CK_ATTRIBUTE_TYPE a;
		uint32_t use;
	} map[] = {
	    {CKA_ENCRYPT, HSMG_KEY_USE_ENCRYPT}, {CKA_DECRYPT, HSMG_KEY_USE_DECRYPT},
	    {CKA_SIGN, HSMG_KEY_USE_SIGN},	 {CKA_VERIFY, HSMG_KEY_USE_VERIFY},
	    {CKA_WRAP, HSMG_KEY_USE_WRAP},	 {CKA_UNWRAP, HSMG_KEY_USE_UNWRAP},
	    {CKA_DERIVE, HSMG_KEY_USE_DERIVE},
	};
	uint32_t u = 0;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (shim_obj_bool(o, map[i].a, false))
			u |= map[i].use;
	return u;
}

static uint32_t key_flags(const struct shim_object *o)
{
	return (shim_obj_is_token(o) ? HSMG_KEY_TOKEN : 0) |
	       (shim_obj_bool(o, CKA_EXTRACTABLE, false) ? HSMG_KEY_EXTRACTABLE : 0);
}

/* The session checks of shim_obj_add(), before asking the card. */
static CK_RV may_add(struct shim_session *s, const struct shim_object *o)
{
	if (shim_obj_is_token(o) && !shim_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (shim_obj_is_private(o) && !shim_session_user(s))
		return CKR_USER_NOT_LOGGED_IN;
	return CKR_OK;
}

static CK_RV set_blob(struct shim_object *o, const struct card_resp *r)
{
	const void *val;
	uint32_t len;

	if (!hsmg_msg_get(&r->v, HSMG_TAG_OUT_KEY, &val, &len) || !len)
		return CKR_DEVICE_ERROR;
	return shim_obj_set(o, SHIM_CKA_BLOB, val, len);
}

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	struct hsmg_msg_key_attrs ka;
	struct shim_object *o = NULL;
	struct shim_session *s;
	struct card_resp r;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	if (!pMechanism || !phKey || (!pTemplate && ulCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (pMechanism->mechanism != CKM_AES_KEY_GEN) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (pMechanism->pParameter || pMechanism->ulParameterLen) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	rv = shim_obj_from_template(CKO_SECRET_KEY, CKK_AES, pTemplate, ulCount, SHIM_TMPL_GENERATE,
				    &o);
	if (rv == CKR_OK)
		rv = may_add(s, o);
	if (rv != CKR_OK)
		goto out;
	memset(&ka, 0, sizeof(ka));
	ka.key_type = CKK_AES;
	ka.value_len = (uint32_t)shim_obj_ulong(o, CKA_VALUE_LEN, 0);
	ka.usage = key_usage(o);
	ka.flags = key_flags(o);
	struct tlv_in in[] = {{HSMG_TAG_ATTRS, &ka, sizeof(ka)}};

	rv = card_call(s, HSMG_MSG_OP_GENERATE_KEY, CKM_AES_KEY_GEN, HSMG_OP_KEYGEN, in, 1, 1024,
		       &r);
	if (rv != CKR_OK)
		goto out;
	rv = set_blob(o, &r);
	resp_free(&r);
	if (rv == CKR_OK)
		rv = shim_obj_mark_generated(o, CKM_AES_KEY_GEN);
	if (rv == CKR_OK) {
		rv = shim_obj_add(s, o, phKey);
		o = NULL;
	}
out:
	shim_obj_free(o);
	shim_leave();
	return rv;
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
			CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
			CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	struct shim_object *pub = NULL, *priv = NULL;
	struct hsmg_msg_key_attrs ka;
	uint8_t point[2 + EC_POINT_LEN];
	struct shim_session *s;
	struct card_resp r;
	const void *val;
	uint32_t len;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	if (!pMechanism || !phPublicKey || !phPrivateKey ||
	    (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
	    (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (pMechanism->mechanism != CKM_EC_KEY_PAIR_GEN) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (pMechanism->pParameter || pMechanism->ulParameterLen) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	rv = shim_obj_from_template(CKO_PUBLIC_KEY, CKK_EC, pPublicKeyTemplate,
				    ulPublicKeyAttributeCount, SHIM_TMPL_GENERATE, &pub);
	if (rv == CKR_OK)
		rv = shim_obj_from_template(CKO_PRIVATE_KEY, CKK_EC, pPrivateKeyTemplate,
					    ulPrivateKeyAttributeCount, SHIM_TMPL_GENERATE, &priv);
	if (rv != CKR_OK)
		goto out;
	if (!shim_obj_attr(pub, CKA_EC_PARAMS)) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto out;
	}
	rv = may_add(s, pub);
	if (rv == CKR_OK)
		rv = may_add(s, priv);
	if (rv == CKR_OK)
		rv = shim_obj_set(priv, CKA_EC_PARAMS, shim_p256_oid, sizeof(shim_p256_oid));
	if (rv != CKR_OK)
		goto out;
	memset(&ka, 0, sizeof(ka));
	ka.key_type = CKK_EC;
	ka.curve = HSMG_CURVE_P256;
	/* The blob is the private key; VERIFY lets the card check with it. */
	ka.usage =
	    (key_usage(priv) & (HSMG_KEY_USE_SIGN | HSMG_KEY_USE_DERIVE)) | HSMG_KEY_USE_VERIFY;
	ka.flags = key_flags(priv);
	struct tlv_in in[] = {{HSMG_TAG_ATTRS, &ka, sizeof(ka)}};

	rv = card_call(s, HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_EC_KEY_PAIR_GEN, HSMG_OP_KEYGEN, in, 1,
		       1024, &r);
	if (rv != CKR_OK)
		goto out;
	rv = set_blob(priv, &r);
	if (rv == CKR_OK) {
		if (!hsmg_msg_get(&r.v, HSMG_TAG_OUT_PUBKEY, &val, &len) || len != EC_POINT_LEN) {
			rv = CKR_DEVICE_ERROR;
		} else {
			point[0] = 0x04; /* DER OCTET STRING */
			point[1] = EC_POINT_LEN;
			memcpy(point + 2, val, EC_POINT_LEN);
			rv = shim_obj_set(pub, CKA_EC_POINT, point, sizeof(point));
		}
	}
	resp_free(&r);
	if (rv == CKR_OK)
		rv = shim_obj_mark_generated(pub, CKM_EC_KEY_PAIR_GEN);
	if (rv == CKR_OK)
		rv = shim_obj_mark_generated(priv, CKM_EC_KEY_PAIR_GEN);
	if (rv != CKR_OK)
		goto out;
	rv = shim_obj_add(s, pub, phPublicKey);
	pub = NULL;
	if (rv != CKR_OK)
		goto out;
	rv = shim_obj_add(s, priv, phPrivateKey);
	priv = NULL;
	if (rv != CKR_OK)
		shim_obj_remove(s, *phPublicKey);
out:
	shim_obj_free(pub);
	shim_obj_free(priv);
	shim_leave();
	return rv;
}

/* ------------------------------------------------- encrypt / decrypt */

static CK_RV gcm_run(struct shim_session *s, struct shim_op *op, bool enc, const void *in,
		     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	struct card_resp r;
	const void *val;
	uint32_t len;
	CK_ULONG need;
	CK_RV rv;

	if (in_len > SHIM_MAX_INPUT)
		return CKR_DATA_LEN_RANGE;
	struct tlv_in tin[] = {
	    {HSMG_TAG_KEY, op->key, op->key_len},
	    {HSMG_TAG_PARAM, op->param, op->param_len},
	    {HSMG_TAG_DATA, in, in_len},
	};

	need = enc ? in_len + gcm_tag_len(op) : in_len - gcm_tag_len(op);
	rv = card_call(s, enc ? HSMG_MSG_OP_ENCRYPT : HSMG_MSG_OP_DECRYPT, op->mech,
		       HSMG_OP_SYMMETRIC, tin, 3, need, &r);
	if (rv != CKR_OK)
		return rv;
	if (!hsmg_msg_get(&r.v, HSMG_TAG_OUT_DATA, &val, &len) || len != need) {
		rv = CKR_DEVICE_ERROR;
	} else {
		memcpy(out, val, len);
		*out_len = len;
	}
	resp_free(&r);
	return rv;
}

/* Single-part encrypt/decrypt (C_Encrypt, C_Decrypt). */
static CK_RV cipher_once(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR in,
			 CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	bool enc = kind == SHIM_OP_ENCRYPT, ready = false;
	struct shim_session *s;
	struct shim_op *op;
	CK_ULONG tag;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(h, kind, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if ((!in && in_len) || !out_len) {
		rv = CKR_ARGUMENTS_BAD;
		goto end;
	}
	if (op->multi) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	tag = gcm_tag_len(op);
	if (!enc && in_len < tag) {
		rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
		goto end;
	}
	rv = out_check(out, out_len, enc ? in_len + tag : in_len - tag, &ready);
	if (rv == CKR_OK && ready)
		rv = gcm_run(s, op, enc, in, in_len, out, out_len);
end:
	if (op_ends(rv, ready))
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

static CK_RV cipher_update(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR in,
			   CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	struct shim_session *s;
	struct shim_op *op;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(h, kind, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if ((!in && in_len) || !out_len) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		/* GCM answers at *Final; nothing is output now. */
		rv = op_collect(op, in, in_len);
		op->multi = true;
		*out_len = 0;
	}
	if (rv != CKR_OK)
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

static CK_RV cipher_final(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR out,
			  CK_ULONG_PTR out_len)
{
	bool enc = kind == SHIM_OP_ENCRYPT, ready = false;
	struct shim_session *s;
	struct shim_op *op;
	CK_ULONG tag;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(h, kind, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (!out_len) {
		rv = CKR_ARGUMENTS_BAD;
		goto end;
	}
	tag = gcm_tag_len(op);
	if (!enc && op->acc_len < tag) {
		rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
		goto end;
	}
	rv = out_check(out, out_len, enc ? op->acc_len + tag : op->acc_len - tag, &ready);
	if (rv == CKR_OK && ready)
		rv = gcm_run(s, op, enc, op->acc, op->acc_len, out, out_len);
end:
	if (op_ends(rv, ready))
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, SHIM_OP_ENCRYPT, pMechanism, hKey);
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	return cipher_once(hSession, SHIM_OP_ENCRYPT, pData, ulDataLen, pEncryptedData,
			   pulEncryptedDataLen);
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
		      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	return cipher_update(hSession, SHIM_OP_ENCRYPT, pPart, ulPartLen, pEncryptedPart,
			     pulEncryptedPartLen);
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
		     CK_ULONG_PTR pulLastEncryptedPartLen)
{
	return cipher_final(hSession, SHIM_OP_ENCRYPT, pLastEncryptedPart, pulLastEncryptedPartLen);
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, SHIM_OP_DECRYPT, pMechanism, hKey);
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
		CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	return cipher_once(hSession, SHIM_OP_DECRYPT, pEncryptedData, ulEncryptedDataLen, pData,
			   pulDataLen);
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	return cipher_update(hSession, SHIM_OP_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart,
			     pulPartLen);
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
	return cipher_final(hSession, SHIM_OP_DECRYPT, pLastPart, pulLastPartLen);
}

/* ----------------------------------------------------------- digest */

static CK_ULONG md_len(CK_MECHANISM_TYPE mech)
{
	const struct mech *m = mech_find(mech);

	return m ? m->md_len : 0;
}

/* Feed @data into the op's digest state (@mech), starting one if needed. */
static CK_RV digest_feed(struct shim_session *s, struct shim_op *op, CK_MECHANISM_TYPE mech,
			 const void *data, CK_ULONG len)
{
	struct card_resp r;
	uint8_t *st;
	size_t st_len;
	CK_RV rv;

	if (len > SHIM_MAX_INPUT)
		return CKR_DATA_LEN_RANGE;
	if (!op->state) {
		rv = card_call(s, HSMG_MSG_OP_DIGEST_INIT, mech, HSMG_OP_DIGEST, NULL, 0, 0, &r);
		if (rv != CKR_OK)
			return rv;
		rv = resp_dup(&r, HSMG_TAG_OUT_STATE, &op->state, &op->state_len);
		resp_free(&r);
		if (rv != CKR_OK)
			return rv;
	}
	struct tlv_in in[] = {
	    {HSMG_TAG_STATE, op->state, op->state_len},
	    {HSMG_TAG_DATA, data, len},
	};

	rv = card_call(s, HSMG_MSG_OP_DIGEST_UPDATE, mech, HSMG_OP_DIGEST, in, 2, 0, &r);
	if (rv != CKR_OK)
		return rv;
	rv = resp_dup(&r, HSMG_TAG_OUT_STATE, &st, &st_len);
	resp_free(&r);
	if (rv != CKR_OK)
		return rv;
	explicit_bzero(op->state, op->state_len);
	free(op->state);
	op->state = st;
	op->state_len = st_len;
	return CKR_OK;
}

/* The digest of everything fed (or of @data when nothing was). */
static CK_RV digest_finish(struct shim_session *s, struct shim_op *op, CK_MECHANISM_TYPE mech,
			   const void *data, CK_ULONG len, uint8_t *md, CK_ULONG want)
{
	struct card_resp r;
	const void *val;
	uint32_t got;
	CK_RV rv;

	if (len > SHIM_MAX_INPUT)
		return CKR_DATA_LEN_RANGE;
	if (op->state) {
		struct tlv_in in[] = {{HSMG_TAG_STATE, op->state, op->state_len}};

		rv = card_call(s, HSMG_MSG_OP_DIGEST_FINAL, mech, HSMG_OP_DIGEST, in, 1, want, &r);
	} else {
		struct tlv_in in[] = {{HSMG_TAG_DATA, data, len}};

		rv = card_call(s, HSMG_MSG_OP_DIGEST, mech, HSMG_OP_DIGEST, in, 1, want, &r);
	}
	if (rv != CKR_OK)
		return rv;
	if (!hsmg_msg_get(&r.v, HSMG_TAG_OUT_DATA, &val, &got) || got != want)
		rv = CKR_DEVICE_ERROR;
	else
		memcpy(md, val, got);
	resp_free(&r);
	return rv;
}

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	return op_init(hSession, SHIM_OP_DIGEST, pMechanism, CK_INVALID_HANDLE);
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	struct shim_session *s;
	struct shim_op *op;
	bool ready = false;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(hSession, SHIM_OP_DIGEST, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (op->multi) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((!pData && ulDataLen) || !pulDigestLen)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = out_check(pDigest, pulDigestLen, md_len(op->mech), &ready);
	if (rv == CKR_OK && ready) {
		rv = digest_finish(s, op, op->mech, pData, ulDataLen, pDigest, md_len(op->mech));
		if (rv == CKR_OK)
			*pulDigestLen = md_len(op->mech);
	}
	if (op_ends(rv, ready))
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	struct shim_session *s;
	struct shim_op *op;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(hSession, SHIM_OP_DIGEST, &s, &op);
	if (rv != CKR_OK)
		goto out;
	op->multi = true;
	rv = !pPart && ulPartLen ? CKR_ARGUMENTS_BAD
				 : digest_feed(s, op, op->mech, pPart, ulPartLen);
	if (rv != CKR_OK)
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	struct shim_session *s;
	struct shim_op *op;
	bool ready = false;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(hSession, SHIM_OP_DIGEST, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (!pulDigestLen)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = out_check(pDigest, pulDigestLen, md_len(op->mech), &ready);
	if (rv == CKR_OK && ready) {
		rv = digest_finish(s, op, op->mech, NULL, 0, pDigest, md_len(op->mech));
		if (rv == CKR_OK)
			*pulDigestLen = md_len(op->mech);
	}
	if (op_ends(rv, ready))
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

/* ---------------------------------------------------- sign / verify */

/*
 * Sign or verify @data (single part), or the hash collected by *Update
 * (multi-part CKM_ECDSA_SHA256 becomes CKM_ECDSA over the card's SHA-256).
 */
static CK_RV ecdsa_run(struct shim_session *s, struct shim_op *op, bool sign, const void *data,
		       CK_ULONG len, uint8_t *sig, CK_ULONG sig_len)
{
	CK_MECHANISM_TYPE mech = op->mech;
	uint8_t hash[32];
	struct card_resp r;
	const void *val;
	uint32_t got;
	struct tlv_in in[3];
	CK_RV rv;

	if (op->multi) {
		rv = digest_finish(s, op, CKM_SHA256, NULL, 0, hash, sizeof(hash));
		if (rv != CKR_OK)
			return rv;
		data = hash;
		len = sizeof(hash);
		mech = CKM_ECDSA;
	}
	if (len > SHIM_MAX_INPUT)
		return CKR_DATA_LEN_RANGE;
	in[0].tag = op->pubkey ? HSMG_TAG_PUBKEY : HSMG_TAG_KEY;
	in[0].val = op->key;
	in[0].len = op->key_len;
	in[1].tag = HSMG_TAG_DATA;
	in[1].val = data;
	in[1].len = len;
	in[2].tag = HSMG_TAG_SIGNATURE;
	in[2].val = sig;
	in[2].len = sig_len;
	rv = card_call(s, sign ? HSMG_MSG_OP_SIGN : HSMG_MSG_OP_VERIFY, mech,
		       sign ? HSMG_OP_SIGN : HSMG_OP_VERIFY, in, sign ? 2 : 3, ECDSA_SIG_LEN, &r);
	if (rv != CKR_OK)
		return rv;
	if (sign) {
		if (!hsmg_msg_get(&r.v, HSMG_TAG_OUT_DATA, &val, &got) || got != ECDSA_SIG_LEN)
			rv = CKR_DEVICE_ERROR;
		else
			memcpy(sig, val, got);
	}
	resp_free(&r);
	return rv;
}

static CK_RV sig_update(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR part, CK_ULONG len)
{
	struct shim_session *s;
	struct shim_op *op;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(h, kind, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (!part && len)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->mech != CKM_ECDSA_SHA256)
		rv = CKR_MECHANISM_INVALID; /* CKM_ECDSA is single-part only */
	else
		rv = digest_feed(s, op, CKM_SHA256, part, len);
	op->multi = true;
	if (rv != CKR_OK)
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, SHIM_OP_SIGN, pMechanism, hKey);
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	     CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	struct shim_session *s;
	struct shim_op *op;
	bool ready = false;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(hSession, SHIM_OP_SIGN, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (op->multi) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((!pData && ulDataLen) || !pulSignatureLen)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = out_check(pSignature, pulSignatureLen, ECDSA_SIG_LEN, &ready);
	if (rv == CKR_OK && ready) {
		rv = ecdsa_run(s, op, true, pData, ulDataLen, pSignature, ECDSA_SIG_LEN);
		if (rv == CKR_OK)
			*pulSignatureLen = ECDSA_SIG_LEN;
	}
	if (op_ends(rv, ready))
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return sig_update(hSession, SHIM_OP_SIGN, pPart, ulPartLen);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	struct shim_session *s;
	struct shim_op *op;
	bool ready = false;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(hSession, SHIM_OP_SIGN, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (!pulSignatureLen)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->mech != CKM_ECDSA_SHA256)
		rv = CKR_MECHANISM_INVALID;
	else
		rv = out_check(pSignature, pulSignatureLen, ECDSA_SIG_LEN, &ready);
	if (rv == CKR_OK && ready) {
		op->multi = true; /* SignFinal without update: hash of nothing */
		rv = ecdsa_run(s, op, true, NULL, 0, pSignature, ECDSA_SIG_LEN);
		if (rv == CKR_OK)
			*pulSignatureLen = ECDSA_SIG_LEN;
	}
	if (op_ends(rv, ready))
		shim_op_end(op);
out:
	shim_leave();
	return rv;
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, SHIM_OP_VERIFY, pMechanism, hKey);
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	struct shim_session *s;
	struct shim_op *op;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(hSession, SHIM_OP_VERIFY, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (op->multi) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((!pData && ulDataLen) || !pSignature)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = ecdsa_run(s, op, false, pData, ulDataLen, pSignature, ulSignatureLen);
	shim_op_end(op);
out:
	shim_leave();
	return rv;
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return sig_update(hSession, SHIM_OP_VERIFY, pPart, ulPartLen);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	struct shim_session *s;
	struct shim_op *op;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = op_get(hSession, SHIM_OP_VERIFY, &s, &op);
	if (rv != CKR_OK)
		goto out;
	if (!pSignature) {
		rv = CKR_ARGUMENTS_BAD;
	} else if (op->mech != CKM_ECDSA_SHA256) {
		rv = CKR_MECHANISM_INVALID;
	} else {
		op->multi = true;
		rv = ecdsa_run(s, op, false, NULL, 0, pSignature, ulSignatureLen);
	}
	shim_op_end(op);
out:
	shim_leave();
	return rv;
}
