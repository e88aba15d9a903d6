// SPDX-License-Identifier: GPL-2.0
/*
 * session - sessions, login, PINs (see session.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "cardpin.h"
#include "log.h"
#include "module.h"
#include "object.h"
#include "pin.h"
#include "hsmgroup_msg.h"
#include "request.h"
#include "session.h"
#include "slot.h"
#include "store.h"

CK_RV shim_session_get(CK_SESSION_HANDLE h, struct shim_session **out)
{
	struct shim_session *s;

	for (s = shim_g.sessions; s; s = s->next) {
		if (s->handle == h) {
			*out = s;
			return CKR_OK;
		}
	}
	return CKR_SESSION_HANDLE_INVALID;
}

CK_RV shim_session_enter(CK_SESSION_HANDLE h, struct shim_session **out)
{
	CK_RV rv = shim_enter();

	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(h, out);
	if (rv != CKR_OK) {
		shim_leave();
		return rv;
	}
	(*out)->refs++;
	return CKR_OK;
}

static void session_free(struct shim_session *s);

void shim_session_leave(struct shim_session *s)
{
	if (!--s->refs && s->closed)
		session_free(s);
	shim_leave();
}

uint32_t shim_session_kid(const struct shim_session *s)
{
	return s->ksession ? s->ksession : s->slot->ksession;
}

bool shim_session_user(const struct shim_session *s)
{
	return s->slot->logged_in && s->slot->user == CKU_USER;
}

static void free_buf(uint8_t **p, size_t *len)
{
	if (*p)
		explicit_bzero(*p, *len);
	free(*p);
	*p = NULL;
	*len = 0;
}

void shim_op_end(struct shim_op *op)
{
	if (op->busy) {
		/* Its call waits for the card; it ends the operation. */
		op->cancel = true;
		return;
	}
	free_buf(&op->key, &op->key_len);
	free_buf(&op->param, &op->param_len);
	free_buf(&op->state, &op->state_len);
	free_buf(&op->acc, &op->acc_len);
	memset(op, 0, sizeof(*op));
}

static void find_end(struct shim_find *f)
{
	free(f->handles);
	memset(f, 0, sizeof(*f));
}

static void session_end_ops(struct shim_session *s)
{
	int i;

	find_end(&s->find);
	for (i = 0; i < SHIM_OP_NR; i++)
		shim_op_end(&s->op[i]);
}

static void session_free(struct shim_session *s)
{
	int i;

	for (i = 0; i < SHIM_OP_NR; i++)
		s->op[i].busy = false;
	session_end_ops(s);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* End @s (already unlinked) and its session objects; maybe end the
 * token's kernel session.  Freed now, or by its last holder. */
static void session_destroy(struct shim_session *s, bool abandon)
{
	struct shim_slot *slot = s->slot;
	struct shim_object **pp, *o;
	int err;

	session_end_ops(s);
	if (s->ksession && !abandon && shim_g.tp) {
		err = shim_g.tp_ops->session_close(shim_g.tp, s->ksession);
		if (err)
			shim_warn("slot %lu: closing kernel session: %d", (unsigned long)slot->id,
				  err);
	}
	s->ksession = 0;
	for (pp = &slot->objects; *pp;) {
		o = *pp;
		if (o->owner == s->handle) {
			*pp = o->next;
			shim_obj_free(o);
		} else {
			pp = &o->next;
		}
	}
	slot->nsessions--;
	if (!(s->flags & CKF_RW_SESSION))
		slot->nro--;
	if (!slot->nsessions) {
		/* The last session: the application is logged out. */
		if (!abandon && slot->ksession && shim_g.tp) {
			err = shim_g.tp_ops->session_close(shim_g.tp, slot->ksession);
			if (err)
				shim_warn("slot %lu: closing kernel session: %d",
					  (unsigned long)slot->id, err);
		}
		slot->ksession = 0;
		slot->logged_in = false;
		shim_slot_forget_pin(slot);
	}
	s->closed = true;
	if (!s->refs || abandon)
		session_free(s);
}

void shim_sessions_free(bool abandon)
{
	struct shim_session *s, *n;

	for (s = shim_g.sessions; s; s = n) {
		n = s->next;
		session_destroy(s, abandon);
	}
	shim_g.sessions = NULL;
}

static void session_unlink(struct shim_session *s)
{
	struct shim_session **pp;

	for (pp = &shim_g.sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			return;
		}
	}
}

/* The card-PIN a login of @user on @slot carries: VHSM user logins only
 * (public and SO sessions are never bound, as in EP11). */
static bool login_vhsm(const struct shim_slot *slot, CK_USER_TYPE user)
{
	return (slot->session_flags & HSMG_SESSION_VHSM) && user == CKU_USER;
}

/* Open (and, when the application is logged in, log in) the kernel
 * session of one strict-mode PKCS#11 session. */
static CK_RV strict_session_open(struct shim_slot *slot, uint32_t *kid)
{
	bool vhsm = login_vhsm(slot, slot->user);
	int err;

	err = shim_g.tp_ops->session_open(shim_g.tp, (uint32_t)slot->id,
					  HSMG_SESSION_RW | slot->session_flags, kid);
	if (err) {
		shim_err("slot %lu: SESSION_OPEN failed: %d", (unsigned long)slot->id, err);
		return shim_errno_to_ckr(err);
	}
	if (!slot->logged_in)
		return CKR_OK;
	err =
	    shim_g.tp_ops->login(shim_g.tp, *kid, slot->user == CKU_SO ? HSMG_LOGIN_SO : 0,
				 &(struct hsmg_client_creds){slot->pin, (uint32_t)slot->pin_len,
							     vhsm ? slot->cardpin : NULL,
							     vhsm ? (uint32_t)slot->cardpin_len : 0,
							     slot->record, slot->record_len});
	if (err) {
		shim_err("slot %lu: LOGIN of a new strict session failed: %d",
			 (unsigned long)slot->id, err);
		shim_g.tp_ops->session_close(shim_g.tp, *kid);
		*kid = 0;
		return shim_errno_to_ckr(err);
	}
	return CKR_OK;
}

/* Log every kernel session of @slot out. */
static int kernel_logout_all(struct shim_slot *slot)
{
	struct shim_session *o;
	int err = 0, e;

	if (!(slot->session_flags & HSMG_SESSION_STRICT))
		return shim_g.tp_ops->logout(shim_g.tp, slot->ksession);
	for (o = shim_g.sessions; o; o = o->next) {
		if (o->slot != slot || !o->ksession)
			continue;
		e = shim_g.tp_ops->logout(shim_g.tp, o->ksession);
		if (e && !err)
			err = e;
	}
	return err;
}

/* The kernel sessions a login of @slot logs in (malloc'ed in *@kids). */
static CK_RV login_targets(struct shim_slot *slot, uint32_t **kids, size_t *n)
{
	struct shim_session *o;
	size_t max = 1;

	*n = 0;
	for (o = shim_g.sessions; o; o = o->next)
		max++;
	*kids = malloc(max * sizeof(**kids));
	if (!*kids)
		return CKR_HOST_MEMORY;
	if (!(slot->session_flags & HSMG_SESSION_STRICT)) {
		(*kids)[(*n)++] = slot->ksession;
		return CKR_OK;
	}
	for (o = shim_g.sessions; o; o = o->next)
		if (o->slot == slot && o->ksession)
			(*kids)[(*n)++] = o->ksession;
	return CKR_OK;
}

/* Log @kids in with @cr, all or none.  Touches nothing shared: called
 * without the module lock. */
static int kernel_login_kids(const uint32_t *kids, size_t n, CK_USER_TYPE user,
			     const struct hsmg_client_creds *cr)
{
	uint32_t flags = user == CKU_SO ? HSMG_LOGIN_SO : 0;
	size_t i, j;
	int err;

	for (i = 0; i < n; i++) {
		err = shim_g.tp_ops->login(shim_g.tp, kids[i], flags, cr);
		if (err) {
			for (j = 0; j < i; j++)
				shim_g.tp_ops->logout(shim_g.tp, kids[j]);
			return err;
		}
	}
	return 0;
}

/*
 * C_Login drops the module lock while it checks the PIN (PBKDF2) and logs
 * the kernel sessions in (which waits up to the hold time for a member),
 * so that other threads' calls go on meanwhile; it marks the slot
 * login_busy.  The calls that change a slot's login or sessions (C_Login,
 * C_Logout, C_OpenSession, C_CloseSession, C_CloseAllSessions) first wait
 * here until no login runs on it: a login sees the same sessions from its
 * start to its end, and a logout during a login comes after it.  false:
 * C_Finalize began meanwhile (the caller returns
 * CKR_CRYPTOKI_NOT_INITIALIZED).
 */
static bool login_idle(struct shim_slot *slot)
{
	while (slot->login_busy && !__atomic_load_n(&shim_g.finalizing, __ATOMIC_ACQUIRE)) {
		/* Counted as in flight: C_Finalize frees nothing under us. */
		shim_g.inflight++;
		shim_unlock();
		usleep(1000);
		shim_relock();
		shim_g.inflight--;
	}
	return !__atomic_load_n(&shim_g.finalizing, __ATOMIC_ACQUIRE);
}

/* shim_session_get() once no login runs on the session's slot (it may
 * have been closed meanwhile). */
static CK_RV session_get_idle(CK_SESSION_HANDLE h, struct shim_session **out)
{
	CK_RV rv = shim_session_get(h, out);

	if (rv == CKR_OK && !login_idle((*out)->slot))
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	return rv == CKR_OK ? shim_session_get(h, out) : rv;
}

/* ------------------------------------------------------------ PKCS#11 */

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
		    CK_SESSION_HANDLE_PTR phSession)
{
	struct shim_session *s = NULL;
	struct shim_slot *slot;
	int err;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_slot_token(slotID, &slot);
	if (rv != CKR_OK)
		goto out;
	if (!login_idle(slot)) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	if (!phSession) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!(flags & CKF_SERIAL_SESSION)) {
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
		goto out;
	}
	if (flags & ~(CKF_SERIAL_SESSION | CKF_RW_SESSION)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!(flags & CKF_RW_SESSION) && slot->logged_in && slot->user == CKU_SO) {
		rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (slot->session_flags & HSMG_SESSION_STRICT) {
		/* Strict: a kernel session per PKCS#11 session, logged in with the
		 * PIN kept while the application is logged in. */
		rv = strict_session_open(slot, &s->ksession);
		if (rv != CKR_OK) {
			free(s);
			goto out;
		}
	} else if (!slot->ksession) {
		err = shim_g.tp_ops->session_open(shim_g.tp, (uint32_t)slot->id,
						  HSMG_SESSION_RW | slot->session_flags,
						  &slot->ksession);
		if (err) {
			shim_err("slot %lu: SESSION_OPEN failed: %d", (unsigned long)slot->id, err);
			slot->ksession = 0;
			free(s);
			rv = shim_errno_to_ckr(err);
			goto out;
		}
	}
	s->handle = shim_g.next_session++;
	s->slot = slot;
	s->flags = flags;
	s->next = shim_g.sessions;
	shim_g.sessions = s;
	slot->nsessions++;
	if (!(flags & CKF_RW_SESSION))
		slot->nro++;
	*phSession = s->handle;
out:
	shim_leave();
	return rv;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
	struct shim_session *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = session_get_idle(hSession, &s);
	if (rv == CKR_OK) {
		session_unlink(s);
		session_destroy(s, false);
	}
	shim_leave();
	return rv;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
	struct shim_session **pp, *s;
	struct shim_slot *slot;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	slot = shim_slot_find(slotID);
	if (!slot) {
		rv = CKR_SLOT_ID_INVALID;
		goto out;
	}
	if (!login_idle(slot)) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	for (pp = &shim_g.sessions; *pp;) {
		s = *pp;
		if (s->slot == slot) {
			*pp = s->next;
			session_destroy(s, false);
		} else {
			pp = &s->next;
		}
	}
out:
	shim_leave();
	return rv;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct shim_session *s;
	bool rw;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv == CKR_OK && !pInfo)
		rv = CKR_ARGUMENTS_BAD;
	if (rv == CKR_OK) {
		rw = shim_session_rw(s);
		pInfo->slotID = s->slot->id;
		pInfo->flags = s->flags;
		pInfo->ulDeviceError = 0;
		if (!s->slot->logged_in)
			pInfo->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
		else if (s->slot->user == CKU_SO)
			pInfo->state = CKS_RW_SO_FUNCTIONS;
		else
			pInfo->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	}
	shim_leave();
	return rv;
}

/*
 * A token from before the cards checked PINs: check @pin against the
 * version 1 record @pr here (PBKDF2, without the module lock), count, and
 * when it matches let the cards check it from now on (auth.c); *@pr
 * becomes the card record.
 */
static CK_RV login_migrate(struct shim_slot *slot, struct shim_store *st, CK_USER_TYPE user,
			   const CK_UTF8CHAR *pin, CK_ULONG len, struct shim_pin_record *pr,
			   uint32_t failures)
{
	static const uint8_t none[16];
	struct shim_pin_record rec;
	bool matched;
	CK_RV rv;

	shim_g.inflight++;
	shim_unlock();
	matched = shim_pin_matches(pr, pin, len);
	shim_relock();
	shim_g.inflight--;
	rv = shim_pin_result(&shim_g.cfg, st, user, matched, failures);
	if (rv != CKR_OK)
		return rv;
	if (user == CKU_USER)
		return shim_auth_migrate_user(slot, st, pin, len, pr);
	/* The SO: a record of its own, with a new secret (the user's, if it
	 * moved first, is out of reach: the SO cannot reset the user PIN and
	 * keep the keys of a token migrated this way; docs/security.md). */
	rv = shim_auth_make(slot, 0, CKU_SO, none, pin, len, &rec);
	if (rv == CKR_OK)
		rv = shim_store_put_pin(st, CKU_SO, &rec);
	if (rv == CKR_OK) {
		*pr = rec;
		shim_info("slot %lu: the SO PIN is now checked by the cards",
			  (unsigned long)slot->id);
	}
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rv;
}

/*
 * The card-PIN of a VHSM token, in kernel session @kid (logged in with the
 * user's record): opened by the cards, or a version 1 record opened here
 * with @pin and sealed again by the cards (version 2) in the store.
 */
static CK_RV vhsm_cardpin(struct shim_slot *slot, struct shim_store *st, uint32_t kid,
			  const struct shim_cardpin_record *cr, const CK_UTF8CHAR *pin,
			  CK_ULONG len, uint8_t *out, size_t *out_len)
{
	struct shim_cardpin_record v2;
	CK_RV rv;

	rv = shim_auth_cardpin_open(slot, kid, cr, pin, len, out, out_len);
	if (rv != CKR_OK || cr->version != SHIM_CARDPIN_V1_PBKDF2)
		return rv;
	if (shim_auth_cardpin_seal(slot, kid, out, *out_len, &v2) == CKR_OK &&
	    shim_store_put_cardpin(st, &v2) == CKR_OK)
		shim_info("slot %lu: the card-PIN is now sealed by the cards",
			  (unsigned long)slot->id);
	OPENSSL_cleanse(&v2, sizeof(v2));
	return CKR_OK;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
	      CK_ULONG ulPinLen)
{
	uint8_t cardpin[SHIM_CARDPIN_MAX];
	size_t cardpin_len = 0, nkids = 0;
	struct shim_cardpin_record cr;
	struct shim_pin_record pr;
	struct hsmg_client_creds creds;
	struct shim_session *s;
	struct shim_store *st;
	struct shim_slot *slot;
	uint32_t failures = 0, *kids = NULL;
	bool vhsm, busy = false, kernel_in = false;
	int err = 0;
	CK_RV rv, crv = CKR_OK;

	memset(&pr, 0, sizeof(pr));
	memset(&cr, 0, sizeof(cr));
	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = session_get_idle(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	slot = s->slot;
	if (userType == CKU_CONTEXT_SPECIFIC) {
		/* No key of this token has CKA_ALWAYS_AUTHENTICATE semantics yet. */
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (userType != CKU_SO && userType != CKU_USER) {
		rv = CKR_USER_TYPE_INVALID;
		goto out;
	}
	if (slot->logged_in) {
		rv = slot->user == userType ? CKR_USER_ALREADY_LOGGED_IN
					    : CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
		goto out;
	}
	if (!pPin) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (userType == CKU_SO && slot->nro) {
		rv = CKR_SESSION_READ_ONLY_EXISTS;
		goto out;
	}
	/*
	 * No token (no member for longer than the hold time): fail at once,
	 * as the other calls that need a card do, before the PIN is checked.
	 * Logins are rare: ask the kernel now rather than trust the last
	 * listing.
	 */
	shim_slots_refresh();
	if (!slot->present) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	/* VHSM: the card-PIN, opened with the user PIN; without one the
	 * login fails (logged with what to do), but a wrong PIN is a wrong
	 * PIN first. */
	vhsm = login_vhsm(slot, userType);
	rv = shim_slot_store(slot, &st);
	if (rv == CKR_OK)
		rv = shim_pin_fetch(&shim_g.cfg, st, userType, &pr, &failures);
	if (rv == CKR_OK && vhsm)
		crv = shim_store_get_cardpin(st, &cr);
	if (rv == CKR_OK)
		rv = login_targets(slot, &kids, &nkids);
	if (rv != CKR_OK)
		goto out;

	/* The slow parts without the module lock (see login_idle). */
	slot->login_busy = busy = true;
	if (pr.version != SHIM_PIN_V2_CARD) {
		rv = login_migrate(slot, st, userType, pPin, ulPinLen, &pr, failures);
		if (rv != CKR_OK)
			goto out;
	}
	/*
	 * VHSM: the cards check the PIN first (counted), in a session of
	 * their own, since the VHSM sessions need the card-PIN that the PIN
	 * opens.
	 */
	if (vhsm) {
		uint32_t kid = 0;

		rv = shim_auth_login(slot, st, userType, &pr, failures, pPin, ulPinLen, &kid);
		if (rv == CKR_OK && crv == CKR_OK)
			rv =
			    vhsm_cardpin(slot, st, kid, &cr, pPin, ulPinLen, cardpin, &cardpin_len);
		shim_auth_end(kid);
		if (rv != CKR_OK)
			goto out;
		rv = crv; /* none set: logged below, with the lock */
	}
	shim_g.inflight++;
	shim_unlock();
	if (rv == CKR_OK) {
		creds = (struct hsmg_client_creds){pPin,    (uint32_t)ulPinLen,
						   cardpin, (uint32_t)cardpin_len,
						   pr.card, SHIM_PIN_CARD_LEN};
		err = kernel_login_kids(kids, nkids, userType, &creds);
		kernel_in = !err;
	}
	shim_relock();
	shim_g.inflight--;
	if (vhsm && crv != CKR_OK)
		shim_cardpin_missing(crv);
	/* The cards judged the PIN: the store's count follows (token flags). */
	if (rv == CKR_OK && (err == -EACCES || err == -EKEYEXPIRED)) {
		rv = shim_auth_login_rv(err);
		err = 0;
	}
	if (rv == CKR_OK && !err)
		shim_auth_note(st, userType, CKR_OK, failures);
	else if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED)
		shim_auth_note(st, userType, rv, failures);
	if (rv == CKR_OK && !err && __atomic_load_n(&shim_g.finalizing, __ATOMIC_ACQUIRE))
		rv = CKR_CRYPTOKI_NOT_INITIALIZED; /* its close of the device logs out */
	/* A migration cut short: bind the rest of the keys now (else at the
	 * next login). */
	if (rv == CKR_OK && !err && userType == CKU_USER && nkids &&
	    shim_auth_rebind_pending(slot, st, kids[0]) != CKR_OK)
		shim_warn("slot %lu: keys not yet bound to the user PIN: again at the next login",
			  (unsigned long)slot->id);
	if (rv == CKR_OK && !err && (slot->session_flags & HSMG_SESSION_STRICT)) {
		rv = shim_slot_keep_pin(slot, pPin, ulPinLen);
		if (rv == CKR_OK && cardpin_len)
			rv = shim_cardpin_keep(&slot->cardpin, &slot->cardpin_len, cardpin,
					       cardpin_len);
	}
	/* For the kernel sessions opened later (strict mode). */
	if (rv == CKR_OK && !err) {
		memcpy(slot->record, pr.card, SHIM_PIN_CARD_LEN);
		slot->record_len = SHIM_PIN_CARD_LEN;
	}
	if (rv != CKR_OK) {
		if (kernel_in)
			kernel_logout_all(slot);
		shim_slot_forget_pin(slot);
		goto out;
	}
	if (err) {
		shim_err("slot %lu: LOGIN failed: %d", (unsigned long)slot->id, err);
		rv = shim_errno_to_ckr(err);
		goto out;
	}
	slot->logged_in = true;
	slot->user = userType;
	shim_info("slot %lu: %s logged in (session mode %s)", (unsigned long)slot->id,
		  userType == CKU_SO ? "SO" : "user",
		  userType == CKU_SO ? "none: SO sessions are never bound"
				     : shim_config_mode_name(slot->session_flags));
out:
	if (busy)
		slot->login_busy = false;
	free(kids);
	explicit_bzero(cardpin, sizeof(cardpin));
	OPENSSL_cleanse(&pr, sizeof(pr));
	OPENSSL_cleanse(&cr, sizeof(cr));
	shim_leave();
	return rv;
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
	struct shim_session *s, *o;
	struct shim_slot *slot;
	int err;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = session_get_idle(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	slot = s->slot;
	if (!slot->logged_in) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	err = kernel_logout_all(slot);
	if (err)
		shim_warn("slot %lu: LOGOUT failed: %d", (unsigned long)slot->id, err);
	slot->logged_in = false;
	shim_slot_forget_pin(slot);
	/* Handles to private objects become invalid: end what may use them. */
	for (o = shim_g.sessions; o; o = o->next)
		if (o->slot == slot)
			session_end_ops(o);
out:
	shim_leave();
	return rv;
}

/* The token id of the store's SO record (a card record: the SO's login
 * made it one). */
static CK_RV token_id(struct shim_store *st, uint8_t token[16])
{
	struct shim_pin_record so;
	CK_RV rv = shim_store_get_pin(st, CKU_SO, &so, NULL);

	if (rv == CKR_OK && so.version != SHIM_PIN_V2_CARD)
		rv = CKR_USER_PIN_NOT_INITIALIZED;
	if (rv == CKR_OK)
		shim_auth_token_id(&so, token);
	OPENSSL_cleanse(&so, sizeof(so));
	return rv;
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct shim_cardpin_record cp;
	struct shim_pin_record r;
	struct shim_session *s;
	struct shim_store *st;
	struct shim_resp resp;
	uint8_t token[16];
	bool keep_cp;
	CK_RV rv;

	memset(&r, 0, sizeof(r));
	memset(&cp, 0, sizeof(cp));
	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	if (!shim_session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (!s->slot->logged_in || s->slot->user != CKU_SO) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	rv = shim_pin_check_len(&shim_g.cfg, pPin, ulPinLen);
	if (rv == CKR_OK)
		rv = shim_slot_store(s->slot, &st);
	if (rv == CKR_OK)
		rv = token_id(st, token);
	/* Made in the SO's session: the card keeps the token's secret, so the
	 * user's keys stay usable under the new PIN; it also clears the
	 * cards' count of the user's failed logins. */
	if (rv == CKR_OK) {
		struct hsmg_msg_auth_param p = {.user = HSMG_AUTH_USER};
		struct shim_tlv in[] = {{HSMG_TAG_PARAM, &p, sizeof(p)},
					{HSMG_TAG_DATA, pPin, ulPinLen}};
		const void *rec;
		uint32_t n;

		memcpy(p.token, token, sizeof(token));
		rv = shim_card_call(s, HSMG_MSG_OP_AUTH_RECORD, 0, HSMG_OP_KEYGEN, in, 2,
				    SHIM_PIN_CARD_LEN, &resp);
		if (rv == CKR_OK) {
			if (shim_resp_get(&resp, HSMG_TAG_OUT_DATA, &rec, &n) &&
			    n == SHIM_PIN_CARD_LEN) {
				r.version = SHIM_PIN_V2_CARD;
				memcpy(r.card, rec, n);
			} else {
				rv = CKR_DEVICE_ERROR;
			}
			shim_resp_free(&resp);
		}
	}
	/* A card-PIN sealed by the cards is bound to the token's secret, which
	 * the new PIN keeps; one sealed under the old user PIN (version 1) is
	 * gone with it and must be set again (the same one, to keep using the
	 * keys bound to it). */
	keep_cp = rv == CKR_OK && shim_store_get_cardpin(st, &cp) == CKR_OK;
	if (keep_cp && cp.version != SHIM_CARDPIN_V2_CARD) {
		keep_cp = false;
		shim_warn("slot %lu: the user PIN was reset: the card-PIN is deleted, set it again "
			  "(hsmgroupctl token cardpin)",
			  (unsigned long)s->slot->id);
	}
	if (rv == CKR_OK)
		rv = shim_store_put_user_pin(st, &r, keep_cp ? &cp : NULL);
	explicit_bzero(&r, sizeof(r));
	explicit_bzero(&cp, sizeof(cp));
out:
	shim_leave();
	return rv;
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
	       CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	uint8_t cardpin[SHIM_CARDPIN_MAX], token[16];
	struct shim_cardpin_record cp;
	struct shim_pin_record old, r;
	struct shim_session *s;
	struct shim_store *st;
	size_t cardpin_len = 0;
	uint32_t failures = 0, kid = 0;
	bool has_cp = false;
	CK_USER_TYPE user;
	CK_RV rv;

	memset(&r, 0, sizeof(r));
	memset(&old, 0, sizeof(old));
	memset(&cp, 0, sizeof(cp));
	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	if (!pOldPin || !pNewPin) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!shim_session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	user = s->slot->logged_in && s->slot->user == CKU_SO ? CKU_SO : CKU_USER;
	rv = shim_pin_check_len(&shim_g.cfg, pNewPin, ulNewLen);
	if (rv == CKR_OK)
		rv = shim_slot_store(s->slot, &st);
	if (rv == CKR_OK)
		rv = shim_pin_fetch(&shim_g.cfg, st, user, &old, &failures);
	/* A version 1 record is checked here once and becomes a card record. */
	if (rv == CKR_OK && old.version != SHIM_PIN_V2_CARD)
		rv = login_migrate(s->slot, st, user, pOldPin, ulOldLen, &old, failures);
	/* The old PIN, checked (and counted) by the cards; the new record is
	 * made in that login, so that it keeps the token's secret. */
	if (rv == CKR_OK)
		rv = shim_auth_login(s->slot, st, user, &old, failures, pOldPin, ulOldLen, &kid);
	if (rv == CKR_OK) {
		shim_auth_token_id(&old, token);
		rv = shim_auth_make(s->slot, kid, user, token, pNewPin, ulNewLen, &r);
	}
	if (rv != CKR_OK || user == CKU_SO) {
		if (rv == CKR_OK)
			rv = shim_store_put_pin(st, user, &r);
		goto out;
	}
	/* The user's card-PIN (VHSM): sealed by the cards, it is bound to the
	 * token's secret, which the new PIN keeps; sealed under the old PIN
	 * (version 1), it is sealed again by the cards, in the same
	 * transaction as the new record. */
	if (shim_store_get_cardpin(st, &cp) == CKR_OK) {
		has_cp = true;
		if (cp.version == SHIM_CARDPIN_V1_PBKDF2 &&
		    (shim_cardpin_open(&cp, pOldPin, ulOldLen, cardpin, &cardpin_len) != CKR_OK ||
		     shim_auth_cardpin_seal(s->slot, kid, cardpin, cardpin_len, &cp) != CKR_OK)) {
			has_cp = false;
			shim_warn("slot %lu: the card-PIN record does not open with the user PIN: "
				  "deleted, set it again (hsmgroupctl token cardpin)",
				  (unsigned long)s->slot->id);
		}
	}
	if (rv == CKR_OK)
		rv = shim_store_put_user_pin(st, &r, has_cp ? &cp : NULL);
out:
	shim_auth_end(kid);
	explicit_bzero(&r, sizeof(r));
	explicit_bzero(&old, sizeof(old));
	explicit_bzero(&cp, sizeof(cp));
	explicit_bzero(cardpin, sizeof(cardpin));
	shim_leave();
	return rv;
}
