/* SPDX-License-Identifier: GPL-2.0 */
/*
 * session - PKCS#11 sessions, their state (public, user, SO; RO or RW), the
 * operations active in them, login and PIN management.  Sessions of one
 * token share the token's kernel session (see slot.h).
 */
#ifndef SHIM_SESSION_H
#define SHIM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

struct shim_slot;

enum shim_op_kind {
	SHIM_OP_ENCRYPT,
	SHIM_OP_DECRYPT,
	SHIM_OP_DIGEST,
	SHIM_OP_SIGN,
	SHIM_OP_VERIFY,
	SHIM_OP_NR
};

struct hsmg_mech;

/*
 * One active cryptographic operation (crypto.c owns the meaning).  Every
 * buffer is the operation's own copy: the key blob (or public key), the
 * mechanism parameter in message form, the card's state blob.
 */
struct shim_op {
	bool active;
	bool multi;   /* an *Update was called: single-part calls are refused */
	bool busy;    /* a call on it waits for the card */
	bool cancel;  /* ended (logout) while busy: the busy call ends it */
	bool started; /* the card's *_INIT was done (op->state valid) */
	CK_MECHANISM_TYPE mech;
	const struct hsmg_mech *m;
	uint8_t *key; /* key blob, or public key in message form */
	size_t key_len;
	bool pubkey;
	CK_KEY_TYPE key_type;
	uint8_t *param; /* mechanism parameter in message form */
	size_t param_len;
	uint8_t *state; /* the card's state blob of a multi-part operation */
	size_t state_len;
	uint8_t *acc; /* GCM decryption: plaintext held back until the tag */
	size_t acc_len;
	uint64_t in_total, out_total;
	CK_ULONG out_len; /* signature / MAC length */
	CK_ULONG tag_len; /* GCM */
	CK_ULONG mod_len; /* RSA modulus bytes */
};

struct shim_find {
	bool active;
	CK_OBJECT_HANDLE *handles;
	size_t n, pos;
};

struct shim_session {
	struct shim_session *next;
	CK_SESSION_HANDLE handle;
	struct shim_slot *slot;
	CK_FLAGS flags; /* CKF_SERIAL_SESSION | CKF_RW_SESSION */
	struct shim_find find;
	struct shim_op op[SHIM_OP_NR];
	unsigned int refs; /* calls using it (shim_session_enter) */
	bool closed;	   /* unlinked; freed by the last shim_session_leave */
	uint32_t ksession; /* strict mode: its own kernel session, else 0 */
};

/* CKR_SESSION_HANDLE_INVALID, else the session (token must be present:
 * CKR_DEVICE_REMOVED otherwise). */
CK_RV shim_session_get(CK_SESSION_HANDLE h, struct shim_session **out);
static inline bool shim_session_rw(const struct shim_session *s)
{
	return s->flags & CKF_RW_SESSION;
}
/*
 * shim_enter() + shim_session_get() + a reference that keeps the session
 * (and its operations) allocated while the call drops the lock for the
 * card.  On error the lock is not held.  shim_session_leave() drops the
 * reference (freeing a session closed meanwhile) and the lock.
 */
CK_RV shim_session_enter(CK_SESSION_HANDLE h, struct shim_session **out);
void shim_session_leave(struct shim_session *s);
/* The kernel session that carries the requests of @s. */
uint32_t shim_session_kid(const struct shim_session *s);
/* Is a user (or, with @so_ok, the SO) logged in on the session's token? */
bool shim_session_user(const struct shim_session *s);
/* End operation @kind, wiping its buffers. */
void shim_op_end(struct shim_op *op);
/* Free every session; @abandon in a forked child (no kernel calls). */
void shim_sessions_free(bool abandon);

#endif
