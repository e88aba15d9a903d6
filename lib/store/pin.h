/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pin - a token's PIN records, length rules, and the failed-login count
 * the token info reports.
 *
 * A PIN is checked by the cards of the group, never here: its record
 * (version 2) is the card's authentication record (HSMG_MSG_OP_AUTH_RECORD
 * makes it, a login hands it back with the PIN), sealed under the group's
 * master key, so that a copy of the store gives nothing to guess a PIN
 * against; the cards count failed logins and lock, the kernel delays.  The
 * count kept here only feeds the CKF_*_PIN_* flags.
 *
 * Version 1, the PBKDF2-HMAC-SHA256 verifier of tokens made before the
 * cards checked PINs, is still read: the PKCS#11 module checks it once, at
 * the first login with it, and replaces it with a card record (the
 * migration, libp11shim/auth.c).
 */
#ifndef SHIM_PIN_H
#define SHIM_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#define SHIM_PIN_SALT_LEN 16
#define SHIM_PIN_HASH_LEN 32
/* PBKDF2 rounds a PIN record may ask for: a record read from the store with
 * more is refused (a crafted store must not hang a login for hours). */
#define SHIM_PIN_MAX_ITERATIONS 10000000u

#define SHIM_PIN_V1_PBKDF2 1
#define SHIM_PIN_V2_CARD   2
/* Bytes of a card's record (HSMG_MSG_AUTH_RECORD_LEN). */
#define SHIM_PIN_CARD_LEN 116

/* Stored as-is in the token store (host byte order): version 1 up to
 * @card (SHIM_PIN_V1_SIZE bytes), version 2 whole. */
struct shim_pin_record {
	uint32_t version;
	uint32_t iterations;		 /* v1 */
	uint8_t salt[SHIM_PIN_SALT_LEN]; /* v1 */
	uint8_t hash[SHIM_PIN_HASH_LEN]; /* v1 */
	uint8_t card[SHIM_PIN_CARD_LEN]; /* v2: the card's record */
};
#define SHIM_PIN_V1_SIZE offsetof(struct shim_pin_record, card)

/* The bytes of @r the store keeps (0 for an unknown version). */
static inline size_t shim_pin_record_size(const struct shim_pin_record *r)
{
	switch (r->version) {
	case SHIM_PIN_V1_PBKDF2:
		return SHIM_PIN_V1_SIZE;
	case SHIM_PIN_V2_CARD:
		return sizeof(*r);
	default:
		return 0;
	}
}

/* Read a stored record of @len bytes into @r; false (@r zeroed) when it is
 * none. */
static inline bool shim_pin_record_load(struct shim_pin_record *r, const void *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	if (!buf || len < sizeof(r->version) || len > sizeof(*r))
		return false;
	memcpy(r, buf, len);
	if (shim_pin_record_size(r) == len)
		return true;
	memset(r, 0, sizeof(*r));
	return false;
}

struct shim_config;
struct shim_store;

/* CKR_ARGUMENTS_BAD for a NULL PIN, CKR_PIN_LEN_RANGE outside the rules. */
CK_RV shim_pin_check_len(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG len);
/* A version 1 record: only tests make these now, to try the migration. */
CK_RV shim_pin_make(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG len,
		    struct shim_pin_record *r);
/* Constant-time check of @pin against version 1 record @r. */
bool shim_pin_matches(const struct shim_pin_record *r, const CK_UTF8CHAR *pin, CK_ULONG len);

/*
 * Check @pin of @user against the store with the lockout rules:
 * CKR_PIN_LOCKED once the count reached pin_max_failures (the PIN is not
 * even tried), CKR_PIN_INCORRECT (count + 1), CKR_OK (count reset),
 * CKR_USER_PIN_NOT_INITIALIZED when there is no PIN.
 */
CK_RV shim_pin_verify(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		      const CK_UTF8CHAR *pin, CK_ULONG len);

/*
 * shim_pin_verify() in three steps, for a caller that runs the slow middle
 * one (shim_pin_matches: PBKDF2) without its lock: fetch the record of
 * @user and its failure count (CKR_PIN_LOCKED once a version 1 record's
 * count reached pin_max_failures, CKR_USER_PIN_NOT_INITIALIZED), then
 * record whether it @matched (CKR_OK, count reset; CKR_PIN_INCORRECT,
 * count + 1).  shim_pin_verify() checks version 1 records only: a card
 * record gives CKR_FUNCTION_NOT_SUPPORTED (a login checks it, auth.c).
 */
CK_RV shim_pin_fetch(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		     struct shim_pin_record *r, uint32_t *failures);
CK_RV shim_pin_result(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		      bool matched, uint32_t failures);

/* CKF_*_PIN_* flags of C_GetTokenInfo for both users. */
CK_FLAGS shim_pin_token_flags(const struct shim_config *c, struct shim_store *s);

#endif
