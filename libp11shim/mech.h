/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mech - the mechanisms of the module (what C_GetMechanismList and
 * C_GetMechanismInfo report, exactly what crypto.c and keys.c do), their
 * key types, parameters in message form (lib/msg/hsmgroup_msg.h), and
 * the curves.
 */
#ifndef SHIM_MECH_H
#define SHIM_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* Key a mechanism takes. */
enum shim_kf { SHIM_KF_NONE, SHIM_KF_AES, SHIM_KF_GENERIC, SHIM_KF_RSA, SHIM_KF_EC };

/* Parameter a mechanism takes. */
enum shim_param {
	SHIM_P_NONE,
	SHIM_P_IV16,   /* CBC, CBC_PAD */
	SHIM_P_CTR,    /* CK_AES_CTR_PARAMS */
	SHIM_P_GCM,    /* CK_GCM_PARAMS */
	SHIM_P_PSS,    /* CK_RSA_PKCS_PSS_PARAMS */
	SHIM_P_OAEP,   /* CK_RSA_PKCS_OAEP_PARAMS */
	SHIM_P_MACLEN, /* CK_MAC_GENERAL_PARAMS */
	SHIM_P_KW,     /* optional 8-byte IV */
	SHIM_P_KWP,    /* optional 4-byte AIV */
	SHIM_P_ECDH,   /* CK_ECDH1_DERIVE_PARAMS */
};

struct shim_mech {
	CK_MECHANISM_TYPE type;
	CK_ULONG min, max; /* key sizes: bytes (AES), bits (RSA, EC, generic) */
	CK_FLAGS flags;
	enum shim_kf kf;
	enum shim_param param;
	bool multi;	  /* multi-part allowed */
	CK_ULONG out_len; /* digest / MAC length (full) */
};

const struct shim_mech *shim_mech_find(CK_MECHANISM_TYPE type);
CK_RV shim_mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV shim_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);

/*
 * Check @pm's parameter for @m and give it in message form (*@out NULL
 * when the message carries none; free with free()).  *@mac_len: the
 * output length a *_GENERAL parameter asks for (else untouched);
 * *@tag_len the GCM tag bytes.
 */
CK_RV shim_mech_param(const struct shim_mech *m, const CK_MECHANISM *pm, uint8_t **out, size_t *len,
		      CK_ULONG *mac_len, CK_ULONG *tag_len);

/* Curves: HSMG_CURVE_* of a DER OID (CKA_EC_PARAMS), 0 if unsupported. */
uint32_t shim_curve_of_params(const void *der, size_t len);
/* The DER OID of @curve (NULL if none). */
const uint8_t *shim_curve_params(uint32_t curve, size_t *len);
/* Bytes of the order (32, 48, 66) and of the uncompressed point. */
size_t shim_curve_order_len(uint32_t curve);
size_t shim_curve_point_len(uint32_t curve);
uint32_t shim_curve_of_point_len(size_t len);
/* Bits (256, 384, 521). */
CK_ULONG shim_curve_bits(uint32_t curve);

/* DER OCTET STRING around @len bytes (CKA_EC_POINT): header length. */
size_t shim_der_octet_hdr(size_t len, uint8_t hdr[4]);
/* The content of a DER OCTET STRING that is all of @der; NULL if not. */
const uint8_t *shim_der_octet_content(const uint8_t *der, size_t len, size_t *clen);

#endif
