/* SPDX-License-Identifier: GPL-2.0 */
/*
 * store - the token store: one SQLite database per token (group), named
 * after the group's MKVP: <token_dir>/token-<64 hex digits of the MKVP>.db.
 * WAL mode, a busy timeout, so several processes share it; every change is
 * one transaction, so a crash leaves either the old or the new state.
 *
 * Schema version 1 (PRAGMA user_version = 1):
 *   meta(name TEXT PRIMARY KEY, value BLOB)     "mkvp", "label", "cardpin"
 *                                               cardpin: a VHSM token's sealed
 *                                               card-PIN (cardpin.h)
 *   pins(user INTEGER PRIMARY KEY, record BLOB, failures INTEGER)
 *                                               user = CKU_SO / CKU_USER
 *   objects(id INTEGER PRIMARY KEY AUTOINCREMENT, private INTEGER,
 *           attrs BLOB)                         attrs: shim_obj_serialize()
 * AUTOINCREMENT: an id (and so an object handle) is never reused.
 */
#ifndef SHIM_STORE_H
#define SHIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/hsmgroup.h>
#include <p11-kit/pkcs11.h>

#include "cardpin.h"
#include "pin.h"

#define SHIM_STORE_SCHEMA 1

struct shim_store;

/* Open (creating dir entries and schema as needed) the store of @mkvp. */
CK_RV shim_store_open(const char *dir, const uint8_t mkvp[HSMG_MKVP_LEN], struct shim_store **out);
void shim_store_close(struct shim_store *s);
/* In a forked child: forget the connection without closing it (SQLite
 * connections must not cross fork()). */
void shim_store_abandon(struct shim_store *s);

/* Token label (32 bytes, blank padded); false when the token is not
 * initialized (no SO PIN). */
bool shim_store_initialized(struct shim_store *s, uint8_t label[32]);
/* C_InitToken: delete every object, PIN and the card-PIN, set label and
 * SO PIN. */
CK_RV shim_store_init_token(struct shim_store *s, const uint8_t label[32],
			    const struct shim_pin_record *so);

/* CKR_USER_PIN_NOT_INITIALIZED when @user has no PIN. */
CK_RV shim_store_get_pin(struct shim_store *s, CK_USER_TYPE user, struct shim_pin_record *r,
			 uint32_t *failures);
/* Set the PIN record of @user and reset its failure count. */
CK_RV shim_store_put_pin(struct shim_store *s, CK_USER_TYPE user, const struct shim_pin_record *r);
/* Add one failure (atomically across processes); returns the new count. */
CK_RV shim_store_pin_failed(struct shim_store *s, CK_USER_TYPE user, uint32_t *failures);
CK_RV shim_store_pin_reset(struct shim_store *s, CK_USER_TYPE user);

/* The sealed card-PIN; CKR_USER_PIN_NOT_INITIALIZED when none is set. */
CK_RV shim_store_get_cardpin(struct shim_store *s, struct shim_cardpin_record *r);
/* Set the sealed card-PIN, or delete it (@r NULL). */
CK_RV shim_store_put_cardpin(struct shim_store *s, const struct shim_cardpin_record *r);
/* In one transaction: set the user PIN record (failure count reset) and
 * the sealed card-PIN (@cp), or delete the card-PIN (@cp NULL). */
CK_RV shim_store_put_user_pin(struct shim_store *s, const struct shim_pin_record *r,
			      const struct shim_cardpin_record *cp);

CK_RV shim_store_obj_insert(struct shim_store *s, bool priv, const uint8_t *blob, size_t len,
			    int64_t *id);
CK_RV shim_store_obj_update(struct shim_store *s, int64_t id, bool priv, const uint8_t *blob,
			    size_t len);
/* CKR_OBJECT_HANDLE_INVALID when @id does not exist. */
CK_RV shim_store_obj_delete(struct shim_store *s, int64_t id);
CK_RV shim_store_obj_get(struct shim_store *s, int64_t id, uint8_t **blob, size_t *len);

/* Call @fn for every object (public ones only unless @with_private); stop
 * and return its result when it is not CKR_OK. */
typedef CK_RV (*shim_store_obj_fn)(void *ctx, int64_t id, const uint8_t *blob, size_t len);
CK_RV shim_store_obj_foreach(struct shim_store *s, bool with_private, shim_store_obj_fn fn,
			     void *ctx);

#endif
