/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pin - PINs as records that never hold the PIN: PBKDF2-HMAC-SHA256 with a
 * random salt and the iteration count of the record; length rules; the
 * wrong-PIN counter and lockout, kept in the token store so that every
 * process of the host sees the same count.
 */
#ifndef SHIM_PIN_H
#define SHIM_PIN_H

#include <stdbool.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#define SHIM_PIN_SALT_LEN 16
#define SHIM_PIN_HASH_LEN 32
/* PBKDF2 rounds a PIN record may ask for: a record read from the store with
 * more is refused (a crafted store must not hang a login for hours). */
#define SHIM_PIN_MAX_ITERATIONS 10000000u

/* Stored as-is in the token store (host byte order). */
struct shim_pin_record {
	uint32_t version; /* 1 */
	uint32_t iterations;
	uint8_t salt[SHIM_PIN_SALT_LEN];
	uint8_t hash[SHIM_PIN_HASH_LEN];
};

struct shim_config;
struct shim_store;

/* CKR_ARGUMENTS_BAD for a NULL PIN, CKR_PIN_LEN_RANGE outside the rules. */
CK_RV shim_pin_check_len(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV shim_pin_make(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG len,
		    struct shim_pin_record *r);
/* Constant-time check of @pin against @r. */
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
 * @user and its failure count (CKR_PIN_LOCKED once the count reached
 * pin_max_failures, CKR_USER_PIN_NOT_INITIALIZED), then record whether it
 * @matched (CKR_OK, count reset; CKR_PIN_INCORRECT, count + 1).
 */
CK_RV shim_pin_fetch(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		     struct shim_pin_record *r, uint32_t *failures);
CK_RV shim_pin_result(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		      bool matched, uint32_t failures);

/* CKF_*_PIN_* flags of C_GetTokenInfo for both users. */
CK_FLAGS shim_pin_token_flags(const struct shim_config *c, struct shim_store *s);

#endif
