/* SPDX-License-Identifier: GPL-2.0 */
/*
 * store - the token store's interface: where a token (a group, named by
 * its master key's MKVP) keeps its label, its PINs' verification records,
 * the sealed card-PIN of a VHSM token and its objects.  Used by the
 * PKCS#11 module and hsmgroupctl.
 *
 * One implementation provides struct shim_store_ops; a store handle
 * starts with struct shim_store, whose @ops the calls below go through.
 * shim_store_open() picks the implementation from the location:
 * "NAME:REST" for a known implementation NAME ("sqlite:DIR",
 * "postgresql:CONNINFO"), a libpq URI ("postgresql://...",
 * "postgres://...") or keyword/value string ("host=... dbname=...":
 * store_pg.c), anything else a directory of the SQLite
 * store (store_sqlite.c, the embedded default).
 *
 * What every implementation keeps (the module relies on it):
 * - every change is atomic and durable when the call returns CKR_OK, and
 *   several processes (and hosts, where the implementation is shared) may
 *   use one token at once; a crash leaves the old or the new state;
 * - object ids are positive, never reused (an id names an object handle);
 * - a PIN's failure count is incremented atomically across processes;
 * - errors of the storage itself are CKR_DEVICE_ERROR (logged with the
 *   cause), a missing PIN CKR_USER_PIN_NOT_INITIALIZED, a missing object
 *   CKR_OBJECT_HANDLE_INVALID;
 * - opening with an MKVP records it, opening a store that holds another
 *   MKVP fails.
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

/* Call @fn for every object; stop and return its result when not CKR_OK. */
typedef CK_RV (*shim_store_obj_fn)(void *ctx, int64_t id, const uint8_t *blob, size_t len);

struct shim_store;

/*
 * One row of a token as it is stored, for copying a token between stores:
 * meta (@name, @val), a PIN (@key = the CK_USER_TYPE, @val = its record,
 * @failures) or an object (@key = its id, @priv, @val = its attributes).
 */
struct shim_store_row {
	int64_t key;
	char name[32];
	bool priv;
	uint32_t failures;
	uint8_t *val;
	size_t len;
};

/* Everything a token is, but its MKVP (which names it). */
struct shim_store_image {
	struct shim_store_row *meta, *pins, *objs;
	size_t nmeta, npins, nobjs;
};

/**
 * struct shim_store_ops - one implementation of the token store; each
 * call is as documented for the shim_store_*() function of the same name.
 * @name: what a location starts with ("NAME:") to choose it.
 * @open: open the store of @mkvp at @location (the part after "NAME:").
 */
struct shim_store_ops {
	const char *name;
	CK_RV(*open)
	(const char *location, const uint8_t mkvp[HSMG_MKVP_LEN], struct shim_store **out);
	void (*close)(struct shim_store *s);
	void (*abandon)(struct shim_store *s);
	bool (*initialized)(struct shim_store *s, uint8_t label[32]);
	CK_RV(*init_token)
	(struct shim_store *s, const uint8_t label[32], const struct shim_pin_record *so);
	CK_RV(*get_pin)
	(struct shim_store *s, CK_USER_TYPE user, struct shim_pin_record *r, uint32_t *failures);
	CK_RV (*put_pin)(struct shim_store *s, CK_USER_TYPE user, const struct shim_pin_record *r);
	CK_RV (*pin_failed)(struct shim_store *s, CK_USER_TYPE user, uint32_t *failures);
	CK_RV (*pin_reset)(struct shim_store *s, CK_USER_TYPE user);
	CK_RV (*get_cardpin)(struct shim_store *s, struct shim_cardpin_record *r);
	CK_RV (*put_cardpin)(struct shim_store *s, const struct shim_cardpin_record *r);
	CK_RV(*put_user_pin)
	(struct shim_store *s, const struct shim_pin_record *r,
	 const struct shim_cardpin_record *cp);
	CK_RV(*get_meta)
	(struct shim_store *s, const char *name, uint8_t *val, size_t cap, size_t *len);
	CK_RV (*put_meta)(struct shim_store *s, const char *name, const uint8_t *val, size_t len);
	CK_RV(*obj_insert)
	(struct shim_store *s, bool priv, const uint8_t *blob, size_t len, int64_t *id);
	CK_RV(*obj_update)
	(struct shim_store *s, int64_t id, bool priv, const uint8_t *blob, size_t len);
	CK_RV (*obj_delete)(struct shim_store *s, int64_t id);
	CK_RV (*obj_get)(struct shim_store *s, int64_t id, uint8_t **blob, size_t *len);
	CK_RV(*obj_foreach)
	(struct shim_store *s, bool with_private, shim_store_obj_fn fn, void *ctx);
	CK_RV (*export_token)(struct shim_store *s, struct shim_store_image *img);
	CK_RV (*import_token)(struct shim_store *s, const struct shim_store_image *img);
};

/** struct shim_store - the start of every implementation's handle. */
struct shim_store {
	const struct shim_store_ops *ops;
};

/* The implementations. */
extern const struct shim_store_ops shim_store_sqlite;
extern const struct shim_store_ops shim_store_postgresql;

/* The longest a call of a networked store (PostgreSQL) may wait for its
 * database (0: the default). */
#define SHIM_STORE_TIMEOUT_MS 5000
void shim_store_set_timeout(unsigned int ms);
unsigned int shim_store_timeout(void);
/* A networked store's listings: false (the default) asks the database
 * whether anything changed before each (one round trip); true trusts its
 * change notifications (none). */
void shim_store_set_lookup_notify(bool on);
bool shim_store_lookup_notify(void);

/*
 * Open the store of @mkvp at @location ("NAME:REST", or a directory of
 * the SQLite store); CKR_ARGUMENTS_BAD for an unknown NAME.
 */
CK_RV shim_store_open(const char *location, const uint8_t mkvp[HSMG_MKVP_LEN],
		      struct shim_store **out);
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

/*
 * A value of the token (names the module picks: "rebind").  get:
 * CKR_DATA_INVALID when @name has none, CKR_BUFFER_TOO_SMALL above @cap.
 * put: set it, or delete it (@val NULL).  C_InitToken deletes them all.
 */
CK_RV shim_store_get_meta(struct shim_store *s, const char *name, uint8_t *val, size_t cap,
			  size_t *len);
CK_RV shim_store_put_meta(struct shim_store *s, const char *name, const uint8_t *val, size_t len);

CK_RV shim_store_obj_insert(struct shim_store *s, bool priv, const uint8_t *blob, size_t len,
			    int64_t *id);
CK_RV shim_store_obj_update(struct shim_store *s, int64_t id, bool priv, const uint8_t *blob,
			    size_t len);
/* CKR_OBJECT_HANDLE_INVALID when @id does not exist. */
CK_RV shim_store_obj_delete(struct shim_store *s, int64_t id);
CK_RV shim_store_obj_get(struct shim_store *s, int64_t id, uint8_t **blob, size_t *len);

/* Call @fn for every object (public ones only unless @with_private). */
CK_RV shim_store_obj_foreach(struct shim_store *s, bool with_private, shim_store_obj_fn fn,
			     void *ctx);

/*
 * Copy a token: read all of it in one transaction (export), write it into a
 * store that holds nothing of this token yet, ids kept (import;
 * CKR_TOKEN_WRITE_PROTECTED when the destination holds a PIN, a value or an
 * object of it), in one transaction.
 */
CK_RV shim_store_export(struct shim_store *s, struct shim_store_image *img);
CK_RV shim_store_import(struct shim_store *s, const struct shim_store_image *img);
/* Wipe and free what an export filled in. */
void shim_store_image_free(struct shim_store_image *img);
/* The first difference between two images, as text into @why; true when
 * there is none. */
bool shim_store_image_same(const struct shim_store_image *a, const struct shim_store_image *b,
			   char *why, size_t cap);
/* Add a row to a list (for the implementations' exports). */
CK_RV shim_store_image_add(struct shim_store_row **list, size_t *n, const struct shim_store_row *r,
			   const void *val);

#endif
