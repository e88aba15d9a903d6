// SPDX-License-Identifier: GPL-2.0
/*
 * cardpin - the sealed card-PIN of VHSM tokens (see cardpin.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cardpin.h"
#include "config.h"
#include "log.h"
#include "pin.h"
#include "store.h"

static const char aad_label[] = "hsmgroup card-PIN v1";

CK_RV shim_cardpin_check_len(const void *cardpin, size_t len)
{
	if (!cardpin)
		return CKR_ARGUMENTS_BAD;
	if (len < SHIM_CARDPIN_MIN || len > SHIM_CARDPIN_MAX)
		return CKR_PIN_LEN_RANGE;
	return CKR_OK;
}

static int derive_key(const CK_UTF8CHAR *pin, CK_ULONG pin_len, const struct shim_cardpin_record *r,
		      uint8_t key[32])
{
	if (!pin || pin_len > 1024 || r->iterations < 1 || r->iterations > SHIM_PIN_MAX_ITERATIONS)
		return -1;
	return PKCS5_PBKDF2_HMAC((const char *)pin, (int)pin_len, r->salt, sizeof(r->salt),
				 (int)r->iterations, EVP_sha256(), 32, key) == 1
		   ? 0
		   : -1;
}

/* AAD: the label and the header of the record (version, iterations, salt). */
static int gcm(bool enc, const uint8_t key[32], const struct shim_cardpin_record *r,
	       const uint8_t *in, uint8_t *out, uint8_t tag[SHIM_CARDPIN_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, ok = 0;

	if (!ctx)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SHIM_CARDPIN_IV_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, r->iv, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad_label, sizeof(aad_label)) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)r,
			     offsetof(struct shim_cardpin_record, iv)) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, SHIM_CARDPIN_PT_LEN) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SHIM_CARDPIN_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SHIM_CARDPIN_TAG_LEN, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

CK_RV shim_cardpin_seal(const struct shim_config *c, const CK_UTF8CHAR *pin, CK_ULONG pin_len,
			const uint8_t *cardpin, size_t cardpin_len, struct shim_cardpin_record *r)
{
	uint8_t key[32], pt[SHIM_CARDPIN_PT_LEN];
	CK_RV rv;

	rv = shim_cardpin_check_len(cardpin, cardpin_len);
	if (rv != CKR_OK)
		return rv;
	if (!pin)
		return CKR_ARGUMENTS_BAD;
	memset(r, 0, sizeof(*r));
	r->version = SHIM_CARDPIN_V1_PBKDF2;
	r->iterations = c->pin_iterations;
	memset(pt, 0, sizeof(pt));
	pt[0] = (uint8_t)cardpin_len;
	memcpy(pt + 1, cardpin, cardpin_len);
	rv = CKR_FUNCTION_FAILED;
	if (RAND_bytes(r->salt, sizeof(r->salt)) == 1 && RAND_bytes(r->iv, sizeof(r->iv)) == 1 &&
	    !derive_key(pin, pin_len, r, key) && !gcm(true, key, r, pt, r->ct, r->tag))
		rv = CKR_OK;
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(pt, sizeof(pt));
	if (rv != CKR_OK)
		OPENSSL_cleanse(r, sizeof(*r));
	return rv;
}

CK_RV shim_cardpin_open(const struct shim_cardpin_record *r, const CK_UTF8CHAR *pin,
			CK_ULONG pin_len, uint8_t out[SHIM_CARDPIN_MAX], size_t *out_len)
{
	uint8_t key[32], pt[SHIM_CARDPIN_PT_LEN], tag[SHIM_CARDPIN_TAG_LEN];
	CK_RV rv = CKR_PIN_INCORRECT;

	*out_len = 0;
	if (r->version != SHIM_CARDPIN_V1_PBKDF2)
		return CKR_DEVICE_ERROR;
	memcpy(tag, r->tag, sizeof(tag));
	if (!derive_key(pin, pin_len, r, key) && !gcm(false, key, r, r->ct, pt, tag) &&
	    pt[0] >= SHIM_CARDPIN_MIN && pt[0] <= SHIM_CARDPIN_MAX) {
		memcpy(out, pt + 1, pt[0]);
		*out_len = pt[0];
		rv = CKR_OK;
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(pt, sizeof(pt));
	return rv;
}

CK_RV shim_cardpin_missing(CK_RV rv)
{
	if (rv == CKR_USER_PIN_NOT_INITIALIZED)
		shim_err("VHSM mode: no card-PIN is set for this token, user login refused (set "
			 "one with: hsmgroupctl token cardpin)");
	return rv;
}

CK_RV shim_cardpin_unseal(const struct shim_cardpin_record *r, const CK_UTF8CHAR *pin,
			  CK_ULONG pin_len, uint8_t out[SHIM_CARDPIN_MAX], size_t *out_len)
{
	CK_RV rv;

	*out_len = 0;
	rv = shim_cardpin_open(r, pin, pin_len, out, out_len);
	if (rv == CKR_PIN_INCORRECT) {
		shim_err("VHSM mode: the card-PIN record does not open with this user PIN (damaged "
			 "store?), user login refused (set it again with: hsmgroupctl token "
			 "cardpin)");
		return CKR_USER_PIN_NOT_INITIALIZED;
	}
	if (rv != CKR_OK)
		shim_err("VHSM mode: unknown card-PIN record version, user login refused");
	return rv;
}

CK_RV shim_cardpin_load(struct shim_store *st, const CK_UTF8CHAR *pin, CK_ULONG pin_len,
			uint8_t out[SHIM_CARDPIN_MAX], size_t *out_len)
{
	struct shim_cardpin_record r;
	CK_RV rv;

	*out_len = 0;
	rv = shim_cardpin_missing(shim_store_get_cardpin(st, &r));
	if (rv == CKR_OK)
		rv = shim_cardpin_unseal(&r, pin, pin_len, out, out_len);
	OPENSSL_cleanse(&r, sizeof(r));
	return rv;
}

CK_RV shim_cardpin_keep(uint8_t **kept, size_t *kept_len, const uint8_t *cardpin, size_t len)
{
	shim_cardpin_forget(kept, kept_len);
	if (len > SHIM_CARDPIN_MAX)
		return CKR_ARGUMENTS_BAD;
	*kept = malloc(SHIM_CARDPIN_MAX);
	if (!*kept)
		return CKR_HOST_MEMORY;
	if (mlock(*kept, SHIM_CARDPIN_MAX))
		shim_warn("mlock of the card-PIN failed: %s", strerror(errno));
	memcpy(*kept, cardpin, len);
	*kept_len = len;
	return CKR_OK;
}

void shim_cardpin_forget(uint8_t **kept, size_t *kept_len)
{
	if (!*kept)
		return;
	OPENSSL_cleanse(*kept, SHIM_CARDPIN_MAX);
	munlock(*kept, SHIM_CARDPIN_MAX);
	free(*kept);
	*kept = NULL;
	*kept_len = 0;
}

void shim_cardpin_from_sealed(struct shim_cardpin_record *r,
			      const uint8_t sealed[SHIM_CARDPIN_SEALED_LEN])
{
	memset(r, 0, sizeof(*r));
	r->version = SHIM_CARDPIN_V2_CARD;
	memcpy(r->iv, sealed, SHIM_CARDPIN_IV_LEN);
	memcpy(r->ct, sealed + SHIM_CARDPIN_IV_LEN, SHIM_CARDPIN_PT_LEN);
	memcpy(r->tag, sealed + SHIM_CARDPIN_IV_LEN + SHIM_CARDPIN_PT_LEN, SHIM_CARDPIN_TAG_LEN);
}

void shim_cardpin_to_sealed(const struct shim_cardpin_record *r,
			    uint8_t sealed[SHIM_CARDPIN_SEALED_LEN])
{
	memcpy(sealed, r->iv, SHIM_CARDPIN_IV_LEN);
	memcpy(sealed + SHIM_CARDPIN_IV_LEN, r->ct, SHIM_CARDPIN_PT_LEN);
	memcpy(sealed + SHIM_CARDPIN_IV_LEN + SHIM_CARDPIN_PT_LEN, r->tag, SHIM_CARDPIN_TAG_LEN);
}
