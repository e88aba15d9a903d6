/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crypto - the mechanisms, each PKCS#11 cryptographic call turned into
 * messages to the card (common/hsmg_msg.h) sent with HSMG_IOC_SUBMIT on the
 * token's kernel session.
 *
 * What the card does today, and how the calls map:
 *   C_GenerateRandom           RANDOM (in chunks of HSMG_MSG_MAX_RANDOM)
 *   CKM_AES_KEY_GEN            GENERATE_KEY
 *   CKM_EC_KEY_PAIR_GEN (P-256) GENERATE_KEYPAIR
 *   CKM_AES_GCM                ENCRYPT / DECRYPT; multi-part collects the
 *                              input and answers at *Final (GCM releases no
 *                              plaintext before the tag is checked)
 *   CKM_ECDSA                  SIGN / VERIFY, single-part only
 *   CKM_ECDSA_SHA256           SIGN / VERIFY; multi-part hashes with the
 *                              card's SHA-256 state blobs, then signs or
 *                              verifies the hash with CKM_ECDSA
 *   CKM_SHA_1 .. CKM_SHA512    DIGEST, DIGEST_INIT/UPDATE/FINAL (state blobs)
 */
#ifndef SHIM_CRYPTO_H
#define SHIM_CRYPTO_H

#include <p11-kit/pkcs11.h>

CK_RV shim_mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV shim_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);

#endif
