/* SPDX-License-Identifier: GPL-2.0 */
/*
 * auth - a token's PINs through the cards: records made by a card, PINs
 * checked by a login, the migration of tokens from before (lib/store/pin.h).
 * Called with the module lock held; the calls that wait for the kernel
 * (a login waits out the group's delay after failed ones) drop it.
 */
#ifndef SHIM_AUTH_H
#define SHIM_AUTH_H

#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "pin.h"

struct shim_slot;
struct shim_store;

/* The token id of a card record (its head). */
void shim_auth_token_id(const struct shim_pin_record *r, uint8_t token[16]);

/*
 * A card record of @user (CKU_SO, CKU_USER) for @pin, made in kernel
 * session @kid: logged in with a record of token @token, it keeps that
 * token's secret and id; else (@kid 0) it starts a new token, whose id the
 * card derives from the new secret.
 */
CK_RV shim_auth_make(struct shim_slot *slot, uint32_t kid, CK_USER_TYPE user,
		     const uint8_t token[16], const CK_UTF8CHAR *pin, CK_ULONG len,
		     struct shim_pin_record *out);

/*
 * Check @pin of @user against card record @r by logging a new kernel
 * session in with it: CKR_OK with the session in *@kid (end it with
 * shim_auth_end), CKR_PIN_INCORRECT, CKR_PIN_LOCKED, or another error.
 * The store's count for the token flags (@failures before) follows the
 * outcome.
 */
CK_RV shim_auth_login(struct shim_slot *slot, struct shim_store *st, CK_USER_TYPE user,
		      const struct shim_pin_record *r, uint32_t failures, const CK_UTF8CHAR *pin,
		      CK_ULONG len, uint32_t *kid);
void shim_auth_end(uint32_t kid);

/* Keep the store's count of failed logins (it feeds the CKF_*_PIN_* token
 * flags only; the cards count for real; @failures before) in step with the
 * cards' verdict @rv: CKR_OK resets it (a write only when not 0),
 * CKR_PIN_INCORRECT adds one, CKR_PIN_LOCKED fills it. */
void shim_auth_note(struct shim_store *st, CK_USER_TYPE user, CK_RV rv, uint32_t failures);
/* The CKR_* of a failed kernel login with a record (EACCES, EKEYEXPIRED). */
CK_RV shim_auth_login_rv(int err);

/*
 * Migration of the user's version 1 record (the PIN already checked
 * against it): a card record in its place, with a new secret, then every
 * private key of the token bound to it.  *@r becomes the new record.
 */
CK_RV shim_auth_migrate_user(struct shim_slot *slot, struct shim_store *st, const CK_UTF8CHAR *pin,
			     CK_ULONG len, struct shim_pin_record *r);
/* After a user login with a card record: finish a migration that was cut
 * short (the store says "rebind"), in kernel session @kid. */
CK_RV shim_auth_rebind_pending(struct shim_slot *slot, struct shim_store *st, uint32_t kid);

/*
 * The VHSM card-PIN through the cards, in kernel session @kid logged in
 * as the user with the token's record: seal @cardpin into @r (version 2),
 * or open @r into @out (SHIM_CARDPIN_MAX bytes, *@out_len); a version 1
 * record is opened here with the user's @pin.
 */
struct shim_cardpin_record;
CK_RV shim_auth_cardpin_seal(struct shim_slot *slot, uint32_t kid, const uint8_t *cardpin,
			     size_t len, struct shim_cardpin_record *r);
CK_RV shim_auth_cardpin_open(struct shim_slot *slot, uint32_t kid,
			     const struct shim_cardpin_record *r, const CK_UTF8CHAR *pin,
			     CK_ULONG pin_len, uint8_t *out, size_t *out_len);

#endif
