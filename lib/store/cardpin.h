/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cardpin - the card-PIN of a VHSM token (EP11 VHSM mode, see config.h):
 * 8 to 16 bytes that every user login of the token hands to the cards,
 * which bind keys to a blob derived from it.
 *
 * The token store keeps it only sealed, the length byte and the card-PIN
 * padded to 16 bytes (the record does not even show the length):
 * - version 2, by a card of the group (HSMG_MSG_OP_CARDPIN) under the
 *   master key, bound to the token's secret: only a session logged in
 *   with the user PIN opens it (libp11shim/auth.c), nothing in the store
 *   can be tested offline.  A new user PIN (C_SetPIN, the SO's C_InitPIN)
 *   keeps the secret and so the card-PIN; C_InitToken deletes it.
 * - version 1, from before: AES-256-GCM under a key derived from the user
 *   PIN (PBKDF2-HMAC-SHA256, own salt, pin_iterations), opened here; the
 *   next login seals it again as version 2.
 * Setting it needs the user PIN (`hsmgroupctl token cardpin`).
 */
#ifndef SHIM_CARDPIN_H
#define SHIM_CARDPIN_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#define SHIM_CARDPIN_MIN 8
#define SHIM_CARDPIN_MAX 16

#define SHIM_CARDPIN_SALT_LEN 16
#define SHIM_CARDPIN_IV_LEN   12
#define SHIM_CARDPIN_TAG_LEN  16
#define SHIM_CARDPIN_PT_LEN   (1 + SHIM_CARDPIN_MAX)

#define SHIM_CARDPIN_V1_PBKDF2 1
#define SHIM_CARDPIN_V2_CARD   2

/* Stored as-is in the token store (meta "cardpin", host byte order);
 * version 2 uses @iv, @ct, @tag only, in the card's order (45 bytes,
 * HSMG_MSG_CARDPIN_SEALED_LEN). */
struct shim_cardpin_record {
	uint32_t version;
	uint32_t iterations;
	uint8_t salt[SHIM_CARDPIN_SALT_LEN];
	uint8_t iv[SHIM_CARDPIN_IV_LEN];
	uint8_t ct[SHIM_CARDPIN_PT_LEN];
	uint8_t tag[SHIM_CARDPIN_TAG_LEN];
	uint8_t pad[3];
};

/* The cards' sealed form of a version 2 record: IV, ciphertext, tag. */
#define SHIM_CARDPIN_SEALED_LEN (SHIM_CARDPIN_IV_LEN + SHIM_CARDPIN_PT_LEN + SHIM_CARDPIN_TAG_LEN)
/* A version 2 record from the cards' sealed form, or back. */
void shim_cardpin_from_sealed(struct shim_cardpin_record *r,
			      const uint8_t sealed[SHIM_CARDPIN_SEALED_LEN]);
void shim_cardpin_to_sealed(const struct shim_cardpin_record *r,
			    uint8_t sealed[SHIM_CARDPIN_SEALED_LEN]);

struct shim_config;
struct shim_store;

/* CKR_ARGUMENTS_BAD for NULL, CKR_PIN_LEN_RANGE outside 8..16 bytes. */
CK_RV shim_cardpin_check_len(const void *cardpin, size_t len);

/* Seal @cardpin under @pin into @r (CKR_FUNCTION_FAILED on a crypto error). */
CK_RV shim_cardpin_seal(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG pin_len,
			const uint8_t *cardpin, size_t cardpin_len, struct shim_cardpin_record *r);
/*
 * Open version 1 record @r with @pin into @out (SHIM_CARDPIN_MAX bytes),
 * *@out_len its length.  CKR_PIN_INCORRECT when @pin does not open it (or
 * it was altered), CKR_DEVICE_ERROR for another version.
 */
CK_RV shim_cardpin_open(const struct shim_cardpin_record *r, const CK_UTF8CHAR *pin,
			CK_ULONG pin_len, uint8_t out[SHIM_CARDPIN_MAX], size_t *out_len);

/*
 * The card-PIN of the token of @st, opened with the user's @pin: CKR_OK,
 * or CKR_USER_PIN_NOT_INITIALIZED when none is set or it does not open
 * with @pin (both logged with what to do), or a store error.
 */
CK_RV shim_cardpin_load(struct shim_store *st, const CK_UTF8CHAR *pin, CK_ULONG pin_len,
			uint8_t out[SHIM_CARDPIN_MAX], size_t *out_len);

/*
 * shim_cardpin_load() in steps (C_Login runs the slow one, unseal, without
 * the module lock): read the record (shim_store_get_cardpin), pass a
 * failure through shim_cardpin_missing (logs what to do when there is
 * none), open it.
 */
CK_RV shim_cardpin_missing(CK_RV rv);
CK_RV shim_cardpin_unseal(const struct shim_cardpin_record *r, const CK_UTF8CHAR *pin,
			  CK_ULONG pin_len, uint8_t out[SHIM_CARDPIN_MAX], size_t *out_len);

/* Keep a card-PIN in locked memory (strict+VHSM: for sessions opened
 * later); shim_cardpin_forget() wipes and frees it. */
CK_RV shim_cardpin_keep(uint8_t **kept, size_t *kept_len, const uint8_t *cardpin, size_t len);
void shim_cardpin_forget(uint8_t **kept, size_t *kept_len);

#endif
