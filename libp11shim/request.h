/* SPDX-License-Identifier: GPL-2.0 */
/*
 * request - one message to the card (lib/msg/hsmg_msg.h) sent with
 * HSMG_IOC_SUBMIT on the kernel session of a PKCS#11 session, WITHOUT the
 * module lock while the card works (see module.h for what keeps that safe).
 */
#ifndef SHIM_REQUEST_H
#define SHIM_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "hsmg_msg.h"

struct shim_session;

/* Most input one request carries; bigger inputs are split in parts. */
#define SHIM_CHUNK (256U * 1024)

struct shim_tlv {
	uint32_t tag;
	const void *val;
	size_t len;
};

struct shim_resp {
	uint8_t *buf;
	size_t cap;
	struct hsmg_msg_view v;
};

/*
 * Send @op with @in (copied into the request before the lock is dropped)
 * and wait; @out_max bounds the answer's payload (a bigger answer is asked
 * again).  On CKR_OK @r holds the parsed answer (shim_resp_free() it);
 * otherwise the CKR_* of the card or the transport, or CKR_SESSION_CLOSED
 * when @s was closed meanwhile.  Called with the module lock held and the
 * session referenced (shim_session_enter).
 */
CK_RV shim_card_call(struct shim_session *s, uint32_t op, CK_MECHANISM_TYPE mech, uint32_t op_class,
		     const struct shim_tlv *in, size_t nin, size_t out_max, struct shim_resp *r);
/* The same in kernel session @kid of @slot (0: none), for no PKCS#11
 * session (an operation without a mechanism). */
struct shim_slot;
CK_RV shim_card_call_kid(struct shim_slot *slot, uint32_t kid, uint32_t op, uint32_t op_class,
			 const struct shim_tlv *in, size_t nin, size_t out_max,
			 struct shim_resp *r);
void shim_resp_free(struct shim_resp *r);
/* TLV @tag of the answer (false when absent). */
bool shim_resp_get(const struct shim_resp *r, uint32_t tag, const void **val, uint32_t *len);
/* Copy TLV @tag into a new buffer (CKR_DEVICE_ERROR when absent). */
CK_RV shim_resp_dup(const struct shim_resp *r, uint32_t tag, uint8_t **out, size_t *len);

#endif
