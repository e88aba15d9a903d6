/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aesmode - AES modes whose running state is a plain struct, so that a
 * multi-part operation can leave the card inside a state blob between parts
 * and continue on any member.  OpenSSL's EVP contexts cannot be exported,
 * so EVP is only used for the block function (ECB) and for CBC runs over
 * whole blocks; chaining values, counters, GHASH and CMAC are kept here.
 *
 * A state holds no key (the caller passes the key on every call) and no
 * data beyond one partial block (GCM decryption: the last tag-length bytes,
 * which may be the tag).  The struct is the card's private format; it only
 * leaves the card encrypted and authenticated (blob.c), so its fields are
 * trusted, but aes_check() still rejects impossible values.
 *
 * Cipher mechanisms: CKM_AES_ECB, CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR,
 * CKM_AES_GCM.  MAC: CKM_AES_CMAC (and _GENERAL, truncation by the caller).
 * Functions return a CK_RV.
 */
#ifndef HSMSIMD_AESMODE_H
#define HSMSIMD_AESMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#define AES_BLOCK 16

/* Cipher state. */
struct aes_state {
	uint64_t mech;
	uint8_t enc;	 /* 1 encrypt, 0 decrypt */
	uint8_t nbuf;	 /* bytes in buf */
	uint8_t tag_len; /* GCM */
	uint8_t ks_off;	 /* CTR/GCM: keystream bytes of the current block used */
	uint32_t ctr_bits;
	uint8_t buf[AES_BLOCK];	 /* partial block / held-back bytes */
	uint8_t iv[AES_BLOCK];	 /* CBC chaining value / CTR counter block */
	uint64_t blocks;	 /* CTR/GCM: counter values used */
	uint8_t j0[AES_BLOCK];	 /* GCM pre-counter block */
	uint8_t y[AES_BLOCK];	 /* GCM GHASH accumulator */
	uint8_t gbuf[AES_BLOCK]; /* GCM ciphertext not yet hashed */
	uint8_t ngbuf;
	uint8_t pad[7];
	uint64_t aad_len;
	uint64_t ct_len;
};

/* Start a cipher; @param/@plen as in the message format. */
CK_RV aes_init(struct aes_state *st, uint64_t mech, bool enc, const uint8_t *key, size_t keylen,
	       const uint8_t *param, size_t plen);
/* Most bytes aes_update() can write for @len input bytes. */
size_t aes_update_max(size_t len);
/* Process @len bytes; writes *@olen <= aes_update_max(@len) bytes. */
CK_RV aes_update(struct aes_state *st, const uint8_t *key, size_t keylen, const uint8_t *in,
		 size_t len, uint8_t *out, size_t *olen);
/* Finish: at most 2 * AES_BLOCK bytes. */
CK_RV aes_final(struct aes_state *st, const uint8_t *key, size_t keylen, uint8_t *out,
		size_t *olen);
/* Sanity of a decoded state for @mech / @enc. */
bool aes_check(const struct aes_state *st, uint64_t mech, bool enc);

/* CMAC (RFC 4493). */
struct cmac_state {
	uint8_t x[AES_BLOCK];
	uint8_t buf[AES_BLOCK]; /* 1..16 bytes held back once data arrived */
	uint8_t nbuf;
	uint8_t pad[7];
};

void cmac_init(struct cmac_state *st);
CK_RV cmac_update(struct cmac_state *st, const uint8_t *key, size_t keylen, const uint8_t *in,
		  size_t len);
CK_RV cmac_final(struct cmac_state *st, const uint8_t *key, size_t keylen, uint8_t mac[AES_BLOCK]);

/* RFC 3394 / RFC 5649 key wrap (CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD).
 * @iv: NULL for the default.  Wrap: out needs len + 16.  Unwrap: out needs
 * len; a bad integrity check gives CKR_WRAPPED_KEY_INVALID. */
CK_RV aes_kw(uint64_t mech, bool wrap, const uint8_t *key, size_t keylen, const uint8_t *iv,
	     size_t ivlen, const uint8_t *in, size_t len, uint8_t *out, size_t *olen);

#endif
