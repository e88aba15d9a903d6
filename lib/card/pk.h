/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pk - the emulated card's public-key primitives (RSA, ECDSA, ECDH) over
 * OpenSSL 3 EVP, with plain arguments and CK_RV results, so that the card
 * only deals with messages, blobs and states.
 *
 * Stored forms (inside key blobs, see card.h): an RSA private key is its
 * PKCS#1 RSAPrivateKey DER; an EC private key is the scalar (order length)
 * followed by the uncompressed public point.
 */
#ifndef HSMSIMD_PK_H
#define HSMSIMD_PK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

/* Largest RSA modulus in bytes, and the largest stored RSA key. */
#define PK_RSA_MAX_BYTES 512
#define PK_RSA_MAX_DER	 2800
#define PK_EC_MAX_ORDER	 66
#define PK_EC_MAX_POINT	 133

/* EC curves (HSMG_CURVE_*): lengths 0 for unknown curves. */
size_t pk_ec_order_len(uint32_t curve);
size_t pk_ec_point_len(uint32_t curve);
uint32_t pk_ec_curve_by_point_len(size_t len);

/* Digest of a CKM_SHA* value / MGF1 digest of a CKG_MGF1_* value. */
const EVP_MD *pk_md(uint64_t hash_mech);
const EVP_MD *pk_mgf_md(uint64_t mgf);

/* Loading.  @priv may be NULL for a public EC key. */
EVP_PKEY *pk_ec_load(uint32_t curve, const uint8_t *priv, const uint8_t *pub, size_t pub_len);
EVP_PKEY *pk_rsa_load_priv(const uint8_t *der, size_t len);
/* struct hsmg_msg_rsa_pub + modulus + exponent. */
EVP_PKEY *pk_rsa_load_pub(const uint8_t *pub, size_t len);
int pk_rsa_bytes(const EVP_PKEY *pkey);

/* Generation and conversion to stored forms.  Return CK_RV. */
CK_RV pk_rsa_generate(unsigned int bits, const uint8_t *e, size_t elen, EVP_PKEY **out);
CK_RV pk_rsa_from_comps(const uint8_t *p, size_t len, EVP_PKEY **out);
CK_RV pk_from_der(const uint8_t *der, size_t len, EVP_PKEY **out);
CK_RV pk_rsa_priv_der(EVP_PKEY *pkey, uint8_t *out, size_t cap, size_t *len);
CK_RV pk_rsa_pub_encode(const EVP_PKEY *pkey, uint8_t *out, size_t cap, size_t *len);
/* Curve of an EC key (HSMG_CURVE_*, 0 when unsupported). */
uint32_t pk_ec_curve_of(const EVP_PKEY *pkey);
/* scalar || point of @pkey (or of @scalar, computing the point). */
CK_RV pk_ec_secret(const EVP_PKEY *pkey, uint32_t curve, uint8_t *out);
CK_RV pk_ec_from_scalar(uint32_t curve, const uint8_t *scalar, size_t len, uint8_t *out);
CK_RV pk_pkcs8(EVP_PKEY *pkey, uint8_t *out, size_t cap, size_t *len);

/* Signatures.  @md NULL: @in is signed as is (CKM_RSA_PKCS: the DigestInfo;
 * CKM_ECDSA: the hash).  PSS: @pss true with @mgf and @salt.  ECDSA output
 * is r || s, 2 * order length. */
struct pk_sig {
	const EVP_MD *md;
	int pss;
	const EVP_MD *mgf;
	size_t salt;
	uint32_t curve; /* ECDSA */
};
CK_RV pk_sign(EVP_PKEY *pkey, const struct pk_sig *s, const uint8_t *in, size_t len, uint8_t *out,
	      size_t cap, size_t *olen);
CK_RV pk_verify(EVP_PKEY *pkey, const struct pk_sig *s, const uint8_t *in, size_t len,
		const uint8_t *sig, size_t sig_len);

/* RSA encryption: @oaep_md NULL for PKCS#1 v1.5. */
CK_RV pk_rsa_crypt(EVP_PKEY *pkey, int enc, const EVP_MD *oaep_md, const EVP_MD *mgf,
		   const uint8_t *label, size_t label_len, const uint8_t *in, size_t len,
		   uint8_t *out, size_t cap, size_t *olen);

/* ECDH: x coordinate of the shared point, order... field length bytes. */
CK_RV pk_ecdh(EVP_PKEY *priv, uint32_t curve, const uint8_t *peer, size_t peer_len, uint8_t *out,
	      size_t cap, size_t *olen);

#endif
