/* SPDX-License-Identifier: GPL-2.0 */
/*
 * keys - keys made by the card: generation (C_GenerateKey,
 * C_GenerateKeyPair), import of clear values given to C_CreateObject (the
 * card's IMPORT_KEY: the value never lands in the store), C_WrapKey,
 * C_UnwrapKey, C_DeriveKey, and the key material an operation sends.
 *
 * Attribute encodings (what pkcs11-tool, libp11 and p11tool read):
 * RSA public and private keys: CKA_MODULUS, CKA_PUBLIC_EXPONENT big-endian
 * without leading zeros, public keys also CKA_MODULUS_BITS; EC public keys:
 * CKA_EC_PARAMS = the curve's DER OID, CKA_EC_POINT = DER OCTET STRING of
 * the uncompressed point (04 41 04.. for P-256, 04 81 85 04.. for P-521);
 * EC private keys: CKA_EC_PARAMS.
 */
#ifndef SHIM_KEYS_H
#define SHIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

struct shim_object;
struct shim_session;

/*
 * What a request carries for key @k: the blob (secret and private keys) or
 * the public key in message form (*@pubkey true).  *@buf is malloc'd.
 */
CK_RV shim_key_material(const struct shim_object *k, uint8_t **buf, size_t *len, bool *pubkey);
/* RSA modulus bytes (0 if not RSA). */
CK_ULONG shim_key_modulus_len(const struct shim_object *k);
/* HSMG_CURVE_* of an EC key (0 if not EC). */
uint32_t shim_key_curve(const struct shim_object *k);

/*
 * The clear value of secret key @k (shim_obj_value_readable) from the
 * card's EXPORT_KEY, into *@val (malloc'd, *@len bytes; the caller wipes
 * and frees it).  Call with the module lock held and @s entered; the lock
 * is dropped while the card works, so @k is given back (shim_obj_put)
 * before that and must be looked up again.  The card refuses blobs not
 * made not-sensitive and extractable: CKR_ATTRIBUTE_SENSITIVE or
 * CKR_KEY_UNEXTRACTABLE.
 */
CK_RV shim_key_export_value(struct shim_session *s, struct shim_object *k, uint8_t **val,
			    size_t *len);

/* C_CreateObject of a secret or private key: import through the card. */
CK_RV shim_key_import(struct shim_session *s, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *t,
		      CK_ULONG n, CK_OBJECT_HANDLE *h);

#endif
