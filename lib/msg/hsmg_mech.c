// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg_mech - the mechanism table of message format version 1 (see
 * hsmg_mech.h).
 */
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "hsmg_mech.h"

#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define ENC	 (CKF_ENCRYPT | CKF_DECRYPT)
#define SIG	 (CKF_SIGN | CKF_VERIFY)

#define K_NONE	  HSMG_MECH_KEY_NONE
#define K_AES	  HSMG_MECH_KEY_AES
#define K_GENERIC HSMG_MECH_KEY_GENERIC
#define K_RSA	  HSMG_MECH_KEY_RSA
#define K_EC	  HSMG_MECH_KEY_EC

#define P_NONE	 HSMG_MECH_P_NONE
#define P_IV16	 HSMG_MECH_P_IV16
#define P_CTR	 HSMG_MECH_P_CTR
#define P_GCM	 HSMG_MECH_P_GCM
#define P_PSS	 HSMG_MECH_P_PSS
#define P_OAEP	 HSMG_MECH_P_OAEP
#define P_MACLEN HSMG_MECH_P_MACLEN
#define P_KW	 HSMG_MECH_P_KW
#define P_KWP	 HSMG_MECH_P_KWP
#define P_ECDH	 HSMG_MECH_P_ECDH

#define S_NONE	HSMG_MECH_SIG_NONE
#define S_RSA	HSMG_MECH_SIG_RSA
#define S_PSS	HSMG_MECH_SIG_PSS
#define S_ECDSA HSMG_MECH_SIG_ECDSA
#define S_HMAC	HSMG_MECH_SIG_HMAC
#define S_CMAC	HSMG_MECH_SIG_CMAC

/*
 * Everything a card of message version 1 does for PKCS#11:
 * type, name, min, max, flags, key, param, multi-part, signature, output
 * length, hash.
 */
static const struct hsmg_mech mechs[] = {
    /* RSA */
    {CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN", 2048, 4096,
     CKF_HW | CKF_GENERATE_KEY_PAIR, K_RSA, P_NONE, false, S_NONE, 0, 0},
    {CKM_RSA_PKCS, "CKM_RSA_PKCS", 2048, 4096, CKF_HW | ENC | SIG, K_RSA, P_NONE, false, S_RSA, 0,
     0},
    {CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP", 2048, 4096, CKF_HW | ENC, K_RSA, P_OAEP, false, S_NONE,
     0, 0},
    {CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS", 2048, 4096, CKF_HW | SIG, K_RSA, P_PSS, false, S_PSS, 0,
     0},
    {CKM_SHA1_RSA_PKCS, "CKM_SHA1_RSA_PKCS", 2048, 4096, CKF_HW | SIG, K_RSA, P_NONE, true, S_RSA,
     0, CKM_SHA_1},
    {CKM_SHA224_RSA_PKCS, "CKM_SHA224_RSA_PKCS", 2048, 4096, CKF_HW | SIG, K_RSA, P_NONE, true,
     S_RSA, 0, CKM_SHA224},
    {CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS", 2048, 4096, CKF_HW | SIG, K_RSA, P_NONE, true,
     S_RSA, 0, CKM_SHA256},
    {CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS", 2048, 4096, CKF_HW | SIG, K_RSA, P_NONE, true,
     S_RSA, 0, CKM_SHA384},
    {CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS", 2048, 4096, CKF_HW | SIG, K_RSA, P_NONE, true,
     S_RSA, 0, CKM_SHA512},
    {CKM_SHA1_RSA_PKCS_PSS, "CKM_SHA1_RSA_PKCS_PSS", 2048, 4096, CKF_HW | SIG, K_RSA, P_PSS, true,
     S_PSS, 0, CKM_SHA_1},
    {CKM_SHA224_RSA_PKCS_PSS, "CKM_SHA224_RSA_PKCS_PSS", 2048, 4096, CKF_HW | SIG, K_RSA, P_PSS,
     true, S_PSS, 0, CKM_SHA224},
    {CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS", 2048, 4096, CKF_HW | SIG, K_RSA, P_PSS,
     true, S_PSS, 0, CKM_SHA256},
    {CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS", 2048, 4096, CKF_HW | SIG, K_RSA, P_PSS,
     true, S_PSS, 0, CKM_SHA384},
    {CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS", 2048, 4096, CKF_HW | SIG, K_RSA, P_PSS,
     true, S_PSS, 0, CKM_SHA512},
    /* EC */
    {CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN", 256, 521,
     CKF_HW | CKF_GENERATE_KEY_PAIR | EC_FLAGS, K_EC, P_NONE, false, S_NONE, 0, 0},
    {CKM_ECDSA, "CKM_ECDSA", 256, 521, CKF_HW | SIG | EC_FLAGS, K_EC, P_NONE, false, S_ECDSA, 0, 0},
    {CKM_ECDSA_SHA1, "CKM_ECDSA_SHA1", 256, 521, CKF_HW | SIG | EC_FLAGS, K_EC, P_NONE, true,
     S_ECDSA, 0, CKM_SHA_1},
    {CKM_ECDSA_SHA224, "CKM_ECDSA_SHA224", 256, 521, CKF_HW | SIG | EC_FLAGS, K_EC, P_NONE, true,
     S_ECDSA, 0, CKM_SHA224},
    {CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256", 256, 521, CKF_HW | SIG | EC_FLAGS, K_EC, P_NONE, true,
     S_ECDSA, 0, CKM_SHA256},
    {CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384", 256, 521, CKF_HW | SIG | EC_FLAGS, K_EC, P_NONE, true,
     S_ECDSA, 0, CKM_SHA384},
    {CKM_ECDSA_SHA512, "CKM_ECDSA_SHA512", 256, 521, CKF_HW | SIG | EC_FLAGS, K_EC, P_NONE, true,
     S_ECDSA, 0, CKM_SHA512},
    {CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE", 256, 521, CKF_HW | CKF_DERIVE | EC_FLAGS, K_EC, P_ECDH,
     false, S_NONE, 0, 0},
    /* AES */
    {CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN", 16, 32, CKF_HW | CKF_GENERATE, K_AES, P_NONE, false,
     S_NONE, 0, 0},
    {CKM_AES_ECB, "CKM_AES_ECB", 16, 32, CKF_HW | ENC, K_AES, P_NONE, true, S_NONE, 0, 0},
    {CKM_AES_CBC, "CKM_AES_CBC", 16, 32, CKF_HW | ENC, K_AES, P_IV16, true, S_NONE, 0, 0},
    {CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD", 16, 32, CKF_HW | ENC, K_AES, P_IV16, true, S_NONE, 0, 0},
    {CKM_AES_CTR, "CKM_AES_CTR", 16, 32, CKF_HW | ENC, K_AES, P_CTR, true, S_NONE, 0, 0},
    {CKM_AES_GCM, "CKM_AES_GCM", 16, 32, CKF_HW | ENC, K_AES, P_GCM, true, S_NONE, 0, 0},
    {CKM_AES_KEY_WRAP, "CKM_AES_KEY_WRAP", 16, 32, CKF_HW | CKF_WRAP | CKF_UNWRAP, K_AES, P_KW,
     false, S_NONE, 0, 0},
    {CKM_AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD", 16, 32, CKF_HW | CKF_WRAP | CKF_UNWRAP, K_AES,
     P_KWP, false, S_NONE, 0, 0},
    {CKM_AES_CMAC, "CKM_AES_CMAC", 16, 32, CKF_HW | SIG, K_AES, P_NONE, true, S_CMAC, 16, 0},
    {CKM_AES_CMAC_GENERAL, "CKM_AES_CMAC_GENERAL", 16, 32, CKF_HW | SIG, K_AES, P_MACLEN, true,
     S_CMAC, 16, 0},
    /* Generic secrets and HMAC (key sizes in bits) */
    {CKM_GENERIC_SECRET_KEY_GEN, "CKM_GENERIC_SECRET_KEY_GEN", 8, 4096, CKF_HW | CKF_GENERATE,
     K_GENERIC, P_NONE, false, S_NONE, 0, 0},
    {CKM_SHA_1_HMAC, "CKM_SHA_1_HMAC", 8, 4096, CKF_HW | SIG, K_GENERIC, P_NONE, true, S_HMAC, 20,
     CKM_SHA_1},
    {CKM_SHA224_HMAC, "CKM_SHA224_HMAC", 8, 4096, CKF_HW | SIG, K_GENERIC, P_NONE, true, S_HMAC, 28,
     CKM_SHA224},
    {CKM_SHA256_HMAC, "CKM_SHA256_HMAC", 8, 4096, CKF_HW | SIG, K_GENERIC, P_NONE, true, S_HMAC, 32,
     CKM_SHA256},
    {CKM_SHA384_HMAC, "CKM_SHA384_HMAC", 8, 4096, CKF_HW | SIG, K_GENERIC, P_NONE, true, S_HMAC, 48,
     CKM_SHA384},
    {CKM_SHA512_HMAC, "CKM_SHA512_HMAC", 8, 4096, CKF_HW | SIG, K_GENERIC, P_NONE, true, S_HMAC, 64,
     CKM_SHA512},
    {CKM_SHA_1_HMAC_GENERAL, "CKM_SHA_1_HMAC_GENERAL", 8, 4096, CKF_HW | SIG, K_GENERIC, P_MACLEN,
     true, S_HMAC, 20, CKM_SHA_1},
    {CKM_SHA224_HMAC_GENERAL, "CKM_SHA224_HMAC_GENERAL", 8, 4096, CKF_HW | SIG, K_GENERIC, P_MACLEN,
     true, S_HMAC, 28, CKM_SHA224},
    {CKM_SHA256_HMAC_GENERAL, "CKM_SHA256_HMAC_GENERAL", 8, 4096, CKF_HW | SIG, K_GENERIC, P_MACLEN,
     true, S_HMAC, 32, CKM_SHA256},
    {CKM_SHA384_HMAC_GENERAL, "CKM_SHA384_HMAC_GENERAL", 8, 4096, CKF_HW | SIG, K_GENERIC, P_MACLEN,
     true, S_HMAC, 48, CKM_SHA384},
    {CKM_SHA512_HMAC_GENERAL, "CKM_SHA512_HMAC_GENERAL", 8, 4096, CKF_HW | SIG, K_GENERIC, P_MACLEN,
     true, S_HMAC, 64, CKM_SHA512},
    /* Digests */
    {CKM_SHA_1, "CKM_SHA_1", 0, 0, CKF_HW | CKF_DIGEST, K_NONE, P_NONE, true, S_NONE, 20, 0},
    {CKM_SHA224, "CKM_SHA224", 0, 0, CKF_HW | CKF_DIGEST, K_NONE, P_NONE, true, S_NONE, 28, 0},
    {CKM_SHA256, "CKM_SHA256", 0, 0, CKF_HW | CKF_DIGEST, K_NONE, P_NONE, true, S_NONE, 32, 0},
    {CKM_SHA384, "CKM_SHA384", 0, 0, CKF_HW | CKF_DIGEST, K_NONE, P_NONE, true, S_NONE, 48, 0},
    {CKM_SHA512, "CKM_SHA512", 0, 0, CKF_HW | CKF_DIGEST, K_NONE, P_NONE, true, S_NONE, 64, 0},
};

#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

const struct hsmg_mech *hsmg_mech_find(uint64_t type)
{
	for (size_t i = 0; i < NMECHS; i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}

size_t hsmg_mech_count(void)
{
	return NMECHS;
}

const struct hsmg_mech *hsmg_mech_at(size_t i)
{
	return i < NMECHS ? &mechs[i] : NULL;
}

const char *hsmg_mech_name(uint64_t type)
{
	const struct hsmg_mech *m = hsmg_mech_find(type);

	return m ? m->name : NULL;
}
