// SPDX-License-Identifier: GPL-2.0
/*
 * pin - PIN records, length rules, lockout (see pin.h).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "config.h"
#include "log.h"
#include "pin.h"
#include "store.h"

CK_RV shim_pin_check_len(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG len)
{
	if (!pin)
		return CKR_ARGUMENTS_BAD;
	if (len < c->pin_min_len || len > c->pin_max_len)
		return CKR_PIN_LEN_RANGE;
	return CKR_OK;
}

static int derive(const CK_UTF8CHAR *pin, CK_ULONG len, const uint8_t *salt, uint32_t iter,
		  uint8_t out[SHIM_PIN_HASH_LEN])
{
	return PKCS5_PBKDF2_HMAC((const char *)pin, (int)len, salt, SHIM_PIN_SALT_LEN, (int)iter,
				 EVP_sha256(), SHIM_PIN_HASH_LEN, out) == 1
		   ? 0
		   : -1;
}

CK_RV shim_pin_make(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG len,
		    struct shim_pin_record *r)
{
	memset(r, 0, sizeof(*r));
	r->version = SHIM_PIN_V1_PBKDF2;
	r->iterations = c->pin_iterations;
	if (RAND_bytes(r->salt, SHIM_PIN_SALT_LEN) != 1 ||
	    derive(pin, len, r->salt, r->iterations, r->hash))
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}

bool shim_pin_matches(const struct shim_pin_record *r, const CK_UTF8CHAR *pin, CK_ULONG len)
{
	uint8_t h[SHIM_PIN_HASH_LEN];
	bool ok;

	if (r->version != SHIM_PIN_V1_PBKDF2 || r->iterations < 1 ||
	    r->iterations > SHIM_PIN_MAX_ITERATIONS || !pin || len > 1024)
		return false;
	if (derive(pin, len, r->salt, r->iterations, h))
		return false;
	ok = CRYPTO_memcmp(h, r->hash, sizeof(h)) == 0;
	OPENSSL_cleanse(h, sizeof(h));
	return ok;
}

CK_RV shim_pin_fetch(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		     struct shim_pin_record *r, uint32_t *failures)
{
	CK_RV rv;

	*failures = 0;
	rv = shim_store_get_pin(s, user, r, failures);
	/* The count in the store locks too: on every host that shares the
	 * store.  The cards' own count (of card records) is the floor that
	 * someone who can write the store cannot reset. */
	if (rv == CKR_OK && *failures >= c->pin_max_failures)
		rv = CKR_PIN_LOCKED;
	if (rv != CKR_OK)
		OPENSSL_cleanse(r, sizeof(*r));
	return rv;
}

CK_RV shim_pin_result(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		      bool matched, uint32_t failures)
{
	CK_RV rv;

	if (matched)
		return failures ? shim_store_pin_reset(s, user) : CKR_OK;
	rv = shim_store_pin_failed(s, user, &failures);
	if (rv == CKR_OK) {
		shim_warn("wrong %s PIN (%u of %u)", user == CKU_SO ? "SO" : "user", failures,
			  c->pin_max_failures);
		rv = CKR_PIN_INCORRECT;
	}
	return rv;
}

CK_RV shim_pin_verify(const struct shim_config *c, struct shim_store *s, CK_USER_TYPE user,
		      const CK_UTF8CHAR *pin, CK_ULONG len)
{
	struct shim_pin_record r;
	uint32_t failures;
	CK_RV rv;

	if (!pin)
		return CKR_ARGUMENTS_BAD;
	rv = shim_pin_fetch(c, s, user, &r, &failures);
	if (rv != CKR_OK)
		return rv;
	if (r.version != SHIM_PIN_V1_PBKDF2) {
		OPENSSL_cleanse(&r, sizeof(r));
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
	rv = shim_pin_result(c, s, user, shim_pin_matches(&r, pin, len), failures);
	OPENSSL_cleanse(&r, sizeof(r));
	return rv;
}

CK_FLAGS shim_pin_token_flags(const struct shim_config *c, struct shim_store *s)
{
	struct shim_pin_record r;
	uint32_t failures;
	CK_FLAGS f = 0;

	if (shim_store_get_pin(s, CKU_USER, &r, &failures) == CKR_OK) {
		f |= CKF_USER_PIN_INITIALIZED;
		if (failures >= c->pin_max_failures)
			f |= CKF_USER_PIN_LOCKED;
		else if (failures + 1 == c->pin_max_failures)
			f |= CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW;
		else if (failures)
			f |= CKF_USER_PIN_COUNT_LOW;
	}
	if (shim_store_get_pin(s, CKU_SO, &r, &failures) == CKR_OK) {
		if (failures >= c->pin_max_failures)
			f |= CKF_SO_PIN_LOCKED;
		else if (failures + 1 == c->pin_max_failures)
			f |= CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_COUNT_LOW;
		else if (failures)
			f |= CKF_SO_PIN_COUNT_LOW;
	}
	OPENSSL_cleanse(&r, sizeof(r));
	return f;
}
