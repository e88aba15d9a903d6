// SPDX-License-Identifier: GPL-2.0
/*
 * crypto - random, encrypt/decrypt, sign/verify, digest (see crypto.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "hsmgroup_msg.h"

#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "module.h"
#include "object.h"
#include "objmgr.h"
#include "pubverify.h"
#include "request.h"
#include "session.h"
#include "slot.h"

enum phase { PH_SINGLE, PH_INIT, PH_UPDATE, PH_FINAL };

/*
 * Update and Final calls of a mechanism that is single-part only (raw RSA, PSS,
 * OAEP, ECDSA): "function not supported" for it, and like every error of
 * those calls it ends the operation.  (What SoftHSM does and what
 * pkcs11-tool --test accepts: it warns and starts over with C_SignInit;
 * CKR_MECHANISM_INVALID counted as an error there.)
 */
#define SINGLE_PART_ONLY CKR_FUNCTION_NOT_SUPPORTED

static const uint32_t opcode[SHIM_OP_NR][4] = {
    [SHIM_OP_ENCRYPT] = {HSMG_MSG_OP_ENCRYPT, HSMG_MSG_OP_ENCRYPT_INIT, HSMG_MSG_OP_ENCRYPT_UPDATE,
			 HSMG_MSG_OP_ENCRYPT_FINAL},
    [SHIM_OP_DECRYPT] = {HSMG_MSG_OP_DECRYPT, HSMG_MSG_OP_DECRYPT_INIT, HSMG_MSG_OP_DECRYPT_UPDATE,
			 HSMG_MSG_OP_DECRYPT_FINAL},
    [SHIM_OP_DIGEST] = {HSMG_MSG_OP_DIGEST, HSMG_MSG_OP_DIGEST_INIT, HSMG_MSG_OP_DIGEST_UPDATE,
			HSMG_MSG_OP_DIGEST_FINAL},
    [SHIM_OP_SIGN] = {HSMG_MSG_OP_SIGN, HSMG_MSG_OP_SIGN_INIT, HSMG_MSG_OP_SIGN_UPDATE,
		      HSMG_MSG_OP_SIGN_FINAL},
    [SHIM_OP_VERIFY] = {HSMG_MSG_OP_VERIFY, HSMG_MSG_OP_VERIFY_INIT, HSMG_MSG_OP_VERIFY_UPDATE,
			HSMG_MSG_OP_VERIFY_FINAL},
};

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

static bool is_mac(const struct shim_op *op)
{
	return op->m->key == HSMG_MECH_KEY_AES || op->m->key == HSMG_MECH_KEY_GENERIC;
}

static uint32_t op_class(const struct shim_op *op, enum shim_op_kind kind)
{
	switch (kind) {
	case SHIM_OP_DIGEST:
		return HSMG_OP_DIGEST;
	case SHIM_OP_ENCRYPT:
	case SHIM_OP_VERIFY:
		return is_mac(op) ? HSMG_OP_SYMMETRIC : HSMG_OP_VERIFY;
	default:
		return is_mac(op) ? HSMG_OP_SYMMETRIC : HSMG_OP_SIGN;
	}
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

/* ------------------------------------------------------- operations */

/* Take operation @kind of session @h for a call: entered, referenced, busy. */
static CK_RV op_begin(CK_SESSION_HANDLE h, enum shim_op_kind kind, struct shim_session **s,
		      struct shim_op **op)
{
	CK_RV rv = shim_session_enter(h, s);

	if (rv != CKR_OK)
		return rv;
	*op = &(*s)->op[kind];
	if (!(*op)->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if ((*op)->busy)
		rv = CKR_OPERATION_ACTIVE; /* another thread is in it */
	if (rv != CKR_OK) {
		shim_session_leave(*s);
		return rv;
	}
	(*op)->busy = true;
	return CKR_OK;
}

/* Give the operation back, ending it when @end (or cancelled meanwhile). */
static void op_done(struct shim_session *s, struct shim_op *op, bool end)
{
	op->busy = false;
	if (end || op->cancel)
		shim_op_end(op);
	shim_session_leave(s);
}

static void buf_free(uint8_t **p, size_t len)
{
	if (*p)
		explicit_bzero(*p, len);
	free(*p);
	*p = NULL;
}

/*
 * One part of operation @op on the card.  Sends the key input (every part
 * but digests), the parameter (SINGLE/INIT), the state (UPDATE/FINAL),
 * @data and @sig when given; keeps the next state; copies OUT_DATA (at
 * most @cap bytes) to @out.
 */
static CK_RV op_part(struct shim_session *s, struct shim_op *op, enum shim_op_kind kind,
		     enum phase ph, const void *data, size_t len, bool with_data, const void *sig,
		     size_t sig_len, uint8_t *out, size_t cap, size_t *olen)
{
	struct hsmg_msg_key_attrs ka;
	struct shim_tlv in[6];
	struct shim_resp r;
	const void *val;
	uint32_t vlen;
	size_t n = 0;
	CK_RV rv;

	if (op->key) {
		in[n].tag = op->pubkey ? HSMG_TAG_PUBKEY : HSMG_TAG_KEY;
		in[n].val = op->key;
		in[n++].len = op->key_len;
		if (op->pubkey && op->key_type == CKK_RSA) {
			memset(&ka, 0, sizeof(ka));
			ka.key_type = CKK_RSA;
			in[n].tag = HSMG_TAG_ATTRS;
			in[n].val = &ka;
			in[n++].len = sizeof(ka);
		}
	}
	if ((ph == PH_SINGLE || ph == PH_INIT) && op->param) {
		in[n].tag = HSMG_TAG_PARAM;
		in[n].val = op->param;
		in[n++].len = op->param_len;
	}
	if (ph == PH_UPDATE || ph == PH_FINAL) {
		in[n].tag = HSMG_TAG_STATE;
		in[n].val = op->state;
		in[n++].len = op->state_len;
	}
	if (with_data) {
		in[n].tag = HSMG_TAG_DATA;
		in[n].val = data;
		in[n++].len = len;
	}
	if (sig) {
		in[n].tag = HSMG_TAG_SIGNATURE;
		in[n].val = sig;
		in[n++].len = sig_len;
	}
	rv = shim_card_call(s, opcode[kind][ph], op->mech, op_class(op, kind), in, n,
			    cap + (ph == PH_SINGLE || ph == PH_FINAL ? 0 : 2048), &r);
	if (rv != CKR_OK)
		return rv;
	if (ph == PH_INIT || ph == PH_UPDATE) {
		uint8_t *st;
		size_t st_len;

		rv = shim_resp_dup(&r, HSMG_TAG_OUT_STATE, &st, &st_len);
		if (rv == CKR_OK) {
			buf_free(&op->state, op->state_len);
			op->state = st;
			op->state_len = st_len;
			op->started = true;
		}
	}
	if (rv == CKR_OK && olen) {
		*olen = 0;
		if (shim_resp_get(&r, HSMG_TAG_OUT_DATA, &val, &vlen)) {
			if (vlen > cap) {
				shim_err("card answered %u bytes, %zu expected", vlen, cap);
				rv = CKR_DEVICE_ERROR;
			} else {
				if (vlen)
					memcpy(out, val, vlen);
				*olen = vlen;
			}
		} else if (kind != SHIM_OP_VERIFY && ph != PH_INIT) {
			rv = CKR_DEVICE_ERROR;
		}
	}
	shim_resp_free(&r);
	return rv;
}

static bool gcm_decrypt(const struct shim_op *op, enum shim_op_kind kind)
{
	return kind == SHIM_OP_DECRYPT && op->mech == CKM_AES_GCM;
}

/* Append @n bytes to the held-back plaintext. */
static CK_RV acc_add(struct shim_op *op, const void *p, size_t n)
{
	uint8_t *nb;

	if (!n)
		return CKR_OK;
	nb = malloc(op->acc_len + n);
	if (!nb)
		return CKR_HOST_MEMORY;
	if (op->acc_len)
		memcpy(nb, op->acc, op->acc_len);
	memcpy(nb + op->acc_len, p, n);
	buf_free(&op->acc, op->acc_len);
	op->acc = nb;
	op->acc_len += n;
	return CKR_OK;
}

/*
 * Feed @len bytes (any size) to a multi-part operation, starting it on the
 * card if needed; output (ciphers) goes to @out (room @cap), or for GCM
 * decryption to the held-back buffer.  *@olen: bytes written to @out.
 */
static CK_RV op_feed(struct shim_session *s, struct shim_op *op, enum shim_op_kind kind,
		     const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
	bool cipher = kind == SHIM_OP_ENCRYPT || kind == SHIM_OP_DECRYPT;
	uint8_t *tmp = NULL;
	size_t n, got, done = 0;
	CK_RV rv = CKR_OK;

	*olen = 0;
	if (!op->started) {
		rv = op_part(s, op, kind, PH_INIT, NULL, 0, false, NULL, 0, NULL, 0, NULL);
		if (rv != CKR_OK)
			return rv;
	}
	if (gcm_decrypt(op, kind)) {
		tmp = malloc(SHIM_CHUNK + 32);
		if (!tmp)
			return CKR_HOST_MEMORY;
	}
	while (rv == CKR_OK && done < len) {
		n = len - done > SHIM_CHUNK ? SHIM_CHUNK : len - done;
		got = 0;
		if (tmp) {
			rv = op_part(s, op, kind, PH_UPDATE, data + done, n, true, NULL, 0, tmp,
				     SHIM_CHUNK + 32, &got);
			if (rv == CKR_OK)
				rv = acc_add(op, tmp, got);
		} else if (cipher) {
			rv = op_part(s, op, kind, PH_UPDATE, data + done, n, true, NULL, 0,
				     out + *olen, cap - *olen, &got);
			*olen += got;
		} else {
			rv = op_part(s, op, kind, PH_UPDATE, data + done, n, true, NULL, 0, NULL, 0,
				     NULL);
		}
		done += n;
		op->in_total += n;
	}
	if (tmp) {
		explicit_bzero(tmp, SHIM_CHUNK + 32);
		free(tmp);
	}
	op->out_total += *olen;
	return rv;
}

/* The FINAL part; GCM decryption prepends the held-back plaintext. */
static CK_RV op_final(struct shim_session *s, struct shim_op *op, enum shim_op_kind kind,
		      const void *sig, size_t sig_len, uint8_t *out, size_t cap, size_t *olen)
{
	size_t got = 0, held = 0;
	CK_RV rv;

	if (!op->started) {
		rv = op_part(s, op, kind, PH_INIT, NULL, 0, false, NULL, 0, NULL, 0, NULL);
		if (rv != CKR_OK)
			return rv;
	}
	if (gcm_decrypt(op, kind)) {
		if (op->acc_len > cap)
			return CKR_DEVICE_ERROR;
		held = op->acc_len;
	}
	rv = op_part(s, op, kind, PH_FINAL, NULL, 0, false, sig, sig_len, out ? out + held : NULL,
		     out ? cap - held : 0, out ? &got : NULL);
	if (rv == CKR_OK && held)
		memcpy(out, op->acc, held);
	if (olen)
		*olen = held + got;
	return rv;
}

/* ------------------------------------------------------------- init */

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

/* Take the key material of @h for @kind with mechanism @m into @op. */
static CK_RV op_key(struct shim_session *s, struct shim_op *op, enum shim_op_kind kind,
		    const struct hsmg_mech *m, CK_OBJECT_HANDLE h)
{
	bool pub_op = kind == SHIM_OP_ENCRYPT || kind == SHIM_OP_VERIFY;
	struct shim_object *k;
	CK_OBJECT_CLASS cls, want_cls;
	CK_KEY_TYPE kt, want_kt;
	CK_RV rv;

	rv = shim_obj_get(s, h, &k);
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return CKR_KEY_HANDLE_INVALID;
	if (rv != CKR_OK)
		return rv;
	cls = shim_obj_class(k);
	kt = shim_obj_ulong(k, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
	switch (m->key) {
	case HSMG_MECH_KEY_AES:
		want_cls = CKO_SECRET_KEY;
		want_kt = CKK_AES;
		break;
	case HSMG_MECH_KEY_GENERIC:
		want_cls = CKO_SECRET_KEY;
		want_kt = CKK_GENERIC_SECRET;
		break;
	case HSMG_MECH_KEY_RSA:
		want_cls = pub_op ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
		want_kt = CKK_RSA;
		break;
	default:
		want_cls = pub_op ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
		want_kt = CKK_EC;
		break;
	}
	if (cls != want_cls || kt != want_kt)
		rv = CKR_KEY_TYPE_INCONSISTENT;
	else if (!shim_obj_bool(k, use_attr[kind], false))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	else if (!mech_allowed(k, m->type))
		rv = CKR_MECHANISM_INVALID;
	if (rv == CKR_OK)
		rv = shim_key_material(k, &op->key, &op->key_len, &op->pubkey);
	if (rv == CKR_OK) {
		op->key_type = kt;
		op->mod_len = shim_key_modulus_len(k);
		if (kt == CKK_RSA)
			op->out_len = op->mod_len;
		else if (kt == CKK_EC)
			op->out_len = 2 * shim_curve_order_len(shim_key_curve(k));
		if (!op->out_len && (kt == CKK_RSA || kt == CKK_EC))
			rv = CKR_KEY_HANDLE_INVALID;
	}
	shim_obj_put(k);
	return rv;
}

static CK_RV op_init(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_MECHANISM_PTR pm,
		     CK_OBJECT_HANDLE key)
{
	const struct hsmg_mech *m;
	struct shim_session *s;
	struct shim_op *op;
	CK_RV rv;

	rv = shim_session_enter(h, &s);
	if (rv != CKR_OK)
		return rv;
	op = &s->op[kind];
	if (op->active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (!pm) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	m = hsmg_mech_find(pm->mechanism);
	if (!m || !(m->flags & op_flag[kind])) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	op->m = m;
	op->out_len = m->out_len;
	rv = shim_mech_param(m, pm, &op->param, &op->param_len, &op->out_len, &op->tag_len);
	if (rv == CKR_OK && kind != SHIM_OP_DIGEST) {
		CK_ULONG mac_len = op->out_len;

		rv = op_key(s, op, kind, m, key);
		if (is_mac(op))
			op->out_len = mac_len;
	}
	if (rv != CKR_OK) {
		shim_op_end(op);
		goto out;
	}
	op->mech = pm->mechanism;
	op->active = true;
out:
	shim_session_leave(s);
	return rv;
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
	struct shim_resp r;
	const void *val;
	uint32_t n, got;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pRandomData && ulRandomLen)
		rv = CKR_ARGUMENTS_BAD;
	while (rv == CKR_OK && ulRandomLen) {
		n = ulRandomLen > HSMG_MSG_MAX_RANDOM ? HSMG_MSG_MAX_RANDOM : (uint32_t)ulRandomLen;
		struct shim_tlv in[] = {{HSMG_TAG_PARAM, &n, sizeof(n)}};

		rv = shim_card_call(s, HSMG_MSG_OP_RANDOM, 0, HSMG_OP_RANDOM, in, 1, n, &r);
		if (rv != CKR_OK)
			break;
		if (!shim_resp_get(&r, HSMG_TAG_OUT_DATA, &val, &got) || got != n) {
			rv = CKR_DEVICE_ERROR;
		} else {
			memcpy(pRandomData, val, n);
			pRandomData += n;
			ulRandomLen -= n;
		}
		shim_resp_free(&r);
	}
	shim_session_leave(s);
	return rv;
}

/* ------------------------------------------------- encrypt / decrypt */

/*
 * Output of a cipher after @in bytes in total (@final: at the end), as the
 * card gives it: exact, or an upper bound where only the card knows
 * (padding removal).  The size an update needs is this minus what earlier
 * parts returned, so it must be exact before the end: CBC_PAD decryption
 * holds back the last whole block (it may be the padding) until FINAL, so
 * after @in bytes it has returned every whole block but that one:
 * (@in - 1) / 16 * 16.  At the end at most @in - 1 (at least one byte of
 * padding goes).
 */
static uint64_t cipher_out(const struct shim_op *op, bool enc, uint64_t in, bool final)
{
	switch (op->mech) {
	case CKM_AES_ECB:
	case CKM_AES_CBC:
		return final ? in : in / 16 * 16;
	case CKM_AES_CBC_PAD:
		if (enc)
			return final ? (in / 16 + 1) * 16 : in / 16 * 16;
		if (!in)
			return 0;
		return final ? in - 1 : (in - 1) / 16 * 16;
	case CKM_AES_CTR:
		return in;
	case CKM_AES_GCM:
		if (enc)
			return final ? in + op->tag_len : in;
		return final ? in - op->tag_len : 0;
	default: /* RSA */
		return op->mod_len;
	}
}

/* Lengths the mechanism refuses at the end of the input. */
static CK_RV cipher_len_check(const struct shim_op *op, bool enc, uint64_t in)
{
	if ((op->mech == CKM_AES_ECB || op->mech == CKM_AES_CBC ||
	     (!enc && op->mech == CKM_AES_CBC_PAD)) &&
	    in % 16)
		return enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (!enc && op->mech == CKM_AES_GCM && in < op->tag_len)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	return CKR_OK;
}

static CK_RV cipher_once(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR in,
			 CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	bool enc = kind == SHIM_OP_ENCRYPT, ready = false;
	struct shim_session *s;
	struct shim_op *op;
	size_t got = 0, fin = 0;
	CK_RV rv;

	rv = op_begin(h, kind, &s, &op);
	if (rv != CKR_OK)
		return rv;
	if ((!in && in_len) || !out_len) {
		rv = CKR_ARGUMENTS_BAD;
		goto end;
	}
	if (op->multi) {
		op_done(s, op, false);
		return CKR_OPERATION_ACTIVE;
	}
	rv = cipher_len_check(op, enc, in_len);
	if (rv == CKR_OK)
		rv = out_check(out, out_len, cipher_out(op, enc, in_len, true), &ready);
	if (rv != CKR_OK || !ready)
		goto end;
	if (in_len <= SHIM_CHUNK || !op->m->multi) {
		rv =
		    op_part(s, op, kind, PH_SINGLE, in, in_len, true, NULL, 0, out, *out_len, &got);
	} else {
		rv = op_feed(s, op, kind, in, in_len, out, *out_len, &got);
		if (rv == CKR_OK)
			rv = op_final(s, op, kind, NULL, 0, out + got, *out_len - got, &fin);
		if (rv != CKR_OK)
			explicit_bzero(out, *out_len);
	}
	if (rv == CKR_OK)
		*out_len = got + fin;
end:
	op_done(s, op, op_ends(rv, ready));
	return rv;
}

static CK_RV cipher_update(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR in,
			   CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	bool enc = kind == SHIM_OP_ENCRYPT, ready = false;
	struct shim_session *s;
	struct shim_op *op;
	size_t got = 0;
	CK_RV rv;

	rv = op_begin(h, kind, &s, &op);
	if (rv != CKR_OK)
		return rv;
	if ((!in && in_len) || !out_len) {
		rv = CKR_ARGUMENTS_BAD;
		goto end;
	}
	if (!op->m->multi) {
		rv = SINGLE_PART_ONLY; /* RSA */
		goto end;
	}
	rv = out_check(out, out_len,
		       cipher_out(op, enc, op->in_total + in_len, false) - op->out_total, &ready);
	if (rv != CKR_OK || !ready)
		goto end_keep;
	op->multi = true;
	rv = op_feed(s, op, kind, in, in_len, out, *out_len, &got);
	if (rv == CKR_OK)
		*out_len = got;
end:
	op_done(s, op, rv != CKR_OK);
	return rv;
end_keep:
	op_done(s, op, false);
	return rv;
}

static CK_RV cipher_final(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR out,
			  CK_ULONG_PTR out_len)
{
	bool enc = kind == SHIM_OP_ENCRYPT, ready = false;
	struct shim_session *s;
	struct shim_op *op;
	size_t got = 0;
	CK_RV rv;

	rv = op_begin(h, kind, &s, &op);
	if (rv != CKR_OK)
		return rv;
	if (!out_len) {
		rv = CKR_ARGUMENTS_BAD;
		goto end;
	}
	if (!op->m->multi) {
		rv = SINGLE_PART_ONLY;
		goto end;
	}
	rv = cipher_len_check(op, enc, op->in_total);
	if (rv == CKR_OK)
		rv = out_check(out, out_len,
			       cipher_out(op, enc, op->in_total, true) - op->out_total, &ready);
	if (rv == CKR_OK && ready) {
		rv = op_final(s, op, kind, NULL, 0, out, *out_len, &got);
		if (rv == CKR_OK)
			*out_len = got;
		else
			explicit_bzero(out, *out_len);
	}
end:
	op_done(s, op, op_ends(rv, ready));
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

/* ---------------------------------------- digest, sign, verify */

/* C_Digest, C_Sign, C_Verify (@sig: the signature to verify). */
static CK_RV hash_once(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR data, CK_ULONG len,
		       CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	bool verify = kind == SHIM_OP_VERIFY, ready = true;
	struct shim_session *s;
	struct shim_op *op;
	size_t got = 0, dummy;
	CK_RV rv;

	rv = op_begin(h, kind, &s, &op);
	if (rv != CKR_OK)
		return rv;
	if ((!data && len) || (verify ? !sig : !out_len)) {
		rv = CKR_ARGUMENTS_BAD;
		goto end;
	}
	if (op->multi) {
		op_done(s, op, false);
		return CKR_OPERATION_ACTIVE;
	}
	if (!verify)
		rv = out_check(out, out_len, op->out_len, &ready);
	if (rv != CKR_OK || !ready)
		goto end;
	if (verify && shim_pubverify_applies(op)) {
		rv = shim_pubverify(op, data, len, sig, sig_len);
		goto end;
	}
	if (len <= SHIM_CHUNK || !op->m->multi) {
		rv = op_part(s, op, kind, PH_SINGLE, data, len, true, sig, sig_len, out,
			     verify ? 0 : *out_len, verify ? NULL : &got);
	} else {
		rv = op_feed(s, op, kind, data, len, NULL, 0, &dummy);
		if (rv == CKR_OK)
			rv = op_final(s, op, kind, sig, sig_len, out, verify ? 0 : *out_len,
				      verify ? NULL : &got);
	}
	if (rv == CKR_OK && !verify)
		*out_len = got;
end:
	op_done(s, op, op_ends(rv, ready));
	return rv;
}

static CK_RV hash_update(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR part,
			 CK_ULONG len)
{
	struct shim_session *s;
	struct shim_op *op;
	size_t dummy;
	CK_RV rv;

	rv = op_begin(h, kind, &s, &op);
	if (rv != CKR_OK)
		return rv;
	if (!part && len)
		rv = CKR_ARGUMENTS_BAD;
	else if (!op->m->multi)
		rv = SINGLE_PART_ONLY; /* raw RSA, PSS, ECDSA */
	else {
		op->multi = true;
		rv = op_feed(s, op, kind, part, len, NULL, 0, &dummy);
	}
	op_done(s, op, rv != CKR_OK);
	return rv;
}

static CK_RV hash_final(CK_SESSION_HANDLE h, enum shim_op_kind kind, CK_BYTE_PTR out,
			CK_ULONG_PTR out_len, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	bool verify = kind == SHIM_OP_VERIFY, ready = true;
	struct shim_session *s;
	struct shim_op *op;
	size_t got = 0;
	CK_RV rv;

	rv = op_begin(h, kind, &s, &op);
	if (rv != CKR_OK)
		return rv;
	if (verify ? !sig : !out_len)
		rv = CKR_ARGUMENTS_BAD;
	else if (!op->m->multi)
		rv = SINGLE_PART_ONLY;
	else if (!verify)
		rv = out_check(out, out_len, op->out_len, &ready);
	if (rv == CKR_OK && ready) {
		rv = op_final(s, op, kind, sig, sig_len, out, verify ? 0 : *out_len,
			      verify ? NULL : &got);
		if (rv == CKR_OK && !verify)
			*out_len = got;
	}
	op_done(s, op, op_ends(rv, ready));
	return rv;
}

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	return op_init(hSession, SHIM_OP_DIGEST, pMechanism, CK_INVALID_HANDLE);
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	return hash_once(hSession, SHIM_OP_DIGEST, pData, ulDataLen, pDigest, pulDigestLen, NULL,
			 0);
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return hash_update(hSession, SHIM_OP_DIGEST, pPart, ulPartLen);
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	return hash_final(hSession, SHIM_OP_DIGEST, pDigest, pulDigestLen, NULL, 0);
}

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, SHIM_OP_SIGN, pMechanism, hKey);
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	     CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return hash_once(hSession, SHIM_OP_SIGN, pData, ulDataLen, pSignature, pulSignatureLen,
			 NULL, 0);
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return hash_update(hSession, SHIM_OP_SIGN, pPart, ulPartLen);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return hash_final(hSession, SHIM_OP_SIGN, pSignature, pulSignatureLen, NULL, 0);
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, SHIM_OP_VERIFY, pMechanism, hKey);
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return hash_once(hSession, SHIM_OP_VERIFY, pData, ulDataLen, NULL, NULL, pSignature,
			 ulSignatureLen);
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return hash_update(hSession, SHIM_OP_VERIFY, pPart, ulPartLen);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return hash_final(hSession, SHIM_OP_VERIFY, NULL, NULL, pSignature, ulSignatureLen);
}
