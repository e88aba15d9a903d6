/* SPDX-License-Identifier: GPL-2.0 */
/*
 * slot - one slot per group (slot id = kernel group id), its token and the
 * token's per-process state (login, the kernel session, session objects).
 *
 * The token is present while at least one member of the group is online,
 * and for the group's hold time after the last one left (requests wait that
 * long in the kernel for a member to return).  After that, calls that need
 * the token give CKR_TOKEN_NOT_PRESENT at once until a member is online
 * again; sessions stay open and go on working then (the kernel logs the
 * returning member in for them).  Presence changes are C_WaitForSlotEvent
 * events and, like changes of the members online, HA events in syslog.
 * Its serial number is the first 8 bytes of the group's MKVP in hex, and
 * its objects live in the token store of that MKVP (store.h).
 *
 * Unless the token is configured strict (session_mode, see config.h),
 * all PKCS#11 sessions of one token in one process share ONE kernel session
 * (opened with the first, closed with the last): PKCS#11 login state is per
 * application, so one HSMG_IOC_LOGIN logs in every session and the shim
 * never keeps a PIN to log in sessions opened later; session keys bound to
 * the coprocessor session work in every session of the application, as
 * PKCS#11 session objects must.  A strict token gives each PKCS#11 session
 * its own kernel session (session keys bound to it, EP11 strict mode); the
 * PIN is then kept in locked memory while logged in, to log in sessions
 * opened later, and wiped at logout.
 */
#ifndef SHIM_SLOT_H
#define SHIM_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/hsmgroup.h>
#include <p11-kit/pkcs11.h>

#include "pin.h"

struct shim_object;
struct shim_store;

struct shim_slot {
	struct shim_slot *next;
	CK_SLOT_ID id; /* the group id */
	uint8_t mkvp[HSMG_MKVP_LEN];
	char serial[17];
	bool present;
	bool event; /* presence changed since the last C_WaitForSlotEvent */
	uint32_t nmembers, nonline, nmismatch;

	struct shim_store *store; /* opened at first use */

	bool logged_in;
	bool login_busy; /* a C_Login runs without the module lock (session.c) */
	CK_USER_TYPE user;
	uint32_t ksession;	/* kernel session, 0 while no session is open */
	uint32_t session_flags; /* HSMG_SESSION_STRICT|VHSM from the config, or 0 */
	uint8_t *pin;		/* strict mode, logged in: the PIN, in locked memory */
	size_t pin_len;
	uint8_t *cardpin; /* strict+VHSM, user logged in: the card-PIN, locked */
	size_t cardpin_len;
	uint8_t record[SHIM_PIN_CARD_LEN]; /* logged in: the PIN's card record */
	uint32_t record_len;
	unsigned int nsessions, nro;
	struct shim_object *objects; /* session objects of this token */
};

/* Read the groups again: add new slots, update presence (sets ->event). */
CK_RV shim_slots_refresh(void);
/* The same, at most once a second (after card calls: HA events are seen). */
void shim_slots_refresh_lazy(void);
/* NULL when @id is not a slot. */
struct shim_slot *shim_slot_find(CK_SLOT_ID id);
/* CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_PRESENT, or CKR_OK with the slot. */
CK_RV shim_slot_token(CK_SLOT_ID id, struct shim_slot **out);
/* The token store of @s, opened on first use. */
CK_RV shim_slot_store(struct shim_slot *s, struct shim_store **out);
/* Strict mode: keep the PIN (mlock'ed) to log in sessions opened later. */
CK_RV shim_slot_keep_pin(struct shim_slot *s, const void *pin, size_t len);
/* Wipe and free the kept PIN (and card-PIN). */
void shim_slot_forget_pin(struct shim_slot *s);
/* Free every slot; @abandon in a forked child. */
void shim_slots_free(bool abandon);

#endif
