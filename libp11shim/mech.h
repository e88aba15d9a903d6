/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mech - the module's side of the mechanism table (lib/msg/hsmg_mech.h):
 * what C_GetMechanismList and C_GetMechanismInfo report (exactly what
 * crypto.c and keys.c do), parameters in message form
 * (lib/msg/hsmgroup_msg.h), and the curves.
 */
#ifndef SHIM_MECH_H
#define SHIM_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "hsmg_mech.h"

/* The mechanisms themselves are the one table of lib/msg/hsmg_mech.h. */
CK_RV shim_mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV shim_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);

/*
 * Check @pm's parameter for @m and give it in message form (*@out NULL
 * when the message carries none; free with free()).  *@mac_len: the
 * output length a *_GENERAL parameter asks for (else untouched);
 * *@tag_len the GCM tag bytes.
 */
CK_RV shim_mech_param(const struct hsmg_mech *m, const CK_MECHANISM *pm, uint8_t **out, size_t *len,
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
