/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmg_mech - the one table of the mechanisms of message format version 1
 * (hsmgroup_msg.h): for each PKCS#11 mechanism a card does, its key
 * family and sizes, its CKF_* flags, the parameter it takes, whether it
 * runs in parts, its output length, its signature family and hash.  The
 * card checks requests against it, the PKCS#11 module reports it
 * (C_GetMechanismList/Info) and converts parameters by it, the benchmark
 * names mechanisms from it.  Values are PKCS#11's (CKM_*, CKF_*), as plain
 * integers so that no user needs a particular pkcs11.h.
 */
#ifndef HSMG_LIB_MSG_MECH_H
#define HSMG_LIB_MSG_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Key a mechanism takes. */
enum hsmg_mech_key {
	HSMG_MECH_KEY_NONE,
	HSMG_MECH_KEY_AES,
	HSMG_MECH_KEY_GENERIC,
	HSMG_MECH_KEY_RSA,
	HSMG_MECH_KEY_EC,
};

/* Parameter a mechanism takes (as the application gives it). */
enum hsmg_mech_param {
	HSMG_MECH_P_NONE,
	HSMG_MECH_P_IV16,   /* CBC, CBC_PAD */
	HSMG_MECH_P_CTR,    /* CK_AES_CTR_PARAMS */
	HSMG_MECH_P_GCM,    /* CK_GCM_PARAMS */
	HSMG_MECH_P_PSS,    /* CK_RSA_PKCS_PSS_PARAMS */
	HSMG_MECH_P_OAEP,   /* CK_RSA_PKCS_OAEP_PARAMS */
	HSMG_MECH_P_MACLEN, /* CK_MAC_GENERAL_PARAMS (the *_GENERAL MACs) */
	HSMG_MECH_P_KW,	    /* optional 8-byte IV */
	HSMG_MECH_P_KWP,    /* optional 4-byte AIV */
	HSMG_MECH_P_ECDH,   /* CK_ECDH1_DERIVE_PARAMS */
};

/* Signature or MAC family (SIGN/VERIFY). */
enum hsmg_mech_sig {
	HSMG_MECH_SIG_NONE,
	HSMG_MECH_SIG_RSA, /* PKCS #1 v1.5 */
	HSMG_MECH_SIG_PSS,
	HSMG_MECH_SIG_ECDSA,
	HSMG_MECH_SIG_HMAC,
	HSMG_MECH_SIG_CMAC,
};

/**
 * struct hsmg_mech - one mechanism.
 * @type: CKM_*.
 * @name: "CKM_..." for messages.
 * @min, @max: key sizes: bytes (AES), bits (RSA, EC, generic secrets).
 * @flags: CKF_* of C_GetMechanismInfo.
 * @key: enum hsmg_mech_key.
 * @param: enum hsmg_mech_param.
 * @multi: runs in parts (Init/Update/Final).
 * @out_len: digest or full MAC length (0: depends on the key).
 * @sig: enum hsmg_mech_sig.
 * @hash: the CKM_SHA* it hashes the data with (0: data as is or none).
 */
struct hsmg_mech {
	uint64_t type;
	const char *name;
	uint32_t min, max;
	uint64_t flags;
	uint8_t key;
	uint8_t param;
	bool multi;
	uint8_t sig;
	uint32_t out_len;
	uint64_t hash;
};

/* The entry of @type, NULL if the format has no such mechanism. */
const struct hsmg_mech *hsmg_mech_find(uint64_t type);
/* The table in order: entries 0 .. hsmg_mech_count() - 1. */
size_t hsmg_mech_count(void);
const struct hsmg_mech *hsmg_mech_at(size_t i);
/* "CKM_..." of @type, or NULL. */
const char *hsmg_mech_name(uint64_t type);
/* "CKR_..." of a return value, or "CKR 0x..." (hsmg_rv.c). */
const char *hsmg_rv_name(uint64_t rv);

#endif /* HSMG_LIB_MSG_MECH_H */
