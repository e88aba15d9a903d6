/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hashstate - hash contexts as byte strings, so that a multi-part digest can
 * leave the card inside a state blob between parts and continue on any
 * member.  The byte string is the card's private format: it is only ever
 * seen encrypted and authenticated (see blob.c), never parsed from the host.
 *
 * Supported: CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512.
 * HMAC and CBC states can follow the same pattern (inner hash state + key
 * blob reference, or chaining value + partial block).
 */
#ifndef HSMSIMD_HASHSTATE_H
#define HSMSIMD_HASHSTATE_H

#include <stddef.h>
#include <stdint.h>

/** HS_MAX_STATE - longest serialized hash state. */
#define HS_MAX_STATE 256
/** HS_MAX_MD - longest digest. */
#define HS_MAX_MD 64

/* Length of the serialized state of @mech, 0 when not supported. */
size_t hs_state_len(unsigned long mech);
/* Digest length of @mech, 0 when not supported. */
size_t hs_md_len(unsigned long mech);

/* All return 0 on success, -1 for an unsupported mechanism or a state that
 * does not decode (wrong length or impossible field values). */
int hs_init(unsigned long mech, uint8_t st[HS_MAX_STATE], size_t *stlen);
int hs_update(unsigned long mech, uint8_t *st, size_t stlen, const void *data, size_t len);
int hs_final(unsigned long mech, const uint8_t *st, size_t stlen, uint8_t md[HS_MAX_MD],
	     size_t *mdlen);

#endif
