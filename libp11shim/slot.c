// SPDX-License-Identifier: GPL-2.0
/*
 * slot - slots and tokens over HSMG_IOC_LIST_GROUPS (see slot.h), and the
 * slot/token calls of PKCS#11.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <time.h>

#include "auth.h"
#include "cardpin.h"
#include "crypto.h"
#include "log.h"
#include "module.h"
#include "object.h"
#include "pin.h"
#include "slot.h"
#include "store.h"

#define MANUFACTURER	   "hsmgroup"
#define SHIM_VERSION_MAJOR 0
#define SHIM_VERSION_MINOR 1

/* Copy @s blank padded into a fixed PKCS#11 string field. */
static void pad(CK_UTF8CHAR *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	memset(dst, ' ', size);
	memcpy(dst, s, n < size ? n : size);
}

struct shim_slot *shim_slot_find(CK_SLOT_ID id)
{
	struct shim_slot *s;

	for (s = shim_g.slots; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/*
 * Present: a member online, or none for less than the hold time (a kernel
 * that does not report it, hold_time_ms 0: a member online).
 */
static bool group_present(const struct hsmg_group_info *gi)
{
	return gi->nonline > 0 || (gi->hold_time_ms && gi->offline_ms < gi->hold_time_ms);
}

static void slot_update(const struct hsmg_group_info *gi)
{
	struct shim_slot *s = shim_slot_find(gi->group_id), **pp;
	bool present = group_present(gi), added = false;
	int i;

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return;
		s->id = gi->group_id;
		memcpy(s->mkvp, gi->mkvp, HSMG_MKVP_LEN);
		for (i = 0; i < 8; i++)
			sprintf(s->serial + 2 * i, "%02X", gi->mkvp[i]);
		/* Keep the list sorted by id. */
		for (pp = &shim_g.slots; *pp && (*pp)->id < s->id; pp = &(*pp)->next)
			;
		s->next = *pp;
		*pp = s;
		s->event = present;
		s->session_flags = shim_config_session_flags(&shim_g.cfg, s->serial);
		shim_info("slot %lu: group with MKVP %s...", (unsigned long)s->id, s->serial);
		added = true;
	} else if (memcmp(s->mkvp, gi->mkvp, HSMG_MKVP_LEN)) {
		/* Same id, other key: cannot happen while the module is loaded. */
		shim_err("slot %lu: MKVP changed, slot stays offline", (unsigned long)s->id);
		present = false;
	}
	if (s->present != present) {
		s->event = true;
		if (present)
			shim_log_event("slot %lu: token present again (%u of %u members online)",
				       (unsigned long)s->id, gi->nonline, gi->nmembers);
		else
			shim_log_event("slot %lu: token gone: no member online for %u ms (hold "
				       "time %u ms); calls fail with CKR_TOKEN_NOT_PRESENT until "
				       "one returns",
				       (unsigned long)s->id, gi->offline_ms, gi->hold_time_ms);
	} else if (!added && s->nonline != gi->nonline) {
		shim_log_event("slot %lu: %u of %u members online (was %u)%s", (unsigned long)s->id,
			       gi->nonline, gi->nmembers, s->nonline,
			       gi->nonline ? "" : "; requests wait the hold time for one");
	}
	if (!added && s->nmismatch != gi->nmismatch)
		shim_log_event("slot %lu: %u queue(s) held in mismatch (other or no master key; "
			       "was %u)",
			       (unsigned long)s->id, gi->nmismatch, s->nmismatch);
	s->present = present;
	s->nmembers = gi->nmembers;
	s->nonline = gi->nonline;
	s->nmismatch = gi->nmismatch;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t refreshed_ms; /* under the module lock */
/*
 * When the first token present only by its hold time (no member online)
 * goes: no kernel event says so, C_WaitForSlotEvent wakes itself then.
 * 0: none.  Under the module lock.
 */
static uint64_t hold_deadline_ms;

static bool event_pending(void)
{
	struct shim_slot *s;

	for (s = shim_g.slots; s; s = s->next)
		if (s->event)
			return true;
	return false;
}

/* Note when @gi's token, present by its hold time only, goes. */
static void note_hold_deadline(const struct hsmg_group_info *gi)
{
	uint64_t end;

	if (gi->nonline || !gi->hold_time_ms || gi->offline_ms >= gi->hold_time_ms)
		return;
	end = refreshed_ms + (gi->hold_time_ms - gi->offline_ms);
	if (!hold_deadline_ms || end < hold_deadline_ms)
		hold_deadline_ms = end;
}

void shim_slots_refresh_lazy(void)
{
	if (now_ms() - refreshed_ms >= 1000)
		shim_slots_refresh();
}

CK_RV shim_slots_refresh(void)
{
	struct hsmg_group_info *groups = NULL, *ng;
	struct shim_slot *s;
	uint32_t cap = 8, count, i;
	int err;

	if (!shim_g.tp)
		return CKR_OK;
	refreshed_ms = now_ms();
	for (;;) {
		ng = realloc(groups, cap * sizeof(*groups));
		if (!ng) {
			free(groups);
			return CKR_HOST_MEMORY;
		}
		groups = ng;
		memset(groups, 0, cap * sizeof(*groups));
		count = cap;
		err = shim_g.tp_ops->list_groups(shim_g.tp, groups, &count);
		if (err != -ENOSPC)
			break;
		cap = count + 4;
	}
	if (err) {
		free(groups);
		shim_err("LIST_GROUPS failed: %d", err);
		return shim_errno_to_ckr(err);
	}
	/* Groups that vanished (module reloaded, ...) have no token. */
	for (s = shim_g.slots; s; s = s->next) {
		for (i = 0; i < count; i++)
			if (groups[i].group_id == s->id)
				break;
		if (i == count && s->present) {
			s->present = false;
			s->nonline = 0;
			s->event = true;
			shim_log_event("slot %lu: token gone: the group no longer exists",
				       (unsigned long)s->id);
		}
	}
	hold_deadline_ms = 0;
	for (i = 0; i < count; i++) {
		slot_update(&groups[i]);
		note_hold_deadline(&groups[i]);
	}
	free(groups);
	/* A waiter in C_WaitForSlotEvent takes what this found. */
	shim_wake_update(event_pending());
	return CKR_OK;
}

CK_RV shim_slot_token(CK_SLOT_ID id, struct shim_slot **out)
{
	struct shim_slot *s;

	/* Presence is the kernel's now, not what the last listing said. */
	shim_slots_refresh();
	s = shim_slot_find(id);
	if (!s)
		return CKR_SLOT_ID_INVALID;
	if (!s->present)
		return CKR_TOKEN_NOT_PRESENT;
	*out = s;
	return CKR_OK;
}

CK_RV shim_slot_store(struct shim_slot *s, struct shim_store **out)
{
	CK_RV rv;

	if (!s->store) {
		rv = shim_store_open(shim_config_token_store(&shim_g.cfg, s->serial), s->mkvp,
				     &s->store);
		if (rv != CKR_OK)
			return rv;
	}
	*out = s->store;
	return CKR_OK;
}

CK_RV shim_slot_keep_pin(struct shim_slot *s, const void *pin, size_t len)
{
	shim_slot_forget_pin(s);
	s->pin = malloc(len ? len : 1);
	if (!s->pin)
		return CKR_HOST_MEMORY;
	if (mlock(s->pin, len ? len : 1))
		shim_warn("slot %lu: mlock of the PIN failed: %s", (unsigned long)s->id,
			  strerror(errno));
	memcpy(s->pin, pin, len);
	s->pin_len = len;
	return CKR_OK;
}

void shim_slot_forget_pin(struct shim_slot *s)
{
	shim_cardpin_forget(&s->cardpin, &s->cardpin_len);
	memset(s->record, 0, sizeof(s->record));
	s->record_len = 0;
	if (!s->pin)
		return;
	explicit_bzero(s->pin, s->pin_len);
	munlock(s->pin, s->pin_len ? s->pin_len : 1);
	free(s->pin);
	s->pin = NULL;
	s->pin_len = 0;
}

void shim_slots_free(bool abandon)
{
	struct shim_slot *s, *n;
	struct shim_object *o, *on;

	for (s = shim_g.slots; s; s = n) {
		n = s->next;
		for (o = s->objects; o; o = on) {
			on = o->next;
			shim_obj_free(o);
		}
		shim_slot_forget_pin(s);
		if (abandon)
			shim_store_abandon(s->store);
		else
			shim_store_close(s->store);
		free(s);
	}
	shim_g.slots = NULL;
}

/* ------------------------------------------------------------ PKCS#11 */

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	struct shim_slot *s;
	CK_ULONG n = 0;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	if (!pulCount) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	/* The list may change only when the application asks for its size. */
	if (!pSlotList)
		shim_slots_refresh();
	for (s = shim_g.slots; s; s = s->next)
		if (!tokenPresent || s->present)
			n++;
	if (pSlotList) {
		if (*pulCount < n) {
			rv = CKR_BUFFER_TOO_SMALL;
		} else {
			n = 0;
			for (s = shim_g.slots; s; s = s->next)
				if (!tokenPresent || s->present)
					pSlotList[n++] = s->id;
		}
	}
	*pulCount = n;
out:
	shim_leave();
	return rv;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct shim_slot *s;
	char desc[65];
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	/* Presence is the kernel's now. */
	shim_slots_refresh();
	s = shim_slot_find(slotID);
	if (!s) {
		rv = CKR_SLOT_ID_INVALID;
	} else if (!pInfo) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		snprintf(desc, sizeof(desc), "hsmgroup group %lu (%u of %u members online)",
			 (unsigned long)s->id, s->nonline, s->nmembers);
		pad(pInfo->slotDescription, sizeof(pInfo->slotDescription), desc);
		pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), MANUFACTURER);
		pInfo->flags =
		    CKF_HW_SLOT | CKF_REMOVABLE_DEVICE | (s->present ? CKF_TOKEN_PRESENT : 0);
		pInfo->hardwareVersion.major = HSMG_ABI_VERSION;
		pInfo->hardwareVersion.minor = 0;
		pInfo->firmwareVersion.major = SHIM_VERSION_MAJOR;
		pInfo->firmwareVersion.minor = SHIM_VERSION_MINOR;
	}
	shim_leave();
	return rv;
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct shim_store *st;
	struct shim_slot *s;
	uint8_t label[32];
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_slot_token(slotID, &s);
	if (rv == CKR_OK && !pInfo)
		rv = CKR_ARGUMENTS_BAD;
	if (rv == CKR_OK)
		rv = shim_slot_store(s, &st);
	if (rv != CKR_OK)
		goto out;
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->flags = CKF_RNG | CKF_LOGIN_REQUIRED;
	if (shim_store_initialized(st, label))
		pInfo->flags |= CKF_TOKEN_INITIALIZED;
	memcpy(pInfo->label, label, sizeof(pInfo->label));
	pInfo->flags |= shim_pin_token_flags(&shim_g.cfg, st);
	pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), MANUFACTURER);
	pad(pInfo->model, sizeof(pInfo->model), "hsmgroup group");
	pad(pInfo->serialNumber, sizeof(pInfo->serialNumber), s->serial);
	pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	pInfo->ulSessionCount = s->nsessions;
	pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	pInfo->ulRwSessionCount = s->nsessions - s->nro;
	pInfo->ulMaxPinLen = shim_g.cfg.pin_max_len;
	pInfo->ulMinPinLen = shim_g.cfg.pin_min_len;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->hardwareVersion.major = HSMG_ABI_VERSION;
	pInfo->firmwareVersion.major = SHIM_VERSION_MAJOR;
	pInfo->firmwareVersion.minor = SHIM_VERSION_MINOR;
	memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime));
out:
	shim_leave();
	return rv;
}

/*
 * An event pending on some slot: clear it and report the slot.  Each
 * event goes to one caller; the wake level tells other waiters of the rest.
 */
static bool take_event(CK_SLOT_ID *slot)
{
	struct shim_slot *s;
	bool got = false;

	for (s = shim_g.slots; s; s = s->next) {
		if (s->event) {
			s->event = false;
			*slot = s->id;
			got = true;
			break;
		}
	}
	shim_wake_update(event_pending());
	return got;
}

/* Waits without kernel events: list the groups this often. */
#define EVENT_POLL_MS 100
/* With them: list the groups at least this often all the same. */
#define EVENT_BACKSTOP_MS 5000
/* Shortest wait for a hold time the kernel does not yet see as run out. */
#define EVENT_HOLD_MIN_MS 5

/* How long to wait for the next event, under the module lock. */
static int wait_ms(bool kernel_events)
{
	uint64_t now = now_ms();
	int ms = kernel_events && shim_g.wake_fd >= 0 ? EVENT_BACKSTOP_MS : EVENT_POLL_MS;

	if (hold_deadline_ms) {
		if (hold_deadline_ms <= now + EVENT_HOLD_MIN_MS)
			return EVENT_HOLD_MIN_MS;
		if (hold_deadline_ms - now < (uint64_t)ms)
			ms = (int)(hold_deadline_ms - now);
	}
	return ms;
}

/*
 * Wait for kernel events (the transport's wait_event on its own descriptor)
 * and for the wake eventfd: pending slot events of other waiters, C_Finalize.
 * Without kernel events, list the groups every EVENT_POLL_MS.  Called with
 * the module lock, which it drops meanwhile.
 */
static void wait_slot_event(bool *kernel_events)
{
	const struct shim_transport_ops *ops = shim_g.tp_ops;
	struct shim_transport *tp = shim_g.tp;
	struct pollfd p = {.fd = shim_g.wake_fd, .events = POLLIN};
	int ms = wait_ms(*kernel_events), poll_ms = wait_ms(false), err = -EOPNOTSUPP;

	shim_g.waiters++;
	shim_unlock();
	if (*kernel_events)
		err = ops->wait_event(tp, p.fd, ms);
	if (err < 0) {
		if (err != -EOPNOTSUPP)
			shim_dbg("waiting for events: %s; polling", strerror(-err));
		*kernel_events = false;
		poll(&p, 1, poll_ms);
	}
	shim_relock();
	shim_g.waiters--;
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	bool kernel_events;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	if (!pSlot || pReserved) {
		shim_leave();
		return CKR_ARGUMENTS_BAD;
	}
	kernel_events = shim_g.tp && shim_g.tp_ops->wait_event;
	for (;;) {
		if (__atomic_load_n(&shim_g.finalizing, __ATOMIC_ACQUIRE)) {
			rv = CKR_CRYPTOKI_NOT_INITIALIZED;
			break;
		}
		/*
		 * Events so far are read before the groups are: one that comes
		 * after the listing finds the descriptor readable.
		 */
		if (kernel_events && shim_g.tp_ops->wait_event(shim_g.tp, -1, 0) < 0)
			kernel_events = false;
		shim_slots_refresh();
		if (take_event(pSlot)) {
			rv = CKR_OK;
			break;
		}
		if (flags & CKF_DONT_BLOCK) {
			rv = CKR_NO_EVENT;
			break;
		}
		wait_slot_event(&kernel_events);
	}
	shim_leave();
	return rv;
}

/* C_InitToken of a token that exists: its SO PIN, checked by the cards
 * (or here, for a version 1 record). */
static CK_RV init_token_check_so(struct shim_slot *s, struct shim_store *st, CK_UTF8CHAR_PTR pin,
				 CK_ULONG len)
{
	struct shim_pin_record old;
	uint32_t failures, kid = 0;
	CK_RV rv;

	rv = shim_pin_fetch(&shim_g.cfg, st, CKU_SO, &old, &failures);
	if (rv == CKR_OK && old.version == SHIM_PIN_V2_CARD)
		rv = shim_auth_login(s, st, CKU_SO, &old, failures, pin, len, &kid);
	else if (rv == CKR_OK)
		rv = shim_pin_verify(&shim_g.cfg, st, CKU_SO, pin, len);
	shim_auth_end(kid);
	OPENSSL_cleanse(&old, sizeof(old));
	return rv;
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
		  CK_UTF8CHAR_PTR pLabel)
{
	struct shim_pin_record so;
	struct shim_store *st;
	struct shim_slot *s;
	uint8_t label[32], token[16];
	CK_RV rv;

	memset(&so, 0, sizeof(so));
	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_slot_token(slotID, &s);
	if (rv != CKR_OK)
		goto out;
	if (!pPin || !pLabel) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->nsessions) {
		rv = CKR_SESSION_EXISTS;
		goto out;
	}
	rv = shim_pin_check_len(&shim_g.cfg, pPin, ulPinLen);
	if (rv == CKR_OK)
		rv = shim_slot_store(s, &st);
	if (rv != CKR_OK)
		goto out;
	if (shim_store_initialized(st, label)) {
		rv = init_token_check_so(s, st, pPin, ulPinLen);
		if (rv != CKR_OK)
			goto out;
	}
	memcpy(label, pLabel, sizeof(label));
	/* A new token: the card's SO record with a new secret and its id. */
	memset(token, 0, sizeof(token));
	rv = shim_auth_make(s, 0, CKU_SO, token, pPin, ulPinLen, &so);
	if (rv == CKR_OK)
		rv = shim_store_init_token(st, label, &so);
	explicit_bzero(&so, sizeof(so));
	if (rv == CKR_OK)
		shim_info("slot %lu: token initialized", (unsigned long)s->id);
out:
	shim_leave();
	return rv;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
			 CK_ULONG_PTR pulCount)
{
	struct shim_slot *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_slot_token(slotID, &s);
	if (rv == CKR_OK)
		rv = pulCount ? shim_mech_list(pMechanismList, pulCount) : CKR_ARGUMENTS_BAD;
	shim_leave();
	return rv;
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	struct shim_slot *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_slot_token(slotID, &s);
	if (rv == CKR_OK)
		rv = pInfo ? shim_mech_info(type, pInfo) : CKR_ARGUMENTS_BAD;
	shim_leave();
	return rv;
}
