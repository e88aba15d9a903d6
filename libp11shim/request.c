// SPDX-License-Identifier: GPL-2.0
/*
 * request - card requests without the module lock (see request.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "module.h"
#include "request.h"
#include "session.h"
#include "slot.h"

#define RESP_SLACK 1024 /* header, TLV heads, state blob */

void shim_resp_free(struct shim_resp *r)
{
	if (r->buf)
		explicit_bzero(r->buf, r->cap);
	free(r->buf);
	r->buf = NULL;
}

bool shim_resp_get(const struct shim_resp *r, uint32_t tag, const void **val, uint32_t *len)
{
	return hsmg_msg_get(&r->v, tag, val, len);
}

CK_RV shim_resp_dup(const struct shim_resp *r, uint32_t tag, uint8_t **out, size_t *len)
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

/* SUBMIT with the module lock dropped. */
static int submit_unlocked(uint32_t group, uint32_t kid, uint32_t op_class, const void *req,
			   uint32_t req_len, void *resp, uint32_t *resp_len)
{
	unsigned int timeout = shim_g.cfg.timeout_ms;
	int err;

	shim_g.inflight++;
	shim_unlock();
	err = shim_g.tp_ops->submit(shim_g.tp, group, kid, op_class, 0, timeout, req, req_len, resp,
				    resp_len);
	shim_relock();
	shim_g.inflight--;
	return err;
}

/* A card call of @slot in kernel session @kid, for PKCS#11 session @s
 * (NULL: none). */
static CK_RV card_call(struct shim_slot *slot, uint32_t kid, struct shim_session *s, uint32_t op,
		       CK_MECHANISM_TYPE mech, uint32_t op_class, const struct shim_tlv *in,
		       size_t nin, size_t out_max, struct shim_resp *r)
{
	struct hsmg_msg_builder b;
	uint64_t req_cap = HSMG_MSG_HDR_SIZE;
	uint32_t resp_len = 0;
	uint8_t *req;
	ssize_t n;
	size_t i;
	int err = 0, tries;
	CK_RV rv;

	memset(r, 0, sizeof(*r));
	if (__atomic_load_n(&shim_g.finalizing, __ATOMIC_ACQUIRE) || !shim_g.tp)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	/*
	 * No member for longer than the hold time: no token until one is back
	 * (asked again each call, so the session goes on as soon as it is).
	 */
	if (!slot->present) {
		shim_slots_refresh();
		if (!slot->present)
			return CKR_TOKEN_NOT_PRESENT;
	}
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
		err = submit_unlocked((uint32_t)slot->id, kid, op_class, req, (uint32_t)n, r->buf,
				      &resp_len);
		if (err != -ENOSPC || resp_len <= r->cap)
			break;
		/* The answer was bigger than expected: ask again with room. */
		free(r->buf);
		r->buf = NULL;
		r->cap = resp_len;
	}
	if (s && s->closed) {
		rv = CKR_SESSION_CLOSED;
		goto out;
	}
	if (err) {
		shim_err("slot %lu: %s failed: %d", (unsigned long)slot->id, hsmg_msg_op_name(op),
			 err);
		rv = shim_errno_to_ckr(err);
		/* No member online: the slot shows no token from now on. */
		if (err == -ENODEV)
			shim_slots_refresh();
		goto out;
	}
	shim_slots_refresh_lazy();
	err = hsmg_msg_parse_type(&r->v, r->buf, resp_len, HSMG_MSG_RESPONSE);
	if (err || r->v.hdr.op != op) {
		shim_err("slot %lu: bad %s answer: %s", (unsigned long)slot->id,
			 hsmg_msg_op_name(op), err ? hsmg_msg_strerror(err) : "wrong op");
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	rv = (CK_RV)r->v.hdr.rv;
	if (rv != CKR_OK)
		shim_dbg("slot %lu: %s: card says 0x%lx", (unsigned long)slot->id,
			 hsmg_msg_op_name(op), (unsigned long)rv);
out:
	explicit_bzero(req, req_cap);
	free(req);
	if (rv != CKR_OK)
		shim_resp_free(r);
	return rv;
}

CK_RV shim_card_call(struct shim_session *s, uint32_t op, CK_MECHANISM_TYPE mech, uint32_t op_class,
		     const struct shim_tlv *in, size_t nin, size_t out_max, struct shim_resp *r)
{
	return card_call(s->slot, shim_session_kid(s), s, op, mech, op_class, in, nin, out_max, r);
}

CK_RV shim_card_call_kid(struct shim_slot *slot, uint32_t kid, uint32_t op, uint32_t op_class,
			 const struct shim_tlv *in, size_t nin, size_t out_max, struct shim_resp *r)
{
	return card_call(slot, kid, NULL, op, 0, op_class, in, nin, out_max, r);
}
